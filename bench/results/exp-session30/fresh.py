"""What session 30's study scripts share: a fresh child of the default (v13) by the recipe as the curves run it, both
versions measured on the curve's judged images in both modes, one row per child appended to rows.jsonl here."""
import logging
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "exp-session29"))
from small_k import PARENT, TIME_BUDGET_S  # session 29: v13, and the curves' budget (150 steps end training)  # noqa: E402
from study import append, each_spec  # session 29: one child per SET:SEED:K with the curve's split  # noqa: E402

ROWS = HERE / "rows.jsonl"
OUT = HERE.parents[2] / "runs" / "s30" / "children"


def fresh_child(name: str, seed: int, k: int, accepted):
    """`(weights path, FineTuneResult)` of a new child of v13 trained on `accepted` by the recipe's defaults."""
    from model.training.finetune import FineTuneSettings, finetune

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-s{seed}-k{k}.weights.h5"
    return path, finetune(PARENT, accepted, path, f"{name}-s{seed}-k{k}",
                          FineTuneSettings(seed=seed, time_budget_s=TIME_BUDGET_S))


def both_measured(path: Path, split, accepted) -> dict:
    """`{"child", "parent"}`: each version's figures on the curve's judged images, both modes, `accepted` the bank."""
    from bench.effort_curve import measure

    return {"child": measure(path, split.judged, accepted), "parent": measure(PARENT, split.judged, accepted)}


def study(arm: str, specs: list[str], extra) -> None:
    """Per `SET:SEED:K` of `specs`: a fresh child, both versions measured, and one row appended to `ROWS`:
    `{"arm", "set", "seed", "k", "steps", "threshold", **extra(path, result, accepted), "child", "parent",
    "seconds"}` (`extra` gives the arm's own fields)."""
    for name, seed, k, split, accepted, seconds in each_spec(specs):
        path, result = fresh_child(name, seed, k, accepted)
        row = {"arm": arm, "set": name, "seed": seed, "k": k, "steps": result.steps,
               "threshold": result.card.training["score_threshold"]["value"]}
        row |= extra(path, result, accepted)
        row |= both_measured(path, split, accepted)
        row["seconds"] = seconds()
        append(ROWS, row)
        logging.info("DONE %s %s:%d:%d", arm, name, seed, k)
