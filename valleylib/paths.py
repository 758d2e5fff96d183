"""Paths between two parameter vectors through a loss landscape, one API for every method.

A model is seen only through its loss as a function of a flat parameter vector, batched:
``loss(theta)`` with ``theta`` of shape ``(runs, P)`` returns ``(runs,)``. Every path finder takes
two end points :math:`\\theta_A, \\theta_B \\in \\mathbb{R}^P` and returns a :class:`PathResult`:
the path's nodes (end points exactly the inputs), the loss profile along it, its maximum and
barrier, its length :math:`|\\gamma|` and *normalized geodesic length*

.. math::

    \\frac{|\\gamma|}{\\|\\theta_A - \\theta_B\\|}, \\qquad |\\gamma| = \\sum_i \\|\\theta_{i+1} - \\theta_i\\|_2

(1 for the straight segment), and its cost in gradient evaluations (one evaluation = the gradient
of the loss at one parameter vector).

Methods (:data:`PATH_FINDERS`, call them through :func:`find_path`):

``"dss"`` (also ``"dss-bfs"``)
    Freeman & Bruna's *Greedy Dynamic String Sampling* (Algorithm 1), all beads pending at a
    level trained as one batch (:func:`dss_many` also batches many pairs).
``"line"``
    the straight segment, with its barrier.
``"bezier"`` / ``"polychain"``
    a quadratic Bezier curve / a two-segment polygonal chain with one free bend, trained by
    minimising :math:`\\mathbb{E}_{t\\sim U[0,1]} L(\\phi_\\theta(t))` with one random ``t`` per
    step (Garipov et al.).
``"neb"``
    the nudged elastic band: pivots follow the loss gradient with its component along the
    path's tangent removed, plus spring forces along the tangent (Henkelman & Jónsson's
    improved tangent; ``spring=inf`` redistributes the pivots evenly instead, as in Draxler et al.'s
    first cycle).

Example::

    res = find_path("dss", loss, theta_a, theta_b, threshold=0.05)
    res.connected, res.normalized_length, res.num_beads
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Sequence

import torch

from ._checks import (
    as_tensor,
    check_callable,
    check_finite,
    check_floating,
    check_positive_float,
    check_positive_int,
    tensor_arg,
)
from .descent import Adam, HeavyBall, autograd_loss_grad, descend, progress_bar

__all__ = [
    "LossFn",
    "PathResult",
    "PATH_FINDERS",
    "find_path",
    "train_to_level",
    "train_through_levels",
    "interpolated_losses",
    "dss",
    "dss_many",
    "straight_line",
    "bezier_curve",
    "polychain_curve",
    "neb",
    "path_length",
]

LossFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class PathResult:
    """A path between two parameter vectors and what it costs.

    Attributes:
        method: the path finder's name.
        nodes: ``(B, P)`` the path as a polygon: DSS beads, NEB pivots, or points sampled on a
            curve; ``nodes[0]`` and ``nodes[-1]`` are exactly the end points given.
        profile_t: ``(M,)`` position of each profile point as a fraction of the path's length.
        profile: ``(M,)`` loss along the path (dense: between nodes too).
        node_losses: ``(B,)`` loss at the nodes.
        length: :math:`|\\gamma|`, the Euclidean length of the polygon (curves: of a fine sampling).
        endpoint_distance: :math:`\\|\\theta_A - \\theta_B\\|`.
        normalized_length: ``length / endpoint_distance``.
        max_loss: maximum of ``profile``.
        barrier: ``max_loss`` minus the larger end-point loss.
        num_beads: number of nodes (DSS: beads including both end points).
        connected: DSS: the acceptance test passed on every segment; other methods: whether
            ``max_loss <= multiplier * threshold`` when a threshold was given, else ``None``.
        threshold: the level :math:`L_0` asked for (``None`` if none).
        grad_evals: gradient evaluations spent (per parameter vector).
        loss_evals: loss-only evaluations spent (per parameter vector), profiles excluded.
        info: method-specific extras (e.g. DSS depth, bead losses; curve control points).
    """

    method: str
    nodes: torch.Tensor
    profile_t: torch.Tensor
    profile: torch.Tensor
    node_losses: torch.Tensor
    length: float
    endpoint_distance: float
    normalized_length: float
    max_loss: float
    barrier: float
    num_beads: int
    connected: Optional[bool]
    threshold: Optional[float]
    grad_evals: int
    loss_evals: int
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The scalar fields as a JSON-friendly dict."""
        return {
            "method": self.method,
            "connected": self.connected,
            "normalized_length": self.normalized_length,
            "length": self.length,
            "endpoint_distance": self.endpoint_distance,
            "num_beads": self.num_beads,
            "max_loss": self.max_loss,
            "barrier": self.barrier,
            "threshold": self.threshold,
            "grad_evals": self.grad_evals,
            "loss_evals": self.loss_evals,
        }


