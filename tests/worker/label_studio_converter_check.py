"""What makes a result region valid for Label Studio's image editor (label-studio-protocol.md §6)."""

from __future__ import annotations

from label_studio_sdk.converter.brush import decode_rle


def assert_valid_region(region: dict, width: int, height: int, label: str) -> None:
    kind = region["type"]
    assert region["to_name"] == "image" and region["from_name"] in {"box", "mask", "poly"}
    assert (region["original_width"], region["original_height"]) == (width, height)
    assert 0.0 <= region["score"] <= 1.0
    value = region["value"]
    assert value[kind] == [label]
    if kind == "rectanglelabels":
        assert 0 <= value["x"] <= 100 and 0 <= value["y"] <= 100
        assert value["width"] > 0 and value["x"] + value["width"] <= 100 + 1e-6
        assert value["height"] > 0 and value["y"] + value["height"] <= 100 + 1e-6
    elif kind == "brushlabels":
        assert value["format"] == "rle"
        assert all(isinstance(v, int) and 0 <= v <= 255 for v in value["rle"])
        assert decode_rle(value["rle"]).size == width * height * 4
    elif kind == "polygonlabels":
        assert value["closed"] is True and len(value["points"]) >= 3
        assert all(0 <= x <= 100 and 0 <= y <= 100 for x, y in value["points"])
    else:
        raise AssertionError(f"unexpected region type {kind}")
