"""The student edition (`make student`): no solution survives, and each notebook executes
up to its first exercise."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("student_notebooks", ROOT / "scripts" / "student_notebooks.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)

CHAPTERS = sorted(p for p in (ROOT / "chapters").glob("*.ipynb") if p.stem not in student.NOT_LESSONS)


def solution_code(nb) -> set[str]:
    """Sources of code cells inside solutions (slow reference: a cell-by-cell walk)."""
    inside, found = False, set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("```{solution-start}"):
                    inside = True
                elif line.startswith("```{solution-end}"):
                    inside = False
        elif inside or "solution" in cell.metadata.get("tags", []):
            found.add(cell.source.strip())
    return found


def test_strip_on_a_constructed_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Intro\n\n```{exercise}\n:label: e1\n\nQ1\n```\n\n```{solution-start} e1\n:class: dropdown\n```\nSecret text"),
        nbformat.v4.new_code_cell("secret = 1"),
        nbformat.v4.new_markdown_cell("more secret\n```{solution-end}\n```\n\n```{exercise}\n:label: e2\n\nQ2\n```"),
        nbformat.v4.new_code_cell("tagged = 2", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("kept = 3"),
    ]
    out, removed = student.strip_solutions(nb)
    text = "\n".join(c.source for c in out.cells)
    assert removed == 2
    assert "Secret" not in text and "secret" not in text and "tagged" not in text
    assert "Q1" in text and "Q2" in text and "kept = 3" in text


def test_unclosed_solution_is_an_error():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution-start} e1\n```\nno end")]
    with pytest.raises(ValueError, match="no matching"):
        student.strip_solutions(nb)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_survives(path):
    nb = nbformat.read(path, as_version=4)
    out, removed = student.strip_solutions(nb)
    text = "\n".join(c.source for c in out.cells)
    n_solutions = len(re.findall(r"^```\{solution-start\}", "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"), re.M))
    assert removed == n_solutions
    assert "{solution-start}" not in text and "{solution-end}" not in text
    assert text.count("{exercise}") == "\n".join(c.source for c in nb.cells).count("{exercise}")
    leaked = solution_code(nb) & {c.source.strip() for c in out.cells if c.cell_type == "code"} - {""}
    assert not leaked, f"solution code left in {path.name}: {leaked}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_runs_to_first_exercise(path):
    from nbclient import NotebookClient

    out, _ = student.strip_solutions(nbformat.read(path, as_version=4))
    first = next((i for i, c in enumerate(out.cells) if "{exercise}" in c.source), len(out.cells))
    out.cells = out.cells[:first]
    NotebookClient(out, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
