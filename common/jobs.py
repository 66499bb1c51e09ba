"""Job payload schemas: what the backend enqueues and what the worker returns, as JSON-safe dicts.

Every schema is a frozen dataclass with `to_dict()` (plain dicts, lists, str, int, float, bool, None) and
`from_dict()` (validates and raises `ValueError` naming the bad field). Boxes are `[x1, y1, x2, y2]` in
original-image pixels (x2/y2 exclusive); masks are COCO RLE dicts (`common.masks`); sizes are `[H, W]`.
Label Studio's percent coordinates never appear here.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = [
    "BatchRequest",
    "BatchResult",
    "Exemplar",
    "ImageSource",
    "InstanceRecord",
    "InteractiveRequest",
    "LabelExemplars",
    "OutputControl",
    "PredictionResult",
    "Thresholds",
    "TrainingRequest",
]

Box = tuple[float, float, float, float]

OUTPUT_TYPES = ("rectanglelabels", "brushlabels", "polygonlabels")
"""The Label Studio result types the plugin answers with."""


def _require(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise ValueError(f"{where}: missing field {key!r}.")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{where}.{key}: expected {kind}, got {type(value).__name__} {str(value)[:80]!r}.")
    return value


def _box(value: Any, where: str) -> Box:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise ValueError(f"{where}: a box is [x1, y1, x2, y2], got {value!r}.")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{where}: box coordinates must be numbers, got {value!r}.")
    box = tuple(float(v) for v in value)
    if not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f"{where}: box {list(box)} must be finite with x2 > x1 and y2 > y1.")
    return box  # type: ignore[return-value]


def _size(value: Any, where: str) -> tuple[int, int]:
    valid = (isinstance(value, list | tuple) and len(value) == 2
             and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))
    if not valid:
        raise ValueError(f"{where}: a size is [H, W] with positive integers, got {value!r}.")
    return int(value[0]), int(value[1])


class _Schema:
    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))  # type: ignore[call-overload]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class ImageSource(_Schema):
    """Where the worker gets an image: the task's URL as Label Studio stores it, plus how to reach LS.

    `url` is any of `/data/upload/...`, `/data/local-files/?d=...`, `http(s)://...`, `s3://`-style URLs that
    Label Studio resolves (`/tasks/<id>/resolve/?fileuri=...`), or a `data:image/...;base64,` URL.
    """

    url: str
    ls_url: str | None = None
    ls_token: str | None = None
    task_id: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> ImageSource:
        url = _require(data, "url", str, "image")
        if not url:
            raise ValueError("image.url is empty.")
        return cls(url=url, ls_url=data.get("ls_url"), ls_token=data.get("ls_token"), task_id=data.get("task_id"))


@dataclasses.dataclass(frozen=True)
class Thresholds(_Schema):
    """What an answer keeps. `score_threshold` None: the model's own calibrated threshold (the
    `detection_min_confidence` of its checkpoint's card; for a drawn box's answer of a model with a verifier, its
    `detection_verifier_threshold`)."""

    score_threshold: float | None
    nms_threshold: float
    max_instances: int

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        calibrated = isinstance(data, dict) and "score_threshold" in data and data["score_threshold"] is None
        score = None if calibrated else float(_require(data, "score_threshold", int | float, "thresholds"))
        nms = float(_require(data, "nms_threshold", int | float, "thresholds"))
        count = _require(data, "max_instances", int, "thresholds")
        if not ((score is None or 0.0 <= score <= 1.0) and 0.0 <= nms <= 1.0 and count >= 1):
            raise ValueError(f"thresholds out of range: score={score}, nms={nms}, max_instances={count}.")
        return cls(score_threshold=score, nms_threshold=nms, max_instances=count)


@dataclasses.dataclass(frozen=True)
class InteractiveRequest(_Schema):
    """One smart region drawn in Label Studio: find every other instance of the reference in the image."""

    project_id: int
    image: ImageSource
    reference_boxes: tuple[Box, ...]
    thresholds: Thresholds
    expected_size: tuple[int, int] | None = None  # [H, W] Label Studio measured (original_height/width)
    # The exemplars of the project's labels other than the drawn one: they claim their objects in the answer
    # (model.answering.unclaimed). Empty for a project with one label or no accepted annotations yet.
    other_labels: tuple[LabelExemplars, ...] = ()
    # The drawn label's own exemplars: they join the answer (model.answering.with_own_bank). None for a label with no
    # accepted annotation yet.
    drawn_label: LabelExemplars | None = None

    @classmethod
    def from_dict(cls, data: dict) -> InteractiveRequest:
        boxes = _require(data, "reference_boxes", list, "interactive")
        if not boxes:
            raise ValueError("interactive.reference_boxes is empty: at least one reference box is needed.")
        expected = data.get("expected_size")
        others = data.get("other_labels") or []
        if not isinstance(others, list):
            raise ValueError(f"interactive.other_labels: expected a list, got {type(others).__name__}.")
        return cls(
            project_id=_require(data, "project_id", int, "interactive"),
            image=ImageSource.from_dict(_require(data, "image", dict, "interactive")),
            reference_boxes=tuple(_box(b, f"interactive.reference_boxes[{i}]") for i, b in enumerate(boxes)),
            thresholds=Thresholds.from_dict(_require(data, "thresholds", dict, "interactive")),
            expected_size=None if expected is None else _size(expected, "interactive.expected_size"),
            other_labels=tuple(LabelExemplars.from_dict(item) for item in others),
            drawn_label=None if data.get("drawn_label") is None else LabelExemplars.from_dict(data["drawn_label"]),
        )


@dataclasses.dataclass(frozen=True)
class InstanceRecord(_Schema):
    """One found instance: pixel box, score in [0, 1], full-resolution mask as COCO RLE."""

    box: Box
    score: float
    mask: dict

    @classmethod
    def from_dict(cls, data: dict) -> InstanceRecord:
        mask = _require(data, "mask", dict, "instance")
        _size(mask.get("size"), "instance.mask.size")
        return cls(box=_box(_require(data, "box", list, "instance"), "instance.box"),
                   score=float(_require(data, "score", int | float, "instance")), mask=mask)


@dataclasses.dataclass(frozen=True)
class PredictionResult(_Schema):
    """What an interactive job returns."""

    model_version: str
    image_size: tuple[int, int]  # [H, W] of the decoded, EXIF-rotated image
    instances: tuple[InstanceRecord, ...]
    feature_cache_hit: bool = False
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> PredictionResult:
        instances = _require(data, "instances", list, "result")
        return cls(
            model_version=_require(data, "model_version", str, "result"),
            image_size=_size(_require(data, "image_size", list, "result"), "result.image_size"),
            instances=tuple(InstanceRecord.from_dict(item) for item in instances),
            feature_cache_hit=bool(data.get("feature_cache_hit", False)),
            timings={str(k): float(v) for k, v in (data.get("timings") or {}).items()},
        )


@dataclasses.dataclass(frozen=True)
class OutputControl(_Schema):
    """One control of the project's label config to answer with (`type` is one of OUTPUT_TYPES)."""

    from_name: str
    to_name: str
    type: str

    @classmethod
    def from_dict(cls, data: dict) -> OutputControl:
        kind = _require(data, "type", str, "output")
        if kind not in OUTPUT_TYPES:
            raise ValueError(f"output.type {kind!r} is not one of {OUTPUT_TYPES}.")
        return cls(from_name=_require(data, "from_name", str, "output"),
                   to_name=_require(data, "to_name", str, "output"), type=kind)


