"""Linear networks: closed-form landscape of the shallow problem, and deep linear networks.

Shallow linear network (one hidden layer of width ``d1``, no nonlinearity), data
:math:`X \\in \\mathbb R^{d_0\\times N}` (one sample per column) and targets
:math:`Y \\in \\mathbb R^{d_2\\times N}`:

.. math::

    f(W_1, W_2) = \\tfrac12 \\|W_2 W_1 X - Y\\|_F^2, \\qquad
    W_1 \\in \\mathbb R^{d_1\\times d_0},\\ W_2 \\in \\mathbb R^{d_2\\times d_1}.

With :math:`S = XX^\\top`, :math:`C = YX^\\top` and the residual :math:`E = W_2W_1S - C`,

.. math::

    \\nabla_{W_1} f = W_2^\\top E, \\qquad \\nabla_{W_2} f = E\\,W_1^\\top,

and the Hessian is the quadratic form, for a direction :math:`D = (D_1, D_2)`,

.. math::

    D^\\top \\nabla^2 f\\, D = \\|(D_2W_1 + W_2D_1)X\\|_F^2 + 2\\langle W_2W_1X - Y,\\ D_2D_1X\\rangle .

**Whitening.** When :math:`S \\succ 0`, put :math:`\\bar Y = C S^{-1/2}` and :math:`B = W_1S^{1/2}`; then

.. math::

    f = \\tfrac12\\|W_2 B - \\bar Y\\|_F^2 + c_0, \\qquad c_0 = \\tfrac12\\|Y\\|_F^2 - \\tfrac12\\|\\bar Y\\|_F^2,

a low-rank factorisation problem. With the SVD :math:`\\bar Y = \\sum_i s_i u_i v_i^\\top`, the
global minimum value is (Eckart–Young) :math:`f^\\star = c_0 + \\tfrac12\\sum_{i > d_1} s_i^2`.

**Critical points.** For every index set :math:`\\mathcal S \\subseteq \\{i : s_i > 0\\}` with
:math:`|\\mathcal S| \\le d_1` and every invertible :math:`K \\in GL(d_1)`,

.. math::

    W_2 = [U_{\\mathcal S}\\ 0]\\,K, \\qquad W_1 = K^{-1}\\begin{bmatrix}\\mathrm{diag}(s_{\\mathcal S})V_{\\mathcal S}^\\top\\\\ 0\\end{bmatrix} S^{-1/2}

is a critical point with product :math:`W_2W_1 = U_{\\mathcal S}\\mathrm{diag}(s_{\\mathcal S})V_{\\mathcal S}^\\top S^{-1/2}`
and risk :math:`c_0 + \\tfrac12\\sum_{i\\notin\\mathcal S} s_i^2`. The map
:math:`(W_1, W_2) \\mapsto (K^{-1}W_1, W_2K)` is the :math:`GL(d_1)` symmetry of :math:`f`.

Deep linear networks :math:`f = \\tfrac12\\|W_L\\cdots W_1X - Y\\|_F^2` have closed-form gradients
:math:`\\nabla_{W_l} f = (W_L\\cdots W_{l+1})^\\top E\\,(W_{l-1}\\cdots W_1)^\\top` with
:math:`E = W_L\\cdots W_1 S - C`.

The loss, gradient and Hessian need no assumption on the data. Whitening, the enumeration of
critical points, :func:`global_minimum_value` and :func:`saddle_curvature_bound` need
:math:`XX^\top` invertible and raise a ``ValueError`` naming the rank of ``X`` otherwise. A
rank-deficient target only lowers the number of index sets (indices of zero singular values are
left out).

Every function is batched over a leading ``runs`` dimension and follows the device and dtype of
its inputs (use float64 where tolerances matter).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from ._checks import (
    as_tensor,
    check_finite,
    check_float,
    check_floating,
    check_ndim,
    check_per_run,
    check_positive_int,
    check_same_device,
    tensor_arg,
)

__all__ = [
    "Whitened",
    "whiten",
    "shallow_loss",
    "shallow_loss_grad",
    "shallow_hessian",
    "pack",
    "unpack",
    "shallow_train_loss_grad",
    "global_minimum_value",
    "CriticalPoints",
    "critical_points",
    "Classification",
    "classify",
    "classify_shallow",
    "saddle_curvature_bound",
    "global_minimum_path",
    "deep_linear_loss_grad",
    "deep_linear_hessian",
]


# ----------------------------------------------------------------------------------------------
# Data and whitening
# ----------------------------------------------------------------------------------------------

def _data(X, Y) -> tuple[torch.Tensor, torch.Tensor]:
    X = as_tensor("X", X)
    Y = as_tensor("Y", Y)
    for name, t in (("X", X), ("Y", Y)):
        check_floating(name, t)
        check_ndim(name, t, (2,), f"({'d0' if name == 'X' else 'd2'}, N) with one sample per column")
        check_finite(name, t)
    check_same_device(X=X, Y=Y)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y: expected the same number of samples N (columns), got X {tuple(X.shape)} and Y {tuple(Y.shape)}"
        )
    if X.dtype != Y.dtype:
        raise ValueError(f"X and Y: expected one dtype, got {X.dtype} and {Y.dtype}")
    return X, Y


@dataclass(frozen=True)
class Whitened:
    """The whitened problem :math:`\\tfrac12\\|W_2B - \\bar Y\\|_F^2 + c_0` (see the module docstring).

    Attributes:
        S: :math:`XX^\\top` ``(d0, d0)``.
        S_half, S_inv_half: :math:`S^{1/2}`, :math:`S^{-1/2}`.
        C: :math:`YX^\\top` ``(d2, d0)``.
        Ybar: :math:`\\bar Y = CS^{-1/2}` ``(d2, d0)``.
        U, s, Vh: SVD of :math:`\\bar Y` (``s`` descending, length ``min(d2, d0)``).
        c0: :math:`\\tfrac12\\|Y\\|_F^2 - \\tfrac12\\|\\bar Y\\|_F^2` (the least-squares residual).
        yy: :math:`\\|Y\\|_F^2`.
        rank: numerical rank of :math:`\\bar Y`.
    """

    S: torch.Tensor
    S_half: torch.Tensor
    S_inv_half: torch.Tensor
    C: torch.Tensor
    Ybar: torch.Tensor
    U: torch.Tensor
    s: torch.Tensor
    Vh: torch.Tensor
    c0: float
    yy: float
    rank: int

    @property
    def dims(self) -> tuple[int, int]:
        """``(d0, d2)``."""
        return int(self.S.shape[0]), int(self.C.shape[0])


def whiten(X, Y, *, rcond: float = 1e-10) -> Whitened:
    """Whitening reduction of the shallow linear problem.

    Args:
        X: inputs ``(d0, N)``, one sample per column; :math:`XX^\\top` must be invertible.
        Y: targets ``(d2, N)``.
        rcond: :math:`XX^\\top` counts as singular when its smallest eigenvalue is at most
            ``rcond`` times its largest.

    Raises:
        ValueError: shape mismatch, non-finite data, or :math:`XX^\\top` not invertible (rank of
            ``X`` below ``d0``); the message says which and what to do.

    >>> w = whiten(torch.eye(2, dtype=torch.float64), torch.tensor([[3.0, 0.0]], dtype=torch.float64))
    >>> w.s.tolist(), w.c0
    ([3.0], 0.0)
    """
    X, Y = _data(X, Y)
    d0, N = X.shape
    S = X @ X.T
    evals, evecs = torch.linalg.eigh(S)
    top = float(evals[-1]) if evals.numel() else 0.0
    if N < d0 or not float(evals[0]) > rcond * max(top, torch.finfo(X.dtype).tiny):
        rank = int(torch.linalg.matrix_rank(X))
        raise ValueError(
            f"X X^T is not invertible: X has shape {tuple(X.shape)} and rank {rank} < d0={d0} "
            f"(smallest eigenvalue of X X^T {float(evals[0]):.3g}, largest {top:.3g}). The whitening reduction "
            "needs X of full row rank (N >= d0 samples spanning R^d0); drop redundant input coordinates first."
        )
    S_half = (evecs * evals.sqrt()) @ evecs.T
    S_inv_half = (evecs * evals.rsqrt()) @ evecs.T
    C = Y @ X.T
    Ybar = C @ S_inv_half
    U, s, Vh = torch.linalg.svd(Ybar, full_matrices=False)
    yy = float((Y * Y).sum())
    c0 = 0.5 * yy - 0.5 * float((s * s).sum())
    tol = max(Ybar.shape) * torch.finfo(X.dtype).eps * (float(s[0]) if s.numel() else 0.0)
    rank = int((s > tol).sum())
    return Whitened(S, S_half, S_inv_half, C, Ybar, U, s, Vh, max(c0, 0.0), yy, rank)


def global_minimum_value(X, Y, d1: int) -> float:
    """Eckart–Young value :math:`f^\\star = c_0 + \\tfrac12\\sum_{i>d_1} s_i^2` of the shallow problem.

    >>> global_minimum_value(torch.eye(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64) * torch.tensor([[2.0], [1.0]], dtype=torch.float64), 1)
    0.5
    """
    check_positive_int("d1", d1)
    w = whiten(X, Y)
    return w.c0 + 0.5 * float((w.s[d1:] ** 2).sum())


# ----------------------------------------------------------------------------------------------
# Shallow loss, gradient, Hessian
# ----------------------------------------------------------------------------------------------

def _weights(W1, W2, X, Y) -> tuple[torch.Tensor, torch.Tensor, bool]:
    W1 = as_tensor("W1", W1)
    W2 = as_tensor("W2", W2)
    check_floating("W1", W1)
    check_floating("W2", W2)
    check_ndim("W1", W1, (2, 3), "(runs, d1, d0) or (d1, d0)")
    check_ndim("W2", W2, (2, 3), "(runs, d2, d1) or (d2, d1)")
    if W1.ndim != W2.ndim:
        raise ValueError(f"W1 and W2: expected both batched or both single, got shapes {tuple(W1.shape)} and {tuple(W2.shape)}")
    single = W1.ndim == 2
    if single:
        W1, W2 = W1.unsqueeze(0), W2.unsqueeze(0)
    if W1.shape[0] != W2.shape[0]:
        raise ValueError(f"W1 and W2: runs differ ({W1.shape[0]} vs {W2.shape[0]})")
    d0, d2 = X.shape[0], Y.shape[0]
    if W1.shape[-1] != d0:
        raise ValueError(f"W1: last dimension is {W1.shape[-1]}, expected the input dimension d0={d0} (rows of X)")
    if W2.shape[-2] != d2:
        raise ValueError(f"W2: has {W2.shape[-2]} rows, expected the output dimension d2={d2} (rows of Y)")
    if W2.shape[-1] != W1.shape[-2]:
        raise ValueError(f"W1 and W2: hidden widths differ (W1 has {W1.shape[-2]} rows, W2 has {W2.shape[-1]} columns)")
    check_finite("W1", W1)
    check_finite("W2", W2)
    check_same_device(W1=W1, W2=W2, X=X)
    return W1, W2, single


def shallow_loss(W1, W2, X, Y) -> torch.Tensor:
    """:math:`f = \\tfrac12\\|W_2W_1X - Y\\|_F^2` for every run; ``(runs,)`` (a scalar for unbatched weights)."""
    X, Y = _data(X, Y)
    W1, W2, single = _weights(W1, W2, X, Y)
    R = W2 @ W1 @ X - Y
    loss = 0.5 * (R * R).sum((-1, -2))
    return loss[0] if single else loss


def shallow_loss_grad(W1, W2, X, Y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss and closed-form gradients :math:`(W_2^\\top E,\\ EW_1^\\top)`, :math:`E = W_2W_1XX^\\top - YX^\\top`.

    Returns:
        ``(loss (runs,), grad_W1 like W1, grad_W2 like W2)``.
    """
    X, Y = _data(X, Y)
    W1, W2, single = _weights(W1, W2, X, Y)
    R = W2 @ W1 @ X - Y
    loss = 0.5 * (R * R).sum((-1, -2))
    E = R @ X.T
    g1 = W2.transpose(-1, -2) @ E
    g2 = E @ W1.transpose(-1, -2)
    if single:
        return loss[0], g1[0], g2[0]
    return loss, g1, g2


