"""Session 29's tables (prereg.md): part 1 (VPN against session 28's VP, box drawn) and part 2 (the gates). Usage:

    PYTHONPATH=. python bench/results/exp-session29/table.py
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "exp-session28"))
from table import group_of, mean  # session 28: one group name per set  # noqa: E402


def rows(name: str) -> list[dict]:
    path = HERE / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def part1() -> str:
    groups = defaultdict(list)
    for row in rows("rows.jsonl"):
        if row["arm"] == "VPN":
            groups[group_of(row)].append(row)
            if not group_of(row).startswith("droplets"):
                groups["deciding 48"].append(row)
    lines = ["| group | n | VP: box | **VPN: box** |", "|---|---|---|---|"]
    for name in sorted(groups):
        got = groups[name]
        lines.append(f"| {name} | {len(got)} | {mean(r['vp'] for r in got):.4f} | "
                     f"**{mean(r['box'] for r in got):.4f}** |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(part1())
