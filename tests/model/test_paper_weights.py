"""Reading the paper's Keras-2 checkpoints by name and mapping them onto Keras 3 layers (model/paper_weights.py).

The files are generated from the 394-array list in both Keras-2 layouts (see paper_h5.py). Most tests map onto
stand-in layers of the right shapes; the slow ones load into the real network (`build_model`).
"""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest
from paper_h5 import (
    NUM_PAPER_ARRAYS,
    build_paper_layers,
    paper_arrays,
    random_weights,
    write_paper_h5,
)

from model.paper_weights import (
    PAPER_LAYER_NAMES,
    check_paper_weights,
    convert_paper_checkpoint,
    detect_paper_preset,
    inspect_checkpoint,
    load_paper_model,
    load_paper_weights,
    map_paper_weights,
    read_keras2_weights,
)

SMALL = "paper-small"
LARGE = "paper-large"


@pytest.fixture(scope="module")
def small_weights():
    return random_weights(paper_arrays(SMALL), seed=1)


@pytest.fixture(scope="module")
def small_nested_file(tmp_path_factory, small_weights):
    return write_paper_h5(tmp_path_factory.mktemp("h5") / "small_siamese_mrcnn_0160.h5", small_weights)


@pytest.fixture(scope="module")
def small_layers():
    """Stand-ins for all 138 layers of paper-small, the classifier as Dense layers like our model."""
    return build_paper_layers(paper_arrays(SMALL), dense_classifier=True)


def _values(layers):
    return {name: [keras.ops.convert_to_numpy(v) for v in layer.weights] for name, layer in layers.items()}


def _assert_same_table(table, weights):
    assert sorted(table) == sorted(weights)
    for key, value in weights.items():
        assert table[key].dtype == np.float32, key
        np.testing.assert_array_equal(table[key], value, err_msg=str(key))


# --- Reading -------------------------------------------------------------------------------------------------


def test_paper_layer_names_cover_the_weight_list():
    assert {array.layer for array in paper_arrays()} == PAPER_LAYER_NAMES
    assert len(PAPER_LAYER_NAMES) == 138


def test_read_nested_large_checkpoint_gives_394_arrays_by_inner_name(tmp_path):
    weights = random_weights(paper_arrays(LARGE))
    table = read_keras2_weights(write_paper_h5(tmp_path / "large.h5", weights))
    assert len(table) == NUM_PAPER_ARRAYS
    _assert_same_table(table, weights)
    assert table["res2a_branch2a", "kernel"].shape == (1, 1, 64, 64)
    assert table["mrcnn_class_conv1", "kernel"].shape == (7, 7, 384, 1024)
    with h5py.File(
        tmp_path / "large.h5"
    ) as f:  # the file really is nested and Keras-2 shaped, as the paper's
        assert "res2a_branch2a" in f["resnet_model"] and "res2a_branch2a" not in f
        assert (f.attrs["backend"], f.attrs["keras_version"]) == (
            "tensorflow",
            "2.1.6",
        )  # h5py 3 decodes scalars
        assert b"input_image" in f.attrs["layer_names"] and len(f["input_image"].attrs["weight_names"]) == 0


def test_read_flat_layout_gives_the_same_table(tmp_path, small_weights):
    path = write_paper_h5(tmp_path / "flat.h5", small_weights, layout="flat")
    with h5py.File(path) as f:
        assert "resnet_model" not in f and "kernel:0" in f["res2a_branch2a"]["res2a_branch2a"]
    _assert_same_table(read_keras2_weights(path), small_weights)


@pytest.mark.parametrize("layout", ["nested", "flat"])
def test_read_ignores_the_order_inside_groups(tmp_path, small_weights, layout):
    path = write_paper_h5(tmp_path / "shuffled.h5", small_weights, layout=layout, shuffle_seed=3)
    _assert_same_table(read_keras2_weights(path), small_weights)


@pytest.mark.parametrize(("names_as", "chunks"), [("str", 1), ("bytes", 3), ("str", 2)])
def test_read_names_as_str_and_in_chunks(tmp_path, small_weights, names_as, chunks):
    path = write_paper_h5(tmp_path / "names.h5", small_weights, names_as=names_as, chunks=chunks)
    with h5py.File(path) as f:
        assert ("layer_names" in f.attrs) == (chunks == 1)
        assert ("layer_names1" in f.attrs) == (chunks > 1)
    _assert_same_table(read_keras2_weights(path), small_weights)


def test_read_full_model_save_descends_into_model_weights(tmp_path, small_weights):
    path = write_paper_h5(tmp_path / "full.h5", small_weights, full_model=True)
    _assert_same_table(read_keras2_weights(path), small_weights)


