"""Session 22 report, written after part 3's figures (prereg.md; it decides nothing): the vote kept only in children
whose bank answers (the recipe's step-6 verdict), read off the rows. For a child whose bank answers, arm V's row;
otherwise arm CL's judged box-drawn sweep at V's threshold and the bank at 1.0 (it suggests nothing), which is what
a child calibrated with the vote on and serving without it would give. Usage:

    python bench/results/exp-session22/vote_gated.py ROWS.jsonl [ROWS.jsonl ...]
"""
import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).parent))
from table import load


def main():
    rows = {}
    for path in sys.argv[1:]:
        rows |= load(Path(path))
    out = {}
    for (arm, name, seed, k), row in sorted(rows.items()):
        if arm != "V" or ("CL", name, seed, k) not in rows:
            continue
        cl = rows[("CL", name, seed, k)]
        if row["bank_answers"]:
            drawn, bank = row["at"]["interactive"], row["at"]["bank"]
        else:
            index = [round(t, 4) for t in cl["sweep"]["thresholds"]].index(round(row["threshold"], 4))
            drawn, bank = cl["sweep"]["interactive"][index], 1.0
        out.setdefault(name, []).append((drawn, bank, cl["at"]["interactive"], cl["at"]["bank"]))
        print(f"{name} {seed} {k}: gated vote {drawn:.3f} / {bank:.3f} (bank answers: {row['bank_answers']}); "
              f"CL {cl['at']['interactive']:.3f} / {cl['at']['bank']:.3f}")
    for name, values in out.items():
        gated = mean((d + b) / 2 for d, b, _, _ in values)
        today = mean((d + b) / 2 for _, _, d, b in values)
        print(f"{name} ({len(values)}): gated vote {mean(v[0] for v in values):.4f} / {mean(v[1] for v in values):.4f}"
              f" ({gated:.4f}); CL {mean(v[2] for v in values):.4f} / {mean(v[3] for v in values):.4f} ({today:.4f})")


if __name__ == "__main__":
    main()
