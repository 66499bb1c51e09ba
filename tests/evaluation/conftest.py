"""Fixtures for the evaluator tests: a small in-memory dataset."""

from __future__ import annotations

import pytest
from hand_made import make_image

from model.data import Dataset


@pytest.fixture
def two_class_dataset() -> Dataset:
    categories = ("cat", "dog")
    return Dataset(
        categories,
        (
            make_image(
                0, [("cat", (0, 0, 10, 10)), ("cat", (20, 20, 30, 30)), ("dog", (40, 0, 50, 10))], categories
            ),
            make_image(1, [("cat", (5, 5, 25, 25)), ("dog", (30, 30, 60, 60))], categories),
            make_image(2, [("dog", (0, 30, 20, 50))], categories),
            make_image(3, [], categories),
        ),
    )
