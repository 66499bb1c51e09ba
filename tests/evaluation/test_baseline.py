"""The colour-histogram baseline finds same-coloured, same-sized squares and nothing about objects."""

from __future__ import annotations

import numpy as np

from model.evaluation import ColourHistogramBaseline
from model.evaluation.matching import match_query

RED, BLUE, GRAY = (220, 30, 30), (30, 30, 220), (128, 128, 128)


def _canvas(squares: list[tuple[tuple, tuple]], size: int = 96) -> np.ndarray:
    image = np.full((size, size, 3), GRAY, np.uint8)
    for (x1, y1, x2, y2), colour in squares:
        image[y1:y2, x1:x2] = colour
    return image


def test_baseline_ranks_same_colour_windows_first():
    reference = _canvas([((10, 10, 26, 26), RED)])
    red_boxes = [(8, 8, 24, 24), (56, 60, 72, 76)]
    query = _canvas([(red_boxes[0], RED), (red_boxes[1], RED), ((56, 8, 72, 24), BLUE)])
    predictions = ColourHistogramBaseline(stride_fraction=0.25, scales=(1.0,), max_instances=5)(
        query, reference, np.array([[10, 10, 26, 26]], np.float32)
    )
    assert len(predictions) == 5
    top_two = np.array([p.box for p in predictions[:2]])
    outcome = match_query(top_two, [p.score for p in predictions[:2]], np.array(red_boxes, np.float32))
    assert outcome.recall == 1.0, f"top two windows should be the red squares, got {top_two}"
    assert predictions[0].score > 0.9 and predictions[-1].score < 0.5
    first = predictions[0]
    assert first.mask.shape == (96, 96) and first.mask.sum() == 16 * 16, "masks are the filled boxes"


def test_baseline_accepts_k_references_from_k_images():
    references = [_canvas([((0, 0, 16, 16), RED)]), _canvas([((40, 40, 60, 60), RED)])]
    boxes = np.array([[0, 0, 16, 16], [40, 40, 60, 60]], np.float32)
    predictions = ColourHistogramBaseline(max_instances=3)(
        _canvas([((30, 30, 48, 48), RED)]), references, boxes
    )
    assert len(predictions) == 3
    assert predictions[0].score >= predictions[1].score >= predictions[2].score
