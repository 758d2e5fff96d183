"""Closed-form random features: Gaussian kernels, exact output layers, NNLS, sample least squares, power laws."""
import itertools
import math

import numpy as np
import pytest
import torch
from reference import sample_least_squares

import valleylib as vl
from valleylib.gaussian import KERNEL_ACTIVATIONS, arccos_kernel, gaussian_kernel, gaussian_risk
from valleylib.random_features import (
    fit_power_law,
    random_features_curve,
    random_features_fit,
    relu_rate,
)

f64 = torch.float64
SIGMA = {"relu": torch.relu, "erf": torch.erf}


def gaussian_samples(N, d, seed):
    """N standard Gaussian inputs in R^d from a seeded generator."""
    return torch.randn(N, d, dtype=f64, generator=torch.Generator().manual_seed(seed))


def numpy_rf_reference(W, V, c, activation):
    """Dense reference, one run at a time: a = G^{-1} b and E = (|f*|^2 - b^T a) / 2 via numpy."""
    Vn = V.numpy()
    tt = float(c.numpy() @ gaussian_kernel(V, V, activation).numpy() @ c.numpy())
    coefs, errs = [], []
    for Wr in W:
        G = gaussian_kernel(Wr, Wr, activation).numpy()
        b = gaussian_kernel(Wr, torch.as_tensor(Vn), activation).numpy() @ c.numpy()
        a = np.linalg.solve(G, b)
        coefs.append(a)
        errs.append(0.5 * (tt - b @ a))
    return np.array(coefs), np.array(errs)


@pytest.mark.parametrize("activation", KERNEL_ACTIVATIONS)
def test_gaussian_kernel_vs_monte_carlo(activation, gen):
    """K(a_i, b_j) matches E sigma(a_i.x) sigma(b_j.x) on 400k Gaussian samples within 5 standard errors."""
    A = torch.randn(3, 4, dtype=f64, generator=gen)
    B = torch.randn(2, 4, dtype=f64, generator=gen)
    x = gaussian_samples(400_000, 4, seed=11)
    sig = SIGMA[activation]
    prod = sig(x @ A.T).unsqueeze(-1) * sig(x @ B.T).unsqueeze(-2)  # (N, 3, 2)
    mean, se = prod.mean(0), prod.std(0) / math.sqrt(x.shape[0])
    K = gaussian_kernel(A, B, activation)
    assert K.shape == (3, 2)
    z = (K - mean).abs() / se
    assert bool((z < 5).all()), z


def test_relu_kernel_is_the_arccos_kernel(gen):
    """The relu Gaussian kernel equals arccos_kernel entry by entry, with the exact |w|^2/2 diagonal."""
    A = torch.randn(5, 3, dtype=f64, generator=gen)
    B = torch.randn(4, 3, dtype=f64, generator=gen)
    ref = arccos_kernel(A.unsqueeze(1), B.unsqueeze(0))
    torch.testing.assert_close(gaussian_kernel(A, B), ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gaussian_kernel(A, A).diagonal(), (A * A).sum(-1) / 2, rtol=1e-14, atol=0)
    # batch dimensions broadcast
    Ab = torch.randn(2, 5, 3, dtype=f64, generator=gen)
    Kb = gaussian_kernel(Ab, B)
    assert Kb.shape == (2, 5, 4)
    torch.testing.assert_close(Kb[1], gaussian_kernel(Ab[1], B), rtol=1e-14, atol=0)


def test_gaussian_risk_relu_unit_weights_is_relu_population_risk(gen):
    """With a = c = 1 the relu risk is valleylib.relu_population_risk, batched and single."""
    W = torch.randn(6, 4, 3, dtype=f64, generator=gen)
    V = torch.randn(2, 3, dtype=f64, generator=gen)
    torch.testing.assert_close(gaussian_risk(W, V), vl.relu_population_risk(W, V), rtol=1e-12, atol=1e-14)
    single = gaussian_risk(W[0], V)
    assert single.ndim == 0
    assert float(single) == pytest.approx(float(vl.relu_population_risk(W[0], V)), rel=1e-12)


def test_gaussian_risk_erf_weighted_vs_monte_carlo(gen):
    """The erf risk with random output weights a, c matches a 400k-sample Monte Carlo estimate."""
    W = torch.randn(3, 4, 3, dtype=f64, generator=gen)
    V = torch.randn(2, 3, dtype=f64, generator=gen)
    a = torch.randn(3, 4, dtype=f64, generator=gen)
    c = torch.randn(2, dtype=f64, generator=gen)
    x = gaussian_samples(400_000, 3, seed=5)
    teacher = torch.erf(x @ V.T) @ c  # (N,)
    student = (torch.erf(torch.einsum("nd,rpd->rnp", x, W)) * a.unsqueeze(1)).sum(-1)  # (runs, N)
    loss = 0.5 * (student - teacher) ** 2
    mean, se = loss.mean(-1), loss.std(-1) / math.sqrt(x.shape[0])
    exact = gaussian_risk(W, V, activation="erf", a=a, c=c)
    z = (exact - mean).abs() / se
    assert bool((z < 5).all()), z


