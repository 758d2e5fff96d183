"""Every check of the introduction's scorecard can fail: each test feeds it one wrong result,
computed by a deliberately wrong computation, and asserts that the check it targets fails."""
from __future__ import annotations

import copy

import pytest
import torch

from valleylib.experiments.intro import (
    CONFIGS,
    POINTS,
    quadrant_risk,
    ring_minimum,
    risk_of_points,
    run,
    scorecard,
    sublevel_summary,
)
from valleylib.landscape import grid_evaluate
from valleylib.population import relu_population_risk

torch.set_num_threads(1)
DT = torch.float64
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def result():
    return run(CONFIGS["smoke"], device=CPU)


def failed(res) -> list:
    return [c.claim for c in scorecard(res) if not c.passed]


def test_smoke_result_passes(result):
    assert failed(result) == []


def test_quadrant_formula_matches_the_library_everywhere():
    g = torch.Generator().manual_seed(0)
    w = 4 * torch.rand(200, 2, generator=g, dtype=DT) - 2
    lib = risk_of_points(w)
    assert max(abs(float(a) - quadrant_risk(*map(float, p))) for a, p in zip(lib, w)) < 1e-12


def test_a_wrong_closed_form_fails(result):
    V = torch.tensor([[1.0], [-0.9]], dtype=DT)  # wrong teacher: |x| with -0.9 on the negative half-line
    wrong = relu_population_risk(torch.tensor(POINTS, dtype=DT).unsqueeze(-1), V).tolist()
    bad = copy.deepcopy(result)
    bad["points"]["closed_form"] = wrong
    f = failed(bad)
    assert any("quadrant formula" in c for c in f) and any("global minimum (1, -1)" in c for c in f)


@pytest.mark.parametrize("index, words", [(2, "(0.5, 0.5) is 1/4"), (3, "(0.2, 0.8)")])
def test_a_segment_that_is_not_flat_fails(result, index, words):
    bad = copy.deepcopy(result)
    bad["points"]["closed_form"][index] += 1e-3
    assert any(words in c for c in failed(bad))


def test_a_point_that_is_not_a_local_minimum_fails(result):
    bad = copy.deepcopy(result)
    bad["segment_ring_min"] = ring_minimum(risk_of_points, (1.0, 0.0))  # the segment's end: descends to (1, -1)
    assert bad["segment_ring_min"] < 0.25
    assert failed(bad) == ["(0.5, 0.5) is a local minimum: no lower risk on a ring of radius 1e-3"]


def _grid_with(extra):
    xs = torch.linspace(-2, 2, CONFIGS["smoke"].resolution, dtype=DT)
    return xs, grid_evaluate(lambda w: risk_of_points(w) + extra(w), xs, xs)


def test_a_landscape_with_a_spurious_valley_fails(result):
    # a dip of depth 0.6 at (-1.2, -1.2), where F = 0.74: a basin at risk 0.14 with no global minimum
    xs, F = _grid_with(lambda w: -0.6 * torch.exp(-((w + 1.2) ** 2).sum(-1) / 0.01))
    bad = copy.deepcopy(result)
    bad["components"] = sublevel_summary(F, xs, CONFIGS["smoke"].levels)
    assert any("spurious component" in c for c in failed(bad))


def test_sublevel_sets_that_do_not_merge_fail(result):
    # a ridge of height 0.2 along w1 = w2 separates the two global minima at every level below 0.45
    xs, F = _grid_with(lambda w: 0.2 * torch.exp(-((w[..., 0] - w[..., 1]) ** 2) / 0.02))
    bad = copy.deepcopy(result)
    bad["components"] = sublevel_summary(F, xs, CONFIGS["smoke"].levels)
    f = failed(bad)
    assert f == ["two components (one per global minimum) at the levels below 1/4, one at the levels above"], f


def test_monte_carlo_that_disagrees_fails(result):
    bad = copy.deepcopy(result)
    p = bad["points"]
    p["monte_carlo"] = [m + 5 * s for m, s in zip(p["monte_carlo"], p["monte_carlo_stderr"])]
    assert failed(bad) == ["Monte Carlo agrees with the closed form within 4 standard errors"]
