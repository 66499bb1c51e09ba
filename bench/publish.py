"""Where benchmark results go: printed as a Markdown table, written as JSON and Markdown, and into the docs page.

Every stand-alone benchmark (`python -m bench.<name>`) ends the same way: `add_output_arguments` gives it the
`--json` and `--markdown` options and `publish` prints its table and writes both files where asked. The full run
(`python -m bench`) writes `latest.json` and `latest.md` (`bench.report.write_results`); `python -m bench.report
--page docs/benchmarks.md` puts its tables into the generated block of that page with `update_page`, which leaves
everything outside its markers byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

__all__ = ["PAGE_END", "PAGE_INTRO", "PAGE_START", "RESULTS_DIR", "add_output_arguments", "publish", "publish_run",
           "update_page"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where results are kept in the repository (`bench/results/`); the docs link the files there."""

PAGE_START = "<!-- bench:results:start (written by python -m bench.report --page docs/benchmarks.md) -->"
PAGE_END = "<!-- bench:results:end -->"
PAGE_INTRO = """## The latest full run

Written by `python -m bench.report --page docs/benchmarks.md` from `bench/results/latest.json`; everything between
the markers below is replaced by the next run.
"""
"""The heading and text `update_page` adds with the markers when a page has none yet."""


def add_output_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the `--json PATH` and `--markdown PATH` options every stand-alone benchmark has; returns `parser`."""
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this Markdown file")
    return parser


def publish(results, table: str, json_path: Path | None = None, markdown_path: Path | None = None) -> None:
    """Print the Markdown `table`, and write it and the JSON of `results` where asked (`--markdown`, `--json`)."""
    print(table)
    for path in (json_path, markdown_path):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if json_path:
        json_path.write_text(json.dumps(results, indent=2) + "\n")
    if markdown_path:
        markdown_path.write_text(table if table.endswith("\n") else table + "\n")


def publish_run(report: dict, table: str, out_dir: Path, name: str) -> None:
    """A service benchmark's last step: stamp `report` with when it was measured (UTC) and the machine's load
    average, then `publish` it as `<out_dir>/<name>.json` and `<name>.md`."""
    report["measured"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report["load_average"] = os.getloadavg()
    publish(report, table, out_dir / f"{name}.json", out_dir / f"{name}.md")


def update_page(page: Path, markdown: str) -> str:
    """Put `markdown` between the page's benchmark markers (adding `PAGE_INTRO` and the markers at its end the first
    time); the rest of the page stays as it is.

    Returns:
        "updated" or "added".
    Raises:
        ValueError: only one marker, or the markers out of order (fix them by hand; nothing is written).
    """
    text = page.read_text()
    block = f"{PAGE_START}\n\n{markdown.strip()}\n\n{PAGE_END}"
    start, end = text.find(PAGE_START), text.find(PAGE_END)
    if start >= 0 and end > start:
        page.write_text(text[:start] + block + text[end + len(PAGE_END):])
        return "updated"
    if start >= 0 or end >= 0:
        raise ValueError(f"{page}: the benchmark markers are incomplete or out of order; fix them by hand")
    page.write_text(text.rstrip("\n") + "\n\n" + PAGE_INTRO + "\n" + block + "\n")
    return "added"
