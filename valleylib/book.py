"""Where the book lives, how a notebook installs this library, and the recorded measurements.

The repository's public address is :data:`REPOSITORY_URL`, here and nowhere else in the code
(``_config.yml`` repeats it for Jupyter Book; a test checks the two agree). Every chapter
notebook starts with the same install cell, :func:`install_cell`, which installs ``valleylib``
from that address, or from ``$VALLEYLIB_INSTALL_SOURCE`` when set (a clone, a wheel, any pip
requirement); it asks pip for nothing else, so a notebook runtime keeps its own PyTorch.

Measurements that pages show (``benchmarks/results/*.json`` in the repository) ship inside the
package, so a notebook opened alone (e.g. in Colab) finds them too: :func:`recorded`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "REPOSITORY_URL",
    "INSTALL_SOURCE_ENV",
    "MISSING_RECORD",
    "install_cell",
    "colab_url",
    "results_dir",
    "chapter_source",
    "recorded",
    "recorded_names",
]

#: The repository's public address (a placeholder organisation until the book has its home).
REPOSITORY_URL = "https://github.com/spurious-valleys/book"

#: Environment variable that replaces the public address in the install cell (a pip requirement:
#: a path to a clone, a wheel, or ``git+URL@ref``).
INSTALL_SOURCE_ENV = "VALLEYLIB_INSTALL_SOURCE"

#: The words a page prints when a recorded measurement is missing (tests look for them).
MISSING_RECORD = "in this checkout"


def install_cell() -> str:
    """The source of every chapter notebook's first code cell.

    It imports ``valleylib`` and, only when that fails, runs ``%pip install -q SOURCE`` where
    ``SOURCE`` is ``$VALLEYLIB_INSTALL_SOURCE`` or ``git+REPOSITORY_URL``. pip sees lower bounds
    only (``torch>=2.1``, ...), so a preinstalled torch is never replaced.

    >>> "pip install -q" in install_cell() and "torch" not in install_cell().split("pip")[1]
    True
    """
    return (
        "try:\n"
        "    import valleylib\n"
        "except ImportError:  # e.g. on Colab: install the book's library (torch is there)\n"
        "    import os\n"
        f'    source = os.environ.get("{INSTALL_SOURCE_ENV}",  # a clone or wheel, for tests\n'
        f'                            "git+{REPOSITORY_URL}")\n'
        '    %pip install -q "$source"\n'
        "    import valleylib  # noqa: F401 (checks that the install worked)"
    )


def colab_url(notebook: str, branch: str = "main") -> str:
    """Colab's address for ``chapters/NOTEBOOK.ipynb`` of the repository on ``branch``.

    >>> colab_url("intro").endswith("/blob/main/chapters/intro.ipynb")
    True
    """
    if not isinstance(notebook, str) or not notebook:
        raise TypeError(f"notebook must be a chapter name such as 'intro', got {notebook!r}")
    slug = REPOSITORY_URL.split("github.com/", 1)[1]
    return f"https://colab.research.google.com/github/{slug}/blob/{branch}/chapters/{notebook}.ipynb"


def _packaged(package: str, folder: str, pattern: str) -> Path:
    """The checkout's ``FOLDER`` when running from a checkout, else ``valleylib.PACKAGE``'s files."""
    import importlib.util

    checkout = Path(__file__).resolve().parent.parent / folder
    if checkout.is_dir() and any(checkout.glob(pattern)):
        return checkout
    try:  # a folder of data files without __init__.py: a namespace package when installed
        spec = importlib.util.find_spec(f"valleylib.{package}")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir() and any(Path(location).glob(pattern)):
            return Path(location)
    return checkout


def results_dir() -> Path:
    """The folder of recorded measurements: the checkout's, else the installed package's copy.

    Running from a checkout (``PYTHONPATH=.`` or an editable install) reads
    ``benchmarks/results`` in place; an installed package carries those files as
    ``valleylib/_recorded`` (``pyproject.toml`` maps it).
    """
    return _packaged("_recorded", "benchmarks/results", "*.json")


def chapter_source(name: str) -> str:
    """The MyST source of chapter ``NAME`` (``chapters/NAME.md``), packaged like the records.

    >>> chapter_source("intro").lstrip().startswith("---")
    True
    """
    if not isinstance(name, str) or not name or "/" in name or name.endswith(".md"):
        raise ValueError(f"name must be a chapter name such as 'intro', got {name!r}")
    path = _packaged("_chapters", "chapters", "*.md") / f"{name}.md"
    if not path.is_file():
        raise ValueError(f"no chapter named {name!r} (looked for {path})")
    return path.read_text()


def recorded_names() -> list[str]:
    """Names of the recorded measurements, sorted (e.g. ``'safran-shamir'``)."""
    folder = results_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def recorded(name: str) -> dict[str, Any] | None:
    """The recorded measurement ``NAME`` (``benchmarks/results/NAME.json``), or ``None``.

    Each record holds ``benchmark``, ``date``, ``machine``, ``summary`` (lines for the status
    page) and ``data`` (the figures).

    >>> recorded("chapter-times-smoke")["benchmark"]
    'chapter-times-smoke'
    """
    if not isinstance(name, str) or not name or "/" in name or name.endswith(".json"):
        raise ValueError(f"name must be a record name such as 'safran-shamir', got {name!r}")
    path = results_dir() / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None
