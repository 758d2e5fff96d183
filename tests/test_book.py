"""The repository's address lives in one place; every notebook installs valleylib the same way;
recorded measurements and chapter sources are reachable through the library (and packaged)."""
from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

import valleylib as vl
from valleylib import book
from valleylib.book import REPOSITORY_URL, colab_url, install_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").glob("*.md")
                   if p.read_text().lstrip().startswith("---\njupytext:"))


def first_code_cell(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text())
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


def test_address_matches_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == REPOSITORY_URL


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_starts_with_the_install_cell(md):
    assert first_code_cell(md.with_suffix(".ipynb")) == install_cell(), (
        f"{md.stem}.ipynb: its first code cell is not valleylib.install_cell(): "
        "run `python scripts/install_cell.py`")
    assert "\n" + install_cell() + "\n```" in md.read_text(), f"{md.name}: stale install cell"


def test_install_cell_installs_from_the_address_or_the_override_only():
    cell = install_cell()
    pip_lines = [line for line in cell.splitlines() if "pip" in line]
    assert pip_lines == ['    %pip install -q "$source"']
    assert f'"git+{REPOSITORY_URL}"' in cell and f'"{book.INSTALL_SOURCE_ENV}"' in cell
    assert "torch" not in cell.split("except ImportError")[1].split("#")[1:][-1]
    assert len(cell.splitlines()) <= 8


def test_the_address_appears_nowhere_else():
    """Only _config.yml (for Jupyter Book), valleylib/book.py and the install cells hold it."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    slug = REPOSITORY_URL.split("github.com/", 1)[1]
    in_cell = install_cell().count(slug)
    for name in tracked:
        path = ROOT / name
        if not path.is_file() or path.suffix not in {".md", ".py", ".yml", ".toml", ".ipynb",
                                                     ".cfg", ".txt", ".sh", ""}:
            continue
        text = path.read_text(errors="ignore")
        count = text.count(slug)
        if name in {"_config.yml", "valleylib/book.py"}:
            continue
        if name.startswith("chapters/") and path.suffix == ".ipynb":
            assert count == in_cell, f"{name} repeats the address outside its install cell"
        elif name.startswith("chapters/") and path.suffix == ".md" and path in NOTEBOOKS:
            assert count == in_cell, f"{name} repeats the address outside its install cell"
        else:
            assert count == 0, f"{name} repeats the repository address: use valleylib.REPOSITORY_URL"


def test_colab_url_and_errors():
    assert colab_url("intro") == (
        f"https://colab.research.google.com/github/"
        f"{REPOSITORY_URL.split('github.com/')[1]}/blob/main/chapters/intro.ipynb")
    with pytest.raises(TypeError, match="notebook"):
        colab_url("")


def test_recorded_reads_the_committed_files():
    names = vl.recorded_names()
    assert names == sorted(p.stem for p in (ROOT / "benchmarks" / "results").glob("*.json"))
    record = vl.recorded("safran-shamir")
    assert record == json.loads((ROOT / "benchmarks" / "results" / "safran-shamir.json").read_text())
    assert vl.recorded("no-such-record") is None
    for bad in ("", "a/b", "safran-shamir.json"):
        with pytest.raises(ValueError, match="name must be"):
            vl.recorded(bad)


def test_chapter_source():
    assert vl.chapter_source("intro") == (ROOT / "chapters" / "intro.md").read_text()
    with pytest.raises(ValueError, match="no chapter named"):
        vl.chapter_source("nope")
    with pytest.raises(ValueError, match="name must be"):
        vl.chapter_source("intro.md")


def test_pyproject_ships_every_subpackage_and_the_data():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "valleylib").rglob("__init__.py")}
    assert found <= set(setup["packages"]), f"add {found - set(setup['packages'])} to pyproject.toml"
    assert setup["package-dir"] == {"valleylib._recorded": "benchmarks/results",
                                    "valleylib._chapters": "chapters"}
    assert setup["package-data"]["valleylib._recorded"] == ["*.json"]
