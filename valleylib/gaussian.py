"""Gaussian-input kernels and risks of two-layer networks, in closed form: one home for both.

With inputs :math:`x \\sim \\mathcal N(0, I_d)`, the kernel of an activation :math:`\\sigma` is
:math:`K(w, v) = \\mathbb E_x\\,\\sigma(w^\\top x)\\,\\sigma(v^\\top x)`. It is known in closed form for

* ReLU, the arc-cosine kernel of degree one (:func:`arccos_kernel`),

  .. math::

      \\kappa(w, v) = \\frac{\\|w\\|\\|v\\|}{2\\pi}\\big(\\sin\\theta + (\\pi-\\theta)\\cos\\theta\\big),
      \\qquad \\theta = \\angle(w, v), \\qquad \\kappa(w, w) = \\|w\\|^2/2;

* erf (Williams, 1997; :func:`erf_kernel`),
  :math:`K(w, v) = \\frac2\\pi\\arcsin\\frac{2\\,w^\\top v}{\\sqrt{(1+2\\|w\\|^2)(1+2\\|v\\|^2)}}`.

The risk of a student :math:`\\sum_i a_i\\sigma(w_i^\\top x)` against a teacher
:math:`\\sum_j c_j\\sigma(v_j^\\top x)` is then a quadratic form in the kernel matrices
(:func:`gaussian_risk`):

.. math::

    \\tfrac12\\,\\mathbb E_x\\Big(\\sum_i a_i\\sigma(w_i^\\top x) - \\sum_j c_j\\sigma(v_j^\\top x)\\Big)^2
    = \\tfrac12\\big(a^\\top K(W, W)\\,a - 2\\,a^\\top K(W, V)\\,c + c^\\top K(V, V)\\,c\\big).

**Numerics.** The angle is ``atan2(s, w·v)`` with :math:`s = \\sqrt{\\|w\\|^2\\|v\\|^2-(w^\\top v)^2}`
floored at the dtype's smallest normal number (differentiable by autograd even for parallel
rows); a Gram matrix of the same rows gets its diagonal exactly (:math:`\\|w\\|^2/2`); and since
the ReLU kernel is positively homogeneous, rows are rescaled by an exact power of two where
:math:`\\|w\\|^2\\|v\\|^2` would overflow (:func:`rescale_rows`).

The ReLU teacher–student risk with unit output weights, its gradient and its Hessian
(Safran & Shamir) are built on these kernels in :mod:`valleylib.population` and
:mod:`valleylib.hessian`; the random-features fit in :mod:`valleylib.random_features`.
Functions marked *unvalidated* are the inner-loop kernels; the validated entry points are
:func:`arccos_kernel`, :func:`gaussian_kernel` and :func:`gaussian_risk`.
"""
from __future__ import annotations

import math

import torch

from ._checks import (
    as_tensor,
    batch_weights,
    check_finite,
    check_floating,
    check_ndim,
    check_same_device,
    tensor_arg,
)

__all__ = [
    "KERNEL_ACTIVATIONS",
    "kernel_name",
    "arccos_kernel",
    "arccos_kernel_matrix",
    "erf_kernel",
    "gaussian_kernel",
    "gram",
    "pair_angles",
    "gaussian_risk",
    "check_teacher",
    "check_teacher_outputs",
    "rescale_rows",
    "row_scales",
    "check_result",
]


def check_teacher(V, W: torch.Tensor, w_name: str = "W") -> torch.Tensor:
    """Validate the teacher ``V`` ``(k, d)`` against ``W`` (dtype, device, input dimension ``d``,
    finite, no zero row) and return it in ``W``'s dtype; errors name ``V`` and ``w_name``."""
    V = as_tensor("V", V, dtype=W.dtype, device=W.device)
    check_floating("V", V)
    check_ndim("V", V, (2,), "(k, d)")
    if V.shape[0] < 1:
        raise ValueError(f"V: expected at least one teacher row, got shape {tuple(V.shape)}")
    if V.shape[-1] != W.shape[-1]:
        raise ValueError(
            f"V: last dimension is {V.shape[-1]}, expected the input dimension d={W.shape[-1]} of "
            f"{w_name}")
    check_finite("V", V)
    if bool((V.norm(dim=-1) == 0).any()):
        raise ValueError("V: every teacher row must be non-zero (a zero row contributes nothing and has no angle)")
    check_same_device(**{w_name: W, "V": V})
    return V.to(W.dtype)


