"""Batched full-batch training with per-run stopping.

All runs are one tensor ``params`` of shape ``(runs, ...)``. Each iteration evaluates the
loss and its gradient for the runs still *active*, and updates them with gradient descent

.. math::  \\theta_{t+1} = \\theta_t - \\eta\\,\\nabla L(\\theta_t)

heavy-ball SGD (the same update with momentum; the stochasticity comes from a ``loss_grad``
that draws a fresh mini-batch at each call) or Adam. A run stops, exactly at the first iteration
where its gradient norm is at most ``tol``; its parameters are then the ones at which that norm
was measured. Finished runs are frozen at once and dropped from the active batch (the tensor is
compacted) every ``check_every`` iterations, so late iterations cost only what the slow runs need.
The loop is the library's one descent engine, :func:`valleylib.descent.descend`.

A run *diverges* when its loss or gradient stops being finite or its gradient norm exceeds
``divergence_threshold``. With ``on_divergence="restart"`` it restarts from its own initial
point with half the step size (the Safran–Shamir protocol); with ``"stop"`` it is frozen and
flagged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Optional

import torch

from ._checks import (
    as_tensor,
    check_callable,
    check_finite,
    check_floating,
    check_positive_float,
    check_positive_int,
)
from .descent import GD, Adam, HeavyBall, autograd_loss_grad, descend, progress_enabled

__all__ = ["train", "TrainResult", "grad_norm", "LossGrad"]

LossGrad = Callable[[torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


def grad_norm(grad: torch.Tensor, kind: str = "frobenius") -> torch.Tensor:
    """Per-run norm of a gradient of shape ``(runs, ...)``.

    ``"frobenius"``: :math:`\\|g\\|_2` over all entries. ``"max_row"``: :math:`\\max_i \\|g_i\\|_2`
    over the rows of the last dimension (the per-neuron norm of Safran & Shamir).
    """
    if not isinstance(grad, torch.Tensor) or grad.ndim < 1:
        raise TypeError(
            "grad: expected a tensor of shape (runs, ...), got "
            f"{getattr(grad, 'shape', type(grad).__name__)}")
    if kind == "frobenius":
        return grad.flatten(1).norm(dim=1)
    if kind == "max_row":
        return grad.norm(dim=-1).flatten(1).amax(dim=1)
    raise ValueError(f"kind={kind!r}: expected 'frobenius' or 'max_row'")


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`, every field with a leading ``runs`` dimension.

    Attributes:
        params: final parameters.
        loss: final loss.
        grad_norm: gradient norm at ``params``.
        iterations: steps taken (restarts included; the evaluation that triggers a restart is
            not a step).
        converged: the gradient-norm tolerance was reached.
        diverged: the run was stopped as divergent (``on_divergence="stop"``) or ran out of restarts.
        lr: the final step size (halved by restarts).
        history: ``(records, runs)`` losses every ``record_every`` iterations (``None`` if not asked);
            finished runs repeat their final loss.
    """

    params: torch.Tensor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor
    diverged: torch.Tensor
    lr: torch.Tensor
    history: Optional[torch.Tensor] = None

    @property
    def runs(self) -> int:
        return int(self.loss.shape[0])


_progress_enabled = progress_enabled


_autograd_loss_grad = autograd_loss_grad


def _check_loss_grad(loss, g, p: torch.Tensor, name: str) -> None:
    """The first evaluation must give one loss per run and a gradient shaped like the parameters
    (a scalar loss would make every run report the sum over runs)."""
    if not isinstance(loss, torch.Tensor) or loss.shape != (p.shape[0],):
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"{name}: expected one loss per run, shape ({p.shape[0]},), got {got}")
    if not isinstance(g, torch.Tensor) or g.shape != p.shape:
        got = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
        raise ValueError(
            f"{name}: expected a gradient of the parameters' shape {tuple(p.shape)}, got "
            f"{got}")


