"""Low-risk confinement: teachers, Wilson intervals, the three-segment start certificate, straight lines, width sweeps."""
import math

import pytest
import torch

import valleylib as vl
from valleylib.gaussian import gaussian_risk
from valleylib.lowrisk import (
    END_LABELS,
    Descent,
    descend,
    label_end_points,
    make_teacher,
    start_certificate,
    straight_line_to_global,
    width_sweep,
)
from valleylib.safran_shamir import xavier_init
from valleylib.scorecard import wilson_interval

f64 = torch.float64

from known_points import W6, W_SADDLE  # noqa: E402  (Safran–Shamir (6,6): a spurious minimum, a saddle)


def as_descent(W, V, converged):
    """Wrap hand-built end points (runs, n, d) as a Descent with their exact risks and gradients."""
    risk = vl.relu_population_risk(W, V)
    grad = vl.relu_population_gradient(W, V).norm(dim=-1).amax(-1)
    conv = torch.tensor(converged, dtype=torch.bool)
    return Descent(W, risk, grad, conv, torch.zeros(W.shape[0], dtype=torch.long))


def test_make_teacher_families():
    """"ss" is the identity; "random" has unit rows, is reproducible from a seed; unknown families raise."""
    torch.testing.assert_close(make_teacher("ss", 3), torch.eye(3, dtype=f64), rtol=0, atol=0)
    V = make_teacher("random", 5, generator=torch.Generator().manual_seed(3))
    assert V.shape == (5, 5) and V.dtype == f64
    torch.testing.assert_close(V.norm(dim=1), torch.ones(5, dtype=f64), rtol=0, atol=1e-14)
    assert not torch.allclose(V.abs(), torch.eye(5, dtype=f64))  # random angles, not the axes
    again = make_teacher("random", 5, generator=torch.Generator().manual_seed(3))
    other = make_teacher("random", 5, generator=torch.Generator().manual_seed(4))
    assert torch.equal(V, again)
    assert not torch.equal(V, other)
    with pytest.raises(ValueError, match="family='gaussian'"):
        make_teacher("gaussian", 3)
    with pytest.raises(ValueError, match="k="):
        make_teacher("ss", 0)


def test_wilson_interval_values_and_errors():
    """Wilson 95% interval for 3/10 is [0.1078, 0.6032]; bounds stay in [0, 1]; bad counts raise."""
    # by hand: p = 0.3, z^2 = 3.8416: centre 0.49208, half 1.96 sqrt(0.030604) = 0.342883, denominator 1.38416
    lo, hi = wilson_interval(3, 10)
    assert lo == pytest.approx((0.49208 - 0.342883) / 1.38416, abs=1e-6)
    assert hi == pytest.approx((0.49208 + 0.342883) / 1.38416, abs=1e-6)
    assert (round(lo, 4), round(hi, 4)) == (0.1078, 0.6032)
    for s, n in [(0, 1), (1, 1), (0, 50), (50, 50), (17, 40)]:
        lo, hi = wilson_interval(s, n)
        assert 0.0 <= lo <= s / n <= hi <= 1.0
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0
    assert wilson_interval(5, 100, z=2.576)[1] > wilson_interval(5, 100)[1]  # 99% is wider than 95%
    with pytest.raises(ValueError, match="trials=0"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="successes=11"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="successes=-1"):
        wilson_interval(-1, 10)
    with pytest.raises(ValueError, match="trials=10.0"):
        wilson_interval(3, 10.0)
    with pytest.raises(ValueError, match="successes=True"):
        wilson_interval(True, 10)


@pytest.mark.parametrize("successes, trials", [(0, 11), (12, 12)])
def test_wilson_interval_contains_the_estimate_at_the_extremes(successes, trials):
    """0/N has lower bound exactly 0 and N/N upper bound exactly 1, so the interval contains the estimate."""
    lo, hi = wilson_interval(successes, trials)
    assert lo <= successes / trials <= hi


@pytest.mark.parametrize("n", [3, 4, 6])
def test_start_certificate_convexity_bound(n):
    """Along the three-segment path the risk never exceeds max(F(W0), E+(W_S)); certified iff F(W0) >= E+."""
    k, runs = 3, 30
    V = make_teacher("ss", k)
    W0 = xavier_init(runs, n, k, generator=torch.Generator().manual_seed(10 + n))
    cert = start_certificate(W0, V)
    assert set(cert) == {"risk0", "bound", "certified", "path_max"}
    risk0, bound, path_max = cert["risk0"], cert["bound"], cert["path_max"]
    torch.testing.assert_close(risk0, vl.relu_population_risk(W0, V), rtol=1e-14, atol=0)
    assert bool((path_max <= torch.maximum(risk0, bound) * (1 + 1e-9)).all()), (path_max, risk0, bound)
    assert bool((path_max >= risk0).all())  # t = 0 is on the path
    assert torch.equal(cert["certified"], risk0 >= bound)
    zero_risk = float(vl.relu_population_risk(torch.zeros(1, k, dtype=f64), V))
    assert bool((bound <= zero_risk * (1 + 1e-12)).all())
    assert bool((bound >= 0).all())
    if n == k:
        torch.testing.assert_close(bound, torch.full((runs,), zero_risk, dtype=f64), rtol=1e-14, atol=0)
    else:
        assert bool((bound < zero_risk).all())  # some kept rows always help a little


