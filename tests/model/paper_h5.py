"""Test helper: write `.h5` files exactly as Keras 2 wrote the paper's checkpoints, with random values.

The array list is `tests/fixtures/paper_checkpoint_weights.txt` (394 arrays of the large checkpoint, derived from the
original code). The small checkpoint differs only in the classifier width (1024 -> 512). Keras 2
(`save_weights_to_hdf5_group`) wrote: root attributes `layer_names` (every top-level layer, weightless ones too),
`backend`, `keras_version`; one group per top-level layer with attribute `weight_names`; each array at
`group[weight_name]`, which h5py splits on `/` into `group[layer][param:0]`.

Also builds stand-in Keras layers of the right shapes (`build_paper_layers`), to test the mapping before, and
independently of, the real network.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

WEIGHT_LIST = Path(__file__).resolve().parents[1] / "fixtures" / "paper_checkpoint_weights.txt"
NUM_PAPER_ARRAYS = 394
LARGE_CLASSIFIER_WIDTH = 1024
SMALL_CLASSIFIER_WIDTH = 512
CLASSIFIER_LAYERS = frozenset(
    {
        "mrcnn_class_conv1",
        "mrcnn_class_bn1",
        "mrcnn_class_conv2",
        "mrcnn_class_bn2",
        "mrcnn_class_logits",
        "mrcnn_bbox_fc",
    }
)
NESTED_GROUPS = ("resnet_model", "fpn_model", "rpn_model")
WEIGHTLESS_LAYERS = (
    "input_image",
    "input_image_meta",
    "input_target",
    "lambda_1",
    "concatenate_1",
    "subtract_1",
)
"""Top-level layers without weights: Keras 2 listed them in `layer_names` with an empty group."""
KERAS2_VERSION = b"2.1.6"
BATCH_NORM_STATS = ("moving_mean", "moving_variance")

Key = tuple[str, str]


@dataclass(frozen=True)
class PaperArray:
    """One array of a paper checkpoint: top-level group (nested layout), layer, parameter and shape."""

    group: str
    layer: str
    param: str
    shape: tuple[int, ...]

    @property
    def key(self) -> Key:
        return self.layer, self.param


def paper_arrays(preset: str = "paper-large") -> list[PaperArray]:
    """The 394 arrays of a `paper-large` or `paper-small` checkpoint, in the fixture's order."""
    arrays = []
    for line in WEIGHT_LIST.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        path, shape_text = line.split(" ", 1)
        group, layer, param = path.split("/")
        shape = tuple(ast.literal_eval(shape_text))
        if preset == "paper-small" and layer in CLASSIFIER_LAYERS:
            shape = tuple(SMALL_CLASSIFIER_WIDTH if d == LARGE_CLASSIFIER_WIDTH else d for d in shape)
        arrays.append(PaperArray(group, layer, param.removesuffix(":0"), shape))
    return arrays


def random_weights(arrays: Iterable[PaperArray], seed: int = 0) -> dict[Key, np.ndarray]:
    """Random float32 values scaled so a forward pass through ResNet-50 stays finite."""
    rng = np.random.default_rng(seed)
    weights = {}
    for array in arrays:
        if array.param in ("gamma", "moving_variance"):
            value = rng.uniform(0.8, 1.2, array.shape)
        elif array.param == "kernel":
            value = rng.standard_normal(array.shape) / math.sqrt(math.prod(array.shape[:-1]))
        else:
            value = 0.01 * rng.standard_normal(array.shape)
        weights[array.key] = value.astype(np.float32)
    return weights


