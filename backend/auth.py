"""Optional HTTP basic auth, as Label Studio's ML backend form supports (auth_method BASIC_AUTH).

`/health` stays open: it is what load balancers and `docker compose` health checks call.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, request

__all__ = ["OPEN_PATHS", "install_basic_auth"]

OPEN_PATHS = frozenset({"/health", "/"})


def install_basic_auth(app: Flask, user: str | None, password: str | None) -> None:
    """Require `user`/`password` on every route but OPEN_PATHS; does nothing when either is unset."""
    if not user or not password:
        return

    @app.before_request
    def _check_basic_auth() -> Response | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.authorization
        if (given is not None and given.type == "basic"
                and hmac.compare_digest((given.username or "").encode(), user.encode())
                and hmac.compare_digest((given.password or "").encode(), password.encode())):
            return None
        response = Response(
            '{"error": "Authentication required: set Basic Auth user and password in the ML backend '
            'connection settings of the Label Studio project."}',
            status=401, mimetype="application/json",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="siamese-assist"'
        return response
