"""Hessians: the exact one of the Gaussian ReLU population risk, its smallest eigenvalues, and
one batched automatic-differentiation Hessian (:func:`autodiff_hessian`) for losses without a
closed form (deep linear networks, the erf risk).

The risk :math:`F(W)` of :mod:`valleylib.population` is twice differentiable wherever no student row
is zero and no two rows (student or teacher) are exactly parallel or anti-parallel. There its
Hessian with respect to :math:`W` is a block matrix of :math:`d\\times d` blocks (Safran & Shamir,
2018, ``Hessian.m`` of their code):

.. math::

    \\nabla^2_{w_i w_i} F = \\tfrac12 I + \\sum_{i'\\ne i} h_1(w_i, w_{i'}) - \\sum_j h_1(w_i, v_j),
    \\qquad
    \\nabla^2_{w_i w_{i'}} F = h_2(w_i, w_{i'}) \\quad (i \\ne i'),

with :math:`\\theta` the angle between the two arguments, :math:`\\bar w = w/\\|w\\|`,

.. math::

    h_1(w, v) = \\frac{\\|v\\|}{2\\pi\\sin\\theta\\,\\|w\\|}
        \\big[\\sin^2\\theta\\,(I - \\bar w\\bar w^\\top) + (\\cos\\theta\\,\\bar w - \\bar v)(\\cos\\theta\\,\\bar w - \\bar v)^\\top\\big],

    h_2(w, v) = \\frac{\\pi-\\theta}{2\\pi} I + \\frac{1}{2\\pi\\sin\\theta}
        \\big[\\bar w\\bar v^\\top + \\bar v\\bar w^\\top - \\cos\\theta\\,(\\bar w\\bar w^\\top + \\bar v\\bar v^\\top)\\big].

Both have a :math:`1/\\sin\\theta` that cancels. Writing :math:`\\bar v = \\cos\\theta\\,\\bar w + \\sin\\theta\\,u`
with :math:`u \\perp \\bar w` a unit vector, they are evaluated here in the equivalent, cancellation-free
form (our rewriting)

.. math::

    h_1(w, v) = \\frac{\\|v\\|\\sin\\theta}{2\\pi\\|w\\|}\\,(I - \\bar w\\bar w^\\top + u u^\\top),
    \\qquad
    h_2(w, v) = \\frac{1}{2\\pi}\\Big[(\\pi-\\theta) I + \\sin\\theta\\big(\\cos\\theta\\,(\\bar w\\bar w^\\top - uu^\\top)
        + \\sin\\theta\\,(\\bar w u^\\top + u\\bar w^\\top)\\big)\\Big],

where :math:`\\sin\\theta = \\|\\bar v - \\cos\\theta\\,\\bar w\\|` is computed from the difference vector
(accurate to rounding even for nearly parallel rows). At :math:`\\sin\\theta = 0` both correction terms
are taken at their limit, zero.

**Flattening.** The Hessian is returned as a matrix of size :math:`nd \\times nd` whose row/column
index ``i*d + a`` stands for coordinate ``a`` of neuron ``i`` (row-major over ``W[i, a]``, i.e. the
order of ``W.reshape(n*d)``). The MATLAB code of Safran & Shamir stores neurons as the *columns* of a
``d x n`` matrix and flattens column-major (``W(:)``), which gives the same index ``d*i + a``: the two
orders coincide, only the names differ.
"""
from __future__ import annotations

import math

import torch

from ._checks import as_tensor, batch_weights, check_callable, check_finite, check_floating, check_positive_int
from .gaussian import check_teacher, rescale_rows

__all__ = ["relu_population_hessian", "smallest_eigenvalues", "hessian_min_eigenvalue", "autodiff_hessian"]


def _pair_terms(A: torch.Tensor, B: torch.Tensor):
    """For rows a of A (R, p, d) and b of B (R, q, d): unit ā (R,p,d), u (R,p,q,d), cos, sin, θ (R,p,q).

    ``u`` is the unit component of b̄ orthogonal to ā (zero where sin θ = 0).
    """
    na = A.norm(dim=-1, keepdim=True)
    nb = B.norm(dim=-1, keepdim=True)
    Ab = A / na
    Bb = B / nb
    c = torch.matmul(Ab, Bb.transpose(-1, -2)).clamp(-1.0, 1.0)  # (R, p, q)
    diff = Bb.unsqueeze(-3) - c.unsqueeze(-1) * Ab.unsqueeze(-2)  # (R, p, q, d)
    s = diff.norm(dim=-1)
    safe = torch.where(s > 0, s, torch.ones_like(s))
    u = torch.where((s > 0).unsqueeze(-1), diff / safe.unsqueeze(-1), torch.zeros_like(diff))
    theta = torch.atan2(s, c)
    return Ab, u, c, s, theta


