"""Every chapter notebook runs as Colab runs it: alone, in a fresh runtime, installing valleylib
from its own first cell (tests/colab_run.py; `make colab-test`: 4 min on 2 cores with the runtime
cached, plus 2.5-6 min to build it; not part of `make test`)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab_run  # noqa: E402

VENV = Path("/runtime")
GOOD_PROBE = 'COLAB-PROBE{"python": "/runtime/bin/python", "valleylib": "/runtime/lib/v.py", "torch": "t"}'
TORCH = {"version": "2.13.0+cpu", "files": ["/runtime/torch/__init__.py"], "mtimes": [1]}


def good_run():
    res = {"error": None, "install_output": "Note: you may need to restart the kernel.\n",
           "outputs": ["valleylib 0.1.0 | torch 2.13.0", "measured 2026-11-22 on a 2-core CPU"],
           "probe": GOOD_PROBE}
    return res, ({"torch": "2.13.0+cpu", "numpy": "2.1"}, TORCH), \
        ({"torch": "2.13.0+cpu", "numpy": "2.1", "valleylib": "0.1.0"}, TORCH)


def test_checks_pass_a_good_run():
    res, before, after = good_run()
    assert colab_run.checks(res, before, after, VENV) == []


@pytest.mark.parametrize("spoil, words", [
    (lambda r, b, a: r.update(error="CellExecutionError: boom"), "raised"),
    (lambda r, b, a: r.update(install_output="Collecting torch\n" * 20), "not quiet"),
    (lambda r, b, a: a[0].pop("valleylib"), "did not install"),
    (lambda r, b, a: a[0].update(torch="2.14.0"), "preinstalled packages changed"),
    (lambda r, b, a: a[0].update(numpy="2.2"), "preinstalled packages changed"),
    (lambda r, b, a: a[1].update(mtimes=[2]), "torch changed"),
    (lambda r, b, a: r.update(probe=GOOD_PROBE.replace("/runtime/lib", "/clone")), "own valleylib"),
    (lambda r, b, a: r["outputs"].append("No recorded benchmark in this checkout"), "missing"),
    (lambda r, b, a: r["outputs"].append("run time:  not recorded"), "missing"),
])
def test_checks_catch_a_wrong_run(spoil, words):
    res, before, after = good_run()
    after = (dict(after[0]), dict(after[1]))
    spoil(res, before, after)
    problems = colab_run.checks(res, before, after, VENV)
    assert problems and words in " ".join(problems)


@pytest.mark.colab
def test_every_chapter_runs_alone_in_a_notebook_runtime(tmp_path, capsys):
    code = colab_run.main(["--budget", "smoke", "--json", str(tmp_path / "colab.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    for nb in colab_run.chapter_notebooks():
        assert f"{nb.stem}: " in out and "ok" in out.split(f"{nb.stem}: ", 1)[1].splitlines()[0]
