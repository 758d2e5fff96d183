"""The batched Safran-Shamir protocol engine, its classification, the experiment and the explorer."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from reference import numpy_protocol

from valleylib.experiments import get_experiment
from valleylib.experiments import safran_shamir as ssx
from valleylib.experiments.safran_shamir import (
    CONFIGS,
    PUBLISHED,
    PUBLISHED_CERTIFIED,
    PUBLISHED_COUNTS,
    run,
    scorecard,
)
from valleylib.population import relu_population_risk
from valleylib.safran_shamir import LABELS, TOL, classify, run_protocol, teacher_identity, xavier_init

DT = torch.float64


def test_xavier_init_statistics_and_device():
    g = torch.Generator().manual_seed(0)
    W = xavier_init(4000, 5, 8, generator=g)
    assert W.shape == (4000, 5, 8) and W.dtype == DT
    assert abs(float(W.var()) - 1 / 8) < 0.005
    assert abs(float(W.mean())) < 0.005
    with pytest.raises(ValueError, match="runs=0"):
        xavier_init(0, 2, 2)


def test_batched_protocol_matches_a_per_run_numpy_loop(device):
    k, n = 3, 3
    g = torch.Generator().manual_seed(1)
    W0 = xavier_init(4, n, k, generator=g)
    V = teacher_identity(k, device="cpu")
    res = run_protocol(W0.to(device), V.to(device), check_every=7, progress=False)
    assert res.W.device == res.grad_norm.device == torch.device(device)
    assert res.converged.all()
    assert (res.grad_norm <= TOL).all()
    for r in range(4):
        Wr, it, ok = numpy_protocol(W0[r].numpy(), V.numpy())
        assert ok
        assert int(res.iterations[r]) == it  # stops at exactly the same iterate
        np.testing.assert_allclose(res.W[r].cpu().numpy(), Wr, atol=1e-9)


def test_newton_polishing_reaches_the_same_end_points():
    g = torch.Generator().manual_seed(2)
    W0 = xavier_init(6, 4, 4, generator=g)
    plain = run_protocol(W0, progress=False)
    fast = run_protocol(W0, newton_below=1e-3, progress=False)
    assert fast.converged.all() and plain.converged.all()
    assert (fast.iterations <= plain.iterations).all()
    torch.testing.assert_close(fast.W, plain.W, atol=1e-8, rtol=0)


def test_newton_polishing_keeps_the_classification_at_n_equal_k_plus_1():
    """n = k + 1: global minima are not isolated (degenerate Hessians), and plain GD creeps."""
    V = teacher_identity(3)
    W0 = xavier_init(6, 4, 3, generator=torch.Generator().manual_seed(5))
    plain = run_protocol(W0, V, max_iter=4000, progress=False)
    fast = run_protocol(W0, V, newton_below=1e-3, max_iter=4000, progress=False)
    assert fast.converged.all()
    assert ((plain.risk >= 1e-3) == (fast.risk >= 1e-3)).all()  # the same side of the threshold
    assert float(plain.risk.max()) < 1e-6 and float(fast.risk.max()) < 1e-12  # all global here
    lp, _ = classify(plain.W, V, converged=plain.converged)
    lf, _ = classify(fast.W, V, converged=fast.converged)
    both = plain.converged & fast.converged
    assert (lp[both] == lf[both]).all() and (lf == LABELS.index("global")).all()
    # a spurious minimum at (k, n) = (10, 11): run 52 of the default budget's starts
    Vs = teacher_identity(10)
    start = xavier_init(300, 11, 10, generator=torch.Generator().manual_seed(2018 + 10_011))[52:53]
    plain = run_protocol(start, Vs, max_iter=40_000, check_every=500, progress=False)
    fast = run_protocol(start, Vs, newton_below=1e-3, max_iter=40_000, check_every=500, progress=False)
    assert plain.converged.all() and fast.converged.all()
    lp, _ = classify(plain.W, Vs, converged=plain.converged)
    lf, _ = classify(fast.W, Vs, converged=fast.converged)
    assert [LABELS[c] for c in lp.tolist()] == [LABELS[c] for c in lf.tolist()] == ["spurious"]
    torch.testing.assert_close(fast.W, plain.W, atol=1e-6, rtol=0)
    assert float(fast.risk) == pytest.approx(0.0178927, abs=1e-7)


def test_divergence_restarts_with_a_halved_step():
    g = torch.Generator().manual_seed(3)
    W0 = xavier_init(2, 3, 3, generator=g) * 100
    res = run_protocol(W0, lr=1e3, divergence_threshold=1e2, progress=False)
    assert (res.restarts > 0).all()
    torch.testing.assert_close(res.lr, 1e3 / 2.0 ** res.restarts.to(DT))
    assert res.converged.all()


def test_safety_cap_is_reported():
    g = torch.Generator().manual_seed(4)
    res = run_protocol(xavier_init(3, 4, 4, generator=g), max_iter=10, progress=False)
    assert res.hit_cap.all() and not res.converged.any()
    assert (res.iterations == 10).all()
    codes, _ = classify(res.W, converged=res.converged)
    assert codes.tolist() == [LABELS.index("not converged")] * 3


def test_classify_global_spurious_saddle():
    from test_certify import W6, W_SADDLE

    W = torch.stack([torch.eye(6, dtype=DT), W6, W_SADDLE])
    codes, lam = classify(W, tol=1e-8)
    assert [LABELS[c] for c in codes.tolist()] == ["global", "spurious", "saddle"]
    assert math.isnan(float(lam[0])) and float(lam[1]) > 0 > float(lam[2])
    with pytest.raises(ValueError, match="converged"):
        classify(W, converged=torch.ones(2, dtype=torch.bool))


def test_bad_arguments_raise():
    W0 = torch.ones(2, 3, 3, dtype=DT)
    with pytest.raises(ValueError, match="lr"):
        run_protocol(W0, lr=0)
    with pytest.raises(ValueError, match="input dimension"):
        run_protocol(W0, torch.eye(4, dtype=DT))
    with pytest.raises(ValueError, match="newton_below"):
        run_protocol(W0, newton_below=-1.0)


def _row(k, n, runs, bad, cert=None, hit_cap=0, hit_cap_high_risk=0, risks=()):
    """A synthetic result row: ``bad`` runs at risk >= 1e-3, ``cert`` of them certified (default all)."""
    cert = bad if cert is None else cert
    fams = [{"risk": r, "runs": 1, "certified": True} for r in risks]
    return {"k": k, "n": n, "runs": runs, "fraction_spurious": bad / runs, "fraction_certified": cert / runs,
            "count_spurious": bad, "count_certified": cert, "spurious_risks": sorted(risks), "families": fams,
            "hit_cap": hit_cap, "hit_cap_high_risk": hit_cap_high_risk}


def _fractions(checks, key, which="all"):
    word = "all runs" if which == "all" else "certified"
    return [c for c in checks if word in c.claim and f"k={key[0]} n={key[1]} " in c.claim]


def _faithful(rows, runs, rng, published_p=None):
    """Rows drawn from a faithful engine: every run bad with the published rate, certified likewise."""
    out = []
    for k, n in rows:
        pb, pc = (PUBLISHED.get((k, n), 0.0), PUBLISHED_CERTIFIED.get((k, n), 0.0)) if published_p is None else published_p
        cert = int(rng.binomial(runs, pc))
        extra = int(rng.binomial(runs - cert, (pb - pc) / (1 - pc))) if pb > pc else 0
        out.append(_row(k, n, runs, cert + extra, cert))
    return {"rows": out}


def test_scorecard_compares_all_runs_with_the_f_column_and_certified_with_certified():
    res = {"rows": [_row(17, 18, 1000, 233, 209), _row(20, 20, 1000, 949, 940), _row(15, 16, 1000, 102, 101)]}
    checks = scorecard(res)
    for key in [(17, 18), (20, 20), (15, 16)]:
        (a,), (c,) = _fractions(checks, key), _fractions(checks, key, "cert")
        assert a.published == PUBLISHED_COUNTS[key][0] / 1000 and c.published == PUBLISHED_COUNTS[key][1] / 1000
        assert a.published != c.published and a.passed and c.passed and a.p_value == pytest.approx(1.0)
    # the wrong column where it differs: the same counts scored against the certified column get a
    # smaller p-value; no 1000-against-1000 test can resolve a 2.4-point gap, so the wiring is what we test
    assert PUBLISHED[(17, 18)] == 0.233 and PUBLISHED_CERTIFIED[(17, 18)] == 0.209
    # a certified count that is far off fails its own row, while the all-runs row passes
    checks = scorecard({"rows": [_row(17, 18, 1000, 233, 20)]})
    assert _fractions(checks, (17, 18))[0].passed is True
    assert _fractions(checks, (17, 18), "cert")[0].passed is False


def test_scorecard_fails_a_row_far_from_the_published_count():
    checks = scorecard({"rows": [_row(8, 8, 300, 5, risks=[0.02151])]})
    assert [c.passed for c in checks] == [False, False, True]
    assert checks[0].p_value < 1e-6 and checks[0].p_adjusted <= 0.01
    assert all(c.passed for c in scorecard({"rows": [_row(8, 8, 300, 38, risks=[0.02151])]}))
    assert not scorecard({"rows": [_row(8, 8, 300, 150)]})[0].passed  # too many fails as well
    # inferred-zero rows: too few to tell when ours is 0, but a clear excess fails
    (z,) = scorecard({"rows": [_row(6, 8, 300, 0)]})
    assert z.passed is None and "inferred" in z.source
    assert scorecard({"rows": [_row(6, 8, 300, 15)]})[0].passed is False


def test_scorecard_fails_an_engine_that_never_finds_spurious_minima():
    rows = CONFIGS["default"].rows
    checks = scorecard({"rows": [_row(k, n, CONFIGS["default"].runs, 0) for k, n in rows]})
    fr = [c for c in checks if c.claim.startswith("fraction")]
    assert any(c.passed is False for c in fr)
    # rows where a faithful rate is near zero are n/a, not passes
    for key in [(6, 6), (8, 9), (10, 11), (12, 13)]:
        assert all(c.passed is None for c in _fractions(checks, key)), key
    # every k = n row from 7 on is decided at 300 runs, and an engine finding none fails each
    for k in range(7, 13):
        assert _fractions(checks, (k, k))[0].passed is False, k
    # at smoke (12 runs) the zero engine cannot be told from a faithful one: everything is n/a
    smoke = scorecard({"rows": [_row(k, n, 12, 0) for k, n in CONFIGS["smoke"].rows]})
    assert [c.passed for c in smoke if c.claim.startswith("fraction")] == [None] * 4


def test_scorecard_capped_runs_count_both_ways():
    assert scorecard({"rows": [_row(8, 8, 300, 38, hit_cap=1, hit_cap_high_risk=1)]})[0].passed
    # 30 undecided runs: with them 38 of 300 agrees, without them 8 of 300 does not
    c = scorecard({"rows": [_row(8, 8, 300, 38, hit_cap=30, hit_cap_high_risk=30)]})[0]
    assert c.passed is False and "30 of them at risk >= 1e-3" in c.claim
    assert scorecard({"rows": [_row(8, 8, 300, 38, hit_cap=30, hit_cap_high_risk=0)]})[0].passed
    assert ssx.row_counts(_row(8, 8, 300, 38, 30, hit_cap=5, hit_cap_high_risk=5))["certified_range"] == (25, 35)


def test_scorecard_risk_checks_are_na_when_nothing_is_found_and_can_fail():
    (a, c, r) = scorecard({"rows": [_row(6, 6, 300, 0)]})
    assert r.passed is None and "no certified spurious minimum" in r.claim  # shown, not dropped
    assert scorecard({"rows": [_row(6, 6, 300, 1, risks=[0.0250806])]})[2].passed
    assert not scorecard({"rows": [_row(6, 6, 300, 1, risks=[0.0250826])]})[2].passed
    # k = 9, 10: the two published families (extremes 0.0200/0.0375 and 0.0187/0.0353)
    assert scorecard({"rows": [_row(9, 9, 300, 64, risks=[0.0200142, 0.037489])]})[2].passed
    assert not scorecard({"rows": [_row(9, 9, 300, 64, risks=[0.0200142, 0.0300])]})[2].passed
    assert scorecard({"rows": [_row(10, 10, 300, 104, risks=[0.0187022, 0.0353269])]})[2].passed
    assert not scorecard({"rows": [_row(10, 10, 300, 104, risks=[0.0190])]})[2].passed
    # uncertified families do not enter the risk check
    row = _row(7, 7, 300, 15, risks=[0.0232027])
    row["families"].append({"risk": 0.05, "runs": 1, "certified": False})
    assert scorecard({"rows": [row]})[2].passed
    assert scorecard({"rows": [_row(5, 9, 10, 5)]}) == []  # no published row: no check


def _false_failure_rate(rows, runs, seeds, monkeypatch):
    """Fraction of seeds where a faithful engine fails some row; both samples drawn at the published rates."""
    fails = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        redrawn = {}
        for key, (b, c) in PUBLISHED_COUNTS.items():
            cert = int(rng.binomial(1000, c / 1000))
            extra = int(rng.binomial(1000 - cert, (b - c) / (1000 - c))) if b > c else 0
            redrawn[key] = (cert + extra, cert)
        monkeypatch.setattr(ssx, "PUBLISHED_COUNTS", redrawn)
        checks = scorecard(_faithful(rows, runs, rng))
        fails += any(c.passed is False for c in checks)
    monkeypatch.undo()
    return fails / seeds


def test_a_faithful_engine_rarely_fails_the_family(monkeypatch):
    # 500 seeds at the full budget's rows and runs (1000 each), and at default's (300 each)
    full = _false_failure_rate(CONFIGS["full"].rows, 1000, 500, monkeypatch)
    default = _false_failure_rate(CONFIGS["default"].rows, 300, 500, monkeypatch)
    print(f"false-failure rate of a faithful engine: full {full:.3f}, default {default:.3f}")
    assert full < 0.01 and default < 0.01
    # the same simulated engine, made 40% less likely to find spurious minima, fails the full family
    rng = np.random.default_rng(0)
    weak = {"rows": [_row(k, n, 1000, int(rng.binomial(1000, 0.6 * PUBLISHED.get((k, n), 0.0)))) for k, n in CONFIGS["full"].rows]}
    assert any(c.passed is False for c in scorecard(weak))


def test_full_config_covers_every_published_row():
    assert set(PUBLISHED) <= set(CONFIGS["full"].rows)
    assert CONFIGS["full"].runs == 1000


def test_smoke_reproduction_runs_and_resumes(tmp_path):
    exp = get_experiment("safran-shamir")
    cfg = replace(CONFIGS["smoke"], rows=((6, 6), (4, 5)), runs=4)
    res = run(cfg, device=torch.device("cpu"), out_dir=tmp_path)
    assert res["rows_reused"] == 0
    row = res["rows"][0]
    for key in ["k", "n", "runs", "fraction_spurious", "spurious_risks", "iterations_median", "seconds"]:
        assert key in row
    json.dumps(res)
    again = run(cfg, device=torch.device("cpu"), out_dir=tmp_path)
    assert again["rows_reused"] == 2
    assert again["rows"][0]["risks"] == row["risks"]
    checks = exp.scorecard(res)
    assert len(checks) == 3  # (6,6): all runs, certified, risk value; (4,5) has no published row
    assert checks[0].passed is None and checks[1].passed is None  # 4 runs cannot tell
    assert "fraction" in exp.figures(res)


def test_rows_in_two_processes_equal_rows_in_one(tmp_path, monkeypatch):
    cfg = replace(CONFIGS["smoke"], rows=((4, 4), (3, 5), (4, 6)), runs=3, max_iter=5000,
                  decide_below=1e-3)
    one = run(cfg, device=torch.device("cpu"))
    monkeypatch.setenv("VALLEYLIB_WORKERS", "2")
    two = run(cfg, device=torch.device("cpu"), out_dir=tmp_path)
    assert [(r["k"], r["n"]) for r in two["rows"]] == [(4, 4), (3, 5), (4, 6)]
    for a, b in zip(one["rows"], two["rows"]):
        assert a["risks"] == b["risks"] and a["labels"] == b["labels"]
        assert a["decide_below"] == 1e-3 and "decided" in a
    assert len(list((tmp_path / "safran-shamir-rows").glob("row-*.json"))) == 3
    assert run(cfg, device=torch.device("cpu"), out_dir=tmp_path)["rows_reused"] == 3
    monkeypatch.setenv("VALLEYLIB_WORKERS", "two")
    with pytest.raises(ValueError, match="VALLEYLIB_WORKERS"):
        run(cfg, device=torch.device("cpu"), out_dir=tmp_path / "x")


def test_explorer_builds_headless_and_updates():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from valleylib.widgets import spurious_minima_explorer

    ex = spurious_minima_explorer(k=3, n=3, runs=3, run_now=False)
    assert ex.last == {}
    last = ex.update()
    assert last["k"] == 3 and len(last["risks"]) == 3 and 0 <= last["fraction_spurious"] <= 1


def test_kernel_risk_equals_the_closed_form_risk():
    from valleylib.population import relu_gradient_kernel, relu_population_gradient, teacher_risk_constant

    W = torch.randn(5, 7, 6, dtype=DT, generator=torch.Generator().manual_seed(0))
    for V in (torch.randn(4, 6, dtype=DT, generator=torch.Generator().manual_seed(1)),
              teacher_identity(6)):
        ident = V.shape[0] == 6
        risk, g = relu_gradient_kernel(W, V, ident, teacher_risk_constant(V))
        torch.testing.assert_close(risk, relu_population_risk(W, V), atol=1e-13, rtol=0)
        torch.testing.assert_close(g, relu_population_gradient(W, V), atol=1e-14, rtol=0)
    k = 6
    assert teacher_risk_constant(teacher_identity(k)) == pytest.approx(
        k / 4 + k * (k - 1) / (4 * math.pi), abs=1e-14)


def test_decided_runs_keep_their_label_when_run_to_the_end():
    """n = k + 2: plain runs creep towards degenerate global minima; the decided stop ends them
    once the risk is below 1e-3. Run on from there, they stay below it; the labels "risk >= 1e-3"
    are those of the full runs, and decided runs are classified global."""
    V = teacher_identity(4)
    W0 = xavier_init(12, 6, 4, generator=torch.Generator().manual_seed(7))
    full = run_protocol(W0, V, newton_below=1e-3, max_iter=20_000, progress=False)
    fast = run_protocol(W0, V, newton_below=1e-3, max_iter=20_000, decide_below=1e-3,
                        progress=False)
    assert fast.decided.sum() >= 6 and (fast.iterations <= full.iterations).all()
    assert ((full.risk >= 1e-3) == (fast.risk >= 1e-3)).all()
    assert (fast.risk[fast.decided] < 1e-3).all()
    on = run_protocol(fast.W[fast.decided], V, max_iter=20_000, progress=False)
    assert (on.risk < fast.risk[fast.decided]).all()  # monotone continuation: still below
    codes, _ = classify(fast.W, V, converged=fast.converged, decided=fast.decided)
    assert (codes[fast.decided] == LABELS.index("global")).all()
    with pytest.raises(ValueError, match="decided"):
        classify(fast.W, V, decided=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="decide_below"):
        run_protocol(W0, V, decide_below=-1.0)
