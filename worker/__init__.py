"""The RQ worker: loads a Predictor once per process and serves jobs from the priority queues.

Run with `python -m worker`. Job functions (`worker.jobs`) take and return JSON-safe dicts only.
"""

__all__ = ["feature_cache", "fetch", "jobs", "ls_client", "process", "runtime"]
