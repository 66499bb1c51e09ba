"""Tiny two-label projects for the fine-tuning recipe's tests: yellow squares ("tile") and blue discs ("disc") on a
dark noisy background, with polygon masks (so the recipe can cut them out)."""

from __future__ import annotations

import numpy as np

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation

HEIGHT, WIDTH = 96, 128
TILE, DISC = (230, 200, 40), (40, 90, 230)
SIDE = 24
LABELS = ("tile", "disc")


def _square(label: str, cid: int, x: int, y: int) -> InstanceAnnotation:
    polygon = np.array([[x, y], [x + SIDE, y], [x + SIDE, y + SIDE], [x, y + SIDE]], np.float32)
    return InstanceAnnotation(category_id=cid, category=label, box=np.array([x, y, x + SIDE, y + SIDE], np.float32),
                              polygons=(polygon,))


def project_image(seed: int, tiles: int = 3, discs: int = 1, *, background=None, tile_colour=TILE,
                  disc_colour=DISC, group: str | None = None) -> AnnotatedImage:
    """`tiles` squares then `discs` squares of the second label (drawn as filled squares too: exact masks), in a
    row; `background`: an RGB colour instead of dark noise; `group`: the image's group (its video)."""
    rng = np.random.default_rng(seed)
    if background is None:
        image = rng.integers(0, 40, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    else:
        image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        image[:] = background
    instances = []
    for i in range(tiles + discs):
        x, y = 4 + 30 * i, 10 + 40 * (i % 2)
        label, cid, colour = ("tile", 0, tile_colour) if i < tiles else ("disc", 1, disc_colour)
        image[y : y + SIDE, x : x + SIDE] = colour
        instances.append(_square(label, cid, x, y))
    return AnnotatedImage(image_id=f"img-{seed}", source=lambda: image, height=HEIGHT, width=WIDTH,
                          instances=tuple(instances), group=group)


def project(count: int, **options) -> Dataset:
    return Dataset(LABELS, tuple(project_image(s, **options) for s in range(count)), "project")
