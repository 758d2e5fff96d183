import json
import subprocess
import sys

import pytest

import valleylib as vl
from valleylib.__main__ import main
from valleylib.experiments import get_experiment, to_jsonable


def test_registry_has_intro_with_all_budgets():
    exps = vl.experiments()
    assert "intro" in exps
    for exp in exps.values():
        assert set(exp.configs) >= set(vl.BUDGETS)


@pytest.mark.parametrize("name", sorted(vl.experiments()))
def test_every_experiment_smoke_runs_and_passes(tmp_path, device, name):
    """Each registered reproduction runs at the smoke budget on each device (the library's default
    device follows the ``device`` fixture), writes JSON and passes its scorecard."""
    report = vl.reproduce(name, "smoke", out=tmp_path, progress=False)
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data["budget"] == "smoke" and data["name"] == name
    assert data["device"].startswith(device.type), data["device"]
    assert {"claim", "source", "published", "measured", "tolerance", "pass"} <= set(data["scorecard"][0])
    assert report.passed, f"{name}:\n{report.table()}"


def test_intro_numbers():
    res = vl.reproduce("intro", "smoke", progress=False).result
    cf = dict(zip(map(tuple, res["points"]["w"]), res["points"]["closed_form"]))
    assert cf[(0.5, 0.5)] == pytest.approx(0.25, abs=1e-12)
    assert all(c["spurious"] == 0 for c in res["components"])


