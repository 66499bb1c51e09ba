"""What the backend and the worker both use: settings, job payloads, masks, queues, Label Studio regions, stores.

Nothing here imports TensorFlow, Flask, the model, the backend or the worker (tests/common/test_import_direction.py):
the imports read backend -> common <- worker, and every module is safe for the slim backend image.
"""

__all__ = [
    "annotation_store", "brush_rle", "exceptions", "exemplars", "image_groups", "jobs", "logs", "mask_crop",
    "mask_runs", "masks", "model_registry", "polygons", "queues", "region_boxes", "regions", "settings",
    "training_lock", "versions",
]
