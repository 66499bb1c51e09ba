"""Tables and the decision of pre-registration 2 from frame_children.py's rows. Usage:

    python bench/results/exp-session16/frame_table.py ROWS.jsonl [--decide]
"""

import json
import sys


def main(path: str, *flags: str) -> None:
    with open(path) as lines:
        rows = [json.loads(line) for line in lines]
    print("| child | T / E (skip) | threshold A / B | box drawn A / B | bank A / B |")
    print("|---|---|---|---|---|")
    means = {"A": [], "B": []}
    worse = []
    for r in rows:
        c = r["convention"]
        cells = []
        for mode in ("interactive", "bank"):
            a, b = (r[arm].get(mode, {}).get("errors_per_instance") for arm in "AB")
            cells.append(f"{a:.3f} / {b:.3f}" if a is not None else "n/a")
            if a is not None:
                means["A"].append(a)
                means["B"].append(b)
                tie = 1 / r["A"][mode]["instances"]
                if b > a + tie:
                    worse.append((r["set"], r["seed"], r["k"], mode, a, b))
        print(f"| {r['set']} s{r['seed']} k{r['k']} | {c['touching']} / {c['expected']:.1f} ({'skip' if c['skip'] else 'keep'}) "
              f"| {r['A']['threshold']:g} / {r['B']['threshold']:g} | {cells[0]} | {cells[1]} |")
    mean_a, mean_b = (sum(v) / len(v) for v in (means["A"], means["B"]))
    print(f"\nmean of both modes over {len(rows)} children: A {mean_a:.4f}, B {mean_b:.4f}")
    for name in sorted({r["set"] for r in rows}):
        for mode in ("interactive", "bank"):
            for arm in "AB":
                vals = [r[arm][mode]["errors_per_instance"] for r in rows if r["set"] == name and mode in r[arm]]
                for k in sorted({r["k"] for r in rows}):
                    kv = [r[arm][mode]["errors_per_instance"] for r in rows
                          if r["set"] == name and r["k"] == k and mode in r[arm]]
                    if kv:
                        print(f"  {name} k={k} {mode} {arm}: {sum(kv) / len(kv):.3f} ({len(kv)})")
            del vals
    print("worse by more than a tie:", worse or "none")
    if "--decide" in flags:
        coco_off = all(not r["convention"]["skip"] for r in rows if r["set"] == "coco128")
        adopt = coco_off and mean_b <= mean_a and not worse
        print(f"rule off for every coco128 child: {coco_off}; mean not higher: {mean_b <= mean_a}; "
              f"no child worse: {not worse} -> {'ADOPT' if adopt else 'NOT ADOPTED'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
