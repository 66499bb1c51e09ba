"""Every error the backend, the worker and the launcher raise on purpose, in one flat file.

Each message says what was wrong and how to fix it; the backend turns them into HTTP answers.
"""

from __future__ import annotations

__all__ = [
    "AssistError",
    "BadRequestError",
    "ImageFetchError",
    "JobFailedError",
    "JobTimeoutError",
    "LabelStudioApiError",
    "QueueFullError",
    "QueueUnavailableError",
    "SettingsError",
    "WorkerLostError",
]


class AssistError(Exception):
    """Base class; `http_status` is what the backend answers when this escapes a request."""

    http_status = 500


class SettingsError(AssistError):
    """An environment variable has a value that cannot be parsed."""


class BadRequestError(AssistError):
    """The request from Label Studio cannot be served as sent (missing field, unsupported region...)."""

    http_status = 400


class ImageFetchError(AssistError):
    """The task image could not be fetched or decoded (URL form, auth, size limits, timeouts)."""

    http_status = 422


class QueueUnavailableError(AssistError):
    """Redis cannot be reached; nothing can be enqueued or looked up."""

    http_status = 503


class QueueFullError(QueueUnavailableError):
    """The queue holds as many jobs as it may (MAX_QUEUED_*): busy, retry after `retry_after_s` seconds."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class JobTimeoutError(AssistError):
    """A job did not finish in the time the caller was willing to wait."""

    http_status = 504


class WorkerLostError(AssistError):
    """The worker running a job died (killed, out of memory) before it answered."""

    http_status = 503


class JobFailedError(AssistError):
    """The job raised inside the worker; the message carries the worker's error."""

    http_status = 500


class LabelStudioApiError(AssistError):
    """A call from the worker to Label Studio's API failed (network, token, refused request)."""

    http_status = 502
