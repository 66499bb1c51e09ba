"""The real plugin (`python -m stack`) against a real Label Studio 1.23.2: each scenario asserts on what Label
Studio stored or returned. One project per scenario, so they do not see each other's annotations."""

from __future__ import annotations

import signal
import time

import pytest
from e2e_harness import plugin_stack
from e2e_harness.coco import iou
from e2e_harness.label_config import BRUSH_NAME, IMAGE_NAME, POLYGON_NAME, RECTANGLE_NAME, REGION_TYPES
from e2e_harness.ls_client import poll
from e2e_harness.processes import http_ok, wait_until
from e2e_harness.regions import box_of, brush_mask, by_type, labels_of, rectangle

pytestmark = pytest.mark.e2e

LABEL = "person"
FROM_NAMES = {REGION_TYPES[name]: name for name in (RECTANGLE_NAME, BRUSH_NAME, POLYGON_NAME)}
FOUND_IOU = 0.5  # a suggested box this close to another ground-truth instance found it
BATCH_WAIT_S = 240  # batch /predict returns within BATCH_BUDGET; the worker may post the rest later
NO_DUPLICATE_WAIT_S = 5
TRAINING_WAIT_S = 600
RECOVERY_WAIT_S = 300


def connect(ls_client, make_project, plugin, title: str, **project_options):
    project = make_project(title, **project_options)
    ml = ls_client.add_ml_backend(
        project.id, plugin.url, "siamese-assist", interactive=True, extra_params=plugin.extra_params()
    )
    return project, ml


def ground_truth_annotation(task) -> list[dict]:
    image = task.image
    return [rectangle(inst.box, LABEL, image.width, image.height) for inst in image.of(LABEL)]


# -- interactive ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def interactive_project(ls_client, make_project, plugin):
    return connect(ls_client, make_project, plugin, "plugin: interactive")


def test_interactive_returns_every_region_type(ls_client, interactive_project):
    project, ml = interactive_project
    target = project.tasks[0]
    image = target.image
    reference = image.largest(LABEL)
    started = time.monotonic()
    answer = ls_client.interactive_annotating(
        ml["id"], target.task_id, [rectangle(reference.box, LABEL, image.width, image.height)]
    )
    print(f"\ninteractive answer through Label Studio in {time.monotonic() - started:.2f} s")
    assert "errors" not in answer, answer["errors"]
    data = answer["data"]
    result = data["result"]
    assert result, f"no suggestions for {image.path.name} ({len(image.of(LABEL))} people)"
    version = ls_client.ml_backend(ml["id"])["model_version"]
    assert data["model_version"] == version
    regions = by_type(result)
    rectangles = regions.get(REGION_TYPES[RECTANGLE_NAME], [])
    brushes = regions.get(REGION_TYPES[BRUSH_NAME], [])
    assert rectangles, sorted(regions)
    assert len(brushes) == len(rectangles), "one brush mask per suggested instance"
    if any(brush_mask(region).any() for region in brushes):
        assert regions.get(REGION_TYPES[POLYGON_NAME]), "masks with pixels but no polygons"
    if plugin_stack.trained_model(version):  # an untrained model's masks may all be empty: no polygons then
        assert set(regions) == set(REGION_TYPES.values()), sorted(regions)
    for region in result:
        assert labels_of(region) == [LABEL], region["value"]
        assert region["from_name"] == FROM_NAMES[region["type"]]
        assert region["to_name"] == IMAGE_NAME
        assert (region["original_width"], region["original_height"]) == (image.width, image.height)
        if region["type"] == REGION_TYPES[BRUSH_NAME]:
            assert brush_mask(region).shape == (image.height, image.width)  # RLE of the original size
            continue
        x1, y1, x2, y2 = box_of(region)
        assert 0 <= x1 < x2 <= image.width + 1 and 0 <= y1 < y2 <= image.height + 1, (region["type"], x1, y1, x2, y2)


