"""Helpers for test_service.py (kept out of it so pytest does not collect them as tests)."""

from __future__ import annotations

from scene_images import png_bytes, scene


def slow_image_url(stub, seconds: float) -> str:
    """A public URL on the stub that answers the test scene after `seconds`."""
    path = f"/slow-{seconds:g}.png"
    stub.public[path] = png_bytes(scene())
    stub.delay_s[path] = seconds
    return stub.url + path
