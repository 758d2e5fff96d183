"""Every scorecard entry of the low-risk, Venturi and Freeman-Bruna reproductions can fail.

Each scorecard is fed a crafted result that passes, then, for every entry, a deliberately wrong one
(a slope of the wrong rate, bad points at high risk, a path that jumps, a spike that never falls,
...) and must fail exactly there. No experiment is run, except the Venturi negative example with a
deliberately wrong risk (small sizes), which shows that the checks implied by the proof do test
the code.
"""
import copy
import dataclasses
import math

import pytest
import torch

from valleylib.experiments import freeman_bruna, low_risk, venturi
from valleylib.lowrisk import power_law_slopes, slope_test


def verdicts(checks, word):
    """The verdicts of the checks whose claim contains ``word``."""
    found = [c.passed for c in checks if word in c.claim]
    assert found, f"no check mentions {word!r}: {[c.claim for c in checks]}"
    return found


def assert_only_failure(scorecard, result, word):
    """``word``'s check fails and every other check passes or is n/a."""
    checks = scorecard(result)
    bad = [c.claim for c in checks if c.passed is False]
    assert bad and all(word in c for c in bad), (word, bad)


# ----------------------------------------------------------------------------------------- low risk


def _rf(act, d, slope, se=0.01, first=-2.0, last=None):
    gm = [0.1 * 2.0 ** (-j) for j in range(6)]
    return {"p": [16 * 2**j for j in range(6)], "geomean": gm, "slope": slope, "slope_se": se, "slope_z": 3.0,
            "fit_from": 64, "derived_relu_slope": -3 / (d - 1), "slope_first": first,
            "slope_last": slope if last is None else last}


def _row(n, bad, runs=100, max_bad=0.0, spurious=None):
    spurious = bad if spurious is None else spurious
    return {"n": n, "runs": runs, "bad_fraction": bad / runs, "max_bad_risk": max_bad,
            "counts": {"global": runs - bad, "spurious": spurious, "saddle": 0, "not converged": bad - spurious},
            "max_spurious_risk": max_bad if spurious else 0.0}


def low_risk_good():
    return {
        "random_features": {
            "relu": {"3": _rf("relu", 3, -1.55, 0.05), "8": _rf("relu", 8, -0.54, 0.01)},
            "erf": {"3": _rf("erf", 3, -3.0, first=-1.8, last=-4.0), "8": _rf("erf", 8, -1.0, first=-0.6, last=-1.5)},
        },
        "width_sweep": {
            "ss": [_row(8, 30, max_bad=0.06), _row(9, 5, max_bad=0.02), _row(16, 0), _row(32, 0)],
            "random": [_row(8, 40, max_bad=0.08), _row(9, 10, max_bad=0.03), _row(16, 1, max_bad=0.01), _row(32, 0)],
        },
        "random_starts": {f: [{"n": 8, "path_excess": 1e-15, "certified": 0.0},
                              {"n": 32, "path_excess": 2e-15, "certified": 0.97}] for f in ("ss", "random")},
        "safran_shamir_rows": [{"k": 8, "n": 8, "count": 40, "runs": 300, "published_count": 126,
                                "published_runs": 1000}],
    }


def test_low_risk_good_result_passes():
    checks = low_risk.scorecard(low_risk_good())
    assert all(c.passed for c in checks), [(c.claim, c.passed) for c in checks]


