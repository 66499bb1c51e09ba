"""Hand-made images and predict functions with known answers, for the evaluator tests."""

from __future__ import annotations

import numpy as np

from model.data import AnnotatedImage, Dataset, InstanceAnnotation

SIZE = 64


def make_image(
    image_id: int, instances: list[tuple[str, tuple]], categories: tuple[str, ...]
) -> AnnotatedImage:
    """An image whose pixels encode its id (so predict functions can tell queries apart) with box instances."""
    pixels = np.full((SIZE, SIZE, 3), image_id, np.uint8)
    annotations = tuple(
        InstanceAnnotation(categories.index(name), name, np.array(box, np.float32)) for name, box in instances
    )
    return AnnotatedImage(str(image_id), lambda: pixels, SIZE, SIZE, annotations)


def filled(box, size: int = SIZE) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    x1, y1, x2, y2 = (int(v) for v in box)
    mask[y1:y2, x1:x2] = True
    return mask


class Oracle:
    """A predict function that knows the answers: it looks up the reference box's category and returns
    `answers(image_id, category)` (default: the true instances, score 1). `identify(pixels) -> image_id` tells
    images apart (default: the pixel value `make_image` writes)."""

    def __init__(self, dataset: Dataset, answers=None, identify=None):
        self.dataset = dataset
        self.identify = identify or (lambda image: str(int(image[0, 0, 0])))
        self.by_box = {
            (image.image_id, tuple(np.round(a.box, 3))): a.category
            for image in dataset.images
            for a in image.instances
        }
        self.answers = answers or self.truth
        self.calls: list[tuple] = []

    def truth(self, image_id: str, category: str):
        image = next(i for i in self.dataset.images if i.image_id == image_id)
        return [
            (a.box, 1.0, a.mask(image.height, image.width))
            for a in image.instances_of(self.dataset.category_id(category))
        ]

    def __call__(self, query_image, reference_image, reference_boxes):
        references = [reference_image] if isinstance(reference_image, np.ndarray) else list(reference_image)
        categories = {
            self.by_box[(self.identify(ref), tuple(np.round(box, 3)))]
            for ref, box in zip(references, reference_boxes, strict=True)
        }
        assert len(categories) == 1, "all K references are of one category"
        query_id = self.identify(query_image)
        self.calls.append((query_id, len(references), next(iter(categories))))
        return self.answers(query_id, next(iter(categories)))


def identify_by_content(dataset: Dataset):
    """`identify` for real images: a digest of the decoded pixels."""
    import hashlib

    digests = {
        hashlib.sha1(image.load_image().tobytes()).hexdigest(): image.image_id for image in dataset.images
    }
    return lambda pixels: digests[hashlib.sha1(np.ascontiguousarray(pixels).tobytes()).hexdigest()]