#: Rows are rescaled (exactly, by a power of two) when an entry lies outside [2^-E, 2^E]: beyond, the
#: products |w|^2 |v|^2 inside the kernel would overflow or underflow although the result need not.
_SAFE_EXP = {torch.float64: 204, torch.float32: 25, torch.float16: 3, torch.bfloat16: 25}


def rescale_rows(W: torch.Tensor, V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(W s, V s, s)`` with one power of two ``s`` per run ``(R,)`` (1 where no rescaling is needed).

    The risk is homogeneous of degree 2 in ``(W, V)`` jointly, the gradient of degree 1 and the
    Hessian of degree 0, so they are computed on the rescaled rows and scaled back. ``V s`` is
    ``(R, k, d)``.
    """
    s = row_scales(W, V)
    return W * s[:, None, None], V.unsqueeze(0) * s[:, None, None], s


def row_scales(W: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """The factor ``s (R,)`` of :func:`rescale_rows`: per run of ``W (R, n, d)``, a power of two that
    brings the largest entry of ``W`` and ``V (k, d)`` near 1, or 1 where no entry is outside
    :math:`[2^{-E}, 2^E]` (``E`` of the dtype). Exact: multiplying by it loses no bit."""
    return _pow2_unscale(torch.maximum(W.abs().amax((-1, -2)), V.abs().amax()))


def _pow2_unscale(m: torch.Tensor) -> torch.Tensor:
    """A power of two ``c`` per entry of ``m >= 0`` with ``m c`` near 1; 1 where ``m`` is safe (or 0)."""
    E = _SAFE_EXP.get(m.dtype, 25)
    one = torch.ones_like(m)
    safe = ((m < 2.0**E) & (m > 2.0**-E)) | (m == 0)
    return torch.where(safe, one, torch.ldexp(one, -torch.frexp(m)[1]))


def check_result(name: str, value: torch.Tensor, what: str) -> torch.Tensor:
    """Return ``value``, or raise a ``ValueError`` naming ``name`` when the ``what`` overflowed."""
    if not bool(torch.isfinite(value).all()):
        raise ValueError(
            f"{name}: the {what} overflows {value.dtype} at this scale (it grows like the squared row "
            f"norms); expected smaller weights"
        )
    return value


def pair_angles(A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unvalidated. Pairwise dot products, ``s = |a||b| sin θ`` and θ between rows of A (..., p, d) and B (..., q, d)."""
    dot = torch.matmul(A, B.transpose(-1, -2))
    na2 = (A * A).sum(-1)
    nb2 = (B * B).sum(-1)
    tiny = torch.finfo(A.dtype).tiny
    s = torch.sqrt(torch.clamp(na2.unsqueeze(-1) * nb2.unsqueeze(-2) - dot * dot, min=tiny))
    theta = torch.atan2(s, dot)
    return dot, s, theta


def arccos_kernel_matrix(A: torch.Tensor, B: torch.Tensor, same: bool) -> torch.Tensor:
    r"""Pairwise arc-cosine kernel :math:`\kappa(a_i, b_j) = (s_{ij} + (\pi - \theta_{ij})\,a_i^\top b_j)/(2\pi)`
    with :math:`s_{ij} = \|a_i\|\|b_j\|\sin\theta_{ij}`, rows of ``A (..., p, d)`` and ``B (..., q, d)``;
    ``same=True`` (``B`` is ``A``) sets the diagonal exactly to :math:`\|a_i\|^2/2`. Unvalidated."""
    dot, s, theta = pair_angles(A, B)
    K = (s + (math.pi - theta) * dot) / (2 * math.pi)
    if same:  # exact diagonal |a|^2 / 2 (θ = 0), without rounding in s
        eye = torch.eye(A.shape[-2], dtype=torch.bool, device=A.device)
        K = torch.where(eye, (A * A).sum(-1).unsqueeze(-1).expand_as(K) / 2, K)
    return K


def arccos_kernel(w, v) -> torch.Tensor:
    """The arc-cosine kernel :math:`\\kappa(w, v) = \\mathbb E[w^\\top x]_+[v^\\top x]_+`, :math:`x\\sim\\mathcal N(0,I)`.

    Args:
        w, v: tensors of shape ``(..., d)`` (broadcast against each other).

    >>> w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    >>> float(arccos_kernel(w, w))  # |w|^2 / 2
    12.5
    >>> round(float(arccos_kernel(w, -w)), 12)  # opposite rows never fire together
    0.0
    """
    w = as_tensor("w", w)
    check_floating("w", w)
    v = tensor_arg("v", v, like=w, like_name="w")
    if w.ndim == 0 or v.ndim == 0 or w.shape[-1] != v.shape[-1]:
        raise ValueError(
            f"v: expected rows (..., d) with the last dimension of w {tuple(w.shape)}, got "
            f"{tuple(v.shape)}")
    try:
        torch.broadcast_shapes(w.shape[:-1], v.shape[:-1])
    except RuntimeError:
        raise ValueError(
            f"w, v: batch shapes {tuple(w.shape[:-1])} and {tuple(v.shape[:-1])} do not "
            "broadcast") from None
    check_finite("w", w)
    # Rescale each argument by a power of two (exact) so that |w|^2 |v|^2 cannot overflow; κ is
    # homogeneous of degree one in each argument.
    cw = _pow2_unscale(w.abs().amax(-1, keepdim=True))
    cv = _pow2_unscale(v.abs().amax(-1, keepdim=True))
    w, v = w * cw, v * cv
    dot = (w * v).sum(-1)
    tiny = torch.finfo(w.dtype).tiny
    s = torch.sqrt(torch.clamp((w * w).sum(-1) * (v * v).sum(-1) - dot * dot, min=tiny))
    theta = torch.atan2(s, dot)
    return (s + (math.pi - theta) * dot) / (2 * math.pi) / (cw * cv).squeeze(-1)


#: Activations with a closed-form Gaussian kernel.
KERNEL_ACTIVATIONS: tuple[str, ...] = ("relu", "erf")


def kernel_name(activation) -> str:
    """The name (``"relu"`` or ``"erf"``) of an activation with a closed-form Gaussian kernel;
    a ``ValueError`` naming ``activation`` otherwise."""
    name = activation if isinstance(activation, str) else getattr(activation, "name", None)
    if name not in KERNEL_ACTIVATIONS:
        raise ValueError(f"activation={activation!r}: a closed-form Gaussian kernel exists only for {KERNEL_ACTIVATIONS}")
    return name


def erf_kernel(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    r"""Pairwise erf kernel :math:`\mathbb E\,\mathrm{erf}(a^\top x)\,\mathrm{erf}(b^\top x) =
    \frac2\pi\arcsin\frac{2a^\top b}{\sqrt{(1+2\|a\|^2)(1+2\|b\|^2)}}` for rows of ``A`` and ``B``. Unvalidated."""
    dot = torch.matmul(A, B.transpose(-1, -2))
    na = 1 + 2 * (A * A).sum(-1)
    nb = 1 + 2 * (B * B).sum(-1)
    r = 2 * dot / torch.sqrt(na.unsqueeze(-1) * nb.unsqueeze(-2))
    return (2 / math.pi) * torch.asin(torch.clamp(r, -1.0, 1.0))


def gaussian_kernel(A, B, activation: str = "relu") -> torch.Tensor:
    """:math:`K(a_i, b_j) = \\mathbb E_{x\\sim\\mathcal N(0,I)}\\,\\sigma(a_i^\\top x)\\,\\sigma(b_j^\\top x)`, in closed form.

    Args:
        A: rows ``(..., p, d)``. B: rows ``(..., q, d)`` (batch dimensions broadcast).
        activation: ``"relu"`` or ``"erf"``.

    Returns:
        ``(..., p, q)``.

    >>> e = torch.eye(2, dtype=torch.float64)
    >>> gaussian_kernel(e, e).tolist()  # relu: |w|^2/2 on the diagonal, 1/(2 pi) for orthogonal rows
    [[0.5, 0.15915494309189535], [0.15915494309189535, 0.5]]
    """
    name = kernel_name(activation)
    A = tensor_arg("A", A)
    B = tensor_arg("B", B, like=A, like_name="A")
    if A.ndim < 2 or B.ndim < 2:
        raise ValueError(
            f"A, B: expected rows (..., p, d) and (..., q, d), got shapes {tuple(A.shape)} and "
            f"{tuple(B.shape)}")
    if A.shape[-1] != B.shape[-1]:
        raise ValueError(f"B: last dimension is {B.shape[-1]}, expected the input dimension d={A.shape[-1]} of A")
    try:
        torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"A, B: batch shapes {tuple(A.shape[:-2])} and {tuple(B.shape[:-2])} do not "
            "broadcast") from None
    if name == "relu":
        return arccos_kernel_matrix(A, B, same=False)
    return erf_kernel(A, B)


def gram(W: torch.Tensor, name: str) -> torch.Tensor:
    """Gram matrix :math:`K(w_i, w_{i'})` of the rows of ``W (..., p, d)`` for kernel ``name`` (``"relu"``: exact
    diagonal :math:`\\|w_i\\|^2/2`). Unvalidated."""
    return arccos_kernel_matrix(W, W, same=True) if name == "relu" else erf_kernel(W, W)


def check_teacher_outputs(V, c, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a teacher ``V (k, d)`` (:func:`check_teacher`) and its output weights ``c (k,)``
    (default ones) against ``W``; return both in ``W``'s dtype."""
    V = check_teacher(V, W)  # shape, dimension, finiteness, non-zero rows, device
    c = torch.ones(V.shape[0], dtype=W.dtype, device=W.device) if c is None else as_tensor("c", c, dtype=W.dtype, device=W.device).to(W.dtype)
    if c.shape != (V.shape[0],):
        raise ValueError(f"c: expected shape ({V.shape[0]},) (one output weight per teacher row), got {tuple(c.shape)}")
    check_finite("c", c)
    return V, c


def gaussian_risk(W, V, *, activation: str = "relu", a=None, c=None) -> torch.Tensor:
    """Closed-form :math:`\\tfrac12\\mathbb E_x(\\sum_i a_i\\sigma(w_i^\\top x) - \\sum_j c_j\\sigma(v_j^\\top x))^2`.

    For ReLU with ``a = c = 1`` this is :func:`~valleylib.relu_population_risk`. Differentiable in
    ``W`` and ``a`` (the chapters train erf students with it through autograd).

    Args:
        W: ``(runs, n, d)`` or ``(n, d)``. V: ``(k, d)``.
        a: output weights ``(runs, n)`` or ``(n,)``; default ones. c: ``(k,)``; default ones.

    Returns:
        ``(runs,)`` (a scalar for one network).
    """
    name = kernel_name(activation)
    W, single = batch_weights("W", W)
    V, c = check_teacher_outputs(V, c, W)
    a = torch.ones(W.shape[:2], dtype=W.dtype, device=W.device) if a is None else as_tensor("a", a, dtype=W.dtype, device=W.device)
    check_floating("a", a)
    if a.ndim == 1:
        a = a.unsqueeze(0).expand(W.shape[0], -1)
    if a.shape != W.shape[:2]:
        raise ValueError(
            f"a: expected shape {tuple(W.shape[:2])} (runs, n) of W, got "
            f"{tuple(a.shape)}")
    check_same_device(a=a, W=W)
    a = a.to(W.dtype)
    check_finite("a", a)
    if name == "relu":  # homogeneous of degree 2 in (W, V): rescale exactly so that no product overflows
        W, Vs, scale = rescale_rows(W, V)
        G = arccos_kernel_matrix(W, W, same=True)
        b = (arccos_kernel_matrix(W, Vs, same=False) @ c.unsqueeze(-1)).squeeze(-1)
        tt = (c @ arccos_kernel_matrix(Vs, Vs, same=True) @ c.unsqueeze(-1)).squeeze(-1)
        unscale = scale * scale
    else:
        G = gram(W, name)
        b = erf_kernel(W, V.unsqueeze(0)) @ c
        tt = c @ gram(V, name) @ c
        unscale = None
    risk = 0.5 * ((a.unsqueeze(-2) @ G @ a.unsqueeze(-1)).squeeze(-1).squeeze(-1) - 2 * (a * b).sum(-1) + tt)
    if unscale is not None:
        risk = check_result("W", risk / unscale, "risk")
    return risk[0] if single else risk
