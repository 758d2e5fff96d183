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

    W_2 = [U_{\\mathcal S}\\ 0]\\,K, \\qquad
    W_1 = K^{-1}\\begin{bmatrix}\\mathrm{diag}(s_{\\mathcal S})V_{\\mathcal S}^\\top\\\\ 0\\end{bmatrix} S^{-1/2}

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
from .hessian import autodiff_hessian

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
    "random_global_minimum",
    "PathContinuity",
    "path_continuity",
    "deep_linear_loss_grad",
    "deep_linear_hessian",
    "flip_hidden_unit",
]


# ----------------------------------------------------------------------------------------------
# Data and whitening
# ----------------------------------------------------------------------------------------------

def check_data(X, Y) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate the data ``X (d0, N)`` and ``Y (d2, N)`` (one sample per column); return them as tensors."""
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
    X, Y = check_data(X, Y)
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

    >>> X = torch.eye(2, dtype=torch.float64)
    >>> global_minimum_value(X, X * torch.tensor([[2.0], [1.0]], dtype=torch.float64), 1)
    0.5
    """
    check_positive_int("d1", d1)
    w = whiten(X, Y)
    return w.c0 + 0.5 * float((w.s[d1:] ** 2).sum())


# ----------------------------------------------------------------------------------------------
# Shallow loss, gradient, Hessian
# ----------------------------------------------------------------------------------------------

def check_weights(W1, W2, X, Y) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate ``W1``, ``W2`` (batched or not) against ``X`` and ``Y``; return ``(W1, W2, single)``."""
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
    X, Y = check_data(X, Y)
    W1, W2, single = check_weights(W1, W2, X, Y)
    R = W2 @ W1 @ X - Y
    loss = 0.5 * (R * R).sum((-1, -2))
    return loss[0] if single else loss


def shallow_loss_grad(W1, W2, X, Y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss and closed-form gradients :math:`(W_2^\\top E,\\ EW_1^\\top)`, :math:`E = W_2W_1XX^\\top - YX^\\top`.

    Returns:
        ``(loss (runs,), grad_W1 like W1, grad_W2 like W2)``.
    """
    X, Y = check_data(X, Y)
    W1, W2, single = check_weights(W1, W2, X, Y)
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
    X, Y = check_data(X, Y)
    W1, W2, single = check_weights(W1, W2, X, Y)
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
    X, Y = check_data(X, Y)
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
    """One representative critical point per index set, not every critical point (see :func:`critical_points`).

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
    """One critical point per index set of singular directions of :math:`\\bar Y` (not every critical point).

    Index sets :math:`\\mathcal S` run over all subsets of the ``rank`` nonzero singular values with
    :math:`|\\mathcal S| \\le d_1` (there are :math:`\\sum_{j\\le \\min(d_1, r)}\\binom{r}{j}`). For each,
    :math:`W_2 = [U_{\\mathcal S}\\ 0]K` and :math:`W_1 = K^{-1}[\\mathrm{diag}(s_{\\mathcal S})V_{\\mathcal S}^\\top; 0]S^{-1/2}`
    for the one given :math:`K`.

    *What is enumerated.* One point of each such :math:`GL(d_1)` orbit, hence every critical value
    :math:`c_0 + \\tfrac12\\sum_{i\\notin\\mathcal S}s_i^2`, and, when the nonzero singular values are
    distinct, every product :math:`W_2W_1` that a critical point can have (criticality forces
    :math:`W_2W_1S^{1/2} = P\\bar Y` with :math:`P` the projector onto a :math:`\\bar Y\\bar Y^\\top`-invariant
    subspace of dimension at most :math:`d_1`).

    *What is not.* The rest of each orbit (other :math:`K`); for :math:`|\\mathcal S| < d_1`, the
    further factorisations of the same product outside the orbit (unused hidden units whose
    weights are not zero); with repeated singular values, the continua obtained by rotating
    :math:`U_{\\mathcal S}` inside an eigenspace; and nothing at all when :math:`XX^\\top` is singular
    (``ValueError``).

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
    X, Y = check_data(X, Y)
    W1, W2, single = check_weights(W1, W2, X, Y)
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