def write_paper_h5(
    path: Path,
    weights: Mapping[Key, np.ndarray],
    *,
    layout: str = "nested",
    names_as: str = "bytes",
    chunks: int = 1,
    full_model: bool = False,
    scopes: Mapping[str, str] | None = None,
    shuffle_seed: int | None = None,
) -> Path:
    """Write `weights` as Keras 2 did.

    Args:
        path: where to write.
        weights: `{(layer, param): array}`; drop or reshape entries to make damaged files.
        layout: "nested" (the paper's: resnet_model/fpn_model/rpn_model groups) or "flat" (matterport's).
        names_as: "bytes" (h5py 2 era, fixed-length) or "str" (variable-length utf-8).
        chunks: split `layer_names` and every `weight_names` into this many `name0`, `name1`, ... attributes.
        full_model: put everything under a `model_weights` group, as `model.save()` did.
        scopes: layer -> scope used in its weight names (e.g. {"fpn_c5p5": "fpn_c5p5_1"} for a uniquifier).
        shuffle_seed: shuffle the weights inside each group (the loader must not rely on order).
    """
    group_of = {array.layer: array.group for array in paper_arrays()}
    groups: dict[str, list[Key]] = {}
    for key in _keras2_order(weights):
        owner = group_of.get(key[0], key[0])
        groups.setdefault(owner if layout == "nested" and owner in NESTED_GROUPS else key[0], []).append(key)
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed)
        groups = {name: [keys[i] for i in rng.permutation(len(keys))] for name, keys in groups.items()}
    scopes = scopes or {}
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = KERAS2_VERSION
        root = f
        if full_model:
            f.attrs["model_config"] = b'{"class_name": "Model", "config": {}}'
            root = f.create_group("model_weights")
            root.attrs["backend"] = b"tensorflow"
            root.attrs["keras_version"] = KERAS2_VERSION
        layer_names = list(WEIGHTLESS_LAYERS) + list(groups)
        _write_names(root, "layer_names", layer_names, names_as, chunks)
        for name in WEIGHTLESS_LAYERS:
            root.create_group(name).attrs["weight_names"] = np.zeros((0,), dtype="S1")
        for name, keys in groups.items():
            group = root.create_group(name)
            weight_names = [f"{scopes.get(layer, layer)}/{param}:0" for layer, param in keys]
            _write_names(group, "weight_names", weight_names, names_as, chunks)
            for weight_name, key in zip(weight_names, keys, strict=True):
                group.create_dataset(weight_name, data=weights[key])
    return path


def _keras2_order(weights: Mapping[Key, np.ndarray]) -> list[Key]:
    """Keras 2 `Container.weights` order after `set_trainable('all')`: trainable first, then BN statistics."""
    trainable = [key for key in weights if key[1] not in BATCH_NORM_STATS]
    return trainable + [key for key in weights if key[1] in BATCH_NORM_STATS]


def _write_names(group: h5py.Group, name: str, names: list[str], names_as: str, chunks: int) -> None:
    values = np.array([n.encode("utf8") for n in names]) if names_as == "bytes" else names
    if chunks == 1:
        group.attrs[name] = values
        return
    for index, part in enumerate(np.array_split(np.asarray(values, dtype=object), chunks)):
        encoded = part.astype("S") if names_as == "bytes" else list(part)
        group.attrs[f"{name}{index}"] = encoded


def build_paper_layers(arrays: Iterable[PaperArray], *, dense_classifier: bool = False) -> dict:
    """Built Keras 3 layers with the shapes of `arrays`, by matterport name (a stand-in for the model).

    With `dense_classifier`, `mrcnn_class_conv1/2` are Dense layers over the flattened ROI, as our model may do.
    """
    import keras

    kernels = {array.layer: array.shape for array in arrays if array.param == "kernel"}
    norms = {array.layer: array.shape for array in arrays if array.param == "gamma"}
    layers = {}
    for name, shape in kernels.items():
        if len(shape) == 2:
            layer, input_shape = keras.layers.Dense(shape[1], name=name), (None, shape[0])
        elif dense_classifier and name.startswith("mrcnn_class_conv"):
            layer, input_shape = keras.layers.Dense(shape[3], name=name), (None, math.prod(shape[:3]))
        elif name == "mrcnn_mask_deconv":
            layer = keras.layers.Conv2DTranspose(shape[2], shape[:2], strides=2, name=name)
            input_shape = (None, None, None, shape[3])
        else:
            layer, input_shape = (
                keras.layers.Conv2D(shape[3], shape[:2], name=name),
                (None, None, None, shape[2]),
            )
        layer.build(input_shape)
        layers[name] = layer
    for name, shape in norms.items():
        layer = keras.layers.BatchNormalization(name=name)
        layer.build((None, shape[0]))
        layers[name] = layer
    return layers