def test_interactive_brush_suggestions_are_not_empty(ls_client, interactive_project):
    project, ml = interactive_project
    target = project.tasks[0]
    image = target.image
    answer = ls_client.interactive_annotating(
        ml["id"], target.task_id, [rectangle(image.largest(LABEL).box, LABEL, image.width, image.height)]
    )
    brushes = by_type(answer["data"]["result"]).get(REGION_TYPES[BRUSH_NAME], [])
    assert brushes
    empty = [region["id"] for region in brushes if not brush_mask(region).any()]
    assert not empty, f"{len(empty)} of {len(brushes)} brush suggestions have no pixels"


def test_interactive_suggestions_include_the_reference_object(ls_client, interactive_project):
    """Label Studio 1.23 deletes the hand-drawn smart region when suggestions are accepted or rejected
    (Annotation.deleteAllDynamicregions): the annotator keeps the object they drew only if it comes back."""
    project, ml = interactive_project
    target = project.tasks[0]
    image = target.image
    reference = image.largest(LABEL)
    answer = ls_client.interactive_annotating(
        ml["id"], target.task_id, [rectangle(reference.box, LABEL, image.width, image.height)]
    )
    rectangles = [box_of(r) for r in answer["data"]["result"] if r["type"] == REGION_TYPES[RECTANGLE_NAME]]
    assert rectangles and max(iou(box, reference.box) for box in rectangles) >= FOUND_IOU


@pytest.mark.xfail(strict=False, reason=(
    "'person' is a held-out class of the shipped checkpoint (paper split 1: never a target in its training); "
    "mobile-coco128-v13 (v7 with a verifier, without label claims) suggests almost nothing on coco128's held-out "
    "classes at its calibrated threshold (effort 1.001, docs/model-quality.md); a project-fine-tuned version should "
    "pass"))
def test_interactive_finds_other_instances(ls_client, interactive_project):
    project, ml = interactive_project
    version = ls_client.ml_backend(ml["id"])["model_version"] or ""
    if not plugin_stack.trained_model(version):
        pytest.skip(f"model {version!r} is an untrained preset: suggestions are not meaningful")
    target = project.tasks[0]
    image = target.image
    reference = image.largest(LABEL)
    others = [inst.box for inst in image.of(LABEL) if inst is not reference]
    answer = ls_client.interactive_annotating(
        ml["id"], target.task_id, [rectangle(reference.box, LABEL, image.width, image.height)]
    )
    rectangles = [box_of(r) for r in answer["data"]["result"] if r["type"] == REGION_TYPES[RECTANGLE_NAME]]
    found = [box for box in others if any(iou(box, s) >= FOUND_IOU for s in rectangles)]
    assert found, f"none of the {len(others)} other people found by {len(rectangles)} suggestions"


# -- batch ---------------------------------------------------------------------------------------------------
def test_batch_predictions_use_the_model_version_and_are_not_duplicated(ls_client, make_project, plugin):
    project, ml = connect(ls_client, make_project, plugin, "plugin: batch")
    exemplar_task, *targets = project.tasks
    ls_client.create_annotation(exemplar_task.task_id, ground_truth_annotation(exemplar_task))
    task_ids = [t.task_id for t in targets]

    started = time.monotonic()
    ls_client.retrieve_predictions(project.id, task_ids)
    print(f"\nretrieve predictions for {len(task_ids)} tasks answered in {time.monotonic() - started:.1f} s")
    counts = poll(
        lambda: [len(ls_client.predictions(tid)) for tid in task_ids], lambda c: all(c), BATCH_WAIT_S, 2.0
    )
    print(f"predictions for all tasks after {time.monotonic() - started:.1f} s: {counts}")
    assert all(counts), f"tasks without predictions: {dict(zip(task_ids, counts, strict=True))}"
    version = ls_client.ml_backend(ml["id"])["model_version"]
    predictions = [p for tid in task_ids for p in ls_client.predictions(tid)]
    assert {p["model_version"] for p in predictions} == {version}
    assert ls_client.model_versions(project.id).get(version) == len(predictions)
    for prediction in predictions:
        for region in prediction["result"]:
            assert labels_of(region) == [LABEL]
    assert any(p["result"] for p in predictions), "every prediction is empty"

    ls_client.retrieve_predictions(project.id, task_ids)
    time.sleep(NO_DUPLICATE_WAIT_S)  # anything the worker would post late
    assert [len(ls_client.predictions(tid)) for tid in task_ids] == counts


