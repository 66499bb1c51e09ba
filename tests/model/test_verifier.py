"""The verifier (model/verifier.py): descriptors, features, the fit, the config, and a drawn box's answer re-scored."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from model.config import ModelConfig
from model.verifier import (
    BOX_FEATURES,
    CANDIDATE_FLOOR,
    CONFIG_LENGTHS,
    FEATURES,
    Verifier,
    box_descriptors,
    canvas_boxes,
    fit_verifier,
    mask_features,
    reference_suggestion,
    suggestion_features,
    unit_feature_map,
)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def constant(probability: float) -> tuple[float, ...]:
    """A verifier config that gives every suggestion `probability`."""
    return Verifier(_logit(probability), (0.0,) * 4, (0.0,) * 4, (1.0,) * 4).to_config()


def cosine_only(weight: float = 5.0) -> tuple[float, ...]:
    """A verifier config that ranks by the descriptor cosine alone (standardised around 0.5)."""
    return Verifier(0.0, (0.0, weight, 0.0, 0.0), (0.0, 0.5, 0.0, 0.0), (1.0, 0.25, 1.0, 1.0)).to_config()


# --- descriptors -------------------------------------------------------------------------------------------------

def test_the_feature_map_is_unit_vectors_on_the_fine_grid():
    rng = np.random.default_rng(0)
    fine, coarse = rng.random((8, 10, 3)), rng.random((4, 5, 2))
    features = unit_feature_map(fine, coarse)
    assert features.shape == (8, 10, 5)
    assert np.allclose(np.linalg.norm(features, axis=-1), 1.0, atol=1e-5)
    # each half carries its own map's direction, at equal weight
    assert np.allclose(np.linalg.norm(features[..., :3], axis=-1), np.sqrt(0.5), atol=1e-5)


def test_the_feature_map_takes_more_channels_than_opencv_resizes_at_once():
    """ResNet's and EfficientNet-Lite's stride-16 maps have more than 512 channels: resized as one channel at a time
    would be."""
    import cv2

    rng = np.random.default_rng(1)
    fine, coarse = rng.random((8, 10, 3)).astype(np.float32), rng.random((4, 5, 1030)).astype(np.float32)
    features = unit_feature_map(fine, coarse)
    assert features.shape == (8, 10, 3 + 1030)
    resized = np.stack([cv2.resize(coarse[..., c], (10, 8), interpolation=cv2.INTER_LINEAR) for c in range(1030)], -1)
    unit = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    assert np.allclose(features, unit(np.concatenate([unit(fine), unit(resized)], axis=-1)), atol=1e-5)


def _two_halves() -> np.ndarray:
    """A (4, 8, 2) map: (1, 0) on the left half, (0, 1) on the right half."""
    features = np.zeros((4, 8, 2), np.float32)
    features[:, :4, 0] = 1.0
    features[:, 4:, 1] = 1.0
    return features


def test_a_box_reads_the_descriptor_of_its_central_half():
    features = _two_halves()
    left = box_descriptors(features, np.array([[0, 0, 24, 32]]), stride=8)  # cells 0..2: the left half
    right = box_descriptors(features, np.array([[40, 0, 64, 32]]), stride=8)
    assert np.allclose(left, [[1, 0]], atol=1e-6) and np.allclose(right, [[0, 1]], atol=1e-6)
    straddling = box_descriptors(features, np.array([[16, 0, 48, 32]]), stride=8)[0]  # centred on the border
    assert straddling[0] == pytest.approx(straddling[1], abs=1e-6)
    assert np.linalg.norm(straddling) == pytest.approx(1.0, abs=1e-6)


def test_boxes_outside_the_map_read_its_edge_and_no_box_gives_no_row():
    features = _two_halves()
    outside = box_descriptors(features, np.array([[500, 500, 540, 540], [-90, 0, -50, 10]]), stride=8)
    assert np.allclose(outside, [[0, 1], [1, 0]], atol=1e-6)
    assert box_descriptors(features, np.zeros((0, 4))).shape == (0, 2)


def test_canvas_boxes_scale_then_shift():
    moved = canvas_boxes(np.array([[10, 20, 30, 60]]), 0.5, offset=(7, 3))
    assert np.allclose(moved, [[12, 13, 22, 33]])


# --- features and the verifier -----------------------------------------------------------------------------------

def test_suggestion_features_by_hand():
    drawn = np.array([[0, 0, 20, 10]])  # size sqrt(200), aspect 2
    boxes = np.array([[0, 0, 20, 10], [0, 0, 40, 20], [0, 0, 10, 20]])
    features = suggestion_features([0.5, 0.9, 0.2], boxes, drawn, [1.0, 0.8, 0.1])
    assert features.shape == (3, BOX_FEATURES) and FEATURES[:BOX_FEATURES][-1] == "aspect_change"
    assert np.allclose(features[:, 0], [0.0, _logit(0.9), _logit(0.2)])
    assert np.allclose(features[:, 1], [1.0, 0.8, 0.1])
    assert np.allclose(features[:, 2], [0.0, math.log(2), 0.0])  # twice the side; the same area turned
    assert np.allclose(features[:, 3], [0.0, 0.0, math.log(4)])  # aspect 2 -> 0.5


def test_several_drawn_boxes_give_their_geometric_mean_size():
    drawn = np.array([[0, 0, 10, 10], [0, 0, 40, 40]])  # sizes 10 and 40: geometric mean 20
    features = suggestion_features([0.5], np.array([[0, 0, 20, 20]]), drawn, [1.0])
    assert features[0, 2] == pytest.approx(0.0, abs=1e-9)


def test_the_config_round_trip_and_its_refusals():
    verifier = Verifier(0.3, (1.0, 2.0, -0.5, -0.1), (1.0, 0.8, 0.2, 0.3), (1.5, 0.1, 0.2, 0.4))
    values = verifier.to_config()
    assert CONFIG_LENGTHS[len(values)] == 4 and Verifier.from_config(values) == verifier
    six = Verifier(0.3, (1.0, 2.0, -0.5, -0.1, -0.2, -1.5), (1,) * 6, (1,) * 6)
    assert Verifier.from_config(six.to_config()) == six and six.reads_masks and not verifier.reads_masks
    assert Verifier.from_config(()) is None
    with pytest.raises(ValueError, match="13 or 19 numbers"):
        Verifier.from_config(values[:-1])
    with pytest.raises(ValueError, match="4 or 6 finite numbers"):
        Verifier(0.0, (0,) * 5, (0,) * 5, (1,) * 5)
    with pytest.raises(ValueError, match="finite"):
        Verifier(0.0, (float("nan"), 0, 0, 0), (0,) * 4, (1,) * 4)
    with pytest.raises(ValueError, match="positive"):
        Verifier(0.0, (0,) * 4, (0,) * 4, (1, 1, 0, 1))


def test_the_model_config_carries_a_verifier_and_its_threshold():
    plain = ModelConfig(name="plain")
    assert plain.detection_verifier == () and plain.drawn_box_threshold == plain.detection_min_confidence
    verifying = plain.replace(detection_verifier=constant(0.7), detection_verifier_threshold=0.6)
    assert verifying.drawn_box_threshold == 0.6
    again = ModelConfig.from_dict(json.loads(json.dumps(verifying.to_dict())))  # a card stores a JSON list
    assert again.detection_verifier == verifying.detection_verifier
    assert verifying.with_drawn_box_threshold(0.4).detection_verifier_threshold == 0.4
    assert plain.with_drawn_box_threshold(0.4).detection_min_confidence == 0.4  # calibrate writes the one in use
    with pytest.raises(ValueError, match="detection_verifier needs 13 or 19"):
        plain.replace(detection_verifier=(1.0, 2.0))
    with pytest.raises(ValueError, match="detection_verifier_threshold"):
        plain.replace(detection_verifier_threshold=1.5)


def test_the_reference_suggestion_is_the_closest_to_a_drawn_box():
    drawn = np.array([[0, 0, 10, 10]])
    boxes = np.array([[50, 50, 60, 60], [1, 0, 10, 10], [0, 0, 10, 11], [0, 0, 30, 30]])
    assert reference_suggestion(boxes, [0.9, 0.5, 0.6, 0.99], drawn) == 2  # IoU 100/110 beats 90/100 and 100/900
    assert reference_suggestion(boxes[[0, 3]], [0.9, 0.99], drawn) is None  # IoU 0.11: not the drawn object
    tied = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    assert reference_suggestion(tied, [0.4, 0.8], drawn) == 1  # ties go to the better score
    assert reference_suggestion(np.zeros((0, 4)), [], drawn) is None


def test_mask_features_by_hand():
    """Fill and colour against the reference: a red square (full), a red disc-ish half box, a blue square."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[0:10, 0:10] = (255, 0, 0)
    image[20:30, 0:10] = (255, 0, 0)
    image[0:10, 30:40] = (0, 0, 255)
    masks = np.zeros((3, 40, 60), bool)
    masks[0, 0:10, 0:10] = True
    masks[1, 20:30, 0:5] = True  # half its box
    masks[2, 0:10, 30:40] = True
    boxes = np.array([[0, 0, 10, 10], [0, 20, 10, 30], [30, 0, 40, 10]])
    features = mask_features(image, boxes, masks, reference=0)
    assert features.shape == (3, 2)
    assert np.allclose(features[:, 0], [0.0, np.log(2), 0.0], atol=1e-6)
    assert features[0, 1] == pytest.approx(0.0) and features[1, 1] == pytest.approx(0.0, abs=1e-5)
    assert features[2, 1] > 1.0  # red against blue: far apart in Lab
    assert np.all(mask_features(image, boxes, masks, reference=None) == 0)


