"""The nudged elastic band between two minima (Henkelman & Jónsson's improved tangent)."""
from __future__ import annotations

import math
from typing import Optional

import torch

from .._checks import (
    as_tensor,
    check_finite,
    check_positive_float,
    check_positive_int,
)
from ..descent import HeavyBall, autograd_loss_grad, descend
from .core import LossFn, PathResult, checked_loss, end_points, eval_loss, make_result, with_connected

__all__ = ["neb"]


def _redistribute(nodes: torch.Tensor) -> torch.Tensor:
    """Move the inner nodes of a polygon to equal arc-length spacing along it."""
    seg = (nodes[1:] - nodes[:-1]).norm(dim=1)
    cum = torch.cat([seg.new_zeros(1), seg.cumsum(0)])
    total = cum[-1]
    if float(total) == 0:
        return nodes
    K = nodes.shape[0]
    s = torch.linspace(0, 1, K, dtype=nodes.dtype, device=nodes.device)[1:-1] * total
    j = torch.searchsorted(cum, s, right=True).clamp(1, K - 1) - 1
    frac = ((s - cum[j]) / seg[j].clamp_min(1e-300)).unsqueeze(1)
    inner = nodes[j] + frac * (nodes[j + 1] - nodes[j])
    return torch.cat([nodes[:1], inner, nodes[-1:]])


def _neb_tangent(nodes: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
    """Henkelman & Jónsson's improved tangent at the inner nodes: upwind, energy-weighted at extrema."""
    tp = nodes[2:] - nodes[1:-1]
    tm = nodes[1:-1] - nodes[:-2]
    Ep, E0, Em = E[2:], E[1:-1], E[:-2]
    up = (Ep > E0) & (E0 > Em)
    down = (Ep < E0) & (E0 < Em)
    dmax = torch.maximum((Ep - E0).abs(), (Em - E0).abs()).unsqueeze(1)
    dmin = torch.minimum((Ep - E0).abs(), (Em - E0).abs()).unsqueeze(1)
    mixed = torch.where((Ep > Em).unsqueeze(1), tp * dmax + tm * dmin, tp * dmin + tm * dmax)
    tau = torch.where(up.unsqueeze(1), tp, torch.where(down.unsqueeze(1), tm, mixed))
    return tau / tau.norm(dim=1, keepdim=True).clamp_min(1e-300)


def neb(loss: LossFn, theta_a, theta_b, *, pivots: int = 9, steps: int = 1000, lr: float = 1e-2,
        momentum: float = 0.9, spring: float = math.inf, init=None, resolution: int = 20,
        threshold: Optional[float] = None, multiplier: float = 1.0, progress: Optional[bool] = None) -> PathResult:
    """Nudged elastic band between fixed end points.

    Each inner pivot :math:`\\theta_i` with unit tangent :math:`\\tau_i` moves along the force

    .. math::

        F_i = -\\big(\\nabla L(\\theta_i) - (\\nabla L(\\theta_i)^\\top\\tau_i)\\,\\tau_i\\big)
              + k\\big(\\|\\theta_{i+1}-\\theta_i\\| - \\|\\theta_i-\\theta_{i-1}\\|\\big)\\,\\tau_i

    (heavy-ball momentum, step ``lr``). ``spring=inf`` drops the spring term and instead re-spaces
    the pivots evenly along the band after every step (Draxler et al.'s ``spring_constant: inf``).

    Args:
        pivots: number of inner pivots (all their gradients are one batched evaluation per step).
        init: ``(pivots, P)`` starting pivots (default: evenly spaced on the straight line).
    """
    a, b = end_points(theta_a, theta_b)
    checked_loss(loss, torch.stack([a, b]), "end points")
    check_positive_int("pivots", pivots)
    check_positive_int("steps", steps, minimum=0)
    lr = check_positive_float("lr", lr)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum={momentum!r}: expected a number in [0, 1)")
    if not (spring == math.inf or spring >= 0):
        raise ValueError(f"spring={spring!r}: expected a number >= 0 or math.inf")
    if init is None:
        t = torch.linspace(0, 1, pivots + 2, dtype=a.dtype, device=a.device)[1:-1].view(-1, 1)
        inner = a + t * (b - a)
    else:
        inner = as_tensor("init", init).to(a.dtype)
        if inner.shape != (pivots, a.shape[0]):
            raise ValueError(f"init: expected shape ({pivots}, {a.shape[0]}), got {tuple(inner.shape)}")
        check_finite("init", inner)
        inner = inner.clone()
    ends_loss = eval_loss(loss, torch.stack([a, b]))
    lg = autograd_loss_grad(loss)

    def minus_force(x: torch.Tensor):  # the engine descends along -F
        value, g = lg(x)
        if not bool(torch.isfinite(value).all()):
            raise ValueError("loss: non-finite value (NaN or inf) on the band; expected a finite loss (try a smaller lr)")
        nodes = torch.cat([a[None], x, b[None]])
        E = torch.cat([ends_loss[:1], value, ends_loss[1:]])
        tau = _neb_tangent(nodes, E)
        force = -(g - (g * tau).sum(1, keepdim=True) * tau)
        if spring != math.inf and spring > 0:
            dp = (nodes[2:] - nodes[1:-1]).norm(dim=1, keepdim=True)
            dm = (nodes[1:-1] - nodes[:-2]).norm(dim=1, keepdim=True)
            force = force + spring * (dp - dm) * tau
        return value, -force

    respace = None
    if spring == math.inf:
        respace = lambda x: _redistribute(torch.cat([a[None], x, b[None]]))[1:-1]  # noqa: E731
    res = descend(inner, minus_force, HeavyBall(momentum, lr_inside=True), lr=lr, tol=None,
                  max_iter=steps, on_divergence="stop", divergence_threshold=math.inf,
                  check_every=steps + 1, after_step=respace, progress=progress, desc="NEB")
    inner = res.params
    nodes = torch.cat([a[None], inner, b[None]])
    res = make_result("neb", loss, nodes, resolution=resolution, threshold=threshold, connected=None,
                  grad_evals=steps * pivots, loss_evals=0, info={"steps": steps, "spring": spring})
    return with_connected(res, threshold, multiplier)
