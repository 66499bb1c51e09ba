"""The effort measure's model answerer gives what the worker's interactive job gives (a real embedded Redis, the
worker's job function called in-process, the tiny preset): same boxes, scores and masks, back in the image's size."""

from __future__ import annotations

import base64
import dataclasses

import cv2
import numpy as np
import pytest
from effort_scenes import make_scene
from PIL import Image

from common.jobs import (
    Exemplar,
    ImageSource,
    InteractiveRequest,
    LabelExemplars,
    OutputControl,
    PredictionResult,
    Thresholds,
)
from common.masks import decode_mask
from common.settings import Settings
from model.answering import AnswerThresholds
from model.evaluation.effort_runner import QueryImage
from model.evaluation.service_answerer import ServiceAnswerer
from model.images import load_image

SCALE = 2.5  # the scene enlarged to 480 x 640: the tiny preset (128 px) decodes that JPEG at 1/2, as the worker does
SCORE, NMS, CAP = 0.0, 0.5, 30


@pytest.fixture(scope="module")
def predictor():
    import keras

    from model.predictor import Predictor

    keras.utils.set_random_seed(0)
    return Predictor.from_preset("tiny")


@pytest.fixture
def photo(tmp_path):
    scene, boxes = make_scene()
    size = (round(scene.shape[1] * SCALE), round(scene.shape[0] * SCALE))
    path = tmp_path / "scene.jpg"
    Image.fromarray(scene).resize(size, Image.BILINEAR).save(path, quality=90)
    return path, boxes * SCALE


@pytest.fixture
def installed_runtime(redis_url, tmp_path, predictor):
    from worker import runtime

    rt = runtime.Runtime(Settings(redis_url=redis_url, model_dir=tmp_path / "models"), predictor)
    runtime.install(rt)
    yield rt
    runtime._runtime = None  # the next test (or job) builds its own


