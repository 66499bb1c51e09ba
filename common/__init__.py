"""What the backend and the worker both speak: settings, job payload schemas, mask RLE, queue names.

Nothing here imports TensorFlow, Flask or the model; every module is safe for the slim backend image.
"""

__all__ = ["exceptions", "jobs", "masks", "queues", "settings", "versions"]
