"""Session 23: parts 1, 1b and 3 read from the rows (errors per instance at the recipe's threshold, box drawn / bank, and
the mean of both, the rules' figure). Fresh sessions children: `rows.jsonl` (CL from training, UD and U re-judged;
a CL row with a `kind` is the re-judging check); old children: CL and U from session 22's `seeded_claims.jsonl`, UD
from `rows.jsonl`. UT is read off per child: U where UD's held-out record says the join costs no more, else CL.
UB (part 3) is re-judged by the recipe's "where-bank-pays" rule; its new fresh children are seeds 22-31.
Usage:

    python bench/results/exp-session23/table.py > bench/results/exp-session23/table.md
"""
import json
from pathlib import Path
from statistics import mean

HERE = Path(__file__).parent
GROUPS = {"fresh sessions, seeds 12-21 (parts 1, 1b decide)": ("fresh", ("sessions",)),
          "new fresh sessions, seeds 22-31 (part 3 decides)": ("fresh2", ("sessions",)),
          "allowed 8": ("old", ("synthetic", "coco128")),
          "session 21's sessions 12 (report)": ("old", ("sessions",)), "droplets 12 (report)": ("old", ("droplets",))}
ARMS = ("CL", "UD", "UT", "U", "UB")
DECIDED = ("UD", "UB")


def rows() -> dict:
    """`{(arm, age, set, seed, k): row}`, age "fresh" (seeds 12-21 of sessions), "fresh2" (22+) or "old"."""
    out = {}
    for line in (HERE.parent / "exp-session22" / "seeded_claims.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["arm"] in ("CL", "U"):
            out[(row["arm"], "old", row["set"], row["seed"], row["k"])] = row
    for line in (HERE / "rows.jsonl").read_text().splitlines():
        row = json.loads(line)
        age = "old" if row["set"] != "sessions" or row["seed"] < 12 else "fresh" if row["seed"] < 22 else "fresh2"
        arm = "CLr" if row["arm"] == "CL" and "kind" in row else row["arm"]
        out[(arm, age, row["set"], row["seed"], row["k"])] = row
    for key, row in list(out.items()):
        if key[0] == "UD":
            record = row["drawn_bank"].get("holdout_effort") or {}
            joins = record.get("drawn_label_bank_joins")
            keep = joins is not None and joins <= record["drawn_answer_alone"]
            source = out.get(("U" if keep else "CL", *key[1:]))
            if source is not None:
                out[("UT", *key[1:])] = source | {"kept": keep}
    return out


def both(row: dict) -> float:
    return (row["at"]["interactive"] + row["at"]["bank"]) / 2


def main():
    table = rows()
    print("| children | " + " | ".join(ARMS) + " |")
    print("|---|" + "---|" * len(ARMS))
    for name, (age, sets) in GROUPS.items():
        children = sorted({key[1:] for key in table if key[1] == age and key[2] in sets and key[0] in DECIDED})
        cells = []
        for arm in ARMS:
            got = [table.get((arm, *child)) for child in children]
            if not children or all(g is None for g in got):
                cells.append("–")
                continue
            if None in got:
                cells.append(f"– ({sum(g is not None for g in got)} of {len(children)})")
                continue
            kept = "" if arm not in ("UD", "UT", "UB") else (
                f", join kept in {sum(g['kept'] if arm == 'UT' else bool(g['drawn_bank']['value']) for g in got)}")
            cells.append(f"{mean(g['at']['interactive'] for g in got):.3f} / {mean(g['at']['bank'] for g in got):.3f} "
                         f"(**{mean(both(g) for g in got):.4f}**{kept})")
        print(f"| {name} ({len(children)}) | " + " | ".join(cells) + " |")
    print("\nPer child, box drawn / bank (threshold):\n")
    print("| set | seed | k | " + " | ".join(ARMS) + " | held-out (UD): alone / joined |")
    print("|---|---:|---:|" + "---|" * (len(ARMS) + 1))
    for child in sorted({key[1:] for key in table if key[0] in DECIDED}):
        cells = [("–" if (r := table.get((arm, *child))) is None else
                  f"{r['at']['interactive']:.3f} / {r['at']['bank']:.3f} ({r['threshold']})") for arm in ARMS]
        record = (table.get(("UD", *child)) or {"drawn_bank": {}})["drawn_bank"].get("holdout_effort") or {}
        held = (f"{record['drawn_answer_alone']} / {record['drawn_label_bank_joins']}" if record else "–")
        print(f"| {child[1]}{'' if child[0] == 'old' else ' (fresh)'} | {child[2]} | {child[3]} | "
              + " | ".join(cells) + f" | {held} |")
    check = [(key, row) for key, row in table.items() if key[0] == "CLr"]
    for key, row in check:
        original = table[("CL", *key[1:])]
        print(f"\nRe-judging check, {key[2]} seed {key[3]}: training-time CL {original['at']} against re-judged "
              f"{row['at']}: {'identical' if original['at'] == row['at'] else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
