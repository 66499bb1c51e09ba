"""Session 13: the bank seeded in the image, three arms, on the kept children (and the parent with each bank).

    PYTHONPATH=. .venv/bin/python runs/s13/arms.py SET:SEED:K [...]     (K=0: parent v7 with the k=5 and k=10 banks)
Appends one JSON row per (set, seed, k, which) to runs/s13/arms.jsonl.
"""
import json
import logging
import os
import sys
import time
from pathlib import Path

import model.answering as answering
from bench.effort_curve import load_split
from bench.learning_curve import SHIPPED_CHECKPOINT
from common.settings import Settings
from model.checkpoint import load_checkpoint
from model.evaluation.bank_answerer import BankAnswerer
from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials, run_bank_effort
from model.evaluation.calibration import SWEEP
from model.evaluation.effort_runner import plan_trials, run_effort
from model.evaluation.service_answerer import ServiceAnswerer
from model.predictor import Predictor
from model.training.finetune import FIXED_THRESHOLD, FineTuneSettings
from model.training.holdout_effort import judge_on_holdout
from model.training.holdout_split import split_holdout

sys.path.insert(0, str(Path(__file__).parent))
from children import OUT, args_for

ALL_ARMS = {"pooled": (0.0, False, False), "own": (0.5, False, False), "capped": (1e-6, True, False),
            "pooled+x": (0.0, False, True), "own+x": (0.5, False, True)}
ARMS = {k: v for k, v in ALL_ARMS.items() if k in os.environ.get("ARMS", ",".join(ALL_ARMS)).split(",")}
STATE = {"cap": False}


_seeded_bank_answer = answering.seeded_bank_answer


def seeded_with_arm_cap(*args, **kwargs):
    """The product's seeding, with the capped arm's `cap` (find_for_labels calls it by this module-level name)."""
    return _seeded_bank_answer(*args, cap=STATE["cap"], **kwargs)


answering.seeded_bank_answer = seeded_with_arm_cap


def errors(run, n):
    return [None if run.summary(i).errors_per_instance is None else round(run.summary(i).errors_per_instance, 4)
            for i in range(n)]


def judged_bank(predictor, judged, bank, settings):
    trials = plan_bank_trials(judged, list(bank))
    started = time.monotonic()
    run = run_bank_effort(judged, trials, BankAnswerer.from_settings(predictor, bank, settings, min(SWEEP)),
                          thresholds=SWEEP)
    return errors(run, len(SWEEP)), round((time.monotonic() - started) / max(1, len(judged.images)), 2)


def one(name, seed, k):
    settings = Settings.from_env()
    split = load_split(name, args_for(seed), 10)
    judged = split.judged
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    rows = []
    if k == 0:
        model, card = load_checkpoint(SHIPPED_CHECKPOINT)
        predictor = Predictor(model, version=card.version, fold_batch_norm=True)
        base = predictor.config
        for bank_k in (5, 10):
            accepted = split.accepted(bank_k)
            bank = bank_from_dataset(accepted, [c for c in accepted.categories if c in labels])
            for arm, (seed_score, cap, one) in ARMS.items():
                predictor.config = base.replace(detection_bank_seed=seed_score, detection_one_label=one)
                STATE["cap"] = cap
                sweep, per_image = judged_bank(predictor, judged, bank, settings)
                rows.append({"set": name, "seed": seed, "k": bank_k, "which": "parent", "arm": arm,
                             "threshold": float(base.detection_min_confidence), "bank_sweep": sweep,
                             "s_per_image": per_image})
        return rows
    accepted = split.accepted(k)
    path = OUT / f"{name}-s{seed}-k{k}.weights.h5"
    model, card = load_checkpoint(path)
    predictor = Predictor(model, version=card.version, fold_batch_norm=True)
    base = predictor.config
    fs = FineTuneSettings(seed=seed)
    sp = split_holdout(accepted, fs.holdout_fraction, seed)
    trials = plan_trials(judged, labels, 1)
    run = run_effort(judged, trials, ServiceAnswerer.from_settings(predictor, settings, min(SWEEP)), thresholds=SWEEP)
    box_sweep = errors(run, len(SWEEP))
    bank = bank_from_dataset(accepted, [c for c in accepted.categories if c in labels])
    for arm, (seed_score, cap, one) in ARMS.items():
        predictor.config = base.replace(detection_bank_seed=seed_score, detection_one_label=one)
        STATE["cap"] = cap
        judgement = judge_on_holdout(predictor, sp.holdout, sp.train, settings)
        calibration = judgement.calibrate() if judgement else None
        threshold = calibration.threshold if calibration else FIXED_THRESHOLD
        sweep, per_image = judged_bank(predictor, judged, bank, settings)
        at = min(range(len(SWEEP)), key=lambda i: abs(SWEEP[i] - threshold))
        rows.append({"set": name, "seed": seed, "k": k, "which": "child", "arm": arm, "threshold": threshold,
                     "box": box_sweep[at], "bank": sweep[at], "box_sweep": box_sweep, "bank_sweep": sweep,
                     "calibration": calibration.to_dict() if calibration else None, "s_per_image": per_image,
                     "card_threshold": float(base.detection_min_confidence)})
    return rows


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for spec in sys.argv[1:]:
        name, seed, k = spec.split(":")
        for row in one(name, int(seed), int(k)):
            with open(OUT.parent / "arms.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            logging.info("ARM %s %s %s: box %s bank %s thr %s", spec, row["which"], row["arm"], row.get("box"),
                         row.get("bank"), row["threshold"])


if __name__ == "__main__":
    main()
