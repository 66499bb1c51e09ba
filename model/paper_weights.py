"""Reading the paper's Keras-2 `.h5` checkpoints and mapping them onto our model, by name.

The released checkpoints (bethgelab/siamese-mask-rcnn) are Keras 2 weights-only files. Keras 2 ordered the arrays
of a group by their `trainable` flags at save time, so order is never used here: every array is keyed by
`(layer, param)`, e.g. `("res2a_branch2a", "kernel")`, and assigned to the variable of the same name with an
exact shape check (model-spec.md section 3). Both layouts are read: nested (the paper's: `resnet_model`,
`fpn_model`, `rpn_model` groups hold `f["resnet_model"]["res2a_branch2a"]["kernel:0"]`) and flat (matterport's:
every layer a top-level group).

One deliberate reshape: the paper's `mrcnn_class_conv1` is a 7x7 'valid' Conv2D over a 7x7x384 ROI and
`mrcnn_class_conv2` a 1x1 Conv2D. When our model implements them as Dense layers over the flattened ROI, a 4-D
kernel `(kh, kw, in, out)` is reshaped row-major to `(kh * kw * in, out)`: the same order in which an NHWC ROI
`(h, w, c)` is flattened, so `Dense(flatten(roi)) == Conv2D(roi)` exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import keras
import numpy as np

__all__ = [
    "PAPER_LAYER_NAMES",
    "PRESET_BY_CLASSIFIER_WIDTH",
    "MappingReport",
    "check_paper_weights",
    "convert_paper_checkpoint",
    "detect_paper_preset",
    "inspect_checkpoint",
    "load_paper_model",
    "load_paper_weights",
    "map_paper_weights",
    "read_keras2_weights",
]

WeightTable = dict[tuple[str, str], np.ndarray]
Table = Mapping[tuple[str, str], np.ndarray]
Layers = Mapping[str, keras.layers.Layer]

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
MAX_LISTED = 20
"""How many names of each kind an error message lists before it says "... and N more"."""

_RESNET50_BLOCKS = {2: "abc", 3: "abcd", 4: "abcdef", 5: "abc"}
_CONV_PARAMS = ("kernel", "bias")
_BATCH_NORM_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")


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


# --- Reading -------------------------------------------------------------------------------------------------


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


# --- Mapping -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingReport:
    """How a weight table maps onto a model's layers.

    Attributes:
        matched: arrays with a variable of the right shape.
        missing: model variables the file lacks, e.g. `"mrcnn_mask/bias (1,)"`.
        unexpected: file arrays with no variable in the model, e.g. `"mrcnn_bbox/kernel (1024, 324)"`.
        mismatched: name matches but shape does not, e.g. `"mrcnn_class_logits/kernel: file (512, 2), model (1024, 2)"`.
    """

    matched: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every array of the file and every variable of the model found its partner."""
        return not (self.missing or self.unexpected or self.mismatched)

    def as_dict(self) -> dict[str, object]:
        """JSON-safe form, as `python -m model inspect` prints it."""
        return {
            "matched": self.matched,
            "missing": list(self.missing),
            "unexpected": list(self.unexpected),
            "mismatched": list(self.mismatched),
        }


def check_paper_weights(table: Table, layers: Layers) -> MappingReport:
    """Compare a weight table with the model's layers without assigning anything.

    Args:
        table: `{(layer, param): array}` from `read_keras2_weights`.
        layers: the model's weight-holding layers by matterport name (`model.named_weight_layers()`), built.

    Returns:
        A `MappingReport`; `.ok` when the mapping is complete.
    """
    report, _ = _plan(table, layers)
    return report


def map_paper_weights(table: Table, layers: Layers, *, strict: bool = True) -> MappingReport:
    """Assign each array to the variable of the same `(layer, param)`, by attribute, after checking them all.

    Args:
        table: `{(layer, param): array}` from `read_keras2_weights`.
        layers: the model's weight-holding layers by matterport name, built.
        strict: refuse (and assign nothing) unless every array and every variable found its partner.
            With `strict=False` the matching arrays are assigned and the rest is only reported.

    Returns:
        The `MappingReport`.

    Raises:
        ValueError: strict and the mapping is incomplete; the message lists the problems and how to fix them.
    """
    report, assignments = _plan(table, layers)
    if strict and not report.ok:
        raise ValueError(_refusal_message(report, table, layers))
    for variable, value in assignments:
        variable.assign(value)
    return report


def load_paper_weights(model: keras.Model, path: str | Path, *, strict: bool = True) -> MappingReport:
    """Load a released Keras-2 checkpoint into `model` (which must offer `named_weight_layers()`).

    Args:
        model: a built Siamese Mask R-CNN of the matching preset (`paper-large` or `paper-small`).
        path: the `.h5` file, e.g. `checkpoints/large_siamese_mrcnn_coco_full_0320.h5`.
        strict: see `map_paper_weights`.

    Returns:
        The `MappingReport` (`matched == 394` for a complete paper checkpoint).

    Raises:
        ValueError: the file cannot be read, or (strict) does not map completely; nothing is assigned then.
    """
    return _map_file(read_keras2_weights(path), model, path, strict)


