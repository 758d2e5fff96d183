"""Freeman & Bruna's Greedy Dynamic String Sampling (Algorithm 1), breadth first and batched."""
from __future__ import annotations

import time
from typing import Literal, Optional

import torch

from .._checks import (
    as_tensor,
    check_positive_float,
    check_positive_int,
)
from ..descent import progress_bar
from .core import LossFn, PathResult, checked_loss, end_points, interpolated_losses, make_result
from .levels import train_to_level

__all__ = ["dss", "dss_many", "insert_position"]


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


def insert_position(profile_row: torch.Tensor, insert: str) -> float:
    """Where DSS puts a new bead on a segment, as ``t`` in ``left + t (right - left)``: ``0.5``
    (``"midpoint"``), or the interior grid point of highest loss on ``profile_row`` (``"argmax"``)."""
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
    a, b = end_points(theta_a, theta_b)
    threshold, alpha, multiplier = _dss_options(threshold, alpha, multiplier, max_depth, resolution, insert, lr, max_iter)
    _check_level("dss", checked_loss(loss, torch.stack([a, b]), "end points"), threshold)
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
        end_points(A[r], B[r])
    R = A.shape[0]
    thr = torch.as_tensor(threshold, dtype=A.dtype, device=A.device)
    if thr.ndim == 0:
        thr = thr.expand(R)
    if thr.shape != (R,):
        raise ValueError(f"threshold: expected a number or shape ({R},), got {tuple(thr.shape)}")
    for r in range(R):
        _dss_options(float(thr[r]), alpha, multiplier, max_depth, resolution, insert, lr, max_iter)
    ends = checked_loss(loss, torch.cat([A, B]), "end points")
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
                t = insert_position(prof, insert)
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
        res = make_result(
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
