"""Our checkpoint format: Keras 3 `<name>.weights.h5` plus a JSON model card `<name>.card.json` beside it.

The card names the preset and holds the full config, so `load_checkpoint` rebuilds the right network without being
told. Both files are written to temporary names and renamed into place (card last), so a crash never leaves a
half-written checkpoint that looks complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.config import ModelConfig

CARD_FORMAT = "siamese-assist/model-card/1"
WEIGHTS_SUFFIX = ".weights.h5"
CARD_SUFFIX = ".card.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, incomplete or unreadable; the message says which file and why."""


@dataclass
class ModelCard:
    """What a checkpoint is: its preset and config, where it came from, and how good it is."""

    version: str
    preset: str
    config: dict[str, Any]
    parent: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    format: str = CARD_FORMAT

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelCard:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def card_path(weights_path: str | Path) -> Path:
    """`foo.weights.h5` -> `foo.card.json`."""
    path = Path(weights_path)
    if not path.name.endswith(WEIGHTS_SUFFIX):
        raise CheckpointError(f"{path}: a checkpoint's weights file must end with {WEIGHTS_SUFFIX}")
    return path.with_name(path.name[: -len(WEIGHTS_SUFFIX)] + CARD_SUFFIX)


def read_card(weights_path: str | Path) -> ModelCard:
    path = card_path(weights_path)
    if not path.exists():
        raise CheckpointError(f"{path} is missing: every checkpoint needs its model card beside the weights")
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable model card ({exc})") from exc
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: a model card must be a JSON object, got {type(values).__name__}")
    if values.get("format") != CARD_FORMAT:
        raise CheckpointError(f"{path}: format {values.get('format')!r} is not {CARD_FORMAT!r}")
    return ModelCard.from_dict(values)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A process killed mid-write (HDF5 can even crash outright on a full disk) leaves its temporary file behind.
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + "".join(path.suffixes))
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(model, weights_path: str | Path, card: ModelCard) -> Path:
    """Write `model`'s weights and `card` atomically; returns the weights path."""
    weights_path = Path(weights_path)
    card.config = model.config.to_dict()
    _atomic_write(weights_path, lambda tmp: model.save_weights(str(tmp)))
    write_card(weights_path, card)
    return weights_path


def write_card(weights_path: str | Path, card: ModelCard) -> Path:
    """Replace the model card of a checkpoint atomically (e.g. to add evaluation metrics)."""
    path = card_path(weights_path)
    _atomic_write(path, lambda tmp: tmp.write_text(card.to_json()))
    return path


def load_checkpoint(weights_path: str | Path, precision: str = "float32", **config_changes):
    """Rebuild the network of a checkpoint from its card and load the weights.

    Args:
        precision: "float32", or "bfloat16" to compute the convolutions in bfloat16 (see `model.builder`).
        config_changes: `ModelConfig` fields to change from the card's, e.g. `image_size=1024` (convolution weights
            do not depend on the input size; the anchors are rebuilt).

    Returns:
        (model, card). The backbone is not re-initialised from ImageNet (the checkpoint has its weights).
    """
    from model.builder import build_model  # deferred: building imports TensorFlow

    weights_path = Path(weights_path)
    if not weights_path.exists():
        raise CheckpointError(f"{weights_path} does not exist")
    card = read_card(weights_path)
    try:
        config = ModelConfig.from_dict(card.config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{card_path(weights_path)}: invalid config in model card ({exc})") from exc
    config = config.replace(backbone_weights=None, **config_changes)
    model = build_model(config, precision=precision)
    load_weights_into(model, weights_path)
    return model, card


def load_weights_into(model, weights_path: str | Path) -> None:
    """Load a weights file into `model`, a network built from the same configuration (e.g. another snapshot of
    one run).

    Raises:
        CheckpointError: the file is missing, corrupt or does not fit the network.
    """
    weights_path = Path(weights_path)
    if not weights_path.exists():
        raise CheckpointError(f"{weights_path} does not exist")
    try:
        model.load_weights(str(weights_path))
    except Exception as exc:  # h5py/keras raise many types for a corrupt or foreign file
        raise CheckpointError(f"{weights_path}: cannot load weights ({type(exc).__name__}: {exc})") from exc