def shallow_hessian(W1, W2, X, Y) -> torch.Tensor:
    """Dense Hessian of :math:`f` in the coordinates ``theta = [vec(W1), vec(W2)]`` (row-major).

    Blocks, with :math:`S = XX^\\top`, :math:`E = W_2W_1S - YX^\\top`:

    .. math::

        H_{11} = W_2^\\top W_2 \\otimes S,\\quad H_{22} = I_{d_2}\\otimes W_1SW_1^\\top,\\quad
        (H_{12})_{(a,b),(p,q)} = \\delta_{aq}E_{pb} + (W_2)_{pa}(W_1S)_{qb}.

    Returns:
        ``(runs, P, P)`` with ``P = d1*d0 + d2*d1`` (no runs dimension for unbatched weights).
    """
    X, Y = _data(X, Y)
    W1, W2, single = _weights(W1, W2, X, Y)
    runs, d1, d0 = W1.shape
    d2 = W2.shape[1]
    S = X @ X.T
    E = W2 @ W1 @ S - Y @ X.T  # (runs, d2, d0)
    W1S = W1 @ S  # (runs, d1, d0)
    eye1 = torch.eye(d1, dtype=W1.dtype, device=W1.device)
    eye2 = torch.eye(d2, dtype=W1.dtype, device=W1.device)
    H11 = torch.einsum("rac,bd->rabcd", W2.transpose(-1, -2) @ W2, S).reshape(runs, d1 * d0, d1 * d0)
    H22 = torch.einsum("pr,nqs->npqrs", eye2, W1S @ W1.transpose(-1, -2)).reshape(runs, d2 * d1, d2 * d1)
    H12 = (torch.einsum("aq,npb->nabpq", eye1, E) + torch.einsum("npa,nqb->nabpq", W2, W1S)).reshape(runs, d1 * d0, d2 * d1)
    H = torch.cat([torch.cat([H11, H12], 2), torch.cat([H12.transpose(-1, -2), H22], 2)], 1)
    return H[0] if single else H