@pytest.mark.parametrize("activation", KERNEL_ACTIVATIONS)
def test_random_features_fit_matches_numpy_solve(activation, gen, device):
    """Batched exact output layer equals a per-run numpy solve of G a = b (coefficients and error)."""
    W = torch.randn(5, 6, 4, dtype=f64, generator=gen) / 2
    V = torch.randn(3, 4, dtype=f64, generator=gen)
    c = torch.randn(3, dtype=f64, generator=gen)
    coef, err = numpy_rf_reference(W, V, c, activation)
    W, V, c = W.to(device), V.to(device), c.to(device)
    fit = random_features_fit(W, V, activation=activation, c=c)
    assert fit.coef.device == fit.error.device == W.device
    np.testing.assert_allclose(fit.coef.cpu().numpy(), coef, rtol=1e-8, atol=1e-10 * np.abs(coef).max())
    np.testing.assert_allclose(fit.error.cpu().numpy(), err, rtol=1e-8, atol=1e-12)
    assert bool((fit.error > 1e-6).all())  # the problem is not trivially solved
    tt = float(c @ gaussian_kernel(V, V, activation) @ c)
    assert fit.target_energy == pytest.approx(0.5 * tt, rel=1e-14)
    assert bool((fit.kkt == 0).all())


@pytest.mark.parametrize("activation", KERNEL_ACTIVATIONS)
def test_fit_error_is_the_risk_at_its_coefficients(activation, gen):
    """fit.error equals gaussian_risk(W, V, a=fit.coef); single networks return unbatched fields."""
    W = torch.randn(4, 7, 3, dtype=f64, generator=gen)
    V = torch.randn(2, 3, dtype=f64, generator=gen)
    fit = random_features_fit(W, V, activation=activation)
    risk = gaussian_risk(W, V, activation=activation, a=fit.coef)
    torch.testing.assert_close(fit.error, risk, rtol=1e-9, atol=1e-13)
    one = random_features_fit(W[2], V, activation=activation)
    assert one.error.ndim == 0 and one.coef.shape == (7,)
    assert float(one.error) == pytest.approx(float(fit.error[2]), rel=1e-10)


@pytest.mark.parametrize("activation", KERNEL_ACTIVATIONS)
def test_exact_fit_when_features_contain_the_teacher(activation, gen):
    """When W contains the teacher rows the error is ~0 and the teacher weights are recovered."""
    V = torch.randn(3, 4, dtype=f64, generator=gen)
    c = torch.tensor([1.0, -0.5, 2.0], dtype=f64)
    extra = torch.randn(2, 3, 4, dtype=f64, generator=gen)
    W = torch.cat([V.expand(2, 3, 4), extra], dim=1)  # teacher rows first, then random ones
    fit = random_features_fit(W, V, activation=activation, c=c)
    assert bool((fit.error < 1e-9 * fit.target_energy).all()), fit.error
    torch.testing.assert_close(fit.coef[:, :3], c.expand(2, 3), rtol=0, atol=1e-5)
    torch.testing.assert_close(fit.coef[:, 3:], torch.zeros(2, 3, dtype=f64), rtol=0, atol=1e-5)


def test_error_non_increasing_over_nested_feature_sets(gen):
    """Appending features to the same W never increases the least-squares error (nested subspaces)."""
    V = torch.eye(4, dtype=f64)
    W = torch.randn(3, 40, 4, dtype=f64, generator=gen) / 2
    errs = torch.stack([random_features_fit(W[:, :p], V).error for p in (1, 2, 4, 8, 16, 24, 40)])  # (widths, runs)
    scale = float(errs[0].max())
    assert bool((errs[1:] <= errs[:-1] + 1e-12 * scale).all()), errs
    assert bool((errs[-1] < 0.5 * errs[0]).all())  # and it does decrease substantially