# -- learning ------------------------------------------------------------------------------------------------
def _clip(index: int) -> dict:
    """Task data naming each task's clip, as a video project would import its frames."""
    return {"video": f"run-{index % 2}"}


def test_submitted_annotations_reach_the_plugin_store(ls_client, make_project, plugin):
    from common.annotation_store import AnnotationStore
    from common.exemplars import ExemplarBank

    project, _ = connect(ls_client, make_project, plugin, "plugin: store", extra_data=_clip)
    bank = ExemplarBank(plugin.model_dir)
    annotated = project.tasks[:2]
    for task in annotated:
        ls_client.create_annotation(task.task_id, ground_truth_annotation(task))
    stored = poll(lambda: bank.exemplars_for(project.id).get(LABEL, []), lambda s: len(s) == len(annotated), 10)
    assert sorted(e["task_id"] for e in stored) == sorted(t.task_id for t in annotated)
    # the store keeps each task's clip from the data Label Studio sends, so training holds out whole clips
    groups = {a.task_id: a.group for a in AnnotationStore(plugin.model_dir).annotations(project.id)}
    assert groups == {task.task_id: f"run-{i % 2}" for i, task in enumerate(annotated)}


def test_resync_recovers_annotations_the_webhook_never_delivered(ls_client, make_project, plugin):
    """Annotations submitted before the plugin was connected (no webhook yet) come in from Label Studio's export."""
    import requests

    from common.exemplars import ExemplarBank

    project = make_project("plugin: resync", extra_data=_clip)
    annotated = project.tasks[:2]
    for task in annotated:  # no ML backend yet, so no webhook: the plugin hears nothing of these
        ls_client.create_annotation(task.task_id, ground_truth_annotation(task))
    bank = ExemplarBank(plugin.model_dir)
    ls_client.add_ml_backend(
        project.id, plugin.url, "siamese-assist", interactive=True, extra_params=plugin.extra_params()
    )
    assert bank.exemplars_for(project.id).get(LABEL, []) == []

    queued = requests.post(f"{plugin.url}/resync", json={"project": project.id}, timeout=10)
    assert queued.status_code == 202, queued.text
    assert queued.json()["resync"] is True  # the plugin knows where Label Studio is (from /setup)
    job_url = f"{plugin.url}/jobs/{queued.json()['job_id']}"
    status = poll(lambda: requests.get(job_url, timeout=10).json(), lambda s: s["status"] in ("finished", "failed"), 120)
    assert status["status"] == "finished", status
    stored = bank.exemplars_for(project.id).get(LABEL, [])
    assert sorted({e["task_id"] for e in stored}) == sorted(t.task_id for t in annotated)
    from common.annotation_store import AnnotationStore

    groups = {a.task_id: a.group for a in AnnotationStore(plugin.model_dir).annotations(project.id)}
    assert groups == {task.task_id: f"run-{i % 2}" for i, task in enumerate(annotated)}  # from the export


