"""Sublevel sets of a loss sampled on a grid, and their connected components.

For a loss :math:`L` and a level :math:`c`, the sublevel set is
:math:`\\Omega_L(c) = \\{\\theta : L(\\theta) \\le c\\}`. A *spurious valley* is a connected
component of some :math:`\\Omega_L(c)` that contains no global minimiser. On a grid we
approximate components by 4-neighbour connectivity of the grid cells with value ``<= c``; a
component is spurious when none of its cells is marked as a global minimiser.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_callable, check_float, tensor_arg

__all__ = ["sublevel_components", "SublevelComponents", "grid_evaluate"]


@dataclass(frozen=True)
class SublevelComponents:
    """Components of a sublevel set on a 2-D grid.

    Attributes:
        labels: ``(H, W)`` integer array, ``-1`` outside the sublevel set, else the component index.
        count: number of components.
        spurious: indices of the components that contain no cell of ``global_mask``.
        minima: the smallest value in each component.
    """

    labels: np.ndarray
    count: int
    spurious: tuple[int, ...]
    minima: tuple[float, ...]


def sublevel_components(values, level: float, global_mask=None) -> SublevelComponents:
    """Connected components of ``{values <= level}`` on a 2-D grid (4-neighbour connectivity).

    Args:
        values: ``(H, W)`` array or tensor of loss values on a grid.
        level: the level :math:`c`.
        global_mask: ``(H, W)`` booleans marking cells that contain a global minimiser. Default:
            the cells within ``1e-12`` (relative) of the grid's minimum.

    >>> v = np.array([[0.0, 1.0, 0.5], [2.0, 2.0, 2.0]])
    >>> c = sublevel_components(v, 0.6)
    >>> c.count, c.spurious
    (2, (1,))
    """
    if isinstance(values, torch.Tensor):
        if values.device.type == "meta":
            raise ValueError(
                "values: is on the meta device (a shape without data); expected a tensor on cpu or "
                "cuda")
        vals = values.detach().cpu().numpy()
    else:
        try:
            vals = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(
                "values: expected a 2-D array of numbers, got "
                f"{type(values).__name__}") from err
    if vals.dtype.kind not in "fiu":
        raise TypeError(f"values: expected real numbers, got dtype {vals.dtype}")
    if vals.ndim != 2 or min(vals.shape) < 1:
        raise ValueError(f"values: expected a 2-D grid of shape (H, W), got shape {vals.shape}")
    if not np.isfinite(vals).all():
        raise ValueError("values: contains NaN or inf; expected finite loss values")
    level = check_float("level", level)
    if global_mask is None:
        vmin = vals.min()
        global_mask = vals <= vmin + 1e-12 * max(1.0, abs(vmin))
    else:
        global_mask = np.asarray(global_mask.cpu() if isinstance(global_mask, torch.Tensor) else global_mask, dtype=bool)
        if global_mask.shape != vals.shape:
            raise ValueError(f"global_mask: expected shape {vals.shape}, got {global_mask.shape}")
    inside = vals <= level
    labels = np.full(vals.shape, -1, dtype=np.int64)
    H, W = vals.shape
    count = 0
    minima: list[float] = []
    spurious: list[int] = []
    for i0 in range(H):
        for j0 in range(W):
            if not inside[i0, j0] or labels[i0, j0] >= 0:
                continue
            labels[i0, j0] = count
            queue = deque([(i0, j0)])
            lo, has_global = vals[i0, j0], bool(global_mask[i0, j0])
            while queue:
                i, j = queue.popleft()
                for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                    if 0 <= a < H and 0 <= b < W and inside[a, b] and labels[a, b] < 0:
                        labels[a, b] = count
                        lo = min(lo, vals[a, b])
                        has_global = has_global or bool(global_mask[a, b])
                        queue.append((a, b))
            minima.append(float(lo))
            if not has_global:
                spurious.append(count)
            count += 1
    return SublevelComponents(labels, count, tuple(spurious), tuple(minima))


def grid_evaluate(fn, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Evaluate a batched loss on the grid ``xs x ys``.

    Args:
        fn: maps a batch of points ``(runs, 2)`` to losses ``(runs,)``.
        xs, ys: 1-D tensors of grid coordinates.

    Returns:
        ``(len(ys), len(xs))`` tensor: row ``i`` is ``y = ys[i]`` (the layout of ``imshow``/``contour``).
    """
    check_callable("fn", fn)
    xs = tensor_arg("xs", xs)
    ys = tensor_arg("ys", ys, like=xs, like_name="xs")
    if xs.ndim != 1 or ys.ndim != 1 or xs.numel() == 0 or ys.numel() == 0:
        raise ValueError(
            f"xs, ys: expected non-empty 1-D tensors, got shapes {tuple(xs.shape)} and "
            f"{tuple(ys.shape)}")
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)
    out = fn(pts)
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"fn: expected a tensor of losses of shape ({pts.shape[0]},), got "
            f"{type(out).__name__}")
    if out.shape != (pts.shape[0],):
        raise ValueError(f"fn: expected losses of shape ({pts.shape[0]},), got {tuple(out.shape)}")
    return out.reshape(gx.shape)
