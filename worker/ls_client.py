"""The worker's client for Label Studio's API: authentication, image downloads, posting predictions.

Tokens (label-studio-protocol.md §7):
- a legacy token (40 hex characters, also what /setup sends) goes as `Authorization: Token <key>`;
- a personal access token is a JWT *refresh* token: it is exchanged at `POST /api/token/refresh/
  {"refresh": <PAT>}` for a short-lived access token sent as `Authorization: Bearer <access>`. The access token
  is cached until shortly before its `exp` and re-exchanged on expiry or on a 401.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse

import requests

from common.exceptions import ImageFetchError, LabelStudioApiError

__all__ = ["LabelStudioClient", "is_jwt"]

_REFRESH_MARGIN_S = 30.0
"""Re-exchange the access token this long before it expires."""
_DEFAULT_ACCESS_LIFETIME_S = 300.0
"""Assumed lifetime when an access token carries no readable `exp`."""
_API_TIMEOUT_S = 15.0


def is_jwt(token: str) -> bool:
    """True for a JWT-shaped token (three base64url segments, the first a JSON header)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, json.JSONDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header


def _expiry(token: str) -> float:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return time.time() + _DEFAULT_ACCESS_LIFETIME_S


class LabelStudioClient:
    """Label Studio at `base_url`, authenticated with `token` (legacy or PAT).

    Thread-safe; one instance per (URL, token) is kept by the worker runtime.
    """

    def __init__(self, base_url: str, token: str | None, timeout: float = _API_TIMEOUT_S):
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ImageFetchError(
                f"Label Studio URL {base_url!r} is not an http(s) URL; set LABEL_STUDIO_URL, e.g. "
                "http://label-studio:8080."
            )
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.host = (parts.hostname or "").lower()
        self._origin = (parts.scheme, parts.netloc.lower())
        self.token = token
        self.timeout = timeout
        self._access: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def owns(self, url: str) -> bool:
        """True when `url` points at this Label Studio (same scheme and host:port): send the token there only."""
        parts = urllib.parse.urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    def auth_headers(self, refresh: bool = False) -> dict[str, str]:
        """`Authorization` header for this token; `refresh=True` forces a new PAT exchange."""
        if not self.token:
            return {}
        if not is_jwt(self.token):
            return {"Authorization": f"Token {self.token}"}
        with self._lock:
            if refresh or self._access is None or self._access[1] - _REFRESH_MARGIN_S < time.time():
                self._access = self._exchange()
            return {"Authorization": f"Bearer {self._access[0]}"}

    def _exchange(self) -> tuple[str, float]:
        url = f"{self.base_url}/api/token/refresh/"
        try:
            response = requests.post(url, json={"refresh": self.token}, timeout=self.timeout)
        except requests.RequestException as error:
            raise ImageFetchError(f"Exchanging the personal access token at {url} failed: {error}.") from None
        if response.status_code != 200:
            raise ImageFetchError(
                f"Label Studio refused the personal access token at {url} (HTTP {response.status_code}); create a "
                "new one in Account & Settings and set LABEL_STUDIO_API_KEY."
            )
        access = (response.json() or {}).get("access")
        if not isinstance(access, str):
            raise ImageFetchError(f"{url} answered without an 'access' token.")
        return access, _expiry(access)

    def post_prediction(self, task_id: int, result: list[dict], score: float, model_version: str) -> int:
        """`POST /api/predictions`; returns the new prediction's id.

        Raises:
            LabelStudioApiError: network failure or a non-2xx answer (message includes LS's reply).
        """
        url = f"{self.base_url}/api/predictions/"
        body = {"task": task_id, "result": result, "score": score, "model_version": model_version}
        response = None
        for refresh in (False, True):
            try:
                response = requests.post(url, json=body, headers=self.auth_headers(refresh=refresh),
                                         timeout=self.timeout)
            except requests.RequestException as error:
                raise LabelStudioApiError(f"Posting a prediction to {url} failed: {error}.") from None
            if response.status_code != 401 or not (self.token and is_jwt(self.token)):
                break
        assert response is not None
        if response.status_code not in (200, 201):
            raise LabelStudioApiError(
                f"Label Studio answered HTTP {response.status_code} to POST /api/predictions for task {task_id}: "
                f"{response.text[:200]}"
            )
        return int((response.json() or {}).get("id", 0))
