from __future__ import annotations

import pytest

from backend.label_config import parse_label_config
from common.exceptions import BadRequestError


def test_captured_config_answers_rectangles_brushes_and_polygons_but_not_keypoints(ls_payload):
    config = parse_label_config(ls_payload("predict_interactive_request_api")["label_config"])
    assert config.image_name == "image"
    assert config.image_key == "image"
    assert [(o.from_name, o.type) for o in config.outputs] == [
        ("box", "rectanglelabels"), ("mask", "brushlabels"), ("poly", "polygonlabels")]
    assert all(o.to_name == "image" for o in config.outputs)
    assert config.labels["box"] == ("Object",)


def test_outputs_for_label_keeps_only_controls_carrying_that_label():
    config = parse_label_config(
        '<View><Image name="img" value="$photo"/>'
        '<RectangleLabels name="r" toName="img"><Label value="cat"/></RectangleLabels>'
        '<BrushLabels name="b" toName="img"><Label value="dog"/></BrushLabels></View>')
    assert config.image_key == "photo"
    assert [o.from_name for o in config.outputs_for_label("cat")] == ["r"]
    assert [o.from_name for o in config.outputs_for_label("dog")] == ["b"]
    assert config.outputs_for_label("bird") == ()


@pytest.mark.parametrize(("xml", "message"), [
    ("", "empty"),
    ("<View><Text name='t' value='$text'/></View>", "no <Image>"),
    ('<View><Image name="i" value="$image"/><Choices name="c" toName="i"><Choice value="a"/></Choices></View>',
     "no RectangleLabels"),
    ("<View><Image", "does not parse"),
])
def test_unusable_configs_are_refused_with_a_fix(xml, message):
    with pytest.raises(BadRequestError, match=message):
        parse_label_config(xml)