@pytest.mark.parametrize("mutate, word", [
    (lambda r: r["random_features"]["relu"]["3"].update(geomean=[0.1, 0.05, 0.06, 0.01, 0.005, 0.001]), "relu, d=3: random-features error decreases"),
    (lambda r: r["random_features"]["erf"]["8"].update(geomean=[0.1, 0.1, 0.05, 0.01, 0.005, 0.001]), "erf, d=8: random-features error decreases"),
    # the generic Monte Carlo rate -1 instead of -3/(d-1): rejected at d = 8 and at d = 3
    (lambda r: r["random_features"]["relu"]["8"].update(slope=-1.0), "relu, d=8: fitted slope"),
    (lambda r: r["random_features"]["relu"]["3"].update(slope=-1.02), "relu, d=3: fitted slope"),
    # between the two rates, but nearer -1
    (lambda r: r["random_features"]["relu"]["3"].update(slope=-1.2, slope_se=0.08), "relu, d=3: fitted slope"),
    (lambda r: r["random_features"]["erf"]["3"].update(slope_last=-1.5), "erf, d=3: faster than a power law"),
    (lambda r: r["width_sweep"]["ss"][2].update(bad_fraction=0.2, max_bad_risk=0.01), "ss: fraction of runs ending at risk >= 1e-3 non-increasing"),
    # an engine whose bad fraction does not fall with width
    (lambda r: [row.update(bad_fraction=0.4, max_bad_risk=0.01 if row["n"] > 8 else 0.08,
                           max_spurious_risk=0.01 if row["n"] > 8 else 0.08, counts={"spurious": 40})
                for row in r["width_sweep"]["random"]], "random: fewer runs end"),
    # spurious points at high risk at a larger width
    (lambda r: r["width_sweep"]["ss"][1].update(max_bad_risk=0.5, max_spurious_risk=0.5), "ss: every spurious end point at n > 8"),
    (lambda r: r["random_starts"]["ss"][0].update(path_excess=1e-3), "ss: our path never rises"),
    (lambda r: r["random_starts"]["random"][1].update(certified=0.8), "random: at n=32 at least 90%"),
    (lambda r: r["safran_shamir_rows"][0].update(count=5), "Safran-Shamir (k, n) = (8, 8)"),
])
def test_low_risk_each_check_can_fail(mutate, word):
    result = copy.deepcopy(low_risk_good())
    mutate(result)
    assert_only_failure(low_risk.scorecard, result, word)


def test_low_risk_checks_without_evidence_are_na():
    """d = 4 (the derived rate is the Monte Carlo rate), a noisy slope, and sweeps without bad runs: n/a."""
    r = copy.deepcopy(low_risk_good())
    r["random_features"]["relu"]["4"] = _rf("relu", 4, -1.0, 0.001)
    r["random_features"]["erf"]["4"] = _rf("erf", 4, -2.0, first=-1.0, last=-3.0)
    r["random_features"]["relu"]["3"].update(slope_se=0.1)  # 2 * 3 * 0.1 > 0.5 = |-1.5 - (-1)|
    r["width_sweep"]["ss"] = [_row(4, 0), _row(5, 0), _row(8, 0)]
    r["width_sweep"]["random"] = [_row(4, 2, max_bad=0.05), _row(5, 0), _row(8, 0)]
    checks = low_risk.scorecard(r)
    assert verdicts(checks, "relu, d=4: fitted slope") == [None]
    assert verdicts(checks, "relu, d=3: fitted slope") == [None]
    assert verdicts(checks, "ss: fraction of runs") == [None]  # nothing could rise
    assert verdicts(checks, "ss: fewer runs end") == [None]
    assert verdicts(checks, "ss: every spurious end point") == [None]
    assert verdicts(checks, "random: fewer runs end") == [None]  # 2/100 vs 0/100 cannot reach p < 0.01
    assert verdicts(checks, "random: every spurious end point") == [None]  # no bad run above n = k
    assert all(c.passed is not False for c in checks)


def test_low_risk_a_stall_above_the_spurious_points_is_not_a_valley():
    """A run stopped by the iteration cap at a high risk (as at default: random teacher, n = 9) is not a
    spurious end point: the "lower" check ignores it (n/a), while a spurious one there fails it."""
    r = copy.deepcopy(low_risk_good())
    r["width_sweep"]["random"] = [_row(8, 8, max_bad=0.0072), _row(9, 1, max_bad=0.0185, spurious=0), _row(32, 0)]
    assert verdicts(low_risk.scorecard(r), "random: every spurious end point") == [None]
    r["width_sweep"]["random"][1] = _row(9, 1, max_bad=0.0185)
    assert verdicts(low_risk.scorecard(r), "random: every spurious end point") == [False]


