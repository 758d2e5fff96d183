
import numpy as np
import pytest
import torch

from valleylib.landscape import grid_evaluate, sublevel_components
from valleylib.scorecard import (
    FWER_LEVEL,
    Check,
    FractionComparison,
    check_close,
    check_true,
    compare_fractions,
    fisher_exact,
    format_scorecard,
    fraction_family,
    holm_adjusted,
)


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


def test_fisher_exact_by_hand_and_against_scipy():
    # n1 = n2 = 2, t = 2: P(X1 = 0, 1, 2) = 1/6, 4/6, 1/6
    assert fisher_exact(2, 2, 0, 2) == pytest.approx(1 / 3, rel=1e-12)
    assert fisher_exact(1, 2, 1, 2) == pytest.approx(1.0)
    # n1 = n2 = 3, t = 3: P = 1/20, 9/20, 9/20, 1/20
    assert fisher_exact(3, 3, 0, 3) == pytest.approx(0.1, rel=1e-12)
    assert fisher_exact(0, 5, 0, 7) == 1.0 and fisher_exact(5, 5, 7, 7) == 1.0
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(300):
        n1, n2 = int(rng.integers(1, 400)), int(rng.integers(1, 1200))
        x2 = int(rng.integers(0, n2 + 1))
        x1 = int(np.clip(round(x2 / n2 * n1) + rng.integers(-8, 9), 0, n1)) if rng.random() < 0.7 else int(rng.integers(0, n1 + 1))
        ref = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
        assert fisher_exact(x1, n1, x2, n2) == pytest.approx(ref, rel=1e-9, abs=1e-300), (x1, n1, x2, n2)


def test_fisher_exact_bad_input():
    with pytest.raises(ValueError, match="x1=5"):
        fisher_exact(5, 4, 1, 10)
    with pytest.raises(ValueError, match="n2=0"):
        fisher_exact(1, 4, 0, 0)
    with pytest.raises(ValueError, match="x2=1.5"):
        fisher_exact(1, 4, 1.5, 10)


def test_holm_adjusted_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, max(0.03, 2*0.03), max(0.06, 1*0.04)
    assert holm_adjusted([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjusted([0.5, 0.6]) == [1.0, 1.0] and holm_adjusted([]) == []
    with pytest.raises(ValueError, match="p_values"):
        holm_adjusted([0.1, 1.2])


def test_fraction_family_decides_na_from_the_numbers():
    src = "paper"
    # 0 of 12 against 126 of 1000 cannot be told from a faithful 12.6%: n/a, and a small N says so
    small = compare_fractions("small", src, (0, 12), (126, 1000))
    assert small.passed is None and "n/a: too few runs" in small.claim
    # 0 of 300 against 126 of 1000 is decided, and fails
    large = compare_fractions("large", src, (0, 300), (126, 1000))
    assert large.passed is False and large.p_value < 1e-10
    # 3 of 1000 published: 0 of 300 is n/a, 0 of 20000 is decided (and fails)
    assert compare_fractions("a", src, (0, 300), (3, 1000)).passed is None
    assert compare_fractions("b", src, (0, 20000), (3, 1000)).passed is False
    assert compare_fractions("c", src, (60, 20000), (3, 1000)).passed is True
    # an n/a row still fails when its count is far too high
    assert compare_fractions("d", src, (10, 12), (3, 1000)).passed is False
    # the family size enters the decision: level / m
    row = FractionComparison("r", src, 37, 300, 126, 1000)
    assert fraction_family([row])[0].passed is True
    zero = FractionComparison("z", src, 0, 60, 126, 1000)  # p_zero ~ 7e-4: decided alone, not among 20
    assert fraction_family([zero])[0].passed is False
    many = fraction_family([FractionComparison(f"z{i}", src, 2, 60, 126, 1000) for i in range(20)])
    assert all(c.passed is None for c in many)
    assert all(c.p_adjusted >= c.p_value for c in many)


def test_fraction_family_count_range_must_pass_both_ways():
    src = "paper"
    ok = FractionComparison("ok", src, 38, 300, 126, 1000, count_range=(36, 38))
    assert fraction_family([ok])[0].passed is True
    wide = FractionComparison("wide", src, 38, 300, 126, 1000, count_range=(8, 38))
    assert fraction_family([wide])[0].passed is False
    with pytest.raises(ValueError, match="count_range"):
        FractionComparison("x", src, 38, 300, 126, 1000, count_range=(39, 40))
    with pytest.raises(ValueError, match="level"):
        fraction_family([ok], level=0.0)
    assert FWER_LEVEL == 0.01


def test_checks_can_fail_and_format():
    ok = check_close("x", "src", 1.0, 1.05, 0.1)
    bad = check_close("y", "src", 1.0, 1.2, 0.1)
    nan = check_close("z", "src", 1.0, float("nan"), 0.1)
    assert ok.passed and not bad.passed and not nan.passed
    assert check_true("t", "src", 3, False).passed is False
    table = format_scorecard([ok, bad, compare_fractions("f", "src", (0, 300), (126, 1000))])
    assert "FAIL" in table and "pass" in table and "p=" in table
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


def test_checks_are_found_by_key_never_by_claim_text():
    from valleylib.scorecard import Check, FractionComparison, find_checks, fraction_family, undecided

    a = Check("fraction, k=8 n=8 [5 runs hit the cap]", "s", 0.1, 0.1, None, True, key={"kind": "fraction", "k": 8})
    b = undecided(Check("risks, k=8", "s", None, [], None, True, key={"kind": "risks", "k": 8}), "nothing found")
    assert find_checks([a, b], kind="fraction") == [a] and find_checks([a, b], k=8) == [a, b]
    assert find_checks([a, b], kind="fraction", k=9) == [] and find_checks([a, b], column="all") == []
    assert b.reason == "nothing found" and b.key == {"kind": "risks", "k": 8} and b.passed is None
    assert a.headline == "fraction, k=8 n=8" and b.headline == "risks, k=8"
    with pytest.raises(ValueError, match="key"):
        find_checks([a])
    fam = fraction_family([FractionComparison("tiny", "s", 0, 3, 1, 1000, key={"kind": "fraction", "k": 1}),
                           FractionComparison("big", "s", 300, 1000, 10, 1000, key={"kind": "fraction", "k": 2})])
    assert [c.key["k"] for c in fam] == [1, 2]
    assert fam[0].passed is None and fam[0].reason.startswith("too few runs") and fam[1].passed is False
