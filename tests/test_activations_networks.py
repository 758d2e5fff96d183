import math

import pytest
import torch

import valleylib as vl
from valleylib.activations import ACTIVATIONS, get_activation, polynomial


def test_registry_names_and_values():
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    assert torch.equal(get_activation("relu")(z), z.clamp(min=0))
    assert torch.allclose(get_activation("quadratic")(z), z**2)
    assert torch.allclose(get_activation("cubic")(z), z**3)
    assert torch.allclose(get_activation("linear")(z), z)
    assert torch.allclose(get_activation("erf")(z), torch.erf(z))
    assert set(ACTIVATIONS) >= {"relu", "linear", "quadratic", "tanh", "sigmoid", "erf", "softplus"}


def test_polynomial_coefficients_and_degree():
    p = get_activation([1.0, -2.0, 0.0, 0.5])
    z = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(p(z), 1 - 2 * z + 0.5 * z**3)
    assert p.is_polynomial and p.degree == 3
    assert not get_activation("relu").is_polynomial


def test_activation_bad_input():
    with pytest.raises(ValueError, match="activation='gelu' is not registered"):
        get_activation("gelu")
    with pytest.raises(TypeError, match="activation"):
        get_activation(3.0)
    with pytest.raises(ValueError, match="non-zero coefficient"):
        polynomial([0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        polynomial([1.0, float("nan")])


def test_two_layer_matches_loop(gen):
    runs, n, d, N = 4, 5, 3, 7
    W = torch.randn(runs, n, d, dtype=torch.float64, generator=gen)
    a = torch.randn(runs, n, dtype=torch.float64, generator=gen)
    b = torch.randn(runs, n, dtype=torch.float64, generator=gen)
    x = torch.randn(N, d, dtype=torch.float64, generator=gen)
    out = vl.two_layer(x, W, a, b, activation="tanh")
    for r in range(runs):
        for s in range(N):
            ref = sum(a[r, i] * math.tanh(float(W[r, i] @ x[s] + b[r, i])) for i in range(n))
            assert abs(float(out[r, s]) - ref) < 1e-12


def test_two_layer_single_and_matrix_output(gen):
    W = torch.randn(3, 2, dtype=torch.float64, generator=gen)
    x = torch.randn(5, 2, dtype=torch.float64, generator=gen)
    assert vl.two_layer(x, W).shape == (5,)
    U = torch.randn(1, 4, 3, dtype=torch.float64, generator=gen)
    out = vl.two_layer(x, W.unsqueeze(0), U, activation="relu")
    ref = torch.relu(x @ W.T) @ U[0].T
    assert out.shape == (1, 5, 4) and torch.allclose(out[0], ref)


def test_two_layer_permutation_invariance(gen):
    W = torch.randn(2, 6, 3, dtype=torch.float64, generator=gen)
    a = torch.randn(2, 6, dtype=torch.float64, generator=gen)
    x = torch.randn(10, 3, dtype=torch.float64, generator=gen)
    perm = torch.randperm(6, generator=gen)
    assert torch.allclose(vl.two_layer(x, W, a), vl.two_layer(x, W[:, perm], a[:, perm]))


def test_two_layer_bad_input(gen):
    x = torch.randn(5, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"W: expected shape \(runs, n, d\) or \(n, d\)"):
        vl.two_layer(x, torch.zeros(3))
    with pytest.raises(ValueError, match="x: last dimension is 3, expected the input dimension d=4"):
        vl.two_layer(x, torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="W: contains 1 non-finite"):
        vl.two_layer(x, torch.tensor([[float("nan"), 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"a: expected shape"):
        vl.two_layer(x, torch.zeros(2, 3, dtype=torch.float64), a=torch.zeros(5, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating-point"):
        vl.two_layer(x, torch.zeros(2, 3, dtype=torch.long))


def test_removed_names_say_where_their_work_went():
    for name in ("deep_linear", "deep_linear_product", "least_squares_fit"):
        with pytest.raises(AttributeError, match=f"valleylib.{name} was removed: "):
            getattr(vl, name)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        vl.nonexistent


def test_positive_rescaling_of_relu_units(gen):
    """a_i relu(w_i.x) = (a_i / c_i) relu(c_i w_i.x) for c_i > 0: the function is unchanged."""
    W = torch.randn(3, 4, 2, dtype=torch.float64, generator=gen)
    a = torch.randn(3, 4, dtype=torch.float64, generator=gen)
    c = torch.rand(3, 4, dtype=torch.float64, generator=gen) * 5 + 0.1
    x = torch.randn(20, 2, dtype=torch.float64, generator=gen)
    assert torch.allclose(vl.two_layer(x, W, a), vl.two_layer(x, W * c.unsqueeze(-1), a / c), atol=1e-12)


def test_draw_normal_draws_where_the_generator_lives_then_moves():
    from valleylib.networks import draw_normal

    g = torch.Generator().manual_seed(5)
    x = draw_normal((3, 2), g, torch.float64, "cpu")
    assert torch.equal(x, torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5)))
    # the same seed gives the same starts whatever the target device (here: the CPU, and meta for shape)
    y = draw_normal((3, 2), torch.Generator().manual_seed(5), torch.float64, "meta")
    assert y.device.type == "meta" and y.shape == (3, 2)
    W = vl.xavier_init(2, 3, 4, generator=torch.Generator().manual_seed(1), device="cpu")
    assert torch.equal(W, torch.randn(2, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) / 2)
