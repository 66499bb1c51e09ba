"""What a project's label config asks for: which image field to read and which controls to answer.

Parsed with label-studio-sdk's `LabelInterface`, once per distinct config (an LRU keyed by the XML text).
"""

from __future__ import annotations

import dataclasses
import functools

from label_studio_sdk.label_interface import LabelInterface

from common.exceptions import BadRequestError
from common.jobs import OUTPUT_TYPES, OutputControl

__all__ = ["ProjectConfig", "parse_label_config"]

_CONFIG_CACHE_SIZE = 64
"""Distinct label configs kept parsed (one per active project is plenty)."""

_CONTROL_TYPES = {tag.lower(): tag for tag in ("RectangleLabels", "BrushLabels", "PolygonLabels")}


@dataclasses.dataclass(frozen=True)
class ProjectConfig:
    """The parts of a label config the plugin uses.

    Attributes:
        image_name: name of the `<Image>` tag (the `to_name` of every region).
        image_key: the task data key holding the image URL (`value="$image"` -> `"image"`).
        outputs: controls to answer with, in config order; types are `rectanglelabels`, `brushlabels`,
            `polygonlabels`.
        labels: label values per control name.
    """

    image_name: str
    image_key: str
    outputs: tuple[OutputControl, ...]
    labels: dict[str, tuple[str, ...]]

    def outputs_for_label(self, label: str) -> tuple[OutputControl, ...]:
        """Controls that can carry `label` (a control without a `<Label>` list accepts any)."""
        return tuple(o for o in self.outputs if not self.labels.get(o.from_name) or label in self.labels[o.from_name])


@functools.lru_cache(maxsize=_CONFIG_CACHE_SIZE)
def parse_label_config(xml: str) -> ProjectConfig:
    """Parse a Label Studio label config.

    Raises:
        BadRequestError: the XML does not parse, has no `<Image>` tag, or no RectangleLabels / BrushLabels /
            PolygonLabels control attached to it.
    """
    if not xml or not xml.strip():
        raise BadRequestError("The label config is empty: the request must carry the project's label_config.")
    try:
        interface = LabelInterface(xml)
    except Exception as error:  # the SDK raises several XML/validation types
        raise BadRequestError(f"The label config does not parse ({error}).") from None
    images = [tag for tag in interface.objects if tag.tag == "Image"]
    if not images:
        raise BadRequestError('The label config has no <Image> tag; add e.g. <Image name="image" value="$image"/>.')
    outputs: list[OutputControl] = []
    labels: dict[str, tuple[str, ...]] = {}
    image_names = {tag.name for tag in images}
    for control in interface.controls:
        kind = control.tag.lower()
        if kind not in _CONTROL_TYPES or kind not in OUTPUT_TYPES:
            continue
        targets = [name for name in control.to_name if name in image_names]
        if not targets:
            continue
        outputs.append(OutputControl(from_name=control.name, to_name=targets[0], type=kind))
        labels[control.name] = tuple(control.labels or ())
    if not outputs:
        raise BadRequestError(
            "The label config has no RectangleLabels, BrushLabels or PolygonLabels control on its <Image>; "
            'add e.g. <RectangleLabels name="box" toName="image" smart="true">.'
        )
    image = next(tag for tag in images if tag.name == outputs[0].to_name)
    return ProjectConfig(
        image_name=image.name, image_key=image.value.lstrip("$"), outputs=tuple(outputs), labels=labels
    )
