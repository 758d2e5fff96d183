"""The model :math:`\\Phi(x; W, U) = U\\sigma(Wx)` under a convex loss, batched over runs.

Notation (the book's, with Venturi, Bandeira & Bruna's letters in brackets): input dimension
``d`` [their ``n``], width ``n`` [their ``p``], outputs ``m``, hidden weights ``W (runs, n, d)``,
output weights ``a (runs, n)`` for one output or ``(runs, m, n)`` [their ``U``]. The risk of a
data distribution :math:`P` is

.. math::

    L(W, a) = \\mathbb E_{(x, y)\\sim P}\\, \\ell(\\Phi(x; W, a), y),

with a loss :math:`\\ell` convex in its first argument: the square loss
:math:`\\ell(z, y) = \\tfrac12\\|z - y\\|^2` or the logistic loss
:math:`\\ell(z, y) = \\log(1 + e^{-yz})`, :math:`y \\in \\{-1, +1\\}`. An empirical risk averages
over a sample; a population risk is the same average over a fresh sample of a sampler.

For fixed ``W`` the risk is convex in ``a``; :func:`output_layer_minimum` solves that problem
(least squares, or Newton's method for the logistic loss). :func:`polynomial_features` gives a
basis of the reproducing space of a polynomial activation on a sample (the monomials of the
degrees present), so :func:`function_space_minimum` computes the smallest risk any function of
that space reaches, independently of any network.

The module also holds the ReLU example with a spurious valley (:func:`relu_valley_risk`), whose
population risk is in closed form.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, Literal, Optional

import torch

from ._checks import (
    as_tensor,
    batch_weights,
    check_dtype,
    check_finite,
    check_float,
    check_floating,
    check_ndim,
    check_positive_int,
    check_same_device,
    tensor_arg,
)
from .activations import ActivationLike, get_activation
from .device import check_device
from .gaussian import arccos_kernel_matrix, gram
from .networks import two_layer

__all__ = [
    "LOSSES",
    "empirical_risk",
    "pack",
    "unpack",
    "output_layer_minimum",
    "polynomial_features",
    "function_space_minimum",
    "success_fraction",
    "descent_path",
    "relu_valley_sampler",
    "relu_valley_points",
    "relu_valley_risk",
]

Loss = Literal["square", "logistic"]


def _square_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\tfrac12 (z - y)^2` elementwise (summed over outputs by the callers)."""
    return 0.5 * (pred - y) ** 2


