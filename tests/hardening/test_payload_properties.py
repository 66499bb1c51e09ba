"""Property-based tests of the payload parsers and coordinate conversions (hypothesis).

Whatever JSON Label Studio (or anyone) sends, the parsers either return a value or raise the project's own error
(`BadRequestError` in the backend, `ValueError` naming the field in the job schemas): never a `TypeError`,
`OverflowError`, `AttributeError` or similar that would become an unexplained HTTP 500.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.label_config import parse_label_config
from backend.projects import ProjectSetup, parse_project_id
from common.exceptions import BadRequestError
from common.jobs import BatchRequest, InteractiveRequest, OutputControl, PredictionResult, TrainingRequest
from common.masks import encode_mask
from common.region_boxes import region_to_box, regions_to_boxes, select_reference
from common.regions import instances_to_regions

EXAMPLES = 150
"""Examples per property (bounded: the suite shares two cores)."""

_FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REGION_TYPES = ("rectanglelabels", "polygonlabels", "brushlabels", "keypointlabels", None)

# Any JSON value, including the non-standard NaN/Infinity Python's json accepts and huge integers.
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
numbers = (st.integers(min_value=-10**6, max_value=10**6) | st.floats(allow_nan=True, allow_infinity=True)
           | st.integers(min_value=10**300, max_value=10**400) | st.text(max_size=6) | st.none())


@st.composite
def regions(draw) -> dict:
    """Region-shaped dicts with arbitrary (often wrong) field values."""
    kind = draw(st.sampled_from(REGION_TYPES) | json_values)
    value = draw(st.fixed_dictionaries({}, optional={
        "x": numbers, "y": numbers, "width": numbers, "height": numbers, "rotation": numbers,
        "points": json_values | st.lists(st.lists(numbers, max_size=3), max_size=5),
        "rle": json_values | st.lists(st.integers(min_value=-5, max_value=300), max_size=20),
        "format": st.sampled_from(["rle", "png"]) | json_values,
        "rectanglelabels": json_values | st.just(["Object"]),
        "polygonlabels": st.just(["Object"]), "brushlabels": st.just(["Object"]),
    }) | json_values)
    return draw(st.fixed_dictionaries(
        {"type": st.just(kind)},
        optional={"value": st.just(value), "original_width": numbers, "original_height": numbers,
                  "from_name": json_values, "origin": json_values, "id": json_values}))


@_FUZZ
@given(region=regions())
def test_region_to_box_returns_a_finite_box_inside_the_image_or_a_bad_request(region):
    try:
        x1, y1, x2, y2 = region_to_box(region)
    except BadRequestError as error:
        assert str(error)
        return
    height, width = int(region["original_height"]), int(region["original_width"])
    assert all(math.isfinite(v) for v in (x1, y1, x2, y2))
    assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
    assert x2 - x1 >= 1 and y2 - y1 >= 1


@_FUZZ
@given(context=json_values | st.fixed_dictionaries({"result": st.lists(regions(), min_size=1, max_size=4)}))
def test_select_reference_on_any_context_is_a_reference_or_a_bad_request(context):
    try:
        reference = select_reference(context)
    except BadRequestError:
        return
    assert reference.boxes and isinstance(reference.label, str)
    assert set(reference.boxes) <= set(reference.existing)


@_FUZZ
@given(items=json_values | st.lists(regions(), max_size=5))
def test_regions_to_boxes_skips_whatever_it_cannot_read(items):
    per_label = regions_to_boxes(items if isinstance(items, list) else [items])
    assert all(isinstance(label, str) and boxes for label, boxes in per_label.items())


@_FUZZ
@given(value=json_values)
def test_project_ids_are_positive_ints_or_a_bad_request(value):
    try:
        project_id = parse_project_id(value)
    except BadRequestError:
        return
    assert isinstance(project_id, int) and project_id > 0


@_FUZZ
@given(body=st.dictionaries(st.sampled_from(["extra_params", "hostname", "access_token", "schema"]),
                            json_values | st.text(max_size=20), max_size=4))
def test_setup_bodies_parse_or_are_a_bad_request(body):
    try:
        setup = ProjectSetup.from_request(body)
    except BadRequestError:
        return
    assert isinstance(setup.extra_params, dict)


@settings(max_examples=60, deadline=None)
@given(xml=st.text(max_size=60) | st.sampled_from([
    "<View/>", "<View><Image name='i' value='$image'/></View>",
    "<View><RectangleLabels name='b' toName='i'><Label value='A'/></RectangleLabels></View>",
    "<View><Image name='i' value='$image'/><KeyPointLabels name='k' toName='i'/></View>", "<View><Image",
]))
def test_label_configs_parse_or_are_a_bad_request(xml):
    try:
        config = parse_label_config(xml)
    except BadRequestError:
        return
    assert config.outputs


@_FUZZ
@pytest.mark.parametrize("schema", [InteractiveRequest, BatchRequest, PredictionResult, TrainingRequest])
@given(data=json_values)
def test_job_schemas_validate_any_json_with_a_value_error(schema, data):
    try:
        schema.from_dict(data)
    except ValueError as error:
        assert str(error)


MIN_SIDE = 2
"""Boxes of the model are at least this many pixels wide (a 1-pixel box may round to just under a pixel)."""
IMAGE_SIZES = st.tuples(st.integers(min_value=MIN_SIDE, max_value=4000),
                        st.integers(min_value=MIN_SIDE, max_value=4000))


@st.composite
def box_in_image(draw) -> tuple[tuple[int, int], tuple[float, float, float, float]]:
    height, width = draw(IMAGE_SIZES)
    x1 = draw(st.floats(min_value=0, max_value=width - MIN_SIDE, allow_nan=False))
    y1 = draw(st.floats(min_value=0, max_value=height - MIN_SIDE, allow_nan=False))
    x2 = draw(st.floats(min_value=min(x1 + MIN_SIDE, width), max_value=width, allow_nan=False))
    y2 = draw(st.floats(min_value=min(y1 + MIN_SIDE, height), max_value=height, allow_nan=False))
    return (height, width), (x1, y1, x2, y2)


PERCENT_ROUNDING = 1e-4
"""Percent values are rounded to 4 digits: each edge moves by at most half that share of the image side."""


@_FUZZ
@given(case=box_in_image())
def test_pixel_box_to_percent_rectangle_and_back_is_the_same_box(case):
    (height, width), box = case
    mask = encode_mask(np.zeros((1, 1), bool))
    record = PredictionResult.from_dict({"model_version": "v", "image_size": [height, width],
                                         "instances": [{"box": list(box), "score": 0.5, "mask": mask}]}).instances[0]
    control = OutputControl(from_name="box", to_name="image", type="rectanglelabels")
    (region,) = instances_to_regions([record], (control,), "Object", (height, width))
    value = region["value"]
    assert 0 <= value["x"] <= 100 and 0 <= value["y"] <= 100 and value["width"] > 0 and value["height"] > 0
    back = region_to_box(region)
    tolerance_x, tolerance_y = PERCENT_ROUNDING * width / 100, PERCENT_ROUNDING * height / 100
    for got, want, tol in zip(back, box, (tolerance_x, tolerance_y) * 2, strict=True):
        # x2 = x + width: two rounded values, so twice the tolerance; then the clip to the image.
        assert abs(got - want) <= 2 * tol + 1e-6


@_FUZZ
@given(case=box_in_image(), scale=st.floats(min_value=0.25, max_value=4.0))
def test_a_reference_measured_on_another_image_size_scales_proportionally(case, scale):
    (height, width), (x1, y1, x2, y2) = case
    region = {"type": "rectanglelabels", "original_width": width, "original_height": height,
              "value": {"x": 100 * x1 / width, "y": 100 * y1 / height, "width": 100 * (x2 - x1) / width,
                        "height": 100 * (y2 - y1) / height, "rectanglelabels": ["A"]}}
    scaled = dict(region, original_width=max(2, round(width * scale)), original_height=max(2, round(height * scale)))
    try:
        a, b = region_to_box(region), region_to_box(scaled)
    except BadRequestError:
        return  # the scaled copy may cover less than a pixel
    sx, sy = scaled["original_width"] / width, scaled["original_height"] / height
    assert b == pytest.approx((a[0] * sx, a[1] * sy, a[2] * sx, a[3] * sy), rel=1e-6, abs=1e-6)
