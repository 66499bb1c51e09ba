"""The annotator's flow in the real UI (Playwright + Debian's Chromium): log in, open a task, switch
Auto-Annotation on, draw a smart rectangle with the mouse, wait for the suggestions, accept them, submit; then
check through the API what Label Studio stored. Runs against the real plugin and, as a harness self-test,
against the throwaway backend. Screenshots go to artifacts/e2e/."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from e2e_harness import label_studio
from e2e_harness.coco import iou
from e2e_harness.label_config import RECTANGLE_NAME, REGION_TYPES
from e2e_harness.processes import skip_or_fail
from e2e_harness.regions import box_of, by_type, labels_of

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
FLOW_SCRIPT = Path(__file__).resolve().parent / "browser_flow.py"
FLOW_TIMEOUT_S = 300
LABEL = "person"
DRAWN_BOX_IOU = 0.8  # the mouse lands within a pixel or two of the requested box on the scaled image


@pytest.fixture(params=["fake-backend", "plugin"])
def backend(request) -> tuple[str, dict | None]:
    """(URL, extra params) of the ML backend under test."""
    if request.param == "plugin":
        stack = request.getfixturevalue("plugin")
        return stack.url, stack.extra_params()
    return request.getfixturevalue("fake_backend").url, None


def test_smart_rectangle_in_the_ui(request, ls, ls_client, make_project, backend, artifacts_dir):
    if not CHROMIUM.is_file():
        skip_or_fail(f"{CHROMIUM} is missing: run scripts/install_chromium.sh")
    name = f"browser-{request.node.callspec.id}"
    project = make_project(name)
    ls_client.update_project(project.id, show_collab_predictions=False)  # open the task without prelabels
    url, extra_params = backend
    ml = ls_client.add_ml_backend(project.id, url, name, interactive=True, extra_params=extra_params)
    target = project.tasks[0]
    image = target.image
    reference = image.largest(LABEL).box
    spec = {
        "url": ls.url, "user": ls.user, "password": ls.password, "project": project.id, "task": target.task_id,
        "box": list(reference), "natural_size": [image.width, image.height], "label": LABEL,
        "screenshots": str(artifacts_dir), "name": name,
    }
    run = subprocess.run(
        [str(label_studio.LS_VENV / "bin" / "python"), str(FLOW_SCRIPT), json.dumps(spec)],
        capture_output=True, text=True, timeout=FLOW_TIMEOUT_S,
    )
    print(run.stderr)
    report = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else {}
    assert run.returncode == 0 and "error" not in report, f"browser flow failed: {report or run.stderr[-3000:]}"
    print(f"timings (s): {report['timings']}")

    suggestions = report["interactive_response"]["data"]["result"]
    assert suggestions, report["interactive_response"]
    shown = int(re.match(r"(\d+)", report["suggestions_shown"]).group(1))
    assert shown == len(suggestions), (report["suggestions_shown"], len(suggestions))
    assert report["submit_status"] == 201

    # what the frontend sent: the drawn box, last in the context, with our label and the image's size
    drawn = report["interactive_request"]["context"]["result"][-1]
    assert drawn["type"] == REGION_TYPES[RECTANGLE_NAME] and labels_of(drawn) == [LABEL]
    assert (drawn["original_width"], drawn["original_height"]) == (image.width, image.height)
    assert iou(box_of(drawn), reference) >= DRAWN_BOX_IOU, (box_of(drawn), reference)

    # what Label Studio stored: the accepted suggestions. The frontend deletes the drawn smart region itself on
    # accept (Annotation.deleteAllDynamicregions), so it is not part of the annotation unless suggested.
    (annotation,) = ls_client.annotations(target.task_id)
    stored = annotation["result"]
    assert len(stored) == len(suggestions), [r["type"] for r in stored]
    assert set(by_type(stored)) == set(by_type(suggestions))
    assert all(labels_of(region) == [LABEL] for region in stored)
    if request.node.callspec.id == "plugin":
        # the plugin suggests the drawn object too, since the frontend deletes the drawn smart region on accept
        rectangles = [box_of(r) for r in stored if r["type"] == REGION_TYPES[RECTANGLE_NAME]]
        assert max(iou(box, reference) for box in rectangles) >= DRAWN_BOX_IOU, (rectangles, reference)
        # the submit reached the plugin's store through the webhook
        from common.exemplars import ExemplarBank

        bank = ExemplarBank(request.getfixturevalue("plugin").model_dir)
        assert target.task_id in [e["task_id"] for e in bank.exemplars_for(project.id).get(LABEL, [])]
    assert ml["id"] in [b["id"] for b in ls_client.ml_backends(project.id)]
