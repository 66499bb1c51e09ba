"""The checkpoints in checkpoints/: small enough to commit, loadable, and their cards hold the evaluation the README
quotes (the model against the untrained network and the colour baseline, on the test classes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
MAX_BYTES = 25 * 1024 * 1024  # issue 3: small enough to commit
SHIPPED = {"mobile-coco128": ("mobile", "pyramid"), "mobile-fast-coco128": ("mobile-fast", "roi")}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_checkpoint_loads_and_its_card_reports_test_classes_against_baselines(name):
    from model.checkpoint import read_card
    from model.config import ModelConfig
    from model.predictor import Predictor

    weights = CHECKPOINTS / f"{name}.weights.h5"
    assert weights.stat().st_size < MAX_BYTES
    card = read_card(weights)
    preset, conditioning = SHIPPED[name]
    # Cards written before a config field existed load with its default (v3 predates `conditioning`).
    assert card.preset == preset and ModelConfig.from_dict(card.config).conditioning == conditioning
    training = card.training
    assert not set(training["test_classes"]) & set(training["train_classes"])
    assert not set(training["validation_classes"]) & set(training["train_classes"])
    if "effort" in card.metrics:  # v4 on: judged by the annotator's effort (docs/model-quality.md)
        _check_effort_table(card.metrics["effort"], same_weights=training.get("same_weights_as") == card.parent)
    else:
        held_out = card.metrics["coco128_split1"]["held-out"]["other-image-references"]
        assert set(held_out) == {"model", "untrained", "baseline"}
        assert held_out["model"]["box_ap50"]["mean"] > 3 * max(held_out["untrained"]["box_ap50"]["mean"],
                                                               held_out["baseline"]["box_ap50"]["mean"])
    predictor = Predictor.from_checkpoint(weights)
    assert predictor.version == card.version and predictor.config.conditioning == conditioning
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    for instance in predictor.predict(image, [[40, 40, 120, 140]], score_threshold=0.0):
        assert instance.mask.shape == (240, 320) and 0.0 <= instance.score <= 1.0


EFFORT_SETS = ("coco128-split1-held-out", "droplets", "synthetic")
EFFORT_ROWS = ("model", "previous-default", "untrained", "template", "features")
NOTHING_SAVED_SET = "coco128-split1-held-out"
NO_WORSE = 0.005


def _check_effort_table(table: dict, same_weights: bool = False) -> None:
    """The card's effort table: every development set, every row, and the model saving work over the previous
    default everywhere and over both training-free baselines where the card says it does. With `same_weights` (the
    card says its weights are its parent's, the previous default's: `training.same_weights_as`) it may tie with it."""
    assert set(EFFORT_SETS) <= set(table)
    for name in EFFORT_SETS:
        rows = table[name]["rows"]
        assert set(EFFORT_ROWS) <= set(rows), name
        model = rows["model"]
        assert 0 <= model["floor"] <= model["effort"]
        assert model["effort"] == pytest.approx(model["floor"] + model["errors_per_instance"], abs=2e-3)
        # Better than the previous default on the sets where the model saves work; on coco128's held-out classes,
        # where neither saves any (effort about 1.0), at most NO_WORSE above it (v12 equals v7 there; v11, its first
        # verifier, was 3 deletions of 674 objects above: docs/model-quality.md). A card on its parent's weights
        # (v13: v12 without label claims, which act only with a project's bank) ties with it on these sets
        # (re-measured); its gain is in its `training.label_claims` table.
        slack = NO_WORSE if name == NOTHING_SAVED_SET else 0.0
        if same_weights:
            assert model["effort"] <= rows["previous-default"]["effort"] + slack, name
        else:
            assert model["effort"] < rows["previous-default"]["effort"] + slack, name
        best_baseline = min(rows["template"]["effort"], rows["features"]["effort"])
        assert table[name]["beats_baselines"] == (model["effort"] < best_baseline), name
    assert table["synthetic"]["beats_baselines"]  # droplets and coco128 held-out: as measured (docs/model-quality.md)


def test_default_checkpoint_answers_without_label_claims_as_its_card_measured():
    """v13 (session 29): the default answers a drawn box without the other labels' claims, and its card holds the
    measurement that chose it (session 28 part 6): lower box-drawn errors with claims off, overall and per group."""
    from model.checkpoint import read_card
    from model.config import ModelConfig

    card = read_card(CHECKPOINTS / "mobile-coco128.weights.h5")
    assert ModelConfig.from_dict(card.config).detection_label_claims is False
    assert card.training["label_claims"]["value"] is False  # the same record a child's card holds, with the table
    groups = card.training["label_claims"]["groups"]
    assert any(name.startswith("deciding") for name in groups)
    for name, figures in groups.items():
        assert figures["claims_off"] < figures["claims_on"], name
