"""Session 24's table (prereg.md): per arm and set, the mean errors per instance at the recipe's threshold (box drawn /
bank / their mean), the oracle, and the rule's verdict. Arm G1 is read off (prereg part 1): the G0 row where the CL
row's bank answers, else the CL row. Usage: python table.py [ROWS.jsonl]"""
import json
import sys
from pathlib import Path
from statistics import mean

ROWS = Path(__file__).parent / "rows.jsonl"
DECIDES, PACKED, ALLOWED, REPORT = ("sessions",), ("sessions-packed",), ("coco128", "synthetic"), ("droplets",)
SEEDS = {"sessions": range(32, 40), "sessions-packed": range(32, 40), "coco128": range(2), "synthetic": range(2),
         "droplets": range(6)}
GROUPS = (("d", DECIDES), ("p", PACKED), ("a", ALLOWED), ("r", REPORT))


def load(path: Path) -> dict:
    """`{(arm, set, seed): row}`, the last row of each (CL: the training-time row before any re-judged one)."""
    rows = {}
    with open(path) as lines:
        for line in lines:
            row = json.loads(line)
            if row["seed"] not in SEEDS[row["set"]]:
                continue
            key = (row["arm"], row["set"], row["seed"])
            if row["arm"] == "CL" and key in rows and "calibration" in row:
                continue  # a re-judged check row of a fresh child: compared with its training-time row, not used
            rows[key] = row
    return rows


def with_g1(rows: dict) -> dict:
    for (arm, name, seed), row in list(rows.items()):
        if arm == "CL" and ("G0", name, seed) in rows:
            rows[("G1", name, seed)] = rows[("G0", name, seed)] if row["bank_answers"] else row
    return rows


def means(rows: dict, arm: str, sets) -> tuple | None:
    cells = [rows.get((arm, name, seed)) for name in sets for seed in SEEDS[name]]
    if not cells or any(c is None for c in cells):
        return None
    drawn, bank = mean(c["at"]["interactive"] for c in cells), mean(c["at"]["bank"] for c in cells)
    oracle = mean((c["oracle"]["interactive"] + c["oracle"]["bank"]) / 2 for c in cells)
    return drawn, bank, (drawn + bank) / 2, oracle, len(cells)


def main(path=ROWS):
    rows = with_g1(load(Path(path)))
    print("| arm | sessions 32-39 (parts 1-2 decide) | packed sessions 32-39 (part 3 decides C) | allowed 4 | "
          "droplets 0-5 (report) | verdict (parts 1-2; part 3 for C) |")
    print("|---|---|---|---|---|---|")
    base = {name: means(rows, "CL", sets) for name, sets in GROUPS}
    for arm in ("CL", "G0", "G1", "C", "GC"):
        cells, got = [], {}
        for key, sets in GROUPS:
            m = means(rows, arm, sets)
            got[key] = m
            cells.append("–" if m is None else f"{m[0]:.3f} / {m[1]:.3f} (**{m[2]:.4f}**, oracle {m[3]:.3f}, n {m[4]})")
        verdict = ""
        if arm != "CL" and got["d"] and got["a"] and base["d"] and base["a"]:
            passes = got["d"][2] <= base["d"][2] - 0.01 and got["a"][2] <= base["a"][2] + 0.005
            verdict = (f"{'passes' if passes else 'fails'} ({got['d'][2] - base['d'][2]:+.4f} sessions, "
                       f"{got['a'][2] - base['a'][2]:+.4f} allowed)")
            if arm == "C" and got["p"] and base["p"]:
                packed = (got["p"][2] <= base["p"][2] - 0.01 and got["d"][2] <= base["d"][2] + 0.002
                          and got["a"][2] <= base["a"][2] + 0.005)
                verdict += (f"; part 3 {'passes' if packed else 'fails'} ({got['p'][2] - base['p'][2]:+.4f} "
                            "packed)")
        print(f"| {arm} | " + " | ".join(cells) + f" | {verdict} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