def test_population_error_vs_sample_least_squares(gen):
    """The population RF error agrees with least squares on 200k samples of (sigma(x W^T), f*(x))."""
    d, p, runs, N = 3, 6, 3, 200_000
    V = torch.eye(d, dtype=f64)
    W = torch.randn(runs, p, d, dtype=f64, generator=gen) / math.sqrt(d)
    x = gaussian_samples(N, d, seed=3)
    y = torch.relu(x @ V.T).sum(-1)
    Phi = torch.relu(torch.einsum("nd,rpd->rnp", x, W))
    coef, risk = sample_least_squares(Phi, y)
    fit = random_features_fit(W, V)
    # the population-optimal residual r has E r^2 = 2E; its sample half-mean-square has standard error
    # ~ sd(r^2 / 2) / sqrt(N), and the in-sample fit is biased low by about E * p / N
    resid = (Phi @ fit.coef.unsqueeze(-1)).squeeze(-1) - y
    se = (0.5 * resid**2).std(-1) / math.sqrt(N)
    assert bool(((risk - fit.error).abs() < 6 * se + 2 * fit.error * p / N).all()), (risk, fit.error, se)
    assert bool((risk <= (0.5 * resid**2).mean(-1) + 1e-12).all())  # sample optimum beats the population coef
    torch.testing.assert_close(coef, fit.coef, rtol=0, atol=0.05 * float(fit.coef.abs().max()))


def brute_force_nnls(G, b, tt):
    """min_{a >= 0} (a^T G a - 2 b^T a + tt) / 2 over every active set: solve the restricted problem, keep feasible ones."""
    p = len(b)
    best = 0.5 * tt  # a = 0
    best_a = np.zeros(p)
    for r in range(1, p + 1):
        for S in itertools.combinations(range(p), r):
            S = list(S)
            aS = np.linalg.solve(G[np.ix_(S, S)], b[S])
            if (aS >= 0).all():
                a = np.zeros(p)
                a[S] = aS
                val = 0.5 * (a @ G @ a - 2 * b @ a + tt)
                if val < best:
                    best, best_a = val, a
    return best, best_a


def test_nonnegative_fit_against_brute_force(gen):
    """NNLS: a >= 0, small KKT residual, error >= unconstrained, and equal to the enumerated active-set optimum (p=3)."""
    d, runs = 3, 12
    V = torch.eye(d, dtype=f64)
    c = torch.tensor([1.0, 1.0, -0.7], dtype=f64)
    W = torch.randn(runs, 3, d, dtype=f64, generator=gen)
    nn = random_features_fit(W, V, c=c, nonnegative=True)
    free = random_features_fit(W, V, c=c)
    # the test is only informative if the constraint binds on some runs and not on others
    binds = (free.coef < 0).any(-1)
    assert 0 < int(binds.sum()) < runs
    assert bool((nn.coef >= 0).all())
    assert bool((nn.kkt <= 1e-7).all()), nn.kkt
    assert bool((nn.error >= free.error - 1e-12).all())
    assert bool((nn.error[binds] > free.error[binds] + 1e-8).all())
    torch.testing.assert_close(nn.error, gaussian_risk(W, V, a=nn.coef, c=c), rtol=1e-9, atol=1e-13)
    tt = 2 * nn.target_energy
    for r in range(runs):
        G = gaussian_kernel(W[r], W[r]).numpy()
        b = gaussian_kernel(W[r], V).numpy() @ c.numpy()
        best, best_a = brute_force_nnls(G, b, tt)
        assert float(nn.error[r]) == pytest.approx(best, rel=1e-7, abs=1e-12)
        np.testing.assert_allclose(nn.coef[r].numpy(), best_a, atol=1e-5)


def test_fit_power_law_and_relu_rate():
    """fit_power_law recovers slope and intercept of an exact power law; relu_rate(d) = -3/(d-1)."""
    p = np.array([2, 4, 8, 16, 32, 64])
    err = math.exp(0.7) * p**-1.5
    slope, intercept = fit_power_law(p.tolist(), err.tolist())
    assert slope == pytest.approx(-1.5, abs=1e-12)
    assert intercept == pytest.approx(0.7, abs=1e-12)
    noisy = err * np.exp(np.array([0.01, -0.01, 0.01, -0.01, 0.01, -0.01]))
    assert fit_power_law(p, noisy)[0] == pytest.approx(-1.5, abs=0.02)
    assert relu_rate(4) == -1.0
    assert relu_rate(7) == pytest.approx(-0.5, abs=1e-15)
    assert relu_rate(2) == -3.0
    with pytest.raises(ValueError, match="d="):
        relu_rate(1)