def _map_file(table: Table, model: keras.Model, path: str | Path, strict: bool) -> MappingReport:
    try:
        return map_paper_weights(table, model.named_weight_layers(), strict=strict)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _plan(table: Table, layers: Layers) -> tuple[MappingReport, list[tuple[keras.Variable, np.ndarray]]]:
    missing, mismatched, assignments = [], [], []
    used: set[tuple[str, str]] = set()
    for layer_name, layer in layers.items():
        for param, variable in _layer_variables(layer_name, layer):
            key = (layer_name, param)
            model_shape = tuple(variable.shape)
            if key not in table:
                missing.append(f"{layer_name}/{param} {model_shape}")
                continue
            used.add(key)
            value = _fit_to_layer(table[key], layer, param, model_shape)
            if value is None:
                mismatched.append(f"{layer_name}/{param}: file {table[key].shape}, model {model_shape}")
                continue
            dtype = keras.backend.standardize_dtype(variable.dtype)
            assignments.append((variable, value.astype(dtype, copy=False)))
    unexpected = [
        f"{name}/{param} {table[name, param].shape}" for name, param in table if (name, param) not in used
    ]
    report = MappingReport(len(assignments), sorted(missing), sorted(unexpected), sorted(mismatched))
    return report, assignments


def _layer_variables(name: str, layer: keras.layers.Layer) -> list[tuple[str, keras.Variable]]:
    """The `(param, variable)` pairs a paper layer of this type carries, read by attribute."""
    if isinstance(layer, keras.layers.TimeDistributed):
        layer = layer.layer
    if isinstance(layer, keras.layers.BatchNormalization):
        params = _BATCH_NORM_PARAMS
    elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)):
        params = _CONV_PARAMS
    else:
        raise ValueError(
            f"layer {name!r} is a {type(layer).__name__}; paper weights map only onto Conv2D, "
            "Conv2DTranspose, Dense and BatchNormalization layers: fix named_weight_layers()."
        )
    if not layer.built:
        raise ValueError(
            f"layer {name!r} is not built yet: build the model (call it once) before loading weights."
        )
    pairs = []
    for param in params:
        variable = getattr(layer, param, None)
        if variable is None:  # use_bias=False, center=False, scale=False
            continue
        if not isinstance(variable, keras.Variable):
            raise ValueError(
                f"{name}.{param} is not a plain variable (LoRA or quantized?); load before enabling that."
            )
        pairs.append((param, variable))
    return pairs


def _fit_to_layer(
    value: np.ndarray, layer: keras.layers.Layer, param: str, model_shape: tuple
) -> np.ndarray | None:
    """The array in the model's shape, or None if it does not fit (only conv -> Dense kernels are reshaped)."""
    if value.shape == model_shape:
        return value
    is_dense = isinstance(getattr(layer, "layer", layer), keras.layers.Dense)
    if is_dense and param == "kernel" and value.ndim == 4 and len(model_shape) == 2:
        flat_shape = (math.prod(value.shape[:3]), value.shape[3])
        if flat_shape == model_shape:
            return value.reshape(flat_shape)  # row-major (kh, kw, in): the order of flattening an NHWC ROI
    return None


# --- Diagnosis -----------------------------------------------------------------------------------------------


def detect_paper_preset(table: Table) -> str:
    """Tell `paper-large` from `paper-small` by the `mrcnn_class_logits` kernel `(width, 2)`.

    Raises:
        ValueError: the file has no such kernel or an unknown width; the message says to pass `--preset`.
    """
    kernel = table.get((CLASSIFIER_WIDTH_LAYER, "kernel"))
    if kernel is None:
        raise ValueError(
            f"the file has no {CLASSIFIER_WIDTH_LAYER}/kernel, so its preset cannot be detected "
            "(a backbone-only file such as imagenet_1k.h5?): pass --preset explicitly."
        )
    preset = PRESET_BY_CLASSIFIER_WIDTH.get(kernel.shape[0])
    if preset is None or kernel.shape[1:] != (SIAMESE_NUM_CLASSES,):
        raise ValueError(
            f"{CLASSIFIER_WIDTH_LAYER}/kernel has shape {kernel.shape}; paper checkpoints have (1024, 2) (large) "
            "or (512, 2) (small): pass --preset explicitly if this file belongs to another preset."
        )
    return preset


def _refusal_message(report: MappingReport, table: Table, layers: Layers) -> str:
    lines = [
        f"the checkpoint does not map onto the model ({report.matched} arrays match; {len(report.missing)} missing, "
        f"{len(report.unexpected)} unexpected, {len(report.mismatched)} mis-shaped). Nothing was loaded."
    ]
    for title, names in (
        ("Missing (the model has them, the file does not)", report.missing),
        ("Unexpected (the file has them, the model does not)", report.unexpected),
        ("Mis-shaped", report.mismatched),
    ):
        if names:
            more = f", ... and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
            lines.append(f"{title}: {', '.join(names[:MAX_LISTED])}{more}")
    lines.append("How to fix: " + _fix_hint(report, table, layers))
    return "\n".join(lines)