def relu_population_hessian(W, V) -> torch.Tensor:
    """Exact Hessian :math:`\\nabla^2_W F` of :func:`~valleylib.relu_population_risk`.

    See the module docstring for the blocks :math:`h_1`, :math:`h_2` and the flattening.

    Args:
        W: student rows, ``(runs, n, d)`` or ``(n, d)``; rows must be non-zero.
        V: teacher rows, ``(k, d)``, non-zero.

    Returns:
        ``(runs, n*d, n*d)``, or ``(n*d, n*d)`` when ``W`` is ``(n, d)``; entry
        ``[i*d + a, j*d + b]`` is :math:`\\partial^2 F / \\partial W_{ia}\\,\\partial W_{jb}`.

    Raises:
        ValueError: on bad shapes or non-finite values, or if a student row is zero
            (:math:`F` is not twice differentiable there).

    >>> H = relu_population_hessian(torch.eye(2, dtype=torch.float64) * 2, torch.eye(2, dtype=torch.float64))
    >>> tuple(H.shape)
    (4, 4)
    """
    W, single = batch_weights("W", W)
    V = check_teacher(V, W)
    if bool((W.norm(dim=-1) == 0).any()):
        raise ValueError("W: a student row is zero; the risk is not twice differentiable there (expected non-zero rows)")
    W, Vs, _ = rescale_rows(W, V)  # the Hessian is homogeneous of degree 0: no scaling back
    R, n, d = W.shape
    two_pi = 2 * math.pi
    eye = torch.eye(d, dtype=W.dtype, device=W.device)
    Wb, u_ww, c_ww, s_ww, th_ww = _pair_terms(W, W)
    _, u_wv, _, s_wv, _ = _pair_terms(W, Vs)
    nw = W.norm(dim=-1)  # (R, n)
    nv = Vs.norm(dim=-1).unsqueeze(-2)  # (R, 1, k)
    off = ~torch.eye(n, dtype=torch.bool, device=W.device)
    # h1 coefficients: |v| sin θ / (2π |w|)
    c1_ww = torch.where(off, nw.unsqueeze(-2) * s_ww, torch.zeros_like(s_ww)) / (two_pi * nw.unsqueeze(-1))
    c1_wv = nv * s_wv / (two_pi * nw.unsqueeze(-1))
    coef = c1_ww.sum(-1) - c1_wv.sum(-1)  # (R, n): multiplies (I - w̄w̄ᵀ)
    proj = eye - Wb.unsqueeze(-1) * Wb.unsqueeze(-2)  # (R, n, d, d)
    uu = torch.einsum("rij,rija,rijb->riab", c1_ww, u_ww, u_ww) - torch.einsum("rij,rija,rijb->riab", c1_wv, u_wv, u_wv)
    diag = 0.5 * eye + coef[..., None, None] * proj + uu  # (R, n, d, d)
    # h2 blocks for every pair (diagonal pairs replaced below)
    wb = Wb.unsqueeze(-2).expand(R, n, n, d)
    ww = wb.unsqueeze(-1) * wb.unsqueeze(-2)
    uu2 = u_ww.unsqueeze(-1) * u_ww.unsqueeze(-2)
    wu = wb.unsqueeze(-1) * u_ww.unsqueeze(-2)
    h2 = (math.pi - th_ww)[..., None, None] * eye + s_ww[..., None, None] * (
        c_ww[..., None, None] * (ww - uu2) + s_ww[..., None, None] * (wu + wu.transpose(-1, -2))
    )
    h2 = h2 / two_pi
    blocks = torch.where(off[..., None, None], h2, torch.zeros_like(h2))
    idx = torch.arange(n, device=W.device)
    blocks[:, idx, idx] = diag
    H = blocks.permute(0, 1, 3, 2, 4).reshape(R, n * d, n * d)
    H = 0.5 * (H + H.transpose(-1, -2))
    return H[0] if single else H


