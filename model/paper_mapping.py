"""Mapping a name-keyed weight table onto a model's layers: check every shape first, then assign, or refuse.

Each array of the table (`model/paper_reading.py`) goes to the variable of the same `(layer, param)`, read by
attribute, with an exact shape check (model-spec.md section 3). A table that does not map completely is refused
with a message that lists the problems and says how to fix them; nothing is assigned then.

One deliberate reshape: the paper's `mrcnn_class_conv1` is a 7x7 'valid' Conv2D over a 7x7x384 ROI and
`mrcnn_class_conv2` a 1x1 Conv2D. When our model implements them as Dense layers over the flattened ROI, a 4-D
kernel `(kh, kw, in, out)` is reshaped row-major to `(kh * kw * in, out)`: the same order in which an NHWC ROI
`(h, w, c)` is flattened, so `Dense(flatten(roi)) == Conv2D(roi)` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import keras
import numpy as np

from model.paper_reading import CLASSIFIER_WIDTH_LAYER, PRESET_BY_CLASSIFIER_WIDTH, SIAMESE_NUM_CLASSES, Table

__all__ = ["Layers", "MappingReport", "check_paper_weights", "map_paper_weights"]

Layers = Mapping[str, keras.layers.Layer]
"""The model's weight-holding layers by matterport name (`model.named_weight_layers()`)."""

MAX_LISTED = 20
"""How many names of each kind an error message lists before it says "... and N more"."""
_CONV_PARAMS = ("kernel", "bias")
_BATCH_NORM_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")


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
