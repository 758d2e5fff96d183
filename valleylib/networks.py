"""Batched two-layer networks, their initialisers and teachers.

Every parameter tensor carries a leading ``runs`` dimension so that many independent
networks are evaluated as one tensor operation. A single network may be passed without
it; the output then has no ``runs`` dimension either.

Two-layer network, with the book's notation (chapter *Notation*):

.. math::

    f(x; W, a, b) = \\sum_{i=1}^{n} a_i \\, \\sigma(w_i^\\top x + b_i),

with ``W`` of shape ``(runs, n, d)`` (row ``i`` is the hidden unit :math:`w_i`), ``a`` of
shape ``(runs, n)`` (default all ones: the Safran–Shamir convention) or ``(runs, m, n)`` for
``m`` outputs (Venturi et al.'s :math:`U`), and optional hidden biases ``b`` ``(runs, n)``.

Deep linear networks :math:`f(x) = W_L \\cdots W_2 W_1 x` live in :mod:`valleylib.linear`.
"""
from __future__ import annotations

import math
from typing import Optional

import torch

from ._checks import (
    as_tensor,
    batch_weights,
    check_dtype,
    check_finite,
    check_floating,
    check_positive_int,
    check_same_device,
    tensor_arg,
)
from .activations import ActivationLike, get_activation

__all__ = ["two_layer", "draw_normal", "xavier_init", "teacher_identity",
           "make_teacher", "FAMILIES"]

#: Teacher families of :func:`make_teacher`: ``"ss"`` (:math:`V = I_k`, Safran & Shamir) and
#: ``"random"``.
FAMILIES: tuple[str, ...] = ("ss", "random")


def _inputs(x, W: torch.Tensor) -> torch.Tensor:
    runs, d = W.shape[0], W.shape[-1]
    x = tensor_arg("x", x, like=W, ndim=(2, 3), meaning="(N, d) or (runs, N, d)")
    if x.shape[-1] != d:
        raise ValueError(f"x: last dimension is {x.shape[-1]}, expected the input dimension d={d} of W")
    if x.ndim == 3 and x.shape[0] not in (1, runs):
        raise ValueError(f"x: leading dimension {x.shape[0]} does not match runs={runs}")
    return x


def two_layer(x, W, a=None, b=None, activation: ActivationLike = "relu") -> torch.Tensor:
    """Evaluate :math:`f(x) = \\sum_i a_i \\sigma(w_i^\\top x + b_i)` for every run.

    Args:
        x: inputs ``(N, d)`` shared by all runs, or ``(runs, N, d)``.
        W: hidden weights ``(runs, n, d)`` or ``(n, d)``.
        a: output weights ``(runs, n)``, ``(n,)``, ``(runs, m, n)``; ``None`` means all ones.
        b: hidden biases ``(runs, n)`` or ``(n,)``; ``None`` means none.
        activation: registered name, :class:`~valleylib.activations.Activation` or polynomial coefficients.

    Returns:
        ``(runs, N)`` (or ``(runs, N, m)`` for matrix ``a``); the runs dimension is dropped when
        ``W`` was given without one.

    >>> W = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    >>> two_layer(torch.tensor([[2.0, 3.0]]), W).tolist()  # relu(2) + relu(-3)
    [2.0]
    """
    sigma = get_activation(activation)
    W, single = batch_weights("W", W)
    runs, n, d = W.shape
    x = _inputs(x, W)
    pre = torch.matmul(x, W.transpose(-1, -2))  # (runs, N, n)
    if b is not None:
        b = as_tensor("b", b, dtype=W.dtype, device=W.device)
        check_floating("b", b)
        check_same_device(b=b, W=W)
        b = b.to(W.dtype)
        check_finite("b", b)
        if b.ndim == 1:
            b = b.unsqueeze(0)
        if b.shape[-1] != n or b.ndim != 2 or b.shape[0] not in (1, runs):
            raise ValueError(
                f"b: expected shape (runs, {n}) or ({n},) with runs={runs} of W, got "
                f"{tuple(b.shape)}")
        pre = pre + b.unsqueeze(1)
    h = sigma(pre)
    if a is None:
        out = h.sum(-1)
    else:
        a = as_tensor("a", a, dtype=W.dtype, device=W.device)
        check_same_device(a=a, W=W)
        a = a.to(W.dtype)
        check_finite("a", a)
        if a.ndim == 1:
            a = a.unsqueeze(0)
        if a.shape[-1] != n or a.ndim not in (2, 3) or a.shape[0] not in (1, runs):
            raise ValueError(
                f"a: expected shape (runs, {n}), ({n},) or (runs, m, {n}) with runs={runs} of W, "
                f"got {tuple(a.shape)}"
            )
        out = torch.einsum("rNn,rn->rN", h, a.expand(runs, n)) if a.ndim == 2 else torch.einsum("rNn,rmn->rNm", h, a.expand(runs, *a.shape[1:]))
    return out[0] if single else out


# ----------------------------------------------------------------- starts and teachers


def draw_normal(shape: tuple, generator: Optional[torch.Generator], dtype: torch.dtype, device) -> torch.Tensor:
    """Standard normal draws of ``shape``, made where ``generator`` lives and moved to ``device``.

    The library's one convention for randomness: a seed gives the same numbers on every device
    (experiments seed a CPU generator), and the tensors then go where the computation runs.
    Without a generator the draws use torch's global generator on ``device``.
    """
    if generator is None:
        return torch.randn(*shape, dtype=dtype, device=device)
    return torch.randn(*shape, dtype=dtype, device=generator.device, generator=generator).to(device)


def teacher_identity(k: int, *, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    """The teacher ``V = I_k`` (rows :math:`v_j = e_j`, input dimension :math:`d = k`)."""
    from .device import check_device

    check_positive_int("k", k)
    check_dtype("dtype", dtype)
    return torch.eye(k, dtype=dtype, device=check_device(device, "device"))


def xavier_init(
    runs: int, n: int, d: int, *, generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """Xavier initialisation ``W0 (runs, n, d)`` with i.i.d. :math:`\\mathcal N(0, 1/d)` entries.

    ``device`` defaults to the generator's device, else :func:`~valleylib.default_device`.
    """
    from .device import check_device, default_device

    check_positive_int("runs", runs)
    check_positive_int("n", n)
    check_positive_int("d", d)
    check_dtype("dtype", dtype)
    if device is None:
        device = generator.device if generator is not None else default_device()
    device = check_device(device, "device")
    return draw_normal((runs, n, d), generator, dtype, device) / math.sqrt(d)


def make_teacher(family: str, k: int, *, generator: Optional[torch.Generator] = None, dtype=torch.float64, device=None) -> torch.Tensor:
    """Teacher rows ``V (k, k)`` (input dimension :math:`d = k`).

    ``"ss"``: :math:`V = I_k`. ``"random"``: rows drawn uniformly on the unit sphere (Gaussian rows,
    normalised), from ``generator``; same norms as the ``"ss"`` teacher, random angles.
    """
    check_positive_int("k", k)
    if family == "ss":
        dev = device if device is not None else (generator.device if generator is not None else None)
        return teacher_identity(k, dtype=dtype, device=dev)
    if family == "random":
        from .device import check_device, default_device

        if device is None:
            device = generator.device if generator is not None else default_device()
        V = draw_normal((k, k), generator, dtype, check_device(device, "device"))
        return V / V.norm(dim=1, keepdim=True)
    raise ValueError(f"family={family!r}: expected one of {FAMILIES}")
