"""`load_dataset`: one entry point over the three readers, for the CLI (`--data PATH --format FORMAT`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from model.data.annotations import Dataset

__all__ = ["DatasetFormat", "load_dataset"]


class DatasetFormat(StrEnum):
    """Values of the CLI's `--format`."""

    COCO = "coco"
    YOLO_SEG = "yolo-seg"
    LABEL_STUDIO = "label-studio"


def load_dataset(
    path: str | Path,
    format: DatasetFormat | str,
    *,
    images_dir: str | Path | None = None,
    split: str | None = None,
) -> Dataset:
    """Read a dataset in any supported format.

    Args:
        path: COCO: the instances JSON; YOLO-seg: the folder with classes.txt, images/, labels/;
            Label Studio: the JSON export.
        format: "coco", "yolo-seg" or "label-studio".
        images_dir: COCO / Label Studio: folder of the images (defaults: see `read_coco`, `read_label_studio`).
        split: YOLO-seg only: one sub-folder of images/ (default: all).

    Returns:
        The `Dataset` (boxes xyxy pixels, masks rasterised on demand).
    """
    try:
        format = DatasetFormat(format)
    except ValueError:
        raise ValueError(
            f"unknown dataset format {format!r}; use one of {[f.value for f in DatasetFormat]}"
        ) from None
    path = Path(path)
    if not path.exists():
        raise ValueError(f"dataset path {path} does not exist")
    if format is DatasetFormat.COCO:
        from model.data.coco import read_coco

        return read_coco(path, images_dir)
    if format is DatasetFormat.YOLO_SEG:
        from model.data.yolo_seg import read_yolo_seg

        return read_yolo_seg(path, split)
    from model.data.label_studio import read_label_studio

    return read_label_studio(path, images_dir)
