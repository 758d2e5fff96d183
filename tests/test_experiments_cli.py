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


def test_cli_errors_are_clear(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "valleylib", "reproduce", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "experiment 'nope' is not registered" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "valleylib", "reproduce", "intro", "--budget", "huge"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'huge'" in proc.stderr


def test_get_experiment_unknown():
    with pytest.raises(ValueError, match="not registered"):
        get_experiment("nope")


def test_to_jsonable_handles_tensors_and_nan():
    import torch

    assert to_jsonable({"a": torch.tensor([1.0, 2.0]), "b": (1, float("nan"))}) == {"a": [1.0, 2.0], "b": [1, "nan"]}
