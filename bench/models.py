"""Benchmark models, and the same weights saved as a checkpoint so that worker processes, started with the same
MODEL_PRECISION, serve exactly the model measured in-process.

Which weights a preset's benchmark model has (`describe_weights` says it in the results):
- a preset with a shipped checkpoint (`SHIPPED_CHECKPOINTS`: `mobile`, `mobile-fast`) is that checkpoint's network: the config of
  its model card (backbone, matching, conditioning, ...) and its weights, at the query size the plan asks for
  (`image_size` and `image_min_dim`, plus any other override of the plan such as `detection_max_instances`).
  Convolution weights do not depend on the input size and the model rebuilds its anchors, so one checkpoint
  serves every size. If the checkpoint file is missing the preset falls back to random weights, and says so;
- every other preset (`paper-large`: no paper weights here; `tiny`: the smoke run) is the preset with seeded
  random weights (random heads on its ImageNet backbone where it has one).

Every request uses score threshold 0 and a fixed instance limit, so the number of detections per request does not
depend on the weights; what the weights change is the masks (random heads paste blotchy ones, with many parts, so
more polygon regions) and, with random heads, how many detections survive clipping to the image.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NO_CHECKPOINT_REASONS", "SHIPPED_CHECKPOINTS", "CheckpointStore", "build_predictor", "config_label",
           "describe_weights", "shipped_checkpoint", "version_of"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CHECKPOINTS: dict[str, Path] = {
    "mobile": REPO_ROOT / "checkpoints" / "mobile-coco128.weights.h5",
    "mobile-fast": REPO_ROOT / "checkpoints" / "mobile-fast-coco128.weights.h5",
}
"""Preset -> the trained checkpoint its benchmark models load (with its model card beside it)."""
NO_CHECKPOINT_REASONS = {
    "paper-large": "the paper's released weights are not here (no trained checkpoint of this preset)",
    "tiny": "a test preset (the smoke run checks the runner, not the numbers)",
}
"""Why a preset without a shipped checkpoint is measured with random weights (reported with the results)."""
SIZE_FIELDS = ("image_size", "image_min_dim")
"""Config fields the plan sets on a checkpoint's config (the query size of the measurement)."""


def config_label(preset: str, overrides: dict, precision: str | None = None) -> str:
    """A short name of a preset with overrides and precision, e.g. `mobile@1024`, `mobile@512 bf16`."""
    from bench.plan import PRECISION_TAGS
    from model.presets import get_preset

    config = get_preset(preset, **overrides)
    label = f"{preset}@{config.image_size}"
    if "detection_max_instances" in overrides:
        label += f"+det{config.detection_max_instances}"
    if precision is not None:
        label += f" {PRECISION_TAGS[precision]}"
    return label


def shipped_checkpoint(preset: str) -> Path | None:
    """The trained checkpoint a preset's benchmark models load, or None (no checkpoint, or its file is missing)."""
    path = SHIPPED_CHECKPOINTS.get(preset)
    return path if path is not None and path.exists() else None


def describe_weights(preset: str) -> str:
    """One sentence for the results: which weights (and which config) the benchmark models of `preset` have."""
    from model.checkpoint import read_card
    from model.presets import get_preset

    path = shipped_checkpoint(preset)
    if path is not None:
        card = read_card(path)
        config = card.config
        return (f"the shipped checkpoint `{card.version}` ({_relative(path)}): its weights and its card's config "
                f"(matching_inputs {config.get('matching_inputs', '?')}, conditioning "
                f"{config.get('conditioning', 'pyramid')}), at the query size of each measurement")
    random = ("seeded random heads on an ImageNet backbone" if get_preset(preset).backbone_weights == "imagenet"
              else "seeded random weights")
    if preset in SHIPPED_CHECKPOINTS:
        return (f"{random}, the untrained preset: its shipped checkpoint {_relative(SHIPPED_CHECKPOINTS[preset])} is "
                "missing")
    return f"{random}: {NO_CHECKPOINT_REASONS.get(preset, 'no trained checkpoint of this preset here')}"


def build_predictor(preset: str, overrides: dict, seed: int, precision: str):
    """The benchmark predictor of a preset with `overrides` (query size, ...) in `precision`, Keras seeded.

    With a shipped checkpoint: its card's config with the plan's sizes and overrides, and its weights
    (`predictor.card` is the checkpoint's card). Without: `Predictor.from_preset` (`predictor.card` is None).
    Weights are float32 under either precision and neither loading nor the seeded draws depend on it: the float32
    and bfloat16 predictors of one configuration hold the same weights.
    """
    import keras

    from model.predictor import Predictor

    keras.utils.set_random_seed(seed)
    path = shipped_checkpoint(preset)
    if path is None:
        predictor = Predictor.from_preset(preset, precision=precision, **overrides)
    else:
        model, card = _load_resized(path, preset, overrides, precision)
        predictor = Predictor(model, card=card, fold_batch_norm=True)
    predictor.version = version_of(preset, overrides, precision)
    return predictor


def _load_resized(path: Path, preset: str, overrides: dict, precision: str):
    """(model, card) of a checkpoint rebuilt at the plan's query size: the card's config with the preset's
    `SIZE_FIELDS` under `overrides` (so `mobile@512` is 512 whatever size the card was trained at) and the rest of
    `overrides`, then the checkpoint's weights."""
    from model.checkpoint import load_checkpoint
    from model.presets import get_preset

    sized = get_preset(preset, **overrides)
    changes = {name: getattr(sized, name) for name in SIZE_FIELDS} | dict(overrides)
    return load_checkpoint(path, precision=precision, **changes)


def version_of(preset: str, overrides: dict, precision: str) -> str:
    """The model version a benchmark predictor reports, e.g. `bench-mobile@1024-bf16`.

    It names the precision although the weights are the same: `CheckpointStore` and the worker's feature cache key
    on the version, and a float32 and a bfloat16 model are different measurements.
    """
    return f"bench-{config_label(preset, overrides, precision).replace(' ', '-')}"


class CheckpointStore:
    """Checkpoints of benchmark predictors under `root`, written once per configuration and precision.

    Args:
        root: scratch directory.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._paths: dict[str, Path] = {}

    def ensure(self, preset: str, overrides: dict, seed: int, precision: str) -> Path:
        """The checkpoint of a configuration, building and saving the model only if not stored yet."""
        version = version_of(preset, overrides, precision)
        if version not in self._paths:
            self.path_for(build_predictor(preset, overrides, seed, precision))
        return self._paths[version]

    def path_for(self, predictor) -> Path:
        """The checkpoint of `predictor` (its version names it); written on first use. Its card keeps the config
        the predictor was built with (the bench's query size) and names the checkpoint its weights come from."""
        from model.checkpoint import ModelCard, save_checkpoint

        version = str(predictor.version)
        if version not in self._paths:
            path = self.root / f"{version.replace('@', '-').replace('+', '-')}.weights.h5"
            source = predictor.card
            card = ModelCard(version=version, preset=predictor.config.name, config={},
                             parent=None if source is None else source.version,
                             notes=("benchmark model: seeded untrained heads" if source is None else
                                    f"benchmark model: the weights of {source.version} at query "
                                    f"{predictor.config.image_size}"))
            save_checkpoint(predictor.model, path, card)
            self._paths[version] = path
        return self._paths[version]


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
