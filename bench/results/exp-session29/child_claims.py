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
from pathlib import Path

from study import append, each_spec, saved_with

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
ROWS = HERE / "rows.jsonl"
S28 = ROOT / "runs" / "s28"
VP_ROWS = HERE.parent / "exp-session28" / "rows.jsonl"
OUT = ROOT / "runs" / "s29"


def vp_box() -> dict:
    """Session 28's VP box-drawn errors per (set, seed, k)."""
    rows = (json.loads(line) for line in VP_ROWS.read_text().splitlines() if line.strip())
    return {(r["set"], r["seed"], r["k"]): r["box"] for r in rows if r["arm"] == "VP"}


def main():
    from bench.effort_curve import measure

    OUT.mkdir(parents=True, exist_ok=True)
    before = vp_box()
    for name, seed, k, split, accepted, seconds in each_spec(sys.argv[1:]):
        source = S28 / f"{name}-s{seed}-k{k}.s28-VP.weights.h5"
        saved = saved_with(source, OUT / source.name.replace(".s28-VP.", ".s29-VPN."), detection_label_claims=False)
        got = measure(saved, split.judged, accepted, modes=("interactive",))
        row = {"arm": "VPN", "set": name, "seed": seed, "k": k, "box": got["interactive"]["errors_per_instance"],
               "figures": got["interactive"], "vp": before.get((name, seed, k)), "seconds": seconds()}
        append(ROWS, row)
        logging.info("DONE VPN %s:%d:%d: box %s (VP %s)", name, seed, k, row["box"], row["vp"])


if __name__ == "__main__":
    main()