def test_read_strips_a_uniquifier_suffix_only_from_unknown_names(tmp_path):
    weights = {
        ("fpn_c5p5", "kernel"): np.ones((1, 1, 2, 3), np.float32),
        ("extra_head_2", "bias"): np.ones(3, np.float32),
    }
    path = write_paper_h5(tmp_path / "suffix.h5", weights, scopes={"fpn_c5p5": "fpn_c5p5_1"})
    with h5py.File(path) as f:
        assert "fpn_c5p5_1" in f["fpn_model"]
    assert sorted(read_keras2_weights(path)) == [("extra_head_2", "bias"), ("fpn_c5p5", "kernel")]
    # A known name keeps its suffix; an unknown name whose stem is known loses it.
    known = {"fpn_c5p5_1", "extra_head"}
    assert sorted(read_keras2_weights(path, known_layers=known)) == [
        ("extra_head", "bias"),
        ("fpn_c5p5_1", "kernel"),
    ]


def test_read_keys_by_the_innermost_scope(tmp_path):
    weights = {
        ("conv1", "kernel"): np.ones((7, 7, 3, 64), np.float32),
        ("mrcnn_mask", "bias"): np.ones(1, np.float32),
    }
    scopes = {"conv1": "resnet_model/conv1", "mrcnn_mask": "mrcnn_mask/mrcnn_mask"}
    table = read_keras2_weights(write_paper_h5(tmp_path / "scoped.h5", weights, scopes=scopes))
    assert sorted(table) == [("conv1", "kernel"), ("mrcnn_mask", "bias")]


def test_read_refuses_two_arrays_for_one_name(tmp_path):
    weights = {
        ("fpn_c5p5", "kernel"): np.ones((1, 1, 2, 3), np.float32),
        ("fpn_c5p5_1", "kernel"): np.ones(2, np.float32),
    }
    with pytest.raises(
        ValueError, match=r"two arrays map to fpn_c5p5/kernel.*fpn_model/fpn_c5p5/kernel:0.*fpn_c5p5_1"
    ):
        read_keras2_weights(write_paper_h5(tmp_path / "dup.h5", weights))


def test_read_refuses_a_listed_but_absent_array(tmp_path, small_weights):
    path = write_paper_h5(tmp_path / "damaged.h5", small_weights)
    with h5py.File(path, "a") as f:
        del f["rpn_model"]["rpn_class_raw"]["bias:0"]
    with pytest.raises(
        ValueError, match=r"'rpn_model' lists weight 'rpn_class_raw/bias:0'.*download it again"
    ):
        read_keras2_weights(path)


def test_read_refuses_a_cut_off_download(tmp_path, small_nested_file):
    cut = tmp_path / "small_siamese_mrcnn_0160.h5"
    cut.write_bytes(small_nested_file.read_bytes()[: 50 * 2**20])
    with pytest.raises(ValueError, match="not a readable HDF5 file .*download it again"):
        read_keras2_weights(cut)
    with pytest.raises(
        FileNotFoundError, match="does not exist: download the checkpoint from https://github.com/"
    ):
        read_keras2_weights(tmp_path / "absent.h5")