def test_slope_statistics_closed_form():
    """Per-draw slopes of exact power laws, their mean and standard error; the slope test's cases."""
    p = [8, 16, 32, 64]
    E = torch.tensor([[x ** -1.5 for x in p], [x ** -0.5 for x in p], [3 * x ** -1.0 for x in p]], dtype=torch.float64)
    out = power_law_slopes(p, E)
    assert out["per_draw"] == pytest.approx([-1.5, -0.5, -1.0], abs=1e-12)
    assert out["slope"] == pytest.approx(-1.0, abs=1e-12)
    assert out["se"] == pytest.approx(0.5 / math.sqrt(3), abs=1e-12)
    with pytest.raises(ValueError, match="errors"):
        power_law_slopes(p, -E)
    with pytest.raises(ValueError, match="p, errors"):
        power_law_slopes(p[:3], E)
    t = slope_test(-1.5, 0.05, 3)
    assert t["decidable"] and t["passed"] and t["resolution"] == pytest.approx(0.15)
    assert slope_test(-1.0, 0.05, 3)["passed"] is False  # the Monte Carlo rate itself
    assert slope_test(-1.5, 0.1, 3)["passed"] is None  # 0.5 apart, resolution 0.3: cannot tell
    assert slope_test(-1.0, 1e-4, 4)["passed"] is None  # the two rates coincide at d = 4
    assert slope_test(float("nan"), 0.1, 3)["passed"] is None


def test_fisher_one_sided():
    """Against the hypergeometric tail by hand, and the counts' validation."""
    assert low_risk.fisher_one_sided(3, 3, 0, 3) == pytest.approx(1 / 20)
    assert low_risk.fisher_one_sided(30, 100, 0, 100) < 1e-9
    assert low_risk.fisher_one_sided(2, 100, 0, 100) > 0.2
    with pytest.raises(ValueError, match="x1"):
        low_risk.fisher_one_sided(-1, 3, 0, 3)
    with pytest.raises(ValueError, match="counts"):
        low_risk.fisher_one_sided(4, 3, 0, 3)


# ------------------------------------------------------------------------------------------ Venturi


def venturi_good():
    neg = {"bad_point_risk": 1.125, "bad_point_risk_closed_form": 1.125, "good_point_risk": 0.5,
           "good_point_risk_closed_form": 0.5, "global_minimum_risk": 0.154, "proven_barrier": 1.2046,
           "gd_final_risk_from_bad_point": 1.127, "lowest_barrier": 1.28, "random_start_min_risk": 0.154,
           "random_starts_in_valley": 3, "random_start_final_risks": [0.154] * 9 + [1.13] * 3}
    return {
        "intrinsic_dimension": [{"activation": "quadratic", "n": 3, "exact": 6, "estimated": 6},
                                {"activation": "cubic", "n": 3, "exact": 13, "estimated": 13}],
        "rank_growth": {"n": 4, "curves": {a: {"sizes": [25, 200], "rank": [25, 190]} for a in venturi.NONPOLYNOMIALS}},
        "overparam_sweep": {"dim_star": 6, "datasets": {"a": {"rows": [{"width": 3, "success_fraction": 0.2},
                                                                        {"width": 6, "success_fraction": 1.0}]}}},
        "descent_path": {"risk": [1.0, 0.5, 0.2, 0.1], "global_minimum": 0.1},
        "empirical": {"path": {"risk": [1.0, 0.3, 0.0]}},
        "negative_example": neg,
    }


def test_venturi_good_result_passes():
    checks = venturi.scorecard(venturi_good())
    assert all(c.passed for c in checks), [(c.claim, c.passed) for c in checks]


