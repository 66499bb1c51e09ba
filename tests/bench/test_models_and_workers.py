"""bench.models and bench.service.worker_env: one configuration's precisions share weights but not a version, and
every benchmark worker gets its precision explicitly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import models
from bench.models import CheckpointStore, build_predictor, config_label, describe_weights, version_of
from bench.plan import size_overrides
from bench.service import worker_env


def test_labels_and_versions_name_the_precision():
    assert config_label("mobile", {}) == "mobile@512"
    assert config_label("mobile", {}, "bfloat16") == "mobile@512 bf16"
    assert config_label("mobile", {"image_size": 1024, "image_min_dim": 800}, "float32") == "mobile@1024 fp32"
    assert version_of("mobile", {}, "float32") == "bench-mobile@512-fp32"
    assert version_of("mobile", {}, "bfloat16") == "bench-mobile@512-bf16"


def test_both_precisions_hold_the_same_seeded_weights_in_separate_checkpoints(tmp_path):
    fp32, bf16 = (build_predictor("tiny", {}, seed=3, precision=p) for p in ("float32", "bfloat16"))
    assert fp32.version != bf16.version
    assert all(np.array_equal(a, b) for a, b in zip(fp32.model.get_weights(), bf16.model.get_weights(), strict=True))
    store = CheckpointStore(tmp_path)
    paths = {store.path_for(fp32), store.path_for(bf16)}
    assert len(paths) == 2 and all(path.exists() for path in paths)
    assert store.ensure("tiny", {}, 3, "bfloat16") == store.path_for(bf16)  # not built again


@pytest.mark.skipif(models.shipped_checkpoint("mobile") is None, reason="the shipped checkpoint is not here")
def test_mobile_bench_models_load_the_shipped_checkpoint_at_the_plans_size(tmp_path):
    from model.checkpoint import load_checkpoint, read_card

    shipped, card = load_checkpoint(models.SHIPPED_CHECKPOINTS["mobile"])
    predictor = build_predictor("mobile", size_overrides("mobile", 256), seed=0, precision="float32")
    assert predictor.card.version == card.version and predictor.version == "bench-mobile@256-fp32"
    assert predictor.config == shipped.config.replace(image_size=256, image_min_dim=200)
    assert all(np.array_equal(a, b) for a, b in zip(predictor.model.get_weights(), shipped.get_weights(),
                                                    strict=True))
    assert f"`{card.version}`" in describe_weights("mobile")
    assert read_card(CheckpointStore(tmp_path).path_for(predictor)).parent == card.version


def test_a_checkpoint_config_and_weights_are_used_at_another_size(tmp_path, monkeypatch):
    from model.builder import build_model
    from model.checkpoint import ModelCard, save_checkpoint
    from model.presets import get_preset

    trained = build_model(get_preset("tiny", conditioning="roi"))
    path = save_checkpoint(trained, tmp_path / "tiny-roi.weights.h5", ModelCard("tiny-roi-v1", "tiny", {}))
    monkeypatch.setitem(models.SHIPPED_CHECKPOINTS, "tiny", path)
    predictor = build_predictor("tiny", size_overrides("tiny", 192), seed=1, precision="bfloat16")
    assert predictor.config.conditioning == "roi" and predictor.config.image_size == 192
    assert predictor.precision == "bfloat16" and predictor.card.version == "tiny-roi-v1"
    assert all(np.array_equal(a, b) for a, b in zip(predictor.model.get_weights(), trained.get_weights(),
                                                    strict=True))
    assert "conditioning roi" in describe_weights("tiny")


def test_a_missing_checkpoint_falls_back_to_the_random_preset_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(models.SHIPPED_CHECKPOINTS, "tiny", tmp_path / "gone.weights.h5")
    predictor = build_predictor("tiny", {}, seed=3, precision="float32")
    assert predictor.card is None and predictor.config.conditioning == "pyramid"
    assert "seeded random weights" in describe_weights("tiny") and "is missing" in describe_weights("tiny")
    assert "paper's released weights are not here" in describe_weights("paper-large")


def test_worker_env_sets_an_explicit_precision():
    env = worker_env({"MODEL_PRECISION": "auto", "A": "1"}, Path("/ckpt.weights.h5"), "bfloat16", {"B": "2"})
    assert env == {"MODEL_PRECISION": "bfloat16", "A": "1", "B": "2", "CHECKPOINT": "/ckpt.weights.h5"}


@pytest.mark.parametrize(("precision", "extra"), [("auto", None), ("mixed_bfloat16", None),
                                                  ("float32", {"MODEL_PRECISION": "bfloat16"})])
def test_worker_env_refuses_an_implicit_or_conflicting_precision(precision, extra):
    with pytest.raises(ValueError, match="precision"):
        worker_env({}, Path("/ckpt.weights.h5"), precision, extra)
