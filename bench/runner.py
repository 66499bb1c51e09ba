"""Run every benchmark family of a `Plan` within its time budget and collect one results dict.

Order: interactive latency (with the direct comparison and worker memory), batch throughput, how cost grows,
training speed; then the memory summary and the plot. A family that fails is recorded with its error and the
run goes on; one that does not fit the remaining budget is recorded as skipped. All service processes run on
127.0.0.1 in a scratch directory that is removed at the end.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.plan import Plan
from bench.report import PLOT_NAME, check_targets
from bench.timing import Deadline

__all__ = ["FAMILIES", "resolve_service_precision", "run"]

FAMILIES = ("interactive", "throughput", "scaling", "training")
SHARE_OF_BUDGET = {"interactive": 0.5, "throughput": 0.14, "scaling": 0.2, "training": 0.2}
"""Fraction of the whole budget each family may use at most (the run's own deadline still applies)."""

log = logging.getLogger(__name__)


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _guarded(results: dict, name: str, fn: Callable[[], dict]) -> None:
    try:
        results[name] = fn()
    except Exception as error:  # keep the other families' numbers
        log.exception("benchmark family %s failed", name)
        results[name] = {"error": f"{type(error).__name__}: {error}"}


def resolve_service_precision(plan: Plan) -> Plan:
    """The plan with `service_precision` explicit: "auto" becomes what a worker would pick on this machine."""
    from bench.service import worker_precision

    return plan.replace(service_precision=worker_precision(plan.service_precision))


def _presets(plan: Plan, families: tuple[str, ...]) -> tuple[str, ...]:
    """The presets the `families` of `plan` build models of, in first-use order."""
    used = {"interactive": plan.presets, "throughput": (plan.throughput_preset,),
            "scaling": (plan.growth_preset,), "training": plan.training_presets}
    return tuple(dict.fromkeys(preset for family in FAMILIES if family in families for preset in used[family]))


def run(plan: Plan, out_dir: Path, families: tuple[str, ...] = FAMILIES) -> dict:
    """Measure `families` of `plan`; write the plot into `out_dir`; return the results (not yet written)."""
    from bench.end_to_end import run_interactive
    from bench.machine import describe_machine, load_average
    from bench.memory import memory_summary
    from bench.models import CheckpointStore, describe_weights
    from bench.scaling import plot_growth, run_scaling
    from bench.service import BenchService, forced_instances
    from bench.throughput import run_throughput
    from bench.training import run_training

    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown benchmark families {sorted(unknown)}; choose from {FAMILIES}")
    started = time.monotonic()
    deadline = Deadline(plan.budget_s)
    requested = plan.service_precision
    plan = resolve_service_precision(plan)
    results: dict = {"plan": plan.to_dict(), "service_precision_requested": requested, "started_utc": _utc(),
                     "machine": describe_machine(), "notes": [plan.cuts] if plan.cuts else [],
                     "weights": {preset: describe_weights(preset) for preset in _presets(plan, families)}}
    scratch = Path(tempfile.mkdtemp(prefix="siamese-bench-"))
    service = BenchService(scratch / "service", forced_instances(plan.max_instances))
    try:
        if {"interactive", "throughput"} & set(families):
            service.start()
            store = CheckpointStore(scratch / "checkpoints")
            if "interactive" in families:
                _guarded(results, "interactive", lambda: run_interactive(
                    plan, service, store, deadline.sub(plan.budget_s * SHARE_OF_BUDGET["interactive"])))
            if "throughput" in families:
                _guarded(results, "throughput", lambda: run_throughput(
                    plan, service, store, deadline.sub(plan.budget_s * SHARE_OF_BUDGET["throughput"])))
            _guarded(results, "memory", lambda: memory_summary(
                results.get("interactive") or {}, results.get("throughput"), service.backend_pid))
            service.stop()
        if "scaling" in families:
            _guarded(results, "scaling", lambda: run_scaling(
                plan, deadline.sub(plan.budget_s * SHARE_OF_BUDGET["scaling"])))
            plot = plot_growth(results.get("scaling") or {}, out_dir / PLOT_NAME)
            results["plot"] = plot.name if plot else None
        if "training" in families:
            _guarded(results, "training", lambda: run_training(
                plan, deadline.sub(plan.budget_s * SHARE_OF_BUDGET["training"])))
    finally:
        service.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    results["targets"] = check_targets(results.get("interactive") or {})
    results["not_measured"] = [
        "GPU latency and throughput (no GPU on this machine; the issue's ~100 ms paper-large target is unverified)",
        (results.get("training") or {}).get("train_button_to_new_version",
                                            "training: not run") if "training" in families else "training: not run",
    ]
    if deadline.expired():
        results["notes"].append(f"the {plan.budget_s / 60:.0f}-minute budget ran out: later parts were cut "
                                "(see 'skipped')")
    results["finished_utc"] = _utc()
    results["wall_s"] = round(time.monotonic() - started, 1)
    results["load_average_at_end"] = load_average()
    return results
