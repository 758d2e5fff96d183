"""The batched Safran-Shamir protocol engine, its classification, the experiment and the explorer."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from valleylib.experiments import get_experiment
from valleylib.experiments.safran_shamir import CONFIGS, PUBLISHED, Config, run, scorecard
from valleylib.safran_shamir import LABELS, TOL, classify, run_protocol, teacher_identity, xavier_init

DT = torch.float64


def numpy_gradient(W, V):
    """Slow, obvious reference: the closed-form gradient of papers.md §1.1, neuron by neuron."""
    G = np.zeros_like(W)
    for i, w in enumerate(W):
        nw = np.linalg.norm(w)
        for other, sign in [(W, 1.0), (V, -1.0)]:
            for j, u in enumerate(other):
                if sign > 0 and j == i:
                    G[i] += w / 2
                    continue
                nu = np.linalg.norm(u)
                th = math.acos(np.clip(w @ u / (nw * nu), -1, 1))
                G[i] += sign * (nu * math.sin(th) * w / nw + (math.pi - th) * u) / (2 * math.pi)
    return G


def numpy_protocol(W0, V, lr=0.1, tol=TOL, max_iter=100_000):
    """One run at a time: GD until the largest per-neuron gradient norm is <= tol (restart, halve the step on divergence)."""
    W, step, it = W0.copy(), lr, 0
    while it < max_iter:
        G = numpy_gradient(W, V)
        gn = np.linalg.norm(G, axis=1).max()
        if not np.isfinite(gn) or gn > 1e4:
            W, step = W0.copy(), step / 2
            continue
        if gn <= tol:
            return W, it, True
        W = W - step * G
        it += 1
    return W, it, False


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


def _row(k, n, runs, frac, hit_cap=0, hit_cap_high_risk=0, risks=()):
    return {"k": k, "n": n, "runs": runs, "fraction_spurious": frac, "spurious_risks": list(risks),
            "hit_cap": hit_cap, "hit_cap_high_risk": hit_cap_high_risk}


def test_scorecard_logic():
    p = PUBLISHED[(8, 8)]
    tol = 3 * math.sqrt(p * (1 - p) / 200)
    ok = scorecard({"rows": [_row(8, 8, 200, p + 0.9 * tol, risks=[0.02151])]})
    assert [c.passed for c in ok] == [True, True]
    bad = scorecard({"rows": [_row(8, 8, 200, p + 1.1 * tol, risks=[0.03])]})
    assert [c.passed for c in bad] == [False, False]
    # widened to 1/runs for tiny published fractions; inferred-zero rows are scored too
    assert scorecard({"rows": [_row(6, 6, 100, 0.01)]})[0].passed
    assert not scorecard({"rows": [_row(6, 6, 100, 0.03)]})[0].passed
    assert scorecard({"rows": [_row(6, 8, 100, 0.0)]})[0].passed
    assert not scorecard({"rows": [_row(6, 8, 100, 0.05)]})[0].passed
    # capped runs at high risk are undecided: the row must pass with them counted either way
    assert scorecard({"rows": [_row(8, 8, 200, p, hit_cap=1, hit_cap_high_risk=1)]})[0].passed
    assert not scorecard({"rows": [_row(8, 8, 200, p, hit_cap=30, hit_cap_high_risk=20)]})[0].passed
    assert not scorecard({"rows": [_row(8, 8, 200, p - 0.9 * tol, hit_cap=3, hit_cap_high_risk=3)]})[0].passed
    assert not scorecard({"rows": [_row(8, 8, 200, p + 1.1 * tol, hit_cap=3, hit_cap_high_risk=3)]})[0].passed
    assert scorecard({"rows": [_row(8, 8, 200, p + 0.9 * tol, hit_cap=3, hit_cap_high_risk=3)]})[0].passed
    assert scorecard({"rows": [_row(8, 8, 200, p, hit_cap=30, hit_cap_high_risk=0)]})[0].passed
    assert scorecard({"rows": [_row(5, 9, 10, 0.5)]}) == []  # no published row: no check


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
    assert len(checks) == 1 and checks[0].passed  # (6,6) at 4 runs: tolerance 1/4
    assert "fraction" in exp.figures(res)


def test_explorer_builds_headless_and_updates():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from valleylib.widgets import spurious_minima_explorer

    ex = spurious_minima_explorer(k=3, n=3, runs=3, run_now=False)
    assert ex.last == {}
    last = ex.update()
    assert last["k"] == 3 and len(last["risks"]) == 3 and 0 <= last["fraction_spurious"] <= 1