def test_probability_rises_with_a_positive_weight():
    verifier = Verifier.from_config(cosine_only())
    features = suggestion_features([0.5, 0.5], np.array([[0, 0, 10, 10]] * 2), np.array([[0, 0, 10, 10]]),
                                   [0.2, 0.9])
    low, high = verifier.probability(features)
    assert 0 < low < 0.5 < high < 1


def test_the_fit_finds_what_tells_right_from_wrong():
    rng = np.random.default_rng(0)
    n = 2000
    right = rng.random(n) < 0.4
    features = np.stack([
        rng.normal(0, 1, n),                             # the score says nothing here
        np.where(right, 0.8, 0.4) + rng.normal(0, 0.1, n),  # the cosine says much
        np.abs(rng.normal(0, 0.3, n)) + np.where(right, 0, 0.3),  # wrong ones differ in size
        np.abs(rng.normal(0, 0.2, n)),
    ], axis=1)
    verifier = fit_verifier(features, right)
    assert verifier.weights[1] > 2 and verifier.weights[2] < 0 and abs(verifier.weights[0]) < 0.3
    predicted = verifier.probability(features) >= 0.5
    assert (predicted == right).mean() > 0.95
    with pytest.raises(ValueError, match="right and wrong"):
        fit_verifier(features, np.ones(n, bool))


