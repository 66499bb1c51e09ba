"""Score the copies rule (prereg.md) from copies_dump.py's dumps. Usage:

    python bench/results/exp-session15/copies_rule.py choose DUMP_SYNTHETIC DUMP_SPLIT2
    python bench/results/exp-session15/copies_rule.py measure M C T_LO T_HI DUMP...   (C: 0 = t_hi)

A trial's effort at a rule = its counts at t_lo when it holds at least m copies (suggestions >= c, box IoU with the
drawn box < 0.5), else its counts at t_hi. A set's effort = (references + deletions + misses) / instances, summed.
"""

import json
import sys

SWEEP = [round(0.30 + 0.05 * i, 2) for i in range(14)]
COPY_IOU = 0.5
TIE = 0.005
MARGIN = 0.010


def load(path):
    return [json.loads(line) for line in open(path)]


def copies(row, c):
    return sum(1 for s, v in zip(row["scores"], row["iou_drawn"], strict=True) if s >= c and v < COPY_IOU)


def totals(rows, m, c, t_lo, t_hi):
    refs = dels = miss = inst = right = sugg = 0
    for row in rows:
        t = t_lo if copies(row, c if c else t_hi) >= m else t_hi
        at = row["by_threshold"][SWEEP.index(t)]
        refs += row["references"]
        dels += at["deletions"]
        miss += at["misses"]
        inst += row["instances"]
        right += at["right"]
        sugg += at["suggestions"] - at["dropped"]
    return {"effort": (refs + dels + miss) / inst, "errors": (dels + miss) / inst,
            "recall": right / max(1, inst - refs), "precision": right / sugg if sugg else None}


def rules():
    for t_hi in SWEEP:
        yield (0, 0.0, t_hi, t_hi)  # the single threshold
        for t_lo in SWEEP:
            if t_lo >= t_hi:
                continue
            for m in (1, 2, 3, 5):
                yield (m, 0.0, t_lo, t_hi)  # family A: c = t_hi
                for c in (0.9, 0.95):
                    if c >= t_lo:
                        yield (m, c, t_lo, t_hi)  # family B


def choose(synthetic, split2):
    sets = [load(synthetic), load(split2)]
    table = []
    for m, c, t_lo, t_hi in rules():
        efforts = [totals(rows, m, c, t_lo, t_hi)["effort"] for rows in sets]
        table.append(((m, c, t_lo, t_hi), efforts, sum(efforts) / 2))
    single = [row for row in table if row[0][0] == 0]
    check = next(row for row in single if row[0][3] == 0.85)
    print(f"check at 0.85: synthetic {check[1][0]:.4f} split2 {check[1][1]:.4f} (card 0.7695 / 1.012)")
    best_single = min(single, key=lambda r: r[2])
    print(f"best single threshold {best_single[0][3]}: {best_single[2]:.4f} {[round(e, 4) for e in best_single[1]]}")
    best = min(row[2] for row in table)
    tied = [row for row in table if row[2] <= best + TIE + 1e-9]
    chosen = max(tied, key=lambda r: (r[0][3], r[0][2], r[0][0], r[0][1]))
    print(f"best rule mean {best:.4f}; {len(tied)} within {TIE}")
    for row in sorted(table, key=lambda r: r[2])[:15]:
        (m, c, t_lo, t_hi), (syn, split2), mean = row
        print(f"  m={m} c={c:.2f} t_lo={t_lo:.2f} t_hi={t_hi:.2f}  synthetic {syn:.4f} split2 {split2:.4f} "
              f"mean {mean:.4f}")
    (m, c, t_lo, t_hi), efforts, mean = chosen
    adopt = mean <= best_single[2] - MARGIN + 1e-9
    print(f"chosen m={m} c={c} t_lo={t_lo} t_hi={t_hi}: mean {mean:.4f} (single {best_single[2]:.4f}); "
          f"{'ADOPT' if adopt else 'not adopted'} (margin {MARGIN})")


def measure(m, c, t_lo, t_hi, *dumps):
    for path in dumps:
        rows = load(path)
        rule = totals(rows, int(m), float(c), float(t_lo), float(t_hi))
        base = totals(rows, 0, 0.0, 0.85, 0.85)
        fmt = lambda d: ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} -" for k, v in d.items())  # noqa: E731
        print(f"{path} ({len(rows)} trials)\n  rule: {fmt(rule)}\n  0.85: {fmt(base)}")


if __name__ == "__main__":
    {"choose": choose, "measure": measure}[sys.argv[1]](*sys.argv[2:])
