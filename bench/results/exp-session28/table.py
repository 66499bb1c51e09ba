"""Session 28's decision (prereg.md): per group, today's box drawn / bank errors per instance against arm VP (the
parent's verifier at its threshold: box drawn changes, bank is today's) and the diagnostic VC (the verifier's
threshold from the child's held-out slice), at k = 5 unless named. Usage:

    python bench/results/exp-session28/table.py [--markdown OUT]
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session26"))
from ta_table import arm_rows, today  # session 26: W2 figures per child, and its arms' rows

HERE = Path(__file__).parent
TA_DROPLETS = {("droplets", 4, 5), ("droplets", 5, 5), ("droplets", 8, 5), ("droplets", 11, 5), ("droplets", 4, 10)}
GROUPS = {"sessions": "sessions", "sessions-packed": "sessions-packed", "coco128": "coco128 + synthetic",
          "synthetic": "coco128 + synthetic", "sessions-cut": "sessions-cut", "droplets": "droplets (report)"}
DECIDING = ("sessions", "sessions-packed", "coco128 + synthetic", "sessions-cut")


def todays() -> dict:
    """`{(set, seed, k): (threshold, box, bank)}` as session 26 left each child: the PETA2 row, else the PE row, else
    (the droplets named) the TA row, else W2 / sessions-cut's CL (`ta_table.today`) / droplets k = 10 session 25's
    W2-recipe rows."""
    out = dict(today())
    session25 = Path(__file__).parents[1] / "exp-session25" / "rows.jsonl"
    for line in session25.read_text().splitlines():  # droplets at k = 10: session 25's W2 run of the recipe
        row = json.loads(line)
        if row["arm"] == "W2-recipe":
            out[(row["set"], row["seed"], row["k"])] = (row["threshold"], row["at"]["interactive"], row["at"]["bank"])
    for arm, keep in (("TA", TA_DROPLETS.__contains__), ("PE", lambda key: True), ("PETA2", lambda key: True)):
        for key, row in arm_rows(arm).items():
            if keep(key):
                out[key] = (row["threshold"], row["at"]["interactive"], row["at"].get("bank", 1.0))
    return out


def rows(arm: str = "VP") -> list[dict]:
    """An arm's rows, one per child (the last if a child was run twice), each with today's figures (`todays`)."""
    base = todays()
    out = {}
    for line in (HERE / "rows.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["arm"] == arm:
            key = (row["set"], row["seed"], row["k"])
            out[key] = row | {"today": base.get(key)}
    return list(out.values())


def part_two() -> str:
    """Part 2's table: VP against VU (the drawn label's bank joining) and VUB (the join only where the child's bank
    answers; VP's row elsewhere), box drawn / bank, on the children VU has run."""
    vp = {(r["set"], r["seed"], r["k"]): r for r in rows("VP")}
    groups: dict[str, list] = {}
    for row in rows("VU"):
        key = (row["set"], row["seed"], row["k"])
        if key in vp and row["today"]:
            name = group_of(row)
            groups.setdefault(name, []).append((vp[key], row))
    lines = ["| group | n | VP: box / bank (mean) | VU: box / bank (mean) | VUB: box (mean) |", "|---|---|---|---|---|"]
    deciding = [pair for name in DECIDING for pair in groups.get(name, [])]
    for name, pairs in [*sorted(groups.items()), ("deciding", deciding)]:
        bank = mean(a["today"][2] for a, _ in pairs)
        box_vp, box_vu = mean(a["box"] for a, _ in pairs), mean(b["box"] for _, b in pairs)
        box_vub = mean(b["box"] if b["bank_answers"] else a["box"] for a, b in pairs)
        lines.append(f"| {name} | {len(pairs)} | {box_vp:.4f} / {bank:.4f} (**{(box_vp + bank) / 2:.4f}**) | "
                     f"{box_vu:.4f} / {bank:.4f} (**{(box_vu + bank) / 2:.4f}**) | {box_vub:.4f} "
                     f"({(box_vub + bank) / 2:.4f}) |")
    return "\n".join(lines)


def group_of(row: dict) -> str:
    """A child's group in the tables: its set's, with k named unless it is 5."""
    return GROUPS[row["set"]] + ("" if row["k"] == 5 else f" k={row['k']}")


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def part_three() -> str:
    """Part 3's table: VP against VH (VU's row where the child's held-out slice, judged with the verifier, is cheaper
    with the join; VP's elsewhere), box drawn / bank, on the children VH has judged."""
    vp = {(r["set"], r["seed"], r["k"]): r for r in rows("VP")}
    vu = {(r["set"], r["seed"], r["k"]): r for r in rows("VU")}
    groups: dict[str, list] = {}
    for row in rows("VH"):
        key = (row["set"], row["seed"], row["k"])
        if key in vp and key in vu and vp[key]["today"]:
            name = group_of(row)
            groups.setdefault(name, []).append((vp[key], vu[key] if row["join"] else vp[key], row["join"]))
    lines = ["| group | n | joins | VP: box / bank (mean) | VH: box / bank (mean) |", "|---|---|---|---|---|"]
    deciding = [triple for name in DECIDING for triple in groups.get(name, [])]
    for name, triples in [*sorted(groups.items()), ("deciding", deciding)]:
        bank = mean(a["today"][2] for a, _, _ in triples)
        box_vp, box_vh = mean(a["box"] for a, _, _ in triples), mean(b["box"] for _, b, _ in triples)
        lines.append(f"| {name} | {len(triples)} | {sum(j for _, _, j in triples)} | {box_vp:.4f} / {bank:.4f} "
                     f"(**{(box_vp + bank) / 2:.4f}**) | {box_vh:.4f} / {bank:.4f} (**{(box_vh + bank) / 2:.4f}**) |")
    return "\n".join(lines)


def main():
    groups: dict[str, list[dict]] = {}
    for row in rows():
        name = group_of(row)
        groups.setdefault(name, []).append(row)
    lines = ["| group | n | today: box / bank (mean) | VP: box / bank (mean) | VC: box (mean) |", "|---|---|---|---|---|"]
    deciding = [row for name in DECIDING for row in groups.get(name, [])]

    def cells(members):
        known = [r for r in members if r["today"]]
        box, bank = mean(r["today"][1] for r in known), mean(r["today"][2] for r in known)
        vp = mean(r["box"] for r in known)
        vc = mean(r.get("VC_box", r["box"]) for r in known)
        return (len(known), f"{box:.4f} / {bank:.4f} (**{(box + bank) / 2:.4f}**)",
                f"{vp:.4f} / {bank:.4f} (**{(vp + bank) / 2:.4f}**)", f"{vc:.4f} ({(vc + bank) / 2:.4f})")

    for name, members in [*sorted(groups.items()), ("deciding 48", deciding)]:
        n, today, vp, vc = cells(members)
        if n:
            lines.append(f"| {name} | {n} | {today} | {vp} | {vc} |")
        else:
            lines.append(f"| {name} | {len(members)} | n/a | VP box {mean(r['box'] for r in members):.4f} | "
                         f"{mean(r.get('VC_box', r['box']) for r in members):.4f} |")
    text = "\n".join(lines) + "\n\nPart 2:\n\n" + part_two() + "\n\nPart 3:\n\n" + part_three()
    print(text)
    if "--markdown" in sys.argv:
        Path(sys.argv[sys.argv.index("--markdown") + 1]).write_text(text + "\n")


if __name__ == "__main__":
    main()
