"""Every chapter notebook runs as Colab runs it: alone, in a fresh runtime, installing valleylib
from its own first cell (tests/colab_run.py; `make colab-test`, about 6 minutes on 2 cores)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab_run  # noqa: E402

pytestmark = pytest.mark.colab


def test_every_chapter_runs_alone_in_a_notebook_runtime(tmp_path, capsys):
    code = colab_run.main(["--budget", "smoke", "--json", str(tmp_path / "colab.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    for nb in colab_run.chapter_notebooks():
        assert f"{nb.stem}: " in out and "ok" in out.split(f"{nb.stem}: ", 1)[1].splitlines()[0]
