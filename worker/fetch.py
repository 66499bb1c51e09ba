"""Fetch a task image's bytes the way Label Studio serves it.

URL forms (label-studio-protocol.md §5):

| task URL | how |
|---|---|
| `data:image/png;base64,...` | decoded here (Label Studio cannot serve it) |
| `/data/local-files/?d=<path>` | read from `LOCAL_FILES_DOCUMENT_ROOT/<path>` when set (no `..` escape), else over HTTP |
| `/data/upload/...`, other `/...` paths | `GET <Label Studio URL><path>` with the token |
| `s3://`, `gs://`, `azure-blob://` | `GET <LS>/tasks/<task id>/presign/?fileuri=<base64url>`; LS redirects to the bucket |
| `http(s)://...` | plain GET; the token is sent only to Label Studio's own host |

Limits: `MAX_IMAGE_BYTES` on every form (checked while streaming), `FETCH_TIMEOUT` per download (connect and
whole-body deadline), at most `MAX_REDIRECTS` redirects, each re-checked. SSRF guard: with
`FETCH_BLOCK_PRIVATE` (default) a host resolving to a loopback, private, link-local or reserved address is
refused unless it is Label Studio's host or listed in `FETCH_ALLOWED_HOSTS`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
import time
import urllib.parse
from pathlib import Path

import requests

from common.exceptions import ImageFetchError
from common.jobs import ImageSource
from common.settings import Settings
from worker.ls_client import LabelStudioClient

__all__ = ["MAX_REDIRECTS", "fetch_image_bytes"]

MAX_REDIRECTS = 3
_CHUNK = 256 * 1024
_LOCAL_FILES_PREFIX = "/data/local-files/"
_CLOUD_SCHEMES = ("s3", "gs", "azure-blob")


def fetch_image_bytes(source: ImageSource, settings: Settings, client: LabelStudioClient | None) -> bytes:
    """The raw bytes of `source.url` (not decoded).

    Args:
        source: the task image reference.
        settings: limits, document root, SSRF policy.
        client: Label Studio client for relative URLs and cloud URIs (None when LS is unknown).

    Raises:
        ImageFetchError: with the URL form, what failed and how to fix it.
    """
    url = source.url.strip()
    if url.startswith("data:"):
        return _decode_data_url(url, settings.max_image_bytes)
    if url.startswith(_LOCAL_FILES_PREFIX) and settings.local_files_document_root is not None:
        return _read_local_file(url, settings.local_files_document_root, settings.max_image_bytes)
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if url.startswith("/") or scheme in _CLOUD_SCHEMES:
        if client is None:
            raise ImageFetchError(
                f"Image {url[:100]!r} is served by Label Studio, but its address is unknown: set LABEL_STUDIO_URL "
                "(and LABEL_STUDIO_API_KEY), or let Label Studio call /setup first."
            )
        if scheme in _CLOUD_SCHEMES:
            if source.task_id is None:
                raise ImageFetchError(f"Cloud storage image {url[:100]!r} needs its task id to be presigned.")
            encoded = base64.urlsafe_b64encode(url.encode()).decode()
            url = f"/tasks/{source.task_id}/presign/?fileuri={encoded}"
        url = client.base_url + url
    elif scheme not in ("http", "https"):
        raise ImageFetchError(
            f"Unsupported image URL {url[:100]!r}: use http(s)://, /data/upload/..., /data/local-files/?d=..., "
            "s3:// / gs:// / azure-blob:// (through Label Studio) or a data: URL."
        )
    return _download(url, settings, client)


def _decode_data_url(url: str, max_bytes: int) -> bytes:
    header, _, payload = url.partition(",")
    if not header.endswith(";base64") or not payload:
        raise ImageFetchError("A data: image URL must be base64 encoded (data:image/png;base64,...).")
    if len(payload) * 3 // 4 > max_bytes:
        raise ImageFetchError(f"The data: URL image exceeds MAX_IMAGE_BYTES={max_bytes}.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageFetchError("The data: URL is not valid base64.") from None


def _read_local_file(url: str, root: Path, max_bytes: int) -> bytes:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    relative = (query.get("d") or [""])[0]
    if not relative:
        raise ImageFetchError(f"Local-files URL {url!r} has no ?d=<path>.")
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ImageFetchError(f"Local-files path {relative!r} escapes LOCAL_FILES_DOCUMENT_ROOT; refused.")
    if not path.is_file():
        raise ImageFetchError(
            f"Local file {path} does not exist; LOCAL_FILES_DOCUMENT_ROOT ({root}) must be the same directory "
            "Label Studio uses (mounted at the same place in the worker)."
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageFetchError(f"Local file {path} has {size} bytes, more than MAX_IMAGE_BYTES={max_bytes}.")
    return path.read_bytes()


def _check_host(url: str, settings: Settings, client: LabelStudioClient | None) -> None:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if not host:
        raise ImageFetchError(f"Image URL {url[:100]!r} has no host.")
    if not settings.fetch_block_private or host in settings.fetch_allowed_hosts:
        return
    if client is not None and host == client.host:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise ImageFetchError(f"Cannot resolve image host {host!r}: {error}.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise ImageFetchError(
                f"Image host {host!r} resolves to the internal address {ip}; refused (SSRF guard). Add the host to "
                "FETCH_ALLOWED_HOSTS if it is trusted, or set FETCH_BLOCK_PRIVATE=false."
            )


def _download(url: str, settings: Settings, client: LabelStudioClient | None) -> bytes:
    deadline = time.monotonic() + settings.fetch_timeout
    for _ in range(MAX_REDIRECTS + 1):
        _check_host(url, settings, client)
        to_label_studio = client is not None and client.owns(url)
        headers = client.auth_headers() if to_label_studio else {}
        try:
            response = requests.get(url, headers=headers, stream=True, allow_redirects=False,
                                    timeout=(min(settings.fetch_timeout, 10.0), settings.fetch_timeout))
            if response.status_code == 401 and to_label_studio:
                response.close()
                response = requests.get(url, headers=client.auth_headers(refresh=True), stream=True,
                                        allow_redirects=False, timeout=settings.fetch_timeout)
        except requests.RequestException as error:
            raise ImageFetchError(f"Downloading {_short(url)} failed: {error}.") from None
        with response:
            if response.is_redirect:
                url = urllib.parse.urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code in (401, 403):
                raise ImageFetchError(
                    f"{_short(url)} answered {response.status_code}: the token was refused. Set "
                    "LABEL_STUDIO_API_KEY to a legacy token or a personal access token of a project member."
                )
            if response.status_code != 200:
                raise ImageFetchError(f"{_short(url)} answered HTTP {response.status_code}.")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > settings.max_image_bytes:
                raise ImageFetchError(
                    f"{_short(url)} is {declared} bytes, more than MAX_IMAGE_BYTES={settings.max_image_bytes}.")
            chunks, total = [], 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    total += len(chunk)
                    if total > settings.max_image_bytes:
                        raise ImageFetchError(
                            f"{_short(url)} exceeds MAX_IMAGE_BYTES={settings.max_image_bytes}; download stopped.")
                    if time.monotonic() > deadline:
                        raise ImageFetchError(f"{_short(url)} took longer than FETCH_TIMEOUT="
                                              f"{settings.fetch_timeout:g} s; download stopped.")
                    chunks.append(chunk)
            except requests.RequestException as error:
                raise ImageFetchError(f"Downloading {_short(url)} failed: {error}.") from None
            return b"".join(chunks)
    raise ImageFetchError(f"{_short(url)} redirected more than {MAX_REDIRECTS} times.")


def _short(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:160]
