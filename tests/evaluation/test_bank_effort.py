"""The measure's bank mode: no reference drawn, every bank label answers each judged image; its bookkeeping on
hand-made answers, and the model answerer against the worker's own batch job (real embedded Redis, tiny preset)."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import pytest
from effort_scenes import make_scene
from hand_made import make_image
from PIL import Image

from common.jobs import (
    BatchRequest,
    BatchResult,
    Exemplar,
    ImageSource,
    LabelExemplars,
    OutputControl,
    Thresholds,
)
from common.masks import decode_mask
from common.settings import Settings
from model.answering import AnswerThresholds
from model.data import Dataset
from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials, run_bank_effort
from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import QueryImage

SCALE = 2.5
SCORE, NMS, CAP = 0.0, 0.5, 30


def _judged() -> Dataset:
    categories = ("cat", "dog")
    return Dataset(categories, (
        make_image(0, [("cat", (0, 0, 10, 10)), ("cat", (20, 20, 30, 30)), ("dog", (40, 0, 50, 10))], categories),
        make_image(1, [("dog", (30, 30, 60, 60))], categories),
    ))


def test_bank_trials_count_every_suggestion_once_and_a_wrong_label_as_a_deletion():
    dataset = _judged()
    answers = {
        "0:0": Suggestions(np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 0, 50, 10], [40, 0, 50, 10]]),
                           np.array([0.9, 0.8, 0.7, 0.6]), labels=("cat", "cat", "cat", "dog")),
        "1:1": Suggestions(np.zeros((0, 4)), np.zeros(0)),
    }
    trials = plan_bank_trials(dataset, ["cat", "dog"])
    assert [(t.image_index, t.category, t.reference_index) for t in trials] == [
        (0, "cat", None), (0, "dog", None), (1, "cat", None), (1, "dog", None)]
    run = run_bank_effort(dataset, trials, lambda image: answers[image.key])
    summary = run.summary()
    # cats: both right; the "cat" on the dog is deleted; the dog found; the second image's dog missed
    assert (summary.instances, summary.references, summary.right, summary.deletions, summary.misses) == (4, 0, 3, 1, 1)
    assert summary.effort == summary.errors_per_instance == pytest.approx(2 / 4)
    assert summary.deletions_by_kind["other class"] == 1


def test_bank_from_accepted_data_keeps_each_labels_boxes_per_image():
    bank = bank_from_dataset(_judged())
    assert list(bank) == ["cat", "dog"]
    assert [len(e.boxes) for e in bank["cat"]] == [2] and [len(e.boxes) for e in bank["dog"]] == [1, 1]


@pytest.fixture(scope="module")
def predictor():
    import keras

    from model.predictor import Predictor

    keras.utils.set_random_seed(0)
    return Predictor.from_preset("tiny")


@pytest.fixture
def installed_runtime(redis_url, tmp_path, predictor):
    from worker import runtime

    rt = runtime.Runtime(Settings(redis_url=redis_url, model_dir=tmp_path / "models"), predictor)
    runtime.install(rt)
    yield rt
    runtime._runtime = None


def _data_url(image: np.ndarray, kind: str) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG" if kind == "jpeg" else "PNG", quality=90)
    return f"data:image/{kind};base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_bank_answers_as_the_worker_batch_job_with_the_right_labels(installed_runtime, predictor, tmp_path):
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import Exemplar as BankExemplar
    from worker.jobs import batch_job

    scene, boxes = make_scene()
    big = np.asarray(Image.fromarray(scene).resize((round(scene.shape[1] * SCALE), round(scene.shape[0] * SCALE)),
                                                  Image.BILINEAR))
    path = tmp_path / "query.jpg"
    Image.fromarray(big).save(path, quality=90)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    exemplar_image, _ = make_scene(seed=1)
    bank = {"patch": [BankExemplar(exemplar_image, boxes[:2].astype(np.float32), "ex-1")],
            "turned": [BankExemplar(exemplar_image, boxes[4:5].astype(np.float32), "ex-1"),
                       BankExemplar(exemplar_image, boxes[2:3].astype(np.float32), "ex-1")]}
    output = (OutputControl("label", "image", "rectanglelabels"),)
    source = ImageSource(url=_data_url(exemplar_image, "png"))
    labels = tuple(LabelExemplars(name, tuple(Exemplar(source, tuple(tuple(float(v) for v in b) for b in e.boxes))
                                              for e in exemplars), output)
                   for name, exemplars in bank.items())
    request = BatchRequest(project_id=1, task_id=7, image=ImageSource(url=_data_url(big, "jpeg")), labels=labels,
                           thresholds=Thresholds(SCORE, NMS, CAP))
    worker = BatchResult.from_dict(batch_job(request.to_dict()))
    assert worker.image_size == (big.shape[0] // 2, big.shape[1] // 2)  # decoded at 1/2, as the answerer must

    answerer = BankAnswerer(predictor, bank, AnswerThresholds(SCORE, NMS, CAP), decode_factor=2)
    answer = answerer(QueryImage(pixels, path, "query"))
    expected_labels = tuple(name for name, records in worker.instances.items() for _ in records)
    assert answer.labels == expected_labels and set(answer.labels) == {"patch", "turned"}
    records = [record for items in worker.instances.values() for record in items]
    np.testing.assert_allclose(answer.scores, [r.score for r in records], rtol=1e-5)
    np.testing.assert_allclose(answer.boxes, np.array([r.box for r in records]) * 2, atol=1e-2)
    for mask, record in zip(answer.masks, records, strict=True):
        expected = cv2.resize(decode_mask(record.mask).astype(np.uint8), pixels.shape[1::-1],
                              interpolation=cv2.INTER_NEAREST).astype(bool)
        assert np.array_equal(mask, expected)


def test_a_version_whose_bank_does_not_pay_answers_the_batch_job_and_the_measure_with_nothing(
        installed_runtime, predictor):
    """`detection_bank_answers` off (the recipe's step 5): the worker's batch job returns every label empty, as the
    bank mode of the measure counts it (every instance a miss, effort 1.0)."""
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import Exemplar as BankExemplar
    from worker.jobs import batch_job

    scene, boxes = make_scene()
    exemplar_image, _ = make_scene(seed=1)
    output = (OutputControl("label", "image", "rectanglelabels"),)
    source = ImageSource(url=_data_url(exemplar_image, "png"))
    exemplar = Exemplar(source, tuple(tuple(float(v) for v in b) for b in boxes[:2]))
    labels = tuple(LabelExemplars(name, (exemplar,), output) for name in ("patch", "turned"))
    request = BatchRequest(project_id=1, task_id=8, image=ImageSource(url=_data_url(scene, "png")), labels=labels,
                           thresholds=Thresholds(0.0, NMS, CAP))
    assert any(BatchResult.from_dict(batch_job(request.to_dict())).instances.values())  # at 0, the bank answers
    bank = {"patch": [BankExemplar(exemplar_image, boxes[:2].astype(np.float32), "ex-1")]}
    own = predictor.config
    predictor.config = own.replace(detection_bank_answers=False)
    try:
        silent = BatchResult.from_dict(batch_job(request.to_dict()))
        answer = BankAnswerer(predictor, bank, AnswerThresholds(0.0, NMS, CAP), decode_factor=1)(
            QueryImage(scene, None, "query"))
    finally:
        predictor.config = own
    assert silent.instances == {"patch": (), "turned": ()} and silent.image_size == scene.shape[:2]
    assert len(answer.boxes) == 0 and not answer.labels