def train(
    params0: torch.Tensor,
    *,
    loss_grad: Optional[LossGrad] = None,
    loss_fn: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    method: Literal["gd", "sgd", "adam"] = "gd",
    momentum: float = 0.9,
    lr: float = 0.1,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    norm: str = "frobenius",
    on_divergence: Literal["restart", "stop"] = "stop",
    divergence_threshold: float = 1e4,
    max_restarts: int = 20,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    record_every: Optional[int] = None,
    check_every: int = 25,
    progress: Optional[bool] = None,
    desc: str = "training",
) -> TrainResult:
    """Train all runs of ``params0`` at once.

    Args:
        params0: initial parameters ``(runs, ...)``; not modified.
        loss_grad: ``p -> (loss (r,), grad like p)`` for a batch of ``r`` active runs (closed
            forms, no autograd). Give this or ``loss_fn``.
        loss_fn: ``p -> loss (r,)``; the gradient is then taken by autograd. The first evaluation
            is checked: a loss of another shape (e.g. a scalar summed over runs) is rejected.
        method: ``"gd"`` (plain gradient descent), ``"sgd"`` (with ``momentum``:
            :math:`m \\leftarrow \\mu m + g`, :math:`\\theta \\leftarrow \\theta - \\eta m`) or ``"adam"``.
        momentum: :math:`\\mu` for ``"sgd"``, in ``[0, 1)``.
        lr: step size :math:`\\eta`.
        tol: stop a run when its gradient norm is at most ``tol``.
        max_iter: safety cap on iterations per run (hitting it leaves ``converged`` False).
        norm: ``"frobenius"`` or ``"max_row"`` (see :func:`grad_norm`).
        on_divergence: ``"restart"`` (from the run's start with half the step) or ``"stop"``.
        divergence_threshold: gradient norm above which a run counts as diverging.
        record_every: record every run's loss every this many iterations.
        check_every: iterations between host synchronisations (compaction, progress bar).
        progress: show a ``tqdm.auto`` bar; ``None`` reads ``$VALLEYLIB_PROGRESS`` (default on).

    Returns:
        :class:`TrainResult`.
    """
    if (loss_grad is None) == (loss_fn is None):
        raise ValueError("give exactly one of loss_grad (closed-form gradient) or loss_fn (autograd)")
    if loss_grad is not None:
        check_callable("loss_grad", loss_grad)
    if loss_fn is not None:
        check_callable("loss_fn", loss_fn)
    if not isinstance(params0, torch.Tensor):
        raise TypeError(
            "params0: expected a tensor of shape (runs, ...), got "
            f"{type(params0).__name__}")
    params0 = as_tensor("params0", params0)  # rejects meta tensors
    if params0.ndim < 2 or params0.shape[0] == 0:
        raise ValueError(
            "params0: expected a tensor of shape (runs >= 1, ...), got shape "
            f"{tuple(params0.shape)}")
    check_floating("params0", params0)
    check_finite("params0", params0)
    if method not in ("gd", "sgd", "adam"):
        raise ValueError(f"method={method!r}: expected 'gd', 'sgd' or 'adam'")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum={momentum!r}: expected a number in [0, 1)")
    if on_divergence not in ("restart", "stop"):
        raise ValueError(f"on_divergence={on_divergence!r}: expected 'restart' or 'stop'")
    lr = check_positive_float("lr", lr)
    tol = check_positive_float("tol", tol)
    divergence_threshold = check_positive_float("divergence_threshold", divergence_threshold)
    check_positive_int("max_iter", max_iter)
    check_positive_int("max_restarts", max_restarts, minimum=0)
    check_positive_int("check_every", check_every)
    if method == "adam":
        if not (len(betas) == 2 and all(0.0 <= float(b) < 1.0 for b in betas)):
            raise ValueError(f"betas={betas!r}: expected two numbers in [0, 1)")
        check_positive_float("eps", eps)
    if record_every is not None:
        check_positive_int("record_every", record_every)
    if norm not in ("frobenius", "max_row"):
        raise ValueError(f"norm={norm!r}: expected 'frobenius' or 'max_row'")
    lg = loss_grad if loss_grad is not None else _autograd_loss_grad(loss_fn)  # type: ignore[arg-type]
    name = "loss_fn" if loss_grad is None else "loss_grad"
    rule = {"gd": GD(), "sgd": HeavyBall(momentum), "adam": Adam(tuple(betas), eps)}[method]
    res = descend(
        params0.detach(), lg, rule, lr=lr, tol=tol, max_iter=max_iter, norm=norm,
        on_divergence=on_divergence, divergence_threshold=divergence_threshold,
        max_restarts=max_restarts, check_every=check_every, record_every=record_every,
        first_check=lambda loss, g, p: _check_loss_grad(loss, g, p, name),
        progress=progress, desc=desc)
    return TrainResult(res.params, res.loss, res.grad_norm, res.iterations, res.converged,
                       res.diverged, res.lr, res.history)
