"""Every check of the linear experiment's scorecard can fail: each test feeds it one wrong result,
computed where possible by a deliberately wrong computation, and asserts that exactly that check
fails (and that the correct smoke result passes)."""
from __future__ import annotations

import copy

import pytest
import torch

from valleylib.experiments.linear import (
    CONFIGS,
    naive_path,
    path_record,
    random_instance,
    run,
    scorecard,
)
from valleylib.linear import (
    classify,
    classify_shallow,
    critical_points,
    flip_hidden_unit,
    global_minimum_value,
    pack,
    random_global_minimum,
    saddle_curvature_bound,
    shallow_hessian,
    shallow_loss_grad,
)

torch.set_num_threads(1)
DT = torch.float64
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def result():
    return run(CONFIGS["smoke"], device=CPU, progress=False)


def failed(res) -> list:
    return [c.claim for c in scorecard(res) if not c.passed]


def only_fails(res, words: str):
    bad = failed(res)
    assert len(bad) == 1 and words in bad[0], bad


@pytest.fixture(scope="module")
def instance():
    g = torch.Generator().manual_seed(1)
    X, Y = random_instance(4, 3, 10, g, CPU)
    return X, Y, 2, critical_points(X, Y, 2)


def test_smoke_result_passes(result):
    assert failed(result) == []
    cp = result["critical_points"]
    assert cp["count"] == cp["global"] + cp["strict_saddles"]


def test_points_that_are_not_critical_fail(result, instance):
    X, Y, d1, cp = instance
    cl = classify_shallow(cp.W1 * 1.001, cp.W2, X, Y)  # a wrong enumeration: W1 off by 0.1 %
    bad = copy.deepcopy(result)
    bad["critical_points"]["not_critical"] = cl.counts()["not critical"]
    bad["critical_points"]["max_grad_norm"] = float(cl.grad_norm.max())
    assert cl.counts()["not critical"] > 0
    assert "every enumerated point is critical" in failed(bad)[0]


def test_global_value_of_a_rank_one_too_low_fails(result, instance):
    X, Y, d1, cp = instance
    loss, g1, g2 = shallow_loss_grad(cp.W1, cp.W2, X, Y)
    cl = classify(shallow_hessian(cp.W1, cp.W2, X, Y), loss, pack(g1, g2).norm(dim=-1),
                  global_minimum_value(X, Y, d1 - 1))  # Eckart-Young at rank d1 - 1
    bad = copy.deepcopy(result)
    bad["critical_points"]["global"] = cl.counts()["global minimum"]
    bad["critical_points"]["global_closed_form"] = int(cp.is_global.sum())
    only_fails(bad, "closed-form risk")


def test_a_saddle_whose_hessian_has_no_negative_eigenvalue_fails(result, instance):
    X, Y, d1, cp = instance
    loss, g1, g2 = shallow_loss_grad(cp.W1, cp.W2, X, Y)
    H = shallow_hessian(cp.W1, cp.W2, X, Y)
    lam = torch.linalg.eigvalsh(H)[:, 0]
    H_psd = H - lam.clamp(max=0).view(-1, 1, 1) * torch.eye(H.shape[-1], dtype=DT)  # wrong: shifted to PSD
    cl = classify(H_psd, loss, pack(g1, g2).norm(dim=-1), cp.global_value)
    c = cl.counts()
    bad = copy.deepcopy(result)
    bad["critical_points"].update(strict_saddles=c["strict saddle"], non_strict_saddles=c["non-strict saddle"],
                                  saddle_min_eig_max=float(cl.min_eig[~cp.is_global].max()))
    assert c["non-strict saddle"] > 0
    only_fails(bad, "strict saddle")


def test_a_bound_that_is_too_strong_fails(result, instance):
    X, Y, d1, cp = instance
    sad = ~cp.is_global
    lam = classify_shallow(cp.W1, cp.W2, X, Y).min_eig[sad]
    wrong = 3.0 * saddle_curvature_bound(cp.W1, cp.W2, X, Y)[sad]  # wrong: three times the bound
    bad = copy.deepcopy(result)
    bad["critical_points"]["bound_violations"] = int((lam - wrong > 1e-9).sum())
    assert bad["critical_points"]["bound_violations"] > 0
    only_fails(bad, "point-dependent bound")


def test_curvature_decaying_like_one_over_c_fails(result):
    bad = copy.deepcopy(result)
    bad["orbit"]["slope_large_c"] = -1.0
    only_fails(bad, "c^-2")


def test_gradient_descent_stopped_early_fails(result):
    bad = copy.deepcopy(result)
    bad["gd"]["success_fraction"] = 31 / 32  # one run of the smoke batch stuck on a plateau
    only_fails(bad, "GD success")


def test_a_nonzero_hessian_at_the_deep_origin_fails(result):
    bad = copy.deepcopy(result)
    bad["deep"]["hessian_abs_max"] = 1e-3
    only_fails(bad, "deep linear")


def _pair(shape, seed):
    d0, d1, d2, N = shape
    g = torch.Generator().manual_seed(seed)
    X, Y = random_instance(d0, d2, N, g, CPU)
    return X, Y, random_global_minimum(X, Y, d1, generator=g), flip_hidden_unit(*random_global_minimum(X, Y, d1, generator=g))


def test_a_path_that_leaves_the_minima_fails(result):
    X, Y, a, b = _pair((3, 4, 2, 12), 2)

    def segment(ts):  # the straight segment: continuous, but not a path of global minima
        t = ts.view(-1, 1, 1)
        return (1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]

    bad = copy.deepcopy(result)
    bad["paths"][0] = path_record(X, Y, a, b, segment, 129)
    only_fails(bad, "stays at f*")


def test_a_path_that_jumps_fails(result):
    X, Y, a, b = _pair((4, 2, 2, 12), 3)  # d1 = d2
    if float(torch.linalg.det(a[1]) * torch.linalg.det(b[1])) > 0:
        b = flip_hidden_unit(*b)
    rec = path_record(X, Y, a, b, naive_path(X, Y, a, b, torch.zeros(2, 2, dtype=DT)), 129)
    assert rec["loss_gap"] < 1e-10  # the loss on the grid cannot see it
    bad = copy.deepcopy(result)
    bad["paths"][0] = rec
    only_fails(bad, "is continuous")


def test_a_continuity_check_blind_to_the_singular_crossing_fails(result):
    X, Y, a, _ = _pair((4, 2, 2, 12), 4)
    b = (a[0] / 2, a[1] * 2)  # same orientation: W2(t) = (1 + t) W2(0) stays invertible
    rec = path_record(X, Y, a, b, naive_path(X, Y, a, b, torch.zeros(2, 2, dtype=DT)), 129)
    rec.update(det_start=1.0, det_end=-1.0)  # a result claiming the crossing, with a continuous path
    bad = copy.deepcopy(result)
    bad["naive_path"] = rec
    only_fails(bad, "rejects the same formula")
