"""What one benchmark run measures: presets, sizes, repeats and the time budget, as one frozen value.

`Plan.full()` is the published run (bounded to about 20 minutes on 2 cores); `Plan.smoke()` is the CI run with
the `tiny` preset and one repeat (it checks that the runner works, never how fast anything is).

Precision is explicit everywhere: each interactive configuration names its precision, and the worker serving it
gets the same MODEL_PRECISION as the in-process predictor it is compared with. Throughput and the growth sweeps
run in `service_precision`; "auto" there is resolved as the worker would resolve it, once, before a run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["MIN_DIM_RATIO", "PRECISION_TAGS", "Plan", "native_size", "size_overrides"]

MIN_DIM_RATIO = 25 / 32
"""Short-side target / long-side limit of the query resize, as in the presets (512/400, 1024/800)."""

PRECISION_TAGS = {"float32": "fp32", "bfloat16": "bf16"}
"""The precisions a benchmark measures (MODEL_PRECISION values; never "auto" once a run starts) and their labels."""

FULL_BUDGET_S = 19 * 60.0
SMOKE_BUDGET_S = 12 * 60.0


@dataclass(frozen=True)
class Plan:
    """Everything a run measures. Sizes are pixels; counts are bounded so every run stops by itself.

    Attributes:
        name: "full" or "smoke" (reported).
        presets, query_sizes: interactive latency for each preset at each query (network input) size.
        precisions: interactive latency is measured in each of these precisions, one after the other (in the
            end-to-end worker and in-process alike), so their ratio is measured side by side.
        single_precision_presets: presets measured in the first of `precisions` only (the slow ones).
        service_precision: precision of the throughput workers and the growth sweeps: a key of `PRECISION_TAGS`,
            or "auto" (what the worker picks on this machine; resolved before the run).
        repeats, warmup: recorded and unrecorded calls per measurement.
        image_shape, copies: (H, W) of the interactive test images and the number of objects in each.
        max_instances: suggestions per answer (score threshold 0, so the work per request is fixed).
        throughput_preset, throughput_images, worker_counts, cache_mb: batch throughput run and the feature
            cache size of its workers (small, so the cache bound is exercised).
        growth_preset, growth_sizes, instance_counts, reference_counts, growth_repeats: how cost grows.
        answer_sides: image long sides at which one clean instance's answer building (RLE, brush, polygon) is
            timed (no model: it isolates the per-pixel cost of the answer from what random heads produce).
        training_presets, training_steps, training_batch: seconds per training step.
        budget_s: wall-time budget of the whole run; families that do not fit are reported as skipped.
        seed: weights and images.
        cuts: what was reduced to fit the budget (printed with the results).
    """

    name: str
    presets: tuple[str, ...]
    query_sizes: tuple[int, ...]
    repeats: int
    warmup: int
    image_shape: tuple[int, int]
    copies: int
    max_instances: int
    throughput_preset: str
    throughput_images: int
    worker_counts: tuple[int, ...]
    cache_mb: int
    growth_preset: str
    growth_sizes: tuple[int, ...]
    instance_counts: tuple[int, ...]
    reference_counts: tuple[int, ...]
    growth_repeats: int
    answer_sides: tuple[int, ...]
    training_presets: tuple[str, ...]
    training_steps: int
    training_batch: int
    budget_s: float
    precisions: tuple[str, ...] = ("float32",)
    single_precision_presets: tuple[str, ...] = ()
    service_precision: str = "auto"
    seed: int = 0
    cuts: str = ""

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.warmup < 0 or self.growth_repeats < 1 or self.training_steps < 1:
            raise ValueError(f"plan {self.name!r}: repeats, growth_repeats and training_steps must be >= 1")
        if any(size % 64 for size in (*self.query_sizes, *self.growth_sizes)):
            raise ValueError(f"plan {self.name!r}: query and growth sizes must be multiples of 64")
        if self.copies < 2:
            raise ValueError("interactive images need at least 2 objects (a cold box and another warm box)")
        unknown = set(self.precisions) - set(PRECISION_TAGS)
        if unknown or not self.precisions:
            raise ValueError(f"plan {self.name!r}: precisions must be some of {sorted(PRECISION_TAGS)}, got "
                             f"{self.precisions}")
        if self.service_precision not in (*PRECISION_TAGS, "auto"):
            raise ValueError(f"plan {self.name!r}: service_precision must be one of {sorted(PRECISION_TAGS)} or "
                             f"'auto', got {self.service_precision!r}")

    def interactive_configs(self) -> list[tuple[str, dict[str, int], str]]:
        """(preset, size overrides, precision) in measurement order.

        Each preset at its own size first: if the budget runs out, the overridden sizes are what is lost. The
        precisions of one configuration follow each other, so their ratio is measured close together.
        """
        configs = [(preset, size_overrides(preset, size)) for preset in self.presets for size in self.query_sizes]
        configs.sort(key=lambda config: bool(config[1]))
        return [(preset, overrides, precision) for preset, overrides in configs
                for precision in (self.precisions[:1] if preset in self.single_precision_presets
                                  else self.precisions)]

    @classmethod
    def full(cls) -> Plan:
        return cls(
            name="full", presets=("mobile", "mobile-fast", "paper-large"), query_sizes=(512, 1024), repeats=3,
            warmup=1,
            image_shape=(768, 1024), copies=12, max_instances=30,
            throughput_preset="mobile", throughput_images=10, worker_counts=(1, 2), cache_mb=48,
            growth_preset="mobile", growth_sizes=(512, 768, 1024, 1536), instance_counts=(1, 10, 30, 100),
            reference_counts=(1, 5), growth_repeats=2, answer_sides=(512, 1024, 2048, 4032),
            training_presets=("mobile", "paper-large"), training_steps=2, training_batch=1,
            budget_s=FULL_BUDGET_S, precisions=("float32", "bfloat16"), single_precision_presets=("paper-large",),
            cuts=("to fit about 20 minutes on 2 shared cores: 3 recorded repeats for latency (2 for the growth "
                  "sweeps, 2 rounds of 10 images for throughput, 2 training steps after the first); the size sweep "
                  "and the instance/reference sweeps use the mobile preset only; paper-large's latency is measured "
                  "in float32 only"),
        )

    @classmethod
    def smoke(cls) -> Plan:
        # Both precisions (the bfloat16 path must run in CI too) but one growth size, to stay about a minute.
        return cls(
            name="smoke", presets=("tiny",), query_sizes=(192,), repeats=1, warmup=1,
            image_shape=(150, 200), copies=4, max_instances=5,
            throughput_preset="tiny", throughput_images=2, worker_counts=(1,), cache_mb=1,
            growth_preset="tiny", growth_sizes=(192,), instance_counts=(1, 4), reference_counts=(1, 2),
            growth_repeats=1, answer_sides=(128, 256), training_presets=("tiny",), training_steps=1, training_batch=1,
            budget_s=SMOKE_BUDGET_S, precisions=("float32", "bfloat16"),
        )

    def replace(self, **changes) -> Plan:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def native_size(preset: str) -> int:
    """The query size a preset was defined with."""
    from model.presets import get_preset

    return get_preset(preset).image_size


def size_overrides(preset: str, size: int) -> dict[str, int]:
    """Preset field overrides for a query size: none at the preset's own size, else `image_size`/`image_min_dim`."""
    if native_size(preset) == size:
        return {}
    return {"image_size": size, "image_min_dim": round(size * MIN_DIM_RATIO)}
