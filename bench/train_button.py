"""Time from Label Studio's Train button to a new active model version, measured on the real service.

Starts what `python -m stack` starts (an embedded Redis, the gunicorn backend, one `python -m worker` process on the
shipped checkpoint; `bench.service`), annotates a project of N real coco128-seg images through
`ANNOTATION_CREATED` webhooks (polygons of the ground truth, as Label Studio sends them), then posts Label Studio's
`START_TRAINING` webhook body and measures, with the service's default fine-tuning settings:
- until the job is finished (image fetching, fine-tuning, held-out evaluation, writing the version);
- until `/setup` reports the new version (what makes Label Studio re-predict), when it was activated;
- the time spent in each stage, from the job's progress reports ("training" includes evaluating the new version:
  the job reports that stage only with its last step).

    python -m bench.train_button                        # 20 images, default budget; ~3-6 min on 2 CPU cores
    python -m bench.train_button --images 6 --set TRAIN_MAX_STEPS=10   # a smoke run

Writes `<out>/train_button.json` and `train_button.md` (default out: bench/results/).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.learning_curve import COCO128_CLASSES, COCO128_DIR
from bench.publish import RESULTS_DIR, publish_run
from bench.service import BenchService, running_service, worker_precision
from common.settings import MODEL_PRECISIONS
from worker.runtime import DEFAULT_CHECKPOINT

__all__ = ["annotation_event", "label_config", "markdown", "measure", "project_images"]

LABELS = COCO128_CLASSES
"""The project's labels: the coco128 classes of the learning curve (many instances each)."""
DEFAULT_IMAGES = 20
PROJECT_ID = 1
JOB_TIMEOUT_S = 3600.0
POLL_S = 0.25


def label_config(labels: tuple[str, ...]) -> str:
    names = "".join(f'<Label value="{name}"/>' for name in labels)
    return (f'<View><Image name="image" value="$image"/><RectangleLabels name="box" toName="image" smart="true">'
            f'{names}</RectangleLabels><PolygonLabels name="poly" toName="image">{names}</PolygonLabels></View>')


def project_images(root: Path, labels: tuple[str, ...], count: int) -> list[tuple[str, list[dict]]]:
    """The first `count` images (sorted by file name) holding a label: (path relative to `root`, LS results)."""
    from model.data.loading import load_dataset

    dataset = load_dataset(root, "yolo-seg")
    wanted = {dataset.category_id(name): name for name in labels}
    chosen = []
    for image in sorted(dataset.images, key=lambda im: str(im.source)):
        results = []
        for index, instance in enumerate(image.instances):
            if instance.category_id not in wanted or not instance.polygons:
                continue
            polygon = max(instance.polygons, key=len)
            points = [[float(100 * x / image.width), float(100 * y / image.height)] for x, y in polygon]
            results.append({"id": f"r{index}", "type": "polygonlabels", "from_name": "poly", "to_name": "image",
                            "original_width": image.width, "original_height": image.height, "image_rotation": 0,
                            "value": {"points": points, "closed": True,
                                      "polygonlabels": [wanted[instance.category_id]]}})
        if results:
            chosen.append((str(Path(image.source).resolve().relative_to(root.resolve())), results))
        if len(chosen) == count:
            break
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} images of {root} hold one of {labels}")
    return chosen


def annotation_event(annotation_id: int, task_id: int, relative_path: str, results: list[dict], config: str) -> dict:
    """An ANNOTATION_CREATED body with the fields Label Studio 1.23 sends (tests/fixtures/ls/)."""
    stamp = f"2026-11-22T10:{annotation_id // 60:02d}:{annotation_id % 60:02d}.000000Z"
    return {"action": "ANNOTATION_CREATED",
            "annotation": {"id": annotation_id, "result": results, "was_cancelled": False, "ground_truth": False,
                           "created_at": stamp, "updated_at": stamp, "task": task_id, "project": PROJECT_ID},
            "task": {"id": task_id, "data": {"image": f"/data/local-files/?d={relative_path}"}},
            "project": {"id": PROJECT_ID, "label_config": config}}


def _follow_job(service: BenchService, job_id: str, started: float) -> tuple[dict, float, dict[str, float]]:
    """Poll `/jobs/<id>` until the job ends: its last status, seconds from `started`, and seconds per stage."""
    stages: dict[str, float] = {}
    last_stage, last_time = None, started
    while True:
        status = service.request("GET", f"/jobs/{job_id}").json()
        stage = (status.get("progress") or {}).get("stage")
        now = time.monotonic()
        if stage != last_stage:
            if last_stage is not None:
                stages[last_stage] = stages.get(last_stage, 0.0) + now - last_time
            last_stage, last_time = stage, now
        if status["status"] in ("finished", "failed"):
            break
        if now - started > JOB_TIMEOUT_S:
            raise SystemExit(f"job {job_id} still {status['status']} after {JOB_TIMEOUT_S} s")
        time.sleep(POLL_S)
    finished = time.monotonic() - started
    if last_stage is not None:
        stages[last_stage] = stages.get(last_stage, 0.0) + time.monotonic() - last_time
    return status, finished, stages