# --- a drawn box's answer ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def verifying_predictor():
    """A tiny network built with a verifier (its encoded images carry the backbone's taps)."""
    import keras

    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    config = get_preset("tiny", detection_verifier=constant(0.7), detection_verifier_threshold=0.5)
    return Predictor(build_model(config), version="tiny-verifier")


@pytest.fixture(scope="module")
def drawn(verifying_predictor):
    image = np.random.default_rng(1).integers(0, 255, (150, 220, 3), dtype=np.uint8)
    box = np.array([[20, 30, 60, 90]], np.float32)
    return image, box, verifying_predictor.encode_image(image), verifying_predictor.encode_references(image, box)


def test_an_encoded_image_carries_the_taps_only_with_a_verifier(verifying_predictor, tiny_predictor, drawn):
    _, _, query, _ = drawn
    fine, coarse = query.features["taps"]
    size = verifying_predictor.config.image_size
    assert tuple(fine.shape[1:3]) == (size // 8, size // 8) and tuple(coarse.shape[1:3]) == (size // 16, size // 16)
    assert "taps" not in tiny_predictor.encode_image(drawn[0]).features


def test_the_network_answers_at_the_floor_and_the_verifier_cuts(verifying_predictor, drawn):
    """A verifier giving every suggestion 0.7: the answer is the network's from the floor, each scored 0.7; the
    model's own threshold (SCORE_THRESHOLD unset) or the request's cuts on that probability. A verifier giving 0.9,
    asked at 0.8: suggestions the network scores under 0.8 still come back (the network was asked at the floor)."""
    from answer_helpers import with_config

    from model.answering import AnswerThresholds, find_for_drawn_boxes, find_instances

    image, box, query, reference = drawn
    network = find_instances(with_config(verifying_predictor, detection_verifier=()), query, reference,
                             AnswerThresholds(CANDIDATE_FLOOR, 0.5, 50), reference_boxes=box)
    assert network, "the tiny network must answer the drawn box at the floor"
    answer = find_for_drawn_boxes(verifying_predictor, image, query, reference, AnswerThresholds(None, 0.5, 50), box)
    assert sorted(np.round([i.box for i in answer], 3).tolist()) == sorted(np.round([i.box for i in network],
                                                                                    3).tolist())
    assert {round(i.score, 6) for i in answer} == {0.7}
    assert find_for_drawn_boxes(verifying_predictor, image, query, reference, AnswerThresholds(0.75, 0.5, 50),
                                box) == []
    stricter = with_config(verifying_predictor, detection_verifier_threshold=0.8)
    assert find_for_drawn_boxes(stricter, image, query, reference, AnswerThresholds(None, 0.5, 50), box) == []
    under = [i for i in network if i.score < 0.8]
    assert under, "the tiny network must score a suggestion between the floor and 0.8"
    confident = with_config(verifying_predictor, detection_verifier=constant(0.9))
    kept = find_for_drawn_boxes(confident, image, query, reference, AnswerThresholds(0.8, 0.5, 50), box)
    assert len(kept) == len(network) and {round(i.score, 6) for i in kept} == {0.9}
    six = Verifier(_logit(0.7), (0.0,) * 6, (0.0,) * 6, (1.0,) * 6).to_config()  # reads masks and colours too
    with_masks = find_for_drawn_boxes(with_config(verifying_predictor, detection_verifier=six), image, query,
                                      reference, AnswerThresholds(None, 0.5, 50), box)
    assert {round(i.score, 6) for i in with_masks} == {0.7} and len(with_masks) == len(network)


def test_with_a_verifier_other_labels_claim_only_with_answers_at_the_networks_threshold(verifying_predictor, drawn,
                                                                                       monkeypatch):
    """With `CLAIMS_AT_NETWORK_THRESHOLD` (measured, off by default) the drawn answer runs from the floor, but
    another label claims an object only with an answer the network scores at least `detection_min_confidence`: with
    that at 1.0 nothing is claimed, and without a verifier the claims keep the answer's own thresholds."""
    from answer_helpers import with_config

    import model.answering as answering
    from model.answering import AnswerThresholds, _claiming, _verifier_of, find_for_drawn_boxes

    floor = AnswerThresholds(CANDIDATE_FLOOR, 0.5, 50)
    sure = with_config(verifying_predictor, detection_min_confidence=0.85)
    assert _claiming(sure, floor, _verifier_of(sure)) == floor  # the default: claims from the floor
    monkeypatch.setattr(answering, "CLAIMS_AT_NETWORK_THRESHOLD", True)

    image, box, query, reference = drawn
    at = AnswerThresholds(None, 0.5, 50)
    plain = find_for_drawn_boxes(verifying_predictor, image, query, reference, at, box)
    assert plain, "the tiny network must answer the drawn box"
    unsure = with_config(verifying_predictor, detection_label_claims=True, detection_min_confidence=1.0)
    twin = find_for_drawn_boxes(unsure, image, query, reference, at, box, others={"twin": [reference]})
    assert [i.box.tolist() for i in twin] == [i.box.tolist() for i in plain]
    claiming = with_config(verifying_predictor, detection_min_confidence=0.85)
    assert _claiming(claiming, floor, _verifier_of(claiming)) == AnswerThresholds(0.85, 0.5, 50)
    assert _claiming(claiming, floor, None) == floor
    assert _claiming(with_config(claiming, detection_min_confidence=0.1), floor, _verifier_of(claiming)) == floor


def _halves_query(height: int = 64, width: int = 128):
    """An encoded-image stand-in whose taps read (1, 0) on the left half of the image and (0, 1) on the right."""
    from types import SimpleNamespace

    from model.preprocess import ResizeInfo

    fine = np.zeros((1, height // 8, width // 8, 2), np.float32)
    fine[:, :, : width // 16, 0] = 1.0
    fine[:, :, width // 16:, 1] = 1.0
    coarse = np.zeros((1, height // 16, width // 16, 2), np.float32)
    coarse[:, :, : width // 32, 0] = 1.0
    coarse[:, :, width // 32:, 1] = 1.0
    return SimpleNamespace(features={"taps": [fine, coarse]},
                           info=ResizeInfo((height, width), 1.0, (0, 0, height, width), width))


def test_the_verifier_orders_the_answer_and_keeps_the_cut_property():
    """Ranked by the cosine, a copy looking like the drawn object outranks a better-scored one that does not; an
    answer at a threshold is the answer at a lower one cut there (the effort sweeps rely on it)."""
    from answer_helpers import instance

    from model.answering import verified

    query = _halves_query()
    drawn = np.array([[8, 16, 24, 48]], np.float32)  # on the left half
    found = [instance([96, 16, 112, 48], 0.95), instance([32, 16, 48, 48], 0.4), instance([60, 16, 76, 48], 0.6)]
    verifier = Verifier.from_config(cosine_only())
    answer = verified(verifier, query, found, drawn, 0.0)
    assert [float(i.box[0]) for i in answer] == [32.0, 60.0, 96.0]  # left look-alike, the border, the right
    assert answer[0].score > 0.9 > answer[-1].score
    assert [i.score for i in answer] == sorted((i.score for i in answer), reverse=True)
    with pytest.raises(ValueError, match="pass the image"):
        verified(Verifier(0.0, (0.0,) * 6, (0.0,) * 6, (1.0,) * 6), query, found, drawn, 0.0)
    for cut in (answer[0].score - 1e-9, (answer[1].score + answer[2].score) / 2):
        assert [i.score for i in verified(verifier, query, found, drawn, cut)] == [
            i.score for i in answer if i.score >= cut]
