"""backend.json_provider: the app's responses are orjson-encoded and mean what the standard library's would."""

from __future__ import annotations

import datetime
import decimal
import json
import math

import numpy as np
from flask import Flask, jsonify

from backend.json_provider import OrjsonProvider
from common.brush_rle import mask_to_brush_rle


def _app() -> Flask:
    app = Flask("test")
    app.json = OrjsonProvider(app)
    return app


def test_an_answer_encodes_to_the_same_json_value_in_the_same_key_order():
    mask = np.zeros((48, 64), bool)
    mask[10:30, 5:50] = True
    answer = {"results": [{"result": [{"id": "a1", "type": "brushlabels", "score": 0.8125,
                                       "value": {"format": "rle", "rle": mask_to_brush_rle(mask),
                                                 "brushlabels": ["Object"]}},
                                      {"id": "a2", "value": {"points": [[12.5, 3.25], [1e-05, 99.99]],
                                                             "closed": True}}],
                           "score": 0.8, "model_version": "v1"}], "model_version": "v1", "jobs": []}
    app = _app()
    text = app.json.dumps(answer)
    assert json.loads(text) == answer
    assert list(json.loads(text)) == ["results", "model_version", "jobs"]  # not sorted
    with app.app_context():
        response = jsonify(answer)
    assert response.mimetype == "application/json" and response.get_data().endswith(b"\n")
    assert json.loads(response.get_data()) == answer


def test_types_orjson_does_not_know_fall_back_to_flask_and_nan_becomes_null():
    app = _app()
    value = {"day": datetime.date(2026, 11, 22), "amount": decimal.Decimal("1.50"), 3: "int key"}
    assert json.loads(app.json.dumps(value)) == {"day": "2026-11-22", "amount": "1.50", "3": "int key"}
    assert json.loads(app.json.dumps({"x": math.nan}))["x"] is None
    assert app.json.loads('{"a": [1, 2]}') == {"a": [1, 2]}


def test_the_service_app_uses_it():
    import redis

    from backend.app import create_app
    from common.settings import Settings

    app = create_app(Settings(), redis.Redis.from_url("redis://127.0.0.1:1/0"))
    assert isinstance(app.json, OrjsonProvider)
