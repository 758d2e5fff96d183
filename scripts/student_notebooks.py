"""Make the student edition of the chapter notebooks: exercises kept, solutions removed.

    python scripts/student_notebooks.py [OUT_DIR]      (default: _build/student)

A solution is everything between a ```{solution-start} fence and its ```{solution-end} fence
(sphinx-exercise's gated syntax, which may span several cells, code cells included), or a
whole cell tagged ``solution``. Each removed solution is replaced by an empty code cell under a
"Your solution" heading, so that students have a place to work.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from valleylib.storage import write_text  # noqa: E402

START = re.compile(r"^```\{solution-start\}[^\n]*\n(?::[^\n]*\n)*```[ \t]*\n?", re.M)
END = re.compile(r"^```\{solution-end\}[^\n]*\n(?:```[ \t]*\n?)?", re.M)
NOT_LESSONS = {"status", "course_guide"}  # notebook pages that are not chapters to hand out
PLACEHOLDER = "**Your solution.** (The solution is not part of the student edition.)"


def strip_solutions(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """Return a copy of ``nb`` without solutions, and the number of solutions removed."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    inside, removed = False, 0
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            removed += 1
            continue
        if cell.cell_type != "markdown":
            if not inside:
                out.cells.append(cell)
            continue
        text, kept = cell.source, []
        while text:
            if inside:
                m = END.search(text)
                if m is None:
                    text = ""
                    break
                text = text[m.end():]
                inside = False
                out_text = "".join(kept).rstrip()
                if out_text:
                    out.cells.append(nbformat.v4.new_markdown_cell(out_text))
                kept = []
                out.cells.append(nbformat.v4.new_markdown_cell(PLACEHOLDER))
                out.cells.append(nbformat.v4.new_code_cell(""))
                removed += 1
            else:
                m = START.search(text)
                if m is None:
                    kept.append(text)
                    text = ""
                else:
                    kept.append(text[: m.start()])
                    text = text[m.end():]
                    inside = True
        rest = "".join(kept).strip()
        if rest:
            out.cells.append(nbformat.v4.new_markdown_cell(rest))
    if inside:
        raise ValueError("a ```{solution-start} fence has no matching ```{solution-end}")
    return out, removed


def main(argv: list[str]) -> int:
    """Write the student edition of every lesson notebook into ``argv[1]`` (default ``_build/student``)."""
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "student"
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        if path.stem in NOT_LESSONS:
            continue
        nb = nbformat.read(path, as_version=4)
        student, removed = strip_solutions(nb)
        write_text(out_dir / path.name, nbformat.writes(student) + "\n")  # atomic
        total += removed
        print(f"{path.name}: {removed} solution(s) removed")
    print(f"student notebooks in {out_dir} ({total} solutions removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
