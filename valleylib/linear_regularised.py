"""A balancing regulariser for the shallow linear network (our reading of Zhu et al.'s first version).

The first arXiv version of Zhu, Soudry, Eldar and Wakin's paper says, in its abstract, that a
*regularizer on the training samples* "has no effect on the global minimum value; rather, it plays
a useful role in shrinking the set of critical points" and "speeds the convergence of iterative
algorithms ... in certain cases". Its form is not in the material we have. **The form below is
ours** (papers-venturi-zhu.md §B.2, the balancing term of low-rank factorisation):

.. math::

    g(W_1, W_2) = f(W_1, W_2) + \\frac{\\mu}{4}\\,\\|D\\|_F^2, \\qquad
    D = W_2^\\top W_2 - W_1 S W_1^\\top, \\qquad S = XX^\\top,

with :math:`f = \\tfrac12\\|W_2W_1X - Y\\|_F^2`. With :math:`B = W_1S^{1/2}` it is the balanced
factorisation :math:`\\tfrac12\\|W_2B - \\bar Y\\|_F^2 + \\tfrac\\mu4\\|W_2^\\top W_2 - BB^\\top\\|_F^2 + c_0`.

Gradients: :math:`\\nabla_{W_1} g = W_2^\\top E - \\mu D W_1 S`, :math:`\\nabla_{W_2} g = E W_1^\\top + \\mu W_2 D`
(:math:`E = W_2W_1S - YX^\\top`). Hessian quadratic form, direction :math:`\\Delta = (\\Delta_1, \\Delta_2)`:

.. math::

    \\Delta^\\top\\nabla^2 g\\,\\Delta = \\Delta^\\top\\nabla^2 f\\,\\Delta
      + \\frac\\mu2\\|\\dot D\\|_F^2 + \\mu\\langle D,\\ \\Delta_2^\\top\\Delta_2 - \\Delta_1S\\Delta_1^\\top\\rangle,
    \\qquad \\dot D = \\Delta_2^\\top W_2 + W_2^\\top\\Delta_2 - \\Delta_1SW_1^\\top - W_1S\\Delta_1^\\top .

Every global minimum value of :math:`f` is attained at a balanced point (:math:`D = 0`): the GL(d1)
orbit of any minimiser contains one (:func:`balanced_critical_points`), so :math:`\\min g = \\min f`.
"""
from __future__ import annotations

import torch

from ._checks import as_tensor, check_float, check_floating, check_ndim, check_positive_int
from .linear import (
    CriticalPoints,
    check_data,
    check_weights,
    critical_points,
    pack,
    shallow_hessian,
    shallow_loss_grad,
    unpack,
    whiten,
)

__all__ = ["balance_gap", "regularised_loss_grad", "regularised_hessian",
           "regularised_train_loss_grad", "balanced_critical_points"]


def _mu(mu) -> float:
    return check_float("mu", mu, minimum=0.0)


def balance_gap(W1, W2, X) -> torch.Tensor:
    """:math:`D = W_2^\\top W_2 - W_1XX^\\top W_1^\\top` ``(runs, d1, d1)`` (no runs dimension for single weights)."""
    X = as_tensor("X", X)
    check_floating("X", X)
    check_ndim("X", X, (2,), "(d0, N) with one sample per column")
    W2 = as_tensor("W2", W2)
    W1, W2, single = check_weights(W1, W2, X, X.new_zeros(W2.shape[-2], X.shape[1]))
    S = X @ X.T
    D = W2.transpose(-1, -2) @ W2 - W1 @ S @ W1.transpose(-1, -2)
    return D[0] if single else D


