"""Batched full-batch training with per-run stopping.

All runs are one tensor ``params`` of shape ``(runs, ...)``. Each iteration evaluates the
loss and its gradient for the runs still *active*, and updates them with gradient descent

.. math::  \\theta_{t+1} = \\theta_t - \\eta\\,\\nabla L(\\theta_t)

heavy-ball SGD (the same update with momentum; the stochasticity comes from a ``loss_grad``
that draws a fresh mini-batch at each call) or Adam. A run stops, exactly at the first iteration where its gradient norm is at most
``tol``; its parameters are then the ones at which that norm was measured. Finished runs
are dropped from the active batch (the tensor is compacted), so late iterations cost only
what the slow runs need.

A run *diverges* when its loss or gradient stops being finite or its gradient norm exceeds
``divergence_threshold``. With ``on_divergence="restart"`` it restarts from its own initial
point with half the step size (the Safran–Shamir protocol); with ``"stop"`` it is frozen and
flagged.
"""
from __future__ import annotations

import os
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
        iterations: gradient evaluations spent (restarts included).
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


def _progress_enabled(progress: Optional[bool]) -> bool:
    if progress is not None:
        return progress
    return os.environ.get("VALLEYLIB_PROGRESS", "1").strip() not in {"0", "false", "no", "off"}


def _progress_bar(progress: Optional[bool], total: int, desc: str, unit: str = "it"):
    """A ``tqdm.auto`` bar (shown after 2 s, removed when done), or ``None`` when progress is off;
    ``None`` for ``progress`` reads ``$VALLEYLIB_PROGRESS``."""
    if not _progress_enabled(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, delay=2.0, leave=False, unit=unit)


def _autograd_loss_grad(loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> LossGrad:
    def loss_grad(p: torch.Tensor):
        with torch.enable_grad():
            q = p.detach().requires_grad_(True)
            loss = loss_fn(q)
            if not isinstance(loss, torch.Tensor) or loss.shape != (p.shape[0],):
                _check_loss_grad(loss, p, p, "loss_fn")
            (g,) = torch.autograd.grad(loss.sum(), q)
        return loss.detach(), g

    return loss_grad


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

    runs = params0.shape[0]
    dev, dt = params0.device, params0.dtype
    # Outputs for all runs.
    out_params = params0.detach().clone()
    out_loss = torch.full((runs,), float("nan"), dtype=dt, device=dev)
    out_gn = torch.full((runs,), float("nan"), dtype=dt, device=dev)
    out_it = torch.zeros(runs, dtype=torch.long, device=dev)
    out_conv = torch.zeros(runs, dtype=torch.bool, device=dev)
    out_div = torch.zeros(runs, dtype=torch.bool, device=dev)
    out_lr = torch.full((runs,), lr, dtype=dt, device=dev)
    history: list[torch.Tensor] = []
    last_loss = torch.full((runs,), float("nan"), dtype=dt, device=dev)

    # Active batch.
    idx = torch.arange(runs, device=dev)
    p = params0.detach().clone()
    start = params0.detach().clone()
    step = torch.full((runs,), lr, dtype=dt, device=dev)
    it = torch.zeros(runs, dtype=torch.long, device=dev)
    restarts = torch.zeros(runs, dtype=torch.long, device=dev)
    m = torch.zeros_like(p) if method in ("adam", "sgd") else None
    v = torch.zeros_like(p) if method == "adam" else None
    t_adam = torch.zeros(runs, dtype=dt, device=dev)
    shape_tail = (1,) * (p.ndim - 1)

    bar = _progress_bar(progress, max_iter, desc)
    total_iter = 0
    try:
        while idx.numel() > 0:
            for _ in range(check_every):
                loss, g = lg(p)
                if total_iter == 0:  # once per call: the inner loop stays unvalidated
                    _check_loss_grad(loss, g, p, "loss_fn" if loss_grad is None else "loss_grad")
                gn = grad_norm(g, norm)
                bad = ~torch.isfinite(loss) | ~torch.isfinite(gn) | (gn > divergence_threshold)
                done = (gn <= tol) & ~bad
                capped = it >= max_iter
                if record_every is not None and total_iter % record_every == 0:
                    last_loss[idx] = torch.where(bad, last_loss[idx], loss)
                    history.append(last_loss.clone())
                # Record the state of every run that stops now.
                stop = done | capped
                out_loss[idx] = torch.where(stop, loss, out_loss[idx])
                out_gn[idx] = torch.where(stop, gn, out_gn[idx])
                out_conv[idx] = out_conv[idx] | done
                freeze = stop.clone()
                if on_divergence == "restart":
                    redo = bad & ~stop & (restarts < max_restarts)
                    give_up = bad & ~stop & ~redo
                    p = torch.where(redo.view(-1, *shape_tail), start, p)
                    step = torch.where(redo, step / 2, step)
                    restarts = restarts + redo.long()
                    if m is not None:
                        m = torch.where(redo.view(-1, *shape_tail), torch.zeros_like(m), m)
                    if v is not None:
                        v = torch.where(redo.view(-1, *shape_tail), torch.zeros_like(v), v)
                        t_adam = torch.where(redo, torch.zeros_like(t_adam), t_adam)
                    move = ~(stop | bad)
                else:
                    give_up = bad & ~stop
                    move = ~(stop | bad)
                out_div[idx] = out_div[idx] | give_up
                out_loss[idx] = torch.where(give_up, loss, out_loss[idx])
                out_gn[idx] = torch.where(give_up, gn, out_gn[idx])
                freeze = freeze | give_up
                # Update the runs that keep going.
                g = torch.where(move.view(-1, *shape_tail), g, torch.zeros_like(g))
                if method == "gd":
                    p = p - step.view(-1, *shape_tail) * g
                elif method == "sgd":
                    m = torch.where(move.view(-1, *shape_tail), momentum * m + g, m)
                    p = p - torch.where(move.view(-1, *shape_tail), step.view(-1, *shape_tail) * m, torch.zeros_like(p))
                else:
                    t_adam = t_adam + move.to(dt)
                    b1, b2 = betas
                    mv = move.view(-1, *shape_tail)
                    m = torch.where(mv, b1 * m + (1 - b1) * g, m)
                    v = torch.where(mv, b2 * v + (1 - b2) * g * g, v)
                    tt = torch.clamp(t_adam, min=1.0).view(-1, *shape_tail)
                    mhat = m / (1 - b1**tt)
                    vhat = v / (1 - b2**tt)
                    p = p - torch.where(mv, step.view(-1, *shape_tail) * mhat / (torch.sqrt(vhat) + eps), torch.zeros_like(p))
                it = it + (~freeze).long()
                out_params[idx] = torch.where(freeze.view(-1, *shape_tail), p, out_params[idx])
                out_it[idx] = it
                out_lr[idx] = step
                # Frozen runs are removed below; until then they do not move.
                if freeze.any():  # cheap on CPU; on GPU the sync happens at most once per check_every
                    keep = ~freeze
                    idx, p, start, step, it, restarts, t_adam = idx[keep], p[keep], start[keep], step[keep], it[keep], restarts[keep], t_adam[keep]
                    if m is not None:
                        m = m[keep]
                    if v is not None:
                        v = v[keep]
                total_iter += 1
                if idx.numel() == 0:
                    break
            if bar is not None:
                bar.n = min(int(it.max()) if it.numel() else max_iter, max_iter)
                bar.set_postfix(active=int(idx.numel()), refresh=False)
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    hist = torch.stack(history) if history else None
    return TrainResult(out_params, out_loss, out_gn, out_it, out_conv, out_div, out_lr, hist)
