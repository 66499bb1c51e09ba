"""Secrets never reach the backend's logs: Label Studio's token from /setup, the basic-auth password, tokens in
extra params, whatever the outcome of the request (200, 400, 401, 503, 504).

Every logger is captured at DEBUG while real requests run through the app over a real Redis.
"""

from __future__ import annotations

import base64
import logging

TOKEN = "ls-token-7f3a9c1e55d04b2e"
PASSWORD = "pw-4d9e2b7a1c"
USER = "annotator"


def _auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_tokens_and_passwords_are_never_logged(make_client, ls_payload, caplog):
    client = make_client(basic_auth_user=USER, basic_auth_pass=PASSWORD)
    good, bad = _auth(USER, PASSWORD), _auth(USER, PASSWORD + "x")
    setup = ls_payload("setup_request") | {"project": "1.2", "access_token": TOKEN, "hostname": "http://127.0.0.1:1"}
    with caplog.at_level(logging.DEBUG):
        assert client.post("/setup", json=setup, headers=bad).status_code == 401
        assert client.post("/setup", json=setup).status_code == 401
        assert client.post("/setup", json=setup, headers=good).status_code == 200
        interactive = ls_payload("predict_interactive_request_api") | {"project": "1.2"}
        assert client.post("/predict", json=interactive, headers=good).status_code == 504  # no worker
        broken = dict(interactive, label_config="<View/>")
        assert client.post("/predict", json=broken, headers=good).status_code == 400
        extra = dict(setup, extra_params=f'{{"token": "{TOKEN}", "score_threshold": 2}}')
        client.post("/setup", json=extra, headers=good)
        assert client.post("/predict", json=interactive, headers=good).status_code == 400  # bad threshold
        assert client.get("/metrics", headers=good).status_code == 200
    assert caplog.records, "the requests above log warnings; capture must not be empty"
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert TOKEN not in text
    assert PASSWORD not in text
    assert base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in text
