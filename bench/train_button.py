"""Time from Label Studio's Train button to a new active model version, measured on the real service.

Starts what `python -m stack` starts (an embedded Redis, one `python -m worker` process on the shipped checkpoint)
with the backend app in this process, annotates a project of N real coco128-seg images through
`ANNOTATION_CREATED` webhooks (polygons of the ground truth, as Label Studio sends them), then posts Label Studio's
`START_TRAINING` webhook body and measures, with the service's default fine-tuning settings:
- until the job is finished (image fetching, fine-tuning, held-out evaluation, writing the version);
- until `/setup` reports the new version (what makes Label Studio re-predict), when it was activated;
- the time spent in each stage, from the job's progress reports ("training" includes evaluating the new version:
  the job reports that stage only with its last step).

    python bench/train_button.py                       # 20 images, default budget; ~3-6 min on 2 CPU cores
    python bench/train_button.py --images 6 --set TRAIN_MAX_STEPS=10   # a smoke run

Writes `<out>/train_button.json` and `train_button.md` (default out: bench/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make the packages importable
    sys.path.insert(0, str(REPO_ROOT))

COCO128_DIR = REPO_ROOT.parent / "shared" / "data" / "coco128-seg"
LABELS = ("person", "car", "cup", "chair")
"""The project's labels: coco128 classes with many instances (as in bench/learning_curve.py)."""
DEFAULT_IMAGES = 20
DEFAULT_OUT = REPO_ROOT / "bench" / "results"
PROJECT_ID = 1
WORKER_START_TIMEOUT_S = 180.0
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


def start_worker(env: dict[str, str], logs: Path, connection):
    from common.queues import worker_alive_key
    from stack.services import ChildProcess, worker_command

    name = f"train-button-{os.getpid()}"
    child = ChildProcess(name, worker_command("--name", name), env, logs / "worker.log").start()
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while not connection.exists(worker_alive_key(name)):
        if not child.alive() or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start: {(logs / 'worker.log').read_text()[-3000:]}")
        time.sleep(0.2)
    return child


def measure(args: argparse.Namespace, workdir: Path) -> dict:
    from backend.app import create_app
    from common.queues import connect
    from common.settings import Settings
    from stack.services import EmbeddedRedis

    config = label_config(LABELS)
    images = project_images(args.data, LABELS, args.images)
    server = EmbeddedRedis(workdir / "redis.db").start()
    env = {k: v for k, v in os.environ.items() if k not in {"LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"}}
    env.update(REDIS_URL=server.url, MODEL_DIR=str(workdir / "models"), LOCAL_FILES_DOCUMENT_ROOT=str(args.data),
               TF_CPP_MIN_LOG_LEVEL="2", TRAIN_EVERY="0", **dict(args.set))
    worker = None
    try:
        connection = connect(server.url)
        worker = start_worker(env, workdir, connection)
        settings = Settings.from_env(env)
        backend = create_app(settings, connection).test_client()
        for task_id, (relative, results) in enumerate(images, start=1):
            answer = backend.post("/webhook", json=annotation_event(100 + task_id, task_id, relative, results, config))
            if answer.status_code != 200:
                raise SystemExit(f"webhook refused: {answer.status_code} {answer.json}")
        base = backend.post("/setup", json={"project": f"{PROJECT_ID}.1", "schema": config}).json
        body = {"action": "START_TRAINING", "project": {"id": PROJECT_ID, "label_config": config}}
        started = time.monotonic()
        answer = backend.post("/webhook", json=body).json
        job_id = answer["training"]["job_id"]
        stages: dict[str, float] = {}
        last_stage, last_time = None, started
        while True:
            status = backend.get(f"/jobs/{job_id}").json
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
        if status["status"] != "finished":
            raise SystemExit(f"the training job failed: {status.get('error')}")
        result = status["result"]
        active = None
        if result.get("activated"):
            while True:
                version = backend.post("/setup", json={"project": f"{PROJECT_ID}.1", "schema": config}).json
                if version.get("model_version") == result["version"]:
                    active = time.monotonic() - started
                    break
                if time.monotonic() - started > JOB_TIMEOUT_S:
                    break
                time.sleep(POLL_S)
        versions = backend.get(f"/versions?project={PROJECT_ID}").json["versions"]
        return {
            "images": len(images), "labels": list(LABELS), "settings": dict(args.set),
            "base_version": base.get("model_version"), "new_version": result["version"],
            "activated": bool(result.get("activated")), "job_s": round(finished, 1),
            "to_active_version_s": None if active is None else round(active, 1),
            "stages_s": {k: round(v, 1) for k, v in stages.items() if k},
            "train_images": result.get("train_images"), "holdout_images": result.get("holdout_images"),
            "steps": (versions[-1].get("steps") if versions else None),
            "metrics": versions[-1].get("metrics") if versions else None,
        }
    finally:
        if worker is not None and worker.alive():
            worker.stop(grace=10)
        server.stop()


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=COCO128_DIR, help="a YOLO-seg folder (default: coco128-seg)")
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES)
    parser.add_argument("--set", type=_override, action="append", default=[], metavar="NAME=VALUE",
                        help="a service setting for the worker (environment variable), e.g. TRAIN_MAX_STEPS=10")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found: pass --data with a YOLO-seg folder (coco128-seg)")
    with tempfile.TemporaryDirectory(prefix="train-button-") as tmp:
        report = measure(args, Path(tmp))
    report["measured"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report["load_average"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train_button.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "train_button.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
