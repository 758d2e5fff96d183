"""Training parameters down to a loss level (Adam, batched), for beads and end points."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

from .._checks import (
    as_tensor,
    check_callable,
    check_finite,
    check_floating,
    check_positive_float,
    check_positive_int,
    tensor_arg,
)
from ..descent import Adam, autograd_loss_grad, descend
from .core import LossFn

__all__ = ["train_to_level", "train_through_levels", "pair_end_points"]


def _check_batched(loss, g, p) -> None:
    if not isinstance(loss, torch.Tensor) or loss.shape != (p.shape[0],):
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss: expected a batched loss returning shape ({p.shape[0]},) for theta of shape "
            f"{tuple(p.shape)}, got {got}"
        )


def _adam_levels(loss, theta0, targets, lr, max_iter, betas, eps, progress, desc):
    """Adam on rows of ``theta0`` with a descending list of levels per row (``targets`` ``(R, K)``);
    snapshot each row at its first iterate below each level; a row leaves when its last level is hit.
    Runs on :func:`valleylib.descent.descend` (level stop, no gradient stop)."""
    lr = check_positive_float("lr", lr)
    check_positive_int("max_iter", max_iter, minimum=0)
    res = descend(theta0.detach(), autograd_loss_grad(loss), Adam(tuple(betas), eps, corrected_step=True),
                  lr=lr, tol=None, max_iter=max_iter, on_divergence="stop",
                  divergence_threshold=math.inf, check_every=50, levels=targets,
                  first_check=_check_batched, progress=progress, desc=desc)
    if bool(res.diverged.any()):
        raise ValueError("loss: non-finite value (NaN or inf) while training; expected a finite loss (try a smaller lr)")
    x = res.extra
    return (x["level_params"].transpose(0, 1), x["level_loss"].T, x["level_evals"].T,
            x["level_reached"].T)


def _start_points(loss, theta0) -> torch.Tensor:
    check_callable("loss", loss)
    if not isinstance(theta0, torch.Tensor) or theta0.ndim != 2:
        raise ValueError(
            "theta0: expected a tensor of shape (R, P), got "
            f"{getattr(theta0, 'shape', type(theta0).__name__)}")
    theta0 = tensor_arg("theta0", theta0)
    if theta0.shape[0] == 0 or theta0.shape[1] == 0:
        raise ValueError(
            "theta0: expected at least one row and one parameter, got shape "
            f"{tuple(theta0.shape)}")
    return theta0


def train_to_level(
    loss: LossFn,
    theta0: torch.Tensor,
    target,
    *,
    lr: float = 1e-3,
    max_iter: int = 20_000,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    progress: Optional[bool] = None,
    desc: str = "training to level",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train every row of ``theta0`` with full-batch Adam until its loss is at most its target.

    Row ``r`` stops at the first iterate with :math:`L(\\theta_r) \\le \\text{target}_r` (the
    DSS rule "train to :math:`\\alpha L_0`"); rows are independent, so training ``R`` rows as one
    batch gives the same iterates as training them one at a time. Finished rows leave the batch.

    Args:
        loss: batched loss ``(runs, P) -> (runs,)``.
        theta0: ``(R, P)`` starting points (not modified).
        target: a number or ``(R,)`` levels.
        lr: Adam step size (Freeman & Bruna's scripts: ``1e-3``).
        max_iter: cap on Adam steps per row; a row that hits it keeps its last iterate.

    Returns:
        ``(theta, loss, grad_evals, reached)``, each with a leading ``R``.
    """
    theta0 = _start_points(loss, theta0)
    target = as_tensor("target", target, dtype=theta0.dtype, device=theta0.device)
    check_floating("target", target)
    if target.ndim == 0:
        target = target.expand(theta0.shape[0])
    if target.shape != (theta0.shape[0],):
        raise ValueError(f"target: expected a number or shape ({theta0.shape[0]},), got {tuple(target.shape)}")
    check_finite("target", target)
    target = target.to(device=theta0.device, dtype=theta0.dtype)
    out, out_loss, evals, reached = _adam_levels(loss, theta0, target.unsqueeze(1), lr, max_iter, betas, eps, progress, desc)
    return out[0], out_loss[0], evals[0], reached[0]


def train_through_levels(
    loss: LossFn,
    theta0: torch.Tensor,
    levels: Sequence[float],
    *,
    lr: float = 1e-3,
    max_iter: int = 20_000,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    progress: Optional[bool] = None,
    desc: str = "training through levels",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One Adam run per row, snapshotted at the first iterate below each of ``levels``.

    The snapshot for level :math:`L_0` is exactly what :func:`train_to_level` with target
    :math:`L_0` returns from the same start, so one run yields end points for a whole grid of
    thresholds.

    Returns:
        ``(theta (K, R, P), loss (K, R), grad_evals (K, R), reached (K, R))`` with ``K = len(levels)``,
        levels in the order given.
    """
    theta0 = _start_points(loss, theta0)
    if isinstance(levels, (str, bytes)) or not hasattr(levels, "__iter__"):
        raise TypeError(f"levels: expected a sequence of numbers, got {type(levels).__name__}")
    lv = [check_positive_float(f"levels[{i}]", x) for i, x in enumerate(levels)]
    if not lv:
        raise ValueError("levels: expected at least one level")
    order = sorted(range(len(lv)), key=lambda i: -lv[i])
    tg = torch.tensor([lv[i] for i in order], dtype=theta0.dtype, device=theta0.device).expand(theta0.shape[0], -1)
    out, out_loss, evals, reached = _adam_levels(loss, theta0, tg.contiguous(), lr, max_iter, betas, eps, progress, desc)
    inv = torch.empty(len(lv), dtype=torch.long, device=theta0.device)
    inv[torch.tensor(order, device=theta0.device)] = torch.arange(len(lv), device=theta0.device)
    return out[inv], out_loss[inv], evals[inv], reached[inv]


def pair_end_points(T: torch.Tensor, ok: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Pairs of end points per level, from :func:`train_through_levels`' ``(T, ..., ok)``.

    At level ``l`` the runs that reached it (``ok[l]``) are split in order, the first half against
    the second: ``A``, ``B`` stack the pairs of every level, ``reached[l]`` is the number of pairs at
    level ``l`` (an odd run out is left alone).
    """
    As, Bs, reached = [], [], []
    for k in range(T.shape[0]):
        good = torch.nonzero(ok[k]).flatten()
        m = good.numel() // 2
        As.append(T[k, good[:m]])
        Bs.append(T[k, good[m : 2 * m]])
        reached.append(m)
    return torch.cat(As), torch.cat(Bs), reached
