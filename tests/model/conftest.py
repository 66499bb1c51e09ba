"""Fixtures of the model tests: one tiny network and predictor per session (building costs seconds)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_model():
    import keras

    from model.builder import build_model
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    return build_model(get_preset("tiny"))


@pytest.fixture(scope="session")
def tiny_predictor(tiny_model):
    from model.predictor import Predictor

    return Predictor(tiny_model, version="tiny-test")


@pytest.fixture()
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def scene(tiny_predictor):
    """(image, its encoding, a bank reference from another image, the bank answer with every suggestion) that the
    tiny network answers several times."""
    from answer_helpers import EVERYTHING

    from model.answering import find_instances

    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (150, 220, 3), dtype=np.uint8)
    exemplar = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    reference = tiny_predictor.encode_references(exemplar, np.array([[20, 30, 60, 90]], np.float32))
    query = tiny_predictor.encode_image(image)
    first = find_instances(tiny_predictor, query, reference, EVERYTHING)
    assert len(first) >= 3, "the scene must give the bank several suggestions to seed from"
    return image, query, reference, first
