"""Session 28 (prereg.md): kept children of v7 (sessions 24-26) answering drawn boxes through their parent's
verifier (arm VP: the default parent's `detection_verifier` at its `detection_verifier_threshold`), with the frame
step's skip as session 26 left it; measured on the curve's judged images in the drawn mode (`measure`, the sweep of
the verifier's probability), and the diagnostic VC (the verifier's threshold chosen on the child's own held-out
slice). Usage:

    PYTHONPATH=. python bench/results/exp-session28/child_verifier.py [--check | --arm VP|VU] SET:SEED:K [...]

`--check`: the child measured as today (no verifier, today's threshold and skip) instead, to compare with session
26's table. Appends one row per child to rows.jsonl here.
"""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session26"))
from children import args_for  # session 14: the curve's split per seed
from ta_table import arm_rows, today  # session 26: today's figures per child

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"
KEPT = [ROOT / "runs" / d for d in ("s24", "s25", "s26", "s25/k10", "s26/k10")]
PARENT = ROOT / "checkpoints" / "mobile-coco128.weights.h5"
OUT = ROOT / "runs" / "s28"
ARMS = {"VP": {}, "VU": {"detection_drawn_bank": True}, "VPC": {}, "VPX": {}}
"""VPC (part 4) is VP answered by `model.answering` with `CLAIMS_AT_NETWORK_THRESHOLD` on; VPX (part 5) with
`CLAIMS_ON_CONFIDENT_ONLY` on too."""
"""Per arm, the config changes beside the verifier and today's skip."""
TA_DROPLETS = {("droplets", 4, 5), ("droplets", 5, 5), ("droplets", 8, 5), ("droplets", 11, 5), ("droplets", 4, 10)}
"""Session 26: these droplet children decide as under TA (their PETA2 runs were stopped for time)."""


def child_path(name: str, seed: int, k: int) -> Path:
    for directory in KEPT:
        path = directory / f"{name}-s{seed}-k{k}.weights.h5"
        if path.exists():
            return path
    raise SystemExit(f"no kept child {name}-s{seed}-k{k}")


def today_skip(key, card) -> tuple[bool, str]:
    """The frame step's skip as session 26 left it, and where it was read."""
    for arm in ("PETA2", "PE"):
        row = arm_rows(arm).get(key)
        if row is not None:
            return bool(row["frame"]["skip"]), arm
    if key in TA_DROPLETS:
        return bool(arm_rows("TA")[key]["frame"]["skip"]), "TA"
    return bool(card.config.get("detection_skip_border", False)), "card"


def held_out_drawn(weights: Path, seed: int, accepted, extra_thresholds: tuple[float, ...] = ()):
    """The saved child at `weights`, loaded as the worker loads it, judged on its own held-out slice (the recipe's
    split for `seed`) in the drawn mode alone, the training images' exemplars serving the answer:
    `(its config, the HoldoutJudgement or None)`. Part 1's VC and part 3's VH (`join_holdout.py`) read it."""
    from common.settings import Settings
    from model.training.finetune import FineTuneSettings
    from model.training.holdout_effort import INTERACTIVE, judge_on_holdout
    from model.training.holdout_split import split_holdout
    from worker.runtime import load_predictor

    settings = Settings.from_env().replace(checkpoint=str(weights), model_preset=None)
    predictor = load_predictor(settings)
    own = split_holdout(accepted, FineTuneSettings().holdout_fraction, seed)
    return predictor.config, judge_on_holdout(predictor, own.holdout, own.train, settings, modes=(INTERACTIVE,),
                                              extra_thresholds=extra_thresholds)


def vc_threshold(weights: Path, seed: int, accepted) -> dict:
    """Diagnostic VC: the verifier's threshold chosen on the child's own held-out slice (drawn mode only)."""
    from model.evaluation.calibration import choose_threshold, noise_tie, tie_for
    from model.training.holdout_effort import INTERACTIVE

    _, judgement = held_out_drawn(weights, seed, accepted)
    if judgement is None:
        return {"threshold": None, "why": "no drawn trial on the held-out slice"}
    efforts = judgement.efforts()
    lowest = min(efforts[INTERACTIVE])
    instances = judgement.instances()
    tie = max(tie_for(instances), noise_tie(lowest, instances))
    chosen = choose_threshold(judgement.thresholds, efforts, tie=tie, tie_break="middle")
    return {"threshold": chosen.threshold, "instances": instances, "tie": round(tie, 4),
            "efforts": [round(e, 4) for e in efforts[INTERACTIVE]]}


def main():
    from bench.effort_curve import load_split, measure
    from model.checkpoint import load_checkpoint, read_card, save_checkpoint

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    argv = sys.argv[1:]
    check = argv[0] == "--check"
    arm = "check" if check else "VP"
    if argv[0] == "--arm":  # VU (part 2): VP with the drawn label's bank joining each drawn box's answer
        arm, argv = argv[1], argv[2:]
    specs = argv[1:] if check else argv
    if arm == "VPX":
        import model.answering as answering

        answering.CLAIMS_ON_CONFIDENT_ONLY = True
    parent = read_card(PARENT).config
    base = today()
    OUT.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        started = time.monotonic()
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        key = (name, seed, k)
        split = load_split(name, args_for(seed), 10)
        accepted = split.accepted(k)
        path = child_path(name, seed, k)
        card = read_card(path)
        skip, source = today_skip(key, card)
        if check:
            threshold = base[key][0]
            changes = {"detection_skip_border": skip, "detection_min_confidence": threshold}
        else:
            changes = {"detection_skip_border": skip, "detection_verifier": tuple(parent["detection_verifier"]),
                       "detection_verifier_threshold": parent["detection_verifier_threshold"],
                       **ARMS[arm]}
        model, card = load_checkpoint(path, **changes)
        saved = save_checkpoint(model, OUT / f"{path.name.removesuffix('.weights.h5')}.s28-{arm}.weights.h5", card)
        del model
        got = measure(saved, split.judged, accepted, modes=("interactive",))
        row = {"arm": arm, "set": name, "seed": seed, "k": k, "skip": skip, "skip_from": source,
               "today": base.get(key), "threshold": got["threshold"],
               "box": got["interactive"]["errors_per_instance"], "figures": got["interactive"],
               "sweep": got["sweep"]}
        row["bank_answers"] = bool(card.config.get("detection_bank_answers", True))
        if arm == "VP":
            vc = vc_threshold(saved, seed, accepted)
            row["VC"] = vc
            if vc["threshold"] is not None:
                position = got["sweep"]["thresholds"].index(vc["threshold"])
                row["VC_box"] = got["sweep"]["interactive"][position]
        row["seconds"] = round(time.monotonic() - started, 1)
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: box %s (today %s) VC %s", arm, spec, row["box"], base.get(key), row.get("VC_box"))


if __name__ == "__main__":
    main()
