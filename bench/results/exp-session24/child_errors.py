"""Session 24 diagnosis: where a droplet child's errors are. Trains (or loads) one child of today's recipe per
`SET:SEED:K` and dumps, per trial and mode, its whole answer at 0.3 as the worker gives it, with the ground truth:
per suggestion its box and score, per ground-truth instance its box; the image size and the trial's clip. Usage:

    PYTHONPATH=. python bench/results/exp-session24/child_errors.py PARENT OUTDIR SET:SEED:K [...] [--gate-off]

Writes OUTDIR/<set>-s<seed>-k<k>.dump.jsonl (one row per trial, `mode` interactive|bank) and keeps the child.
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import each_child


def dump(weights: Path, judged, accepted, sink, gate_off: bool = False, overrides: dict | None = None) -> float:
    from common.settings import Settings
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials, run_bank_effort
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    settings = Settings.from_env().replace(checkpoint=str(weights), model_preset=None)
    predictor = load_predictor(settings)
    if gate_off:  # the reference gate off: every answer stands, so any gate can be scored offline
        predictor.config = predictor.config.replace(detection_reference_gate=0.0)
    if overrides:  # any other config field, for offline scoring of a decision (session 25: the frame skip off)
        predictor.config = predictor.config.replace(**overrides)
    threshold = float(predictor.config.detection_min_confidence)
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    claims = None
    if predictor.config.uses_project_exemplars:
        claims = bank_from_dataset(accepted, [c for c in accepted.categories if c in labels])

    def writer(mode):
        def on_trial(result, image, answer, gt_boxes, gt_masks):
            row = {"mode": mode, "image": result.trial.image_index, "threshold": threshold,
                   "size": [int(image.pixels.shape[1]), int(image.pixels.shape[0])],
                   "reference_index": getattr(result.trial, "reference_index", None),
                   "gt": np.round(np.asarray(gt_boxes, float), 1).tolist(),
                   "boxes": np.round(answer.boxes.astype(float), 1).tolist(),
                   "scores": [round(float(s), 4) for s in answer.scores]}
            sink.write(json.dumps(row) + "\n")
        return on_trial

    trials = plan_trials(judged, labels, 1)
    run_effort(judged, trials, ServiceAnswerer.from_settings(predictor, settings, 0.3, claims=claims),
               thresholds=(0.3,), on_trial=writer("interactive"))
    bank = bank_from_dataset(accepted, [c for c in accepted.categories if c in labels])
    run_bank_effort(judged, plan_bank_trials(judged, list(bank)),
                    BankAnswerer.from_settings(predictor, bank, settings, 0.3), thresholds=(0.3,),
                    on_trial=writer("bank"))
    return threshold


def main():
    from model.training.finetune import FineTuneSettings, finetune

    argv = sys.argv[1:]
    gate_off = "--gate-off" in argv
    argv = [a for a in argv if a != "--gate-off"]
    for parent, out, _spec, name, seed, k, split, accepted, path in each_child(argv):
        if not path.exists():
            finetune(parent, accepted, path, f"s24-{name}-s{seed}-k{k}",
                     FineTuneSettings(seed=seed, max_steps=150, time_budget_s=900))
        suffix = ".nogate" if gate_off else ""
        with open(out / f"{name}-s{seed}-k{k}{suffix}.dump.jsonl", "w") as sink:
            dump(path, split.judged, accepted, sink, gate_off)


if __name__ == "__main__":
    main()
