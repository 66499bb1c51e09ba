"""Real test images from coco128-seg (YOLO segmentation labels) with their instances in pixels.

The scenarios need images with several instances of one class, so that one reference box has others to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

IMAGES_SUBDIR = Path("images/train2017")
LABELS_SUBDIR = Path("labels/train2017")
CLASSES_FILE = "classes.txt"


@dataclass(frozen=True)
class Instance:
    label: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return (x2 - x1) * (y2 - y1)


@dataclass(frozen=True)
class CocoImage:
    path: Path
    width: int
    height: int
    instances: tuple[Instance, ...]

    def of(self, label: str) -> list[Instance]:
        return [inst for inst in self.instances if inst.label == label]

    def largest(self, label: str) -> Instance:
        return max(self.of(label), key=lambda inst: inst.area)


def class_names(root: Path) -> list[str]:
    return [line.strip() for line in (root / CLASSES_FILE).read_text().splitlines() if line.strip()]


def load_image(root: Path, stem: str) -> CocoImage:
    path = root / IMAGES_SUBDIR / f"{stem}.jpg"
    with Image.open(path) as img:
        width, height = img.size
    names = class_names(root)
    instances = []
    for line in (root / LABELS_SUBDIR / f"{stem}.txt").read_text().splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        coords = [float(v) for v in fields[1:]]
        xs = [x * width for x in coords[0::2]]
        ys = [y * height for y in coords[1::2]]
        instances.append(Instance(names[int(fields[0])], (min(xs), min(ys), max(xs), max(ys))))
    return CocoImage(path, width, height, tuple(instances))


def images_with_several(
    root: Path, label: str, count: int, min_instances: int = 3, min_area_fraction: float = 0.005
) -> list[CocoImage]:
    """The first `count` images (by file name) with at least `min_instances` clearly visible `label` instances."""
    chosen = []
    for labels_file in sorted((root / LABELS_SUBDIR).glob("*.txt")):
        image = load_image(root, labels_file.stem)
        big = [
            inst for inst in image.of(label) if inst.area >= min_area_fraction * image.width * image.height
        ]
        if len(big) >= min_instances:
            chosen.append(image)
        if len(chosen) == count:
            return chosen
    raise LookupError(f"fewer than {count} images in {root} with {min_instances}+ visible '{label}' instances")


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
