"""Tables of the session-13 bank study from runs/s13/arms.jsonl (float32 answers, children re-calibrated per arm)."""
import json
import statistics
from collections import defaultdict
from pathlib import Path

rows = [json.loads(line) for line in Path("runs/s13/arms.jsonl").read_text().splitlines()]
child = {}
for r in rows:
    if r["which"] == "child":
        child[(r["set"], r["seed"], r["k"], r["arm"])] = r  # the last row of a key wins
arms = ["pooled", "own", "capped", "pooled+x", "own+x"]
print("| set | seed | k | " + " | ".join(arms) + " |")
print("|---|---:|---:|" + "---|" * len(arms))
keys = sorted({k[:3] for k in child})
means = defaultdict(list)
for key in keys:
    cells = []
    for arm in arms:
        r = child.get((*key, arm))
        if r is None:
            cells.append("")
            continue
        cells.append(f"{r['box']:.2f} / {r['bank']:.2f} ({r['threshold']})")
        if key[0] != "droplets":
            means[arm].append((r["box"], r["bank"]))
    print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")
print()
for arm, values in means.items():
    box = statistics.mean(v[0] for v in values)
    bank = statistics.mean(v[1] for v in values)
    print(f"dev {arm}: n={len(values)} box {box:.4f} bank {bank:.4f} both {(box + bank) / 2:.4f}")
drop = defaultdict(list)
for key, r in child.items():
    if key[0] == "droplets":
        drop[(key[2], key[3])].append((r["box"], r["bank"]))
for (k, arm), values in sorted(drop.items()):
    print(f"droplets k={k} {arm}: n={len(values)} box {statistics.mean(v[0] for v in values):.3f} "
          f"bank {statistics.mean(v[1] for v in values):.3f}")
for r in rows:
    if r["which"] == "parent":
        at = r["bank_sweep"][[0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95].index(0.85)]
        print(f"parent {r['set']} seed {r['seed']} bank k={r['k']} {r['arm']}: {at} ({r['s_per_image']} s/image)")