def _logistic_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:math:`\\log(1 + e^{-yz})` elementwise, for labels :math:`y \\in \\{-1, +1\\}`."""
    return torch.nn.functional.softplus(-y * pred)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"square": _square_loss, "logistic": _logistic_loss}


def _loss(loss: str):
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r}: expected one of {sorted(LOSSES)}")
    return LOSSES[loss]


def _data(x, y, d: int, dtype, device):
    x = as_tensor("x", x, dtype=dtype, device=device)
    check_ndim("x", x, (2,), "(N, d)")
    if x.shape[-1] != d:
        raise ValueError(f"x: last dimension is {x.shape[-1]}, expected the input dimension d={d} of W")
    y = as_tensor("y", y, dtype=dtype, device=device)
    check_ndim("y", y, (1, 2), "(N,) or (N, m)")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y: has {y.shape[0]} samples, expected N={x.shape[0]} like x")
    if x.shape[0] == 0:
        raise ValueError(
            f"x: expected at least one sample, got shape {tuple(x.shape)} (a mean over no samples "
            "is 0/0)")
    check_floating("x", x)
    check_floating("y", y)
    check_finite("x", x)
    check_finite("y", y)
    check_same_device(x=x, y=y)
    for name, t in (("x", x), ("y", y)):
        if device is not None and t.device != torch.device(device):
            raise ValueError(f"{name}: is on {t.device}, expected the device {device} of W")
    return x.to(dtype), y.to(dtype)


def _check_labels(loss: str, y: torch.Tensor) -> None:
    """The logistic loss log(1 + exp(-y z)) needs labels y in {-1, +1} (0/1 labels: silently wrong)."""
    if loss == "logistic" and not bool(((y == 1) | (y == -1)).all()):
        vals = sorted({float(v) for v in y.unique()[:5].tolist()})
        raise ValueError(f"y: the logistic loss expects labels -1 or +1, got values such as {vals}")


def empirical_risk(W, a, x, y, *, activation: ActivationLike = "quadratic", loss: Loss = "square") -> torch.Tensor:
    """Empirical risk :math:`\\frac1N \\sum_i \\ell(\\Phi(x_i; W, a), y_i)` of every run.

    Args:
        W: hidden weights ``(runs, n, d)`` or ``(n, d)``.
        a: output weights ``(runs, n)`` / ``(n,)`` (then ``y`` is ``(N,)``) or ``(runs, m, n)`` (``y`` is ``(N, m)``).
        x: inputs ``(N, d)``. y: targets ``(N,)`` or ``(N, m)``.
        activation: as :func:`~valleylib.activations.get_activation`.
        loss: ``"square"`` or ``"logistic"``.

    Returns:
        ``(runs,)``, or a scalar when ``W`` had no runs dimension.
    """
    fn = _loss(loss)
    Wb, single = batch_weights("W", W)
    x, y = _data(x, y, Wb.shape[-1], Wb.dtype, Wb.device)
    _check_labels(loss, y)
    pred = two_layer(x, Wb, a, activation=activation)
    if pred.ndim == 2 and y.ndim != 1:
        raise ValueError(f"y: expected shape (N,) for a one-output network, got {tuple(y.shape)}")
    if pred.ndim == 3 and (y.ndim != 2 or y.shape[1] != pred.shape[2]):
        raise ValueError(f"y: expected shape (N, {pred.shape[2]}) for an {pred.shape[2]}-output network, got {tuple(y.shape)}")
    ell = fn(pred, y.unsqueeze(0))
    risk = ell.flatten(1).sum(1) / x.shape[0]
    return risk[0] if single else risk


def pack(W: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """One tensor ``(runs, n, d + 1)`` holding ``W`` and a one-output ``a`` (for :func:`valleylib.train`)."""
    return torch.cat([W, a.unsqueeze(-1)], dim=-1)


def unpack(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`pack`: ``(W, a)``."""
    return params[..., :-1], params[..., -1]


