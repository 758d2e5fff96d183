"""Exact Hessian of the ReLU population risk against autograd, finite differences and closed forms."""
import math

import pytest
import torch

from valleylib.hessian import hessian_min_eigenvalue, relu_population_hessian, smallest_eigenvalues
from valleylib.population import relu_population_gradient, relu_population_risk

DT = torch.float64


def autograd_hessian(W, V):
    """Slow reference: dense autograd Hessian of the closed-form risk, one network at a time."""
    n, d = W.shape
    return torch.autograd.functional.hessian(lambda x: relu_population_risk(x.reshape(n, d), V), W.reshape(-1))


@pytest.mark.parametrize("n,k,d", [(3, 2, 4), (4, 4, 4), (2, 5, 3)])
def test_matches_autograd_batched(n, k, d, device):
    g = torch.Generator().manual_seed(n * 100 + k * 10 + d)
    W = torch.randn(3, n, d, dtype=DT, generator=g).to(device)
    V = torch.randn(k, d, dtype=DT, generator=g).to(device)
    H = relu_population_hessian(W, V)
    assert H.shape == (3, n * d, n * d) and H.device == W.device
    for r in range(3):
        torch.testing.assert_close(H[r], autograd_hessian(W[r], V), atol=1e-12, rtol=1e-10)


