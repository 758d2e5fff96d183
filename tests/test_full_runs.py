"""Recorded full runs: written with their fingerprints, read back through the package, detected
when stale; the committed ones are current and cover their experiment's full config."""
import json
from dataclasses import replace

import pytest

import valleylib.book as book
from valleylib.experiments import get_experiment, reproduce
from valleylib.experiments.safran_shamir import CONFIGS
from valleylib.full_runs import PREFIX, code_hash, fingerprint, full_run, full_run_table, full_runs, probe, record_full_run


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
    # numbers inside measured strings: noise to 0, the rest to 3 digits, names left alone
    assert _rounded("3 of 3, risk error 8.9e-16; 1183 vs 1139; W2 ratio 0.50149") == (
        "3 of 3, risk error 0; 1.18e+03 vs 1.14e+03; W2 ratio 0.501")
    assert _rounded("k=18 n=19, step 1.34") == "k=18 n=19, step 1.34"
    assert len(fingerprint("intro")) == 64


def test_committed_full_runs_are_current_and_complete():
    runs = full_runs()
    for run in runs:
        if not run.is_current():
            today, then = probe(run.name), run.data.get("probe")
            first = None
            if isinstance(today, dict) and isinstance(then, dict):
                first = next(((k, then.get(k), today[k]) for k in today if then.get(k) != today[k]), None)
            raise AssertionError(
                f"{run.name}: the recorded full run is stale (today's code computes another probe; "
                f"first difference (key, recorded, today): {str(first)[:600]}); "
                f"rerun `python benchmarks/record_full.py {run.name} --out DIR`")
        exp = get_experiment(run.name)
        rep = run.report()
        assert rep.budget == "full" and run.seconds > 0 and run.machine
        if run.name == "safran-shamir":
            cfg = exp.configs["full"]
            rows = rep.result["rows"]
            assert [(r["k"], r["n"]) for r in rows] == list(cfg.rows)
            assert all(r["runs"] == cfg.runs for r in rows)


def test_the_full_run_table_sits_beside_the_live_run_and_shows_failures(tmp_path, monkeypatch,
                                                                       tiny_full_report):
    from valleylib.full_runs import _match_claims
    from valleylib.scorecard import Check

    monkeypatch.setattr(book, "results_dir", lambda: tmp_path)
    assert full_run_table("safran-shamir") is None  # nothing recorded here
    # a full run whose first check failed: the table says FAIL in the full column
    d = tiny_full_report.to_dict()
    record_full_run(d, seconds=3.0, machine="test CPU", folder=tmp_path)
    rep = full_run("safran-shamir").report()
    live = replace(tiny_full_report, budget="smoke")
    t = full_run_table("safran-shamir", live=live)
    assert [r[0] for r in t.rows] == [c.claim for c in rep.scorecard]
    assert [str(r[-1]) for r in t.rows] == [("n/a" if c.passed is None else "pass" if c.passed else "FAIL")
                                          for c in rep.scorecard]
    assert "smoke: measured" in str(t) and "STALE" not in t.notes
    exp = get_experiment("safran-shamir")
    real = exp.scorecard
    made_up = [Check("k=4 n=4 a made-up claim", "test", 0.5, 0.9, 0.1, False), *real(tiny_full_report.result)]
    object.__setattr__(exp, "scorecard", lambda result: made_up)
    try:  # today's scorecard code finds a failure in the stored result: the table shows it
        t = full_run_table("safran-shamir", live=live)
    finally:
        object.__setattr__(exp, "scorecard", real)
    assert str(t.rows[0][-1]) == "FAIL" and "1 failed" in t.notes
    rec = json.loads((tmp_path / (PREFIX + "safran-shamir.json")).read_text())
    rec["data"]["fingerprint"] = "0" * 64
    (tmp_path / (PREFIX + "safran-shamir.json")).write_text(json.dumps(rec))
    assert "STALE" in full_run_table("safran-shamir").notes
    with pytest.raises(TypeError, match="live"):
        full_run_table("safran-shamir", live=reproduce("intro", "smoke", device="cpu", progress=False))

    def check(claim, passed=True):
        return Check(claim, "s", None, 1.0, None, passed)

    full = [check("path on 7 shapes"), check("k=8 n=8 fraction", False), check("k=9 n=9 fraction")]
    live_checks = [check("path on 2 shapes"), check("k=8 n=8 fraction"), check("only live")]
    pairs = _match_claims(full, live_checks)
    assert [(f and f.claim, m and m.claim) for f, m in pairs] == [
        ("path on 7 shapes", "path on 2 shapes"), ("k=8 n=8 fraction", "k=8 n=8 fraction"),
        ("k=9 n=9 fraction", None), (None, "only live")]
    # two full claims equal up to numbers are never paired by that key
    pairs = _match_claims([check("k=8 a"), check("k=9 a")], [check("k=10 a")])
    assert [(f and f.claim, m and m.claim) for f, m in pairs] == [("k=8 a", None), ("k=9 a", None), (None, "k=10 a")]


def test_records_keep_their_probe():
    for run in full_runs():
        assert "probe" in run.data, f"{run.name}: the record lacks its probe"
