"""What every path finder shares: the loss convention, the result type, the straight segment.

``loss(theta)`` maps flat parameters ``(runs, P)`` to ``(runs,)``. :class:`PathResult` holds a path's
nodes and what it costs; :func:`make_result` builds one from the nodes (loss profile, barrier,
length), and :func:`end_points`, :func:`checked_loss`, :func:`eval_loss`, :func:`with_connected` are the
checks and evaluations a new path finder reuses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

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

__all__ = [
    "LossFn",
    "PathResult",
    "path_length",
    "interpolated_losses",
    "straight_line",
    "end_points",
    "checked_loss",
    "eval_loss",
    "segment_points",
    "polygon_profile",
    "make_result",
    "with_connected",
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


def end_points(theta_a, theta_b) -> tuple[torch.Tensor, torch.Tensor]:
    """The two end points, validated: flat floating vectors ``(P,)`` of one shape, finite, on one device."""
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


def checked_loss(loss: LossFn, points: torch.Tensor, what: str = "loss") -> torch.Tensor:
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


def eval_loss(loss: LossFn, points: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
    """``loss`` at ``points (M, P)`` without gradients, ``chunk`` points at a time (unvalidated)."""
    with torch.no_grad():
        if points.shape[0] <= chunk:
            return loss(points)
        return torch.cat([loss(points[i : i + chunk]) for i in range(0, points.shape[0], chunk)])


def path_length(nodes: torch.Tensor) -> float:
    """Euclidean length :math:`\\sum_i \\|\\theta_{i+1} - \\theta_i\\|_2` of a polygon ``(B, P)``."""
    nodes = tensor_arg("nodes", nodes)
    if nodes.ndim != 2 or nodes.shape[0] < 2:
        raise ValueError(f"nodes: expected shape (B >= 2, P), got {tuple(nodes.shape)}")
    return float((nodes[1:] - nodes[:-1]).norm(dim=1).sum())


def segment_points(left: torch.Tensor, right: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
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
    pts = segment_points(left, right, t)
    return eval_loss(loss, pts.reshape(-1, left.shape[1])).view(left.shape[0], resolution + 1)


def polygon_profile(loss: LossFn, nodes: torch.Tensor, resolution: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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


def make_result(
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
    """A :class:`PathResult` from a path finder's nodes ``(B, P)``: the loss profile on ``resolution``
    points per segment (or the given ``profile``), its maximum and barrier, and the length."""
    nodes = nodes.detach()
    if profile is None:
        profile = polygon_profile(loss, nodes, resolution)
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


def with_connected(res: PathResult, threshold: Optional[float], multiplier: float) -> PathResult:
    """``res`` with ``connected``: its maximum loss is at most ``multiplier * threshold`` (unchanged without a threshold)."""
    if threshold is None:
        return res
    threshold = check_positive_float("threshold", threshold)
    multiplier = check_positive_float("multiplier", multiplier)
    return PathResult(**{**res.__dict__, "connected": res.max_loss <= multiplier * threshold, "threshold": threshold})


def straight_line(loss: LossFn, theta_a, theta_b, *, resolution: int = 100, threshold: Optional[float] = None,
                  multiplier: float = 1.0) -> PathResult:
    """The segment :math:`(1-t)\\theta_A + t\\theta_B`; its barrier is
    :math:`\\max_t L - \\max(L(\\theta_A), L(\\theta_B))`."""
    a, b = end_points(theta_a, theta_b)
    checked_loss(loss, torch.stack([a, b]), "end points")
    check_positive_int("resolution", resolution)
    res = make_result("line", loss, torch.stack([a, b]), resolution=resolution, threshold=threshold, connected=None,
                  grad_evals=0, loss_evals=0, info={})
    return with_connected(res, threshold, multiplier)