def regularised_loss_grad(W1, W2, X, Y,
                          mu: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:math:`g` and its closed-form gradients (module docstring); ``(loss, grad_W1, grad_W2)``."""
    mu = _mu(mu)
    X, Y = check_data(X, Y)
    W1, W2, single = check_weights(W1, W2, X, Y)
    loss, g1, g2 = shallow_loss_grad(W1, W2, X, Y)
    S = X @ X.T
    D = W2.transpose(-1, -2) @ W2 - W1 @ S @ W1.transpose(-1, -2)
    loss = loss + 0.25 * mu * (D * D).sum((-1, -2))
    g1 = g1 - mu * D @ W1 @ S
    g2 = g2 + mu * W2 @ D
    return (loss[0], g1[0], g2[0]) if single else (loss, g1, g2)


def regularised_train_loss_grad(X, Y, d1: int, mu: float):
    """A closed-form ``loss_grad`` of :math:`g` for :func:`valleylib.train` on packed ``(runs, P)``."""
    X, Y = check_data(X, Y)
    check_positive_int("d1", d1)
    mu = _mu(mu)
    d0, d2 = X.shape[0], Y.shape[0]
    S, C, yy = X @ X.T, Y @ X.T, (Y * Y).sum()

    def loss_grad(theta: torch.Tensor):
        W1, W2 = unpack(theta, d0, d1, d2)
        P = W2 @ W1
        PS = P @ S
        W1S = W1 @ S
        D = W2.transpose(-1, -2) @ W2 - W1S @ W1.transpose(-1, -2)
        loss = (0.5 * (PS * P).sum((-1, -2)) - (P * C).sum((-1, -2)) + 0.5 * yy
                + 0.25 * mu * (D * D).sum((-1, -2)))
        E = PS - C
        g1 = W2.transpose(-1, -2) @ E - mu * D @ W1S
        g2 = E @ W1.transpose(-1, -2) + mu * W2 @ D
        return loss, pack(g1, g2)

    return loss_grad


def regularised_hessian(W1, W2, X, Y, mu: float) -> torch.Tensor:
    """Dense Hessian of :math:`g` in the packed coordinates of :func:`valleylib.linear.pack`.

    :math:`\\nabla^2 g = \\nabla^2 f + \\tfrac\\mu2 J^\\top J + \\mu\\,\\mathrm{blockdiag}(-D\\otimes S,\\ I_{d_2}\\otimes D)`,
    with :math:`J` the Jacobian of :math:`\\mathrm{vec}\\,D` (the map :math:`\\Delta\\mapsto\\dot D`).
    Returns ``(runs, P, P)`` (no runs dimension for single weights).
    """
    mu = _mu(mu)
    X, Y = check_data(X, Y)
    W1, W2, single = check_weights(W1, W2, X, Y)
    runs, d1, d0 = W1.shape
    d2 = W2.shape[1]
    P = d1 * d0 + d2 * d1
    H = shallow_hessian(W1, W2, X, Y)
    S = X @ X.T
    D = W2.transpose(-1, -2) @ W2 - W1 @ S @ W1.transpose(-1, -2)
    # basis directions: (P, d1, d0) and (P, d2, d1)
    E1, E2 = unpack(torch.eye(P, dtype=W1.dtype, device=W1.device), d0, d1, d2)
    A = E2.transpose(-1, -2).unsqueeze(0) @ W2.unsqueeze(1)  # (runs, P, d1, d1): Delta2^T W2
    Bm = E1.unsqueeze(0) @ (S @ W1.transpose(-1, -2)).unsqueeze(1)  # Delta1 S W1^T
    J = (A + A.transpose(-1, -2) - Bm - Bm.transpose(-1, -2)).reshape(runs, P, d1 * d1)
    HR = 0.5 * J @ J.transpose(-1, -2)
    eye2 = torch.eye(d2, dtype=W1.dtype, device=W1.device)
    n1, n2 = d1 * d0, d2 * d1
    HR[:, :n1, :n1] -= torch.einsum("rab,ce->racbe", D, S).reshape(runs, n1, n1)
    HR[:, n1:, n1:] += torch.einsum("pq,rab->rpaqb", eye2, D).reshape(runs, n2, n2)
    H = H + mu * HR
    return H[0] if single else H


def balanced_critical_points(X, Y, d1: int, scale: float = 1.0) -> CriticalPoints:
    """:func:`valleylib.linear.critical_points` with, for each index set :math:`\\mathcal S`,
    :math:`K = c\\,\\mathrm{diag}(s_{\\mathcal S}^{1/2}, 1, \\dots)`, :math:`c` = ``scale``.

    At ``scale=1`` every point is balanced: :math:`W_2^\\top W_2 = W_1SW_1^\\top = \\mathrm{diag}(s_{\\mathcal S}, 0)`,
    so it is also a critical point of :math:`g`. Other ``scale`` give unbalanced points of the same
    orbits (critical for :math:`f`, not for :math:`g`).
    """
    scale = check_float("scale", scale, minimum=0.0, strict=True)
    check_positive_int("d1", d1)
    base = critical_points(X, Y, d1)
    w = whiten(X, Y)
    K = torch.zeros(base.count, d1, d1, dtype=w.S.dtype, device=w.S.device)
    for n, idx in enumerate(base.index_sets):
        diag = torch.ones(d1, dtype=w.S.dtype, device=w.S.device)
        for col, i in enumerate(idx):
            diag[col] = w.s[i].sqrt()
        K[n] = scale * torch.diag(diag)
    return critical_points(X, Y, d1, K=K)
