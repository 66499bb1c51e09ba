"""bench.publish: what every stand-alone benchmark does with its results, and the generated block of a docs page."""

from __future__ import annotations

import argparse
import json

import pytest

from bench.publish import PAGE_END, PAGE_INTRO, PAGE_START, add_output_arguments, publish, update_page


def test_output_arguments_are_optional_paths():
    parser = add_output_arguments(argparse.ArgumentParser())
    assert vars(parser.parse_args([])) == {"json": None, "markdown": None}
    args = parser.parse_args(["--json", "out/a.json", "--markdown", "out/a.md"])
    assert (args.json.name, args.markdown.name) == ("a.json", "a.md")


def test_publish_prints_the_table_and_writes_only_what_was_asked(tmp_path, capsys):
    publish({"x": 1}, "| a |\n|---|")
    assert capsys.readouterr().out == "| a |\n|---|\n"
    assert list(tmp_path.iterdir()) == []
    publish({"x": 1}, "| a |\n|---|", tmp_path / "new" / "r.json", tmp_path / "new" / "r.md")
    assert json.loads((tmp_path / "new" / "r.json").read_text()) == {"x": 1}
    assert (tmp_path / "new" / "r.md").read_text() == "| a |\n|---|\n"


def test_update_page_adds_then_replaces_only_its_own_block(tmp_path):
    page = tmp_path / "benchmarks.md"
    original = "# Benchmarks\n\n## Phone photos\n\nProse.\n"
    page.write_text(original)
    assert update_page(page, "first table") == "added"
    text = page.read_text()
    assert text.startswith(original.rstrip("\n") + "\n\n" + PAGE_INTRO)
    assert f"{PAGE_START}\n\nfirst table\n\n{PAGE_END}" in text
    edited = text.replace("Prose.", "Prose, edited.") + "\n## Later section\n\nAdded by someone else.\n"
    page.write_text(edited)
    assert update_page(page, "second table") == "updated"
    assert page.read_text() == edited.replace("first table", "second table")


@pytest.mark.parametrize("text", [f"# B\n\n{PAGE_START}\n\nold\n", f"# B\n\n{PAGE_END}\n\nold\n\n{PAGE_START}\n"])
def test_update_page_refuses_broken_markers_and_writes_nothing(tmp_path, text):
    page = tmp_path / "benchmarks.md"
    page.write_text(text)
    with pytest.raises(ValueError, match="markers"):
        update_page(page, "table")
    assert page.read_text() == text
