import math

import pytest
import torch

import valleylib as vl
from valleylib.training import grad_norm

f64 = torch.float64


def test_gd_converges_and_stops_exactly(gen, device):
    runs = 5
    s = torch.tensor([1.0, 4.0], dtype=f64, device=device)
    p0 = torch.randn(runs, 2, dtype=f64, generator=gen).to(device)

    def loss_grad(p):
        return 0.5 * (s * p * p).sum(-1), s * p

    res = vl.train(p0, loss_grad=loss_grad, lr=0.1, tol=1e-8, max_iter=10_000, progress=False)
    assert res.params.device == p0.device and res.iterations.device == p0.device
    assert bool(res.converged.all()) and not bool(res.diverged.any())
    assert bool((res.grad_norm <= 1e-8).all())
    # Exact stopping: one iteration fewer would not have met the tolerance (closed-form GD iterates).
    for r in range(runs):
        t = int(res.iterations[r])
        prev = p0[r] * (1 - 0.1 * s) ** (t - 1)
        assert float((s * prev).norm()) > 1e-8
        assert torch.allclose(res.params[r], p0[r] * (1 - 0.1 * s) ** t, atol=1e-15)


def test_batched_equals_loop_of_single_runs(gen, device):
    V = torch.eye(3, dtype=f64, device=device)
    W0 = torch.randn(4, 3, 3, dtype=f64, generator=gen).to(device) / math.sqrt(3)
    lg = lambda W: (vl.relu_population_risk(W, V), vl.relu_population_gradient(W, V))
    batched = vl.train(W0, loss_grad=lg, lr=0.2, tol=1e-5, max_iter=20_000, progress=False)
    assert len(set(batched.iterations.tolist())) > 1  # runs stop at different times
    for r in range(4):
        single = vl.train(W0[r : r + 1], loss_grad=lg, lr=0.2, tol=1e-5, max_iter=20_000, progress=False)
        assert int(single.iterations[0]) == int(batched.iterations[r])
        assert torch.allclose(single.params[0], batched.params[r], atol=1e-13)


def test_autograd_path_equals_closed_form(gen):
    V = torch.eye(3, dtype=f64)
    W0 = torch.randn(3, 3, 3, dtype=f64, generator=gen)
    a = vl.train(W0, loss_fn=lambda W: vl.relu_population_risk(W, V), lr=0.1, tol=1e-6, max_iter=300, progress=False)
    b = vl.train(W0, loss_grad=lambda W: (vl.relu_population_risk(W, V), vl.relu_population_gradient(W, V)),
                 lr=0.1, tol=1e-6, max_iter=300, progress=False)
    assert torch.equal(a.iterations, b.iterations)
    assert torch.allclose(a.params, b.params, atol=1e-10)


def test_divergence_restart_halves_step(gen):
    p0 = torch.full((2, 1), 1.0, dtype=f64)
    # lr 2.5 diverges on L = p^2/2 (|1 - lr| > 1); 1.25 converges after one halving.
    res = vl.train(p0, loss_grad=lambda p: (0.5 * (p * p).sum(-1), p), lr=2.5, tol=1e-9, max_iter=10_000,
                   on_divergence="restart", divergence_threshold=10.0, progress=False)
    assert bool(res.converged.all())
    assert torch.allclose(res.lr, torch.full((2,), 1.25, dtype=f64))


def test_divergence_stop_flags_run():
    p0 = torch.tensor([[1.0], [1e-3]], dtype=f64)
    res = vl.train(p0, loss_grad=lambda p: (0.5 * (p * p).sum(-1), 10 * p), lr=0.3, tol=1e-9, max_iter=500,
                   on_divergence="stop", divergence_threshold=1e3, progress=False)
    assert bool(res.diverged.all()) and not bool(res.converged.any())


def test_max_iter_cap_is_reported(gen):
    p0 = torch.ones(3, 2, dtype=f64)
    res = vl.train(p0, loss_grad=lambda p: (0.5 * (p * p).sum(-1), p), lr=1e-3, tol=1e-12, max_iter=50, progress=False)
    assert not bool(res.converged.any()) and bool((res.iterations == 50).all())


def test_adam_reaches_minimum(gen):
    target = torch.tensor([1.0, -2.0], dtype=f64)
    p0 = torch.randn(6, 2, dtype=f64, generator=gen)
    res = vl.train(p0, loss_grad=lambda p: (0.5 * ((p - target) ** 2).sum(-1), p - target), method="adam",
                   lr=0.05, tol=1e-6, max_iter=20_000, progress=False)
    assert bool(res.converged.all())
    assert torch.allclose(res.params, target.expand(6, 2), atol=1e-5)


def test_sgd_momentum_on_noisy_gradients(gen):
    target = torch.tensor([0.5, -1.0], dtype=f64)
    noise = torch.Generator().manual_seed(3)

    def noisy(p):  # an unbiased gradient estimate, as a mini-batch would give
        g = p - target + 0.01 * torch.randn(p.shape, dtype=f64, generator=noise)
        return 0.5 * ((p - target) ** 2).sum(-1), g

    p0 = torch.randn(8, 2, dtype=f64, generator=gen)
    res = vl.train(p0, loss_grad=noisy, method="sgd", momentum=0.5, lr=0.05, tol=1e-12, max_iter=2000, progress=False)
    assert torch.allclose(res.params, target.expand(8, 2), atol=0.01)
    with pytest.raises(ValueError, match="momentum=1.0"):
        vl.train(p0, loss_grad=noisy, method="sgd", momentum=1.0, progress=False)


def test_history_records_losses(gen):
    p0 = torch.randn(2, 2, dtype=f64, generator=gen)
    res = vl.train(p0, loss_grad=lambda p: (0.5 * (p * p).sum(-1), p), lr=0.5, tol=1e-10, max_iter=1000,
                   record_every=1, progress=False)
    assert res.history is not None and res.history.shape[1] == 2
    assert bool((res.history[1:] <= res.history[:-1] + 1e-15).all())  # GD on a convex quadratic descends


def test_max_row_norm():
    g = torch.tensor([[[3.0, 4.0], [0.0, 1.0]]])
    assert float(grad_norm(g, "max_row")[0]) == 5.0
    assert float(grad_norm(g)[0]) == pytest.approx(math.sqrt(26))


def test_bad_input():
    lg = lambda p: (p.sum(-1), p)
    with pytest.raises(ValueError, match="exactly one of loss_grad"):
        vl.train(torch.zeros(2, 2), progress=False)
    with pytest.raises(ValueError, match="lr=-1"):
        vl.train(torch.zeros(2, 2), loss_grad=lg, lr=-1, progress=False)
    with pytest.raises(ValueError, match="params0: contains"):
        vl.train(torch.tensor([[float("nan")]]), loss_grad=lg, progress=False)
    with pytest.raises(ValueError, match="method='lbfgs'"):
        vl.train(torch.zeros(2, 2), loss_grad=lg, method="lbfgs", progress=False)
    with pytest.raises(ValueError, match="norm='l1'"):
        vl.train(torch.zeros(2, 2), loss_grad=lg, norm="l1", progress=False)