def test_matches_jacobian_of_closed_form_gradient_and_is_symmetric(device):
    g = torch.Generator().manual_seed(7)
    W = torch.randn(5, 6, dtype=DT, generator=g).to(device)
    V = torch.eye(6, dtype=DT, device=device)
    H = relu_population_hessian(W, V)
    J = torch.autograd.functional.jacobian(lambda x: relu_population_gradient(x.reshape(5, 6), V).reshape(-1), W.reshape(-1))
    torch.testing.assert_close(H, J, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(H, H.T, atol=0, rtol=0)


def test_flattening_is_row_major_over_neuron_then_coordinate():
    """Entry [i*d + a, j*d + b] is d^2 F / dW[i,a] dW[j,b] (central finite differences of the gradient)."""
    g = torch.Generator().manual_seed(3)
    W = torch.randn(3, 4, dtype=DT, generator=g)
    V = torch.randn(2, 4, dtype=DT, generator=g)
    H = relu_population_hessian(W, V)
    h = 1e-6
    for (j, b) in [(0, 1), (2, 3), (1, 0)]:
        E = torch.zeros_like(W)
        E[j, b] = h
        col = (relu_population_gradient(W + E, V) - relu_population_gradient(W - E, V)) / (2 * h)
        for (i, a) in [(0, 0), (2, 1), (1, 3)]:
            assert abs(float(H[i * 4 + a, j * 4 + b] - col[i, a])) < 1e-7


def test_single_network_and_permutation_equivariance():
    g = torch.Generator().manual_seed(11)
    W = torch.randn(4, 3, dtype=DT, generator=g)
    V = torch.eye(3, dtype=DT)
    H = relu_population_hessian(W, V)
    assert H.shape == (12, 12)
    torch.testing.assert_close(H, relu_population_hessian(W.unsqueeze(0), V)[0])
    perm = torch.tensor([2, 0, 3, 1])
    idx = (perm[:, None] * 3 + torch.arange(3)).reshape(-1)
    torch.testing.assert_close(relu_population_hessian(W[perm], V), H[idx][:, idx], atol=1e-14, rtol=0)


def test_global_minimum_is_finite_and_matches_gram_of_features():
    """At W = V = I the Hessian is E[phi phi^T] with phi_i = 1[x_i > 0] x (zero residual); its blocks are
    E[1[x_i>0] x x^T] = I/2 on the diagonal and E[1[x_i>0, x_j>0] x x^T] off it (closed form below)."""
    d = 3
    I = torch.eye(d, dtype=DT)
    H = relu_population_hessian(I, I)
    assert torch.isfinite(H).all()
    torch.testing.assert_close(H[:d, :d], 0.5 * I, atol=1e-15, rtol=0)
    # E[1[x1>0,x2>0] x x^T] for independent N(0,1): 1/4 on the (1,1),(2,2),(3,3) entries, 1/(2 pi) on (1,2).
    expected = torch.diag(torch.tensor([0.25, 0.25, 0.25], dtype=DT))
    expected[0, 1] = expected[1, 0] = 1 / (2 * math.pi)
    torch.testing.assert_close(H[:d, d:2 * d], expected, atol=1e-15, rtol=0)
    assert float(torch.linalg.eigvalsh(H)[0]) > 0


def test_smallest_eigenvalue_helpers():
    g = torch.Generator().manual_seed(5)
    W = torch.randn(4, 3, 3, dtype=DT, generator=g)
    V = torch.eye(3, dtype=DT)
    lam = hessian_min_eigenvalue(W, V, chunk=3)
    ref = torch.stack([torch.linalg.eigvalsh(autograd_hessian(W[r], V))[0] for r in range(4)])
    torch.testing.assert_close(lam, ref, atol=1e-12, rtol=0)
    assert smallest_eigenvalues(torch.diag(torch.tensor([3.0, 1.0, 2.0], dtype=DT)), 2).tolist() == [1.0, 2.0]


def test_bad_inputs_raise_helpfully():
    V = torch.eye(3, dtype=DT)
    with pytest.raises(ValueError, match="student row is zero"):
        relu_population_hessian(torch.zeros(2, 3, dtype=DT), V)
    with pytest.raises(ValueError, match="input dimension"):
        relu_population_hessian(torch.ones(2, 4, dtype=DT), V)
    with pytest.raises(ValueError, match=r"\(runs, n, d\) or \(n, d\)"):
        relu_population_hessian(torch.ones(3, dtype=DT), V)
    with pytest.raises(ValueError, match="square matrices"):
        smallest_eigenvalues(torch.ones(2, 3, dtype=DT))
    with pytest.raises(ValueError, match="m=5"):
        smallest_eigenvalues(torch.eye(3, dtype=DT), 5)
    with pytest.raises(ValueError, match="chunk"):
        hessian_min_eigenvalue(torch.ones(2, 3, dtype=DT), V, chunk=0)


def test_autodiff_hessian_matches_closed_forms_and_a_loop_of_single_runs():
    from valleylib.hessian import autodiff_hessian

    gen = torch.Generator().manual_seed(11)
    A = torch.randn(4, 6, 6, dtype=torch.float64, generator=gen)
    A = A + A.transpose(-1, -2)
    theta = torch.randn(4, 2, 3, dtype=torch.float64, generator=gen)

    def shared(t):  # 1/2 x'Ax has Hessian A at every point
        x = t.reshape(6)
        return 0.5 * x @ A[0] @ x

    H = autodiff_hessian(shared, theta, chunk=3)  # two chunks
    assert H.shape == (4, 6, 6) and H.dtype == torch.float64
    torch.testing.assert_close(H, A[0].expand(4, 6, 6), rtol=0, atol=1e-12)

    def cubic(t):
        return (t**3).sum() + t[0, 0] * t[1, 2]

    H = autodiff_hessian(cubic, theta)
    ref = torch.stack([torch.autograd.functional.hessian(lambda x: cubic(x.reshape(2, 3)), th.reshape(6))
                       for th in theta])
    torch.testing.assert_close(H, ref, rtol=1e-12, atol=1e-12)
    assert autodiff_hessian(cubic, theta[:0]).shape == (0, 6, 6)
    with pytest.raises(ValueError, match="theta"):
        autodiff_hessian(cubic, theta[0, 0])
    with pytest.raises(ValueError, match="theta"):
        autodiff_hessian(cubic, torch.full((2, 2, 3), float("nan"), dtype=torch.float64))
    with pytest.raises(TypeError, match="fn"):
        autodiff_hessian(3, theta)