def smallest_eigenvalues(H: torch.Tensor, m: int = 1) -> torch.Tensor:
    """The ``m`` smallest eigenvalues of symmetric matrices ``(..., N, N)``, ascending, shape ``(..., m)``.

    Raises:
        ValueError: if ``H`` is not symmetric to :math:`\\sqrt{\\varepsilon}` relative to its largest
            entry (``eigvalsh`` would read one triangle and return another matrix's eigenvalues), or
            has non-finite entries.
    """
    H = as_tensor("H", H)
    if H.ndim < 2 or H.shape[-1] != H.shape[-2] or H.shape[-1] == 0:
        raise ValueError(
            "H: expected a tensor of square matrices (..., N, N) with N >= 1, got shape "
            f"{tuple(H.shape)}")
    check_floating("H", H)
    check_finite("H", H)
    check_positive_int("m", m)
    if not 1 <= m <= H.shape[-1]:
        raise ValueError(f"m={m!r}: expected an integer between 1 and N={H.shape[-1]}")
    # eigvalsh reads one triangle only: a non-symmetric matrix would give the eigenvalues of another one.
    asym = (H - H.transpose(-1, -2)).abs().amax() if H.numel() else H.new_zeros(())
    scale = H.abs().amax() if H.numel() else H.new_zeros(())
    fi = torch.finfo(H.dtype)
    if float(asym) > math.sqrt(fi.eps) * max(float(scale), fi.tiny):
        raise ValueError(
            f"H: is not symmetric (max |H - H^T| = {float(asym):.3g} against max |H| = "
            f"{float(scale):.3g}); "
            "expected symmetric matrices"
        )
    return torch.linalg.eigvalsh(H)[..., :m]


def hessian_min_eigenvalue(W, V, *, chunk: int = 256) -> torch.Tensor:
    """Smallest eigenvalue :math:`\\lambda_{\\min}(\\nabla^2 F(W))` per run, ``(runs,)`` (scalar for one network).

    Computed in chunks of ``chunk`` runs to bound memory (the Hessians hold ``runs * (n d)^2`` numbers).
    """
    Wb, single = batch_weights("W", W)
    check_positive_int("chunk", chunk)
    out = [smallest_eigenvalues(relu_population_hessian(Wb[s : s + chunk], V))[..., 0] for s in range(0, Wb.shape[0], chunk)]
    lam = torch.cat(out) if out else Wb.new_zeros(0)  # an empty batch gives an empty result
    return lam[0] if single else lam


def autodiff_hessian(fn, theta, *, chunk: int = 256) -> torch.Tensor:
    r"""Dense Hessian of one network's scalar loss, for every run at once, by automatic differentiation.

    For parameters ``theta`` of shape ``(runs, *shape)`` and ``fn`` mapping one run's parameters
    (a tensor of shape ``shape``) to a scalar, returns ``H`` of shape ``(runs, P, P)``,
    :math:`P = \prod` ``shape``, with

    .. math::

        H_r = \nabla^2 \mathtt{fn}(\theta_r)

    in the row-major order of ``theta[r].reshape(P)``. All runs go through one
    ``torch.func.vmap(torch.func.hessian(fn))`` (``chunk`` runs at a time, to bound memory), so
    ``fn`` must be written for a single run without data-dependent Python control flow (no
    ``bool(tensor)``, no validation inside). The closed-form Hessians of this library
    (:func:`relu_population_hessian`, :func:`valleylib.linear.shallow_hessian`) are faster where
    they exist; this helper serves the losses that have none.
    """
    check_callable("fn", fn)
    theta = as_tensor("theta", theta)
    check_floating("theta", theta)
    if theta.ndim < 2:
        raise ValueError(f"theta: expected (runs, *shape) with a leading runs dimension, got shape {tuple(theta.shape)}")
    check_finite("theta", theta)
    check_positive_int("chunk", chunk)
    runs, P = theta.shape[0], math.prod(theta.shape[1:])
    hess = torch.func.vmap(torch.func.hessian(fn))
    out = [hess(theta[s : s + chunk]).reshape(-1, P, P) for s in range(0, runs, chunk)]
    if not out:
        return theta.new_zeros(0, P, P)
    return torch.cat(out)
