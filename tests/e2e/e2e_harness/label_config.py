"""The label config the end-to-end project uses: one image, smart rectangles, brushes and polygons."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

IMAGE_NAME = "image"
RECTANGLE_NAME = "box"
BRUSH_NAME = "mask"
POLYGON_NAME = "poly"
REGION_TYPES = {
    RECTANGLE_NAME: "rectanglelabels",
    BRUSH_NAME: "brushlabels",
    POLYGON_NAME: "polygonlabels",
}
LABEL_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4")


def smart_label_config(labels: list[str]) -> str:
    """`<Image>` plus `RectangleLabels`, `BrushLabels` and `PolygonLabels`, all with `smart="true"`."""
    label_tags = "".join(
        f"<Label value={quoteattr(name)} background={quoteattr(LABEL_COLOURS[i % len(LABEL_COLOURS)])}/>"
        for i, name in enumerate(labels)
    )
    controls = "".join(
        f'<{tag} name="{name}" toName="{IMAGE_NAME}" smart="true">{label_tags}</{tag}>'
        for tag, name in (
            ("RectangleLabels", RECTANGLE_NAME),
            ("BrushLabels", BRUSH_NAME),
            ("PolygonLabels", POLYGON_NAME),
        )
    )
    return f'<View><Image name="{IMAGE_NAME}" value="${IMAGE_NAME}" zoom="true"/>{controls}</View>'
