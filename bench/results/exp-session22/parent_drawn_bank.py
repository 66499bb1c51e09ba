"""Session 22 part 2 report (prereg.md): the shipped parent v7, untrained, on the sessions set's judged images with
a box drawn, the accepted images' exemplars sent with each box (claims on, as its card has them), without and with
its own label's bank joining the answer (`detection_drawn_bank`). At the card's threshold and over the sweep.
Usage:

    PYTHONPATH=. python bench/results/exp-session22/parent_drawn_bank.py OUTDIR SET:SEED:K [SET:SEED:K ...]

OUTDIR receives a copy of the shipped checkpoint with the option on. Appends `{"set", "seed", "k", "arm",
"threshold", "at", "sweep"}` to bench/results/exp-session22/parent_drawn_bank.jsonl (the bank mode is not run:
the parent's bank is not what changes).
"""
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for

from bench.effort_curve import load_split

ROWS = Path(__file__).parent / "parent_drawn_bank.jsonl"
SHIPPED = Path("checkpoints/mobile-coco128.weights.h5")


def with_drawn_bank(out: Path) -> Path:
    """A copy of the shipped checkpoint whose card turns `detection_drawn_bank` on (the shipped card untouched)."""
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "v7-drawn-bank.weights.h5"
    shutil.copyfile(SHIPPED, weights)
    card = json.loads(SHIPPED.with_name("mobile-coco128.card.json").read_text())
    card["config"]["detection_drawn_bank"] = True
    (out / "v7-drawn-bank.card.json").write_text(json.dumps(card))
    return weights


def drawn(weights: Path, judged, accepted) -> dict:
    """The box-drawn mode as `bench.effort_curve.measure` runs it: the checkpoint's threshold and the sweep."""
    from common.settings import Settings
    from model.evaluation.bank_effort import bank_from_dataset
    from model.evaluation.calibration import SWEEP
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    settings = Settings.from_env().replace(checkpoint=str(weights), model_preset=None)
    predictor = load_predictor(settings)
    threshold = float(predictor.config.detection_min_confidence)
    counted = (threshold, *SWEEP)
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    exemplars = bank_from_dataset(accepted, [c for c in accepted.categories if c in labels])
    run = run_effort(judged, plan_trials(judged, labels, 1),
                     ServiceAnswerer.from_settings(predictor, settings, min(counted), claims=exemplars),
                     thresholds=counted)
    figures = [run.summary(i) for i in range(len(counted))]
    return {"threshold": threshold, "at": round(figures[0].errors_per_instance, 4),
            "recall": figures[0].recall, "precision": figures[0].precision,
            "sweep": {"thresholds": list(SWEEP), "interactive": [round(f.errors_per_instance, 4) for f in figures[1:]]}}


def main(rows: Path = ROWS):
    """The usage above; each row appended to `rows` (session 23 keeps its own file)."""
    out = Path(sys.argv[1])
    joined = with_drawn_bank(out)
    for spec in sys.argv[2:]:
        name, seed, k = spec.split(":")
        split = load_split(name, args_for(int(seed)), 10)
        accepted = split.accepted(int(k))
        for arm, weights in (("alone", SHIPPED), ("joined", joined)):
            row = {"set": name, "seed": int(seed), "k": int(k), "arm": arm, **drawn(weights, split.judged, accepted)}
            with open(rows, "a") as sink:
                sink.write(json.dumps(row) + "\n")
            print(row["set"], seed, k, arm, row["threshold"], row["at"], flush=True)


if __name__ == "__main__":
    main()
