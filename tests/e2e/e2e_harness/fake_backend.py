"""A throwaway ML backend for the harness self-test: it speaks Label Studio's protocol with fixed answers.

It validates the harness (Label Studio start, project, import, ML connection, webhooks, the browser flow)
independently of the real plugin. Interactive requests get one "other instance" per region type: the
reference box moved beside itself. Batch requests get one fixed rectangle per task. START_TRAINING bumps the
model version. It runs in a thread of the test process on 127.0.0.1 and records every call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from .label_config import BRUSH_NAME, IMAGE_NAME, POLYGON_NAME, RECTANGLE_NAME, REGION_TYPES
from .processes import LOOPBACK, free_port
from .regions import mask_rle

FIRST_VERSION = "fake-v1"
SCORE = 0.9
BATCH_BOX_PERCENT = {"x": 10.0, "y": 10.0, "width": 30.0, "height": 30.0}


@dataclass
class FakeBackendState:
    version: str = FIRST_VERSION
    calls: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, body: dict) -> None:
        with self.lock:
            self.calls.append((path, body))

    def called(self, path: str) -> list[dict]:
        with self.lock:
            return [body for p, body in self.calls if p == path]


def _suggestions(reference: dict, version: str) -> dict:
    width, height = reference["original_width"], reference["original_height"]
    label = reference["value"][reference["type"]][0]
    ref = reference["value"]
    # the "other instance": the reference moved right by its own width (left if it would leave the image)
    x = ref["x"] + ref["width"] if ref["x"] + 2 * ref["width"] <= 100 else max(0.0, ref["x"] - ref["width"])
    box = {"x": x, "y": ref["y"], "width": ref["width"], "height": ref["height"]}
    mask = np.zeros((height, width), dtype=bool)
    x1, y1 = int(box["x"] * width / 100), int(box["y"] * height / 100)
    x2, y2 = int((box["x"] + box["width"]) * width / 100), int((box["y"] + box["height"]) * height / 100)
    mask[y1:y2, x1:x2] = True
    common = {"to_name": IMAGE_NAME, "original_width": width, "original_height": height, "image_rotation": 0,
              "score": SCORE}
    corners = [[box["x"], box["y"]], [box["x"] + box["width"], box["y"]],
               [box["x"] + box["width"], box["y"] + box["height"]], [box["x"], box["y"] + box["height"]]]
    result = [
        {**common, "id": "fake-box", "from_name": RECTANGLE_NAME, "type": REGION_TYPES[RECTANGLE_NAME],
         "value": {**box, "rotation": 0, REGION_TYPES[RECTANGLE_NAME]: [label]}},
        {**common, "id": "fake-mask", "from_name": BRUSH_NAME, "type": REGION_TYPES[BRUSH_NAME],
         "value": {"format": "rle", "rle": mask_rle(mask), REGION_TYPES[BRUSH_NAME]: [label]}},
        {**common, "id": "fake-poly", "from_name": POLYGON_NAME, "type": REGION_TYPES[POLYGON_NAME],
         "value": {"points": corners, "closed": True, REGION_TYPES[POLYGON_NAME]: [label]}},
    ]
    return {"result": result, "score": SCORE, "model_version": version}


def _batch_prediction(task: dict, label: str, version: str) -> dict:
    width, height = task["data"].get("width", 100), task["data"].get("height", 100)
    region = {"id": f"fake-batch-{task['id']}", "from_name": RECTANGLE_NAME, "to_name": IMAGE_NAME,
              "type": REGION_TYPES[RECTANGLE_NAME], "original_width": width, "original_height": height,
              "value": {**BATCH_BOX_PERCENT, "rotation": 0, REGION_TYPES[RECTANGLE_NAME]: [label]}}
    return {"result": [region], "score": SCORE, "model_version": version}


def create_app(state: FakeBackendState, batch_label: str) -> Flask:
    app = Flask("fake_ml_backend")

    @app.get("/health")
    def health():
        return jsonify(status="UP", model_version=state.version)

    @app.post("/setup")
    def setup():
        state.record("/setup", request.get_json(force=True))
        return jsonify(model_version=state.version)

    @app.post("/predict")
    def predict():
        body = request.get_json(force=True)
        state.record("/predict", body)
        context = (body.get("params") or {}).get("context") or {}
        if context.get("result"):
            return jsonify(results=[_suggestions(context["result"][-1], state.version)])
        return jsonify(results=[_batch_prediction(task, batch_label, state.version) for task in body["tasks"]])

    @app.post("/webhook")
    def webhook():
        body = request.get_json(force=True)
        state.record("/webhook", body)
        if body.get("action") == "START_TRAINING":
            with state.lock:
                state.version = f"fake-v{int(state.version.rsplit('v', 1)[1]) + 1}"
        return jsonify(status="ok"), 201

    @app.get("/versions")
    def versions():
        return jsonify(versions=[state.version])

    return app


class FakeBackend:
    """`with FakeBackend(label) as backend:` serves on `backend.url` until the block ends."""

    def __init__(self, batch_label: str) -> None:
        self.state = FakeBackendState()
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._server = make_server(LOOPBACK, self.port, create_app(self.state, batch_label), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-ml-backend", daemon=True)

    def __enter__(self) -> FakeBackend:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
