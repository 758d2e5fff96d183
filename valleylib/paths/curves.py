"""Curves between two minima trained by expected loss: a quadratic Bezier curve and a polygonal chain
(Garipov et al.)."""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from .._checks import (
    as_tensor,
    check_finite,
    check_floating,
    check_positive_float,
    check_positive_int,
)
from ..descent import Adam, descend
from .core import LossFn, PathResult, checked_loss, end_points, eval_loss, make_result, with_connected

__all__ = ["bezier_curve", "polychain_curve"]


def _bezier(a, theta, b, t):
    t = t.view(-1, 1)
    return (1 - t) ** 2 * a + 2 * t * (1 - t) * theta + t**2 * b


def _polychain(a, theta, b, t):
    t = t.view(-1, 1)
    first = a + 2 * t * (theta - a)
    second = theta + (2 * t - 1) * (b - theta)
    return torch.where(t < 0.5, first, second)


def _train_curve(
    kind: str,
    curve: Callable,
    loss: LossFn,
    theta_a,
    theta_b,
    *,
    steps: int,
    lr: float,
    samples: int,
    weight_decay: float,
    init: Optional[torch.Tensor],
    nodes: int,
    resolution: int,
    threshold: Optional[float],
    multiplier: float,
    seed: int,
    progress: Optional[bool],
) -> PathResult:
    a, b = end_points(theta_a, theta_b)
    checked_loss(loss, torch.stack([a, b]), "end points")
    check_positive_int("steps", steps, minimum=0)
    lr = check_positive_float("lr", lr)
    check_positive_int("samples", samples)
    check_positive_int("nodes", nodes, minimum=2)
    check_positive_int("resolution", resolution)
    if weight_decay < 0:
        raise ValueError(f"weight_decay={weight_decay!r}: expected a number >= 0")
    if init is None:
        theta = (0.5 * (a + b)).clone()
    else:
        theta = as_tensor("init", init, dtype=a.dtype, device=a.device)
        check_floating("init", theta)
        theta = theta.to(a.dtype)
        if theta.shape != a.shape:
            raise ValueError(f"init: expected the control point's shape {tuple(a.shape)}, got {tuple(theta.shape)}")
        if theta.device != a.device:
            raise ValueError(
                f"init: is on {theta.device}, expected the device {a.device} of "
                "theta_a")
        check_finite("init", theta)
        theta = theta.clone()
    gen = torch.Generator(device="cpu").manual_seed(seed)

    def loss_grad(q: torch.Tensor):  # q: (1, P), one control point; fresh t every step
        t = torch.rand(samples, generator=gen, dtype=a.dtype).to(a.device)
        with torch.enable_grad():
            q = q.detach().requires_grad_(True)
            value = loss(curve(a, q[0], b, t)).mean()
            (g,) = torch.autograd.grad(value, q)
        if weight_decay:
            g = g + weight_decay * q.detach()
        return value.detach().reshape(1), g

    res = descend(theta.unsqueeze(0), loss_grad, Adam((0.9, 0.999), 1e-8, corrected_step=True),
                  lr=lr, tol=None, max_iter=steps, on_divergence="stop",
                  divergence_threshold=math.inf, check_every=max(1, min(steps, 100)),
                  progress=progress, desc=f"{kind} curve")
    theta = res.params[0]
    theta = theta.detach()
    fine_t = torch.linspace(0, 1, (nodes - 1) * resolution + 1, dtype=a.dtype, device=a.device)
    fine = curve(a, theta, b, fine_t)
    fine[0], fine[-1] = a, b
    prof = eval_loss(loss, fine)
    seg = (fine[1:] - fine[:-1]).norm(dim=1)
    cum = torch.cat([seg.new_zeros(1), seg.cumsum(0)])
    total = float(cum[-1])
    node_idx = torch.arange(0, fine.shape[0], resolution, device=a.device)
    res = make_result(
        kind, loss, fine[node_idx], resolution=resolution, threshold=threshold, connected=None,
        grad_evals=steps * samples, loss_evals=0, info={"control_point": theta, "steps": steps, "lr": lr},
        profile=(cum / total if total > 0 else cum, prof, prof[node_idx]), length=total,
    )
    return with_connected(res, threshold, multiplier)


def bezier_curve(loss: LossFn, theta_a, theta_b, *, steps: int = 2000, lr: float = 1e-2, samples: int = 1,
                 weight_decay: float = 0.0, init=None, nodes: int = 21, resolution: int = 20,
                 threshold: Optional[float] = None, multiplier: float = 1.0, seed: int = 0,
                 progress: Optional[bool] = None) -> PathResult:
    """Quadratic Bezier curve :math:`\\phi_\\theta(t) = (1-t)^2\\theta_A + 2t(1-t)\\theta + t^2\\theta_B`
    with its control point trained by Adam on :math:`\\mathbb{E}_{t\\sim U[0,1]} L(\\phi_\\theta(t))`,
    ``samples`` fresh values of ``t`` per step (Garipov et al. use one).

    Args:
        init: starting control point (default the midpoint, i.e. the straight line).
        nodes: number of points returned in ``nodes`` (the profile is ``resolution`` times finer).
    """
    return _train_curve("bezier", _bezier, loss, theta_a, theta_b, steps=steps, lr=lr, samples=samples,
                        weight_decay=weight_decay, init=init, nodes=nodes, resolution=resolution,
                        threshold=threshold, multiplier=multiplier, seed=seed, progress=progress)


def polychain_curve(loss: LossFn, theta_a, theta_b, *, steps: int = 2000, lr: float = 1e-2, samples: int = 1,
                    weight_decay: float = 0.0, init=None, nodes: int = 21, resolution: int = 20,
                    threshold: Optional[float] = None, multiplier: float = 1.0, seed: int = 0,
                    progress: Optional[bool] = None) -> PathResult:
    """Polygonal chain :math:`\\theta_A \\to \\theta \\to \\theta_B` (``t = 1/2`` at the bend), trained
    like :func:`bezier_curve`."""
    return _train_curve("polychain", _polychain, loss, theta_a, theta_b, steps=steps, lr=lr, samples=samples,
                        weight_decay=weight_decay, init=init, nodes=nodes, resolution=resolution,
                        threshold=threshold, multiplier=multiplier, seed=seed, progress=progress)
