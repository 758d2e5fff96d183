"""Validation at the public edge: clear errors that name the argument."""
from __future__ import annotations

import math
from typing import Sequence

import torch


def as_tensor(name: str, value, *, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """Accept a tensor (kept as is) or an array-like (converted, float64 by default).

    A tensor on the ``meta`` device (shape only, no data) is rejected: no result can be computed from it.
    """
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            raise ValueError(
                f"{name}: is on the meta device (a shape without data); expected a tensor on cpu "
                "or cuda")
        return value
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(
            f"{name}: expected a tensor or an array of numbers, got "
            f"{type(value).__name__}")
    try:
        return torch.as_tensor(value, dtype=dtype or torch.float64, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name}: expected a tensor or an array of numbers, got {type(value).__name__}") from err


def tensor_arg(
    name: str,
    value,
    *,
    like: torch.Tensor | None = None,
    like_name: str = "W",
    ndim: Sequence[int] | None = None,
    meaning: str = "",
    finite: bool = True,
) -> torch.Tensor:
    """A floating-point tensor argument, checked once at the public edge.

    Array-likes are converted to ``like``'s dtype and device (float64 without ``like``). With
    ``like``, a tensor of another dtype or device is rejected (torch would fail deep inside a
    ``matmul``, or silently promote). Then the number of dimensions and finiteness are checked.
    """
    t = as_tensor(name, value, dtype=like.dtype if like is not None else None,
                  device=like.device if like is not None else None)
    check_floating(name, t)
    if like is not None:
        if t.device != like.device:
            raise ValueError(
                f"{name}: is on {t.device}, expected the device {like.device} of "
                f"{like_name}")
        if t.dtype != like.dtype:
            raise TypeError(
                f"{name}: has dtype {t.dtype}, expected the dtype {like.dtype} of {like_name} "
                "(convert one of them)")
    if ndim is not None:
        check_ndim(name, t, ndim, meaning)
    if finite:
        check_finite(name, t)
    return t


def check_dtype(name: str, dtype) -> torch.dtype:
    """A floating-point :class:`torch.dtype` (for arguments that create tensors)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"{name}={dtype!r}: expected a floating-point torch.dtype such as "
            "torch.float64")
    return dtype


def check_callable(name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")


def check_float(name: str, value, *, minimum: float | None = None, strict: bool = False,
                maximum: float | None = None) -> float:
    """A finite real number, optionally bounded below (``strict``: ``>``) and above (``<=``)."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.numel() != 1):
        raise TypeError(f"{name}={value!r}: expected a real number")
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}={value!r}: expected a real number") from err
    if not math.isfinite(v):
        raise ValueError(f"{name}={value!r}: expected a finite number")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(
            f"{name}={value!r}: expected a number {'>' if strict else '>='} "
            f"{minimum:g}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name}={value!r}: expected a number <= {maximum:g}")
    return v


def check_floating(name: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {t.dtype}")


def check_finite(name: str, t: torch.Tensor) -> None:
    if not (t.is_floating_point() or t.is_complex()):
        return  # integers and booleans are always finite
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
    """An integer ``>= minimum`` (numpy and 0-d torch integers accepted; floats, even 3.0, rejected)."""
    if (isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point()
            and value.dtype != torch.bool):
        value = int(value)
    elif hasattr(value, "__index__") and not isinstance(value, (bool, int, torch.Tensor)):
        value = value.__index__()  # numpy integers
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


def check_per_run(matrices_name: str, matrices: torch.Tensor, **vectors) -> list[torch.Tensor]:
    """Vectors ``(runs,)`` that go with a batch of matrices ``(runs, P, P)``: same length (``zip``
    would silently truncate), dtype and device, all finite."""
    runs = matrices.shape[0]
    out = []
    for name, v in vectors.items():
        t = tensor_arg(name, v, like=matrices, like_name=matrices_name, ndim=(1,), meaning=
            "(runs,) = "
            f"({runs},)")
        if t.shape[0] != runs:
            raise ValueError(
                f"{name}: has {t.shape[0]} entries, expected one per matrix of {matrices_name} "
                f"({runs})")
        out.append(t)
    return out


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
