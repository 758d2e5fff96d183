"""Write the one install cell, ``valleylib.install_cell()``, into every chapter and its twin.

    python scripts/install_cell.py          # rewrite chapters/*.md and chapters/*.ipynb
    python scripts/install_cell.py --check  # exit 1 if any chapter's first code cell differs

The cell holds the repository's address (``valleylib.book.REPOSITORY_URL``); after changing the
address there, run this script. ``tests/test_book.py`` checks every notebook against the cell.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from valleylib.book import install_cell  # noqa: E402

FIRST_CELL = re.compile(r"(```\{code-cell\}[^\n]*\n(?::[^\n]*\n)*\n?)(.*?)(\n```)", re.S)


def notebooks() -> list[Path]:
    """The chapter notebooks (MyST sources with a jupytext header)."""
    return sorted(p for p in (ROOT / "chapters").glob("*.md")
                  if p.read_text().lstrip().startswith("---\njupytext:"))


def fix_md(path: Path, cell: str) -> bool:
    """Replace the first code cell of chapter source ``path`` by ``cell``; True when the file changed."""
    text = path.read_text()
    new = FIRST_CELL.sub(lambda m: m.group(1) + cell + m.group(3), text, count=1)
    path.write_text(new)
    return new != text


def fix_ipynb(path: Path, cell: str) -> bool:
    """Replace the first code cell of notebook ``path`` by ``cell``; True when the file changed."""
    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    lines = cell.splitlines(keepends=True)
    if first["source"] == lines:
        return False
    first["source"] = lines
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return True


def main() -> int:
    """Write the install cell into every chapter and its twin, or with ``--check`` exit 1 naming the chapters that differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report chapters that differ")
    args = parser.parse_args()
    cell, stale = install_cell(), []
    for md in notebooks():
        twin = md.with_suffix(".ipynb")
        if args.check:
            m = FIRST_CELL.search(md.read_text())
            nb = json.loads(twin.read_text())
            first = next(c for c in nb["cells"] if c["cell_type"] == "code")
            if m is None or m.group(2) != cell or "".join(first["source"]) != cell:
                stale.append(md.stem)
        elif fix_md(md, cell) | fix_ipynb(twin, cell):
            print(f"updated {md.stem}")
    if stale:
        print("install cell differs in: " + ", ".join(stale) + " (run scripts/install_cell.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