@dataclasses.dataclass(frozen=True)
class Exemplar(_Schema):
    """Boxes of one label in one image (a stored, accepted annotation)."""

    image: ImageSource
    boxes: tuple[Box, ...]

    @classmethod
    def from_dict(cls, data: dict) -> Exemplar:
        boxes = _require(data, "boxes", list, "exemplar")
        if not boxes:
            raise ValueError("exemplar.boxes is empty.")
        return cls(image=ImageSource.from_dict(_require(data, "image", dict, "exemplar")),
                   boxes=tuple(_box(b, f"exemplar.boxes[{i}]") for i, b in enumerate(boxes)))


@dataclasses.dataclass(frozen=True)
class LabelExemplars(_Schema):
    """The exemplars of one label, and the controls that carry that label (to build regions)."""

    label: str
    exemplars: tuple[Exemplar, ...]
    outputs: tuple[OutputControl, ...]

    @classmethod
    def from_dict(cls, data: dict) -> LabelExemplars:
        items = _require(data, "exemplars", list, "label_exemplars")
        outputs = _require(data, "outputs", list, "label_exemplars")
        if not items or not outputs:
            raise ValueError("label_exemplars.exemplars and label_exemplars.outputs must both be non-empty.")
        return cls(label=_require(data, "label", str, "label_exemplars"),
                   exemplars=tuple(Exemplar.from_dict(item) for item in items),
                   outputs=tuple(OutputControl.from_dict(item) for item in outputs))


