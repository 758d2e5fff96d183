"""The balancing regulariser (our reading of Zhu et al. v1): closed forms against autograd in
float64, balanced critical points, and every check of the ``zhu-regularised`` scorecard fed a
wrong result."""
import copy

import pytest
import torch

from valleylib.experiments import zhu_regularised as zr
from valleylib.experiments.linear import designed_instance
from valleylib.linear import global_minimum_value, pack, unpack
from valleylib.linear_regularised import (
    balance_gap,
    balanced_critical_points,
    regularised_hessian,
    regularised_loss_grad,
    regularised_train_loss_grad,
)

D0, D1, D2, MU = 5, 3, 4, 0.7


def _instance(seed=0):
    g = torch.Generator().manual_seed(seed)
    X, Y = designed_instance(D0, D2, 30, (2.0, 1.2, 0.7, 0.3), 0.5, g, "cpu")
    W1 = torch.randn(3, D1, D0, dtype=torch.float64, generator=g)
    W2 = torch.randn(3, D2, D1, dtype=torch.float64, generator=g)
    return X, Y, W1, W2


def _g(th, X, Y, mu):
    a, b = unpack(th, D0, D1, D2)
    return 0.5 * ((b @ a @ X - Y) ** 2).sum() + mu / 4 * ((b.T @ b - a @ X @ X.T @ a.T) ** 2).sum()


def test_loss_gradient_hessian_match_autograd():
    X, Y, W1, W2 = _instance()
    loss, g1, g2 = regularised_loss_grad(W1, W2, X, Y, MU)
    H = regularised_hessian(W1, W2, X, Y, MU)
    th = pack(W1, W2)
    lg_loss, lg_grad = regularised_train_loss_grad(X, Y, D1, MU)(th)
    for r in range(3):
        ref = torch.autograd.functional.hessian(lambda t: _g(t, X, Y, MU), th[r])
        grad = torch.autograd.functional.jacobian(lambda t: _g(t, X, Y, MU), th[r])
        assert torch.allclose(H[r], ref, atol=1e-12)
        assert torch.allclose(pack(g1, g2)[r], grad, atol=1e-12)
        assert loss[r].item() == pytest.approx(_g(th[r], X, Y, MU).item(), rel=1e-13)
    assert torch.allclose(lg_loss, loss, atol=1e-12) and torch.allclose(lg_grad, pack(g1, g2), atol=1e-12)
    # single (unbatched) weights
    l0, a0, b0 = regularised_loss_grad(W1[0], W2[0], X, Y, MU)
    assert l0.ndim == 0 and a0.shape == W1[0].shape and regularised_hessian(W1[0], W2[0], X, Y, MU).ndim == 2


def test_mu_zero_is_the_plain_loss_and_bad_mu_is_rejected():
    X, Y, W1, W2 = _instance(1)
    from valleylib.linear import shallow_hessian, shallow_loss
    assert torch.allclose(regularised_loss_grad(W1, W2, X, Y, 0.0)[0], shallow_loss(W1, W2, X, Y), atol=1e-13)
    assert torch.allclose(regularised_hessian(W1, W2, X, Y, 0.0), shallow_hessian(W1, W2, X, Y), atol=1e-13)
    with pytest.raises(ValueError, match="mu"):
        regularised_loss_grad(W1, W2, X, Y, -1.0)
    with pytest.raises(TypeError, match="mu"):
        regularised_hessian(W1, W2, X, Y, "a lot")
    with pytest.raises(ValueError, match="scale"):
        balanced_critical_points(X, Y, D1, scale=0.0)


def test_balanced_critical_points_are_balanced_critical_with_the_closed_form_values():
    X, Y, _, _ = _instance(2)
    cp = balanced_critical_points(X, Y, D1)
    loss, g1, g2 = regularised_loss_grad(cp.W1, cp.W2, X, Y, MU)
    assert pack(g1, g2).norm(dim=-1).max() < 1e-12
    assert balance_gap(cp.W1, cp.W2, X).abs().max() < 1e-12
    assert torch.allclose(loss, cp.risk, atol=1e-12)
    assert min(loss.tolist()) == pytest.approx(global_minimum_value(X, Y, D1), abs=1e-12)
    unbal = balanced_critical_points(X, Y, D1, scale=3.0)
    _, u1, u2 = regularised_loss_grad(unbal.W1, unbal.W2, X, Y, MU)
    nonempty = torch.tensor([len(s) > 0 for s in unbal.index_sets])
    assert pack(u1, u2).norm(dim=-1)[nonempty].min() > 1e-3


def test_iterations_to_tolerance_and_median():
    h = torch.tensor([[5.0, 5.0, 5.0], [1.0, 3.0, 5.0], [1.0, 1.0, 5.0]], dtype=torch.float64)
    its = zr.iterations_to_tolerance(h, 1.0)
    assert its.tolist() == [1, 2, -1]
    assert zr._median_inf(torch.tensor([1, 2, -1])) == 2.0
    assert zr._median_inf(torch.tensor([1, -1, -1])) == float("inf")


def _good():
    rows = lambda: [{"mu": 0.0, "median_iterations": 3000.0, "min_final_loss": 0.17, "max_final_rel_gap": 1e-9,
                     "balance_gap_max": 2.0},
                    {"mu": 0.5, "median_iterations": 900.0, "min_final_loss": 0.17, "max_final_rel_gap": 1e-12,
                     "balance_gap_max": 1e-9}]
    return {"fstar": 0.17,
            "critical": [{"mu": 0.5, "non_global_strict": 14, "non_global": 14, "grad_norm_max": 1e-14,
                          "orbit": [{"scale": 3.0, "f_grad_norm_max": 1e-14, "g_grad_norm_min": 2.0}]}],
            "gd": [{"family": "unit", "runs": 64, "rows": rows()}, {"family": "small", "runs": 64, "rows": rows()}]}


def test_zhu_good_result_passes():
    checks = zr.scorecard(_good())
    assert all(c.passed for c in checks), [(c.claim, c.passed) for c in checks]


def _slow(r):
    for fam in r["gd"]:
        fam["rows"][1]["median_iterations"] = 5000.0


@pytest.mark.parametrize("mutate, word", [
    (lambda r: [row.update(min_final_loss=0.2) for fam in r["gd"] for row in fam["rows"]], "global minimum value"),
    (lambda r: r["gd"][0]["rows"][1].update(max_final_rel_gap=0.3), "no spurious minima"),
    (lambda r: r["critical"][0].update(non_global_strict=13), "strict saddle"),
    (lambda r: r["critical"][0]["orbit"][0].update(g_grad_norm_min=1e-12), "not critical for g"),
    (lambda r: r["gd"][1]["rows"][1].update(balance_gap_max=0.1), "ends balanced"),
    (_slow, "fewer iterations"),
])
def test_zhu_each_check_can_fail(mutate, word):
    r = copy.deepcopy(_good())
    mutate(r)
    bad = [c.claim for c in zr.scorecard(r) if c.passed is False]
    assert bad and all(word in c for c in bad), (word, bad)


def test_zhu_speed_is_na_with_few_runs():
    r = _good()
    _slow(r)
    for fam in r["gd"]:
        fam["runs"] = 4
    assert [c.passed for c in zr.scorecard(r) if "fewer iterations" in c.claim] == [None]
