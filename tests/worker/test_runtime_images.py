"""The worker's image path: fetch + decode (EXIF orientation, pixel limit) without the model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from common.exceptions import ImageFetchError
from common.jobs import ImageSource
from common.settings import Settings
from worker.runtime import Runtime

EXIF_ORIENTATION = 0x0112
ROTATED_90_CW = 6


def _write(root, name: str, data: bytes) -> ImageSource:
    (root / name).write_bytes(data)
    return ImageSource(f"/data/local-files/?d={name}")


def _rotated_jpeg(height: int, width: int) -> bytes:
    """A black `height` x `width` JPEG whose EXIF says to show it turned 90 degrees (so `width` x `height`)."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CW
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_exif_orientation_is_applied_so_sizes_match_what_label_studio_shows(tmp_path):
    runtime = Runtime(Settings(local_files_document_root=tmp_path), predictor=None)
    digest, image = runtime.load_image(_write(tmp_path, "rotated.jpg", _rotated_jpeg(30, 50)))
    assert image.shape == (50, 30, 3) and image.dtype == np.uint8
    assert len(digest) == 64


def _png(value: int, shape=(20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full(shape, value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_interactive_loads_reuse_the_decoded_image_until_its_bytes_change(tmp_path, monkeypatch):
    import model.images
    from worker.runtime import DECODED_IMAGES_KEPT

    decoded = []
    real_decode = model.images.decode_image
    monkeypatch.setattr(model.images, "decode_image", lambda data, **kw: decoded.append(1) or real_decode(data, **kw))
    runtime = Runtime(Settings(local_files_document_root=tmp_path), predictor=None)
    source = _write(tmp_path, "a.png", _png(10))
    digest, first = runtime.load_image(source, keep_decoded=True)
    again_digest, again = runtime.load_image(source, keep_decoded=True)
    assert again is first and again_digest == digest and len(decoded) == 1
    with pytest.raises(ValueError, match="read-only"):
        again[0, 0] = 0  # shared with later requests: nobody may paint on it

    _write(tmp_path, "a.png", _png(200))  # same URL, new bytes: decoded again, never served stale
    changed_digest, changed = runtime.load_image(source, keep_decoded=True)
    assert changed_digest != digest and int(changed[0, 0, 0]) == 200 and len(decoded) == 2

    for index in range(DECODED_IMAGES_KEPT):  # the oldest images leave the memo
        runtime.load_image(_write(tmp_path, f"other{index}.png", _png(index)), keep_decoded=True)
    runtime.load_image(source, keep_decoded=True)
    assert len(decoded) == 3 + DECODED_IMAGES_KEPT

    _, plain = runtime.load_image(source)  # batch and training loads neither use nor fill the memo
    assert len(decoded) == 4 + DECODED_IMAGES_KEPT
    runtime.load_image(source, keep_decoded=True)
    assert len(decoded) == 4 + DECODED_IMAGES_KEPT  # still the one kept above


def test_pixel_limit_and_undecodable_bytes_are_fetch_errors(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(buffer, format="PNG")
    runtime = Runtime(Settings(local_files_document_root=tmp_path, max_image_pixels=9999), predictor=None)
    with pytest.raises(ImageFetchError, match="cannot be decoded.*MAX_IMAGE_PIXELS"):
        runtime.load_image(_write(tmp_path, "big.png", buffer.getvalue()))
    with pytest.raises(ImageFetchError, match="cannot be decoded"):
        runtime.load_image(_write(tmp_path, "text.png", b"not an image"))


def test_worker_refuses_to_start_without_redis_or_with_a_missing_checkpoint(tmp_path):
    import os
    import subprocess
    import sys

    from stack.services import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CHECKPOINT", "MODEL_PRESET"}}
    run = subprocess.run([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "REDIS_URL is not set" in run.stderr
    run = subprocess.run([sys.executable, "-m", "worker"], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120, env=dict(env, REDIS_URL="redis://127.0.0.1:1/0",
                                               CHECKPOINT=str(tmp_path / "nope.weights.h5")))
    assert run.returncode == 2 and "nope.weights.h5 does not exist" in run.stderr


def test_feature_cache_is_keyed_by_content_and_model_version(tmp_path):
    from model.predictor import Predictor

    runtime = Runtime(Settings(local_files_document_root=tmp_path), predictor=Predictor.from_preset("tiny"))
    image = np.zeros((64, 80, 3), np.uint8)
    first, hit = runtime.encode("digest-a", image)
    assert hit is False and first.image_shape == (64, 80)
    again, hit = runtime.encode("digest-a", image)
    assert hit is True and again is first
    assert runtime.encode("digest-b", image)[1] is False
    runtime.predictor.version = "v2"  # a newly activated checkpoint must not reuse the old features
    assert runtime.encode("digest-a", image)[1] is False
    assert runtime.features.nbytes == 3 * first.nbytes


def test_roi_checkpoints_cache_their_proposals_within_the_bound(tmp_path):
    """conditioning="roi" caches proposals and pooled ROIs with the pyramid: the entry counts them, the bound holds,
    and a cached entry answers a new reference box exactly as a fresh encoding does."""
    import keras

    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(5)
    predictor = Predictor(build_model(get_preset("tiny", conditioning="roi")), version="tiny-roi")
    runtime = Runtime(Settings(local_files_document_root=tmp_path, feature_cache_mb=1), predictor=predictor)
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    first, hit = runtime.encode("img-0", image)
    assert hit is False and "rois" in first.features
    pyramid_bytes = sum(int(np.prod(level.shape)) * level.dtype.size for level in first.pyramid)
    assert first.nbytes > pyramid_bytes
    capacity = 1024 * 1024 // first.nbytes
    for i in range(1, capacity + 3):
        runtime.encode(f"img-{i}", image)
    assert runtime.features.nbytes <= 1024 * 1024 and len(runtime.features) == capacity
    cached, hit = runtime.encode(f"img-{capacity + 2}", image)
    assert hit is True
    reference = predictor.encode_references(image, [[5, 5, 40, 30]])
    fresh = predictor.encode_image(image)
    window = fresh.info.normalized_window()[None]
    answers = [np.asarray(predictor.model.detect(q.features, reference.vector[None], window, 0.0, 0.5)[0])
               for q in (cached, fresh)]
    np.testing.assert_allclose(answers[0], answers[1], rtol=1e-5, atol=1e-6)


def test_features_are_cached_per_decoded_size(tmp_path):
    """One image decoded at two scales (an interactive request without Label Studio's size decodes it whole, a
    batch job smaller) must not share features: their boxes live in different frames."""
    import keras

    from model.builder import build_model
    from model.predictor import Predictor
    from model.presets import get_preset

    keras.utils.set_random_seed(0)
    runtime = Runtime(Settings(local_files_document_root=tmp_path), Predictor(build_model(get_preset("tiny"))))
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    whole, hit = runtime.encode("same-bytes", image)
    assert hit is False
    half, hit = runtime.encode("same-bytes", image[::2, ::2])
    assert hit is False and half.image_shape == (32, 40) and whole.image_shape == (64, 80)
    again, hit = runtime.encode("same-bytes", image)
    assert hit is True and again is whole


def test_load_reports_the_files_size_when_it_decodes_smaller(tmp_path):
    runtime = Runtime(Settings(local_files_document_root=tmp_path), predictor=None)
    source = _write(tmp_path, "photo.jpg", _rotated_jpeg(300, 400))
    reduced = runtime.load(source, min_long_side=100)
    assert reduced.image.shape == (100, 75, 3) and reduced.original_size == (400, 300)
    whole = runtime.load(source)
    assert whole.image.shape == (400, 300, 3) and whole.original_size == (400, 300)