def test_bad_inputs_raise_clear_errors(gen):
    """Unknown activation, wrong V dimension, wrong c shape, non-positive errors: errors naming the argument."""
    W = torch.randn(2, 3, 4, dtype=f64, generator=gen)
    V = torch.eye(4, dtype=f64)
    with pytest.raises(ValueError, match="activation='tanh'"):
        random_features_fit(W, V, activation="tanh")
    with pytest.raises(ValueError, match="activation"):
        gaussian_kernel(W[0], V, activation="softplus")
    with pytest.raises(ValueError, match="activation"):
        gaussian_risk(W, V, activation="sigmoid")
    with pytest.raises(ValueError, match="V: last dimension"):
        random_features_fit(W, torch.eye(3, dtype=f64))
    with pytest.raises(ValueError, match="B: last dimension"):
        gaussian_kernel(W[0], torch.eye(3, dtype=f64))
    with pytest.raises(ValueError, match="c: expected shape"):
        random_features_fit(W, V, c=torch.ones(3, dtype=f64))
    with pytest.raises(ValueError, match="c: expected shape"):
        gaussian_risk(W, V, c=torch.ones(4, 1, dtype=f64))
    with pytest.raises(ValueError, match="a: expected shape"):
        gaussian_risk(W, V, a=torch.ones(2, 4, dtype=f64))
    with pytest.raises(TypeError, match="V:"):
        gaussian_risk(W, "teacher")
    with pytest.raises(ValueError, match="err"):
        fit_power_law([1, 2, 4], [1.0, 0.0, 0.5])
    with pytest.raises(ValueError, match="err"):
        fit_power_law([1, 2, 4], [1.0, -0.1, 0.5])
    with pytest.raises(ValueError, match="p, err"):
        fit_power_law([1, 2, 4], [1.0, 0.5])
    with pytest.raises(ValueError, match="ridge"):
        random_features_fit(W, V, ridge=-1.0)


def test_random_features_curve_relu_identity_teacher():
    """The curve has the documented keys, one value per width, and the error drops from p=8 to p=64."""
    V = torch.eye(4, dtype=f64)
    out = random_features_curve((8, 64), V, draws=8, generator=torch.Generator().manual_seed(0))
    assert set(out) == {"p", "mean", "geomean", "median", "q10", "q90", "target_energy"}
    assert out["p"] == [8, 64]
    for key in ("mean", "geomean", "median", "q10", "q90"):
        assert len(out[key]) == 2
        assert out[key][1] < out[key][0], key
    for i in range(2):
        assert 0 < out["q10"][i] <= out["median"][i] <= out["q90"][i]
        assert out["geomean"][i] <= out["mean"][i] * (1 + 1e-12)  # AM-GM
        assert out["mean"][i] < out["target_energy"]
    assert out["target_energy"] == pytest.approx(float(vl.relu_population_risk(torch.zeros(1, 4, dtype=f64), V)), rel=1e-12)
    assert out["geomean"][1] < 0.1 * out["geomean"][0]  # relu_rate(4) = -1: about 8x smaller for 8x the features
    # reproduce from the same generator: draws of N(0, 1/d) rows, one exact fit each
    g = torch.Generator().manual_seed(0)
    for i, p in enumerate((8, 64)):
        err = random_features_fit(torch.randn(8, p, 4, dtype=f64, generator=g) / 2, V).error
        assert out["mean"][i] == pytest.approx(float(err.mean()), rel=1e-12)
        assert out["geomean"][i] == pytest.approx(float(err.log().mean().exp()), rel=1e-12)


def test_gaussian_kernels_have_one_home_and_the_old_paths_still_work():
    import valleylib.gaussian as g
    import valleylib.population as pop
    import valleylib.random_features as rf

    assert g.gaussian_risk is rf.gaussian_risk
    assert vl.arccos_kernel is g.arccos_kernel is pop.arccos_kernel
    assert rf.gaussian_kernel is g.gaussian_kernel and rf.KERNEL_ACTIVATIONS is g.KERNEL_ACTIVATIONS
    for name in g.__all__:
        assert name == "KERNEL_ACTIVATIONS" or getattr(g, name).__module__ == "valleylib.gaussian", name
    W = torch.randn(3, 4, 2, dtype=f64, generator=torch.Generator().manual_seed(1))
    G = g.gram(W, "relu")
    torch.testing.assert_close(torch.diagonal(G, dim1=-2, dim2=-1), 0.5 * (W * W).sum(-1), rtol=0, atol=0)
    torch.testing.assert_close(G, gaussian_kernel(W, W), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g.gram(W, "erf"), gaussian_kernel(W, W, "erf"), rtol=0, atol=0)
    with pytest.raises(ValueError, match="c: expected shape \\(2,\\)"):
        g.check_teacher_outputs(torch.eye(2, dtype=f64), torch.ones(3, dtype=f64), W)
    big = W * 2.0**300
    s = g.row_scales(big, torch.eye(2, dtype=f64))
    assert bool(((s * big.abs().amax((-1, -2))) < 2).all()) and bool((torch.frexp(s)[0] == 0.5).all())
