"""Session 29 part 1 (prereg.md, arm VPN): session 28's VP children (their parent's verifier, today's skip) with
`detection_label_claims` off, measured as session 28 measured VP (the curve's judged images, drawn mode, the seed's
k accepted images as the project's bank). Usage:

    PYTHONPATH=. python bench/results/exp-session29/child_claims.py SET:SEED:K [...]

Appends `{"arm": "VPN", "set", "seed", "k", "box", "figures", "vp"}` to rows.jsonl here (`vp`: the same child's VP
box figure from session 28's rows).
"""
import json
import logging
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"
S28 = ROOT / "runs" / "s28"
VP_ROWS = HERE.parent / "exp-session28" / "rows.jsonl"
OUT = ROOT / "runs" / "s29"

sys.path.insert(0, str(HERE.parent / "finetune-session14"))
from children import args_for  # session 14: the curve's split per seed  # noqa: E402


def vp_box() -> dict:
    """Session 28's VP box-drawn errors per (set, seed, k)."""
    rows = (json.loads(line) for line in VP_ROWS.read_text().splitlines() if line.strip())
    return {(r["set"], r["seed"], r["k"]): r["box"] for r in rows if r["arm"] == "VP"}


def main():
    from bench.effort_curve import load_split, measure
    from model.checkpoint import load_checkpoint, save_checkpoint

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    OUT.mkdir(parents=True, exist_ok=True)
    before = vp_box()
    for spec in sys.argv[1:]:
        started = time.monotonic()
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        split = load_split(name, args_for(seed), 10)
        source = S28 / f"{name}-s{seed}-k{k}.s28-VP.weights.h5"
        model, card = load_checkpoint(source, detection_label_claims=False)
        saved = save_checkpoint(model, OUT / source.name.replace(".s28-VP.", ".s29-VPN."), card)
        del model
        got = measure(saved, split.judged, split.accepted(k), modes=("interactive",))
        row = {"arm": "VPN", "set": name, "seed": seed, "k": k, "box": got["interactive"]["errors_per_instance"],
               "figures": got["interactive"], "vp": before.get((name, seed, k)),
               "seconds": round(time.monotonic() - started, 1)}
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE VPN %s: box %s (VP %s)", spec, row["box"], row["vp"])


if __name__ == "__main__":
    main()
