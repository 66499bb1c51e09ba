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
