"""Reader for YOLO segmentation folders (Ultralytics layout, as `../shared/data/coco128-seg`).

Layout: `<root>/classes.txt` (one name a line, line number = class index; or, without it, an Ultralytics
`<root>/*.yaml` with `names` as a list or an index -> name mapping), `<root>/images/<split>/<stem>.<ext>` and
`<root>/labels/<split>/<stem>.txt`; the flat layout `<root>/images/*`, `<root>/labels/*.txt` works too. A label line
is `class x1 y1 x2 y2 ...` (polygon vertices normalised to [0, 1]) or `class cx cy w h` (a box, normalised).
Images without a label file are kept as negatives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.images import IMAGE_SUFFIXES, image_size

__all__ = ["read_yolo_seg"]

CLASSES_FILE = "classes.txt"
_BOX_LINE_VALUES = 5


def read_yolo_seg(root: str | Path, split: str | None = None) -> Dataset:
    """Read a YOLO-seg folder.

    Args:
        root: the folder holding `classes.txt`, `images/` and `labels/`.
        split: sub-folder of `images/` (e.g. "train2017"); None reads every split (or the flat layout).

    Returns:
        A `Dataset` with polygons scaled to pixels (x * width, y * height) and boxes = polygon bounds.
    """
    root = Path(root)
    names = _class_names(root)
    images_root = root / "images"
    if not images_root.is_dir():
        raise ValueError(
            f"{images_root} not found: expected <root>/images/<split>/*.jpg and <root>/labels/<split>/*.txt"
        )
    image_dirs = [images_root / split] if split else _split_dirs(images_root)

    images: list[AnnotatedImage] = []
    for image_dir in image_dirs:
        if not image_dir.is_dir():
            raise ValueError(
                f"{image_dir} not found; splits present: {[p.name for p in _split_dirs(images_root)]}"
            )
        label_dir = root / "labels" / image_dir.relative_to(images_root)
        for path in sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            height, width = image_size(path)
            label_path = label_dir / f"{path.stem}.txt"
            instances = _read_label_file(label_path, names, height, width) if label_path.is_file() else ()
            image_id = str(path.relative_to(images_root).with_suffix(""))
            images.append(AnnotatedImage(image_id, path, height, width, instances))
    return Dataset(categories=names, images=tuple(images), name=str(root))


def _class_names(root: Path) -> tuple[str, ...]:
    classes_path = root / CLASSES_FILE
    if classes_path.is_file():
        return tuple(line.strip() for line in classes_path.read_text().splitlines() if line.strip())
    for yaml_path in sorted(root.glob("*.yaml")):
        import yaml

        names = (yaml.safe_load(yaml_path.read_text()) or {}).get("names")
        if isinstance(names, dict):
            indices = sorted(int(k) for k in names)
            if indices != list(range(len(indices))):
                raise ValueError(f"{yaml_path}: `names` indices must be 0..N-1 without gaps, got {indices}")
            return tuple(str(names[k]) for k in sorted(names, key=int))
        if isinstance(names, list):
            return tuple(str(n) for n in names)
    raise ValueError(
        f"{classes_path} not found (nor a *.yaml with `names`): a YOLO-seg folder needs classes.txt with one class "
        "name a line, or the Ultralytics data.yaml."
    )


def _split_dirs(images_root: Path) -> list[Path]:
    subdirs = sorted(p for p in images_root.iterdir() if p.is_dir())
    return subdirs or [images_root]


def _read_label_file(
    path: Path, names: tuple[str, ...], height: int, width: int
) -> tuple[InstanceAnnotation, ...]:
    instances = []
    scale = np.array([width, height], dtype=np.float32)
    for line_number, line in enumerate(path.read_text().splitlines(), start=1):
        values = line.split()
        if not values:
            continue
        where = f"{path}:{line_number}"
        try:
            cid = int(values[0])
            coords = np.array(values[1:], dtype=np.float32)
        except ValueError:
            raise ValueError(
                f"{where}: expected 'class x1 y1 x2 y2 ...' with numbers, got {line[:60]!r}"
            ) from None
        if not 0 <= cid < len(names):
            raise ValueError(f"{where}: class index {cid} outside classes.txt (0..{len(names) - 1})")
        if len(values) == _BOX_LINE_VALUES:
            cx, cy, w, h = coords * np.array([width, height, width, height], dtype=np.float32)
            box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float32)
            instances.append(InstanceAnnotation(cid, names[cid], box))
            continue
        if coords.size < 6 or coords.size % 2:
            raise ValueError(
                f"{where}: a polygon needs an even number (>= 6) of coordinates, got {coords.size}"
            )
        polygon = coords.reshape(-1, 2) * scale
        box = np.array([*polygon.min(axis=0), *polygon.max(axis=0)], dtype=np.float32)
        instances.append(InstanceAnnotation(cid, names[cid], box, polygons=(polygon,)))
    return tuple(instances)
