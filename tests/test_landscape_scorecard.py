import math

import numpy as np
import pytest
import torch

from valleylib.landscape import grid_evaluate, sublevel_components
from valleylib.scorecard import Check, binomial_tolerance, check_close, check_true, format_scorecard


def test_components_of_a_double_well():
    # L(x, y) = (x^2 - 1)^2 + y^2: two global minima at (+-1, 0), barrier 1 at x = 0.
    xs = torch.linspace(-2, 2, 81, dtype=torch.float64)
    L = grid_evaluate(lambda p: (p[:, 0] ** 2 - 1) ** 2 + p[:, 1] ** 2, xs, xs)
    assert sublevel_components(L, 0.5).count == 2
    assert sublevel_components(L, 1.5).count == 1
    assert sublevel_components(L, 0.5).spurious == ()


def test_spurious_component_detected():
    # Tilted double well: the right well (min 0.3) is spurious below the barrier.
    xs = torch.linspace(-2, 2, 81, dtype=torch.float64)
    L = grid_evaluate(lambda p: (p[:, 0] ** 2 - 1) ** 2 + 0.15 * (p[:, 0] + 1) + p[:, 1] ** 2, xs, xs)
    comp = sublevel_components(L, 0.5)
    assert comp.count == 2 and len(comp.spurious) == 1
    assert comp.minima[comp.spurious[0]] == pytest.approx(0.3, abs=0.01)


def test_grid_layout_matches_meshgrid():
    xs = torch.tensor([0.0, 1.0, 2.0])
    ys = torch.tensor([10.0, 20.0])
    G = grid_evaluate(lambda p: p[:, 0] + p[:, 1], xs, ys)
    assert G.shape == (2, 3) and float(G[1, 2]) == 22.0  # row = y, column = x


def test_components_bad_input():
    with pytest.raises(ValueError, match="values: expected a 2-D grid"):
        sublevel_components(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="values: contains NaN"):
        sublevel_components(np.array([[np.nan]]), 1.0)
    with pytest.raises(ValueError, match="global_mask: expected shape"):
        sublevel_components(np.zeros((2, 2)), 1.0, np.zeros((3, 3), bool))


def test_binomial_tolerance():
    assert binomial_tolerance(0.126, 1000) == pytest.approx(3 * math.sqrt(0.126 * 0.874 / 1000))
    assert binomial_tolerance(0.0, 50) == pytest.approx(1 / 50)  # widened to one run
    with pytest.raises(ValueError, match="p=1.5"):
        binomial_tolerance(1.5, 10)
    with pytest.raises(ValueError, match="runs=0"):
        binomial_tolerance(0.5, 0)


def test_checks_can_fail_and_format():
    ok = check_close("x", "src", 1.0, 1.05, 0.1)
    bad = check_close("y", "src", 1.0, 1.2, 0.1)
    nan = check_close("z", "src", 1.0, float("nan"), 0.1)
    assert ok.passed and not bad.passed and not nan.passed
    assert check_true("t", "src", 3, False).passed is False
    table = format_scorecard([ok, bad])
    assert "NO" in table and "yes" in table
    assert ok.to_dict()["pass"] is True and "passed" not in ok.to_dict()
    assert isinstance(ok, Check)


def test_undecided_checks_do_not_fail_a_report_but_failures_do():
    from valleylib.experiments import Report
    from valleylib.scorecard import undecided

    ok = check_true("a", "src", 1, True)
    nd = undecided(check_true("b", "src", 1, False), "2 pairs")
    bad = check_true("c", "src", 1, False)
    assert nd.passed is None and "[n/a: 2 pairs]" in nd.claim
    assert "n/a" in format_scorecard([nd])
    mk = lambda checks: Report("x", "smoke", "cpu", None, {}, checks, 0.0)
    assert mk([ok, nd]).passed and not mk([ok, nd, bad]).passed
    assert nd.to_dict()["pass"] is None
