"""bench.model_latency: the stage breakdown of a direct call names the stages each conditioning really has."""

from __future__ import annotations

import pytest

from bench.model_latency import STAGES_BY_CONDITIONING, DirectPipeline, summarize_calls
from bench.scenes import encode_jpeg, make_scene

MAX_INSTANCES = 3


@pytest.fixture(scope="module", params=["pyramid", "roi"])
def pipeline(request):
    import keras

    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    model = build_model(get_preset("tiny", conditioning=request.param))
    return DirectPipeline(Predictor(model), MAX_INSTANCES)


def test_cold_and_warm_calls_time_the_stages_of_their_conditioning(pipeline):
    scene = make_scene(96, 128, 3, seed=1)
    calls = []
    for _ in range(2):  # the first call traces
        times, query, image = pipeline.cold(encode_jpeg(scene.image), scene.boxes[0])
        calls.append(times)
    warm = pipeline.warm(query, image, scene.boxes[1], regions=False)

    expected = STAGES_BY_CONDITIONING[pipeline.conditioning]
    assert tuple(name for name in expected if name in times.stages) == expected
    assert set(times.stages) == set(expected)
    assert all(seconds >= 0 for seconds in times.stages.values())
    assert 0 <= times.instances <= MAX_INSTANCES  # random tiny heads may give boxes under a pixel wide
    # The model call is the image side + the reference side: the stages (without the probe, which times part of
    # `find` a second time) add up to at most the model call, and with the probe to at least it.
    in_call = ("preprocess", "backbone", "rpn_rois", "reference", "heads", "paste")
    without_probe = sum(times.stages.get(name, 0.0) for name in in_call)
    assert without_probe <= times.model_call + 1e-9
    assert times.model_call <= without_probe + times.stages.get("matching_rpn", 0.0) + 1e-9
    assert set(warm.stages) == {"reference", "heads", "paste", "rle"} | (
        {"matching_rpn"} if pipeline.conditioning == "pyramid" else set())
    summary = summarize_calls(calls)
    assert list(summary["stages"]) == list(expected)
    assert pipeline.backbone_fpn_only(image) > 0 and pipeline.backbone_only(image) > 0
