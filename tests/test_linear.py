"""Tests of valleylib.linear against autograd, numpy references and closed forms (float64)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from valleylib.linear import (
    classify,
    classify_shallow,
    critical_points,
    deep_linear_hessian,
    deep_linear_loss_grad,
    flip_hidden_unit,
    global_minimum_path,
    global_minimum_value,
    pack,
    path_continuity,
    random_global_minimum,
    saddle_curvature_bound,
    shallow_hessian,
    shallow_loss,
    shallow_loss_grad,
    shallow_train_loss_grad,
    unpack,
    whiten,
)

torch.set_num_threads(1)
DT = torch.float64
# (d0, d1, d2, N): hidden width below, equal to and above the output dimension d2
SHAPES = [(4, 2, 3, 10), (3, 4, 2, 8), (2, 1, 3, 6), (3, 3, 5, 7), (5, 3, 3, 12)]


def instance(d0, d2, N, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(d0, N, dtype=DT, generator=g), torch.randn(d2, N, dtype=DT, generator=g)


def weights(runs, d0, d1, d2, seed):
    g = torch.Generator().manual_seed(seed + 100)
    return torch.randn(runs, d1, d0, dtype=DT, generator=g), torch.randn(runs, d2, d1, dtype=DT, generator=g)


def eckart_young_numpy(X, Y, d1):
    """Slow, obvious reference: least-squares fit, then best rank-d1 approximation of the fit."""
    X, Y = X.numpy(), Y.numpy()
    Yhat = Y @ np.linalg.pinv(X) @ X
    s = np.linalg.svd(Yhat, compute_uv=False)
    return 0.5 * np.sum((Y - Yhat) ** 2) + 0.5 * np.sum(s[d1:] ** 2)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_and_hessian_match_autograd(shape, device):
    d0, d1, d2, N = shape
    X, Y = (t.to(device) for t in instance(d0, d2, N, 0))
    W1, W2 = (t.to(device) for t in weights(3, d0, d1, d2, 0))
    loss, g1, g2 = shallow_loss_grad(W1, W2, X, Y)
    assert loss.device == g1.device == g2.device == X.device
    a, b = W1.clone().requires_grad_(), W2.clone().requires_grad_()
    ref = 0.5 * ((b @ a @ X - Y) ** 2).sum((-1, -2))
    ref.sum().backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g1, a.grad, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(g2, b.grad, rtol=1e-10, atol=1e-10)
    H = shallow_hessian(W1, W2, X, Y)
    for r in range(3):
        Ha = torch.autograd.functional.hessian(lambda t: shallow_loss(*unpack(t, d0, d1, d2), X, Y), pack(W1, W2)[r])
        torch.testing.assert_close(H[r], Ha, rtol=1e-10, atol=1e-10)
    # the packed closed form used for training agrees too
    l2, g = shallow_train_loss_grad(X, Y, d1)(pack(W1, W2))
    torch.testing.assert_close(l2, loss, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(g, pack(g1, g2), rtol=1e-10, atol=1e-10)


def test_single_network_has_no_runs_dimension():
    X, Y = instance(3, 2, 6, 1)
    W1, W2 = weights(1, 3, 2, 2, 1)
    assert shallow_loss(W1[0], W2[0], X, Y).ndim == 0
    assert shallow_hessian(W1[0], W2[0], X, Y).shape == (10, 10)


@pytest.mark.parametrize("shape", SHAPES)
def test_whitening_reduction_and_eckart_young(shape):
    d0, d1, d2, N = shape
    X, Y = instance(d0, d2, N, 2)
    w = whiten(X, Y)
    W1, W2 = weights(4, d0, d1, d2, 2)
    red = 0.5 * ((W2 @ W1 @ w.S_half - w.Ybar) ** 2).sum((-1, -2)) + w.c0
    torch.testing.assert_close(shallow_loss(W1, W2, X, Y), red, rtol=1e-12, atol=1e-12)
    assert global_minimum_value(X, Y, d1) == pytest.approx(eckart_young_numpy(X, Y, d1), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_enumerated_points_are_critical_and_classified(shape, seed):
    d0, d1, d2, N = shape
    X, Y = instance(d0, d2, N, seed)
    g = torch.Generator().manual_seed(seed + 7)
    K = torch.randn(d1, d1, dtype=DT, generator=g) + 2 * torch.eye(d1, dtype=DT)
    cp = critical_points(X, Y, d1, K=K)
    r = min(d0, d2)
    assert cp.count == sum(math.comb(r, j) for j in range(min(d1, r) + 1))
    loss, g1, g2 = shallow_loss_grad(cp.W1, cp.W2, X, Y)
    assert float(pack(g1, g2).norm(dim=-1).max()) < 1e-9
    torch.testing.assert_close(loss, cp.risk, rtol=1e-10, atol=1e-10)
    fstar = eckart_young_numpy(X, Y, d1)
    assert float(loss.min()) == pytest.approx(fstar, rel=1e-10)
    # classification agrees with a dense numpy eigendecomposition
    cl = classify_shallow(cp.W1, cp.W2, X, Y)
    lam = np.array([np.linalg.eigvalsh(h)[0] for h in shallow_hessian(cp.W1, cp.W2, X, Y).numpy()])
    np.testing.assert_allclose(cl.min_eig.numpy(), lam, rtol=1e-8, atol=1e-10)
    for kind, l, f in zip(cl.kind, lam, loss.tolist()):
        if f <= fstar * (1 + 1e-9) + 1e-12:
            assert kind == "global minimum"
            assert l > -1e-8
        else:
            assert kind == "strict saddle" and l < -1e-6
    assert cl.kind.count("global minimum") == int(cp.is_global.sum()) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_curvature_bound_holds_and_is_negative(shape):
    d0, d1, d2, N = shape
    X, Y = instance(d0, d2, N, 3)
    for K in (None, torch.randn(d1, d1, dtype=DT, generator=torch.Generator().manual_seed(5)) + 2 * torch.eye(d1, dtype=DT)):
        cp = critical_points(X, Y, d1, K=K)
        cl = classify_shallow(cp.W1, cp.W2, X, Y)
        bd = saddle_curvature_bound(cp.W1, cp.W2, X, Y)
        sad = ~cp.is_global
        assert bool((cl.min_eig[sad] <= bd[sad] + 1e-9).all())
        assert bool((bd[sad] < 0).all())


def test_symmetry_orbit_keeps_loss_and_shrinks_curvature_like_c_minus_2():
    X, Y = instance(4, 3, 10, 4)
    cp = critical_points(X, Y, 2)
    n = cp.index_sets.index((0, 2))
    cs = torch.tensor([10.0, 100.0, 1000.0], dtype=DT)
    W1, W2 = cp.W1[n] / cs.view(-1, 1, 1), cp.W2[n] * cs.view(-1, 1, 1)
    torch.testing.assert_close(shallow_loss(W1, W2, X, Y), cp.risk[n].expand(3), rtol=1e-10, atol=1e-10)
    lam = classify_shallow(W1, W2, X, Y).min_eig
    scaled = (lam * cs**2).tolist()
    assert scaled[0] < 0
    assert scaled[2] == pytest.approx(scaled[1], rel=1e-3)
    bd = saddle_curvature_bound(W1, W2, X, Y)
    assert bool((lam <= bd + 1e-12 * cs**2).all())  # eigvalsh error grows with the Hessian norm ~ c^2


def test_origin_curvature_is_minus_norm_of_YXt():
    X, Y = instance(3, 2, 7, 6)
    W1, W2 = torch.zeros(2, 3, dtype=DT), torch.zeros(2, 2, dtype=DT)
    lam = torch.linalg.eigvalsh(shallow_hessian(W1, W2, X, Y))[0]
    assert float(lam) == pytest.approx(-float(torch.linalg.matrix_norm(Y @ X.T, ord=2)), rel=1e-12)
    # scalar case (w2 w1 - 1)^2 / 2: Hessian at 0 is [[0, -1], [-1, 0]]
    one = torch.ones(1, 1, dtype=DT)
    torch.testing.assert_close(shallow_hessian(0 * one, 0 * one, one, one), torch.tensor([[0.0, -1.0], [-1.0, 0.0]], dtype=DT))


def test_classify_labels():
    H = torch.diag_embed(torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, 0.0], [1.0, 1.0]], dtype=DT))
    cl = classify(H, torch.tensor([0.0, 1.0, 1.0, 1.0], dtype=DT), torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=DT), 0.0)
    assert cl.kind == ["global minimum", "strict saddle", "non-strict saddle", "not critical"]


@pytest.mark.parametrize("hidden", [(4, 4), (2,), (3, 1, 5)])
def test_deep_linear_gradient_matches_autograd(hidden):
    X, Y = instance(3, 2, 8, 7)
    dims = [3, *hidden, 2]
    g = torch.Generator().manual_seed(8)
    Ws = [torch.randn(2, dims[l + 1], dims[l], dtype=DT, generator=g) for l in range(len(dims) - 1)]
    loss, grads = deep_linear_loss_grad(Ws, X, Y)
    ps = [w.clone().requires_grad_() for w in Ws]
    P = ps[0]
    for w in ps[1:]:
        P = w @ P
    ref = 0.5 * ((P @ X - Y) ** 2).sum((-1, -2))
    ref.sum().backward()
    torch.testing.assert_close(loss, ref.detach())
    for p, gr in zip(ps, grads):
        torch.testing.assert_close(gr, p.grad, rtol=1e-10, atol=1e-10)


def test_deep_hessian_two_layers_equals_shallow_and_vanishes_at_zero_for_three():
    X, Y = instance(3, 2, 8, 9)
    W1, W2 = weights(2, 3, 4, 2, 9)
    torch.testing.assert_close(deep_linear_hessian([W1, W2], X, Y), shallow_hessian(W1, W2, X, Y), rtol=1e-10, atol=1e-10)
    zeros = [torch.zeros(4, 3, dtype=DT), torch.zeros(4, 4, dtype=DT), torch.zeros(2, 4, dtype=DT)]
    H = deep_linear_hessian(zeros, X, Y)
    assert H.shape == (12 + 16 + 8, 36) and float(H.abs().max()) == 0.0
    # ... yet the loss decreases at third order along a rank-one direction
    w = whiten(X, Y)
    u, v = w.U[:, 0], w.Vh[0] @ w.S_inv_half
    e = torch.zeros(4, dtype=DT)
    e[0] = 1
    t = 0.1
    loss, _ = deep_linear_loss_grad([t * torch.outer(e, v), t * torch.outer(e, e), t * torch.outer(u, e)], X, Y)
    # f(t) = f(0) - t^3 <u v^T, Y X^T> + t^6 |v^T X|^2 / 2 and <u v^T, Y X^T> = u^T Ybar v_1 = s_1
    assert float(loss) == pytest.approx(0.5 * w.yy - t**3 * float(w.s[0]) + 0.5 * t**6 * float((v @ X).pow(2).sum()), rel=1e-12)
    assert float(loss) < 0.5 * w.yy


@pytest.mark.parametrize("shape", [(3, 4, 2, 8), (2, 3, 5, 7)])
def test_path_between_global_minima_stays_at_the_global_value(shape):
    d0, d1, d2, N = shape
    X, Y = instance(d0, d2, N, 10)
    w = whiten(X, Y)
    P = w.C @ torch.linalg.inv(w.S)
    g = torch.Generator().manual_seed(11)

    def global_min():
        if d1 >= d2:
            W2 = torch.randn(d2, d1, dtype=DT, generator=g)
            Wp = torch.linalg.pinv(W2)
            return Wp @ P + (torch.eye(d1, dtype=DT) - Wp @ W2) @ torch.randn(d1, d0, dtype=DT, generator=g), W2
        W1 = torch.randn(d1, d0, dtype=DT, generator=g)
        Wp = torch.linalg.pinv(W1)
        return W1, P @ Wp + torch.randn(d2, d1, dtype=DT, generator=g) @ (torch.eye(d1, dtype=DT) - W1 @ Wp)

    a, b = global_min(), global_min()
    fstar = global_minimum_value(X, Y, d1)
    ts = torch.linspace(0, 1, 501, dtype=DT)
    W1, W2 = global_minimum_path(X, Y, a, b, ts, generator=g)
    torch.testing.assert_close(W1[0], a[0])
    torch.testing.assert_close(W2[-1], b[1])
    L = shallow_loss(W1, W2, X, Y)
    assert float(L.max()) <= fstar + 1e-10
    # the straight segment, by contrast, goes above the global value
    s = ts.view(-1, 1, 1)
    assert float(shallow_loss((1 - s) * a[0] + s * b[0], (1 - s) * a[1] + s * b[1], X, Y).max()) > fstar + 1e-6


def test_bad_inputs_raise_clear_errors():
    X, Y = instance(3, 2, 6, 12)
    with pytest.raises(ValueError, match="X X\\^T is not invertible"):
        whiten(torch.randn(4, 3, dtype=DT), torch.randn(2, 3, dtype=DT))  # N < d0
    Xr = torch.cat([X, X[:1]], 0)  # repeated input coordinate, N >= d0
    with pytest.raises(ValueError, match="rank 3 < d0=4"):
        critical_points(Xr, Y, 2)
    with pytest.raises(ValueError, match="same number of samples"):
        shallow_loss(torch.zeros(2, 3), torch.zeros(2, 2), X, Y[:, :5])
    with pytest.raises(ValueError, match="expected the input dimension d0=3"):
        shallow_loss(torch.zeros(2, 4, dtype=DT), torch.zeros(2, 2, dtype=DT), X, Y)
    with pytest.raises(ValueError, match="expected the output dimension d2=2"):
        shallow_loss(torch.zeros(2, 3, dtype=DT), torch.zeros(3, 2, dtype=DT), X, Y)
    with pytest.raises(ValueError, match="hidden widths differ"):
        shallow_loss(torch.zeros(2, 3, dtype=DT), torch.zeros(2, 4, dtype=DT), X, Y)
    with pytest.raises(ValueError, match="non-finite"):
        shallow_loss(torch.full((2, 3), float("nan"), dtype=DT), torch.zeros(2, 2, dtype=DT), X, Y)
    with pytest.raises(ValueError, match="d1=0"):
        critical_points(X, Y, 0)
    with pytest.raises(ValueError, match="does not match the output size"):
        deep_linear_loss_grad([torch.zeros(4, 3, dtype=DT), torch.zeros(2, 5, dtype=DT)], X, Y)
    with pytest.raises(ValueError, match="needs d1 > min"):
        global_minimum_path(X, Y, (torch.zeros(1, 3, dtype=DT), torch.zeros(2, 1, dtype=DT)),
                            (torch.zeros(1, 3, dtype=DT), torch.zeros(2, 1, dtype=DT)), [0.0, 1.0])


@pytest.mark.parametrize("shape", [(4, 2, 2, 12), (2, 2, 4, 10), (3, 3, 3, 9)])
def test_path_formula_is_refused_at_d1_equal_min_d0_d2(shape):
    """At d1 = min(d0, d2) the interpolated factor is square; between end points of opposite
    orientation it passes through a singular matrix: Freeman & Bruna need d1 > min(d0, d2)."""
    d0, d1, d2, N = shape
    X, Y = instance(d0, d2, N, 13)
    g = torch.Generator().manual_seed(14)
    a, b = random_global_minimum(X, Y, d1, generator=g), random_global_minimum(X, Y, d1, generator=g)
    with pytest.raises(ValueError, match="strictly larger than min"):
        global_minimum_path(X, Y, a, b, [0.0, 0.5, 1.0])


def test_path_formula_at_equality_blows_up_and_the_continuity_check_sees_it():
    from valleylib.experiments.linear import naive_path

    X, Y = instance(4, 2, 12, 15)
    g = torch.Generator().manual_seed(16)
    a = random_global_minimum(X, Y, 2, generator=g)
    b = random_global_minimum(X, Y, 2, generator=g)
    if float(torch.linalg.det(a[1]) * torch.linalg.det(b[1])) > 0:
        b = flip_hidden_unit(*b)  # negating a hidden unit flips the sign of det W2
    path = naive_path(X, Y, a, b, torch.zeros(2, 2, dtype=DT))
    W1, W2 = path(torch.linspace(0, 1, 2001, dtype=DT))
    det = torch.linalg.det(W2)
    assert float(det[0] * det[-1]) < 0 and int((det[1:] * det[:-1] < 0).sum()) == 1
    assert float(W1.flatten(1).norm(dim=1).max()) > 100 * float(W1[0].norm())  # a pole near det = 0
    assert float(shallow_loss(W1, W2, X, Y).max()) - global_minimum_value(X, Y, 2) < 1e-8  # the loss cannot see it
    c = path_continuity(path)
    assert not c.is_continuous() and max(c.ratios) > 1


@pytest.mark.parametrize("shape", [(3, 4, 2, 8), (2, 3, 5, 7), (5, 4, 3, 12)])
def test_library_path_is_continuous_on_refined_grids(shape):
    d0, d1, d2, N = shape
    X, Y = instance(d0, d2, N, 17)
    g = torch.Generator().manual_seed(18)
    a, b = random_global_minimum(X, Y, d1, generator=g), random_global_minimum(X, Y, d1, generator=g)
    c = path_continuity(lambda ts: global_minimum_path(X, Y, a, b, ts, generator=torch.Generator().manual_seed(1)))
    assert c.is_continuous() and all(abs(r - 0.5) < 0.1 for r in c.ratios), c
    assert c.points == (129, 257, 513)


def test_path_continuity_on_closed_forms():
    smooth = path_continuity(lambda t: torch.stack([torch.cos(3 * t), torch.sin(3 * t)], -1), points=65)
    assert all(abs(r - 0.5) < 0.01 for r in smooth.ratios) and smooth.norm_ratio == pytest.approx(1.0)
    # max step on a grid of spacing h of the unit-speed circle: 2 sin(3h/2)
    assert smooth.max_step[0] == pytest.approx(2 * math.sin(1.5 / 64), rel=1e-12)
    jump = path_continuity(lambda t: (t >= 0.3).to(t.dtype).unsqueeze(-1), points=65)
    assert jump.ratios == pytest.approx((1.0, 1.0)) and not jump.is_continuous()
    pole = path_continuity(lambda t: (1 / (t - 1 / 3)).unsqueeze(-1), points=65)
    assert not pole.is_continuous() and pole.norm_ratio > 10
    big = path_continuity(lambda t: (1 + 100 * torch.sin(math.pi * t)).unsqueeze(-1), points=65)
    assert all(r < 0.75 for r in big.ratios) and not big.is_continuous()  # a norm 100x the end points
    with pytest.raises(ValueError, match="points"):
        path_continuity(lambda t: t.unsqueeze(-1), points=2)


def test_path_end_points_must_be_global_minima():
    X, Y = instance(3, 2, 8, 19)
    g = torch.Generator().manual_seed(20)
    a, b = random_global_minimum(X, Y, 4, generator=g), random_global_minimum(X, Y, 4, generator=g)
    with pytest.raises(ValueError, match="start: not a global minimum"):
        global_minimum_path(X, Y, (a[0] * 1.1, a[1]), b, [0.0, 1.0])
    with pytest.raises(ValueError, match="V: expected shape"):
        global_minimum_path(X, Y, a, b, [0.0, 1.0], V=torch.zeros(4, 2, dtype=DT))
    with pytest.raises(ValueError, match="expected d1 >= min"):
        random_global_minimum(X, Y, 1)
    assert float(shallow_loss(*a, X, Y)) == pytest.approx(global_minimum_value(X, Y, 4), abs=1e-12)


def test_flip_hidden_unit_keeps_the_product_and_flips_det_w2():
    g = torch.Generator().manual_seed(3)
    W1 = torch.randn(2, 3, 4, dtype=torch.float64, generator=g)
    W2 = torch.randn(2, 3, 3, dtype=torch.float64, generator=g)
    F1, F2 = flip_hidden_unit(W1, W2, k=1)
    torch.testing.assert_close(F2 @ F1, W2 @ W1, rtol=0, atol=1e-14)
    torch.testing.assert_close(torch.linalg.det(F2), -torch.linalg.det(W2), rtol=1e-12, atol=0)
    assert torch.equal(F1[:, [0, 2]], W1[:, [0, 2]]) and torch.equal(F1[:, 1], -W1[:, 1])
    assert not torch.equal(F1, W1)  # the inputs are left alone: new tensors
    u1, u2 = flip_hidden_unit(W1[0], W2[0])  # one network, unit 0
    assert torch.equal(u1[0], -W1[0, 0]) and torch.equal(u2[:, 0], -W2[0, :, 0])
    with pytest.raises(ValueError, match="k: expected a hidden unit index in \\[0, 3\\)"):
        flip_hidden_unit(W1, W2, k=3)
    with pytest.raises(ValueError, match="W2: expected 3 columns"):
        flip_hidden_unit(W1, W2[..., :2])
    with pytest.raises(ValueError, match="W1"):
        flip_hidden_unit(torch.full_like(W1, float("nan")), W2)