def test_answers_are_the_worker_interactive_answers_in_the_image_frame(photo, installed_runtime, predictor):
    from worker.jobs import interactive_job

    path, boxes = photo
    pixels = load_image(path)
    reference = boxes[0]
    url = "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()
    request = InteractiveRequest(project_id=1, image=ImageSource(url=url),
                                 reference_boxes=(tuple(float(v) for v in reference),),
                                 thresholds=Thresholds(SCORE, NMS, CAP), expected_size=pixels.shape[:2])
    worker = PredictionResult.from_dict(interactive_job(request.to_dict()))
    assert worker.image_size == (pixels.shape[0] // 2, pixels.shape[1] // 2)  # decoded at 1/2 by the worker
    assert worker.instances, "score threshold 0 must return the tiny net's detections"

    answerer = ServiceAnswerer(predictor, AnswerThresholds(SCORE, NMS, CAP), decode_factor=2)
    answer = answerer(QueryImage(pixels, path, "scene"), reference)
    np.testing.assert_allclose(answer.scores, [i.score for i in worker.instances], rtol=1e-6)
    np.testing.assert_allclose(answer.boxes, np.array([i.box for i in worker.instances]) * 2, atol=1e-3)
    for mask, record in zip(answer.masks, worker.instances, strict=True):
        expected = cv2.resize(decode_mask(record.mask).astype(np.uint8), pixels.shape[1::-1],
                              interpolation=cv2.INTER_NEAREST).astype(bool)
        assert mask.shape == pixels.shape[:2] and np.array_equal(mask, expected)


def test_full_size_decoding_and_the_score_threshold(photo, predictor):
    path, boxes = photo
    pixels = load_image(path)
    full = ServiceAnswerer(predictor, AnswerThresholds(SCORE, NMS, CAP), decode_factor=0)
    answer = full(QueryImage(pixels, path, "scene"), boxes[0])
    assert answer.masks[0].shape == pixels.shape[:2]
    strict = ServiceAnswerer.from_settings(predictor, Settings(decode_factor=0), score_threshold=1.0)
    assert strict.thresholds == AnswerThresholds(1.0, Settings().nms_threshold, Settings().max_instances)
    assert len(strict(QueryImage(pixels, path, "scene"), boxes[0])) <= len(answer)


def _data_url(path) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()


def _exemplars_in_the_worker_and_in_the_measure(photo, installed_runtime, predictor, caplog, option: str,
                                                 label: str, field: str):
    """Runs the worker's interactive job with the exemplars of `label` in the request's `field` (one whose image
    cannot be loaded) and the measure's answerer with the same exemplar, the model's `option` on; checks that one
    is left out with a warning and that both answer alike. Returns `(worker's scores, the request)`."""
    from model.evaluation.bank_effort import Exemplar as BankExemplar
    from model.predictor import Predictor
    from worker.jobs import interactive_job

    configured = Predictor(predictor.model, version=option)
    configured.config = predictor.config.replace(**{option: True}, detection_reference_gate=0.0)
    installed_runtime.predictor = configured
    path, boxes = photo
    pixels = load_image(path)
    outputs = (OutputControl(from_name="label", to_name="image", type="rectanglelabels"),)
    exemplars = LabelExemplars(label=label, outputs=outputs, exemplars=(
        Exemplar(image=ImageSource(url=_data_url(path)), boxes=(tuple(float(v) for v in boxes[1]),)),
        Exemplar(image=ImageSource(url="/data/local-files/?d=missing.png"), boxes=((1.0, 2.0, 30.0, 40.0),))))
    request = InteractiveRequest(project_id=1, image=ImageSource(url=_data_url(path)),
                                 reference_boxes=(tuple(float(v) for v in boxes[0]),),
                                 thresholds=Thresholds(SCORE, NMS, CAP), expected_size=pixels.shape[:2],
                                 **{field: (exemplars,) if field == "other_labels" else exemplars})
    worker = PredictionResult.from_dict(interactive_job(request.to_dict()))
    assert "left out of the drawn box's answer" in caplog.text and "missing.png" in caplog.text

    at = AnswerThresholds(SCORE, NMS, CAP)
    bank = {label: [BankExemplar(pixels, boxes[1:2], "scene")]}
    if label != "cell":
        bank["cell"] = [BankExemplar(pixels, boxes[:1], "drawn")]  # the drawn label's own: never claims
    answer = ServiceAnswerer(configured, at, decode_factor=2, claims=bank)(QueryImage(pixels, path, "scene"),
                                                                          boxes[0], "cell")
    np.testing.assert_allclose(answer.scores, [i.score for i in worker.instances], rtol=1e-6)
    return [i.score for i in worker.instances], request


def test_the_other_labels_claim_their_objects_in_the_worker_and_in_the_measure_alike(
        photo, installed_runtime, predictor, caplog):
    """With `detection_label_claims` on, the job's `other_labels` and the answerer's exemplars give one answer; an
    exemplar whose image cannot be loaded is left out (a warning), and the drawn box is still answered."""
    from worker.jobs import interactive_job

    claimed, request = _exemplars_in_the_worker_and_in_the_measure(
        photo, installed_runtime, predictor, caplog, "detection_label_claims", "dust", "other_labels")
    plain = PredictionResult.from_dict(interactive_job(dataclasses.replace(request, other_labels=()).to_dict()))
    assert len(claimed) < len(plain.instances)  # the other kind's exemplar, a copy of the same patch, claims some


def test_the_drawn_labels_own_bank_joins_in_the_worker_and_in_the_measure_alike(
        photo, installed_runtime, predictor, caplog):
    """With `detection_drawn_bank` on, the job's `drawn_label` and the answerer's exemplars of the drawn label give
    one answer; an exemplar whose image cannot be loaded is left out (a warning)."""
    from worker.jobs import interactive_job

    joined, request = _exemplars_in_the_worker_and_in_the_measure(
        photo, installed_runtime, predictor, caplog, "detection_drawn_bank", "cell", "drawn_label")
    alone = PredictionResult.from_dict(interactive_job(dataclasses.replace(request, drawn_label=None).to_dict()))
    assert [i.score for i in alone.instances] != joined
