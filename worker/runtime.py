"""Per-process state of a worker: the loaded Predictor, the feature cache, Label Studio clients.

`python -m worker` builds one `Runtime` before it starts serving and `install()`s it; job functions get it with
`current()`. If a job runs in a process that did not install one (e.g. a plain `rq worker`), `current()` builds
it from the environment on first use, still once per process.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.exceptions import ImageFetchError
from common.jobs import ImageSource
from common.settings import Settings
from model.answering import prediction_long_side
from worker.feature_cache import FeatureCache, content_digest
from worker.fetch import fetch_image_bytes
from worker.ls_client import LabelStudioClient

__all__ = ["DEFAULT_CHECKPOINT", "LoadedImage", "Runtime", "current", "install", "load_predictor"]

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "mobile-coco128.weights.h5"
"""The checkpoint shipped in the repository (used when CHECKPOINT is unset and the file exists)."""

FALLBACK_PRESET = "tiny"

_REFERENCE_CACHE_SIZE = 64
"""Reference embeddings of batch exemplars kept per process (keyed by image URL and boxes)."""


@dataclass(frozen=True)
class LoadedImage:
    """A fetched, decoded image: the digest of its bytes, the uint8 RGB `(H, W, 3)` array, and `(H, W)` of the
    file after EXIF orientation (larger than the array's when it was decoded at a reduced scale)."""

    digest: str
    image: np.ndarray
    original_size: tuple[int, int]


DECODED_IMAGES_KEPT = 2
"""Decoded images an interactive worker keeps, by content digest: a second box on the image the annotator is
working on skips decoding it again (2 ms for a 640x480 JPEG, 160 ms for a 12-megapixel photo here)."""

log = logging.getLogger(__name__)

_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
"""CPU features that make bfloat16 convolutions fast in oneDNN (without them bfloat16 is emulated and slower)."""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The `flags` of the first CPU in /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def resolve_precision(setting: str, flags: frozenset[str], gpu: bool = False) -> str:
    """MODEL_PRECISION -> "float32" or "bfloat16".

    "auto" picks bfloat16 on a CPU-only machine whose CPU has `BF16_CPU_FLAGS` (measured here: the same AP50, 2x
    faster matching and heads), float32 otherwise; with a GPU it keeps float32 (bfloat16 there is unmeasured, and
    GPUs before Ampere emulate it): set MODEL_PRECISION=bfloat16 to choose it.
    """
    if setting == "auto":
        return "bfloat16" if flags & BF16_CPU_FLAGS and not gpu else "float32"
    return setting


def has_gpu() -> bool:
    """Whether TensorFlow sees a GPU (imports TensorFlow: call it in the worker only)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def configure_threads(threads: int) -> tuple[int, int]:
    """Give this process's TensorFlow `threads` intra-op and inter-op threads (0: leave TensorFlow's defaults).

    Must run before TensorFlow executes anything; `load_predictor` calls it first.

    Returns:
        `(intra, inter)` as TensorFlow reports them afterwards (0 = its default, every core).

    Raises:
        RuntimeError: TensorFlow already ran something in this process with other thread counts.
    """
    import tensorflow as tf

    threading_config = tf.config.threading
    if threads and (threading_config.get_intra_op_parallelism_threads(),
                    threading_config.get_inter_op_parallelism_threads()) != (threads, threads):
        try:
            threading_config.set_intra_op_parallelism_threads(threads)
            threading_config.set_inter_op_parallelism_threads(threads)
        except RuntimeError as error:
            raise RuntimeError(f"WORKER_THREADS={threads} must be applied before TensorFlow runs anything in the "
                               f"process: {error}") from None
    return threading_config.get_intra_op_parallelism_threads(), threading_config.get_inter_op_parallelism_threads()


def load_predictor(settings: Settings, **config_changes: Any) -> Any:
    """Load the model once: CHECKPOINT, else MODEL_PRESET, else the shipped checkpoint, else the `tiny` preset.

    `config_changes`: `ModelConfig` fields to change from the checkpoint's or preset's (inference settings, e.g.
    `detection_size_tolerance`), for `python -m model effort --set`."""
    threads = configure_threads(settings.worker_threads)  # before TensorFlow runs anything
    from model.predictor import Predictor  # TensorFlow is imported here, in the worker only

    started = time.perf_counter()
    precision = resolve_precision(settings.model_precision, cpu_flags(), has_gpu())
    if settings.model_seed is not None:
        import keras

        keras.utils.set_random_seed(settings.model_seed)
    if settings.checkpoint:
        path = Path(settings.checkpoint)
        if not path.exists():
            raise FileNotFoundError(f"CHECKPOINT={settings.checkpoint} does not exist; fix the path or unset it.")
        predictor = Predictor.from_checkpoint(str(path), precision=precision, **config_changes)
    elif settings.model_preset:
        predictor = Predictor.from_preset(settings.model_preset, precision=precision, **config_changes)
    elif DEFAULT_CHECKPOINT.exists():
        predictor = Predictor.from_checkpoint(str(DEFAULT_CHECKPOINT), precision=precision, **config_changes)
    else:
        log.warning("No checkpoint: CHECKPOINT and MODEL_PRESET are unset and %s is absent; serving the untrained "
                    "%r preset (suggestions will be meaningless)", DEFAULT_CHECKPOINT, FALLBACK_PRESET)
        predictor = Predictor.from_preset(FALLBACK_PRESET, precision=precision)
    log.info("model %s loaded in %.1f s (%s, TensorFlow threads intra/inter %s/%s, 0 = every core)",
             predictor.version, time.perf_counter() - started, precision, *threads)
    return predictor


class Runtime:
    """Everything a job needs, built once per worker process.

    Args:
        settings: the process settings.
        predictor: a `model.predictor.Predictor`.
    """

    def __init__(self, settings: Settings, predictor: Any):
        self.settings = settings
        self.predictor = predictor
        self.features = FeatureCache(settings.feature_cache_mb * 1024 * 1024)
        self._references: OrderedDict[tuple, Any] = OrderedDict()
        self._decoded: OrderedDict[tuple[str, int | None], LoadedImage] = OrderedDict()
        self._clients: dict[tuple[str, str | None], LabelStudioClient] = {}
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return str(self.predictor.version)

    def client_for(self, source: ImageSource) -> LabelStudioClient | None:
        """The Label Studio client for a source (one per URL and token), or None when LS is unknown."""
        base = self.settings.label_studio_url or source.ls_url
        if not base:
            return None
        token = self.settings.label_studio_api_key or source.ls_token
        with self._lock:
            key = (base, token)
            if key not in self._clients:
                self._clients[key] = LabelStudioClient(base, token)
            return self._clients[key]

    def prediction_long_side(self) -> int | None:
        """The `min_long_side` predictions decode their JPEG at: DECODE_FACTOR times the model's query size, or
        None (full size) when DECODE_FACTOR is 0. The model never sees more than its query size, and masks pasted
        at twice it keep all the 28x28 mask head has."""
        return prediction_long_side(self.settings.decode_factor, self.predictor.config.image_size)

    def load_image(self, source: ImageSource, keep_decoded: bool = False, min_long_side: int | None = None
                   ) -> tuple[str, np.ndarray]:
        """`(content digest, uint8 RGB (H, W, 3))` of an image: `load` without the original size."""
        loaded = self.load(source, keep_decoded=keep_decoded, min_long_side=min_long_side)
        return loaded.digest, loaded.image

    def load(self, source: ImageSource, keep_decoded: bool = False, min_long_side: int | None = None
             ) -> LoadedImage:
        """Fetch and decode an image, EXIF orientation applied.

        The bytes are always fetched, so a changed image is never served stale. With `keep_decoded` the decoded
        image is looked up by the digest of those bytes among the last `DECODED_IMAGES_KEPT` and kept there; it
        is then returned read-only, as it is shared with later requests. `min_long_side`: decode a large JPEG
        at a reduced scale (`model.images.decode_image`); the caller maps coordinates between `image` and
        `original_size`.
        """
        from model.images import ImageDecodeError, decode_image, image_size

        data = fetch_image_bytes(source, self.settings, self.client_for(source))
        digest = content_digest(data)
        key = (digest, min_long_side)
        if keep_decoded:
            with self._lock:
                if key in self._decoded:
                    self._decoded.move_to_end(key)
                    return self._decoded[key]
        try:
            image = decode_image(data, max_pixels=self.settings.max_image_pixels, min_long_side=min_long_side)
            size = (int(image.shape[0]), int(image.shape[1]))
            original = size if min_long_side is None else image_size(io.BytesIO(data))
        except ImageDecodeError as error:
            raise ImageFetchError(f"The image at {source.url[:100]!r} cannot be decoded: {error}.") from None
        loaded = LoadedImage(digest, image, original)
        if keep_decoded:
            image.setflags(write=False)
            with self._lock:
                self._decoded[key] = loaded
                while len(self._decoded) > DECODED_IMAGES_KEPT:
                    self._decoded.popitem(last=False)
        return loaded

    def encode(self, digest: str, image: np.ndarray) -> tuple[Any, bool]:
        """Backbone features of an image, from the cache when possible: `(EncodedImage, cache hit)`."""
        # Features of another model version are not reusable, nor those of the image decoded at another scale.
        key = f"{self.version}:{digest}:{image.shape[0]}x{image.shape[1]}"
        cached = self.features.get(key)
        if cached is not None:
            return cached, True
        encoded = self.predictor.encode_image(image)
        self.features.put(key, encoded)
        return encoded, False

    def reference(self, source: ImageSource, boxes: tuple[tuple[float, ...], ...]) -> Any:
        """Reference embedding of `boxes` in the image at `source`.

        Cached per (URL, boxes): an exemplar's image is fetched once per process, not once per batch task.
        """
        key = (self.version, source.url, tuple(tuple(round(v, 2) for v in b) for b in boxes))
        with self._lock:
            if key in self._references:
                self._references.move_to_end(key)
                return self._references[key]
        _, image = self.load_image(source)
        embedding = self.predictor.encode_references(image, np.asarray(boxes, dtype=np.float32))
        with self._lock:
            self._references[key] = embedding
            while len(self._references) > _REFERENCE_CACHE_SIZE:
                self._references.popitem(last=False)
        return embedding


def install(runtime: Runtime) -> None:
    """Make `runtime` the one `current()` returns in this process."""
    global _runtime
    with _runtime_lock:
        _runtime = runtime


def current() -> Runtime:
    """The process runtime, built from the environment on first use if none was installed."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            settings = Settings.from_env()
            _runtime = Runtime(settings, load_predictor(settings))
        return _runtime