def test_cli_list_and_reproduce(tmp_path, capsys):
    assert main(["list"]) == 0
    assert "intro" in capsys.readouterr().out
    assert main(["reproduce", "intro", "--budget", "smoke", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "claim" in out and (tmp_path / "intro.json").exists() and (tmp_path / "intro-landscape.png").exists()


def _cli(*args, env=None, cwd=None):
    import os

    full = {**os.environ, "VALLEYLIB_THREADS": "1", **(env or {})}
    for k, v in list(full.items()):
        if v is None:
            del full[k]
    return subprocess.run([sys.executable, "-m", "valleylib", *args], capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=120)


def _assert_clean_error(proc, *fragments):
    """Exit code 2, one line on stderr naming the value, no traceback, nothing run."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("python -m valleylib: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def _bad_cases(tmp_path):
    import torch

    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    cases = [
        (["reproduce", "nope"], {}, "name='nope': no such experiment"),
        (["reproduce", "intro", "--budget", "huge"], {}, "--budget 'huge' is not a budget"),
        (["reproduce", "intro", "--device", "bogus"], {}, "--device 'bogus' is not a torch device name"),
        (["reproduce", "intro", "--device", "mps"], {}, "--device 'mps'"),
        (["reproduce", "intro", "--device", "meta"], {}, "--device 'meta'"),
        (["reproduce", "intro", "--out", str(afile)], {}, "is an existing file"),
        (["reproduce", "intro", "--out", str(afile / "sub")], {}, "which is a file"),
        (["reproduce", "intro", "--out", "/proc/valleylib-nope"], {}, "--out '/proc/valleylib-nope'"),
        (["reproduce", "intro", "--out", ""], {}, "--out ''"),
        (["reproduce"], {}, "required: name"),
        (["bogus"], {}, "invalid choice: 'bogus'"),
        (["reproduce", "intro", "--bogus"], {}, "unrecognized arguments: --bogus"),
    ]
    if not torch.cuda.is_available():
        cases.append((["reproduce", "intro", "--device", "cuda"], {}, "--device 'cuda' but CUDA is not available"))
        cases.append((["reproduce", "intro", "--device", "cuda:1"], {}, "CUDA is not available"))
        cases.append((["list"], {"VALLEYLIB_DEVICE": "cuda"}, "VALLEYLIB_DEVICE='cuda' but CUDA is not available"))
    for command in (["list"], ["reproduce", "intro", "--out", str(tmp_path / "o")]):
        cases += [
            (command, {"VALLEYLIB_DEVICE": "mps"}, "VALLEYLIB_DEVICE='mps'"),
            (command, {"VALLEYLIB_DEVICE": "bogus"}, "VALLEYLIB_DEVICE='bogus' is not a torch device name"),
            (command, {"VALLEYLIB_THREADS": "0"}, "VALLEYLIB_THREADS='0': expected a positive integer"),
            (command, {"VALLEYLIB_THREADS": "abc"}, "VALLEYLIB_THREADS='abc': expected a positive integer"),
            (command, {"VALLEYLIB_THREADS": "-3"}, "VALLEYLIB_THREADS='-3'"),
            (command, {"VALLEYLIB_BUDGET": "huge"}, "VALLEYLIB_BUDGET='huge' is not a budget"),
        ]
    return cases


def _main_in_process(args, env, monkeypatch, capsys):
    """main() in this process (a subprocess per case would take minutes): (returncode, stdout, stderr)."""
    import types

    for k in ("VALLEYLIB_DEVICE", "VALLEYLIB_BUDGET"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("VALLEYLIB_THREADS", "1")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        code = main(args)
    except SystemExit as err:
        code = err.code
    out = capsys.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_cli_every_bad_flag_and_environment_value_is_one_clean_line(tmp_path, monkeypatch, capsys):
    """No traceback, exit code 2, one line naming the value; checked before any work (no files)."""
    monkeypatch.chdir(tmp_path)
    for args, env, fragment in _bad_cases(tmp_path):
        with monkeypatch.context() as m:
            _assert_clean_error(_main_in_process(args, env, m, capsys), fragment)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    assert not (tmp_path / "results").exists()


def test_cli_bad_values_in_a_real_process(tmp_path):
    """The same, end to end, for a few cases: nothing on stderr but the one line."""
    _assert_clean_error(_cli("list", env={"VALLEYLIB_THREADS": "abc"}, cwd=tmp_path), "VALLEYLIB_THREADS='abc'")
    _assert_clean_error(_cli("reproduce", "intro", "--out", "/proc/x", cwd=tmp_path), "--out '/proc/x'")


def test_cli_flag_and_environment_give_the_same_message(tmp_path):
    flag = _cli("reproduce", "intro", "--device", "bogus", cwd=tmp_path).stderr
    env = _cli("reproduce", "intro", env={"VALLEYLIB_DEVICE": "bogus"}, cwd=tmp_path).stderr
    assert flag.replace("--device 'bogus'", "X") == env.replace("VALLEYLIB_DEVICE='bogus'", "X")


def test_out_checked_before_the_run(tmp_path, monkeypatch):
    """reproduce() refuses a bad folder before running anything."""
    import importlib

    ex = importlib.import_module("valleylib.experiments")

    afile = tmp_path / "afile"
    afile.write_text("x")
    exp = get_experiment("intro")
    ran = []
    monkeypatch.setitem(ex._REGISTRY, "intro", ex.Experiment(exp.name, exp.title, exp.configs,
                                                            lambda *a, **k: ran.append(1) or {}, exp.scorecard))
    with pytest.raises(ValueError, match="out=.*existing file"):
        vl.reproduce("intro", "smoke", out=afile)
    with pytest.raises(ValueError, match="device='bogus'"):
        vl.reproduce("intro", "smoke", device="bogus")
    assert ran == []


def test_get_experiment_unknown():
    with pytest.raises(ValueError, match="name=.nope.: no such experiment"):
        get_experiment("nope")


def test_to_jsonable_handles_tensors_and_nan():
    import torch

    assert to_jsonable({"a": torch.tensor([1.0, 2.0]), "b": (1, float("nan"))}) == {"a": [1.0, 2.0], "b": [1, "nan"]}


def test_a_report_gives_its_figures_one_way():
    import matplotlib.pyplot as plt

    from valleylib.experiments import get_experiment, reproduce

    report = reproduce("intro", "smoke", device="cpu", progress=False)
    figs = report.figures()
    assert set(figs) == set(get_experiment("intro").figures(report.result)) and figs
    plt.close("all")
