import json

import numpy as np
import pytest

from model.checkpoint import CheckpointError, ModelCard, card_path, load_checkpoint, save_checkpoint
from model.predictor import Predictor


def test_save_load_round_trip_gives_identical_outputs(tiny_model, tmp_path):
    path = tmp_path / "tiny-test.weights.h5"
    card = ModelCard(version="tiny-v7", preset="tiny", config={}, parent="tiny-v6", metrics={"ap50": 0.1})
    save_checkpoint(tiny_model, path, card)
    assert path.exists() and card_path(path).exists()
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind

    loaded, loaded_card = load_checkpoint(path)
    assert loaded_card.version == "tiny-v7" and loaded_card.parent == "tiny-v6"
    assert loaded.config == tiny_model.config
    inputs = tiny_model.dummy_inputs()
    inputs["image"] = np.random.default_rng(0).normal(size=inputs["image"].shape).astype(np.float32)
    inputs["reference"] = np.random.default_rng(1).normal(size=inputs["reference"].shape).astype(np.float32)
    for a, b in zip(tiny_model(inputs), loaded(inputs), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    predictor = Predictor.from_checkpoint(path)
    assert predictor.version == "tiny-v7" and predictor.config.name == "tiny"


def test_missing_card_weights_or_bad_suffix(tiny_model, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.weights.h5")
    (tmp_path / "orphan.weights.h5").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="model card"):
        load_checkpoint(tmp_path / "orphan.weights.h5")
    with pytest.raises(CheckpointError, match=".weights.h5"):
        card_path(tmp_path / "model.h5")


def test_corrupt_weights_are_refused(tiny_model, tmp_path):
    path = tmp_path / "bad.weights.h5"
    save_checkpoint(tiny_model, path, ModelCard(version="v", preset="tiny", config={}))
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.raises(CheckpointError, match="cannot load weights"):
        load_checkpoint(path)


def test_card_with_wrong_format_or_config_is_refused(tiny_model, tmp_path):
    path = tmp_path / "m.weights.h5"
    save_checkpoint(tiny_model, path, ModelCard(version="v", preset="tiny", config={}))
    card = json.loads(card_path(path).read_text())
    card_path(path).write_text(json.dumps({**card, "format": "other"}))
    with pytest.raises(CheckpointError, match="format"):
        load_checkpoint(path)
    card["config"]["image_size"] = 100
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="invalid config"):
        load_checkpoint(path)


def test_card_that_is_not_an_object_and_stale_temporary_files(tiny_model, tmp_path):
    path = tmp_path / "m.weights.h5"
    stale = tmp_path / ".m.weights.h5.abc123.tmp.weights.h5"
    stale.write_bytes(b"half a file")
    save_checkpoint(tiny_model, path, ModelCard(version="v", preset="tiny", config={}))
    assert not stale.exists()
    card_path(path).write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="JSON object"):
        load_checkpoint(path)


def test_a_checkpoint_loads_at_another_query_size_with_the_same_weights(tiny_model, tmp_path):
    path = tmp_path / "tiny.weights.h5"
    save_checkpoint(tiny_model, path, ModelCard(version="v", preset="tiny", config={}))
    model, card = load_checkpoint(path, image_size=192, image_min_dim=160)
    assert model.config.image_size == 192 and model.config.image_min_dim == 160
    assert card.config["image_size"] == tiny_model.config.image_size  # the card itself is unchanged
    assert len(model.anchors_np) > len(tiny_model.anchors_np)
    for loaded, saved in zip(model.get_weights(), tiny_model.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, saved)
    with pytest.raises(ValueError, match="multiple of 64"):
        load_checkpoint(path, image_size=100)
