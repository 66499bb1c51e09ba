"""A bounded LRU cache of backbone features, keyed by the image's content digest.

A second box on the same image (a K-shot refinement, or another label) then costs only the reference branch
and the heads. The bound is in bytes (`FEATURE_CACHE_MB`): entries report their size through `.nbytes`
(`model.predictor.EncodedImage` does). Keys are SHA-256 digests of the image bytes, so two URLs of the same
file share an entry and an edited file never hits a stale one.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

__all__ = ["FeatureCache", "content_digest"]


def content_digest(data: bytes) -> str:
    """Hex SHA-256 of raw image bytes."""
    return hashlib.sha256(data).hexdigest()


class FeatureCache:
    """LRU by total `nbytes`.

    Args:
        max_bytes: capacity; 0 disables caching. One entry larger than the capacity is not stored.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: str, value: Any) -> None:
        size = int(getattr(value, "nbytes", 0))
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._bytes
