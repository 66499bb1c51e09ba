"""Helpers of the learning tests: synthetic tile images and Label Studio webhook bodies (imported by name)."""

from __future__ import annotations

import numpy as np

LABEL_CONFIG = ('<View><Image name="image" value="$image"/>'
                '<RectangleLabels name="box" toName="image" smart="true"><Label value="Tile"/></RectangleLabels>'
                '<BrushLabels name="mask" toName="image"><Label value="Tile"/></BrushLabels></View>')
IMAGE_SIZE = (96, 128)  # H, W of the synthetic images
TILE = 24


def tile_positions(seed: int) -> list[tuple[int, int]]:
    """Top-left corners of the three tiles of synthetic image `seed`."""
    return [(8 + 38 * i, 10 + 20 * ((i + seed) % 2)) for i in range(3)]


def tile_image(seed: int) -> np.ndarray:
    """A dark noisy image with three yellow tiles (the objects to learn)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (*IMAGE_SIZE, 3), dtype=np.uint8)
    for x, y in tile_positions(seed):
        image[y:y + TILE, x:x + TILE] = (230, 200, 40)
    return image


def rectangle(x: float, y: float, w: float, h: float, label: str = "Tile", region_id: str = "r") -> dict:
    height, width = IMAGE_SIZE
    return {"id": region_id, "type": "rectanglelabels", "from_name": "box", "to_name": "image",
            "original_width": width, "original_height": height, "image_rotation": 0,
            "value": {"x": 100 * x / width, "y": 100 * y / height, "width": 100 * w / width,
                      "height": 100 * h / height, "rotation": 0, "rectanglelabels": [label]}}


def tile_result(seed: int) -> list[dict]:
    return [rectangle(x, y, TILE, TILE, region_id=f"t{seed}-{i}") for i, (x, y) in enumerate(tile_positions(seed))]


def annotation_event(action: str, annotation_id: int, task_id: int, result: list[dict], updated_at: str,
                     image_url: str | None = None, project_id: int = 1, **annotation_fields) -> dict:
    """A Label Studio ANNOTATION_CREATED/UPDATED webhook body (the fields the plugin reads, as LS sends them)."""
    annotation = {"id": annotation_id, "result": result, "was_cancelled": False, "ground_truth": False,
                  "created_at": "2026-11-21T10:00:00.000000Z", "updated_at": updated_at, "task": task_id,
                  "project": project_id} | annotation_fields
    return {"action": action, "annotation": annotation,
            "task": {"id": task_id, "data": {"image": image_url or f"/data/local-files/?d=images/t{task_id}.png"}},
            "project": {"id": project_id, "label_config": LABEL_CONFIG}}


def stamp(second: int) -> str:
    return f"2026-11-21T10:00:{second:02d}.000000Z"