# ----------------------------------------------------------------------------- validation


def _endpoints(theta_a, theta_b) -> tuple[torch.Tensor, torch.Tensor]:
    a = as_tensor("theta_a", theta_a)
    b = as_tensor("theta_b", theta_b)
    check_floating("theta_a", a)
    check_floating("theta_b", b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(
            f"theta_a, theta_b: expected flat parameter vectors of shape (P,), got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape != b.shape:
        raise ValueError(f"theta_a and theta_b: end points have different shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.device != b.device:
        raise ValueError(f"theta_a and theta_b: end points are on different devices ({a.device} and {b.device})")
    if a.dtype != b.dtype:
        raise ValueError(f"theta_a and theta_b: end points have different dtypes ({a.dtype} and {b.dtype})")
    check_finite("theta_a", a)
    check_finite("theta_b", b)
    return a, b


def _checked_loss(loss: LossFn, points: torch.Tensor, what: str = "loss") -> torch.Tensor:
    """Evaluate ``loss`` on ``(R, P)`` points and check the shape and finiteness of the result."""
    if not callable(loss):
        raise TypeError(f"loss: expected a callable theta (runs, P) -> (runs,), got {type(loss).__name__}")
    with torch.no_grad():
        out = loss(points)
    if not isinstance(out, torch.Tensor) or out.shape != (points.shape[0],):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"loss: expected a batched loss returning shape ({points.shape[0]},) for theta of shape "
            f"{tuple(points.shape)}, got {shape}"
        )
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"loss: non-finite value (NaN or inf) at the {what}; expected a finite loss")
    return out


def _eval_loss(loss: LossFn, points: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
    with torch.no_grad():
        if points.shape[0] <= chunk:
            return loss(points)
        return torch.cat([loss(points[i : i + chunk]) for i in range(0, points.shape[0], chunk)])


# ----------------------------------------------------------------------------- geometry helpers


def path_length(nodes: torch.Tensor) -> float:
    """Euclidean length :math:`\\sum_i \\|\\theta_{i+1} - \\theta_i\\|_2` of a polygon ``(B, P)``."""
    nodes = tensor_arg("nodes", nodes)
    if nodes.ndim != 2 or nodes.shape[0] < 2:
        raise ValueError(f"nodes: expected shape (B >= 2, P), got {tuple(nodes.shape)}")
    return float((nodes[1:] - nodes[:-1]).norm(dim=1).sum())


def _segment_points(left: torch.Tensor, right: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points ``left + t (right - left)`` for segments ``(S, P)`` and ``t`` ``(G,)``: ``(S, G, P)``."""
    return left.unsqueeze(1) + t.view(1, -1, 1) * (right - left).unsqueeze(1)


def interpolated_losses(loss: LossFn, left: torch.Tensor, right: torch.Tensor, resolution: int = 100) -> torch.Tensor:
    """Loss on the straight segments between ``left[s]`` and ``right[s]``, all segments in one batch.

    .. math::  \\ell_s(t_j) = L\\big((1-t_j)\\,\\theta^{\\mathrm{left}}_s + t_j\\,\\theta^{\\mathrm{right}}_s\\big),
        \\qquad t_j = j/\\text{resolution},\\ j = 0, \\dots, \\text{resolution}.

    Args:
        left, right: ``(S, P)``.

    Returns:
        ``(S, resolution + 1)``.
    """
    check_positive_int("resolution", resolution)
    check_callable("loss", loss)
    left = tensor_arg("left", left, ndim=(2,), meaning="(S, P)")
    right = tensor_arg("right", right, like=left, like_name="left", ndim=(2,), meaning="(S, P)")
    if left.shape != right.shape:
        raise ValueError(
            f"right: expected the shape {tuple(left.shape)} of left, got "
            f"{tuple(right.shape)}")
    t = torch.linspace(0.0, 1.0, resolution + 1, dtype=left.dtype, device=left.device)
    pts = _segment_points(left, right, t)
    return _eval_loss(loss, pts.reshape(-1, left.shape[1])).view(left.shape[0], resolution + 1)


def _polygon_profile(loss: LossFn, nodes: torch.Tensor, resolution: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dense loss along a polygon: ``(profile_t, profile, node_losses)``."""
    seg = interpolated_losses(loss, nodes[:-1], nodes[1:], resolution)  # (S, G+1)
    seg_len = (nodes[1:] - nodes[:-1]).norm(dim=1)
    total = seg_len.sum()
    t = torch.linspace(0.0, 1.0, resolution + 1, dtype=nodes.dtype, device=nodes.device)
    starts = torch.cat([seg_len.new_zeros(1), seg_len.cumsum(0)[:-1]])
    pos = starts.unsqueeze(1) + t.unsqueeze(0) * seg_len.unsqueeze(1)
    pos = pos / total if float(total) > 0 else torch.linspace(0, 1, pos.numel(), dtype=nodes.dtype, device=nodes.device).view_as(pos)
    # drop the duplicated first point of every segment after the first
    prof = torch.cat([seg[:1, :].reshape(-1), seg[1:, 1:].reshape(-1)])
    ppos = torch.cat([pos[:1, :].reshape(-1), pos[1:, 1:].reshape(-1)])
    node_losses = torch.cat([seg[:, 0], seg[-1:, -1]])
    return ppos, prof, node_losses


def _result(
    method: str,
    loss: LossFn,
    nodes: torch.Tensor,
    *,
    resolution: int,
    threshold: Optional[float],
    connected: Optional[bool],
    grad_evals: int,
    loss_evals: int,
    info: dict,
    profile: Optional[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None,
    length: Optional[float] = None,
) -> PathResult:
    nodes = nodes.detach()
    if profile is None:
        profile = _polygon_profile(loss, nodes, resolution)
    ppos, prof, node_losses = profile
    if not bool(torch.isfinite(prof).all()):
        bad = int((~torch.isfinite(prof)).sum())
        where = float(ppos[~torch.isfinite(prof)][0]) if ppos.shape == prof.shape else float("nan")
        raise ValueError(
            f"loss: non-finite value (NaN or inf) at {bad} point(s) along the {method} path (first at "
            f"t = {where:.3g} of its length); expected a finite loss everywhere between the end points"
        )
    L = path_length(nodes) if length is None else length
    dist = float((nodes[-1] - nodes[0]).norm())
    max_loss = float(prof.max())
    barrier = max_loss - float(torch.maximum(node_losses[0], node_losses[-1]))
    return PathResult(
        method=method,
        nodes=nodes,
        profile_t=ppos,
        profile=prof,
        node_losses=node_losses,
        length=L,
        endpoint_distance=dist,
        normalized_length=L / dist if dist > 0 else float("nan"),
        max_loss=max_loss,
        barrier=barrier,
        num_beads=int(nodes.shape[0]),
        connected=connected,
        threshold=threshold,
        grad_evals=int(grad_evals),
        loss_evals=int(loss_evals),
        info=info,
    )


# ----------------------------------------------------------------------------- bead training


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


# ----------------------------------------------------------------------------- DSS


def _dss_options(threshold, alpha, multiplier, max_depth, resolution, insert, lr, max_iter):
    threshold = check_positive_float("threshold", threshold)
    alpha = check_positive_float("alpha", alpha)
    if alpha > 1:
        raise ValueError(f"alpha={alpha!r}: expected 0 < alpha <= 1 (beads are trained to alpha * threshold)")
    multiplier = check_positive_float("multiplier", multiplier)
    check_positive_int("max_depth", max_depth)
    check_positive_int("resolution", resolution, minimum=2)
    if insert not in ("midpoint", "argmax"):
        raise ValueError(f"insert={insert!r}: expected 'midpoint' (t = 0.5) or 'argmax' (maximum of the interpolated loss)")
    check_positive_float("lr", lr)
    check_positive_int("max_iter", max_iter)
    return threshold, alpha, multiplier


def _check_level(name: str, ends_loss: torch.Tensor, threshold: float) -> None:
    worst = float(ends_loss.max())
    if worst > threshold:
        raise ValueError(
            f"threshold={threshold:.6g} is below the end points' loss ({', '.join(f'{float(v):.6g}' for v in ends_loss)}); "
            f"{name}: train both end points to a loss of at most the threshold first"
        )


def _insert_t(profile_row: torch.Tensor, insert: str) -> float:
    if insert == "midpoint":
        return 0.5
    G = profile_row.shape[0] - 1
    j = int(profile_row[1:-1].argmax()) + 1  # interior grid points only
    return j / G


def dss(
    loss: LossFn,
    theta_a,
    theta_b,
    *,
    threshold: float,
    alpha: float = 0.95,
    multiplier: float = 1.1,
    max_depth: int = 10,
    resolution: int = 100,
    insert: Literal["midpoint", "argmax"] = "midpoint",
    check_line_first: bool = False,
    lr: float = 1e-3,
    max_iter: int = 20_000,
    progress: Optional[bool] = None,
) -> PathResult:
    """Greedy Dynamic String Sampling (Freeman & Bruna, Algorithm 1) between two end points.

    ``FindConnection(θ1, θ2)``: put a bead at :math:`t^\\ast\\theta_1 + (1-t^\\ast)\\theta_2`
    (:math:`t^\\ast = 1/2`, or the maximiser of the interpolated loss), train it to
    :math:`\\alpha L_0`, and recurse into each of the two new segments whose interpolated loss
    exceeds the acceptance level:

    .. math::  \\max_{t \\in [0,1]} L\\big(t\\theta_i + (1-t)\\theta_{i+1}\\big) < m\\, L_0

    (evaluated on ``resolution + 1`` points). Recursion stops at ``max_depth`` levels of beads; the
    string is *connected* when every segment passes. As in the authors' scripts, the first bead is
    always inserted (so a string has at least 3 beads) unless ``check_line_first``.

    Args:
        loss: batched loss ``(runs, P) -> (runs,)``.
        theta_a, theta_b: end points ``(P,)`` with loss at most ``threshold``.
        threshold: :math:`L_0`.
        alpha: beads are trained to :math:`\\alpha L_0` (scripts: 0.95 polynomials, 0.98 MNIST/CIFAR/PTB).
        multiplier: :math:`m` (scripts: 1.1; MNIST 1.02).
        max_depth: levels of beads (scripts: ``d_max = 10``).
        resolution: grid of the interpolated loss (scripts: 100 for polynomials, 20 for the rest).
        insert: ``"midpoint"`` (polynomial scripts) or ``"argmax"`` (MNIST script).
        check_line_first: accept the straight segment without any bead when it passes.
        lr, max_iter: Adam step and cap per bead (see :func:`train_to_level`).

    The algorithm is written once, breadth first, in :func:`dss_many` (this is its one-pair
    case): every bead depends only on its two neighbours, so training all beads of a level as one
    batch gives the beads of the depth-first recursion of Algorithm 1 (to rounding), with one
    batch per level instead of one training per bead.

    Returns:
        :class:`PathResult` with ``info``: ``depth`` (levels used), ``bead_losses``,
        ``bead_reached`` (per bead, level by level: it hit :math:`\\alpha L_0`), ``segment_max``,
        ``seconds``.
    """
    a, b = _endpoints(theta_a, theta_b)
    threshold, alpha, multiplier = _dss_options(threshold, alpha, multiplier, max_depth, resolution, insert, lr, max_iter)
    _check_level("dss", _checked_loss(loss, torch.stack([a, b]), "end points"), threshold)
    return dss_many(loss, a[None], b[None], threshold=threshold, alpha=alpha, multiplier=multiplier,
                    max_depth=max_depth, resolution=resolution, insert=insert, check_line_first=check_line_first,
                    lr=lr, max_iter=max_iter, progress=progress)[0]


def dss_many(
    loss: LossFn,
    theta_a: torch.Tensor,
    theta_b: torch.Tensor,
    *,
    threshold,
    alpha: float = 0.95,
    multiplier: float = 1.1,
    max_depth: int = 10,
    resolution: int = 100,
    insert: Literal["midpoint", "argmax"] = "midpoint",
    check_line_first: bool = False,
    lr: float = 1e-3,
    max_iter: int = 20_000,
    progress: Optional[bool] = None,
) -> list[PathResult]:
    """Breadth-first DSS for ``R`` pairs at once: every level trains *all* pending beads of all pairs
    as one batch (:func:`train_to_level`) and checks all new segments in one batched evaluation.

    The one implementation of DSS (:func:`dss` is its one-pair case): each bead depends only on
    its two neighbours, so the breadth-first order gives the beads of Algorithm 1's depth-first
    recursion; here ``theta_a``, ``theta_b`` are
    ``(R, P)`` and ``threshold`` is a number or ``(R,)`` (one level per pair).

    Returns:
        a list of ``R`` :class:`PathResult` (``method="dss"``).
    """
    A = as_tensor("theta_a", theta_a)
    B = as_tensor("theta_b", theta_b)
    if A.ndim == 1 and B.ndim == 1:
        A, B = A[None], B[None]
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(
            f"theta_a, theta_b: expected end points of one shape (R, P), got {tuple(A.shape)} and {tuple(B.shape)}"
        )
    for r in range(A.shape[0]):
        _endpoints(A[r], B[r])
    R = A.shape[0]
    thr = torch.as_tensor(threshold, dtype=A.dtype, device=A.device)
    if thr.ndim == 0:
        thr = thr.expand(R)
    if thr.shape != (R,):
        raise ValueError(f"threshold: expected a number or shape ({R},), got {tuple(thr.shape)}")
    for r in range(R):
        _dss_options(float(thr[r]), alpha, multiplier, max_depth, resolution, insert, lr, max_iter)
    ends = _checked_loss(loss, torch.cat([A, B]), "end points")
    for r in range(R):
        _check_level(f"pair {r}", torch.stack([ends[r], ends[R + r]]), float(thr[r]))
    t0 = time.perf_counter()
    accept = (multiplier * thr).tolist()
    beads: list[list[torch.Tensor]] = [[A[r], B[r]] for r in range(R)]
    grad = [0] * R
    lossev = [resolution + 1] * R
    depth = [0] * R
    reached: list[list[bool]] = [[] for _ in range(R)]
    line = interpolated_losses(loss, A, B, resolution)
    # pending: (pair, index of the left bead, loss profile of the segment) for the segments to split
    pending: list[tuple[int, int, torch.Tensor]] = []
    for r in range(R):
        if check_line_first and float(line[r].max()) < accept[r]:
            continue
        pending.append((r, 0, line[r]))
    bar = progress_bar(progress, max_depth, "DSS levels")
    try:
        for level in range(max_depth):
            if not pending:
                break
            starts, who = [], []
            for r, i, prof in pending:
                t = _insert_t(prof, insert)
                left, right = beads[r][i], beads[r][i + 1]
                starts.append(left + t * (right - left))
                who.append(r)
            targets = torch.stack([alpha * thr[r] for r in who])
            new, _, ev, ok = train_to_level(loss, torch.stack(starts), targets, lr=lr, max_iter=max_iter, progress=progress,
                                            desc=f"DSS level {level}: {len(who)} beads")
            # insert the new beads; the segments to check are the two beside each new bead
            by_pair: dict[int, list[tuple[int, int]]] = {}
            for j, (r, i, _) in enumerate(pending):
                by_pair.setdefault(r, []).append((i, j))
                grad[r] += int(ev[j])
                reached[r].append(bool(ok[j]))
                depth[r] = level + 1
            segs: list[tuple[int, int]] = []
            for r, items in by_pair.items():
                items.sort()
                string, cursor = [], 0
                for i, j in items:
                    string.extend(beads[r][cursor : i + 1])
                    pos = len(string)
                    string.append(new[j])
                    segs.extend([(r, pos - 1), (r, pos)])
                    cursor = i + 1
                string.extend(beads[r][cursor:])
                beads[r] = string
            left = torch.stack([beads[r][i] for r, i in segs])
            right = torch.stack([beads[r][i + 1] for r, i in segs])
            prof = interpolated_losses(loss, left, right, resolution)
            for r, _ in segs:
                lossev[r] += resolution + 1
            worst = prof.amax(dim=1).tolist()
            pending = [(r, i, prof[s]) for s, (r, i) in enumerate(segs) if worst[s] >= accept[r]]
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    failed = {r for r, _, _ in pending}
    seconds = time.perf_counter() - t0
    results = []
    for r in range(R):
        nodes = torch.stack(beads[r])
        res = _result(
            "dss", loss, nodes, resolution=resolution, threshold=float(thr[r]), connected=r not in failed,
            grad_evals=grad[r], loss_evals=lossev[r],
            info={"depth": depth[r], "bead_reached": reached[r], "line_max": float(line[r].max()),
                  "seconds": seconds, "alpha": alpha, "multiplier": multiplier, "insert": insert, "pairs_in_batch": R},
        )
        res.info["bead_losses"] = res.node_losses.tolist()
        seg = res.profile[1:].view(-1, resolution).amax(dim=1)
        res.info["segment_max"] = torch.maximum(seg, res.node_losses[:-1]).tolist()
        results.append(res)
    return results


# ----------------------------------------------------------------------------- straight line


def straight_line(loss: LossFn, theta_a, theta_b, *, resolution: int = 100, threshold: Optional[float] = None,
                  multiplier: float = 1.0) -> PathResult:
    """The segment :math:`(1-t)\\theta_A + t\\theta_B`; its barrier is
    :math:`\\max_t L - \\max(L(\\theta_A), L(\\theta_B))`."""
    a, b = _endpoints(theta_a, theta_b)
    _checked_loss(loss, torch.stack([a, b]), "end points")
    check_positive_int("resolution", resolution)
    res = _result("line", loss, torch.stack([a, b]), resolution=resolution, threshold=threshold, connected=None,
                  grad_evals=0, loss_evals=0, info={})
    return _with_connected(res, threshold, multiplier)


def _with_connected(res: PathResult, threshold: Optional[float], multiplier: float) -> PathResult:
    if threshold is None:
        return res
    threshold = check_positive_float("threshold", threshold)
    multiplier = check_positive_float("multiplier", multiplier)
    return PathResult(**{**res.__dict__, "connected": res.max_loss <= multiplier * threshold, "threshold": threshold})


# ----------------------------------------------------------------------------- curves (Garipov et al.)


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
    a, b = _endpoints(theta_a, theta_b)
    _checked_loss(loss, torch.stack([a, b]), "end points")
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
    prof = _eval_loss(loss, fine)
    seg = (fine[1:] - fine[:-1]).norm(dim=1)
    cum = torch.cat([seg.new_zeros(1), seg.cumsum(0)])
    total = float(cum[-1])
    node_idx = torch.arange(0, fine.shape[0], resolution, device=a.device)
    res = _result(
        kind, loss, fine[node_idx], resolution=resolution, threshold=threshold, connected=None,
        grad_evals=steps * samples, loss_evals=0, info={"control_point": theta, "steps": steps, "lr": lr},
        profile=(cum / total if total > 0 else cum, prof, prof[node_idx]), length=total,
    )
    return _with_connected(res, threshold, multiplier)


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


# ----------------------------------------------------------------------------- NEB


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
    a, b = _endpoints(theta_a, theta_b)
    _checked_loss(loss, torch.stack([a, b]), "end points")
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
    ends_loss = _eval_loss(loss, torch.stack([a, b]))
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
    res = _result("neb", loss, nodes, resolution=resolution, threshold=threshold, connected=None,
                  grad_evals=steps * pivots, loss_evals=0, info={"steps": steps, "spring": spring})
    return _with_connected(res, threshold, multiplier)


# ----------------------------------------------------------------------------- registry

#: Path finders by name; each is ``f(loss, theta_a, theta_b, **options) -> PathResult``.
PATH_FINDERS: dict[str, Callable[..., PathResult]] = {
    "dss": dss,
    "dss-bfs": dss,  # the old name of the batched order, now the only one
    "line": straight_line,
    "bezier": bezier_curve,
    "polychain": polychain_curve,
    "neb": neb,
}


def find_path(method: str, loss: LossFn, theta_a, theta_b, **options: Any) -> PathResult:
    """Find a path from ``theta_a`` to ``theta_b`` with a registered method.

    Args:
        method: one of :data:`PATH_FINDERS` (``dss``, ``dss-bfs``, ``line``, ``bezier``,
            ``polychain``, ``neb``).
        loss: batched loss ``theta (runs, P) -> (runs,)``.
        theta_a, theta_b: end points ``(P,)``.
        **options: the method's keyword options (see each function).

    Returns:
        :class:`PathResult`.
    """
    if not isinstance(method, str) or method not in PATH_FINDERS:
        raise ValueError(f"method={method!r} is not a path finder; expected one of {sorted(PATH_FINDERS)}")
    return PATH_FINDERS[method](loss, theta_a, theta_b, **options)
