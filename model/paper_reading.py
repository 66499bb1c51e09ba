"""Reading the paper's Keras-2 `.h5` checkpoints into a table of arrays keyed by name (no TensorFlow here).

The released checkpoints (bethgelab/siamese-mask-rcnn) are Keras 2 weights-only files. Keras 2 ordered the arrays
of a group by their `trainable` flags at save time, so order is never used: every array is keyed by
`(layer, param)`, e.g. `("res2a_branch2a", "kernel")`. Both layouts are read: nested (the paper's: `resnet_model`,
`fpn_model`, `rpn_model` groups hold `f["resnet_model"]["res2a_branch2a"]["kernel:0"]`) and flat (matterport's:
every layer a top-level group). `model/paper_mapping.py` assigns the table to a model; `model/paper_weights.py`
is the entry point that does both.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

import h5py
import numpy as np

__all__ = [
    "CLASSIFIER_WIDTH_LAYER",
    "PAPER_LAYER_NAMES",
    "PAPER_RELEASES",
    "PRESET_BY_CLASSIFIER_WIDTH",
    "SIAMESE_NUM_CLASSES",
    "Table",
    "WeightTable",
    "read_keras2_weights",
]

WeightTable = dict[tuple[str, str], np.ndarray]
"""`{(layer, param): array}`, e.g. `("res2a_branch2a", "kernel") -> float32 (1, 1, 64, 64)`."""
Table = Mapping[tuple[str, str], np.ndarray]
"""A read-only `WeightTable`, as the functions that only look at it accept it."""

ROOT_LAYER_NAMES_ATTR = "layer_names"
"""Root attribute listing the top-level layers; each has a group with attribute `weight_names`."""
GROUP_WEIGHT_NAMES_ATTR = "weight_names"
FULL_MODEL_GROUP = "model_weights"
"""Root group holding the weights when the file is a Keras 2 full-model save rather than weights-only."""
UNIQUIFIER_SUFFIX = re.compile(r"_\d+$")
"""Suffix TF1 appends to a name scope used twice in one graph (`fpn_c5p5_1`, matterport #1154)."""
TF_OUTPUT_SUFFIX = re.compile(r":\d+$")
"""The `:0` of a TF variable name (`kernel:0`)."""

CLASSIFIER_WIDTH_LAYER = "mrcnn_class_logits"
"""The layer whose kernel `(width, 2)` tells a large checkpoint (width 1024) from a small one (512)."""
PRESET_BY_CLASSIFIER_WIDTH = {1024: "paper-large", 512: "paper-small"}
"""Classifier width (FPN_CLASSIF_FC_LAYERS_SIZE) of each paper preset."""
SIAMESE_NUM_CLASSES = 2
"""Siamese heads predict match / no-match; matterport's COCO model has 81 classes."""
PAPER_RELEASES = "https://github.com/bethgelab/siamese-mask-rcnn/releases"
"""Where the released checkpoints are published."""

_RESNET50_BLOCKS = {2: "abc", 3: "abcd", 4: "abcdef", 5: "abc"}


def _resnet50_layer_names() -> list[str]:
    names = ["conv1", "bn_conv1"]
    for stage, blocks in _RESNET50_BLOCKS.items():
        for block in blocks:
            branches = ["2a", "2b", "2c"] + (["1"] if block == "a" else [])
            for branch in branches:
                names += [f"res{stage}{block}_branch{branch}", f"bn{stage}{block}_branch{branch}"]
    return names


PAPER_LAYER_NAMES = frozenset(
    _resnet50_layer_names()
    + [f"fpn_c{i}p{i}" for i in range(2, 6)]
    + [f"fpn_p{i}" for i in range(2, 6)]
    + [f"fpn_distance_P{i}" for i in range(2, 7)]
    + ["rpn_conv_shared", "rpn_class_raw", "rpn_bbox_pred"]
    + ["mrcnn_class_conv1", "mrcnn_class_bn1", "mrcnn_class_conv2", "mrcnn_class_bn2"]
    + ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask_deconv", "mrcnn_mask"]
    + [f"mrcnn_mask_conv{i}" for i in range(1, 5)]
    + [f"mrcnn_mask_bn{i}" for i in range(1, 5)]
)
"""The 138 weight-holding layers of the paper's model (ResNet-50), by their matterport names."""


def read_keras2_weights(path: str | Path, *, known_layers: Collection[str] | None = None) -> WeightTable:
    """Read every weight array of a Keras 2 weights-only (or full-model) `.h5` file, keyed by name.

    Args:
        path: the `.h5` file, in the nested (paper) or flat (matterport) layout.
        known_layers: the real layer names (default `PAPER_LAYER_NAMES`). A scope like `fpn_c5p5_1` that is not
            known but whose stem `fpn_c5p5` is loses its suffix; any other name is kept as it is.

    Returns:
        `{(layer, param): array}`, e.g. `("res2a_branch2a", "kernel") -> float32 (1, 1, 64, 64)`.

    Raises:
        ValueError: the file is not a Keras 2 weights file, lists an array it does not hold, or holds two arrays
            for the same `(layer, param)`.
    """
    path = Path(path)
    table: WeightTable = {}
    sources: dict[tuple[str, str], str] = {}
    with _open_h5(path) as f:
        root = _weights_root(f, path)
        group_names = _read_names_attr(root, ROOT_LAYER_NAMES_ATTR)
        known = set(PAPER_LAYER_NAMES if known_layers is None else known_layers)
        for group_name in group_names:
            if group_name not in root:
                raise ValueError(
                    f"{path}: layer_names lists {group_name!r} but the file has no such group; "
                    "the file is damaged or truncated: download it again."
                )
            group = root[group_name]
            for weight_name in _read_names_attr(group, GROUP_WEIGHT_NAMES_ATTR):
                key = _parse_weight_name(weight_name, group_name, known)
                source = f"{group_name}/{weight_name}"
                if key in table:
                    raise ValueError(
                        f"{path}: two arrays map to {key[0]}/{key[1]}: {sources[key]!r} and {source!r}. "
                        "The file was probably saved from a model built twice in one graph; "
                        "re-save it from a single model."
                    )
                dataset = group.get(weight_name)
                if not isinstance(dataset, h5py.Dataset):
                    raise ValueError(
                        f"{path}: group {group_name!r} lists weight {weight_name!r} but holds no such array; "
                        "the file is damaged or truncated: download it again."
                    )
                table[key] = np.asarray(dataset[()])
                sources[key] = source
    return table


def _open_h5(path: Path) -> h5py.File:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: download the checkpoint from {PAPER_RELEASES}")
    try:
        return h5py.File(path, "r")
    except OSError as error:  # h5py's words for a cut-off download: "truncated file", "bad object header"
        raise ValueError(
            f"{path} is not a readable HDF5 file ({error}); if it is a download, it is probably incomplete: "
            "download it again."
        ) from None


def _weights_root(f: h5py.File, path: Path) -> h5py.Group:
    if _has_names_attr(f, ROOT_LAYER_NAMES_ATTR):
        return f
    if FULL_MODEL_GROUP in f and _has_names_attr(f[FULL_MODEL_GROUP], ROOT_LAYER_NAMES_ATTR):
        return f[FULL_MODEL_GROUP]
    if "layers" in f or "vars" in f:
        raise ValueError(
            f"{path} is a Keras 3 weights file, not a Keras 2 one: load it with our own checkpoint loader "
            "(`model.checkpoint.load_checkpoint`), not with the paper loader."
        )
    raise ValueError(
        f"{path} has no root attribute {ROOT_LAYER_NAMES_ATTR!r} and no {FULL_MODEL_GROUP!r} group, "
        "so it is not a Keras 2 weights file. Pass one of the released `*_siamese_mrcnn_*.h5` checkpoints."
    )


def _has_names_attr(group: h5py.Group, name: str) -> bool:
    return name in group.attrs or f"{name}0" in group.attrs


def _read_names_attr(group: h5py.Group, name: str) -> list[str]:
    """Read a list-of-names attribute, whole (`name`) or in chunks (`name0`, `name1`, ...), bytes or str."""
    if name in group.attrs:
        return _decode_names(group.attrs[name])
    names: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in group.attrs:
        names += _decode_names(group.attrs[f"{name}{chunk}"])
        chunk += 1
    return names


def _decode_names(value: object) -> list[str]:
    items = [value] if isinstance(value, (bytes, str)) else list(np.asarray(value).ravel())
    return [item.decode("utf8") if isinstance(item, bytes) else str(item) for item in items]


def _parse_weight_name(weight_name: str, group_name: str, known: set[str]) -> tuple[str, str]:
    """`"fpn_c5p5_1/kernel:0"` -> `("fpn_c5p5", "kernel")`; a name without scope belongs to its group."""
    scope, _, param = weight_name.rpartition("/")
    layer = scope.rpartition("/")[2] if scope else group_name
    if layer not in known:
        stem = UNIQUIFIER_SUFFIX.sub("", layer)
        if stem in known:
            layer = stem
    return layer, TF_OUTPUT_SUFFIX.sub("", param)
