"""`scripts/wip_heads.py`: a frozen-backbone run's layers after the backbone, saved alone and restored onto the
ImageNet backbone, give back the same network; a file that does not fit is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "wip_heads.py"
MOBILENET_FILE = Path.home() / ".keras" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"


def _script():
    spec = importlib.util.spec_from_file_location("wip_heads", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small `mobile` network on the ImageNet backbone whose other layers are not at their initial values."""
    if not MOBILENET_FILE.exists():
        pytest.skip(f"{MOBILENET_FILE} is not in the Keras cache (.ci/run copies it from ../shared/weights)")
    import keras

    from model.builder import build_model
    from model.checkpoint import ModelCard, save_checkpoint
    from model.presets import get_preset

    keras.utils.set_random_seed(5)
    model = build_model(get_preset("mobile", image_size=128, image_min_dim=96))
    rng = np.random.default_rng(0)
    for layer in _script()._head_layers(model):
        layer.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in layer.get_weights()])
    path = tmp_path_factory.mktemp("wip") / "run.weights.h5"
    save_checkpoint(model, path, ModelCard(version="wip-test", preset="mobile", config={}, training={"steps": 7}))
    return path


def test_saved_heads_restore_the_same_network(trained, tmp_path):
    from model.checkpoint import load_checkpoint, read_card

    script = _script()
    heads = tmp_path / "run.heads.npz"
    script.save(trained, heads)
    assert heads.stat().st_size < trained.stat().st_size  # the backbone is left out
    restored = tmp_path / "restored.weights.h5"
    script.restore(heads, restored)
    original, _ = load_checkpoint(trained)
    again, _ = load_checkpoint(restored)
    pairs = list(zip(original.get_weights(), again.get_weights(), strict=True))
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert read_card(restored).training["steps"] == 7  # --resume continues the count


def test_heads_that_do_not_fit_are_refused(trained, tmp_path):
    script = _script()
    heads = tmp_path / "run.heads.npz"
    script.save(trained, heads)
    arrays = dict(np.load(heads))
    layer = sorted(arrays)[0].rsplit("/", 1)[0]
    np.savez(heads, **{k: v for k, v in arrays.items() if not k.startswith(layer + "/")})
    with pytest.raises(SystemExit, match=f"missing.*{layer}"):
        script.restore(heads, tmp_path / "never.weights.h5")
    first = sorted(arrays)[0]
    np.savez(heads, **(arrays | {first: arrays[first][..., :1]}))  # every layer, one of the wrong shape
    with pytest.raises(SystemExit, match="shapes"):
        script.restore(heads, tmp_path / "never.weights.h5")


def test_a_trained_backbone_is_never_dropped(trained, tmp_path):
    from model.checkpoint import load_checkpoint, read_card, save_checkpoint

    model, _ = load_checkpoint(trained)
    first = model.backbone.weights[0]
    first.assign(first.numpy() + 0.01)
    changed = save_checkpoint(model, tmp_path / "all.weights.h5", read_card(trained))
    with pytest.raises(SystemExit, match="backbone is not the ImageNet one"):
        _script().save(changed, tmp_path / "never.npz")
    assert not (tmp_path / "never.npz").exists()
