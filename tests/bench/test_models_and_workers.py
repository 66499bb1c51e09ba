"""bench.models and bench.service.worker_env: one configuration's precisions share weights but not a version, and
every benchmark worker gets its precision explicitly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.models import CheckpointStore, build_predictor, config_label, version_of
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


def test_worker_env_sets_an_explicit_precision():
    env = worker_env({"MODEL_PRECISION": "auto", "A": "1"}, Path("/ckpt.weights.h5"), "bfloat16", {"B": "2"})
    assert env == {"MODEL_PRECISION": "bfloat16", "A": "1", "B": "2", "CHECKPOINT": "/ckpt.weights.h5"}


@pytest.mark.parametrize(("precision", "extra"), [("auto", None), ("mixed_bfloat16", None),
                                                  ("float32", {"MODEL_PRECISION": "bfloat16"})])
def test_worker_env_refuses_an_implicit_or_conflicting_precision(precision, extra):
    with pytest.raises(ValueError, match="precision"):
        worker_env({}, Path("/ckpt.weights.h5"), precision, extra)