def test_train_button_produces_a_new_model_version_that_label_studio_uses(ls_client, make_project, plugin):
    project, ml = connect(ls_client, make_project, plugin, "plugin: training")
    *annotated, unlabeled = project.tasks
    for task in annotated:
        ls_client.create_annotation(task.task_id, ground_truth_annotation(task))
    before = ls_client.ml_backend(ml["id"])["model_version"]
    ls_client.retrieve_predictions(project.id, [unlabeled.task_id])
    first = poll(lambda: ls_client.predictions(unlabeled.task_id), bool, BATCH_WAIT_S, 2.0)
    assert [p["model_version"] for p in first] == [before]

    started = time.monotonic()
    ls_client.train(ml["id"])
    after = poll(
        lambda: ls_client.ml_backend(ml["id"])["model_version"], lambda v: v != before, TRAINING_WAIT_S, 5.0
    )
    print(f"\nnew model version {after!r} (was {before!r}) after {time.monotonic() - started:.0f} s")
    assert after != before, f"no new model version within {TRAINING_WAIT_S} s; see {plugin.log}"
    assert after in ls_client.versions(ml["id"])["versions"]

    # Label Studio re-predicts a task whose predictions carry an older version than /setup reports
    ls_client.retrieve_predictions(project.id, [unlabeled.task_id])
    again = poll(
        lambda: ls_client.predictions(unlabeled.task_id),
        lambda ps: after in [p["model_version"] for p in ps], BATCH_WAIT_S, 2.0,
    )
    assert sorted(p["model_version"] for p in again) == sorted([before, after])
    counts = {version: n for version, n in ls_client.model_versions(project.id).items() if n}
    assert counts == {before: 1, after: 1}  # (LS also lists the ML backend's title, with 0)


# -- failure -------------------------------------------------------------------------------------------------
def test_worker_stopped_gives_a_clear_error_and_recovery_after_restart(ls, ls_client, make_project, plugin):
    project, ml = connect(ls_client, make_project, plugin, "plugin: failure")
    target = project.tasks[0]
    image = target.image
    reference = [rectangle(image.largest(LABEL).box, LABEL, image.width, image.height)]
    assert "data" in ls_client.interactive_annotating(ml["id"], target.task_id, reference)
    ls_client.create_annotation(target.task_id, ground_truth_annotation(target))  # exemplars for batch
    batch_ids = [t.task_id for t in project.tasks[1:3]]

    frozen = plugin.signal_workers(signal.SIGSTOP)
    try:
        started = time.monotonic()
        answer = ls_client.interactive_annotating(ml["id"], target.task_id, reference)
        print(f"\nwith the worker stopped Label Studio answered in {time.monotonic() - started:.1f} s: {answer}")
        assert "data" not in answer
        (message,) = answer["errors"]
        assert any(code in message for code in ("503", "504")) and "/predict" in message, message
        started = time.monotonic()
        answer = ls_client.retrieve_predictions(project.id, batch_ids)
        print(f"retrieve predictions with the worker stopped answered in {time.monotonic() - started:.1f} s")
        assert answer["processed_items"] == len(batch_ids)
        assert http_ok(f"{ls.url}/health") and http_ok(f"{plugin.url}/health")
        assert ls_client.ml_backend(ml["id"])["id"] == ml["id"]
    finally:
        plugin.signal_workers(signal.SIGKILL)  # the stack restarts a worker that died

    wait_until(
        lambda: any(pid not in frozen for pid in plugin.worker_pids()), 60, "worker restart", alive=plugin.alive,
        log=plugin.log,
    )
    started = time.monotonic()
    answer = poll(
        lambda: ls_client.interactive_annotating(ml["id"], target.task_id, reference),
        lambda a: "data" in a, RECOVERY_WAIT_S, 2.0,
    )
    print(f"interactive works again {time.monotonic() - started:.1f} s after the worker restart")
    assert "data" in answer, answer
    ls_client.retrieve_predictions(project.id, batch_ids)
    counts = poll(lambda: [len(ls_client.predictions(t)) for t in batch_ids], all, BATCH_WAIT_S, 2.0)
    assert all(counts), f"no predictions after the restart: {dict(zip(batch_ids, counts, strict=True))}"
    assert plugin.alive()
