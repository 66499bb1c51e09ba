"""Loading the paper's Keras-2 `.h5` checkpoints into our model: load, inspect, convert (`python -m model inspect`).

The entry points most callers need: `load_paper_model` builds the preset a file belongs to and loads it,
`inspect_checkpoint` reports how it maps without loading, `convert_paper_checkpoint` writes it once in our format.
Reading the file is `model/paper_reading.py`; matching arrays to variables by name is `model/paper_mapping.py`.
Their public names are importable from here too.
"""

from __future__ import annotations

from pathlib import Path

import keras

from model.paper_mapping import Layers, MappingReport, check_paper_weights, map_paper_weights
from model.paper_reading import (
    CLASSIFIER_WIDTH_LAYER,
    PAPER_LAYER_NAMES,
    PAPER_RELEASES,
    PRESET_BY_CLASSIFIER_WIDTH,
    SIAMESE_NUM_CLASSES,
    Table,
    read_keras2_weights,
)

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
