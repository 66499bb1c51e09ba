"""Every relative link of README.md and docs/*.md resolves: to a file in the repository, and to a heading of it
when it names one (`page.md#heading`). External links (http, mailto) are not followed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans (a link inside code is not a link)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Targets of the Markdown links and images in `text`, in order."""
    return _LINK.findall(_prose(text))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, inline markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a page (GitHub numbers repeated headings: `name`, `name-1`, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        base = anchor(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(page: Path, root: Path = REPO_ROOT) -> list[str]:
    """The relative links of `page` that name no file under `root`, or a heading their target does not have."""
    broken = []
    for target in links(page.read_text()):
        if _EXTERNAL.match(target):
            continue
        path_part, _, fragment = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.is_relative_to(root) or not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text()):
            broken.append(f"{target} (no heading #{fragment} in {resolved.relative_to(root)})")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(page):
    assert not broken_links(page), f"{page.relative_to(REPO_ROOT)}: {broken_links(page)}"


def test_the_checker_finds_links_and_anchors_and_skips_code(tmp_path):
    text = ("See [a](a.md#two-words), ![img](img/x.png) and [ext](https://example.com). `[not](a link)`\n\n"
            "```\n[nor](this.md)\n```\n\n## Two `words`\n\n## Two words\n")
    assert links(text) == ["a.md#two-words", "img/x.png", "https://example.com"]
    assert anchors(text) == {"two-words", "two-words-1"}
    assert anchor("The shipped checkpoint: what it can and cannot do") == (
        "the-shipped-checkpoint-what-it-can-and-cannot-do")
    page = tmp_path / "page.md"
    page.write_text("[gone](missing.md) [here](page.md#nowhere) [ok](#two-words)\n\n## Two words\n")
    assert [item.split(" ")[0] for item in broken_links(page, tmp_path)] == ["missing.md", "page.md#nowhere"]
    assert "#two-words (no such file)" in broken_links(page, tmp_path / "elsewhere")  # outside the root