def _until_active(service: BenchService, setup: dict, version: str, started: float) -> float | None:
    """Seconds from `started` until `/setup` reports `version`, or None if it did not within `JOB_TIMEOUT_S`."""
    while time.monotonic() - started <= JOB_TIMEOUT_S:
        if service.request("POST", "/setup", setup).json().get("model_version") == version:
            return time.monotonic() - started
        time.sleep(POLL_S)
    return None


def measure(data: Path, count: int, overrides: dict[str, str], checkpoint: Path = DEFAULT_CHECKPOINT,
            precision: str = "auto") -> dict:
    """Annotate `count` images of `data`, press Train, and time the job and the switch to the new version.

    Args:
        data: a YOLO-seg folder (coco128-seg); its images are served to the worker as Label Studio local files.
        count: annotated images in the project.
        overrides: service settings (environment variables) for the backend and the worker.
        checkpoint: the base model the worker serves; precision: its MODEL_PRECISION ("auto" as the worker picks).
    """
    config = label_config(LABELS)
    images = project_images(data, LABELS, count)
    settings = {"LOCAL_FILES_DOCUMENT_ROOT": str(data), "TRAIN_EVERY": "0", **overrides}
    with running_service("train-button-", settings) as service:
        service.start_workers(checkpoint, 1, worker_precision(precision))
        for task_id, (relative, results) in enumerate(images, start=1):
            answer = service.request("POST", "/webhook",
                                     annotation_event(100 + task_id, task_id, relative, results, config))
            if answer.status_code != 200:
                raise SystemExit(f"webhook refused: {answer.status_code} {answer.text[:300]}")
        setup = {"project": f"{PROJECT_ID}.1", "schema": config}
        base = service.request("POST", "/setup", setup).json()
        body = {"action": "START_TRAINING", "project": {"id": PROJECT_ID, "label_config": config}}
        started = time.monotonic()
        job_id = service.request("POST", "/webhook", body).json()["training"]["job_id"]
        status, finished, stages = _follow_job(service, job_id, started)
        if status["status"] != "finished":
            raise SystemExit(f"the training job failed: {status.get('error')}")
        result = status["result"]
        active = _until_active(service, setup, result["version"], started) if result.get("activated") else None
        versions = service.request("GET", f"/versions?project={PROJECT_ID}").json()["versions"]
    return {
        "images": len(images), "labels": list(LABELS), "settings": dict(overrides),
        "base_version": base.get("model_version"), "new_version": result["version"],
        "activated": bool(result.get("activated")), "job_s": round(finished, 1),
        "to_active_version_s": None if active is None else round(active, 1),
        "stages_s": {k: round(v, 1) for k, v in stages.items() if k},
        "train_images": result.get("train_images"), "holdout_images": result.get("holdout_images"),
        "steps": (versions[-1].get("steps") if versions else None),
        "metrics": versions[-1].get("metrics") if versions else None,
    }


def markdown(report: dict) -> str:
    stages = ", ".join(f"{k} {v} s" for k, v in report["stages_s"].items() if k != "done")
    active = "not activated" if report["to_active_version_s"] is None else f"{report['to_active_version_s']} s"
    return (f"| images | job (s) | to active version | stages | new version |\n|---|---|---|---|---|\n"
            f"| {report['images']} | {report['job_s']} | {active} | {stages} | {report['new_version']} |\n")


def _override(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train_button", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=COCO128_DIR, help="a YOLO-seg folder (default: coco128-seg)")
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES)
    parser.add_argument("--set", type=_override, action="append", default=[], metavar="NAME=VALUE",
                        help="a service setting (environment variable), e.g. TRAIN_MAX_STEPS=10")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="the base model")
    parser.add_argument("--precision", default="auto", choices=MODEL_PRECISIONS,
                        help="the worker's MODEL_PRECISION (auto: what the worker picks on this machine)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found: pass --data with a YOLO-seg folder (coco128-seg)")
    report = measure(args.data, args.images, dict(args.set), args.checkpoint, args.precision)
    publish_run(report, markdown(report), args.out, "train_button")
    return 0


if __name__ == "__main__":
    sys.exit(main())
