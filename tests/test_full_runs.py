"""Recorded full runs: written with their fingerprints, read back through the package, detected
when stale; the committed ones are current and cover their experiment's full config."""
import json
from dataclasses import replace

import pytest

import valleylib.book as book
from valleylib.experiments import get_experiment, reproduce
from valleylib.experiments.safran_shamir import CONFIGS
from valleylib.full_runs import PREFIX, code_hash, fingerprint, full_run, full_runs, record_full_run


@pytest.fixture(scope="module")
def tiny_full_report():
    cfg = replace(CONFIGS["full"], rows=((4, 4), (4, 5)), runs=4)
    return reproduce("safran-shamir", "full", device="cpu", config=cfg, progress=False)


def test_a_record_round_trips_and_a_changed_fingerprint_is_stale(tmp_path, monkeypatch,
                                                                   tiny_full_report):
    path = record_full_run(tiny_full_report, seconds=12.5, machine="test CPU", folder=tmp_path)
    assert path.name == PREFIX + "safran-shamir.json"
    monkeypatch.setattr(book, "results_dir", lambda: tmp_path)
    run = full_run("safran-shamir")
    assert run is not None and run.seconds == 12.5 and run.machine == "test CPU"
    assert run.data["code_hash"] == code_hash() and len(run.data["fingerprint"]) == 64
    assert [r.name for r in full_runs()] == ["safran-shamir"]
    assert "0.2 min on test CPU" in run.describe()
    rep = run.report()  # the scorecard is recomputed from the stored result
    assert [c.claim for c in rep.scorecard] == [c.claim for c in tiny_full_report.scorecard]
    assert run.is_current()
    rec = json.loads(path.read_text())
    rec["data"]["fingerprint"] = "0" * 64  # what an engine that computes something else records
    path.write_text(json.dumps(rec))
    assert not full_run("safran-shamir").is_current()
    assert full_run("no-such-experiment") is None


def test_record_full_run_refuses_other_budgets_and_bad_times(tmp_path, tiny_full_report):
    d = tiny_full_report.to_dict()
    with pytest.raises(ValueError, match="report: expected a run at the 'full' budget"):
        record_full_run({**d, "budget": "default"}, seconds=1.0, machine="x", folder=tmp_path)
    with pytest.raises(ValueError, match="seconds"):
        record_full_run(d, seconds=-1.0, machine="x", folder=tmp_path)
    with pytest.raises(ValueError, match="name"):
        fingerprint("no-such-experiment")


def test_the_fingerprint_sees_a_change_of_results():
    base = fingerprint("safran-shamir")
    exp = get_experiment("safran-shamir")
    real = exp.probe

    def shifted():
        out = real()
        out["rows"][0]["count_spurious"] += 1
        return out

    object.__setattr__(exp, "probe", shifted)  # Experiment is frozen
    try:
        assert fingerprint("safran-shamir") != base
    finally:
        object.__setattr__(exp, "probe", real)
    assert fingerprint("safran-shamir") == base


def test_the_generic_probe_rounds_and_sees_the_scorecard():
    from valleylib.full_runs import _rounded

    assert _rounded([1.234567, {"a": (2.0, None, True)}, float("nan"), 3e-17]) == [
        1.235, {"a": [2.0, None, True]}, "nan", 0.0]
    assert len(fingerprint("intro")) == 64


def test_committed_full_runs_are_current_and_complete():
    runs = full_runs()
    for run in runs:
        assert run.is_current(), (
            f"{run.name}: the recorded full run is stale (today's code computes another probe); "
            f"rerun `python benchmarks/record_full.py {run.name} --out DIR`")
        exp = get_experiment(run.name)
        rep = run.report()
        assert rep.budget == "full" and run.seconds > 0 and run.machine
        if run.name == "safran-shamir":
            cfg = exp.configs["full"]
            rows = rep.result["rows"]
            assert [(r["k"], r["n"]) for r in rows] == list(cfg.rows)
            assert all(r["runs"] == cfg.runs for r in rows)