def path_formula(A0: torch.Tensor, A1: torch.Tensor, B0: torch.Tensor, B1: torch.Tensor, P: torch.Tensor,
                  t: torch.Tensor, V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The formula of :func:`global_minimum_path` with the wide factor ``A`` (``(m, d1)``, ``m < d1``
    for a continuous path) and the other factor ``B`` with ``A B = P``; no checks.

    :math:`A(t) = (1-t)A_0 + tA_1 + t(1-t)V`, :math:`B(t) = A(t)^+P + (I - A(t)^+A(t))((1-t)B_0 + tB_1)`.
    At ``m = d1`` the matrix :math:`A(t)` is square: it is singular where :math:`\\det A(t)` changes
    sign, and :math:`B(t)` blows up there. Exposed (privately) so that the linear experiment can show
    that its continuity check detects this.
    """
    A = (1 - t) * A0 + t * A1 + t * (1 - t) * V
    Ap = torch.linalg.pinv(A)
    Z = (1 - t) * B0 + t * B1
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    return A, Ap @ P + (eye - Ap @ A) @ Z


def _best_bend(A0: torch.Tensor, A1: torch.Tensor, candidates: int,
               generator: Optional[torch.Generator]) -> torch.Tensor:
    """Of ``candidates`` Gaussian bends ``V`` (``(m, d1)``, scaled like the end points), the one that
    keeps :math:`\\sigma_{\\min}((1-t)A_0 + tA_1 + t(1-t)V)` largest over 65 equally spaced times."""
    check_positive_int("candidates", candidates)
    m, d1 = A0.shape
    scale = 0.5 * (A0.norm() + A1.norm()) / math.sqrt(m * d1)
    Vs = (torch.randn(candidates, m, d1, dtype=A0.dtype, generator=generator) * float(scale)).to(A0.device)
    t = torch.linspace(0, 1, 65, dtype=A0.dtype, device=A0.device).view(1, -1, 1, 1)
    A = (1 - t) * A0 + t * A1 + t * (1 - t) * Vs.unsqueeze(1)
    worst = torch.linalg.svdvals(A)[..., -1].amin(-1)
    return Vs[int(torch.argmax(worst))]


def global_minimum_path(X, Y, start: tuple, end: tuple, ts, *, V: Optional[torch.Tensor] = None,
                        generator: Optional[torch.Generator] = None, candidates: int = 16,
                        rtol: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """A path of global minima between two global minima of the shallow net (ours), for
    :math:`d_1 > \\min(d_0, d_2)`.

    The hidden width must be *strictly* larger than the smaller of the input and output dimensions,
    Freeman & Bruna's condition (Prop. 2.2 of the arXiv version, :math:`n_j > \\min(n_1, n_K)`).
    Then the global minima are the points with the least-squares product :math:`P^\\star = CS^{-1}`,
    and, when :math:`d_1 > d_2`,

    .. math::

        W_2(t) = (1-t)W_2^{0} + tW_2^{1} + t(1-t)V, \\qquad
        W_1(t) = W_2(t)^+P^\\star + (I - W_2(t)^+W_2(t))\\big((1-t)W_1^{0} + tW_1^{1}\\big),

    with a random :math:`V`. The full-row-rank :math:`d_2\\times d_1` matrices form a connected open set
    whose complement has codimension :math:`d_1 - d_2 + 1 \\ge 2`, so a random curve :math:`W_2(t)`
    misses it with probability one; then :math:`W_2(t)W_2(t)^+ = I`, :math:`W_2(t)W_1(t) = P^\\star` and
    the path is continuous. When :math:`d_2 \\ge d_1 > d_0` the same formula is used on the transpose.

    At :math:`d_1 = \\min(d_0, d_2)` the formula is **refused**: the matrix it interpolates is square,
    the global minima with a product of rank :math:`d_1` form two components (the sign of
    :math:`\\det W_2`, or of :math:`\\det W_1`), and between end points of opposite signs
    :math:`W_2(t)` passes through a singular matrix where :math:`W_1(t)` blows up, although the
    loss on any grid stays at :math:`f^\\star`. Check a returned path with :func:`path_continuity`:
    a random :math:`V` can still bring :math:`W_2(t)` close to rank deficiency.

    Args:
        X, Y: data ``(d0, N)``, ``(d2, N)`` with :math:`XX^\\top` invertible.
        start, end: ``(W1, W2)`` global minima, unbatched; their product must be :math:`P^\\star`
            (relative error at most ``rtol``) and the wide factor (``W2`` when :math:`d_1 > d_2`,
            else ``W1``) of full rank.
        ts: the times, in ``[0, 1]``.
        V: the bend ``(d2, d1)`` (``(d1, d0)`` on the transposed branch). Default: of
            ``candidates`` Gaussian bends, the one whose interpolated factor has the largest
            smallest singular value on 65 equally spaced times (keeps :math:`W_2(t)^+` small).
        generator: for the default ``V``.
        candidates: number of Gaussian bends tried for the default ``V``.

    Returns:
        ``(W1 (T, d1, d0), W2 (T, d2, d1))``.

    Raises:
        ValueError: :math:`d_1 \\le \\min(d_0, d_2)`, an end point that is not a global minimum of
            the required kind, or bad shapes.
    """
    X, Y = check_data(X, Y)
    W1a, W2a = (as_tensor("start[0]", start[0]), as_tensor("start[1]", start[1]))
    W1b, W2b = (as_tensor("end[0]", end[0]), as_tensor("end[1]", end[1]))
    for name, (a, b) in (("start", (W1a, W2a)), ("end", (W1b, W2b))):
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"{name}: expected unbatched (W1 (d1, d0), W2 (d2, d1)), got shapes "
                             f"{tuple(a.shape)} and {tuple(b.shape)}")
    check_weights(W1a, W2a, X, Y)
    check_weights(W1b, W2b, X, Y)
    d1, d0 = W1a.shape
    d2 = W2a.shape[0]
    if d1 <= min(d0, d2):
        if d1 == min(d0, d2):
            raise ValueError(
                f"global_minimum_path: needs the hidden width strictly larger than min(d0, d2) (Freeman & Bruna, "
                f"Prop. 2.2 of the arXiv version), got d1={d1} = min(d0={d0}, d2={d2}). At equality the "
                "interpolated factor is square; when the least-squares product has rank d1 the global minima "
                "split into two components by the sign of its determinant, and between end points of opposite "
                "signs the formula's W2(t) passes through a singular matrix where W1(t) blows up"
            )
        raise ValueError(
            f"global_minimum_path: needs d1 > min(d0, d2), got d1={d1}, d0={d0}, d2={d2}; for d1 < min(d0, d2) "
            "the global minima are rank-d1 factorisations; when s_{d1} > s_{d1+1} they form GL(d1), which has "
            "two components (det K > 0 and det K < 0)"
        )
    t = as_tensor("ts", ts, dtype=X.dtype, device=X.device).reshape(-1, 1, 1)
    check_finite("ts", t)
    w = whiten(X, Y)
    Pstar = w.C @ torch.linalg.inv(w.S)
    scale = max(float(Pstar.norm()), torch.finfo(X.dtype).tiny)
    for name, (a, b) in (("start", (W1a, W2a)), ("end", (W1b, W2b))):
        err = float((b @ a - Pstar).norm()) / scale
        if not err <= rtol:
            raise ValueError(f"{name}: not a global minimum, W2 W1 differs from the least-squares product "
                             f"Y X^T (X X^T)^-1 by a relative {err:.3g} > rtol={rtol:g}")
        wide, m = (b, d2) if d1 > d2 else (a, d0)
        if int(torch.linalg.matrix_rank(wide)) < m:
            raise ValueError(f"{name}: the factor {'W2' if d1 > d2 else 'W1'} must have full rank {m}, "
                             f"got rank {int(torch.linalg.matrix_rank(wide))}")
    if d1 > d2:
        if V is None:
            V = _best_bend(W2a, W2b, candidates, generator)
        V = as_tensor("V", V, dtype=X.dtype, device=X.device)
        if V.shape != (d2, d1):
            raise ValueError(f"V: expected shape ({d2}, {d1}), got {tuple(V.shape)}")
        W2, W1 = path_formula(W2a, W2b, W1a, W1b, Pstar, t, V)
        return W1, W2
    if V is None:
        V = _best_bend(W1a.T, W1b.T, candidates, generator).T
    V = as_tensor("V", V, dtype=X.dtype, device=X.device)
    if V.shape != (d1, d0):
        raise ValueError(f"V: expected shape ({d1}, {d0}), got {tuple(V.shape)}")
    A, B = path_formula(W1a.T, W1b.T, W2a.T, W2b.T, Pstar.T, t, V.T)
    return A.transpose(-1, -2), B.transpose(-1, -2)


def random_global_minimum(X, Y, d1: int, *, generator: Optional[torch.Generator] = None,
                          scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random global minimum ``(W1 (d1, d0), W2 (d2, d1))`` when :math:`d_1 \\ge \\min(d_0, d_2)`.

    Then every factorisation of the least-squares product :math:`P^\\star = CS^{-1}` is a global
    minimum. When :math:`d_1 \\ge d_2`: a Gaussian :math:`W_2` (scaled by ``scale``; full row rank with
    probability one) and :math:`W_1 = W_2^+P^\\star + (I - W_2^+W_2)Z` with a Gaussian :math:`Z`;
    otherwise the transpose (Gaussian :math:`W_1`, :math:`W_2 = P^\\star W_1^+ + Z(I - W_1W_1^+)`).
    """
    X, Y = check_data(X, Y)
    check_positive_int("d1", d1)
    d0, d2 = X.shape[0], Y.shape[0]
    if d1 < min(d0, d2):
        raise ValueError(f"d1={d1}: expected d1 >= min(d0={d0}, d2={d2}); below it the least-squares product "
                         "cannot be factorised and the global minima are the Eckart-Young points of critical_points")
    w = whiten(X, Y)
    P = w.C @ torch.linalg.inv(w.S)
    eye = torch.eye(d1, dtype=X.dtype, device=X.device)

    def gauss(*shape):
        return torch.randn(*shape, dtype=X.dtype, generator=generator).to(X.device)

    if d1 >= d2:
        W2 = scale * gauss(d2, d1)
        Wp = torch.linalg.pinv(W2)
        return Wp @ P + (eye - Wp @ W2) @ gauss(d1, d0), W2
    W1 = scale * gauss(d1, d0)
    Wp = torch.linalg.pinv(W1)
    return W1, P @ Wp + gauss(d2, d1) @ (eye - W1 @ Wp)


def flip_hidden_unit(W1, W2, k: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Negate hidden unit ``k`` in both layers: :math:`w^{(1)}_k \\to -w^{(1)}_k` (row ``k`` of
    ``W1``) and :math:`w^{(2)}_k \\to -w^{(2)}_k` (column ``k`` of ``W2``).

    The product :math:`W_2W_1`, hence the loss, is unchanged, while :math:`\\det W_2` (when
    square) changes sign: the symmetry that separates the two components of the global minima
    at :math:`d_1 = d_2`. Returns new tensors; batched weights ``(runs, ...)`` are flipped in every run.
    """
    W1 = tensor_arg("W1", W1, ndim=(2, 3), meaning="(runs, d1, d0) or (d1, d0)")
    W2 = tensor_arg("W2", W2, like=W1, like_name="W1", ndim=(W1.ndim,), meaning="(runs, d2, d1) or (d2, d1), like W1")
    d1 = W1.shape[-2]
    if W2.shape[-1] != d1:
        raise ValueError(f"W2: expected {d1} columns (the hidden units of W1), got shape {tuple(W2.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < d1:
        raise ValueError(f"k: expected a hidden unit index in [0, {d1}), got {k!r}")
    W1, W2 = W1.clone(), W2.clone()
    W1[..., k, :] = -W1[..., k, :]
    W2[..., :, k] = -W2[..., :, k]
    return W1, W2


@dataclass(frozen=True)
class PathContinuity:
    """Grid evidence that a path :math:`\\theta : [0, 1] \\to \\mathbb R^P` is continuous (see
    :func:`path_continuity`).

    Attributes:
        points: sizes of the nested uniform grids, each refinement halving the spacing.
        max_step: on each grid, the largest distance between neighbouring points,
            :math:`\\max_k \\|\\theta(t_{k+1}) - \\theta(t_k)\\|`.
        max_norm: :math:`\\max_t \\|\\theta(t)\\|` on the finest grid.
        end_norm: :math:`\\max(\\|\\theta(0)\\|, \\|\\theta(1)\\|)`.
    """

    points: tuple
    max_step: tuple
    max_norm: float
    end_norm: float

    @property
    def ratios(self) -> tuple:
        """``max_step[i + 1] / max_step[i]``: about 1/2 for a continuously differentiable path,
        at least about 1 for a path with a jump or a pole."""
        return tuple(b / a if a > 0 else math.inf for a, b in zip(self.max_step, self.max_step[1:]))

    @property
    def norm_ratio(self) -> float:
        """``max_norm / end_norm``."""
        return self.max_norm / max(self.end_norm, torch.finfo(torch.float64).tiny)

    def is_continuous(self, *, max_ratio: float = 0.75, max_norm_ratio: float = 10.0) -> bool:
        """Every refinement ratio at most ``max_ratio`` and the norm at most ``max_norm_ratio``
        times that of the end points."""
        return all(r <= max_ratio for r in self.ratios) and self.norm_ratio <= max_norm_ratio

    def as_dict(self) -> dict:
        return {"points": list(self.points), "max_step": list(self.max_step), "ratios": list(self.ratios),
                "max_norm": self.max_norm, "end_norm": self.end_norm, "norm_ratio": self.norm_ratio,
                "continuous": self.is_continuous()}


def path_continuity(path, *, points: int = 129, refinements: int = 2, dtype: torch.dtype = torch.float64,
                    device=None) -> PathContinuity:
    """Evaluate ``path`` on nested uniform grids of :math:`[0, 1]` and measure its continuity.

    On a grid of spacing :math:`h` a path with Lipschitz constant :math:`\\Lambda` has neighbour steps
    at most :math:`\\Lambda h`, and a continuously differentiable one has largest step
    :math:`\\max_t\\|\\theta'(t)\\|\\,h + o(h)`: halving :math:`h` halves it. A jump of size :math:`J`
    keeps the largest step at least :math:`J`, and a pole :math:`\\|\\theta(t)\\| \\sim c/|t - t^*|`
    makes it grow, so the ratio of the largest steps of successive grids separates the two. The
    grids have ``points``, ``2 points - 1``, ... points (each contains the previous one). A grid
    cannot see a jump much smaller than its steps or a pole it steps over from far away: this is
    evidence, not a proof.

    Args:
        path: callable ``ts (T,) -> tensor (T, ...)`` or a tuple of such tensors (e.g.
            ``(W1, W2)``); the pieces are flattened and concatenated into :math:`\\theta(t)`.
        points: size of the coarsest grid, at least 3.
        refinements: number of halvings, at least 1.

    >>> c = path_continuity(lambda t: torch.stack([torch.cos(t), torch.sin(t)], -1))
    >>> all(abs(r - 0.5) < 0.01 for r in c.ratios), c.is_continuous()
    (True, True)
    >>> path_continuity(lambda t: (t > 0.3).to(t.dtype).unsqueeze(-1) + t.unsqueeze(-1)).is_continuous()
    False
    """
    check_positive_int("points", points, 3)
    check_positive_int("refinements", refinements)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    steps, sizes, theta = [], [], None
    for k in range(refinements + 1):
        T = (points - 1) * 2**k + 1
        ts = torch.linspace(0, 1, T, dtype=dtype, device=dev)
        out = path(ts)
        pieces = out if isinstance(out, (tuple, list)) else (out,)
        theta = torch.cat([p.reshape(T, -1) for p in pieces], -1)
        if not bool(torch.isfinite(theta).all()):
            steps.append(math.inf)
        else:
            steps.append(float((theta[1:] - theta[:-1]).norm(dim=-1).max()))
        sizes.append(T)
    norms = theta.norm(dim=-1)
    max_norm = float(norms.max()) if bool(torch.isfinite(norms).all()) else math.inf
    return PathContinuity(tuple(sizes), tuple(steps), max_norm, float(torch.maximum(norms[0], norms[-1])))


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
    X, Y = check_data(X, Y)
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
    """Dense Hessian of :math:`\\tfrac12\\|W_L\\cdots W_1X - Y\\|_F^2` in the coordinates
    ``[vec W_1, ..., vec W_L]`` (row-major), all runs at once by automatic differentiation
    (:func:`~valleylib.hessian.autodiff_hessian`).

    Returns ``(runs, P, P)`` (no runs dimension for unbatched weights).
    """
    X, Y = check_data(X, Y)
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

    H = autodiff_hessian(f, theta)
    return H[0] if single else H
