"""Which video or capture session an image comes from, read from its record.

Frames of one clip are near-copies of one another. The fine-tuning recipe never judges an image whose group it
trained on (`model.training.holdout_split`), so the group has to travel with an image from wherever it is named:
a COCO image record, a Label Studio task's `data` (the webhook store keeps it per task,
`common.annotation_store`), an export built from the store (`worker.project_dataset`).

Pure functions; nothing here imports the model or a web framework.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["GROUP_FIELDS", "group_from"]

GROUP_FIELDS = ("video_id", "video")
"""Fields of an image record (a COCO image, a Label Studio task's data) that name its video or capture session, in
order of preference (COCO video datasets use `video_id`)."""


def group_from(fields: Mapping | None) -> str | None:
    """An image's group from its record's `GROUP_FIELDS`, as a string; None without one (or for a record that is
    not a mapping, or an empty value).

    Args:
        fields: a COCO image record or a Label Studio task's `data`.
    """
    if not isinstance(fields, Mapping):
        return None
    for key in GROUP_FIELDS:
        value = fields.get(key)
        if value is not None and not isinstance(value, (dict, list)) and str(value).strip():
            return str(value).strip()
    return None