def test_read_refuses_keras3_and_foreign_files(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights(tmp_path / "ours.weights.h5")
    with pytest.raises(ValueError, match="Keras 3 weights file"):
        read_keras2_weights(tmp_path / "ours.weights.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a Keras 2 weights file"):
        read_keras2_weights(tmp_path / "other.h5")


# --- Mapping -------------------------------------------------------------------------------------------------


def test_map_assigns_all_394_arrays_by_attribute(small_nested_file, small_weights):
    layers = build_paper_layers(paper_arrays(SMALL), dense_classifier=True)
    report = map_paper_weights(read_keras2_weights(small_nested_file), layers)
    assert (report.matched, report.ok) == (NUM_PAPER_ARRAYS, True)
    np.testing.assert_array_equal(
        layers["bn2a_branch2c"].moving_variance, small_weights["bn2a_branch2c", "moving_variance"]
    )
    np.testing.assert_array_equal(layers["bn2a_branch2c"].gamma, small_weights["bn2a_branch2c", "gamma"])
    np.testing.assert_array_equal(
        layers["mrcnn_mask_deconv"].kernel, small_weights["mrcnn_mask_deconv", "kernel"]
    )
    np.testing.assert_array_equal(
        layers["mrcnn_class_conv1"].kernel, small_weights["mrcnn_class_conv1", "kernel"].reshape(-1, 512)
    )


def test_conv_kernel_mapped_onto_dense_gives_the_conv_output():
    """A 7x7 'valid' conv over a 7x7 ROI equals a Dense over the flattened ROI once the kernel is reshaped."""
    rng = np.random.default_rng(0)
    conv, dense = (
        keras.layers.Conv2D(8, 7, name="mrcnn_class_conv1"),
        keras.layers.Dense(8, name="mrcnn_class_conv1"),
    )
    conv.build((None, 7, 7, 5))
    dense.build((None, 7 * 7 * 5))
    table = {
        ("mrcnn_class_conv1", "kernel"): rng.standard_normal((7, 7, 5, 8)).astype(np.float32),
        ("mrcnn_class_conv1", "bias"): rng.standard_normal(8).astype(np.float32),
    }
    map_paper_weights(table, {"mrcnn_class_conv1": conv})
    map_paper_weights(table, {"mrcnn_class_conv1": dense})
    rois = rng.standard_normal((4, 7, 7, 5)).astype(np.float32)
    expected = np.asarray(conv(rois)).reshape(4, 8)
    np.testing.assert_allclose(np.asarray(dense(rois.reshape(4, -1))), expected, rtol=1e-5, atol=1e-5)


def test_strict_map_refuses_an_incomplete_table_and_assigns_nothing(small_weights, small_layers):
    table = dict(small_weights)
    del table["res3b_branch2b", "bias"]
    table["fpn_p3", "kernel"] = np.zeros((3, 3, 256, 128), np.float32)
    table["mrcnn_bbox", "kernel"] = np.zeros((512, 324), np.float32)
    before = _values(small_layers)
    with pytest.raises(ValueError) as refusal:
        map_paper_weights(table, small_layers)
    message = str(refusal.value)
    assert "392 arrays match; 1 missing, 1 unexpected, 1 mis-shaped" in message
    assert "res3b_branch2b/bias (128,)" in message
    assert "mrcnn_bbox/kernel (512, 324)" in message
    assert "fpn_p3/kernel: file (3, 3, 256, 128), model (3, 3, 256, 256)" in message
    assert "Nothing was loaded" in message
    after = _values(small_layers)
    assert all(
        np.array_equal(a, b) for name in before for a, b in zip(before[name], after[name], strict=True)
    )


def test_non_strict_map_assigns_what_matches_and_reports_the_rest(small_weights):
    layers = build_paper_layers([a for a in paper_arrays(SMALL) if a.layer.startswith("mrcnn_mask")])
    report = map_paper_weights(small_weights, layers, strict=False)
    assert report.matched == 5 * 2 + 4 * 4 + 2 and not report.ok
    assert len(report.unexpected) == NUM_PAPER_ARRAYS - report.matched and report.missing == []
    np.testing.assert_array_equal(layers["mrcnn_mask"].bias, small_weights["mrcnn_mask", "bias"])


def test_truncated_file_is_refused_naming_the_missing_arrays(tmp_path, small_weights, small_layers):
    dropped = [("mrcnn_mask", "kernel"), ("mrcnn_mask", "bias"), ("bn5c_branch2c", "moving_variance")]
    weights = {key: value for key, value in small_weights.items() if key not in dropped}
    table = read_keras2_weights(write_paper_h5(tmp_path / "truncated.h5", weights))
    with pytest.raises(ValueError, match="probably truncated") as refusal:
        map_paper_weights(table, small_layers)
    for layer, param in dropped:
        assert f"{layer}/{param} (" in str(refusal.value)


def test_large_file_into_small_layers_says_which_preset_to_use(tmp_path, small_layers):
    large = random_weights(paper_arrays(LARGE))
    with pytest.raises(ValueError, match="large checkpoint .*use --preset paper-large") as refusal:
        map_paper_weights(large, small_layers)
    assert "mrcnn_class_logits/kernel: file (1024, 2), model (512, 2)" in str(refusal.value)


def test_paper_file_into_another_backbone_says_to_use_a_paper_preset(small_weights):
    layers = build_paper_layers([a for a in paper_arrays(SMALL) if a.layer.startswith("mrcnn_")])
    with pytest.raises(ValueError, match="backbone is not the paper's ResNet-50: use --preset paper-large"):
        map_paper_weights(small_weights, layers)


def test_map_refuses_unbuilt_and_unsupported_layers():
    with pytest.raises(ValueError, match="not built yet"):
        check_paper_weights({}, {"mrcnn_mask": keras.layers.Conv2D(1, 1)})
    with pytest.raises(ValueError, match="Lambda; paper weights map only onto Conv2D"):
        check_paper_weights({}, {"mrcnn_mask": keras.layers.Lambda(lambda x: x)})


# --- Inspect -------------------------------------------------------------------------------------------------


def test_detect_preset_from_classifier_width(small_weights):
    assert detect_paper_preset(small_weights) == SMALL
    assert detect_paper_preset({("mrcnn_class_logits", "kernel"): np.zeros((1024, 2))}) == LARGE
    with pytest.raises(ValueError, match=r"\(1024, 81\).*pass --preset"):
        detect_paper_preset({("mrcnn_class_logits", "kernel"): np.zeros((1024, 81))})
    with pytest.raises(ValueError, match="backbone-only.*pass --preset"):
        detect_paper_preset({("conv1", "kernel"): np.zeros((7, 7, 3, 64))})


def test_inspect_reports_a_complete_small_checkpoint(small_nested_file, small_layers):
    result = inspect_checkpoint(small_nested_file, layers=small_layers)
    assert result == {
        "preset": SMALL,
        "matched": NUM_PAPER_ARRAYS,
        "missing": [],
        "unexpected": [],
        "mismatched": [],
    }


def test_inspect_reports_a_truncated_checkpoint(tmp_path, small_weights, small_layers):
    weights = {key: value for key, value in small_weights.items() if key[0] != "fpn_distance_P6"}
    result = inspect_checkpoint(write_paper_h5(tmp_path / "cut.h5", weights), SMALL, layers=small_layers)
    assert result["matched"] == NUM_PAPER_ARRAYS - 2
    assert result["missing"] == ["fpn_distance_P6/bias (384,)", "fpn_distance_P6/kernel (1, 1, 512, 384)"]


# --- Into the real network (slow: builds ResNet-50 models) ---------------------------------------------------


def _forward(model, inputs):
    detections, masks = model(inputs)
    return np.concatenate([np.ravel(detections), np.ravel(masks)])


@pytest.mark.slow
def test_paper_small_checkpoint_loads_into_the_model_and_drives_its_output(
    tmp_path, small_weights, small_nested_file
):
    pytest.importorskip("model.builder")
    model, report = load_paper_model(small_nested_file)  # detects paper-small and builds it
    assert model.config.name == SMALL
    assert (report.matched, report.ok) == (NUM_PAPER_ARRAYS, True)
    layers = model.named_weight_layers()
    np.testing.assert_array_equal(layers["res4f_branch2b"].kernel, small_weights["res4f_branch2b", "kernel"])
    np.testing.assert_array_equal(
        layers["bn5a_branch1"].moving_mean, small_weights["bn5a_branch1", "moving_mean"]
    )

    rng = np.random.default_rng(7)
    inputs = model.dummy_inputs()
    inputs["image"] = (40 * rng.standard_normal(inputs["image"].shape)).astype(np.float32)
    inputs["reference"] = (40 * rng.standard_normal(inputs["reference"].shape)).astype(np.float32)
    original = _forward(model, inputs)
    assert np.isfinite(original).all()

    changed = dict(small_weights)  # one array of the backbone, in the flat layout this time
    changed["res3b_branch2b", "kernel"] = 2 * changed["res3b_branch2b", "kernel"]
    load_paper_weights(model, write_paper_h5(tmp_path / "changed.h5", changed, layout="flat"))
    assert not np.allclose(_forward(model, inputs), original)

    load_paper_weights(
        model, small_nested_file
    )  # every variable is overwritten: the output comes back exactly
    np.testing.assert_array_equal(_forward(model, inputs), original)


@pytest.mark.slow
def test_inspect_detects_a_large_checkpoint_and_maps_it_onto_paper_large(tmp_path):
    pytest.importorskip("model.builder")
    path = write_paper_h5(
        tmp_path / "large_siamese_mrcnn_coco_full_0320.h5", random_weights(paper_arrays(LARGE))
    )
    result = inspect_checkpoint(path)
    assert result == {
        "preset": LARGE,
        "matched": NUM_PAPER_ARRAYS,
        "missing": [],
        "unexpected": [],
        "mismatched": [],
    }


@pytest.mark.slow
def test_converted_paper_checkpoint_loads_natively_with_its_card(tmp_path, small_weights, small_nested_file):
    checkpoint = pytest.importorskip("model.checkpoint")
    written = convert_paper_checkpoint(small_nested_file, tmp_path / "paper-small-0160.weights.h5")
    model, card = checkpoint.load_checkpoint(written)
    assert (card.preset, card.training["source"]) == (SMALL, small_nested_file.name)
    layers = model.named_weight_layers()
    for (layer, param), value in small_weights.items():
        loaded = keras.ops.convert_to_numpy(getattr(layers[layer], param))
        np.testing.assert_array_equal(loaded, value.reshape(loaded.shape), err_msg=f"{layer}/{param}")
