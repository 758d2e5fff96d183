"""Every MyST notebook in chapters/ has an .ipynb twin, in sync and without outputs."""
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for p in (ROOT / "chapters").glob("*.md") if p.read_text().lstrip().startswith("---\njupytext:"))


def cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


def test_there_are_notebook_chapters():
    assert any(p.stem == "intro" for p in SOURCES)


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_twin_in_sync(md):
    twin = md.with_suffix(".ipynb")
    assert twin.exists(), f"{twin.name} is missing: run `make twins`"
    src, nb = jupytext.read(md), jupytext.read(twin)
    assert cells(src) == cells(nb), f"{twin.name} is out of sync with {md.name}: run `make twins`"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{twin.name} holds outputs"
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,md:myst"


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_install_cell_never_reinstalls_torch(md):
    text = md.read_text()
    assert "%pip install" in text and "import valleylib" in text, f"{md.name}: no guarded install cell"
    for line in text.splitlines():
        if "pip install" in line:
            assert "torch" not in line, f"{md.name}: the install cell must not (re)install torch"
