from __future__ import annotations

import numpy as np

from worker.feature_cache import FeatureCache, content_digest


def test_lru_is_bounded_by_bytes_and_counts_hits():
    cache = FeatureCache(max_bytes=3000)
    a, b, c = (np.zeros(1000, np.uint8) for _ in range(3))
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # a is now the most recent
    cache.put("c", c)
    cache.put("d", np.zeros(1000, np.uint8))  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c
    assert cache.nbytes == 3000 and len(cache) == 3
    assert (cache.hits, cache.misses) == (3, 1)


def test_oversized_entries_and_a_zero_capacity_store_nothing():
    cache = FeatureCache(max_bytes=10)
    cache.put("big", np.zeros(11, np.uint8))
    assert cache.get("big") is None and cache.nbytes == 0
    disabled = FeatureCache(max_bytes=0)
    disabled.put("x", np.zeros(1, np.uint8))
    assert len(disabled) == 0


def test_replacing_a_key_keeps_the_byte_count_right():
    cache = FeatureCache(max_bytes=100)
    cache.put("k", np.zeros(40, np.uint8))
    cache.put("k", np.zeros(60, np.uint8))
    assert cache.nbytes == 60 and len(cache) == 1


def test_digest_is_by_content():
    assert content_digest(b"abc") == content_digest(b"abc")
    assert content_digest(b"abc") != content_digest(b"abd")