def output_layer_minimum(W, x, y, *, activation: ActivationLike = "quadratic", loss: Loss = "square",
                         newton_steps: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise the (convex) empirical risk over the output weights with ``W`` fixed.

    Square loss: the least-squares problem :math:`\\min_a \\tfrac1{2N}\\|\\Phi_W a - y\\|^2`,
    :math:`(\\Phi_W)_{ij} = \\sigma(w_j^\\top x_i)`, solved with an SVD-based solver that accepts
    rank-deficient features. Logistic loss: damped Newton steps with backtracking (the infimum
    may not be attained on separable data; then the value approaches it).

    Args:
        W: ``(runs, n, d)`` or ``(n, d)``; x ``(N, d)``; y ``(N,)``.

    Returns:
        ``(a_star (runs, n), risk (runs,))`` (no runs dimension if ``W`` had none).
    """
    fn = _loss(loss)
    Wb, single = batch_weights("W", W)
    x, y = _data(x, y, Wb.shape[-1], Wb.dtype, Wb.device)
    if y.ndim != 1:
        raise ValueError(f"y: expected shape (N,) (one output), got {tuple(y.shape)}")
    _check_labels(loss, y)
    sigma = get_activation(activation)
    Phi = sigma(torch.matmul(x, Wb.transpose(-1, -2)))  # (runs, N, n)
    N = x.shape[0]
    if loss == "square":
        a = torch.linalg.pinv(Phi) @ y.unsqueeze(-1)
        a = a.squeeze(-1)
    else:
        check_positive_int("newton_steps", newton_steps)
        a = torch.zeros(Wb.shape[0], Wb.shape[1], dtype=Wb.dtype, device=Wb.device)

        def risk_of(a_):
            return fn(torch.einsum("rNn,rn->rN", Phi, a_), y).mean(-1)

        for _ in range(newton_steps):
            z = torch.einsum("rNn,rn->rN", Phi, a)
            s = torch.sigmoid(-y * z)
            g = -(Phi * (y * s).unsqueeze(-1)).sum(1) / N
            h = (s * (1 - s)).unsqueeze(-1)
            H = torch.einsum("rNi,rNj->rij", Phi * h, Phi) / N
            H = H + 1e-10 * torch.eye(H.shape[-1], dtype=H.dtype, device=H.device)
            step = torch.linalg.lstsq(H, g.unsqueeze(-1)).solution.squeeze(-1)
            t = torch.ones(a.shape[0], dtype=a.dtype, device=a.device)
            r0 = risk_of(a)
            for _ in range(30):
                worse = risk_of(a - t.unsqueeze(-1) * step) > r0
                if not bool(worse.any()):
                    break
                t = torch.where(worse, t / 2, t)
            a = a - t.unsqueeze(-1) * step
    pred = torch.einsum("rNn,rn->rN", Phi, a)
    risk = fn(pred, y).mean(-1)
    return (a[0], risk[0]) if single else (a, risk)


def polynomial_features(x, degrees) -> torch.Tensor:
    """All monomials :math:`x^\\alpha` with :math:`|\\alpha|` among ``degrees``: a basis of
    the reproducing space of a polynomial activation with those degrees, evaluated on ``x``.

    Returns ``(N, sum_k C(d+k-1, k))``.
    """
    x = as_tensor("x", x)
    check_ndim("x", x, (2,), "(N, d)")
    d = x.shape[1]
    cols = []
    for k in sorted({int(k) for k in degrees}):
        if k < 0:
            raise ValueError(f"degrees={degrees!r}: expected degrees >= 0")
        for combo in itertools.combinations_with_replacement(range(d), k):
            col = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
            for i in combo:
                col = col * x[:, i]
            cols.append(col)
    return torch.stack(cols, dim=1)


def function_space_minimum(x, y, activation: ActivationLike, *, loss: Loss = "square") -> float:
    """Smallest empirical risk of any function in :math:`V_\\sigma` on the sample (polynomial ``activation``).

    Solves :math:`\\min_c \\frac1N\\sum_i \\ell(\\langle c, \\psi(x_i)\\rangle, y_i)` over the monomial
    basis :math:`\\psi` of :func:`polynomial_features`: a convex problem that involves no network,
    so it is an independent reference for the global minimum of any width :math:`n \\ge \\dim^*`.
    """
    sigma = get_activation(activation)
    if not sigma.is_polynomial:
        raise ValueError(f"activation={sigma.name!r}: the function-space minimum is implemented for polynomial activations")
    x = tensor_arg("x", x, ndim=(2,), meaning="(N, d)")
    _loss(loss)
    degrees = [k for k, c in enumerate(sigma.coefficients) if c != 0]
    Psi = polynomial_features(x, degrees)
    # The monomials act as a linear "activation" on the features: reuse the output-layer solver.
    eye = torch.eye(Psi.shape[1], dtype=Psi.dtype, device=Psi.device)
    _, risk = output_layer_minimum(eye, Psi, y, activation="linear", loss=loss)
    return float(risk)


def success_fraction(final_risk, minimum: float, *, rtol: float = 1e-3, atol: float = 1e-6) -> float:
    """Fraction of runs whose risk is within ``atol + rtol * |minimum|`` of ``minimum``.

    >>> success_fraction(torch.tensor([1.0, 1.0005, 1.2]), 1.0)
    0.6666666666666666
    """
    r = as_tensor("final_risk", final_risk)
    check_floating("final_risk", r)
    if r.ndim != 1 or r.numel() == 0:
        raise ValueError(f"final_risk: expected a non-empty 1-d tensor of risks, got shape {tuple(r.shape)}")
    minimum = check_float("minimum", minimum)
    rtol = check_float("rtol", rtol, minimum=0.0)
    atol = check_float("atol", atol, minimum=0.0)
    ok = torch.isfinite(r) & (r - minimum <= atol + rtol * abs(minimum))
    return float(ok.double().mean())


def descent_path(W0, a0, x, y, *, activation: ActivationLike, steps: int = 20, seed: int = 0) -> dict:
    """The constructive non-increasing path from ``(W0, a0)`` to a global minimiser (one network).

    It needs ``n >= r``, where ``r`` is the dimension of the span of all features on the sample
    (``dim*`` for a polynomial activation, at most ``N`` for any activation).

    1. *Re-express.* Pick a maximal independent set :math:`S` of feature columns of
       :math:`\\Phi_{W_0}`; each other column is :math:`\\phi_j = \\sum_{i\\in S}\\lambda_{ji}\\phi_i`.
       Move :math:`a` linearly to :math:`a_i + \\sum_j \\lambda_{ji} a_j` on :math:`S` and 0 off
       it: the function, hence the risk, is constant.
    2. *Re-aim.* The units off :math:`S` have zero output weight; move them in a straight line
       to random directions, each chosen (among random draws) to add a new independent feature.
       The risk stays constant; afterwards the features span all ``r`` dimensions.
    3. *Convex.* With ``W`` fixed the risk is convex in ``a``; on the segment to the
       least-squares ``a*`` it is convex in ``t`` with its minimum at ``t = 1``, so it never increases.

    Returns:
        dict with ``t`` (path parameter in [0, 3]), ``risk`` along the path, ``phase`` boundaries,
        ``rank_before``/``rank_after``, and the end point ``W``, ``a`` (square loss).
    """
    W0 = tensor_arg("W0", W0, ndim=(2,), meaning="(n, d) (one network)")
    a0 = tensor_arg("a0", a0, like=W0, like_name="W0", ndim=(1,), meaning="(n,)")
    if a0.shape[0] != W0.shape[0]:
        raise ValueError(f"a0: has {a0.shape[0]} entries, expected n={W0.shape[0]}")
    check_positive_int("steps", steps, minimum=2)
    x, y = _data(x, y, W0.shape[1], W0.dtype, W0.device)
    sigma = get_activation(activation)
    n, d = W0.shape
    Phi = sigma(x @ W0.T)
    # Greedy maximal independent set of columns (column-pivoted Gram-Schmidt).
    tol = max(Phi.shape) * torch.finfo(Phi.dtype).eps * float(torch.linalg.matrix_norm(Phi, ord=2))
    S: list[int] = []
    for j in range(n):
        cand = S + [j]
        if torch.linalg.matrix_rank(Phi[:, cand], atol=tol).item() == len(cand):
            S = cand
    rest = [j for j in range(n) if j not in S]
    lam = torch.linalg.lstsq(Phi[:, S], Phi[:, rest]).solution if rest else torch.zeros(len(S), 0, dtype=Phi.dtype)
    a1 = torch.zeros_like(a0)
    a1[S] = a0[S] + (lam @ a0[rest] if rest else 0.0)
    # Reachable rank: features of many random directions on the sample.
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    probe = torch.randn(4 * max(n, x.shape[0]), d, generator=gen, dtype=W0.dtype).to(W0.device) / math.sqrt(d)
    r_full = int(torch.linalg.matrix_rank(sigma(x @ probe.T)))
    if n < r_full:
        raise ValueError(f"W0: width n={n} is below the dimension {r_full} of the feature span on the sample; the construction needs n >= {r_full}")
    # Re-aim the freed units greedily: each takes the first random direction that adds a new
    # independent feature (until the reachable rank is met), so the features end up spanning it.
    W2 = W0.clone()
    basis = Phi[:, S]
    for j in rest:
        for _ in range(100):
            w = torch.randn(d, generator=gen, dtype=W0.dtype).to(W0.device) / math.sqrt(d)
            cand = torch.cat([basis, sigma(x @ w).unsqueeze(1)], 1)
            if basis.shape[1] >= r_full or int(torch.linalg.matrix_rank(cand)) > basis.shape[1]:
                break
        W2[j] = w
        if int(torch.linalg.matrix_rank(cand)) > basis.shape[1]:
            basis = cand
    a_star, _ = output_layer_minimum(W2, x, y, activation=sigma)
    ts = torch.linspace(0, 1, steps, dtype=W0.dtype)
    risks, t_all = [], []

    def risk(W, a):
        return float(empirical_risk(W, a, x, y, activation=sigma))

    for phase in range(3):
        for t in ts:
            t = float(t)
            if phase == 0:
                W, a = W0, (1 - t) * a0 + t * a1
            elif phase == 1:
                W, a = (1 - t) * W0 + t * W2, a1
            else:
                W, a = W2, (1 - t) * a1 + t * a_star
            risks.append(risk(W, a))
            t_all.append(phase + t)
    rank_after = int(torch.linalg.matrix_rank(sigma(x @ W2.T)))
    return {
        "t": t_all,
        "risk": risks,
        "independent": S,
        "rank_before": len(S),
        "rank_after": rank_after,
        "rank_reachable": r_full,
        "W": W2,
        "a": a_star,
    }


# ----------------------------------------------------------------------------------------------
# A ReLU distribution with a spurious valley.
# ----------------------------------------------------------------------------------------------

def relu_valley_sampler(d: int, n: int, alpha: float, beta: float) -> Callable[[int, torch.Generator], tuple]:
    """Sampler of the ReLU example: with probability 1/2, :math:`x = (g_1, \\dots, g_{d-1}, 0)`,
    otherwise :math:`x = (0, \\dots, 0, g)`, Gaussian :math:`g`; target
    :math:`y = \\alpha\\sum_{i\\le n}[x_i]_+ - \\beta [x_d]_+`.
    """
    check_positive_int("d", d, minimum=3)
    check_positive_int("n", n, minimum=2)
    alpha = check_float("alpha", alpha)
    beta = check_float("beta", beta)
    if n > d - 1:
        raise ValueError(f"n={n}: the construction needs 2 <= n <= d - 1 = {d - 1}")

    def sample(N: int, gen: torch.Generator):
        z = torch.rand(N, generator=gen, dtype=torch.float64) < 0.5
        g = torch.randn(N, d, generator=gen, dtype=torch.float64)
        x = torch.where(z.unsqueeze(1), torch.cat([g[:, :-1], torch.zeros(N, 1, dtype=g.dtype)], 1),
                        torch.cat([torch.zeros(N, d - 1, dtype=g.dtype), g[:, -1:]], 1))
        y = alpha * torch.relu(x[:, :n]).sum(1) - beta * torch.relu(x[:, -1])
        return x, y

    return sample


def relu_valley_points(d: int, n: int, alpha: float, beta: float, *, dtype=torch.float64, device=None):
    """``(W_bad, a_bad, W_good, a_good)``: units :math:`e_1..e_n` with weights :math:`\\alpha`, and
    units :math:`e_1..e_{n-1}, e_d` with weights :math:`(\\alpha, \\dots, \\alpha, -\\beta)`."""
    relu_valley_sampler(d, n, alpha, beta)  # validates
    check_dtype("dtype", dtype)
    I = torch.eye(d, dtype=dtype, device=check_device(device, "device"))
    W_bad = I[:n].clone()
    a_bad = torch.full((n,), float(alpha), dtype=dtype, device=device)
    W_good = torch.cat([I[: n - 1], I[-1:]], 0)
    a_good = a_bad.clone()
    a_good[-1] = -float(beta)
    return W_bad, a_bad, W_good, a_good


def relu_valley_risk(W, a, alpha: float, beta: float, *, n_target: Optional[int] = None) -> torch.Tensor:
    """Closed-form population square-loss risk of the ReLU example (:func:`relu_valley_sampler`).

    Write :math:`w_i = (u_i, s_i)` with :math:`u_i \\in \\mathbb R^{d-1}`. Half of the mass sees
    :math:`G \\sim \\mathcal N(0, I_{d-1})`, where, with the arc-cosine kernel :math:`\\kappa`,

    .. math::  E_1 = \\mathbb E\\Big(\\sum_i a_i[u_i^\\top G]_+ - \\alpha\\sum_{j \\le n}[G_j]_+\\Big)^2
               = \\sum_{i,i'} a_i a_{i'}\\kappa(u_i,u_{i'}) - 2\\alpha\\sum_{i,j} a_i\\kappa(u_i,e_j) + \\alpha^2\\sum_{j,j'}\\kappa(e_j,e_{j'});

    the other half sees :math:`g \\sim \\mathcal N(0,1)`, where the network is
    :math:`A_+[g]_+ + A_-[-g]_+` with :math:`A_\\pm = \\sum_i a_i [\\pm s_i]_+`, so
    :math:`E_2 = \\tfrac12\\big((A_+ + \\beta)^2 + A_-^2\\big)`. The risk is
    :math:`L = \\tfrac12(\\tfrac12 E_1 + \\tfrac12 E_2)`.

    Args:
        W: ``(runs, n, d)`` or ``(n, d)``; a: ``(runs, n)`` or ``(n,)``.
        n_target: the number of teacher units :math:`[x_j]_+` (default: the width of ``W``).
    """
    Wb, single = batch_weights("W", W)
    alpha = check_float("alpha", alpha)
    beta = check_float("beta", beta)
    if Wb.shape[-1] < 2:
        raise ValueError(
            "W: expected input dimension d >= 2 (the last coordinate is the second branch), got "
            f"{Wb.shape[-1]}")
    a = as_tensor("a", a, dtype=Wb.dtype, device=Wb.device)
    check_floating("a", a)
    check_same_device(a=a, W=Wb)
    a = a.to(Wb.dtype)
    if a.ndim == 1:
        a = a.unsqueeze(0)
    if a.shape[-1] != Wb.shape[1] or a.ndim != 2:
        raise ValueError(f"a: expected shape (runs, {Wb.shape[1]}) or ({Wb.shape[1]},), got {tuple(a.shape)}")
    check_finite("a", a)
    runs, n, d = Wb.shape
    k = n if n_target is None else check_positive_int("n_target", n_target)
    if k > d - 1:
        raise ValueError(f"n_target={k}: expected at most d - 1 = {d - 1}")
    U, s = Wb[..., :-1], Wb[..., -1]
    E = torch.eye(d - 1, dtype=Wb.dtype, device=Wb.device)[:k]
    Kuu = gram(U, "relu")  # (runs, n, n), exact diagonal |u_i|^2 / 2
    Kue = arccos_kernel_matrix(U, E, same=False)  # (runs, n, k)
    Kee = gram(E, "relu")
    E1 = torch.einsum("ri,rij,rj->r", a, Kuu, a) - 2 * alpha * torch.einsum("ri,rij->r", a, Kue) + alpha**2 * Kee.sum()
    Ap = (a * torch.relu(s)).sum(-1)
    Am = (a * torch.relu(-s)).sum(-1)
    E2 = 0.5 * ((Ap + beta) ** 2 + Am**2)
    risk = 0.25 * (E1 + E2)
    return risk[0] if single else risk
