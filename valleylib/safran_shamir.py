"""The Safran & Shamir (2018) gradient-descent protocol, batched over runs.

Teacher :math:`v_j = e_j` (``V = I_k``, so the input dimension is :math:`d = k`), student of width
:math:`n` with all output weights 1, Gaussian inputs, population risk :math:`F` in closed form
(:func:`~valleylib.relu_population_risk`). Every run:

1. starts from Xavier initialisation :math:`W_0` with i.i.d. :math:`\\mathcal N(0, 1/d)` entries;
2. takes gradient steps :math:`W \\leftarrow W - \\eta\\,\\nabla F(W)` with :math:`\\eta = 0.1`;
3. stops at the first iterate with :math:`\\max_i \\|\\nabla_{w_i} F\\| \\le 10^{-9}/(2\\pi)`
   (the authors' code tests :math:`\\max_i\\|2\\pi\\nabla_{w_i}F\\|\\le 10^{-9}`);
4. restarts from its own :math:`W_0` with the step halved whenever that norm exceeds :math:`10^4`
   or stops being finite.

The authors had no iteration cap; here ``max_iter`` is a safety cap, and runs that hit it are
reported (``converged`` is False for them). End points are then classified by
:func:`classify`: ``global`` (risk below :math:`10^{-3}`), ``spurious`` (risk at least :math:`10^{-3}`
and a positive definite Hessian), ``saddle`` (risk at least :math:`10^{-3}` and
:math:`\\lambda_{\\min} \\le 0`: not a strict minimum) or ``not converged``.

Optional Newton polishing (``newton_below``, our addition, off by default): once a run's
per-neuron gradient norm falls below ``newton_below``, Newton steps
:math:`W \\leftarrow W - (\\nabla^2F)^{+}\\nabla F` with the closed-form Hessian (pseudo-inverse on its
positive eigenvalues) are tried; a step is tried only where the Hessian has no negative eigenvalue
and kept only if the gradient norm decreases, otherwise that run continues with plain gradient
descent. The classification must be (and, in the chapter, is) checked against plain gradient descent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from ._checks import as_tensor, batch_weights, check_positive_float, check_positive_int
from .descent import CONVERGED, GD, RUNNING, ActiveBatch, descend
from .endpoints import LABELS as ENDPOINT_LABELS
from .endpoints import end_point_codes
from .hessian import hessian_min_eigenvalue, relu_population_hessian
from .networks import teacher_identity, xavier_init  # re-exported: their home is networks
from .population import (
    check_teacher,
    relu_gradient_kernel,
    relu_population_gradient,
    relu_population_risk,
    teacher_risk_constant,
)

__all__ = [
    "TOL",
    "RISK_THRESHOLD",
    "LABELS",
    "ProtocolResult",
    "xavier_init",
    "teacher_identity",
    "run_protocol",
    "classify",
]

#: The stopping tolerance on the largest per-neuron gradient norm: :math:`10^{-9}/(2\pi)`.
TOL: float = 1e-9 / (2 * math.pi)
#: End points with risk at least this are "bad" (``bad_minima_value_bound`` of the authors' code).
RISK_THRESHOLD: float = 1e-3
#: Classification labels, in the order of their integer codes.
LABELS: tuple[str, ...] = ENDPOINT_LABELS  # one vocabulary: valleylib.endpoints


@dataclass(frozen=True)
class ProtocolResult:
    """End points of :func:`run_protocol`, each field with a leading ``runs`` dimension.

    Attributes:
        W: end points ``(runs, n, d)``.
        risk: :math:`F(W)`.
        grad_norm: :math:`\\max_i\\|\\nabla_{w_i}F(W)\\|`.
        iterations: gradient steps taken (all restarts included; Newton steps not counted).
        newton_steps: accepted Newton steps.
        converged: ``grad_norm <= tol`` was reached.
        hit_cap: the run stopped at the safety cap ``max_iter``, or ran out of divergence restarts
            (outcome ``diverged`` of :func:`valleylib.descent.descend`; then ``W`` is its start).
        restarts: divergence restarts (each halves the step).
        lr: the final step size.
        decided: the run stopped as soon as its risk fell below ``decide_below`` with every step
            before it decreasing the risk (see :func:`run_protocol`); ``W`` is that iterate.
    """

    W: torch.Tensor
    risk: torch.Tensor
    grad_norm: torch.Tensor
    iterations: torch.Tensor
    newton_steps: torch.Tensor
    converged: torch.Tensor
    hit_cap: torch.Tensor
    restarts: torch.Tensor
    lr: torch.Tensor
    decided: Optional[torch.Tensor] = None

    @property
    def runs(self) -> int:
        return int(self.risk.shape[0])


def _gradient(W: torch.Tensor, V: torch.Tensor, identity: bool) -> torch.Tensor:
    """Kept name: :func:`~valleylib.population.relu_gradient_kernel`."""
    return relu_gradient_kernel(W, V, identity)


def _max_row(g: torch.Tensor) -> torch.Tensor:
    return g.norm(dim=-1).amax(dim=-1)


#: Cholesky is used where ``min diag(L)^2 >= CHOL_RCOND * max diag(L)^2`` (well inside positive
#: definiteness); the eigendecomposition handles the rest, e.g. degenerate minima. Measured on end
#: points at (10, 10), (10, 11), (14, 14) (one thread): Cholesky 0.07-0.22 ms per point against
#: 0.6-2.7 ms for the eigendecomposition, steps equal to the pseudo-inverse's to 2e-14 (1.7e-10 at
#: a point with lambda_min / lambda_max = 1e-6, still above the pseudo-inverse's 1e-9 cut-off).
CHOL_RCOND: float = 1e-6


def _newton_direction(H: torch.Tensor, g: torch.Tensor, psd: torch.Tensor) -> torch.Tensor:
    """:math:`H^{+}g` per run (``H`` ``(R, m, m)``, ``g`` ``(R, m, 1)``); sets ``psd`` in place.

    A Cholesky solve where ``H`` is clearly positive definite; elsewhere the pseudo-inverse on the
    eigenvalues above ``1e-9`` times the largest, with ``psd`` False where an eigenvalue is below
    ``-1e-9`` times the largest."""
    L, info = torch.linalg.cholesky_ex(H)
    dl = L.diagonal(dim1=-2, dim2=-1)
    chol = (info == 0) & torch.isfinite(dl).all(1) & (dl.amin(1) ** 2 >= CHOL_RCOND * dl.amax(1) ** 2)
    out = torch.zeros_like(g)
    if bool(chol.any()):
        out[chol] = torch.cholesky_solve(g[chol], L[chol])
        psd[chol] = True
    rest = ~chol
    if bool(rest.any()):
        D, U = torch.linalg.eigh(H[rest])
        top = D[:, -1:].abs()
        psd[rest] = (D[:, 0] >= -1e-9 * top[:, 0]) & torch.isfinite(D).all(1)
        c = (U.transpose(-1, -2) @ g[rest]).squeeze(-1)
        keep = D > 1e-9 * top
        out[rest] = U @ torch.where(keep, c / torch.where(keep, D, torch.ones_like(D)),
                                    torch.zeros_like(c)).unsqueeze(-1)
    return out


def _newton(W: torch.Tensor, V: torch.Tensor, g: torch.Tensor, gn: torch.Tensor):
    """One guarded Newton step for a batch; returns (new W, new g, new gn, accepted mask).

    The step is :math:`H^{+}\\nabla F` (a Cholesky solve where the Hessian is clearly positive
    definite, see :func:`_newton_direction`) with :math:`H^{+}` the pseudo-inverse on the eigenvalues above
    ``1e-9 * max eigenvalue`` (so that degenerate minima, e.g. global minima with n > k, are reached
    too). It is tried only where the Hessian has no eigenvalue below ``-1e-9 * max eigenvalue`` (no
    negative curvature, so a run is never pushed towards a saddle) and kept only if the gradient
    norm decreases.
    """
    R, n, d = W.shape
    H = relu_population_hessian(W, V)
    psd = torch.zeros(R, dtype=torch.bool, device=W.device)
    step = _newton_direction(H, g.reshape(R, n * d, 1), psd).reshape(R, n, d)
    Wt = W - step
    ok = psd & torch.isfinite(Wt).flatten(1).all(1) & (Wt.norm(dim=-1).amin(-1) > 0)
    Wt = torch.where(ok[:, None, None], Wt, W)
    gt = relu_population_gradient(Wt, V)
    gnt = _max_row(gt)
    acc = ok & torch.isfinite(gnt) & (gnt < gn)
    m = acc[:, None, None]
    return torch.where(m, Wt, W), torch.where(m, gt, g), torch.where(acc, gnt, gn), acc


def _newton_hook(V: torch.Tensor, identity: bool, tol: float, tries: int):
    """The per-check Newton polishing hook of :func:`run_protocol` (see its ``newton_below``)."""

    def hook(batch: ActiveBatch) -> None:
        W, status, nt, retry = batch.p, batch.status, batch.extra["newton_steps"], batch.extra["retry_below"]
        g = relu_gradient_kernel(W, V, identity)
        gn = _max_row(g)
        cand = ((status == RUNNING) & torch.isfinite(gn) & (gn < retry)).nonzero().flatten()
        for sel in cand.split(256):  # bounds the memory of the (runs, n d, n d) Hessians
            Ws, gs, gns = W[sel], g[sel], gn[sel]
            for _ in range(tries):
                Ws, gs, gns, acc = _newton(Ws, V, gs, gns)
                nt[sel] += acc.long()
                if not bool(acc.any()) or bool((gns <= tol).all()):
                    break
            W[sel] = Ws
            status[sel] = torch.where(gns <= tol, CONVERGED, status[sel])
            # still improving: retry at the next check; stuck: retry after GD gained a factor 10
            retry[sel] = torch.where(acc, torch.full_like(gns, float("inf")), gns / 10)

    return hook


def _check_tol_reachable(name: str, tol: float, W: torch.Tensor, V: torch.Tensor,
                         w_name: str) -> None:
    """Reject a gradient tolerance below the rounding noise of ``W``'s dtype.

    The per-neuron gradient is a sum of about ``n + k`` terms of the size of the row norms, so
    rounding leaves an error of about ``(n + k) eps max(|w_i|, |v_j|)``: a smaller ``tol`` can never
    be met (float32 and the default ``1.6e-10``: every run hits the cap).
    """
    if W.numel() == 0:
        return
    scale = max(float(W.norm(dim=-1).amax()), float(V.norm(dim=-1).amax()), 1.0)
    floor = 4 * (W.shape[1] + V.shape[0]) * torch.finfo(W.dtype).eps * scale
    if tol < floor:
        raise ValueError(
            f"{name}={tol:.3g} is below the rounding noise (about {floor:.1g}) of the gradient "
            f"for {w_name} "
            f"in {W.dtype}; pass {w_name} in float64 or a larger {name}"
        )


def run_protocol(
    W0,
    V=None,
    *,
    lr: float = 0.1,
    tol: float = TOL,
    max_iter: int = 200_000,
    divergence_threshold: float = 1e4,
    max_restarts: int = 30,
    newton_below: Optional[float] = None,
    newton_tries: int = 12,
    decide_below: Optional[float] = None,
    check_every: int = 100,
    progress: Optional[bool] = None,
    desc: str = "gradient descent",
) -> ProtocolResult:
    """Run the protocol from every initial point of ``W0`` at once.

    Each iteration evaluates the closed-form gradient of the active runs (no autograd) and moves
    the runs whose per-neuron gradient norm :math:`\\max_i\\|\\nabla_{w_i}F\\|` is still above ``tol``:

    .. math::  W_{t+1} = W_t - \\eta\\,\\nabla F(W_t).

    Every ``check_every`` iterations the finished runs are removed from the active batch.

    Args:
        W0: initial points ``(runs, n, d)`` or ``(n, d)``.
        V: teacher ``(k, d)``; default ``I_d``.
        lr: step size :math:`\\eta` (halved at each divergence restart).
        tol: stop a run when its largest per-neuron gradient norm is at most ``tol``; a ``tol``
            below the rounding noise of ``W0``'s dtype (about :math:`4(n+k)\\varepsilon\\max\\|w_i\\|`,
            e.g. the default with float32) is rejected, since no run could ever meet it.
        max_iter: safety cap on gradient steps per run (restarts included).
        divergence_threshold: restart when the gradient norm exceeds this (or is not finite).
        max_restarts: restarts allowed before a run is given up (then not converged).
        newton_below: try guarded Newton steps once the norm is below this (``None``: never).
        newton_tries: Newton steps per attempt (one attempt per check); a run whose last step
            failed (Hessian not positive semi-definite, or no decrease) continues with gradient
            descent and tries again once its gradient norm has dropped by another factor 10.
        decide_below: stop a run as *decided* at the first iterate with risk below this while
            every gradient step since its (re)start has decreased the risk (up to a rounding slack
            of :math:`64(n+k)^2\\varepsilon`; ``None``: never). Its label "risk below the
            threshold" can then no longer change while the descent stays monotone, so it is not
            run on to ``tol``; our addition (the authors ran every run to ``tol``), validated
            against full runs in ``tests/test_safran_shamir.py`` and ``benchmarks/``.
        check_every: iterations between compactions and progress updates.
        progress: ``tqdm.auto`` bar; ``None`` reads ``$VALLEYLIB_PROGRESS``.

    Returns:
        :class:`ProtocolResult` (unbatched fields if ``W0`` was ``(n, d)``).
    """
    W0, single = batch_weights("W0", W0)
    if V is None:
        V = teacher_identity(W0.shape[-1], dtype=W0.dtype, device=W0.device)
    lr = check_positive_float("lr", lr)
    tol = check_positive_float("tol", tol)
    check_positive_int("max_iter", max_iter)
    divergence_threshold = check_positive_float("divergence_threshold", divergence_threshold)
    check_positive_int("max_restarts", max_restarts, 0)
    check_positive_int("check_every", check_every)
    check_positive_int("newton_tries", newton_tries)
    if newton_below is not None:
        newton_below = check_positive_float("newton_below", newton_below)
    if decide_below is not None:
        decide_below = check_positive_float("decide_below", decide_below)
    V = check_teacher(V, W0, "W0")
    relu_population_gradient(W0[:1], V)  # validates V against W0
    _check_tol_reachable("tol", tol, W0, V, "W0")
    R, dev = W0.shape[0], W0.device
    identity = V.shape[0] == V.shape[1] and bool(torch.equal(V, torch.eye(V.shape[0], dtype=V.dtype, device=V.device)))

    newton = []
    if newton_below is not None:
        newton = [_newton_hook(V, identity, tol, newton_tries)]
    extra = {"newton_steps": torch.zeros(R, dtype=torch.long, device=dev),
             "retry_below": torch.full((R,), newton_below if newton_below is not None else 0.0,
                                       dtype=W0.dtype, device=dev)}
    if decide_below is None:
        def loss_grad(W):
            return None, relu_gradient_kernel(W, V, identity)
        slack = 0.0
    else:
        const = teacher_risk_constant(V)

        def loss_grad(W):
            return relu_gradient_kernel(W, V, identity, const)
        slack = 64 * (W0.shape[1] + V.shape[0]) ** 2 * torch.finfo(W0.dtype).eps
    res = descend(W0, loss_grad, GD(), lr=lr,
                  tol=tol, max_iter=max_iter, norm="max_row", on_divergence="restart",
                  divergence_threshold=divergence_threshold, max_restarts=max_restarts,
                  check_every=check_every, hooks=newton, extra=extra, progress=progress,
                  desc=desc, decide_below=decide_below, decide_slack=slack)
    # A run that diverged once more after its last restart is reported at its start, not converged.
    gave_up = res.diverged
    out_W = torch.where(gave_up[:, None, None], W0, res.params)
    out_it, out_newton, out_conv = res.iterations, res.extra["newton_steps"], res.converged
    out_cap = res.hit_cap | gave_up
    out_restarts, out_lr = res.restarts + gave_up, torch.where(gave_up, res.lr / 2, res.lr)
    risk = relu_population_risk(out_W, V)
    gnorm = _max_row(relu_population_gradient(out_W, V))
    res = ProtocolResult(out_W, risk, gnorm, out_it, out_newton, out_conv, out_cap, out_restarts, out_lr,
                         res.decided)
    if single:
        res = ProtocolResult(*(getattr(res, f)[0] for f in ProtocolResult.__dataclass_fields__))
    return res


def classify(
    W,
    V=None,
    *,
    converged=None,
    decided=None,
    tol: float = TOL,
    risk_threshold: float = RISK_THRESHOLD,
    chunk: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Label end points ``global`` / ``spurious`` / ``saddle`` / ``not converged``.

    A run is *not converged* when its per-neuron gradient norm exceeds ``tol`` (or ``converged`` is
    False); otherwise *global* when :math:`F(W) < 10^{-3}`; otherwise *spurious* when
    :math:`\\lambda_{\\min}(\\nabla^2F(W)) > 0` and *saddle* when :math:`\\lambda_{\\min}\\le 0` (no strict
    minimum: a saddle, or a degenerate point that the second-order test cannot decide).
    These are numerical labels; :func:`valleylib.certify.certify_minimum` turns ``spurious`` into a
    rigorous statement.

    Args:
        W: end points ``(runs, n, d)``. V: teacher, default ``I_d``.
        converged: optional ``(runs,)`` bool mask from :func:`run_protocol`.
        decided: optional ``(runs,)`` bool mask (:attr:`ProtocolResult.decided`): these runs are
            ``global`` where their risk is below ``risk_threshold`` although their gradient norm
            is above ``tol`` (they were stopped once that label could no longer change).

    Returns:
        ``(codes, lambda_min)``: integer codes ``(runs,)`` indexing :data:`LABELS`, and the smallest
        Hessian eigenvalue ``(runs,)`` (``nan`` where not computed: global or not converged runs).
    """
    W, _ = batch_weights("W", W)
    if V is None:
        V = teacher_identity(W.shape[-1], dtype=W.dtype, device=W.device)
    tol = check_positive_float("tol", tol)
    risk_threshold = check_positive_float("risk_threshold", risk_threshold)
    check_positive_int("chunk", chunk)
    risk = relu_population_risk(W, V)
    _check_tol_reachable("tol", tol, W, check_teacher(V, W), "W")
    gn = _max_row(relu_population_gradient(W, V))
    conv = gn <= tol
    if converged is not None:
        converged = as_tensor("converged", converged, dtype=torch.bool, device=W.device)
        if converged.dtype != torch.bool:
            raise TypeError(f"converged: expected a boolean mask, got dtype {converged.dtype}")
        if converged.device != W.device:
            raise ValueError(
                f"converged: is on {converged.device}, expected the device {W.device} of "
                "W")
        if converged.shape != conv.shape:
            raise ValueError(f"converged: expected shape {tuple(conv.shape)}, got {tuple(converged.shape)}")
        conv = conv & converged
    dec = torch.zeros_like(conv)
    if decided is not None:
        decided = as_tensor("decided", decided, dtype=torch.bool, device=W.device)
        if decided.dtype != torch.bool or decided.shape != conv.shape:
            raise ValueError(
                f"decided: expected a boolean mask of shape {tuple(conv.shape)}, got "
                f"{decided.dtype} {tuple(decided.shape)}")
        dec = decided & (risk < risk_threshold)
    lam = torch.full_like(risk, float("nan"))
    high = conv & (risk >= risk_threshold)
    if bool(high.any()):
        lam[high] = hessian_min_eigenvalue(W[high], V, chunk=chunk)
    return end_point_codes((conv & (risk < risk_threshold)) | dec, conv, lam), lam