@dataclasses.dataclass(frozen=True)
class BatchRequest(_Schema):
    """Pre-annotate one task with the project's exemplars; post to Label Studio if the backend stopped waiting.

    Each label carries its output controls, so the worker can build Label Studio regions itself when it must
    deliver the prediction by `POST /api/predictions`.
    """

    project_id: int
    task_id: int
    image: ImageSource
    labels: tuple[LabelExemplars, ...]
    thresholds: Thresholds
    polygon_tolerance: float = 1.5

    @classmethod
    def from_dict(cls, data: dict) -> BatchRequest:
        labels = _require(data, "labels", list, "batch")
        if not labels:
            raise ValueError("batch.labels is empty: a batch job needs exemplars of at least one label.")
        return cls(
            project_id=_require(data, "project_id", int, "batch"),
            task_id=_require(data, "task_id", int, "batch"),
            image=ImageSource.from_dict(_require(data, "image", dict, "batch")),
            labels=tuple(LabelExemplars.from_dict(item) for item in labels),
            thresholds=Thresholds.from_dict(_require(data, "thresholds", dict, "batch")),
            polygon_tolerance=float(data.get("polygon_tolerance", 1.5)),
        )


@dataclasses.dataclass(frozen=True)
class BatchResult(_Schema):
    """What a batch job returns: instances per label, and whether the worker already posted them to LS."""

    task_id: int
    model_version: str
    image_size: tuple[int, int]
    instances: dict[str, tuple[InstanceRecord, ...]]
    posted: bool = False
    original_size: tuple[int, int] | None = None
    """`(H, W)` of the image file when the worker decoded it smaller (`image_size`, the frame of the boxes and
    masks); Label Studio's regions are in this size. None: the same as `image_size`."""

    @classmethod
    def from_dict(cls, data: dict) -> BatchResult:
        per_label = _require(data, "instances", dict, "batch_result")
        original = data.get("original_size")
        return cls(
            task_id=_require(data, "task_id", int, "batch_result"),
            model_version=_require(data, "model_version", str, "batch_result"),
            image_size=_size(_require(data, "image_size", list, "batch_result"), "batch_result.image_size"),
            instances={str(k): tuple(InstanceRecord.from_dict(i) for i in v) for k, v in per_label.items()},
            posted=bool(data.get("posted", False)),
            original_size=None if original is None else _size(original, "batch_result.original_size"),
        )

    @property
    def label_studio_size(self) -> tuple[int, int]:
        """`(H, W)` of the image as Label Studio shows it: the frame of the regions."""
        return self.original_size or self.image_size


TRAINING_TRIGGERS = ("start_training", "api", "auto", "resync")
"""Why a training job was enqueued: Label Studio's Train button, POST /train, N new annotations, POST /resync."""


@dataclasses.dataclass(frozen=True)
class TrainingRequest(_Schema):
    """Fine-tune a project's active model on its accepted annotations (or only resynchronise the store).

    `ls_url`/`ls_token` reach Label Studio for the export API and the task images; `image_key` is the task data
    key of the image (the label config's `$image`). `resync` pulls the export first; `train` False stops after it.
    """

    project_id: int
    trigger: str
    ls_url: str | None = None
    ls_token: str | None = None
    image_key: str = "image"
    resync: bool = False
    train: bool = True

    @classmethod
    def from_dict(cls, data: dict) -> TrainingRequest:
        trigger = _require(data, "trigger", str, "training")
        if trigger not in TRAINING_TRIGGERS:
            raise ValueError(f"training.trigger {trigger!r} is not one of {TRAINING_TRIGGERS}.")
        return cls(project_id=_require(data, "project_id", int, "training"), trigger=trigger,
                   ls_url=data.get("ls_url"), ls_token=data.get("ls_token"),
                   image_key=str(data.get("image_key") or "image"), resync=bool(data.get("resync", False)),
                   train=bool(data.get("train", True)))