def test_start_certificate_bound_is_the_nonnegative_rf_error_of_the_kept_rows():
    """E+(W_S) is the non-negative random-features error of the n-k largest rows."""
    k, n = 3, 6
    V = make_teacher("ss", k)
    W0 = xavier_init(5, n, k, generator=torch.Generator().manual_seed(2))
    cert = start_certificate(W0, V)
    keep = W0.norm(dim=-1).argsort(dim=-1)[:, k:]
    WS = torch.stack([W0[r, keep[r]] for r in range(5)])
    ref = vl.random_features.random_features_fit(WS, V, nonnegative=True).error
    torch.testing.assert_close(cert["bound"], ref, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="width n=2"):
        start_certificate(W0[:, :2], V)


def test_straight_line_to_global():
    """path_max >= F(W0), below <=> path_max <= F(W0); exact for a rescaled permuted teacher; n < k raises."""
    k = 3
    V = make_teacher("ss", k)
    for n in (3, 4, 6):
        W0 = xavier_init(20, n, k, generator=torch.Generator().manual_seed(n))
        out = straight_line_to_global(W0, V)
        risk0, path_max = out["risk0"], out["path_max"]
        torch.testing.assert_close(risk0, vl.relu_population_risk(W0, V), rtol=1e-14, atol=0)
        assert bool((path_max >= risk0).all())
        assert torch.equal(out["below"], path_max <= risk0 * (1 + 1e-12))
    # W0 = (1 + 1e-3) V[perm]: the segment (1 + 1e-3 (1 - t)) V[perm] has risk (1 - t)^2 F(W0), so it ends at risk 0
    # and its maximum is F(W0) ~ 1e-6: any other end point would show up as a larger maximum
    perm = torch.tensor([2, 0, 1])
    out = straight_line_to_global((1 + 1e-3) * V[perm], V, points=5)
    zero_risk = float(vl.relu_population_risk(torch.zeros(1, k, dtype=f64), V))
    assert float(out["risk0"]) == pytest.approx(1e-6 * zero_risk, rel=1e-6)
    assert float(out["path_max"]) == pytest.approx(float(out["risk0"]), rel=1e-9)
    assert bool(out["below"])
    with pytest.raises(ValueError, match="width n=2"):
        straight_line_to_global(torch.ones(2, k, dtype=f64), V)


def test_label_end_points_on_known_critical_points():
    """Safran-Shamir (6,6) spurious minimum -> spurious, its saddle -> saddle, teacher -> global, unconverged -> not converged."""
    V = torch.eye(6, dtype=f64)
    W = torch.stack([W6, V[torch.randperm(6, generator=torch.Generator().manual_seed(0))], W_SADDLE, W6])
    end = as_descent(W, V, [True, True, True, False])
    codes, lam = label_end_points(end, V)
    assert [END_LABELS[c] for c in codes.tolist()] == ["spurious", "global", "saddle", "not converged"]
    assert float(lam[0]) == pytest.approx(0.0047004, abs=1e-6)
    assert float(lam[2]) == pytest.approx(-0.02296, abs=1e-4)
    assert math.isnan(float(lam[1])) and math.isnan(float(lam[3]))  # no Hessian needed there


def test_descend_and_width_sweep_statistics():
    """A tiny ReLU sweep (V = I_3, n in {2, 3, 6}, 12 runs): counts, fractions, intervals and risks are consistent."""
    V = make_teacher("ss", 3)
    rows = width_sweep(V, (2, 3, 6), 12, generator=torch.Generator().manual_seed(0), max_iter=5000)
    assert [r.n for r in rows] == [2, 3, 6]
    for row in rows:
        assert row.runs == 12 and len(row.risks) == 12
        assert set(row.counts) == set(END_LABELS)
        assert sum(row.counts.values()) == 12
        nbad = row.counts["spurious"] + row.counts["saddle"] + row.counts["not converged"]
        assert row.bad_fraction == nbad / 12
        assert row.spurious_fraction == row.counts["spurious"] / 12
        assert row.bad_ci == wilson_interval(nbad, 12)
        assert row.bad_ci[0] <= row.bad_fraction <= row.bad_ci[1]
        assert row.max_bad_risk >= row.median_bad_risk >= 0
        assert sum(r < 1e-3 for r in row.risks) == row.counts["global"]  # global <=> risk below 1e-3
        bad_risks = [r for r in row.risks if r >= 1e-3]
        assert row.max_bad_risk == (max(bad_risks) if bad_risks else 0.0)
        assert row.bad_risks == sorted({round(r, 6) for r in bad_risks})
        assert len(row.labels) == 12 and {lab: row.labels.count(lab) for lab in END_LABELS} == row.counts
        spur = [r for r, lab in zip(row.risks, row.labels) if lab == "spurious"]
        assert row.max_spurious_risk == (max(spur) if spur else 0.0) <= row.max_bad_risk
        assert all(math.isfinite(r) and r >= -1e-12 for r in row.risks)
    # n = 2 < k cannot fit the teacher: every run is bad, at a risk well above the threshold
    narrow = rows[0]
    assert narrow.counts["global"] == 0 and narrow.bad_fraction == 1.0
    assert narrow.median_bad_risk > 1e-2 and narrow.counts["spurious"] > 0
    assert rows[2].counts["global"] > 0  # the wide student reaches the teacher on some runs


