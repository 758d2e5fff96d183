"""Closed-form ReLU population risk against Monte Carlo, autograd and invariances (float64)."""
import math

import pytest
import torch

import valleylib as vl
from valleylib.gaussian import arccos_kernel

f64 = torch.float64


def kernel_by_quadrature(w, v, samples=400_000, seed=0):
    """Slow reference: E[relu(w.x) relu(v.x)] by Monte Carlo."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, w.shape[-1], dtype=f64, generator=g)
    vals = torch.relu(x @ w) * torch.relu(x @ v)
    return float(vals.mean()), float(vals.std() / math.sqrt(samples))


def test_kernel_closed_forms(device):
    w = torch.tensor([3.0, 4.0], dtype=f64, device=device)
    assert float(arccos_kernel(w, w)) == pytest.approx(12.5, abs=1e-12)  # |w|^2 / 2
    assert float(arccos_kernel(w, -w)) == pytest.approx(0.0, abs=1e-12)
    e1, e2 = torch.eye(2, dtype=f64, device=device)
    assert float(arccos_kernel(e1, e2)) == pytest.approx(1 / (2 * math.pi), abs=1e-15)  # θ = π/2


def test_kernel_vs_monte_carlo(gen):
    w = torch.randn(4, dtype=f64, generator=gen)
    v = torch.randn(4, dtype=f64, generator=gen)
    mean, se = kernel_by_quadrature(w, v)
    assert abs(float(arccos_kernel(w, v)) - mean) < 5 * se


def test_risk_vs_monte_carlo(gen, device):
    W = torch.randn(3, 4, 5, dtype=f64, generator=gen).to(device)
    V = torch.randn(3, 5, dtype=f64, generator=gen).to(device)
    exact = vl.relu_population_risk(W, V)
    mc = vl.monte_carlo_risk(W, V, samples=400_000, generator=torch.Generator(device).manual_seed(7))
    assert exact.device == mc.mean.device == W.device
    z = (exact - mc.mean).abs() / mc.stderr
    assert bool((z < 5).all()), z


def test_risk_zero_at_teacher_and_permutations(gen, device):
    V = torch.randn(4, 3, dtype=f64, generator=gen).to(device)
    perm = torch.randperm(4, generator=gen)
    assert abs(float(vl.relu_population_risk(V[perm], V))) < 1e-12


def test_gradient_matches_autograd(gen, device):
    W = torch.randn(5, 6, 4, dtype=f64, generator=gen).to(device)
    V = torch.randn(3, 4, dtype=f64, generator=gen).to(device)
    Wg = W.clone().requires_grad_(True)
    vl.relu_population_risk(Wg, V).sum().backward()
    assert torch.allclose(Wg.grad, vl.relu_population_gradient(W, V), atol=1e-12)


def test_gradient_matches_finite_differences(gen):
    W = torch.randn(3, 3, dtype=f64, generator=gen)
    V = torch.eye(3, dtype=f64)
    G = vl.relu_population_gradient(W, V)
    h = 1e-6
    for i in range(3):
        for j in range(3):
            E = torch.zeros_like(W)
            E[i, j] = h
            fd = (vl.relu_population_risk(W + E, V) - vl.relu_population_risk(W - E, V)) / (2 * h)
            assert abs(float(fd) - float(G[i, j])) < 1e-8


def test_batched_equals_loop(gen, device):
    W = torch.randn(6, 4, 3, dtype=f64, generator=gen).to(device)
    V = torch.randn(2, 3, dtype=f64, generator=gen).to(device)
    batched = vl.relu_population_risk(W, V)
    grads = vl.relu_population_gradient(W, V)
    for r in range(6):
        assert float(batched[r]) == pytest.approx(float(vl.relu_population_risk(W[r], V)), abs=1e-14)
        assert torch.allclose(grads[r], vl.relu_population_gradient(W[r], V), atol=1e-14)


def test_invariances(gen):
    W = torch.randn(2, 5, 4, dtype=f64, generator=gen)
    V = torch.randn(3, 4, dtype=f64, generator=gen)
    base = vl.relu_population_risk(W, V)
    perm = torch.randperm(5, generator=gen)
    assert torch.allclose(vl.relu_population_risk(W[:, perm], V), base, atol=1e-13)
    # Orthogonal change of coordinates applied to student and teacher alike.
    Q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=f64, generator=gen))
    assert torch.allclose(vl.relu_population_risk(W @ Q, V @ Q), base, atol=1e-12)
    # Positive homogeneity: scaling everything by c scales the risk by c^2.
    assert torch.allclose(vl.relu_population_risk(3 * W, 3 * V), 9 * base, atol=1e-11)
    # Splitting a unit into two parallel halves leaves the function, hence the risk, unchanged.
    W_split = torch.cat([W[:, :1] / 2, W[:, :1] / 2, W[:, 1:]], dim=1)
    assert torch.allclose(vl.relu_population_risk(W_split, V), base, atol=1e-12)


def test_parallel_rows_are_differentiable():
    V = torch.eye(2, dtype=f64)
    W = torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=f64, requires_grad=True)
    vl.relu_population_risk(W, V).backward()
    assert torch.isfinite(W.grad).all()
    assert torch.allclose(W.grad, vl.relu_population_gradient(W.detach(), V), atol=1e-7)


def test_hessian_by_autograd_is_finite_and_symmetric(gen):
    W = torch.randn(3, 3, dtype=f64, generator=gen)
    V = torch.eye(3, dtype=f64)
    H = torch.autograd.functional.hessian(lambda w: vl.relu_population_risk(w, V), W).reshape(9, 9)
    assert torch.isfinite(H).all() and torch.allclose(H, H.T, atol=1e-10)


def test_follows_input_dtype_and_device():
    W = torch.randn(2, 3, dtype=torch.float32)
    V = torch.eye(3, dtype=torch.float32)
    assert vl.relu_population_risk(W, V).dtype == torch.float32
    assert vl.relu_population_gradient(W, V).dtype == torch.float32


def test_bad_input():
    V = torch.eye(3, dtype=f64)
    with pytest.raises(ValueError, match="V: last dimension is 3, expected the input dimension d=2"):
        vl.relu_population_risk(torch.zeros(2, 2, dtype=f64), V)
    with pytest.raises(ValueError, match="V: every teacher row must be non-zero"):
        vl.relu_population_risk(torch.ones(2, 3, dtype=f64), torch.zeros(1, 3, dtype=f64))
    with pytest.raises(ValueError, match="W: contains 1 non-finite"):
        vl.relu_population_risk(torch.tensor([[float("nan"), 0, 0]], dtype=f64), V)
    with pytest.raises(ValueError, match=r"W: expected shape \(runs, n, d\)"):
        vl.relu_population_risk(torch.zeros(1, 1, 2, 3, dtype=f64), V)
    with pytest.raises(ValueError, match="samples=1"):
        vl.monte_carlo_risk(torch.ones(2, 3, dtype=f64), V, samples=1)


@pytest.mark.parametrize("theta", [1e-5, 1e-7, 3e-8, 1e-8, 1e-10])
def test_nearly_parallel_rows_are_accurate(theta):
    """sin θ is computed with cancellation for nearly parallel rows, but its error and θ's
    cancel to first order in the gradient (sin θ · w̄ - θ · v with w̄ ≈ v): stays ~1e-16."""
    w = torch.tensor([[math.cos(theta), math.sin(theta)]], dtype=f64)
    v = torch.tensor([[1.0, 0.0]], dtype=f64)
    g = vl.relu_population_gradient(w, v)[0]
    s, c = math.sin(theta), math.cos(theta)
    exact = torch.tensor([c / 2 - (s * c + (math.pi - theta)) / (2 * math.pi), s / 2 - s * s / (2 * math.pi)], dtype=f64)
    assert float((g - exact).abs().max()) < 1e-15
    risk_exact = 0.25 + 0.25 - (s + (math.pi - theta) * c) / (2 * math.pi)
    assert abs(float(vl.relu_population_risk(w, v)) - risk_exact) < 1e-15
