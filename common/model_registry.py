"""Per-project model versions on disk, and which one is active.

Layout under `MODEL_DIR/projects/<id>/`:

    versions/project-<id>-v<k>.weights.h5   immutable weights of version k (written to a temporary name, renamed)
    versions/project-<id>-v<k>.card.json    its model card (written last: a version without a card is incomplete
                                            and is never listed nor loaded)
    active.json                             {"version": str | null, "history": [...]}, the durable pointer

The active version is mirrored in Redis (`common.queues.version_key(project_id)`), which `/setup`, predictions and
workers read; `active.json` survives a Redis restart and is re-published from it. `None` means the project uses
the workers' base model. Reads card JSON directly (the format is `model/checkpoint.py`'s), so nothing here
imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import redis

from common.queues import version_key, versions_key

__all__ = ["CARD_SUFFIX", "WEIGHTS_SUFFIX", "ModelRegistry", "VersionNotFoundError"]

WEIGHTS_SUFFIX = ".weights.h5"
CARD_SUFFIX = ".card.json"
"""The checkpoint file pair of `model/checkpoint.py`."""
ACTIVE_FILE = "active.json"
VERSIONS_DIR = "versions"
BASE_DIR = "base"
STALE_TEMP_AGE_S = 3600.0
"""Temporary files of an interrupted checkpoint write older than this are removed when pruning."""
HISTORY_LENGTH = 50
"""Activations remembered in active.json."""


class VersionNotFoundError(ValueError):
    """A version that does not exist (or is incomplete) for a project; the message lists the ones that do."""


def version_name(project_id: int, k: int) -> str:
    return f"project-{int(project_id)}-v{int(k)}"


def _version_number(project_id: int, name: str) -> int | None:
    match = re.fullmatch(rf"project-{int(project_id)}-v(\d+)", name)
    return int(match.group(1)) if match else None


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ModelRegistry:
    """Versions of every project under `model_dir`, and the active pointer (file + Redis).

    Args:
        model_dir: the shared MODEL_DIR.
        connection: redis-py client (the active version is published there).
    """

    def __init__(self, model_dir: Path, connection: redis.Redis):
        self.model_dir = Path(model_dir)
        self.connection = connection

    # --- paths -------------------------------------------------------------------------------------------------

    def project_dir(self, project_id: int) -> Path:
        return self.model_dir / "projects" / str(int(project_id))

    def versions_dir(self, project_id: int) -> Path:
        return self.project_dir(project_id) / VERSIONS_DIR

    def weights_path(self, project_id: int, version: str) -> Path:
        return self.versions_dir(project_id) / f"{version}{WEIGHTS_SUFFIX}"

    def card_path(self, project_id: int, version: str) -> Path:
        return self.versions_dir(project_id) / f"{version}{CARD_SUFFIX}"

    def base_checkpoint_path(self, base_version: str) -> Path:
        """Where a worker saves its base model when it serves a preset (fine-tuning needs a parent file)."""
        return self.model_dir / BASE_DIR / f"{base_version}{WEIGHTS_SUFFIX}"

    # --- versions ----------------------------------------------------------------------------------------------

    def is_complete(self, project_id: int, version: str) -> bool:
        """Weights and card both in place (the card is renamed into place last)."""
        return self.weights_path(project_id, version).is_file() and self.card_path(project_id, version).is_file()

    def next_version(self, project_id: int) -> str:
        """`project-<id>-v<k+1>`, k the highest number ever written (versions are never reused)."""
        numbers = [0]
        folder = self.versions_dir(project_id)
        if folder.is_dir():
            for path in folder.iterdir():
                name = path.name.removesuffix(WEIGHTS_SUFFIX).removesuffix(CARD_SUFFIX)
                if (k := _version_number(project_id, name)) is not None:
                    numbers.append(k)
        return version_name(project_id, max(numbers) + 1)

    def card(self, project_id: int, version: str) -> dict:
        try:
            return json.loads(self.card_path(project_id, version).read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def list_versions(self, project_id: int) -> list[dict]:
        """Complete versions, oldest first: version, parent, created, held-out metrics, activation, whether its bank
        pre-annotates (`bank_answers`: `{value, why}`, None for versions from before the recipe decided it), whether
        it drops suggestions on objects cut by the frame (`frame_convention`: `{skip, why, ...}`, None for versions
        from before session 16's recipe), whether its drawn boxes are answered through its parent's verifier
        (`verifier`: `{value, threshold, why}`, None for versions from before session 28's recipe), whether the
        other labels claim its drawn boxes' suggestions (`label_claims`: `{value, parent, why}`, None before session
        29's recipe), active."""
        folder = self.versions_dir(project_id)
        if not folder.is_dir():
            return []
        active = self.active(project_id)
        found = []
        for path in folder.glob(f"*{CARD_SUFFIX}"):
            version = path.name.removesuffix(CARD_SUFFIX)
            k = _version_number(project_id, version)
            if k is None or not self.is_complete(project_id, version):
                continue
            card = self.card(project_id, version)
            training = card.get("training") or {}
            found.append((k, {
                "version": version, "parent": card.get("parent"), "created": card.get("created"),
                "metrics": (card.get("metrics") or {}).get("holdout"), "activation": training.get("activation"),
                "train_images": training.get("train_images"), "holdout_images": training.get("holdout_images"),
                "steps": training.get("steps"), "bank_answers": training.get("bank_answers"),
                "frame_convention": training.get("frame_convention"), "verifier": training.get("verifier"),
                "label_claims": training.get("label_claims"), "active": version == active,
            }))
        return [entry for _, entry in sorted(found, key=lambda item: item[0])]

    # --- the active pointer ------------------------------------------------------------------------------------

    def _active_file(self, project_id: int) -> Path:
        return self.project_dir(project_id) / ACTIVE_FILE

    def _read_active_file(self, project_id: int) -> dict:
        try:
            return json.loads(self._active_file(project_id).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError):
            return {}

    def active(self, project_id: int) -> str | None:
        """The project's own active version, or None when it uses the base model.

        Redis answers first; when Redis has no entry (restarted without its data), `active.json` does and is
        re-published.
        """
        value = self.connection.get(version_key(project_id))
        if value:
            return value.decode()
        version = self._read_active_file(project_id).get("version")
        if version:
            self.connection.set(version_key(project_id), version)
        return version or None

    def activate(self, project_id: int, version: str | None, reason: str) -> None:
        """Make `version` (None: the base model) the project's active one: file first, then Redis.

        Raises:
            VersionNotFoundError: `version` is not a complete version of the project.
        """
        if version is not None and not self.is_complete(project_id, version):
            known = [v["version"] for v in self.list_versions(project_id)]
            raise VersionNotFoundError(
                f"Project {project_id} has no version {version!r}; known versions: {known or 'none yet'} "
                "(or roll back to the base model with version null)."
            )
        state = self._read_active_file(project_id)
        history = list(state.get("history") or [])
        history.append({"version": version, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "reason": reason})
        _atomic_write_text(self._active_file(project_id), json.dumps(
            {"version": version, "history": history[-HISTORY_LENGTH:]}, indent=1))
        pipe = self.connection.pipeline()
        if version is None:
            pipe.delete(version_key(project_id))
        else:
            pipe.set(version_key(project_id), version)
            pipe.sadd(versions_key(), version)
        pipe.execute()

    # --- retention ---------------------------------------------------------------------------------------------

    def prune(self, project_id: int, keep: int) -> list[str]:
        """Delete all but the newest `keep` versions, never the active one; also removes temporary files of
        interrupted writes. `keep` 0 keeps every version. Returns the removed versions.
        """
        folder = self.versions_dir(project_id)
        if not folder.is_dir():
            return []
        now = time.time()
        for path in folder.glob(".*"):
            if path.is_file() and now - path.stat().st_mtime > STALE_TEMP_AGE_S:
                path.unlink(missing_ok=True)
        if keep <= 0:
            return []
        active = self.active(project_id)
        names = {path.name.removesuffix(WEIGHTS_SUFFIX).removesuffix(CARD_SUFFIX) for path in folder.iterdir()
                 if not path.name.startswith(".")}
        numbered = sorted((k, name) for name in names if (k := _version_number(project_id, name)) is not None)
        removed = []
        for _, name in numbered[:-keep]:
            if name == active:
                continue
            self.card_path(project_id, name).unlink(missing_ok=True)  # card first: the version stops being listed
            self.weights_path(project_id, name).unlink(missing_ok=True)
            removed.append(name)
        return removed
