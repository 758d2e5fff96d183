"""Tests for valleylib.empirical: risks, the convex output layer, the descent path, the ReLU valley."""
from __future__ import annotations

import math

import pytest
import torch
from reference import sampled_risk

from valleylib.empirical import (
    descent_path,
    empirical_risk,
    function_space_minimum,
    output_layer_minimum,
    pack,
    polynomial_features,
    relu_valley_points,
    relu_valley_risk,
    relu_valley_sampler,
    success_fraction,
    unpack,
)

torch.set_num_threads(1)
DT = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_empirical_risk_matches_a_loop():
    g = _gen()
    W = torch.randn(3, 4, 2, generator=g, dtype=DT)
    a = torch.randn(3, 4, generator=g, dtype=DT)
    x = torch.randn(10, 2, generator=g, dtype=DT)
    y = torch.randn(10, generator=g, dtype=DT)
    risk = empirical_risk(W, a, x, y, activation="tanh")
    for r in range(3):
        ref = sum(0.5 * (sum(float(a[r, i]) * math.tanh(float(W[r, i] @ x[s])) for i in range(4)) - float(y[s])) ** 2 for s in range(10)) / 10
        assert float(risk[r]) == pytest.approx(ref, rel=1e-12)
    lab = torch.sign(y)
    lg = empirical_risk(W[0], a[0], x, lab, activation="tanh", loss="logistic")
    pred = torch.tanh(x @ W[0].T) @ a[0]
    assert float(lg) == pytest.approx(float(torch.log1p(torch.exp(-lab * pred)).mean()), rel=1e-12)


def test_pack_roundtrip_and_success_fraction():
    W = torch.randn(2, 3, 4, dtype=DT)
    a = torch.randn(2, 3, dtype=DT)
    W2, a2 = unpack(pack(W, a))
    assert torch.equal(W, W2) and torch.equal(a, a2)
    assert success_fraction(torch.tensor([1.0, 1.0 + 5e-4, 1.01, float("nan")]), 1.0) == 0.5
    assert success_fraction(torch.tensor([0.0, 1e-7, 1e-3]), 0.0) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="non-empty"):
        success_fraction(torch.tensor([]), 0.0)
    with pytest.raises(ValueError, match="finite"):
        success_fraction(torch.tensor([1.0]), float("nan"))


def test_output_layer_minimum_square_and_logistic():
    g = _gen(1)
    W = torch.randn(2, 5, 3, generator=g, dtype=DT)
    x = torch.randn(40, 3, generator=g, dtype=DT)
    y = torch.randn(40, generator=g, dtype=DT)
    a, risk = output_layer_minimum(W, x, y, activation="tanh")
    for r in range(2):
        Phi = torch.tanh(x @ W[r].T)
        sol = torch.linalg.lstsq(Phi, y.unsqueeze(1)).solution.squeeze(1)
        assert torch.allclose(a[r], sol, atol=1e-10)
        assert float(risk[r]) == pytest.approx(float(empirical_risk(W[r], sol, x, y, activation="tanh")), rel=1e-12)
    # logistic: the gradient vanishes at the returned point (non-separable labels)
    lab = torch.where(torch.rand(40, generator=g, dtype=DT) < 0.5, -1.0, 1.0).to(DT)
    a, risk = output_layer_minimum(W[0], x, lab, activation="tanh", loss="logistic")
    q = a.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(empirical_risk(W[0], q, x, lab, activation="tanh", loss="logistic"), q)
    assert float(grad.norm()) < 1e-8


def test_function_space_minimum_is_a_lower_bound_reached_by_wide_networks():
    g = _gen(2)
    x = torch.randn(60, 2, generator=g, dtype=DT)
    y = torch.relu(x[:, 0]) + x[:, 1] ** 3
    L = function_space_minimum(x, y, "quadratic")
    assert polynomial_features(x, [2]).shape == (60, 3)
    # Least squares on x1^2, x1 x2, x2^2 directly.
    A = torch.stack([x[:, 0] ** 2, x[:, 0] * x[:, 1], x[:, 1] ** 2], 1)
    res = y - A @ torch.linalg.lstsq(A, y.unsqueeze(1)).solution.squeeze(1)
    assert L == pytest.approx(0.5 * float((res**2).mean()), rel=1e-10)
    # width >= dim* = 3 with random W attains it in the output layer; width 1 cannot go below it
    _, r3 = output_layer_minimum(torch.randn(3, 2, generator=g, dtype=DT), x, y, activation="quadratic")
    _, r1 = output_layer_minimum(torch.randn(50, 1, 2, generator=g, dtype=DT), x, y, activation="quadratic")
    assert float(r3) == pytest.approx(L, rel=1e-9)
    assert float(r1.min()) >= L - 1e-12
    with pytest.raises(ValueError, match="polynomial"):
        function_space_minimum(x, y, "relu")