def test_descend_then_label_matches_thresholds(device):
    """Runs labelled global end below 1e-3 and the rest above; converged runs have gradient <= tol."""
    V = make_teacher("ss", 3, device=device)
    W0 = xavier_init(12, 4, 3, generator=torch.Generator(device).manual_seed(5))
    end = descend(W0, V, max_iter=5000)
    assert end.W.shape == W0.shape and end.risk.shape == (12,)
    assert end.W.device == end.risk.device == W0.device == V.device
    codes, lam = label_end_points(end, V)
    glob = codes == 0
    assert bool((end.risk[glob] < 1e-3).all()) and bool((end.risk[~glob] >= 1e-3).all())
    assert bool((end.grad_norm[end.converged] <= 1e-6).all())
    assert bool(((codes == 3) == ((end.risk >= 1e-3) & ~end.converged)).all())
    assert bool((lam[codes == 1] > 0).all()) and bool((lam[codes == 2] <= 0).all())
    torch.testing.assert_close(end.risk, vl.relu_population_risk(end.W, V), rtol=1e-10, atol=1e-14)


def test_descend_erf_decreases_the_risk():
    """Gradient descent on the erf risk (k=2, n=3, 4 runs) returns finite risks no higher than the start."""
    V = make_teacher("random", 2, generator=torch.Generator().manual_seed(1))
    W0 = xavier_init(4, 3, 2, generator=torch.Generator().manual_seed(2))
    start = gaussian_risk(W0, V, activation="erf")
    end = descend(W0, V, activation="erf", max_iter=2000)
    assert end.risk.shape == (4,)
    assert bool(torch.isfinite(end.risk).all())
    assert bool((end.risk <= start).all()), (start, end.risk)
    assert bool((end.risk < 0.5 * start).all())  # and by a real margin
    torch.testing.assert_close(end.risk, gaussian_risk(end.W, V, activation="erf"), rtol=1e-8, atol=1e-12)
    codes, _ = label_end_points(end, V, activation="erf")
    assert codes.shape == (4,) and bool(((codes >= 0) & (codes <= 3)).all())
    with pytest.raises(ValueError, match="activation"):
        descend(W0, V, activation="tanh")


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_low_risk_explorer_builds_headless_and_updates(activation):
    """The explorer builds without a front end; update() returns the runs and the random-features levels."""
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from valleylib.widgets import low_risk_explorer

    ex = low_risk_explorer(activation, k=2, n=3, runs=4, run_now=False)
    assert ex.last == {}
    last = ex.update()
    assert last["activation"] == activation and len(last["risks"]) == 4
    assert 0 <= last["bad_fraction"] <= 1 and last["rf_error"] > 0
    assert (last["rf_nonneg"] is not None) == (activation == "relu")
    with pytest.raises(ValueError, match="activation"):
        low_risk_explorer("tanh", run_now=False)


def test_erf_labels_use_the_exact_hessian():
    """The batched erf Hessian of label_end_points equals a per-run autograd Hessian of gaussian_risk."""
    g = torch.Generator().manual_seed(0)
    V = torch.eye(3, dtype=f64)
    W = torch.randn(5, 4, 3, dtype=f64, generator=g)
    end = Descent(W, gaussian_risk(W, V, activation="erf"), torch.zeros(5, dtype=f64),
                     torch.ones(5, dtype=torch.bool), torch.zeros(5, dtype=torch.long))
    codes, lam = label_end_points(end, V, activation="erf")
    ref = torch.stack([
        torch.linalg.eigvalsh(torch.autograd.functional.hessian(lambda w: gaussian_risk(w, V, activation="erf"), Wi).reshape(12, 12))[0]
        for Wi in W
    ])
    torch.testing.assert_close(lam, ref, rtol=1e-10, atol=1e-12)
    assert torch.equal(codes, torch.where(ref > 0, 1, 2))
