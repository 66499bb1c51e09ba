"""`python -m model finetune` end to end on a tiny accepted set written here (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from project_scenes import LABELS, project

from model.checkpoint import ModelCard, read_card, save_checkpoint

REPO = Path(__file__).resolve().parents[2]


def _write_coco(root: Path, count: int) -> Path:
    """The two-label project of `project_scenes` as PNGs in `root/images/` and `root/annotations.json`, its images
    from videos 1, 1, 2, 2, 3, ... (COCO's `video_id`)."""
    (root / "images").mkdir(parents=True)
    entries, annotations = [], []
    for index, image in enumerate(project(count).images):
        name = f"{image.image_id}.png"
        Image.fromarray(image.load_image()).save(root / "images" / name)
        entries.append({"id": index + 1, "file_name": name, "height": image.height, "width": image.width,
                        "video_id": 1 + index // 2})
        for a in image.instances:
            x1, y1, x2, y2 = a.box.tolist()
            annotations.append({"id": len(annotations) + 1, "image_id": index + 1, "category_id": a.category_id + 1,
                                "iscrowd": 0, "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]]})
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": entries, "annotations": annotations,
                                "categories": [{"id": i + 1, "name": n} for i, n in enumerate(LABELS)]}))
    return path


@pytest.mark.slow
def test_finetune_cli_writes_a_checkpoint_whose_card_holds_held_out_effort_and_threshold(tiny_model, tmp_path):
    parent = tmp_path / "parent.weights.h5"
    save_checkpoint(tiny_model, parent, ModelCard(version="tiny-v1", preset="tiny", config={}))
    data = _write_coco(tmp_path / "accepted", 5)
    out = tmp_path / "child"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "model", "finetune", "--init", str(parent), "--data", str(data),
                             "--format", "coco", "--images-dir", str(data.parent / "images"), "--out", str(out),
                             "--steps", "3", "--time-budget-minutes", "2", "--no-shifted-calibration",
                             "--acquisition-shift", "--no-refit", "--tie-break", "highest", "--drawn-bank", "held-out"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    card = read_card(out / "model.weights.h5")
    assert card.version == summary["version"] == "tiny-v1-child" and card.parent == "tiny-v1"
    assert card.training["steps"] == summary["steps"] == 3 and card.training["holdout_images"] == 1
    assert summary["holdout_split"] == card.training["holdout_split"] == {
        "train_images": 4, "holdout_images": 1, "groups": 3, "holdout_groups": 1, "disjoint": True}, (
        "video 3 (one image) is judged")
    assert card.training["settings"]["max_steps"] == 3 and card.training["settings"]["time_budget_s"] == 120
    threshold = card.training["score_threshold"]["value"]
    assert card.config["detection_min_confidence"] == threshold == card.metrics["holdout"]["new"]["threshold"]
    assert card.training["settings"]["shifted_calibration"] is False  # --no-shifted-calibration
    assert card.training["settings"]["tie_break"] == "highest" == card.metrics["calibration"]["tie_break"]
    assert card.training["settings"]["acquisition_shift"] is True  # --acquisition-shift
    assert card.training["settings"]["refit"] is False and card.training["refit"] is None  # --no-refit
    assert summary["refit"] is None
    assert summary["score_threshold"] == {"value": threshold, "chosen": "calibrated on the held-out slice"}
    assert card.metrics["holdout"]["new"]["effort"] >= 0 and card.metrics["holdout"]["parent"]["effort"] >= 0
    assert summary["gate"]["reason"].startswith("held-out effort")
    # what the version will do in batch pre-annotation and with objects cut by the frame, as its card says
    assert summary["bank_answers"] == card.training["bank_answers"]
    assert summary["frame_convention"] == card.training["frame_convention"] and "why" in summary["frame_convention"]
    assert card.config["detection_skip_border"] is summary["frame_convention"]["skip"]
    # --drawn-bank held-out: the held-out slice decided whether the drawn label's exemplars join a drawn box's answer
    assert card.training["settings"]["drawn_bank"] == "held-out" and summary["drawn_bank"] == card.training["drawn_bank"]
    assert card.config["detection_drawn_bank"] is summary["drawn_bank"]["value"]
    assert "holdout_effort" in summary["drawn_bank"] or "no held-out image" in summary["drawn_bank"]["why"]
    assert summary["verifier"] == card.training["verifier"]
    assert bool(card.config["detection_verifier"]) is summary["verifier"]["value"]
    # the other labels' claims: the recipe's value (CHILD_LABEL_CLAIMS), printed as the card records it
    assert summary["label_claims"] == card.training["label_claims"]
    assert card.config["detection_label_claims"] is summary["label_claims"]["value"] is False
