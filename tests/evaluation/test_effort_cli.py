"""`python -m model effort` end to end on a tiny set written here, as a user runs it (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from effort_scenes import UPRIGHT, write_coco_set
from PIL import Image

from common.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def run_effort(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "model", "effort", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    return write_coco_set(tmp_path_factory.mktemp("tiny-set"))


def test_template_baseline_sweep_with_json_and_overlays(tiny_set, tmp_path):
    out, overlays = tmp_path / "effort.json", tmp_path / "overlays"
    result = run_effort("--baseline", "template", "--data", str(tiny_set), "--format", "coco", "--images-dir",
                        str(tiny_set.parent / "images"), "--classes", "all", "--seeds", "2",
                        "--threshold", "0.8,0.3", "--json", str(out), "--overlays", str(overlays))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "effort" in result.stdout and "threshold 0.8" in result.stdout and "n/a" in result.stdout
    report = json.loads(out.read_text())
    assert report["answerer"] == "template-ncc" and report["images"] == 2 and len(report["trials"]) == 4
    strict, loose = report["rows"]
    assert (strict["threshold"], loose["threshold"]) == (0.8, 0.3)
    instances = 2 * 2 * (len(UPRIGHT) + 1)
    assert strict["instances"] == instances and strict["references"] == 4
    assert strict["recall"] == 1.0 and strict["precision"] == 1.0  # exact copies, upright and turned
    assert strict["effort"] == strict["floor"] == round(4 / instances, 4)
    assert loose["suggestions"] >= strict["suggestions"] and strict["mean_mask_iou"] is None
    pngs = sorted(overlays.glob("*.png"))
    assert [p.name for p in pngs] == ["1_tag_seed0.png", "1_tag_seed1.png", "2_tag_seed0.png", "2_tag_seed1.png"]
    assert Image.open(pngs[0]).size == (256, 192)


def test_the_model_as_the_worker_runs_it(tiny_set, tmp_path):
    out = tmp_path / "effort.json"
    result = run_effort("--preset", "tiny", "--data", str(tiny_set), "--format", "coco", "--images-dir",
                        str(tiny_set.parent / "images"), "--classes", "all", "--limit", "1",
                        "--threshold", "0,0.5", "--precision", "float32", "--json", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["answerer"] == "tiny-untrained"
    assert report["service_settings"]["max_instances"] == Settings().max_instances  # the service's cap
    assert report["service_settings"]["precision"] == "float32"
    everything = report["rows"][0]
    assert everything["trials"] == 1 and everything["suggestions"] > 0  # threshold 0: the untrained net answers
    assert everything["mean_mask_iou"] is None or 0 <= everything["mean_mask_iou"] <= 1
    assert everything["seconds_median"] > 0
    # The size prior, changed from the command line, only lowers scores: fewer suggestions at the same threshold.
    out_prior = tmp_path / "effort-prior.json"
    result = run_effort("--preset", "tiny", "--data", str(tiny_set), "--format", "coco", "--classes", "all",
                        "--limit", "1", "--threshold", "0.3", "--precision", "float32", "--json", str(out_prior),
                        "--set", "detection_size_tolerance=1.0", "--set", "detection_size_falloff=0.05")
    assert result.returncode == 0, result.stderr[-2000:]
    prior = json.loads(out_prior.read_text())
    assert prior["config_changes"] == {"detection_size_tolerance": 1.0, "detection_size_falloff": 0.05}
    assert prior["rows"][0]["suggestions"] <= everything["suggestions"]


def test_errors_say_how_to_fix_them(tiny_set, tmp_path):
    elsewhere = tmp_path / "annotations.json"  # neither beside the images nor above an images/ folder
    elsewhere.write_text(tiny_set.read_text())
    result = run_effort("--baseline", "template", "--data", str(elsewhere), "--format", "coco", "--classes", "all")
    assert result.returncode == 2 and "--images-dir" in result.stderr
    result = run_effort("--baseline", "template", "--data", str(tiny_set), "--format", "coco")
    assert result.returncode == 2 and "--split N" in result.stderr  # held-out classes of no split
    result = run_effort("--baseline", "template", "--data", str(tiny_set), "--format", "coco", "--threshold", "2")
    assert result.returncode == 2 and "[0, 1]" in result.stderr


@pytest.mark.slow
def test_template_baseline_on_coco128_held_out_classes(coco128_dir, tmp_path):
    out = tmp_path / "effort.json"
    result = run_effort("--baseline", "template", "--data", str(coco128_dir), "--format", "yolo-seg", "--split", "1",
                        "--classes", "held-out", "--limit", "2", "--json", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["split"] == "coco-split-1" and report["images"] == 2
    assert "person" in report["classes"] and "car" not in report["classes"]  # split 1 holds out person, not car
    row = report["rows"][0]
    assert row["instances"] > row["references"] > 0 and row["effort"] >= row["floor"]


def test_the_bank_mode_answers_without_a_reference(tiny_set, tmp_path):
    out = tmp_path / "bank.json"
    result = run_effort("--preset", "tiny", "--data", str(tiny_set), "--format", "coco", "--images-dir",
                        str(tiny_set.parent / "images"), "--classes", "all", "--bank", str(tiny_set),
                        "--threshold", "0,0.5", "--precision", "float32", "--json", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert "bank of 2 exemplars" in report["answerer"]  # one per image of the label
    assert [t["reference_index"] for t in report["trials"]] == [None, None]  # (image, label) trials, none drawn
    row = report["rows"][0]
    assert row["references"] == 0 and row["effort"] == row["errors_per_instance"]


def test_the_other_labels_claims_need_the_models_option_and_are_reported(tiny_set, tmp_path):
    common = ("--preset", "tiny", "--data", str(tiny_set), "--format", "coco", "--images-dir",
              str(tiny_set.parent / "images"), "--classes", "all", "--claims", str(tiny_set), "--limit", "1",
              "--threshold", "0,0.5", "--precision", "float32")
    refused = run_effort(*common)
    assert refused.returncode != 0 and "--set detection_label_claims=true" in refused.stderr
    both = run_effort(*common, "--bank", str(tiny_set))
    assert both.returncode != 0 and "give one of them" in both.stderr
    out = tmp_path / "claims.json"
    result = run_effort(*common, "--set", "detection_label_claims=true", "--json", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["claims"] == {"tag": 2}  # the set's one label: it never claims its own drawn boxes
    assert report["config_changes"] == {"detection_label_claims": True}
    assert report["rows"][0]["references"] > 0
    joined = run_effort(*common, "--set", "detection_drawn_bank=true", "--json", str(out))
    assert joined.returncode == 0, joined.stderr[-2000:]
    assert json.loads(out.read_text())["config_changes"] == {"detection_drawn_bank": True}
