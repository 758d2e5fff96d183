"""One batched descent engine: step rules, stop rules, divergence policy, per-check hooks.

All runs are one tensor ``p`` of shape ``(runs, ...)``. Each iteration evaluates
``(loss, g) = loss_grad(p)`` for the runs still in the *active batch* and moves the runs that are
still running with a pluggable :class:`StepRule`:

* :class:`GD`: :math:`\\theta \\leftarrow \\theta - \\eta g`;
* :class:`HeavyBall`: :math:`m \\leftarrow \\mu m + g`,
  :math:`\\theta \\leftarrow \\theta - \\eta m`;
* :class:`Adam`: :math:`m \\leftarrow \\beta_1 m + (1-\\beta_1) g`,
  :math:`v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2`,
  :math:`\\theta \\leftarrow \\theta - \\eta\\,\\hat m / (\\sqrt{\\hat v} + \\epsilon)`
  (bias-corrected,
  one step counter per run).

A run *stops* at the first iteration where its gradient norm (``"frobenius"``: :math:`\\|g\\|_2`;
``"max_row"``: :math:`\\max_i \\|g_i\\|_2` over the rows of the last dimension) is at most ``tol``
(outcome :data:`CONVERGED`), or where its step count reaches ``max_iter`` (:data:`HIT_CAP`); its
parameters are then the ones at which that norm was measured. A run whose loss or gradient is not
finite, or whose gradient norm exceeds ``divergence_threshold``, *diverges*: with
``on_divergence="restart"`` it restarts from its own start with half the step (at most
``max_restarts`` times), otherwise, or once its restarts are spent, it stops as :data:`DIVERGED`.

A *decided* stop (``decide_below``, optional) ends a run as :data:`DECIDED` at the first iteration
where its loss :math:`L_t` is below ``decide_below`` while every step since its (re)start has
decreased it, :math:`L_t \\le L_{t-1} + \\text{decide_slack}` (the slack absorbs the rounding of the
loss; one increase beyond it and the run keeps going to the gradient stop). Such a run cannot come
back above the level as long as the descent stays monotone: it is for labels decided by a loss
threshold (e.g. "risk below :math:`10^{-3}`"), not for end points.

The inner loop never synchronises with the host: stopped runs are frozen by masks, and only every
``check_every`` iterations are the outputs written, the hooks called (e.g. Newton polishing), the
progress bar updated and the stopped runs compacted out of the active batch.

>>> import torch
>>> p0 = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
>>> res = descend(p0, lambda p: (0.5 * (p * p).sum(-1), p), GD(), lr=0.5, tol=1e-3, progress=False)
>>> res.iterations.tolist(), [OUTCOMES[int(s)] for s in res.status]
([10, 11], ['converged', 'converged'])
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import torch

__all__ = [
    "descend", "DescentResult", "StepRule", "GD", "HeavyBall", "Adam", "ActiveBatch",
    "OUTCOMES", "RUNNING", "CONVERGED", "HIT_CAP", "DIVERGED", "DECIDED", "squared_grad_norm",
    "autograd_loss_grad",
]

#: Outcome codes of :attr:`DescentResult.status` (indices into :data:`OUTCOMES`).
RUNNING, CONVERGED, HIT_CAP, DIVERGED, DECIDED = 0, 1, 2, 3, 4
OUTCOMES = ("running", "converged", "hit_cap", "diverged", "decided")
_PENDING = 5  # diverged during a chunk; restarted or given up at the next check
_NAN = float("nan")


def squared_grad_norm(g: torch.Tensor, kind: str) -> torch.Tensor:
    """Squared per-run gradient norm, ``(runs,)``: Frobenius or the largest row (per-neuron) norm.

    Unvalidated inner-loop helper (NaN stays NaN)."""
    g2 = g * g
    if kind == "frobenius":
        return g2.flatten(1).sum(1)
    return g2.sum(-1).flatten(1).amax(1)


# ----------------------------------------------------------------------------- step rules


class StepRule:
    """A step rule: ``init`` its per-run state, ``step`` the runs in ``move``, ``reset`` restarted
    runs. States are tuples of tensors with a leading ``runs`` dimension (compacted with the
    batch)."""

    def init(self, p: torch.Tensor) -> tuple:
        return ()

    def step(self, p, g, lr_b, state, move_b):  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self, state: tuple, mask_b: torch.Tensor) -> tuple:
        return tuple(torch.where(mask_b, torch.zeros_like(s), s) if s.ndim == mask_b.ndim else
                     torch.where(mask_b.flatten(), torch.zeros_like(s), s) for s in state)


class GD(StepRule):
    """Plain gradient descent :math:`\\theta - \\eta g` (exactly that rounding: ``p - lr * g``)."""

    def step(self, p, g, lr_b, state, move_b):
        return torch.where(move_b, p - lr_b * g, p), state


@dataclass
class HeavyBall(StepRule):
    """Heavy ball: :math:`m \\leftarrow \\mu m + g`,
    :math:`\\theta \\leftarrow \\theta - \\eta m`."""

    momentum: float = 0.9
    #: ``True``: the step size goes into the velocity, :math:`m \leftarrow \mu m + \eta g`,
    #: :math:`\theta \leftarrow \theta - m` (the same iterates up to rounding; NEB's form).
    lr_inside: bool = False

    def init(self, p):
        return (torch.zeros_like(p),)

    def step(self, p, g, lr_b, state, move_b):
        (m,) = state
        if self.lr_inside:
            m = torch.where(move_b, self.momentum * m + lr_b * g, m)
            return torch.where(move_b, p - m, p), (m,)
        m = torch.where(move_b, self.momentum * m + g, m)
        return torch.where(move_b, p - lr_b * m, p), (m,)


@dataclass
class Adam(StepRule):
    """Bias-corrected Adam with one step counter per run (restarts reset it)."""

    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    #: ``True``: the bias corrections go into the step size,
    #: :math:`\theta - \eta\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,m/(\sqrt v+\epsilon)`
    #: (Kingma & Ba's "efficient" form, used by the path finders), instead of
    #: :math:`\hat m/(\sqrt{\hat v}+\epsilon)`.
    corrected_step: bool = False

    def init(self, p):
        return torch.zeros_like(p), torch.zeros_like(p), torch.zeros(p.shape[0], dtype=p.dtype,
                                                                      device=p.device)

    def step(self, p, g, lr_b, state, move_b):
        m, v, t = state
        b1, b2 = self.betas
        t = t + move_b.flatten().to(p.dtype)
        m = torch.where(move_b, b1 * m + (1 - b1) * g, m)
        v = torch.where(move_b, b2 * v + (1 - b2) * g * g, v)
        tt = torch.clamp(t, min=1.0).view_as(lr_b)
        if self.corrected_step:
            upd = (lr_b * torch.sqrt(1 - b2**tt) / (1 - b1**tt)) * m / (torch.sqrt(v) + self.eps)
        else:
            upd = lr_b * (m / (1 - b1**tt)) / (torch.sqrt(v / (1 - b2**tt)) + self.eps)
        return torch.where(move_b, p - upd, p), (m, v, t)


# ----------------------------------------------------------------------------- active batch


@dataclass
class ActiveBatch:
    """What a per-check hook sees and may change: the active runs only.

    ``idx`` are their indices in the full batch, ``p`` their parameters, ``status`` their outcome
    codes (a hook may set :data:`CONVERGED`), ``extra`` per-run tensors the hook owns (compacted
    with the batch and returned in :attr:`DescentResult.extra`)."""

    idx: torch.Tensor
    p: torch.Tensor
    status: torch.Tensor
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DescentResult:
    """Outcome of :func:`descend`, every field with a leading ``runs`` dimension.

    Attributes:
        params: final parameters (where the stopping norm was measured).
        loss: loss there (``nan`` if ``loss_grad`` gives no loss).
        grad_norm: the stopping norm there.
        iterations: steps taken (restarts included; the evaluation that triggered a restart is
            not a step).
        status: outcome codes, indices into :data:`OUTCOMES`.
        restarts: divergence restarts.
        lr: final step size (halved at each restart).
        history: ``(records, runs)`` losses every ``record_every`` iterations, or ``None``.
        extra: the hooks' per-run tensors.
    """

    params: torch.Tensor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    iterations: torch.Tensor
    status: torch.Tensor
    restarts: torch.Tensor
    lr: torch.Tensor
    history: Optional[torch.Tensor] = None
    extra: dict = field(default_factory=dict)

    @property
    def converged(self) -> torch.Tensor:
        return self.status == CONVERGED

    @property
    def hit_cap(self) -> torch.Tensor:
        return self.status == HIT_CAP

    @property
    def diverged(self) -> torch.Tensor:
        return self.status == DIVERGED

    @property
    def decided(self) -> torch.Tensor:
        return self.status == DECIDED


def tail_of(p: torch.Tensor) -> tuple:
    """Ones for every dimension of ``p`` after the runs dimension."""
    return (1,) * (p.ndim - 1)


def _snap_levels(extra: dict, p, loss, it, live) -> torch.Tensor:
    """Snapshot the live runs at every level their loss has just reached; True where all are."""
    tg, reached = extra["level_targets"], extra["level_reached"]
    hit = live.unsqueeze(1) & ~reached & (loss.unsqueeze(1) <= tg)
    hb = hit.view(*hit.shape, *tail_of(p))
    extra["level_params"] = torch.where(hb, p.unsqueeze(1), extra["level_params"])
    extra["level_loss"] = torch.where(hit, loss.unsqueeze(1), extra["level_loss"])
    extra["level_evals"] = torch.where(hit, (it + 1).unsqueeze(1), extra["level_evals"])
    extra["level_reached"] = reached = reached | hit
    return reached.all(1)


def _fill_levels(extra: dict, p, loss, it, stopped) -> None:
    """Runs that stopped keep their final iterate at the levels they did not reach."""
    miss = stopped.unsqueeze(1) & ~extra["level_reached"]
    mb = miss.view(*miss.shape, *tail_of(p))
    extra["level_params"] = torch.where(mb, p.unsqueeze(1), extra["level_params"])
    extra["level_loss"] = torch.where(miss, loss.unsqueeze(1), extra["level_loss"])
    extra["level_evals"] = torch.where(miss, (it + 1).unsqueeze(1), extra["level_evals"])


def progress_enabled(progress: Optional[bool]) -> bool:
    """``progress`` itself, or (``None``) whether ``$VALLEYLIB_PROGRESS`` is not off."""
    if progress is not None:
        return progress
    return os.environ.get("VALLEYLIB_PROGRESS", "1").strip() not in {"0", "false", "no", "off"}


def progress_bar(progress: Optional[bool], total: int, desc: str, unit: str = "it"):
    """A ``tqdm.auto`` bar (shown after 2 s, removed when done), or ``None`` when progress is
    off."""
    if not progress_enabled(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, delay=2.0, leave=False, unit=unit)


Hook = Callable[[ActiveBatch], None]


def autograd_loss_grad(loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """``p -> (loss, grad)`` from a batched loss ``(runs, ...) -> (runs,)`` by autograd (the
    gradient of the sum over runs is every run's own gradient)."""

    def loss_grad(p: torch.Tensor):
        with torch.enable_grad():
            q = p.detach().requires_grad_(True)
            loss = loss_fn(q)
            if not isinstance(loss, torch.Tensor) or loss.shape != (p.shape[0],):
                return loss, None  # the caller's first check names the problem
            (g,) = torch.autograd.grad(loss.sum(), q)
        return loss.detach(), g

    return loss_grad


def descend(
    params0: torch.Tensor,
    loss_grad: Callable,
    rule: StepRule,
    *,
    lr: float,
    tol: Optional[float],
    max_iter: int = 10_000,
    norm: str = "frobenius",
    on_divergence: str = "stop",
    divergence_threshold: float = 1e4,
    max_restarts: int = 20,
    check_every: int = 25,
    hooks: Sequence[Hook] = (),
    extra: Optional[dict] = None,
    record_every: Optional[int] = None,
    levels: Optional[torch.Tensor] = None,
    after_step: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    first_check: Optional[Callable] = None,
    decide_below: Optional[float] = None,
    decide_slack: float = 0.0,
    progress: Optional[bool] = None,
    desc: str = "descent",
) -> DescentResult:
    """Descend from every row of ``params0`` at once (inputs are trusted: validate at the edge).

    Args:
        params0: ``(runs, ...)`` starts (not modified).
        loss_grad: ``p -> (loss (r,) or None, grad like p)`` on the active batch.
        rule: the :class:`StepRule`.
        lr, tol, max_iter, norm, on_divergence, divergence_threshold, max_restarts: see the
            module docstring.
        check_every: iterations between checks (outputs, hooks, progress, compaction).
        hooks: called at every check with the :class:`ActiveBatch`, in order.
        extra: initial per-run tensors ``(runs, ...)`` for the hooks.
        record_every: record the losses every this many iterations (stopped runs repeat theirs;
            diverging evaluations repeat the previous record).
        levels: ``(runs, K)`` descending loss levels: each run is snapshotted at its first
            iterate with loss at most each level, and stops (:data:`CONVERGED`) once it has
            passed its last one; ``tol=None`` then disables the gradient stop. The snapshots are
            in ``extra``: ``level_params (runs, K, ...)``, ``level_loss``, ``level_evals`` (gradient
            evaluations up to the snapshot) and ``level_reached`` ``(runs, K)``; a run that stops
            otherwise fills its missing levels with its final iterate.
        after_step: ``p -> p`` applied to the active batch after every step (e.g. NEB's
            re-spacing of the pivots; only for rules where all runs move together).
        first_check: called once with ``(loss, g, p)`` of the first evaluation.
        decide_below, decide_slack: the decided stop (module docstring); needs ``loss_grad`` to
            return the loss.
    """
    runs = params0.shape[0]
    dev, dt = params0.device, params0.dtype
    tol2 = tol * tol if tol is not None else -1.0
    thr2 = divergence_threshold * divergence_threshold
    restart = on_divergence == "restart"
    out_p = params0.detach().clone()
    out_loss = torch.full((runs,), float("nan"), dtype=dt, device=dev)
    out_gn2 = torch.full((runs,), float("nan"), dtype=dt, device=dev)
    out_it = torch.zeros(runs, dtype=torch.long, device=dev)
    out_status = torch.zeros(runs, dtype=torch.long, device=dev)
    out_restarts = torch.zeros(runs, dtype=torch.long, device=dev)
    out_lr = torch.full((runs,), float(lr), dtype=dt, device=dev)
    extra = dict(extra or {})
    if levels is not None:
        K = levels.shape[1]
        extra["level_params"] = params0.detach().unsqueeze(1).repeat(1, K, *tail_of(params0))
        extra["level_loss"] = torch.full((runs, K), float("nan"), dtype=dt, device=dev)
        extra["level_evals"] = torch.zeros(runs, K, dtype=torch.long, device=dev)
        extra["level_reached"] = torch.zeros(runs, K, dtype=torch.bool, device=dev)
        extra["level_targets"] = levels
    out_extra = {k: v.clone() for k, v in extra.items()}
    history: list[torch.Tensor] = []
    last_loss = torch.full((runs,), float("nan"), dtype=dt, device=dev)

    tail = (1,) * (params0.ndim - 1)
    batch = ActiveBatch(torch.arange(runs, device=dev), params0.detach().clone(),
                        torch.zeros(runs, dtype=torch.long, device=dev),
                        {k: v.clone() for k, v in extra.items()})
    start = params0.detach().clone()
    step = torch.full((runs,), float(lr), dtype=dt, device=dev)
    it = torch.zeros(runs, dtype=torch.long, device=dev)
    restarts = torch.zeros(runs, dtype=torch.long, device=dev)
    f_loss = torch.full((runs,), float("nan"), dtype=dt, device=dev)  # loss, norm at the stop
    f_gn2 = torch.full((runs,), float("nan"), dtype=dt, device=dev)
    state = rule.init(batch.p)
    last_stop = torch.zeros(runs, dtype=torch.long, device=dev)  # iteration of each run's stop
    out_last_stop = torch.zeros(runs, dtype=torch.long, device=dev)
    decide = decide_below is not None
    mono = torch.ones(runs, dtype=torch.bool, device=dev)  # every step so far decreased the loss
    prev = torch.full((runs,), float("inf"), dtype=dt, device=dev)  # the loss one step before
    bar = progress_bar(progress, runs, desc, unit="run")
    total_iter = 0
    try:
        while batch.idx.numel() > 0:
            p, status = batch.p, batch.status
            lr_b = step.view(-1, *tail)
            for _ in range(check_every):
                loss, g = loss_grad(p)
                if total_iter == 0 and first_check is not None:
                    first_check(loss, g, p)
                gn2 = squared_grad_norm(g, norm)
                if loss is not None:  # a non-finite loss counts as diverging
                    gn2 = torch.where(torch.isfinite(loss), gn2, _NAN)
                # This evaluation's outcome (converged > cap > running > diverging); only running
                # runs take it. Diverging runs are frozen and restarted (or given up) at the check.
                new = torch.where(gn2 <= tol2, CONVERGED, torch.where(
                    it >= max_iter, HIT_CAP, torch.where(gn2 <= thr2, RUNNING, _PENDING)))
                if decide:  # decided (converged > decided > cap > running > diverging)
                    mono = mono & ~(loss > prev + decide_slack)
                    prev = loss
                    dec = mono & (loss < decide_below) & (gn2 <= thr2) & (new != CONVERGED)
                    new = torch.where(dec, DECIDED, new)
                if levels is not None:
                    live = (status == RUNNING) & (gn2 <= thr2)
                    reached = _snap_levels(batch.extra, p, loss, it, live)
                    new = torch.where(reached & (new != _PENDING), CONVERGED, new)
                newly = (status == RUNNING) & (new != RUNNING)
                status = torch.where(status == RUNNING, new, status)
                f_gn2 = torch.where(newly, gn2, f_gn2)
                if loss is not None:
                    f_loss = torch.where(newly, loss, f_loss)
                if record_every is not None:
                    last_stop = torch.where(newly, total_iter, last_stop)
                if record_every is not None and total_iter % record_every == 0:
                    held = (status == _PENDING) | (status == DIVERGED)
                    rec = torch.where(held, last_loss[batch.idx],
                                      torch.where(status != RUNNING, f_loss, loss))
                    last_loss[batch.idx] = rec
                    history.append(last_loss.clone())
                move = status == RUNNING
                move_b = move.view(-1, *tail)
                p, state = rule.step(p, g, lr_b, state, move_b)
                if after_step is not None:
                    p = torch.where(move_b, after_step(p), p)
                it = it + move
                total_iter += 1
            # Restart (or give up) the runs that diverged during this chunk: the same iterates as an
            # immediate restart, since frozen runs took no step.
            pend = status == _PENDING
            if bool(pend.any()):
                redo = pend & (restarts < max_restarts) if restart else torch.zeros_like(pend)
                status = torch.where(redo, RUNNING, torch.where(pend, DIVERGED, status))
                rb = redo.view(-1, *tail)
                p = torch.where(rb, start, p)
                step = torch.where(redo, step * 0.5, step)
                restarts = restarts + redo
                state = rule.reset(state, rb)
                if decide:
                    mono = mono | redo
                    prev = torch.where(redo, float("inf"), prev)
            batch.p, batch.status = p, status
            if levels is not None:
                _fill_levels(batch.extra, p, f_loss, it, status != RUNNING)
            for hook in hooks:
                hook(batch)
            p, status = batch.p, batch.status
            stopped = status != RUNNING
            if bool(stopped.any()):
                f = batch.idx[stopped]
                out_p[f] = p[stopped]
                out_loss[f] = f_loss[stopped]
                out_gn2[f] = f_gn2[stopped]
                out_it[f] = it[stopped]
                out_status[f] = status[stopped]
                out_restarts[f] = restarts[stopped]
                out_lr[f] = step[stopped]
                out_last_stop[f] = last_stop[stopped]
                for k, v in batch.extra.items():
                    out_extra[k][f] = v[stopped]
                keep = ~stopped
                batch = ActiveBatch(batch.idx[keep], p[keep], status[keep],
                                    {k: v[keep] for k, v in batch.extra.items()})
                start, step, it, restarts = start[keep], step[keep], it[keep], restarts[keep]
                last_stop = last_stop[keep]
                mono, prev = mono[keep], prev[keep]
                f_loss, f_gn2 = f_loss[keep], f_gn2[keep]
                state = tuple(s[keep] for s in state)
                if bar is not None:
                    bar.update(int(stopped.sum()))
    finally:
        if bar is not None:
            bar.close()
    hist = None
    if history:  # the records up to the iteration where the last run stopped
        hist = torch.stack(history[: int(out_last_stop.max()) // record_every + 1])
    return DescentResult(out_p, out_loss, out_gn2.sqrt(), out_it, out_status, out_restarts,
                         out_lr, hist, out_extra)
