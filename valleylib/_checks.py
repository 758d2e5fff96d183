"""Validation at the public edge: clear errors that name the argument."""
from __future__ import annotations

from typing import Sequence

import torch


def as_tensor(name: str, value, *, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """Accept a tensor (kept as is) or an array-like (converted, float64 by default)."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=dtype or torch.float64, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name}: expected a tensor or an array of numbers, got {type(value).__name__}") from err


def check_floating(name: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {t.dtype}")


def check_finite(name: str, t: torch.Tensor) -> None:
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name}: contains {bad} non-finite value(s) (NaN or inf); expected finite numbers")


def check_ndim(name: str, t: torch.Tensor, allowed: Sequence[int], meaning: str) -> None:
    if t.ndim not in allowed:
        raise ValueError(f"{name}: expected shape {meaning}, got shape {tuple(t.shape)}")


def check_same_device(**tensors: torch.Tensor) -> None:
    devices = {name: t.device for name, t in tensors.items() if t is not None}
    if len(set(devices.values())) > 1:
        desc = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise ValueError(f"tensors must be on one device, got {desc}")


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r}: expected an integer >= {minimum}")
    return value


def check_positive_float(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}={value!r}: expected a positive number") from err
    if not v > 0 or v != v or v == float("inf"):
        raise ValueError(f"{name}={value!r}: expected a positive finite number")
    return v


def batch_weights(name: str, W, *, d: int | None = None) -> tuple[torch.Tensor, bool]:
    """Normalise first-layer weights to ``(runs, n, d)``.

    Returns the tensor and whether the caller passed a single network ``(n, d)``.
    """
    W = as_tensor(name, W)
    check_floating(name, W)
    check_ndim(name, W, (2, 3), "(runs, n, d) or (n, d)")
    single = W.ndim == 2
    if single:
        W = W.unsqueeze(0)
    if W.shape[1] < 1 or W.shape[2] < 1:
        raise ValueError(f"{name}: expected at least one neuron and one input dimension, got shape {tuple(W.shape)}")
    if d is not None and W.shape[-1] != d:
        raise ValueError(f"{name}: last dimension is {W.shape[-1]}, expected the input dimension d={d}")
    check_finite(name, W)
    return W, single
