"""The book build fails fast instead of hanging: a per-cell timeout sized from measured chapter times."""
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _timeout() -> int:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]


def _slowest_recorded_chapter() -> tuple[str, float]:
    worst = ("", 0.0)
    for path in sorted((ROOT / "benchmarks" / "results").glob("chapter-times-*.json")):
        for stem, sec in json.loads(path.read_text())["data"]["seconds"].items():
            if sec > worst[1]:
                worst = (f"{path.name}: {stem}", sec)
    return worst


def test_cell_timeout_is_sized_from_measured_chapter_times():
    where, slowest = _slowest_recorded_chapter()
    assert slowest > 0, "no chapter times recorded (run scripts/time_chapters.py)"
    timeout = _timeout()
    assert isinstance(timeout, int) and timeout > 0
    assert timeout >= 3 * slowest, f"_config.yml execute.timeout={timeout} s < 3 x {slowest} s ({where}): raise it"
    # fail fast: not far above what any measured chapter needs (the old value, 1800 s, waited 30 min)
    assert timeout <= max(900, 5 * slowest), f"execute.timeout={timeout} s: lower it towards 3 x {slowest} s ({where})"


def test_explorers_never_capture_into_an_output_widget():
    """The root of the build hang (issue 14): `with out:` capture in the explorers."""
    import re

    source = (ROOT / "valleylib" / "widgets.py").read_text()
    assert not re.search(r"^\s*with \w+:\s*$", source, re.M) and ".outputs = " in source


def test_explorer_figure_reaches_the_output_widget_without_capture(monkeypatch):
    """The figure is set as the Output widget's `outputs` (a PNG), never captured (`msg_id` unset)."""
    import base64

    import pytest

    w = pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from valleylib.widgets import low_risk_explorer, spurious_minima_explorer

    def no_capture(self):
        raise AssertionError("an explorer captured output with `with out:`")

    monkeypatch.setattr(w.Output, "__enter__", no_capture)
    for ex in (spurious_minima_explorer(k=3, n=3, runs=3), low_risk_explorer("relu", k=2, n=3, runs=3)):
        out = ex.widget.children[-1]
        assert isinstance(out, w.Output) and out.msg_id == ""
        (shown,) = out.outputs
        assert shown["output_type"] == "display_data"
        assert base64.b64decode(shown["data"]["image/png"])[:4] == b"\x89PNG"
        assert "runs at risk" in shown["data"]["text/plain"]
        ex.update()
        assert len(out.outputs) == 1  # replaced, not appended


def test_build_watchdog_is_sized_from_measured_chapter_times(tmp_path):
    """make book runs jupyter-book under a watchdog: 3 x the recorded chapter times + 600 s."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_timeout", ROOT / "scripts" / "build_timeout.py")
    bt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bt)
    (tmp_path / "chapter-times-smoke.json").write_text(json.dumps({"data": {"seconds": {"a": 10.0, "b": 20.5}}}))
    assert bt.limit("smoke", tmp_path) == int(3 * 30.5 + 600)
    assert bt.limit("full", tmp_path) is None  # nothing measured: no watchdog, said so by make
    recorded = json.loads((ROOT / "benchmarks" / "results" / "chapter-times-default.json").read_text())
    assert bt.limit("default") == int(3 * sum(recorded["data"]["seconds"].values()) + 600)
    makefile = (ROOT / "Makefile").read_text()
    book = makefile[makefile.index("\nbook:"):makefile.index("\nchromium:")]
    assert "scripts/build_timeout.py" in book and "timeout -s INT" in book and "watchdog" in book


def test_version_has_one_source():
    """pyproject.toml, valleylib.__version__ and the installed metadata agree (issue 17)."""
    import importlib.metadata
    import tomllib

    import valleylib
    from valleylib import _version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "valleylib._version.__version__"
    assert valleylib.__version__ == _version.__version__
    assert importlib.metadata.version("valleylib") == _version.__version__


def test_no_private_name_crosses_a_module_line():
    """A module imports only public names of its siblings (private modules such as ``_checks``
    are fine: their names are the package's shared helpers). Issue 17."""
    import ast

    crossing = []
    for path in sorted((ROOT / "valleylib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        crossing.append(f"{path.relative_to(ROOT)}: {alias.name} from {node.module}")
    assert crossing == []
