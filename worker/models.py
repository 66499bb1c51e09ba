"""Which model serves a project's job: the worker's base predictor, or the project's fine-tuned active version.

Each job reads the project's active version (one Redis GET, `common.model_registry`); a version other than the
base is loaded on demand from `MODEL_DIR/projects/<id>/versions/` and kept in a least-recently-used cache of
`MODEL_CACHE_SIZE` predictors. So a version activated by a training job (or a rollback) is served by every worker
from its next job on, without a restart. Only complete versions (weights and card both renamed into place) are
ever loaded.

Jobs run one at a time in a worker process (`rq.SimpleWorker`), so `use_project_model` simply points the
runtime's `predictor` at the right one before the job uses it; the runtime's caches key on the version.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from common.exceptions import AssistError
from common.model_registry import ModelRegistry
from common.queues import connect
from common.settings import Settings
from worker import runtime

__all__ = ["ModelVersionMissingError", "ProjectModels", "base_checkpoint", "project_models", "use_project_model"]

log = logging.getLogger(__name__)


class ModelVersionMissingError(AssistError):
    """The project's active version is not on disk in this worker's MODEL_DIR."""

    http_status = 503


class ProjectModels:
    """The base predictor plus an LRU of fine-tuned predictors keyed by version.

    Args:
        settings: process settings (MODEL_DIR, MODEL_CACHE_SIZE, REDIS_URL).
        base: the predictor the worker loaded at start.
        registry: where versions live and which is active.
    """

    def __init__(self, settings: Settings, base: Any, registry: ModelRegistry):
        self.settings = settings
        self.base = base
        self.registry = registry
        self._loaded: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def for_project(self, project_id: int) -> Any:
        """The predictor of the project's active version (the base one when the project has none).

        Raises:
            ModelVersionMissingError: the active version's files are not in MODEL_DIR.
        """
        version = self.registry.active(project_id)
        if version is None or version == self.base.version:
            return self.base
        with self._lock:
            if version in self._loaded:
                self._loaded.move_to_end(version)
                return self._loaded[version]
        return self._load(project_id, version)

    def _load(self, project_id: int, version: str) -> Any:
        from model.predictor import Predictor

        if not self.registry.is_complete(project_id, version):
            raise ModelVersionMissingError(
                f"Project {project_id} is set to model version {version!r}, but {self.registry.weights_path(project_id, version)}"
                " (and its card) is not there. MODEL_DIR must be the same shared directory for the backend and every "
                "worker; or roll back with POST /versions/rollback."
            )
        started = time.perf_counter()
        # The precision the worker resolved once at start (load_predictor): every version computes alike.
        predictor = Predictor.from_checkpoint(
            self.registry.weights_path(project_id, version), precision=self.base.precision
        )
        log.info("project %s: loaded model version %s in %.1f s", project_id, version, time.perf_counter() - started)
        with self._lock:
            self._loaded[version] = predictor
            while len(self._loaded) > self.settings.model_cache_size:
                evicted, _ = self._loaded.popitem(last=False)
                log.info("evicted model version %s from this worker's cache", evicted)
        return predictor


_models: tuple[runtime.Runtime, ProjectModels] | None = None
_models_lock = threading.Lock()


def project_models(rt: runtime.Runtime) -> ProjectModels:
    """The process's `ProjectModels`, created on first use around the runtime's base predictor."""
    global _models
    with _models_lock:
        if _models is None or _models[0] is not rt:
            registry = ModelRegistry(rt.settings.model_dir, connect(rt.settings.redis_url or "redis://localhost:6379/0"))
            _models = (rt, ProjectModels(rt.settings, rt.predictor, registry))
        return _models[1]


def use_project_model(rt: runtime.Runtime, project_id: int) -> Any:
    """Point `rt.predictor` at the project's active version for the job about to run; returns it."""
    rt.predictor = project_models(rt).for_project(project_id)
    return rt.predictor


def base_checkpoint(models: ProjectModels) -> Path:
    """The base model as a checkpoint file (the parent of a project's first fine-tuned version).

    CHECKPOINT, or the shipped checkpoint, is used as is. A worker serving a preset (MODEL_PRESET, or no checkpoint
    at all) saves its in-memory base model once under `MODEL_DIR/base/` (atomically, card last).
    """
    from model.checkpoint import ModelCard, save_checkpoint

    settings = models.settings
    if settings.checkpoint:
        return Path(settings.checkpoint)
    if not settings.model_preset and runtime.DEFAULT_CHECKPOINT.exists():
        return runtime.DEFAULT_CHECKPOINT
    base = models.base
    path = models.registry.base_checkpoint_path(base.version)
    card = path.with_name(path.name.removesuffix(".weights.h5") + ".card.json")
    if not (path.is_file() and card.is_file()):
        save_checkpoint(base.model, path, ModelCard(version=base.version, preset=base.config.name, config={},
                                                    notes="base model of the workers, saved for fine-tuning"))
    return path