def pack(W1: torch.Tensor, W2: torch.Tensor) -> torch.Tensor:
    """``(runs, d1, d0), (runs, d2, d1) -> (runs, d1*d0 + d2*d1)``, the order of :func:`shallow_hessian`."""
    return torch.cat([W1.flatten(-2), W2.flatten(-2)], -1)


def unpack(theta: torch.Tensor, d0: int, d1: int, d2: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`pack`."""
    if theta.shape[-1] != d1 * d0 + d2 * d1:
        raise ValueError(f"theta: last dimension {theta.shape[-1]}, expected d1*d0 + d2*d1 = {d1 * d0 + d2 * d1}")
    lead = theta.shape[:-1]
    return theta[..., : d1 * d0].reshape(*lead, d1, d0), theta[..., d1 * d0 :].reshape(*lead, d2, d1)


def shallow_train_loss_grad(X, Y, d1: int):
    """A closed-form ``loss_grad`` for :func:`valleylib.train` on packed parameters ``(runs, P)``.

    Uses the sufficient statistics :math:`S = XX^\\top`, :math:`C = YX^\\top`, :math:`\\|Y\\|_F^2`:
    :math:`f = \\tfrac12\\mathrm{tr}(W_2W_1SW_1^\\top W_2^\\top) - \\mathrm{tr}(W_2W_1C^\\top) + \\tfrac12\\|Y\\|_F^2`.
    """
    X, Y = _data(X, Y)
    check_positive_int("d1", d1)
    d0, d2 = X.shape[0], Y.shape[0]
    S, C, yy = X @ X.T, Y @ X.T, (Y * Y).sum()

    def loss_grad(theta: torch.Tensor):
        W1, W2 = unpack(theta, d0, d1, d2)
        P = W2 @ W1
        PS = P @ S
        loss = 0.5 * (PS * P).sum((-1, -2)) - (P * C).sum((-1, -2)) + 0.5 * yy
        E = PS - C
        return loss, pack(W2.transpose(-1, -2) @ E, E @ W1.transpose(-1, -2))

    return loss_grad


# ----------------------------------------------------------------------------------------------
# Critical points and their classification
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriticalPoints:
    """One representative critical point per index set (see :func:`critical_points`).

    Attributes:
        index_sets: tuples of 0-based singular-value indices kept.
        W1: ``(m, d1, d0)``.  W2: ``(m, d2, d1)``.
        risk: closed-form risks :math:`c_0 + \\frac12\\sum_{i\\notin\\mathcal S}s_i^2` ``(m,)``.
        is_global: whether the risk equals the Eckart–Young value ``(m,)``.
        global_value: :math:`f^\\star`.
    """

    index_sets: list
    W1: torch.Tensor
    W2: torch.Tensor
    risk: torch.Tensor
    is_global: torch.Tensor
    global_value: float

    @property
    def count(self) -> int:
        return len(self.index_sets)


def critical_points(X, Y, d1: int, K=None) -> CriticalPoints:
    """Enumerate one critical point per index set of singular directions of :math:`\\bar Y`.

    Index sets :math:`\\mathcal S` run over all subsets of the ``rank`` nonzero singular values with
    :math:`|\\mathcal S| \\le d_1` (there are :math:`\\sum_{j\\le \\min(d_1, r)}\\binom{r}{j}`). For each,
    :math:`W_2 = [U_{\\mathcal S}\\ 0]K` and :math:`W_1 = K^{-1}[\\mathrm{diag}(s_{\\mathcal S})V_{\\mathcal S}^\\top; 0]S^{-1/2}`.
    With distinct nonzero singular values and :math:`|\\mathcal S| = d_1` these orbits are all the
    critical points with that product; for :math:`|\\mathcal S| < d_1` there are further,
    rank-deficient factorisations of the same product, and with repeated singular values any
    orthonormal basis of the eigenspace can replace :math:`U_{\\mathcal S}`.

    Args:
        X, Y: data ``(d0, N)``, ``(d2, N)``.
        d1: hidden width.
        K: optional invertible ``(d1, d1)`` (the same for every point) or ``(m, d1, d1)``; default identity.
    """
    check_positive_int("d1", d1)
    w = whiten(X, Y)
    d0, d2 = w.dims
    r = w.rank
    sets = [c for j in range(min(d1, r) + 1) for c in itertools.combinations(range(r), j)]
    m = len(sets)
    dt, dev = w.S.dtype, w.S.device
    A0 = torch.zeros(m, d2, d1, dtype=dt, device=dev)
    B0 = torch.zeros(m, d1, d0, dtype=dt, device=dev)
    kept = torch.zeros(m, w.s.numel(), dtype=torch.bool, device=dev)
    for n, idx in enumerate(sets):
        for col, i in enumerate(idx):
            A0[n, :, col] = w.U[:, i]
            B0[n, col, :] = w.s[i] * w.Vh[i, :]
            kept[n, i] = True
    if K is None:
        A, B = A0, B0
    else:
        K = as_tensor("K", K, dtype=dt, device=dev)
        check_ndim("K", K, (2, 3), f"({d1}, {d1}) or ({m}, {d1}, {d1})")
        if K.shape[-2:] != (d1, d1) or (K.ndim == 3 and K.shape[0] != m):
            raise ValueError(f"K: expected shape ({d1}, {d1}) or ({m}, {d1}, {d1}), got {tuple(K.shape)}")
        A = A0 @ K
        B = torch.linalg.solve(K.expand(m, d1, d1), B0)
    W1 = B @ w.S_inv_half
    risk = w.c0 + 0.5 * ((w.s**2) * (~kept).to(dt)).sum(-1)
    fstar = w.c0 + 0.5 * float((w.s[d1:] ** 2).sum())
    is_global = risk <= fstar + 1e-10 * max(w.yy, 1e-300)
    return CriticalPoints(sets, W1, A, risk, is_global, fstar)


@dataclass(frozen=True)
class Classification:
    """What the Hessian says about a batch of points.

    Attributes:
        kind: per point, ``"global minimum"``, ``"strict saddle"``, ``"non-strict saddle"`` (not
            global, no negative eigenvalue: second-order information cannot tell it from a local
            minimum) or ``"not critical"``.
        min_eig: most negative (smallest) Hessian eigenvalue ``(runs,)``.
        grad_norm: gradient norm ``(runs,)``.
        loss: ``(runs,)``.
    """

    kind: list
    min_eig: torch.Tensor
    grad_norm: torch.Tensor
    loss: torch.Tensor

    def counts(self) -> dict:
        return {k: self.kind.count(k) for k in ("global minimum", "strict saddle", "non-strict saddle", "not critical")}


def classify(hessian: torch.Tensor, loss: torch.Tensor, grad_norm: torch.Tensor, global_value: float, *,
             eig_tol: float = 1e-10, grad_tol: float = 1e-8, value_tol: float = 1e-8) -> Classification:
    """Classify points from their Hessian ``(runs, P, P)``, loss and gradient norm ``(runs,)``.

    A point is *not critical* when its gradient norm exceeds ``grad_tol``; a *global minimum* when
    :math:`f - f^\\star \\le` ``value_tol`` :math:`\\cdot\\max(1, |f^\\star|)`; a *strict saddle* when
    :math:`\\lambda_{\\min}(\\nabla^2 f) < -` ``eig_tol`` :math:`\\cdot\\max(1, \\|\\nabla^2 f\\|_2)`; otherwise
    a *non-strict saddle*.
    """
    hessian = tensor_arg("hessian", hessian, ndim=(3,), meaning="(runs, P, P)")
    loss, grad_norm = check_per_run("hessian", hessian, loss=loss, grad_norm=grad_norm)
    global_value = check_float("global_value", global_value)
    eig_tol, grad_tol, value_tol = (check_float(n, v, minimum=0.0) for n, v in
                                    (("eig_tol", eig_tol), ("grad_tol", grad_tol),
                                     ("value_tol", value_tol)))
    evals = torch.linalg.eigvalsh(hessian)
    lam, scale = evals[..., 0], evals.abs().amax(-1).clamp_min(1.0)
    kinds = []
    for l, s, f, g in zip(lam.tolist(), scale.tolist(), loss.tolist(), grad_norm.tolist()):
        if g > grad_tol:
            kinds.append("not critical")
        elif f - global_value <= value_tol * max(1.0, abs(global_value)):
            kinds.append("global minimum")
        elif l < -eig_tol * s:
            kinds.append("strict saddle")
        else:
            kinds.append("non-strict saddle")
    return Classification(kinds, lam, grad_norm, loss)


def classify_shallow(W1, W2, X, Y, **tols) -> Classification:
    """:func:`classify` for shallow linear networks, with the closed-form Hessian and :math:`f^\\star`."""
    loss, g1, g2 = shallow_loss_grad(W1, W2, X, Y)
    H = shallow_hessian(W1, W2, X, Y)
    if H.ndim == 2:
        H, loss, g1, g2 = H[None], loss[None], g1[None], g2[None]
    gn = pack(g1, g2).norm(dim=-1)
    return classify(H, loss, gn, global_minimum_value(X, Y, W2.shape[-1]), **tols)


def _lam_minus(p: torch.Tensor, q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Smallest eigenvalue of the symmetric 2x2 matrix [[p, q], [q, r]]."""
    return 0.5 * (p + r) - torch.sqrt(0.25 * (p - r) ** 2 + q * q)


def saddle_curvature_bound(W1, W2, X, Y) -> torch.Tensor:
    """A point-dependent upper bound on :math:`\\lambda_{\\min}(\\nabla^2 f)` at critical points (ours).

    At a critical point write :math:`A = W_2`, :math:`B = W_1S^{1/2}`, :math:`\\bar R = AB - \\bar Y` with
    top singular value :math:`\\sigma` and singular pair :math:`(u, v)`, and :math:`\\kappa = \\|S^{-1/2}v\\|^2`.
    Criticality gives :math:`A^\\top u = 0` and :math:`Bv = 0`. For any :math:`w, w' \\in \\mathbb R^{d_1}`
    with :math:`w^\\top w' = 1`, the direction :math:`D_2 = \\alpha uw^\\top`, :math:`D_1 = \\beta w'v^\\top S^{-1/2}` gives

    .. math::

        \\lambda_{\\min}(\\nabla^2 f) \\le \\lambda_{\\min}\\begin{bmatrix} b^2/\\|w\\|^2 & -\\sigma/(\\|w\\|\\|w'\\|\\sqrt\\kappa) \\\\
        -\\sigma/(\\|w\\|\\|w'\\|\\sqrt\\kappa) & a^2/(\\|w'\\|^2\\kappa)\\end{bmatrix},\\qquad a = \\|Aw'\\|,\\ b = \\|B^\\top w\\|.

    Candidates tried (the bound returned is the smallest): :math:`w = w'` the least right singular
    vector of :math:`A` or the least left singular vector of :math:`B`; and :math:`w' = A^+u'`,
    :math:`w = A^\\top u'` with :math:`u'` the eigenvector of :math:`\\bar Y\\bar Y^\\top` in
    :math:`\\mathrm{col}(A)` of smallest eigenvalue :math:`\\mu^2` (then :math:`a = 1`, :math:`b = \\mu`).
    The bound is negative at every critical point that is not a global minimum. It is only
    meaningful at critical points.

    Returns:
        ``(runs,)`` (a scalar for unbatched weights).
    """
    X, Y = _data(X, Y)
    W1, W2, single = _weights(W1, W2, X, Y)
    w = whiten(X, Y)
    A, B = W2, W1 @ w.S_half
    Rbar = A @ B - w.Ybar
    Ur, sr, Vrh = torch.linalg.svd(Rbar, full_matrices=False)
    sigma, v = sr[:, 0], Vrh[:, 0, :]
    kappa = (v @ w.S_inv_half).pow(2).sum(-1)
    tiny = torch.finfo(A.dtype).tiny

    def bound(wv, wpv, a, b):
        nw, nwp = wv.norm(dim=-1), wpv.norm(dim=-1)
        rho = (wv * wpv).sum(-1)
        p = b**2 / nw**2
        r = a**2 / (nwp**2 * kappa)
        q = -sigma * rho / (nw * nwp * kappa.sqrt())
        return _lam_minus(p, q, r)

    Ua, sa, Vah = torch.linalg.svd(A, full_matrices=False)  # A = Ua diag(sa) Vah, sa (runs, min(d2,d1))
    cands = []
    d1 = A.shape[-1]
    # (1) least right singular vector of A (an exact null vector when d1 > d2).
    _, _, Vfull = torch.linalg.svd(A, full_matrices=True)
    w1 = Vfull[:, -1, :]
    cands.append(bound(w1, w1, (A @ w1.unsqueeze(-1)).squeeze(-1).norm(dim=-1), (B.transpose(-1, -2) @ w1.unsqueeze(-1)).squeeze(-1).norm(dim=-1)))
    # (2) least left singular vector of B.
    Ub, _, _ = torch.linalg.svd(B, full_matrices=True)
    w2 = Ub[:, :, -1]
    cands.append(bound(w2, w2, (A @ w2.unsqueeze(-1)).squeeze(-1).norm(dim=-1), (B.transpose(-1, -2) @ w2.unsqueeze(-1)).squeeze(-1).norm(dim=-1)))
    # (3) smallest eigen-direction of Ybar Ybar^T inside col(A) (needs A of full column rank).
    if sa.shape[-1] == d1:
        G = Ua.transpose(-1, -2) @ w.Ybar @ w.Ybar.T @ Ua
        _, Z = torch.linalg.eigh(G)
        z = Z[:, :, 0]  # (runs, d1)
        ok = sa.amin(-1) > 1e-12 * sa.amax(-1).clamp_min(tiny)
        sa_safe = torch.where(ok.unsqueeze(-1), sa, torch.ones_like(sa))
        V = Vah.transpose(-1, -2)
        wp3 = (V @ (z / sa_safe).unsqueeze(-1)).squeeze(-1)
        w3 = (V @ (z * sa_safe).unsqueeze(-1)).squeeze(-1)
        a3 = (A @ wp3.unsqueeze(-1)).squeeze(-1).norm(dim=-1)
        b3 = (B.transpose(-1, -2) @ w3.unsqueeze(-1)).squeeze(-1).norm(dim=-1)
        c3 = bound(w3, wp3, a3, b3)
        cands.append(torch.where(ok, c3, torch.full_like(c3, math.inf)))
    out = torch.stack(cands, -1)
    out = torch.where(torch.isfinite(out), out, torch.full_like(out, math.inf)).amin(-1)
    return out[0] if single else out


# ----------------------------------------------------------------------------------------------
# A path between two global minima (connectivity)
# ----------------------------------------------------------------------------------------------

def global_minimum_path(X, Y, start: tuple, end: tuple, ts, *, V: Optional[torch.Tensor] = None,
                        generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A path of global minima between two global minima of the shallow net (ours), when :math:`d_1 \\ge d_2`.

    Both end points must have the least-squares product :math:`P^\\star = CS^{-1}` (the global
    minimum when :math:`d_1 \\ge \\min(d_0, d_2)`) and full-row-rank :math:`W_2`. The path is

    .. math::

        W_2(t) = (1-t)W_2^{0} + tW_2^{1} + t(1-t)V, \\qquad
        W_1(t) = W_2(t)^+P^\\star + (I - W_2(t)^+W_2(t))\\big((1-t)W_1^{0} + tW_1^{1}\\big),

    with a random :math:`V`, so :math:`W_2(t)W_1(t) = P^\\star` while :math:`W_2(t)` keeps full row rank;
    the case :math:`d_1 \\ge d_0` is the transpose. Returns ``(W1 (T, d1, d0), W2 (T, d2, d1))``.
    """
    X, Y = _data(X, Y)
    W1a, W2a = (as_tensor("start[0]", start[0]), as_tensor("start[1]", start[1]))
    W1b, W2b = (as_tensor("end[0]", end[0]), as_tensor("end[1]", end[1]))
    _weights(W1a, W2a, X, Y)
    _weights(W1b, W2b, X, Y)
    d1, d0 = W1a.shape
    d2 = W2a.shape[0]
    t = as_tensor("ts", ts, dtype=X.dtype, device=X.device).reshape(-1, 1, 1)
    check_finite("ts", t)
    w = whiten(X, Y)
    Pstar = w.C @ torch.linalg.inv(w.S)
    if d1 >= d2:
        if V is None:
            V = torch.randn(d2, d1, dtype=X.dtype, generator=generator).to(X.device)
        W2 = (1 - t) * W2a + t * W2b + t * (1 - t) * V
        Wp = torch.linalg.pinv(W2)
        Z = (1 - t) * W1a + t * W1b
        W1 = Wp @ Pstar + (torch.eye(d1, dtype=X.dtype, device=X.device) - Wp @ W2) @ Z
        return W1, W2
    if d1 >= d0:
        if V is None:
            V = torch.randn(d1, d0, dtype=X.dtype, generator=generator).to(X.device)
        W1 = (1 - t) * W1a + t * W1b + t * (1 - t) * V
        Wp = torch.linalg.pinv(W1)
        Z = (1 - t) * W2a + t * W2b
        W2 = Pstar @ Wp + Z @ (torch.eye(d1, dtype=X.dtype, device=X.device) - W1 @ Wp)
        return W1, W2
    raise ValueError(
        f"global_minimum_path: needs d1 >= min(d0, d2), got d1={d1}, d0={d0}, d2={d2}; for d1 < min(d0, d2) the "
        "global minima form GL(d1), which has two components (det K > 0 and det K < 0)"
    )


# ----------------------------------------------------------------------------------------------
# Deep linear networks
# ----------------------------------------------------------------------------------------------

def _deep(weights: Sequence, X, Y) -> tuple[list, bool]:
    if len(weights) == 0:
        raise ValueError("weights: expected at least one layer [W_1, ..., W_L]")
    mats = [as_tensor(f"weights[{l}]", w) for l, w in enumerate(weights)]
    nd = mats[0].ndim
    for l, m in enumerate(mats):
        check_floating(f"weights[{l}]", m)
        check_ndim(f"weights[{l}]", m, (nd,) if nd in (2, 3) else (2, 3), "(runs, d_l, d_{l-1}) or (d_l, d_{l-1}), all alike")
        check_finite(f"weights[{l}]", m)
        if l > 0 and m.shape[-1] != mats[l - 1].shape[-2]:
            raise ValueError(f"weights[{l}]: input size {m.shape[-1]} does not match the output size {mats[l - 1].shape[-2]} of weights[{l - 1}]")
    single = nd == 2
    if single:
        mats = [m.unsqueeze(0) for m in mats]
    if mats[0].shape[-1] != X.shape[0]:
        raise ValueError(f"weights[0]: input size {mats[0].shape[-1]}, expected d0={X.shape[0]} (rows of X)")
    if mats[-1].shape[-2] != Y.shape[0]:
        raise ValueError(f"weights[-1]: output size {mats[-1].shape[-2]}, expected {Y.shape[0]} (rows of Y)")
    return mats, single


def deep_linear_loss_grad(weights: Sequence, X, Y) -> tuple[torch.Tensor, list]:
    """Loss :math:`\\tfrac12\\|W_L\\cdots W_1X - Y\\|_F^2` and closed-form gradients of every layer.

    :math:`\\nabla_{W_l} f = (W_L\\cdots W_{l+1})^\\top E\\,(W_{l-1}\\cdots W_1)^\\top`, :math:`E = (W_L\\cdots W_1X - Y)X^\\top`.

    Returns:
        ``(loss (runs,), [grad_W1, ..., grad_WL])`` (no runs dimension for unbatched weights).
    """
    X, Y = _data(X, Y)
    mats, single = _deep(weights, X, Y)
    L = len(mats)
    below = [None] * (L + 1)  # below[l] = W_l ... W_1 (l layers), below[0] = I
    eye0 = torch.eye(X.shape[0], dtype=X.dtype, device=X.device).expand(mats[0].shape[0], -1, -1)
    below[0] = eye0
    for l in range(L):
        below[l + 1] = mats[l] @ below[l]
    R = below[L] @ X - Y
    loss = 0.5 * (R * R).sum((-1, -2))
    E = R @ X.T
    grads = [None] * L
    above = torch.eye(Y.shape[0], dtype=X.dtype, device=X.device).expand(E.shape[0], -1, -1)
    for l in reversed(range(L)):
        grads[l] = above.transpose(-1, -2) @ E @ below[l].transpose(-1, -2)
        above = above @ mats[l]
    if single:
        return loss[0], [g[0] for g in grads]
    return loss, grads


def deep_linear_hessian(weights: Sequence, X, Y) -> torch.Tensor:
    """Dense Hessian (by autograd, one run at a time) in the coordinates ``[vec W_1, ..., vec W_L]``.

    Returns ``(runs, P, P)`` (no runs dimension for unbatched weights).
    """
    X, Y = _data(X, Y)
    mats, single = _deep(weights, X, Y)
    shapes = [m.shape[1:] for m in mats]
    sizes = [s[0] * s[1] for s in shapes]
    theta = torch.cat([m.flatten(1) for m in mats], 1)

    def f(th):
        ws = [p.reshape(s) for p, s in zip(th.split(sizes), shapes)]
        prod = ws[0]
        for m in ws[1:]:
            prod = m @ prod
        R = prod @ X - Y
        return 0.5 * (R * R).sum()

    H = torch.stack([torch.autograd.functional.hessian(f, th) for th in theta])
    return H[0] if single else H