@pytest.mark.parametrize("mutate, word", [
    (lambda r: r["intrinsic_dimension"][1].update(estimated=12), "numerical rank equals the exact dim*"),  # a rank one too low
    (lambda r: r["rank_growth"]["curves"]["erf"].update(rank=[25, 40]), "keeps growing"),
    (lambda r: r["overparam_sweep"]["datasets"]["a"]["rows"][1].update(success_fraction=0.9), "success fraction"),
    (lambda r: r["descent_path"].update(risk=[1.0, 0.5, 0.6, 0.1]), "the constructive path is non-increasing"),
    (lambda r: r["descent_path"].update(risk=[1.0, 0.5, 0.2, 0.11]), "ends at the function-space minimum"),
    (lambda r: r["empirical"]["path"].update(risk=[1.0, 0.3, 1e-3]), "ReLU, width = N samples"),
    (lambda r: r["negative_example"].update(bad_point_risk=1.0), "bad point risk"),
    (lambda r: r["negative_example"].update(good_point_risk=0.6), "good point risk"),
    (lambda r: r["negative_example"].update(gd_final_risk_from_bad_point=0.56), "GD from the perturbed bad point"),
    (lambda r: r["negative_example"].update(lowest_barrier=1.125), "rise above the proven barrier"),  # a path that jumps
    (lambda r: r["negative_example"].update(random_start_min_risk=0.5), "reaches a risk below alpha^2/8"),
    (lambda r: r["negative_example"].update(random_starts_in_valley=0), "certified inside a spurious valley"),
])
def test_venturi_each_check_can_fail(mutate, word):
    result = copy.deepcopy(venturi_good())
    mutate(result)
    assert_only_failure(venturi.scorecard, result, word)


def _linear_last(W, a, alpha, beta):
    """A wrong risk: the last input coordinate enters linearly (the ReLU on it forgotten). It equals
    the right risk at the bad point, whose last coordinates are 0, so only the descent can tell."""
    from valleylib.empirical import relu_valley_risk

    W0 = W.clone()
    W0[..., -1] = 0
    A = (a * W[..., -1]).sum(-1)
    return relu_valley_risk(W0, a, alpha, beta) + 0.25 * (0.5 * ((A + beta) ** 2 + A**2) - 0.5 * beta**2)


def test_venturi_proof_implied_checks_catch_a_wrong_risk():
    """With a risk that forgets one ReLU, descent leaves the valley and the path finders cross below
    the barrier: the two checks implied by the proof fail, so they do test the code."""
    cfg = dataclasses.replace(venturi.CONFIGS["smoke"], neg_runs=4, neg_iters=400, string_images=9, string_iters=30)
    neg = venturi.negative_example(cfg, torch.Generator().manual_seed(0), "cpu", False, risk=_linear_last)
    assert neg["bad_point_risk"] == pytest.approx(9 / 8, abs=1e-12)  # the closed-form check alone cannot see it
    result = {**venturi_good(), "negative_example": neg}
    checks = venturi.scorecard(result)
    assert verdicts(checks, "GD from the perturbed bad point") == [False]
    assert verdicts(checks, "rise above the proven barrier") == [False]
    assert verdicts(checks, "bad point risk") == [True]


# ------------------------------------------------------------------------------------ Freeman-Bruna


def _poly(rows):
    return [{"L0": l0, "pairs": 4, "connected_fraction": 1.0, "mean_normalized_length": v, "mean_beads": b}
            for l0, v, b in rows]


def fb_good():
    return {
        "polynomial": {"quadratic": _poly([(0.01, 1.8, 20), (0.1, 1.2, 4)]),
                       "cubic": _poly([(0.15, 1.6, 3), (0.158, 2.3, 3), (0.164, 1.5, 3), (0.168, 1.05, 3), (0.3, 1.0, 2)])},
        "width_sweep": [{"width": 3, "pairs": 4, "connected_fraction": 1.0, "mean_normalized_length": 1.5},
                        {"width": 24, "pairs": 4, "connected_fraction": 1.0, "mean_normalized_length": 1.05}],
        "teacher": {"k": 3},
        "disconnection": {"relu": {"levels": [{"L0": 0.1}]}, "linear": {"levels": [{"L0": 0.1}]},
                          "connected": False, "linear_connected": True},
        "comparison": {"rows": [{"method": "line", "mean_max_loss": 1.0}, {"method": "neb", "mean_max_loss": 0.1},
                                {"method": "bezier", "mean_max_loss": 0.2}]},
    }


