"""Weight averaging: one checkpoint from several snapshots of one training run (and, weighted, a fine-tuned
child moved part of the way back to its parent: `model.training.finetune`'s `parent_share`); `RunningAverage`
averages snapshots as a run takes them (the fine-tune's `average_tail`).

Snapshots of a run taken a few hundred steps apart answer new kinds of object differently enough that choosing one
of them is partly choosing noise (docs/model-quality.md, session 9). The uniform mean of their weights (stochastic
weight averaging, Izmailov et al. 2018) sits in the middle of the region the run explored, needs no choice among
the snapshots, and costs nothing at inference. Only snapshots of one run (one starting point, same architecture)
average into a working network; `average_checkpoints` refuses checkpoints whose configurations differ.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["RunningAverage", "average_checkpoints", "average_weights"]

CONFIG_FIELDS_ALLOWED_TO_DIFFER = ("detection_min_confidence",)
"""Answering settings that calibration changes; everything else of the configurations must be equal."""


def average_weights(weight_lists: Sequence[Sequence[np.ndarray]],
                    coefficients: Sequence[float] | None = None) -> list[np.ndarray]:
    """The mean of several models' weights, array by array: uniform, or weighted by `coefficients`.

    Args:
        weight_lists: per model, its arrays in one order (`keras.Model.get_weights()`); at least one model.
        coefficients: one non-negative weight per model, not all zero (normalised to sum to 1); None = uniform.
            Two models with `(1 - t, t)` interpolate from the first (t = 0) to the second (t = 1).

    Returns:
        One list of arrays, each the (weighted) mean of the models' arrays at that position, in the first model's
        dtype. Integer arrays (counters, not learnt values) must be equal in every model and are kept as they are.

    Raises:
        ValueError: no model, models whose array counts, shapes or integer arrays differ, or coefficients that
            are not one non-negative number per model with a positive sum.
    """
    if not weight_lists:
        raise ValueError("nothing to average: give at least one model's weights")
    if coefficients is None:
        coefficients = [1.0] * len(weight_lists)
    share = np.asarray(coefficients, np.float64)
    if share.shape != (len(weight_lists),) or not np.isfinite(share).all() or (share < 0).any() or share.sum() <= 0:
        raise ValueError(f"coefficients {list(coefficients)} must be one non-negative number per model "
                         f"({len(weight_lists)}) with a positive sum")
    share = share / share.sum()
    first = weight_lists[0]
    for n, weights in enumerate(weight_lists[1:], start=2):
        if len(weights) != len(first):
            raise ValueError(f"model {n} has {len(weights)} weight arrays, model 1 has {len(first)}: only snapshots "
                             "of one architecture average")
    out = []
    for position, arrays in enumerate(zip(*weight_lists, strict=True)):
        shapes = {np.shape(a) for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"weight array {position} has shapes {sorted(shapes)}: only snapshots of one "
                             "architecture average")
        reference = np.asarray(arrays[0])
        if _is_counter(reference):
            if any(not np.array_equal(reference, a) for a in arrays[1:]):
                raise ValueError(f"integer weight array {position} differs between models; it cannot be averaged")
            out.append(reference.copy())
            continue
        mean = sum(w * np.asarray(a, np.float64) for w, a in zip(share, arrays, strict=True))
        out.append(np.asarray(mean).astype(reference.dtype))
    return out


class RunningAverage:
    """The uniform mean of weight snapshots taken one at a time during a run (the fine-tune's tail average), kept
    as a float64 sum so that no snapshot list is held in memory.

    Integer arrays (counters, as the first snapshot has them) are kept from the last snapshot; every snapshot must
    have the first one's shapes.
    """

    def __init__(self) -> None:
        self._shapes: list[tuple[int, ...]] = []
        self._dtypes: list[np.dtype] = []
        self._sums: list[np.ndarray | None] = []  # per position: the float64 sum, or None for a counter
        self._counters: list[np.ndarray | None] = []  # per position: the last snapshot's counter, or None
        self.count = 0

    def add(self, weights: Sequence[np.ndarray]) -> None:
        """Add one snapshot (`keras.Model.get_weights()` order); the arrays are copied. A refused snapshot changes
        nothing.

        Raises:
            ValueError: its array count or shapes differ from the first snapshot's.
        """
        arrays = [np.asarray(a) for a in weights]
        if not self.count:
            self._shapes = [a.shape for a in arrays]
            self._dtypes = [a.dtype for a in arrays]
            self._sums = [None if _is_counter(a) else np.zeros(a.shape, np.float64) for a in arrays]
            self._counters = [None] * len(arrays)
        elif len(arrays) != len(self._shapes):
            raise ValueError(f"a snapshot with {len(arrays)} arrays, the first had {len(self._shapes)}: only one "
                             "model's snapshots average")
        for position, (array, shape) in enumerate(zip(arrays, self._shapes, strict=True)):
            if array.shape != shape:
                raise ValueError(f"weight array {position} has shape {array.shape} in this snapshot and {shape} in "
                                 "the first: only one model's snapshots average")
        for position, array in enumerate(arrays):
            total = self._sums[position]
            if total is None:
                self._counters[position] = array.copy()
            else:
                total += array
        self.count += 1

    def mean(self) -> list[np.ndarray]:
        """The mean of the snapshots added, each array in its own dtype (counters: the last snapshot's).

        Raises:
            ValueError: no snapshot was added.
        """
        if not self.count:
            raise ValueError("no snapshot to average: add at least one")
        return [counter.copy() if total is None else (total / self.count).astype(dtype)
                for total, counter, dtype in zip(self._sums, self._counters, self._dtypes, strict=True)]


def _is_counter(array: np.ndarray) -> bool:
    """An integer or boolean array: a counter, not a learnt value, so it is never averaged."""
    return bool(np.issubdtype(array.dtype, np.integer) or array.dtype == bool)


def average_checkpoints(paths: Sequence[str | Path], out: str | Path, version: str) -> Path:
    """Write the uniform weight average of `paths` (our checkpoints, snapshots of one run) to `out`, with a card.

    The card is the first checkpoint's with `version`, and `training.averaged_from` listing each source's path and
    version; its answering settings (threshold) are the first's, to be calibrated again (`python -m model
    calibrate`). Every file and card is checked before the network is built.

    Raises:
        ValueError: fewer than two checkpoints, configurations that differ beyond the threshold, or an unreadable
            checkpoint (`CheckpointError`).
        FileNotFoundError: a weights file that does not exist (all of them named).
    """
    from model.checkpoint import load_checkpoint, load_weights_into, read_card, save_checkpoint

    if len(paths) < 2:
        raise ValueError(f"averaging needs at least two checkpoints, got {len(paths)}")
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise FileNotFoundError(f"checkpoints not found: {missing}")
    cards = [read_card(path) for path in paths]
    first_config = _compared(cards[0].config)
    for path, card in zip(paths[1:], cards[1:], strict=True):
        config = _compared(card.config)
        if config != first_config:
            changed = sorted(k for k in set(config) | set(first_config) if config.get(k) != first_config.get(k))
            raise ValueError(f"{path} has another configuration than {paths[0]} ({changed}): only snapshots of one "
                             "run average")
    from model.verifier import WITHOUT_VERIFIER

    model, card = load_checkpoint(paths[0], **WITHOUT_VERIFIER)  # new weights: a verifier fitted on others' is left
    weight_lists = [model.get_weights()]
    for path in paths[1:]:
        load_weights_into(model, path)
        weight_lists.append(model.get_weights())
    model.set_weights(average_weights(weight_lists))
    card.version = version
    card.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sources = [{"path": str(path), "version": source.version} for path, source in zip(paths, cards, strict=True)]
    card.training = dict(card.training) | {"averaged_from": sources}
    card.metrics = {}
    return save_checkpoint(model, out, card)


def _compared(config: dict) -> dict:
    """The part of a card's configuration that snapshots of one run share."""
    return {key: value for key, value in config.items() if key not in CONFIG_FIELDS_ALLOWED_TO_DIFFER}
