"""`python -m model predict|inspect` end to end, as a user runs them (subprocesses)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_predict_on_a_real_photo_with_the_mobile_preset(coco128_dir, shared_dir, tmp_path):
    """The untrained head gives meaningless boxes; the point is that the whole path works on a real photo."""
    cache = Path.home() / ".keras" / "models"
    cache.mkdir(parents=True, exist_ok=True)
    for f in (shared_dir / "weights").glob("*.h5"):
        if not (cache / f.name).exists():
            (cache / f.name).write_bytes(f.read_bytes())
    image = sorted((coco128_dir / "images").rglob("*.jpg"))[0]
    out_json, out_png = tmp_path / "out.json", tmp_path / "overlay.png"
    result = run_cli("predict", "--preset", "mobile", "--image", str(image), "--ref-box", "100,100,120,80",
                     "--score-threshold", "0", "--json", str(out_json), "--overlay", str(out_png))
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(out_json.read_text())
    width, height = Image.open(image).size
    assert payload["image_size"] == {"width": width, "height": height}
    assert payload["model_version"] == "mobile-untrained"
    for inst in payload["instances"]:
        x1, y1, x2, y2 = inst["box_xyxy"]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height and 0 <= inst["score"] <= 1
    assert Image.open(out_png).size == (width, height)


def test_predict_refuses_a_reference_outside_the_image(tmp_path):
    image = tmp_path / "img.png"
    Image.new("RGB", (64, 48)).save(image)
    result = run_cli("predict", "--preset", "tiny", "--image", str(image), "--ref-box", "500,500,10,10")
    assert result.returncode == 2
    assert "outside" in result.stderr


def test_predict_refuses_a_malformed_box():
    result = run_cli("predict", "--preset", "tiny", "--image", "x.png", "--ref-box", "1,2,3")
    assert result.returncode == 2 and "x,y,w,h" in result.stderr


@pytest.mark.slow
def test_convert_then_predict_with_a_paper_layout_file(tmp_path):
    """A file in the paper's Keras-2 layout converts once into our format, which then serves predictions."""
    from paper_h5 import paper_arrays, random_weights, write_paper_h5

    paper = tmp_path / "small_siamese_mrcnn_0160.h5"
    write_paper_h5(paper, random_weights(paper_arrays("paper-small")))
    converted = tmp_path / "paper-small.weights.h5"
    result = run_cli("convert", str(paper), "--out", str(converted))
    assert result.returncode == 0, result.stderr[-2000:]
    assert converted.exists() and converted.with_name("paper-small.card.json").exists()
    image = tmp_path / "img.png"
    Image.new("RGB", (64, 48), (90, 20, 20)).save(image)
    result = run_cli("predict", "--checkpoint", str(converted), "--image", str(image), "--ref-box", "5,5,20,20")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["image_size"] == {"width": 64, "height": 48}


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_unknown_held_out_class_is_refused(coco128_dir, command, tmp_path):
    extra = ["--out", str(tmp_path / "run")] if command == "train" else ["--baseline", "--json", str(tmp_path / "r.json")]
    result = run_cli(command, "--data", str(coco128_dir), "--format", "yolo-seg", "--held-out", "unicorn", *extra)
    assert result.returncode == 2
    assert "['unicorn'] are not categories" in result.stderr


def _write_yolo_seg(root: Path) -> None:
    """Two 96x128 images, each with two squares of class `box` (a polygon per square)."""
    import numpy as np

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("box\nother\n")
    for index, (x, y) in enumerate([(10, 10), (60, 40)]):
        image = np.full((96, 128, 3), 30, np.uint8)
        image[y : y + 30, x : x + 30] = (230, 200, 40)
        image[50:80, 90:120] = (230, 200, 40)
        Image.fromarray(image).save(root / "images" / f"im{index}.png")
        lines = []
        for bx, by in [(x, y), (90, 50)]:
            corners = [(bx, by), (bx + 30, by), (bx + 30, by + 30), (bx, by + 30)]
            lines.append("0 " + " ".join(f"{px / 128:.4f} {py / 96:.4f}" for px, py in corners))
        (root / "labels" / f"im{index}.txt").write_text("\n".join(lines) + "\n")


def test_train_set_changes_a_preset_field_and_the_card_keeps_it(tmp_path):
    data = tmp_path / "data"
    _write_yolo_seg(data)
    out = tmp_path / "run"
    result = run_cli("train", "--data", str(data), "--format", "yolo-seg", "--held-out", "other", "--preset", "tiny",
                     "--set", "matching_inputs=distance_product", "--set", "detection_min_confidence=0.3",
                     "--steps", "2", "--synthetic", "0.5", "--scene", "photo_texture_fraction=0.5", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    card = json.loads((out / "model.card.json").read_text())
    assert card["training"]["scene_settings"] == {"photo_texture_fraction": 0.5}
    assert card["config"]["matching_inputs"] == "distance_product"
    assert card["config"]["detection_min_confidence"] == 0.3
    result = run_cli("predict", "--checkpoint", str(out / "model.weights.h5"), "--image",
                     str(data / "images" / "im0.png"), "--ref-box", "10,10,30,30")
    assert result.returncode == 0, result.stderr[-2000:]


def test_train_set_refuses_a_malformed_or_unknown_field(tmp_path):
    result = run_cli("train", "--data", str(tmp_path), "--format", "yolo-seg", "--set", "oops", "--out",
                     str(tmp_path / "run"))
    assert result.returncode == 2 and "FIELD=VALUE" in result.stderr


def test_train_scene_refuses_an_unknown_scene_setting(tmp_path):
    data = tmp_path / "data"
    _write_yolo_seg(data)
    result = run_cli("train", "--data", str(data), "--format", "yolo-seg", "--held-out", "other", "--preset", "tiny",
                     "--synthetic", "0.5", "--scene", "photo=1", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "unknown scene setting 'photo'" in result.stderr


def test_several_splits_hold_out_their_union(coco128_dir):
    from model.cli import build_parser
    from model.cli.arguments import dataset_and_split
    from model.data.splits import paper_split

    args = build_parser().parse_args(
        ["evaluate", "--data", str(coco128_dir), "--format", "yolo-seg", "--split", "1", "2", "--json", "r.json"]
    )
    _, split = dataset_and_split(args)
    assert split.held_out == paper_split(1).held_out | paper_split(2).held_out
    assert len(split.held_out) == 40 and split.name == "coco-split-1+coco-split-2"
