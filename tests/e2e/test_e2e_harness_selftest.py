"""Self-test of the harness with a throwaway ML backend (no plugin needed): Label Studio starts, a project gets
the smart config and real images, an interactive ML backend connects, and each protocol path the plugin
scenarios rely on behaves as the protocol notes say. Cheap: one project, a few seconds."""

from __future__ import annotations

import pytest
from e2e_harness.label_config import REGION_TYPES
from e2e_harness.ls_client import poll
from e2e_harness.regions import box_of, by_type, labels_of, rectangle

pytestmark = pytest.mark.e2e

WEBHOOK_WAIT_S = 10


@pytest.fixture(scope="module")
def connected(ls_client, make_project, fake_backend):
    project = make_project("harness self-test")
    ml = ls_client.add_ml_backend(project.id, fake_backend.url, "fake", interactive=True)
    return project, ml


def test_label_studio_serves_the_imported_images(ls_client, connected):
    project, _ = connected
    task = ls_client.task(project.tasks[0].task_id)
    response = ls_client.session.get(f"{ls_client.url}{task['data']['image']}", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert response.content[:2] == b"\xff\xd8", "not a JPEG"


def test_ml_backend_connection_creates_the_webhook(ls_client, connected, fake_backend):
    project, ml = connected
    assert ml["is_interactive"] is True
    assert fake_backend.state.called("/setup"), "Label Studio never called /setup"
    hooks = [hook["url"] for hook in ls_client.webhooks(project.id)]
    assert f"{fake_backend.url}/webhook" in hooks


def test_interactive_round_trip(ls_client, connected):
    project, ml = connected
    target = project.tasks[0]
    image = target.image
    reference = rectangle(image.largest("person").box, "person", image.width, image.height)
    answer = ls_client.interactive_annotating(ml["id"], target.task_id, [reference])
    assert "errors" not in answer, answer
    regions = by_type(answer["data"]["result"])
    assert set(regions) == set(REGION_TYPES.values())
    for region in answer["data"]["result"]:
        assert labels_of(region) == ["person"]
        assert (region["original_width"], region["original_height"]) == (image.width, image.height)
        assert box_of(region)[2] > box_of(region)[0]


def test_batch_predictions_are_stored_once(ls_client, connected):
    project, ml = connected
    task_ids = [t.task_id for t in project.tasks[1:]]
    ls_client.retrieve_predictions(project.id, task_ids)
    versions = {p["model_version"] for tid in task_ids for p in ls_client.predictions(tid)}
    counts = [len(ls_client.predictions(tid)) for tid in task_ids]
    assert counts == [1] * len(task_ids)
    assert versions == {ls_client.ml_backend(ml["id"])["model_version"]}
    ls_client.retrieve_predictions(project.id, task_ids)
    assert [len(ls_client.predictions(tid)) for tid in task_ids] == counts


def test_annotation_webhook_and_training(ls_client, connected, fake_backend):
    project, ml = connected
    target = project.tasks[0]
    image = target.image
    ls_client.create_annotation(
        target.task_id, [rectangle(box, "person", image.width, image.height) for box in
                         (inst.box for inst in image.of("person"))]
    )
    events = poll(lambda: [b.get("action") for b in fake_backend.state.called("/webhook")],
                  lambda actions: "ANNOTATION_CREATED" in actions, WEBHOOK_WAIT_S, 0.2)
    assert "ANNOTATION_CREATED" in events
    before = ls_client.ml_backend(ml["id"])["model_version"]
    ls_client.train(ml["id"])
    after = ls_client.ml_backend(ml["id"])["model_version"]
    assert after != before
    assert ls_client.versions(ml["id"])["versions"] == [after]
