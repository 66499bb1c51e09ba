"""Benchmark models: a seeded, untrained preset (random heads, ImageNet backbone where the preset has one), and
the same weights saved as a checkpoint so that worker processes, started with the same MODEL_PRECISION, serve
exactly the model measured in-process.

Random heads are fine for timing: every request uses score threshold 0 and a fixed instance limit, so the work
does not depend on what the weights have learned.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CheckpointStore", "build_predictor", "config_label", "version_of"]


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


def build_predictor(preset: str, overrides: dict, seed: int, precision: str):
    """`Predictor.from_preset(preset, precision, **overrides)` with Keras seeded, so a run is reproducible.

    Weights are float32 under either precision and the seeded draws do not depend on it: the float32 and
    bfloat16 predictors of one configuration hold the same weights.
    """
    import keras

    from model.predictor import Predictor

    keras.utils.set_random_seed(seed)
    predictor = Predictor.from_preset(preset, precision=precision, **overrides)
    predictor.version = version_of(preset, overrides, precision)
    return predictor


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
        """The checkpoint of a configuration, building and saving the seeded model only if not stored yet."""
        version = version_of(preset, overrides, precision)
        if version not in self._paths:
            self.path_for(build_predictor(preset, overrides, seed, precision))
        return self._paths[version]

    def path_for(self, predictor) -> Path:
        """The checkpoint of `predictor` (its version names it); written on first use."""
        from model.checkpoint import ModelCard, save_checkpoint

        version = str(predictor.version)
        if version not in self._paths:
            path = self.root / f"{version.replace('@', '-').replace('+', '-')}.weights.h5"
            card = ModelCard(version=version, preset=predictor.config.name, config={},
                             notes="benchmark model: seeded untrained heads")
            save_checkpoint(predictor.model, path, card)
            self._paths[version] = path
        return self._paths[version]
