"""Gaussian population risk of ReLU teacher–student networks, in closed form.

With inputs :math:`x \\sim \\mathcal N(0, I_d)`, student rows :math:`w_1,\\dots,w_n` and teacher
rows :math:`v_1,\\dots,v_k`, the population risk is

.. math::

    F(W) = \\tfrac12\\,\\mathbb E_x\\Big(\\sum_{i=1}^n [w_i^\\top x]_+ - \\sum_{j=1}^k [v_j^\\top x]_+\\Big)^2
         = \\tfrac12 \\sum_{i,i'} \\kappa(w_i, w_{i'}) - \\sum_{i,j} \\kappa(w_i, v_j)
           + \\tfrac12 \\sum_{j,j'} \\kappa(v_j, v_{j'}),

where :math:`\\kappa` is the arc-cosine kernel of degree one,

.. math::

    \\kappa(w, v) = \\mathbb E\\,[w^\\top x]_+[v^\\top x]_+
       = \\frac{\\|w\\|\\|v\\|}{2\\pi}\\big(\\sin\\theta + (\\pi-\\theta)\\cos\\theta\\big),
    \\qquad \\theta = \\angle(w, v),

so that :math:`\\kappa(w, w) = \\|w\\|^2/2`. Its gradient in :math:`w` is
:math:`\\nabla_w \\kappa(w, v) = \\frac{1}{2\\pi}\\big(\\|v\\|\\sin\\theta\\,\\bar w + (\\pi-\\theta)\\,v\\big)`
with :math:`\\bar w = w/\\|w\\|`, which gives the closed-form gradient of :math:`F` used by
Safran & Shamir (2018) and by :func:`relu_population_gradient`.

The angle is computed as ``atan2(s, w·v)`` with :math:`s = \\sqrt{\\|w\\|^2\\|v\\|^2-(w^\\top v)^2}`
(floored at the dtype's smallest normal number), so the risk stays differentiable by
autograd even for parallel rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from ._checks import (
    as_tensor,
    batch_weights,
    check_finite,
    check_floating,
    check_positive_int,
    check_same_device,
)
from .activations import ActivationLike
from .gaussian import (  # arccos_kernel re-exported: its home is gaussian
    arccos_kernel,
    arccos_kernel_matrix,
    check_result,
    check_teacher,
    pair_angles,
    rescale_rows,
    row_scales,
)
from .networks import draw_normal, two_layer

__all__ = [
    "arccos_kernel",
    "relu_population_risk",
    "relu_population_gradient",
    "monte_carlo_risk",
    "MonteCarloEstimate",
]


def relu_population_risk(W, V) -> torch.Tensor:
    """Closed-form population risk :math:`F(W)` of a ReLU student against a ReLU teacher.

    .. math::

        F(W) = \\tfrac12\\,\\mathbb E_{x\\sim\\mathcal N(0,I_d)}
               \\Big(\\sum_i [w_i^\\top x]_+ - \\sum_j [v_j^\\top x]_+\\Big)^2

    Args:
        W: student rows, ``(runs, n, d)`` or ``(n, d)``; any finite values.
        V: teacher rows, ``(k, d)``; non-zero rows (not necessarily orthonormal).

    Returns:
        ``(runs,)``, or a scalar when ``W`` is ``(n, d)``. Differentiable in ``W``.

    Rows of any finite size are handled: each run is rescaled exactly by a power of two before the
    kernels are formed (:math:`F(cW, cV) = c^2 F(W, V)`), so huge or tiny weights give no NaN from an
    overflowing :math:`\\|w\\|^2\\|v\\|^2`.

    Raises:
        ValueError: on bad shapes, non-finite values, a zero teacher row, or a risk that itself
            overflows the dtype (rows of norm beyond about :math:`10^{154}` in float64).

    >>> round(float(relu_population_risk(torch.eye(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))), 12)
    0.0
    """
    W, single = batch_weights("W", W)
    V = check_teacher(V, W)
    W, Vs, c = rescale_rows(W, V)
    kww = arccos_kernel_matrix(W, W, same=True).sum((-1, -2))
    kwv = arccos_kernel_matrix(W, Vs, same=False).sum((-1, -2))
    kvv = arccos_kernel_matrix(Vs, Vs, same=True).sum((-1, -2))
    risk = check_result("W", (0.5 * kww - kwv + 0.5 * kvv) / (c * c), "risk")
    return risk[0] if single else risk


def relu_gradient_kernel(W: torch.Tensor, V: torch.Tensor, identity: bool = False,
                         risk_const: Optional[float] = None):
    r"""The closed-form gradient for the inner loops: no validation, no rescaling.

    ``W`` ``(runs, n, d)``, ``V`` ``(k, d)`` (``identity=True`` promises ``V = I_d`` and skips the
    products by ``V``). With :math:`s_{ab} = \sqrt{\|a\|^2\|b\|^2 - (a^\top b)^2}` (floored at the
    dtype's smallest normal number) and :math:`\theta_{ab} = \operatorname{atan2}(s_{ab}, a^\top b)`,

    .. math::

        2\pi\,\nabla_{w_i}F = \Big(\sum_{i'\ne i} s_{w_i w_{i'}} - \sum_j s_{w_i v_j}\Big)
            \frac{w_i}{\|w_i\|^2}
            + \sum_{i'} (\pi - \theta_{ii'})\,w_{i'} - \sum_j (\pi - \theta_{i,v_j})\,v_j,

    with :math:`\theta_{ii} = 0` and the radial term taken as 0 at a zero row. Validated public
    edge: :func:`relu_population_gradient`.

    With ``risk_const`` (the teacher term :math:`\tfrac12\sum_{j,j'}\kappa(v_j, v_{j'})`, see
    :func:`teacher_risk_constant`) it returns ``(F(W), gradient)``, the risk from the same angles:
    :math:`2\pi F = \tfrac12\sum_{i,i'}(s_{ii'} + (\pi-\theta_{ii'})w_i^\top w_{i'})
    - \sum_{i,j}(s_{ij} + (\pi-\theta_{ij})w_i^\top v_j) + 2\pi\,\text{risk_const}`.
    """
    if torch.is_grad_enabled() and (W.requires_grad or V.requires_grad):
        return _relu_gradient_autograd(W, V)  # in-place work would break autograd
    tiny = torch.finfo(W.dtype).tiny
    nw2 = (W * W).sum(-1)
    dww = torch.bmm(W, W.transpose(1, 2))
    sww = (nw2.unsqueeze(-1) * nw2.unsqueeze(-2)).sub_(dww * dww).clamp_(min=tiny).sqrt_()
    sww.diagonal(dim1=1, dim2=2).fill_(0.0)
    A = torch.atan2(sww, dww).neg_().add_(math.pi)
    A.diagonal(dim1=1, dim2=2).fill_(math.pi)
    if identity:
        dwv, nv2 = W, 1.0
    else:
        dwv, nv2 = torch.matmul(W, V.transpose(-1, -2)), (V * V).sum(-1).unsqueeze(-2)
    swv = (dwv * dwv).neg_().add_(nw2.unsqueeze(-1) * nv2).clamp_(min=tiny).sqrt_()
    B = torch.atan2(swv, dwv).neg_().add_(math.pi)
    sww_row, swv_row = sww.sum(-1), swv.sum(-1)
    radial = (sww_row - swv_row) / torch.clamp(nw2, min=tiny)
    radial = torch.where(nw2 > 0, radial, torch.zeros_like(radial))
    g = torch.baddbmm(radial.unsqueeze(-1) * W, A, W)
    g -= B if identity else torch.matmul(B, V)
    g.mul_(1 / (2 * math.pi))
    if risk_const is None:
        return g
    two_pi_f = (0.5 * (sww_row.sum(-1) + (A * dww).sum((-1, -2)))
                - swv_row.sum(-1) - (B * dwv).sum((-1, -2)))
    return two_pi_f / (2 * math.pi) + risk_const, g


def teacher_risk_constant(V: torch.Tensor) -> float:
    r""":math:`\tfrac12\sum_{j,j'}\kappa(v_j, v_{j'})`, the part of :math:`F` that does not depend on
    ``W`` (``V`` ``(k, d)``, unvalidated; :math:`k/4 + k(k-1)/(4\pi)` for ``V = I_k``)."""
    return float(0.5 * arccos_kernel_matrix(V, V, same=True).sum())


def _relu_gradient_autograd(W: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """:func:`relu_gradient_kernel` without in-place operations (differentiable, e.g. for Hessians)."""
    n = W.shape[1]
    _, s_ww, th_ww = pair_angles(W, W)
    eye = torch.eye(n, dtype=torch.bool, device=W.device)
    s_ww = s_ww.masked_fill(eye, 0.0)
    th_ww = th_ww.masked_fill(eye, 0.0)
    _, s_wv, th_wv = pair_angles(W, V)
    nw2 = (W * W).sum(-1)
    radial = (s_ww.sum(-1) - s_wv.sum(-1)) / torch.clamp(nw2, min=torch.finfo(W.dtype).tiny)
    radial = torch.where(nw2 > 0, radial, torch.zeros_like(radial))
    grad = radial.unsqueeze(-1) * W + torch.matmul(math.pi - th_ww, W) - torch.matmul(math.pi - th_wv, V)
    return grad / (2 * math.pi)


def relu_population_gradient(W, V) -> torch.Tensor:
    """Closed-form gradient :math:`\\nabla_W F`, same shape as ``W``.

    .. math::

        \\nabla_{w_i}F = \\frac{1}{2\\pi}\\Big[\\sum_{i'}\\big(\\|w_{i'}\\|\\sin\\theta_{ii'}\\,\\bar w_i
            + (\\pi-\\theta_{ii'})\\,w_{i'}\\big)
            - \\sum_j\\big(\\|v_j\\|\\sin\\theta_{i,v_j}\\,\\bar w_i + (\\pi-\\theta_{i,v_j})\\,v_j\\big)\\Big]

    The :math:`i' = i` term equals :math:`w_i/2`. At a zero row :math:`w_i = 0`, where
    :math:`F` is not differentiable, the :math:`\\bar w_i` terms are taken as zero. This is the
    validated edge of :func:`relu_gradient_kernel` (rows rescaled by a power of two per run, so any
    finite size is handled).
    """
    W, single = batch_weights("W", W)
    V = check_teacher(V, W)
    s = row_scales(W, V)
    scales = torch.unique(s).tolist()
    if scales == [1.0]:  # almost every batch: no rescaling
        grad = relu_gradient_kernel(W, V)
    else:
        grad = relu_gradient_kernel(W * s[:, None, None], V.unsqueeze(0) * s[:, None, None])
        grad = grad / s[:, None, None]
    grad = check_result("W", grad, "gradient")
    return grad[0] if single else grad


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo estimate with its standard error, both ``(runs,)``."""

    mean: torch.Tensor
    stderr: torch.Tensor


def monte_carlo_risk(
    W,
    V,
    *,
    activation: ActivationLike = "relu",
    a=None,
    c=None,
    samples: int = 100_000,
    chunk: int = 50_000,
    generator: torch.Generator | None = None,
) -> MonteCarloEstimate:
    """Monte Carlo estimate of :math:`\\tfrac12\\mathbb E(f_W(x) - g_V(x))^2`, :math:`x\\sim\\mathcal N(0,I_d)`.

    Works for any activation: student :math:`f_W(x)=\\sum_i a_i\\sigma(w_i^\\top x)` and teacher
    :math:`g_V(x) = \\sum_j c_j\\sigma(v_j^\\top x)` (``a``, ``c`` default to ones).

    Args:
        W: ``(runs, n, d)`` or ``(n, d)``. V: ``(k, d)``.
        samples: number of Gaussian inputs, shared by all runs.
        chunk: inputs processed at once (memory bound).
        generator: a :class:`torch.Generator` for reproducibility, on any device: the samples are
            drawn where it lives and moved to ``W``'s device (:func:`~valleylib.networks.draw_normal`).

    Returns:
        :class:`MonteCarloEstimate` with ``mean`` and ``stderr`` of shape ``(runs,)`` (scalars for one network).
    """
    W, single = batch_weights("W", W)
    V = check_teacher(V, W)
    check_positive_int("samples", samples, 2)
    check_positive_int("chunk", chunk)
    for name, w, rows in (("a", a, W.shape[1]), ("c", c, V.shape[0])):
        if w is not None:  # checked here so that the message names the argument (two_layer calls both "a")
            t = as_tensor(name, w, dtype=W.dtype, device=W.device)
            check_floating(name, t)
            check_same_device(**{name: t, "W": W})
            if t.shape[-1] != rows or t.ndim > 2:
                raise ValueError(
                    f"{name}: expected shape (runs, {rows}) or ({rows},), got "
                    f"{tuple(t.shape)}")
            check_finite(name, t)
    total = torch.zeros(W.shape[0], dtype=W.dtype, device=W.device)
    total2 = torch.zeros_like(total)
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        x = draw_normal((m, W.shape[-1]), generator, W.dtype, W.device)
        diff = two_layer(x, W, a, activation=activation) - two_layer(x, V, c, activation=activation).unsqueeze(0)
        loss = 0.5 * diff * diff
        total += loss.sum(-1)
        total2 += (loss * loss).sum(-1)
        done += m
    mean = total / samples
    var = torch.clamp(total2 / samples - mean * mean, min=0.0) * samples / (samples - 1)
    stderr = torch.sqrt(var / samples)
    if single:
        return MonteCarloEstimate(mean[0], stderr[0])
    return MonteCarloEstimate(mean, stderr)
