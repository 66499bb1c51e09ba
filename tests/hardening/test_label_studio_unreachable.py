"""Label Studio unreachable (nothing listens on its port) while the worker exports a project's annotations or
downloads a task image: a clear error naming what failed and where, without the token."""

from __future__ import annotations

import socket

import pytest

from common.exceptions import ImageFetchError, LabelStudioApiError
from common.jobs import ImageSource
from common.settings import Settings
from worker.fetch import fetch_image_bytes
from worker.ls_client import LabelStudioClient

TOKEN = "legacy-token-5be1c0d3a9"
PROJECT_ID = 3


@pytest.fixture()
def unreachable() -> LabelStudioClient:
    with socket.socket() as probe:  # a loopback port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return LabelStudioClient(f"http://127.0.0.1:{port}", TOKEN)


def test_export_from_an_unreachable_label_studio_is_a_label_studio_api_error(unreachable):
    resync = pytest.importorskip("worker.resync")
    with pytest.raises(LabelStudioApiError) as raised:
        resync.fetch_export(unreachable, PROJECT_ID)
    message = str(raised.value)
    assert f"Exporting project {PROJECT_ID} from {unreachable.base_url}/api/projects/{PROJECT_ID}/export" in message
    assert "refused" in message.lower() and TOKEN not in message
    assert LabelStudioApiError.http_status == 502


def test_image_from_an_unreachable_label_studio_is_an_image_fetch_error(unreachable):
    source = ImageSource(url="/data/upload/3/a.png", ls_url=unreachable.base_url, ls_token=TOKEN, task_id=1)
    with pytest.raises(ImageFetchError) as raised:
        fetch_image_bytes(source, Settings(fetch_timeout=5.0), unreachable)
    message = str(raised.value)
    assert f"Downloading {unreachable.base_url}/data/upload/3/a.png failed" in message
    assert "refused" in message.lower() and TOKEN not in message
