"""An image's group (its video or capture session) from its record: COCO image fields or Label Studio task data."""

from common.image_groups import group_from


def test_video_id_is_preferred_then_video_and_values_become_strings():
    assert group_from({"video_id": 7, "video": "other"}) == "7"
    assert group_from({"video": " clip-2 "}) == "clip-2"
    assert group_from({"image": "/data/1.png"}) is None


def test_records_that_name_no_usable_group_give_none():
    assert group_from(None) is None and group_from(["video"]) is None
    assert group_from({"video": ""}) is None and group_from({"video": "   "}) is None
    assert group_from({"video_id": None, "video": "b"}) == "b"
    assert group_from({"video": {"url": "x"}}) is None  # a structure is not a clip name
