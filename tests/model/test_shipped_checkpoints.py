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
    held_out = card.metrics["coco128_split1"]["held-out"]["other-image-references"]
    assert set(held_out) == {"model", "untrained", "baseline"}
    assert held_out["model"]["box_ap50"]["mean"] > 3 * max(held_out["untrained"]["box_ap50"]["mean"],
                                                           held_out["baseline"]["box_ap50"]["mean"])
    predictor = Predictor.from_checkpoint(weights)
    assert predictor.version == card.version and predictor.config.conditioning == conditioning
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    for instance in predictor.predict(image, [[40, 40, 120, 140]], score_threshold=0.0):
        assert instance.mask.shape == (240, 320) and 0.0 <= instance.score <= 1.0
