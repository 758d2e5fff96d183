"""The chapters' code shown on the page fits the column: every line of a visible code cell has at
most :data:`MAX_LINE` characters (88 fit the desktop column of the site, see _static/valleys.css;
tests/test_site.py checks the built pages in a browser)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))
MAX_LINE = 88
_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def visible_code_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of the code cells a reader sees (not removed; not the install cell)."""
    out = []
    for m in _CELL.finditer(text):
        body = m.group(1)
        head = body[: body.index("\n---\n", 4) + 5] if body.startswith("---\n") else body[:200]
        if re.search(r"remove-cell|remove-input|hide-cell", head):  # hide-cell: the install cell
            continue
        first = text[: m.start(1)].count("\n") + 1
        out += [(first + i, line) for i, line in enumerate(body.split("\n"))
                if not body.startswith("---\n") or i >= body[: body.index("\n---\n", 4) + 5].count("\n")]
    return out


def test_the_check_sees_long_lines():
    text = "```{code-cell} ipython3\nx = 1\n" + "y = " + "1 + " * 30 + "1\n```\n"
    assert [n for n, line in visible_code_lines(text) if len(line) > MAX_LINE] == [3]
    hidden = "```{code-cell} ipython3\n:tags: [remove-cell]\n" + "y = " + "1 + " * 30 + "1\n```\n"
    assert not [line for _, line in visible_code_lines(hidden) if len(line) > MAX_LINE]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_visible_code_fits_the_column(path):
    long = [f"{path.name}:{n}: {len(line)} chars" for n, line in visible_code_lines(path.read_text())
            if len(line) > MAX_LINE]
    assert not long, "\n".join(long)