def test_freeman_bruna_scorecard_can_fail():
    """The good result passes; a connected counterexample, flat lengths and no cubic spike fail."""
    from valleylib.experiments.freeman_bruna import scorecard

    poly = _poly
    good = fb_good()
    assert all(c.passed for c in scorecard(good))
    bad = {**good, "disconnection": {**good["disconnection"], "connected": True},
           "polynomial": {"quadratic": poly([(0.01, 1.1, 20), (0.1, 1.2, 4)]), "cubic": poly([(0.158, 1.2, 3)])}}
    failed = [c.claim for c in scorecard(bad) if not c.passed]
    assert any("counterexample" in c for c in failed) and any("normalized length at the largest" in c for c in failed)
    assert any("cubic" in c for c in failed)
    # With fewer than three pairs per level a trend is undecided (n/a), not passed and not failed.
    few = {**bad, "polynomial": {**bad["polynomial"], "quadratic": [dict(r, pairs=2) for r in bad["polynomial"]["quadratic"]]}}
    trend = [c for c in scorecard(few) if "normalized length at the largest" in c.claim]
    assert len(trend) == 1 and trend[0].passed is None



def test_freeman_bruna_good_result_passes():
    checks = freeman_bruna.scorecard(fb_good())
    assert all(c.passed for c in checks), [(c.claim, c.passed) for c in checks]


def _set_cubic(r, rows):
    r["polynomial"]["cubic"] = _poly(rows)


@pytest.mark.parametrize("mutate, word", [
    (lambda r: r["polynomial"]["quadratic"][1].update(mean_normalized_length=1.9), "quadratic: normalized length"),
    (lambda r: r["polynomial"]["quadratic"][1].update(mean_beads=25), "quadratic: fewer beads"),
    # no spike at all; a spike with too many beads
    (lambda r: _set_cubic(r, [(0.15, 1.2, 3), (0.158, 1.3, 3), (0.168, 1.05, 3)]), "cubic: normalized length spikes"),
    (lambda r: _set_cubic(r, [(0.158, 2.3, 9), (0.168, 1.05, 3)]), "cubic: normalized length spikes"),
    # a spike that never falls (both drop checks fail), one that falls later than the paper's,
    # and a configuration without a level to see the drop
    (lambda r: _set_cubic(r, [(0.158, 2.3, 3), (0.168, 2.1, 3), (0.3, 1.9, 2)]), "cubic: "),
    (lambda r: _set_cubic(r, [(0.164, 2.9, 3), (0.168, 2.7, 3), (0.17, 2.4, 3), (0.2, 1.01, 2)]), "cubic: fallen back"),
    (lambda r: _set_cubic(r, [(0.158, 2.3, 3), (0.162, 1.9, 3)]), "cubic: "),
    (lambda r: r["polynomial"]["quadratic"][0].update(connected_fraction=0.75), "polynomials: every pair"),
    (lambda r: r["width_sweep"][1].update(mean_normalized_length=1.6), "width sweep: normalized length"),
    (lambda r: r["width_sweep"][1].update(connected_fraction=0.5), "width sweep: all pairs"),
    (lambda r: r["disconnection"].update(connected=True), "counterexample"),
    (lambda r: r["disconnection"].update(linear_connected=False), "linear network"),
    (lambda r: r["comparison"]["rows"][1].update(mean_max_loss=1.2), "NEB and Bezier"),
])
def test_freeman_bruna_each_check_can_fail(mutate, word):
    result = copy.deepcopy(fb_good())
    mutate(result)
    assert_only_failure(freeman_bruna.scorecard, result, word)


def test_freeman_bruna_drop_checks_separately():
    """A spike that never falls fails the shape check; one that falls late fails only the location check."""
    r = copy.deepcopy(fb_good())
    _set_cubic(r, [(0.158, 2.3, 3), (0.168, 2.1, 3), (0.3, 1.9, 2)])
    checks = freeman_bruna.scorecard(r)
    assert verdicts(checks, "falls back to at most") == [False] and verdicts(checks, "fallen back") == [False]
    _set_cubic(r, [(0.164, 2.9, 3), (0.168, 2.7, 3), (0.17, 2.4, 3), (0.2, 1.01, 2)])
    checks = freeman_bruna.scorecard(r)
    assert verdicts(checks, "falls back to at most") == [True] and verdicts(checks, "fallen back") == [False]
    _set_cubic(r, [(0.158, 2.3, 3), (0.162, 1.9, 3)])
    assert verdicts(freeman_bruna.scorecard(r), "to see the drop") == [False]
