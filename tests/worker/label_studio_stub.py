"""A small HTTP server that answers the few Label Studio API calls the worker makes.

Real Label Studio (Django, 1 GB, 27 s to start) runs in the e2e suite; these tests need only its documented
behaviour (label-studio-protocol.md §5, §7): file serving behind `Authorization: Token <legacy>` or
`Bearer <access>`, the PAT exchange at `/api/token/refresh/`, cloud presign redirects, and
`POST /api/predictions/`. Everything the worker sends is recorded for assertions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LEGACY_TOKEN = "0123456789abcdef0123456789abcdef01234567"


def make_jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


PAT = make_jwt({"token_type": "refresh", "exp": time.time() + 3600, "jti": "pat"})


class LabelStudioStub:
    """Serve `files` (path -> bytes) with LS's auth rules on 127.0.0.1:<port>."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.public: dict[str, bytes] = {}  # served without auth (a plain web server / a bucket)
        self.delay_s: dict[str, float] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.predictions: list[dict] = []
        self.exchanges = 0
        self.valid_access: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                    self.wfile.write(body)

            def _authorized(self) -> bool:
                auth = self.headers.get("Authorization", "")
                return auth == f"Token {LEGACY_TOKEN}" or (
                    auth.startswith("Bearer ") and auth[7:] in stub.valid_access)

            def do_GET(self):
                stub.requests.append(("GET", self.path, dict(self.headers)))
                parts = urlsplit(self.path)
                time.sleep(stub.delay_s.get(parts.path, 0.0))
                if parts.path in stub.public:
                    return self._send(200, stub.public[parts.path])
                if parts.path.endswith("/presign/"):
                    if not self._authorized():
                        return self._send(401, b'{"detail":"auth"}')
                    uri = base64.urlsafe_b64decode(parse_qs(parts.query)["fileuri"][0]).decode()
                    return self._send(302, headers={"Location": "/bucket/" + uri.split("://", 1)[1]})
                if parts.path.startswith("/redirect-loop"):
                    return self._send(302, headers={"Location": "/redirect-loop"})
                key = parts.path + (f"?{parts.query}" if parts.query else "")
                if key not in stub.files:
                    return self._send(404)
                if not self._authorized():
                    return self._send(401, b'{"detail":"Authentication credentials were not provided."}')
                return self._send(200, stub.files[key])

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.requests.append(("POST", self.path, dict(self.headers)))
                if self.path == "/api/token/refresh/":
                    if body.get("refresh") != PAT:
                        return self._send(401, b'{"detail":"Token is invalid"}')
                    stub.exchanges += 1
                    access = make_jwt({"token_type": "access", "exp": time.time() + 300, "n": stub.exchanges})
                    stub.valid_access.add(access)
                    return self._send(200, json.dumps({"access": access}).encode())
                if self.path == "/api/predictions/":
                    if not self._authorized():
                        return self._send(401)
                    stub.predictions.append(body)
                    return self._send(201, json.dumps({"id": len(stub.predictions)}).encode())
                return self._send(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LabelStudioStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