def _fix_hint(report: MappingReport, table: Table, layers: Layers) -> str:
    file_logits = table.get((CLASSIFIER_WIDTH_LAYER, "kernel"))
    model_logits = getattr(layers.get(CLASSIFIER_WIDTH_LAYER), "kernel", None)
    if file_logits is not None and file_logits.ndim == 2 and file_logits.shape[1] != SIAMESE_NUM_CLASSES:
        return (
            f"the file's {CLASSIFIER_WIDTH_LAYER} has {file_logits.shape[1]} classes: it is a plain Mask R-CNN "
            "checkpoint (matterport), not Siamese Mask R-CNN. Use a bethgelab *_siamese_mrcnn_*.h5 file."
        )
    if file_logits is not None and model_logits is not None and file_logits.shape[0] != model_logits.shape[0]:
        preset = PRESET_BY_CLASSIFIER_WIDTH.get(file_logits.shape[0])
        size = preset.removeprefix("paper-") if preset else "differently sized"
        fix = f"use --preset {preset}" if preset else "pass the preset it was trained with"
        return f"this looks like a {size} checkpoint (classifier width {file_logits.shape[0]}): {fix}."
    if ("conv1", "kernel") in table and "conv1" not in layers:
        return (
            "the model's backbone is not the paper's ResNet-50: use --preset paper-large or --preset paper-small "
            "(or omit --preset to detect it)."
        )
    if file_logits is None and any(layer.startswith("res") for layer, _ in table):
        return "this looks like a backbone-only checkpoint (e.g. imagenet_1k.h5): load it with strict=False."
    if report.missing and not report.unexpected and not report.mismatched:
        return (
            "the file lacks arrays the model needs: it is probably truncated (an interrupted download). "
            "Compare its size with the release asset (about 202 MiB large, 162 MiB small) and download it again."
        )
    return "check that the file is a released Siamese Mask R-CNN checkpoint for this preset, or pass strict=False."


def inspect_checkpoint(path: str | Path, preset: str | None = None, *, layers: Layers | None = None) -> dict:
    """Report how a paper checkpoint maps onto a preset's model, without loading it (`python -m model inspect`).

    Args:
        path: the Keras-2 `.h5` file.
        preset: `paper-large` or `paper-small`; detected from the `mrcnn_class_logits` kernel when None.
        layers: the weight-holding layers to check against; built from `preset` when None (a few seconds).

    Returns:
        `{"preset": str, "matched": int, "missing": [...], "unexpected": [...], "mismatched": [...]}`.
    """
    table = read_keras2_weights(path)
    preset = preset or detect_paper_preset(table)
    if layers is None:
        layers = _build_model(preset).named_weight_layers()
    return {"preset": preset, **check_paper_weights(table, layers).as_dict()}


def load_paper_model(
    path: str | Path, preset: str | None = None, *, strict: bool = True
) -> tuple[keras.Model, MappingReport]:
    """Build the paper preset a checkpoint belongs to and load the checkpoint into it.

    Args:
        path: the Keras-2 `.h5` file, e.g. `checkpoints/small_siamese_mrcnn_0160.h5`.
        preset: `paper-large` or `paper-small`; detected from the `mrcnn_class_logits` kernel when None.
        strict: see `map_paper_weights`.

    Returns:
        (model, report): a `SiameseMaskRCNN` carrying the paper's weights, and the `MappingReport`.
    """
    table = read_keras2_weights(path)
    model = _build_model(preset or detect_paper_preset(table))
    return model, _map_file(table, model, path, strict)


def convert_paper_checkpoint(
    path: str | Path, weights_path: str | Path, *, preset: str | None = None
) -> Path:
    """Convert a paper checkpoint once into our format (`.weights.h5` + model card), which then loads natively.

    Args:
        path: the Keras-2 `.h5` file.
        weights_path: where to write, ending in `.weights.h5` (the card goes beside it).
        preset: `paper-large` or `paper-small`; detected when None.

    Returns:
        The written weights path. Raises `ValueError` (nothing written) if the file does not map completely.
    """
    from model.checkpoint import ModelCard, save_checkpoint  # deferred like the builder

    model, report = load_paper_model(path, preset)
    card = ModelCard(
        version=Path(weights_path).name.removesuffix(".weights.h5"),
        preset=model.config.name,
        config=model.config.to_dict(),
        training={"source": Path(path).name, "origin": PAPER_RELEASES},
        notes=f"Converted from the paper's Keras-2 checkpoint ({report.matched} arrays mapped by name).",
    )
    return save_checkpoint(model, weights_path, card)


def _build_model(preset: str) -> keras.Model:
    # Imported here: building the network is the cost of loading, not of importing this module.
    from model.builder import build_model
    from model.presets import get_preset

    # No ImageNet initialisation: the checkpoint overwrites the backbone anyway.
    return build_model(get_preset(preset, backbone_weights=None))
