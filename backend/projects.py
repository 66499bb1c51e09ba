"""Per-project state the backend keeps from /setup: how to reach Label Studio, and threshold overrides.

Label Studio sends `{"project": "<id>.<created timestamp>", "schema", "hostname", "access_token",
"extra_params"}` to /setup before it predicts. The backend stores it in Redis (JSON, per project id), so every
gunicorn process and a restarted backend see it. Environment settings win over what /setup sent:
`LABEL_STUDIO_URL` because Label Studio's own idea of its hostname is often wrong from inside docker,
`LABEL_STUDIO_API_KEY` because an operator may want a dedicated token.

`extra_params` (the ML backend's "Extra params" JSON in Label Studio) may set `score_threshold`,
`nms_threshold` and `max_instances` for the project.
"""

from __future__ import annotations

import dataclasses
import json

import redis

from common.exceptions import BadRequestError
from common.jobs import Thresholds
from common.queues import project_setup_key
from common.settings import Settings

__all__ = ["ProjectSetup", "parse_project_id", "resolve_thresholds"]

_THRESHOLD_KEYS = ("score_threshold", "nms_threshold", "max_instances")


def parse_project_id(value: object) -> int:
    """The numeric project id from Label Studio's `"<id>.<timestamp>"` string (or an int).

    Raises:
        BadRequestError: anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        head = value.split(".", 1)[0]
        if head.isdigit() and int(head) > 0:
            return int(head)
    raise BadRequestError(f"'project' must be Label Studio's '<id>.<timestamp>' string, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class ProjectSetup:
    """What /setup told us about a project."""

    hostname: str | None = None
    access_token: str | None = None
    extra_params: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_request(cls, body: dict) -> ProjectSetup:
        extra = body.get("extra_params") or {}
        if isinstance(extra, str):
            try:
                extra = json.loads(extra) if extra.strip() else {}
            except json.JSONDecodeError:
                raise BadRequestError(f"extra_params is not JSON: {extra[:100]!r}.") from None
        if not isinstance(extra, dict):
            raise BadRequestError(f"extra_params must be a JSON object, got {type(extra).__name__}.")
        return cls(hostname=body.get("hostname") or None, access_token=body.get("access_token") or None,
                   extra_params=extra)

    def save(self, connection: redis.Redis, project_id: int) -> None:
        connection.set(project_setup_key(project_id), json.dumps(dataclasses.asdict(self)))

    @classmethod
    def load(cls, connection: redis.Redis, project_id: int) -> ProjectSetup:
        raw = connection.get(project_setup_key(project_id))
        return cls(**json.loads(raw)) if raw else cls()

    def label_studio(self, settings: Settings) -> tuple[str | None, str | None]:
        """`(base URL, token)` the worker should use for this project."""
        return settings.label_studio_url or self.hostname, settings.label_studio_api_key or self.access_token


def resolve_thresholds(settings: Settings, extra_params: dict) -> Thresholds:
    """Settings defaults overridden by the project's extra params.

    Raises:
        BadRequestError: an override that is not a number in range.
    """
    values = {"score_threshold": settings.score_threshold, "nms_threshold": settings.nms_threshold,
              "max_instances": settings.max_instances}
    for key in _THRESHOLD_KEYS:
        if key in extra_params:
            values[key] = extra_params[key]
    try:
        return Thresholds.from_dict(values)
    except ValueError as error:
        raise BadRequestError(
            f"The ML backend's extra params set invalid thresholds ({error}); use score_threshold and "
            "nms_threshold in [0, 1] and an integer max_instances >= 1."
        ) from None
