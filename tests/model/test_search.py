"""Visual search over a folder the test writes: ranking, JSON, contact sheet, and broken files skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from model.search import parse_xywh_box, search

SIZE = 48


def _write_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, red in (("a.png", 40), ("b.png", 200), ("c.jpg", 120)):
        pixels = np.zeros((SIZE, SIZE + 16, 3), np.uint8)
        pixels[8:24, 8:24, 0] = red
        Image.fromarray(pixels).save(folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff this is not really a jpeg")
    (folder / "notes.txt").write_text("not an image, not reported")
    return folder


@dataclass
class _Instance:
    box: np.ndarray
    score: float
    mask: np.ndarray


class _RednessPredictor:
    """Scores the red square of each image by its redness: a stand-in with a known ranking."""

    version = "stand-in"

    def encode_references(self, image, boxes):
        if boxes[0, 2] <= boxes[0, 0]:
            raise ValueError(f"empty reference box {boxes[0]}")
        return boxes

    def encode_image(self, image):
        return image

    def find(self, query, reference, score_threshold=0.0, max_instances=None):
        mask = np.zeros(query.shape[:2], bool)
        mask[8:24, 8:24] = True
        score = float(query[8:24, 8:24, 0].mean()) / 255
        return (
            [_Instance(np.array([8, 8, 24, 24], np.float32), score, mask)] if score >= score_threshold else []
        )


def test_search_ranks_reports_and_skips_broken_images(tmp_path):
    folder = _write_folder(tmp_path)
    reference = np.zeros((SIZE, SIZE, 3), np.uint8)
    result = search(_RednessPredictor(), reference, [8, 8, 24, 24], folder, top_k=2, out_dir=tmp_path / "out")

    assert [h.path.name for h in result.hits] == ["b.png", "c.jpg", "a.png"]
    assert [p.name for p, _ in result.skipped] == ["broken.jpg"]
    data = json.loads(result.results_json.read_text())
    assert [r["path"].rsplit("/", 1)[-1] for r in data["ranked"]] == ["b.png", "c.jpg", "a.png"]
    assert data["ranked"][0]["instances"][0]["box"] == [8.0, 8.0, 24.0, 24.0]
    assert data["ranked"][0]["instances"][0]["mask"]["size"] == [SIZE, SIZE + 16]
    assert data["skipped"][0]["path"].endswith("broken.jpg") and data["skipped"][0]["error"]
    with Image.open(result.contact_sheet) as sheet:
        assert sheet.format == "PNG" and sheet.width >= 3 * 48


def test_search_with_a_threshold_keeps_images_without_matches_at_score_zero(tmp_path):
    folder = _write_folder(tmp_path)
    result = search(
        _RednessPredictor(), np.zeros((SIZE, SIZE, 3), np.uint8), [8, 8, 24, 24], folder, out_dir=tmp_path / "o",
        score_threshold=0.5, progress=False,
    )  # fmt: skip
    assert [(h.path.name, h.best_score > 0) for h in result.hits] == [
        ("b.png", True),
        ("a.png", False),
        ("c.jpg", False),
    ]


def test_bad_reference_fails_before_searching(tmp_path):
    folder = _write_folder(tmp_path)
    with pytest.raises(ValueError, match="empty reference box"):
        search(
            _RednessPredictor(),
            np.zeros((SIZE, SIZE, 3), np.uint8),
            [8, 8, 8, 24],
            folder,
            out_dir=tmp_path / "o",
        )
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="not a folder"):
        search(_RednessPredictor(), np.zeros((SIZE, SIZE, 3), np.uint8), [8, 8, 24, 24], tmp_path / "nope")


def test_parse_xywh_box():
    np.testing.assert_array_equal(parse_xywh_box("10,20,30,40"), [10, 20, 40, 60])
    with pytest.raises(ValueError, match="x,y,w,h"):
        parse_xywh_box("10,20,30")
    with pytest.raises(ValueError, match="positive"):
        parse_xywh_box("10,20,0,40")


@pytest.mark.slow
def test_search_end_to_end_with_the_tiny_predictor(tmp_path):
    predictor_module = pytest.importorskip("model.predictor", reason="model/predictor.py has not landed yet")
    predictor = predictor_module.Predictor.from_preset("tiny")
    folder = _write_folder(tmp_path)
    reference = folder / "b.png"
    result = search(
        predictor, reference, [8, 8, 24, 24], folder, top_k=3, out_dir=tmp_path / "out", score_threshold=0.0
    )
    assert len(result.hits) == 3 and [p.name for p, _ in result.skipped] == ["broken.jpg"]
    scores = [h.best_score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    data = json.loads(result.results_json.read_text())
    assert data["predictor_version"] == predictor.version and len(data["ranked"]) == 3
    assert result.contact_sheet.stat().st_size > 0


def test_search_with_several_reference_boxes_encodes_them_together(tmp_path):
    """K-shot: all boxes reach `encode_references` in one call (averaged there) and are reported."""
    folder = _write_folder(tmp_path)
    seen = []

    class Recording(_RednessPredictor):
        def encode_references(self, image, boxes):
            seen.append(np.array(boxes))
            return super().encode_references(image, boxes)

    boxes = [[8, 8, 24, 24], [30, 8, 46, 24]]
    result = search(Recording(), np.zeros((SIZE, SIZE, 3), np.uint8), boxes, folder, out_dir=tmp_path / "out",
                    progress=False)
    assert len(seen) == 1 and seen[0].shape == (2, 4)
    data = json.loads(result.results_json.read_text())
    assert data["reference"]["boxes_xyxy"] == boxes and data["reference"]["box_xyxy"] == boxes[0]
