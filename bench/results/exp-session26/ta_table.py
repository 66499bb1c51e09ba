"""Session 26's decisions (prereg.md): today's figures (session 25's W2 reading, `threshold_rules-CL-*.json`; for
sessions-cut, this session's CL rows) per child, with an arm's rows (rows.jsonl here) in place of the children it
re-judged; means per group and over the allowed 40, box drawn / bank / mean, errors per instance at the recipe's
threshold. Usage:

    python bench/results/exp-session26/ta_table.py [ARM] [--markdown OUT]     (ARM: TA, the default; TA2, PE, ...)
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
SESSION25 = HERE.parent / "exp-session25"
GROUPS = {"sessions": "sessions", "sessions-packed": "packed", "coco128": "coco128 + synthetic",
          "synthetic": "coco128 + synthetic", "droplets": "droplets (report)", "sessions-cut": "sessions-cut"}


def today() -> dict:
    """`{(set, seed, k): (threshold, box, bank)}`: W2 per kept/fresh child (k = 5), and this session's fresh
    children (arm CL: sessions-cut)."""
    out = {key: (r["threshold"], r["at"]["interactive"], r["at"].get("bank", 1.0)) for key, r in arm_rows("CL").items()}
    for which in ("kept", "fresh"):
        for child in json.loads((SESSION25 / f"threshold_rules-CL-{which}.json").read_text())["children"]:
            w2 = child["W2"]
            out[(child["set"], child["seed"], 5)] = (w2["t"], w2["box"], w2["bank"])
    return out


def arm_rows(arm: str) -> dict:
    rows = [json.loads(line) for line in (HERE / "rows.jsonl").read_text().splitlines() if line.strip()]
    return {(r["set"], r["seed"], r["k"]): r for r in rows if r["arm"] == arm}


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def main():
    arm = next((a for a in sys.argv[1:] if not a.startswith("--") and not a.endswith(".md")), "TA")
    base, ta = today(), arm_rows(arm)
    lines = [f"| child | today: threshold, box / bank | {arm}: threshold, box / bank | witness (suggesting / skipping) |",
             "|---|---|---|---|"]
    after = dict(base)
    for key, row in sorted(ta.items()):
        at = row["at"]
        after[key] = (row["threshold"], at["interactive"], at.get("bank", 1.0))
        witness = row["frame"].get("witness")
        said = f"{witness['suggesting_cut_objects']} / {witness['skipping_them']}" if witness else "not asked"
        before = base.get(key)
        was = f"{before[0]}, {before[1]:.4f} / {before[2]:.4f}" if before else "n/a"
        lines.append(f"| {key[0]} {key[1]} k={key[2]} | {was} | {row['threshold']}, {at['interactive']:.4f} / "
                     f"{at.get('bank', 1.0):.4f} (skip {row['frame'].get('skip')}) | {said} |")
    lines += ["", f"| group | n | today: box / bank (mean) | {arm}: box / bank (mean) |", "|---|---|---|---|"]
    groups = {}
    for key in after:
        groups.setdefault(GROUPS[key[0]] + ("" if key[2] == 5 else f" k={key[2]}"), []).append(key)
    allowed = [key for key in after if key[0] not in ("droplets", "sessions-cut") and key in base]
    for name, keys in [*sorted(groups.items()), ("allowed 40", allowed)]:
        cells = []
        for table in (base, after):
            got = [table[k] for k in keys if k in table]
            box, bank = mean(g[1] for g in got), mean(g[2] for g in got)
            cells.append(f"{box:.4f} / {bank:.4f} (**{(box + bank) / 2:.4f}**)" if got else "n/a")
        lines.append(f"| {name} | {len(keys)} | {cells[0]} | {cells[1]} |")
    text = "\n".join(lines)
    print(text)
    if "--markdown" in sys.argv:
        Path(sys.argv[sys.argv.index("--markdown") + 1]).write_text(text + "\n")


if __name__ == "__main__":
    main()
