"""Image fetching against files on disk and a Label Studio stub over real HTTP."""

from __future__ import annotations

import base64

import pytest
from label_studio_stub import LEGACY_TOKEN, PAT

from common.exceptions import ImageFetchError
from common.jobs import ImageSource
from common.settings import Settings
from worker.fetch import fetch_image_bytes
from worker.ls_client import LabelStudioClient

LOOPBACK_OK = Settings(fetch_allowed_hosts=("127.0.0.1",))


def test_data_urls_are_decoded_and_checked():
    data = b"\x89PNG fake"
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert fetch_image_bytes(ImageSource(url), Settings(), None) == data
    with pytest.raises(ImageFetchError, match="base64 encoded"):
        fetch_image_bytes(ImageSource("data:image/png,rawtext"), Settings(), None)
    with pytest.raises(ImageFetchError, match="not valid base64"):
        fetch_image_bytes(ImageSource("data:image/png;base64,@@@"), Settings(), None)
    with pytest.raises(ImageFetchError, match="MAX_IMAGE_BYTES"):
        fetch_image_bytes(ImageSource(url), Settings(max_image_bytes=4), None)


def test_local_files_are_read_under_the_document_root_only(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a b.png").write_bytes(b"pixels")
    (tmp_path.parent / "secret.txt").write_text("no")
    settings = Settings(local_files_document_root=tmp_path)
    assert fetch_image_bytes(ImageSource("/data/local-files/?d=images/a%20b.png"), settings, None) == b"pixels"
    for bad, message in [("?d=../secret.txt", "escapes"), ("?d=/etc/passwd", "escapes"),
                         ("?d=images/missing.png", "does not exist"), ("?x=1", "no \\?d=")]:
        with pytest.raises(ImageFetchError, match=message):
            fetch_image_bytes(ImageSource("/data/local-files/" + bad), settings, None)
    with pytest.raises(ImageFetchError, match="MAX_IMAGE_BYTES"):
        fetch_image_bytes(ImageSource("/data/local-files/?d=images/a%20b.png"),
                          settings.replace(max_image_bytes=3), None)


def test_uploads_need_label_studio_and_send_the_legacy_token_only_there(ls_stub):
    ls_stub.files["/data/upload/1/a.png"] = b"upload"
    client = LabelStudioClient(ls_stub.url, LEGACY_TOKEN)
    assert fetch_image_bytes(ImageSource("/data/upload/1/a.png"), Settings(), client) == b"upload"
    assert ls_stub.requests[-1][2]["Authorization"] == f"Token {LEGACY_TOKEN}"
    with pytest.raises(ImageFetchError, match="set LABEL_STUDIO_URL"):
        fetch_image_bytes(ImageSource("/data/upload/1/a.png"), Settings(), None)
    with pytest.raises(ImageFetchError, match="token was refused"):
        fetch_image_bytes(ImageSource("/data/upload/1/a.png"), Settings(), LabelStudioClient(ls_stub.url, "bad"))


def test_personal_access_tokens_are_exchanged_once_and_refreshed_on_401(ls_stub):
    ls_stub.files["/data/upload/1/a.png"] = b"upload"
    client = LabelStudioClient(ls_stub.url, PAT)
    for _ in range(3):
        assert fetch_image_bytes(ImageSource("/data/upload/1/a.png"), Settings(), client) == b"upload"
    assert ls_stub.exchanges == 1
    assert ls_stub.requests[-1][2]["Authorization"].startswith("Bearer ")
    ls_stub.valid_access.clear()  # the access token expired server-side
    assert fetch_image_bytes(ImageSource("/data/upload/1/a.png"), Settings(), client) == b"upload"
    assert ls_stub.exchanges == 2
    with pytest.raises(ImageFetchError, match="refused the personal access token"):
        LabelStudioClient(ls_stub.url, PAT[:-3] + "xyz").auth_headers()


def test_cloud_uris_are_presigned_through_label_studio_and_the_token_stays_home(ls_stub):
    ls_stub.public["/bucket/my-bucket/img.jpg"] = b"from-s3"
    client = LabelStudioClient(ls_stub.url, LEGACY_TOKEN)
    source = ImageSource("s3://my-bucket/img.jpg", task_id=7)
    assert fetch_image_bytes(source, Settings(), client) == b"from-s3"
    presign, bucket = ls_stub.requests[-2:]
    assert presign[1].startswith("/tasks/7/presign/?fileuri=")
    assert bucket[1] == "/bucket/my-bucket/img.jpg"
    with pytest.raises(ImageFetchError, match="task id"):
        fetch_image_bytes(ImageSource("gs://b/x.png"), Settings(), client)


def test_plain_http_is_guarded_against_internal_addresses_limits_and_loops(ls_stub):
    ls_stub.public["/b.png"] = b"x" * 1000
    url = ls_stub.url + "/b.png"
    with pytest.raises(ImageFetchError, match="SSRF guard"):
        fetch_image_bytes(ImageSource(url), Settings(), None)
    assert fetch_image_bytes(ImageSource(url), LOOPBACK_OK, None) == b"x" * 1000
    assert "Authorization" not in ls_stub.requests[-1][2]
    assert fetch_image_bytes(ImageSource(url), Settings(fetch_block_private=False), None) == b"x" * 1000
    with pytest.raises(ImageFetchError, match="MAX_IMAGE_BYTES"):
        fetch_image_bytes(ImageSource(url), LOOPBACK_OK.replace(max_image_bytes=999), None)
    with pytest.raises(ImageFetchError, match="redirected more than"):
        fetch_image_bytes(ImageSource(ls_stub.url + "/redirect-loop"), LOOPBACK_OK, None)
    with pytest.raises(ImageFetchError, match="HTTP 404"):
        fetch_image_bytes(ImageSource(ls_stub.url + "/missing.png"), LOOPBACK_OK, None)
    ls_stub.delay_s["/b.png"] = 2.0
    with pytest.raises(ImageFetchError, match="failed|FETCH_TIMEOUT"):
        fetch_image_bytes(ImageSource(url), LOOPBACK_OK.replace(fetch_timeout=0.5), None)


@pytest.mark.parametrize(("url", "message"), [("ftp://x/y.png", "Unsupported image URL"),
                                              ("file:///etc/passwd", "Unsupported image URL"),
                                              ("http:///nohost.png", "has no host")])
def test_unsupported_urls_are_refused(url, message):
    with pytest.raises(ImageFetchError, match=message):
        fetch_image_bytes(ImageSource(url), Settings(), None)


def test_posting_predictions_uses_the_api_and_reports_refusals(ls_stub):
    client = LabelStudioClient(ls_stub.url, LEGACY_TOKEN)
    assert client.post_prediction(3, [{"type": "rectanglelabels"}], 0.8, "v1") == 1
    assert ls_stub.predictions == [{"task": 3, "result": [{"type": "rectanglelabels"}], "score": 0.8,
                                    "model_version": "v1"}]
    from common.exceptions import LabelStudioApiError

    with pytest.raises(LabelStudioApiError, match="HTTP 401"):
        LabelStudioClient(ls_stub.url, "bad").post_prediction(3, [], 0.0, "v1")
    with pytest.raises(ImageFetchError, match="not an http"):
        LabelStudioClient("localhost:8080", None)