def test_descent_path_is_flat_then_monotone_and_reaches_the_minimum():
    g = _gen(3)
    x = torch.randn(80, 2, generator=g, dtype=DT)
    y = torch.tanh(x[:, 0] * x[:, 1]) + 0.3 * x[:, 0]
    W0 = torch.randn(5, 2, generator=g, dtype=DT)
    W0[1:] = torch.tensor([[2.0], [-1.0], [0.5], [3.0]], dtype=DT) * W0[:1]  # all units parallel: rank 1
    a0 = torch.randn(5, generator=g, dtype=DT)
    path = descent_path(W0, a0, x, y, activation="quadratic", steps=10)
    risk = path["risk"]
    assert path["rank_before"] == 1 and path["rank_after"] == 3
    assert max(risk[:20]) - min(risk[:20]) < 1e-10 * risk[0]  # phases 1 and 2 are flat
    assert all(b <= a + 1e-12 for a, b in zip(risk, risk[1:]))
    assert risk[-1] == pytest.approx(function_space_minimum(x, y, "quadratic"), rel=1e-9)
    with pytest.raises(ValueError, match="width n=2 is below"):
        descent_path(W0[:2], a0[:2], x, y, activation="quadratic")


def test_relu_valley_closed_form():
    d, n, al, be = 5, 3, 2.0, 3.0
    Wb, ab, Wg, ag = relu_valley_points(d, n, al, be)
    assert float(relu_valley_risk(Wb, ab, al, be)) == pytest.approx(be**2 / 8, abs=1e-14)
    assert float(relu_valley_risk(Wg, ag, al, be)) == pytest.approx(al**2 / 8, abs=1e-14)
    # against Monte Carlo on random points
    g = _gen(4)
    W = torch.randn(3, n, d, generator=g, dtype=DT)
    a = torch.randn(3, n, generator=g, dtype=DT)
    mc = sampled_risk(W, a, relu_valley_sampler(d, n, al, be), 200_000, seed=4, activation="relu")
    assert torch.allclose(relu_valley_risk(W, a, al, be), mc, rtol=0.03)
    # the proven bounds: >= beta^2/8 when a >= 0; >= beta^2/8 + alpha^2/(16 pi) when also one a_i = 0
    a_pos = 2 * torch.rand(500, n, generator=g, dtype=DT)
    Wr = torch.randn(500, n, d, generator=g, dtype=DT)
    assert float(relu_valley_risk(Wr, a_pos, al, be).min()) >= be**2 / 8
    a_pos[:, 1] = 0
    assert float(relu_valley_risk(Wr, a_pos, al, be).min()) >= be**2 / 8 + al**2 / (16 * math.pi)
    # symmetry: permuting units changes nothing
    perm = torch.tensor([2, 0, 1])
    assert torch.allclose(relu_valley_risk(W[:, perm], a[:, perm], al, be), relu_valley_risk(W, a, al, be), rtol=1e-12)


def test_bad_input():
    x = torch.randn(5, 2, dtype=DT)
    with pytest.raises(ValueError, match="loss"):
        empirical_risk(torch.randn(3, 2, dtype=DT), torch.randn(3, dtype=DT), x, torch.randn(5, dtype=DT), loss="hinge")
    with pytest.raises(ValueError, match="y: has 4 samples"):
        empirical_risk(torch.randn(3, 2, dtype=DT), torch.randn(3, dtype=DT), x, torch.randn(4, dtype=DT))
    with pytest.raises(ValueError, match="input dimension"):
        empirical_risk(torch.randn(3, 4, dtype=DT), torch.randn(3, dtype=DT), x, torch.randn(5, dtype=DT))
    with pytest.raises(ValueError, match="2 <= n <= d - 1"):
        relu_valley_sampler(4, 4, 1.0, 2.0)
