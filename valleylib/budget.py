"""Size budgets: one switch that every chapter and experiment honours.

Three budgets exist:

``smoke``
    seconds per chapter on a CPU; what CI and the test suite execute.
``default``
    a reader's laptop CPU, a few minutes per chapter.
``full``
    paper scale, meant for a GPU.

The budget in force is, in order of precedence: an explicit argument (the CLI's
``--budget``), the environment variable ``VALLEYLIB_BUDGET``, and finally ``full`` when the
default device is a GPU fast in float64 (:func:`float64_tflops` at least
:data:`FULL_MIN_TFLOPS`; data-centre GPUs) and ``default`` otherwise: many notebook GPUs compute
float64 at a thirtieth of their float32 speed or less, and would take hours at paper scale.
"""
from __future__ import annotations

import os
from typing import Mapping, TypeVar

from .device import default_device

__all__ = ["BUDGETS", "BUDGET_ENV", "FULL_MIN_TFLOPS", "check_budget", "current_budget",
           "by_budget", "float64_tflops"]

#: The budget names, smallest first.
BUDGETS: tuple[str, ...] = ("smoke", "default", "full")
#: Environment variable that selects the budget.
BUDGET_ENV = "VALLEYLIB_BUDGET"

#: The float64 matrix-product speed (TFLOP/s) from which a GPU gets ``full`` automatically
#: (an A100 reaches about 19 with tensor cores, an H100 50 or more; a T4 or an L4 below 0.5).
FULL_MIN_TFLOPS: float = 2.0

T = TypeVar("T")
_TFLOPS: dict = {}


def float64_tflops(device, size: int = 2048) -> float:
    """Measured float64 matrix-product speed of ``device`` in TFLOP/s (cached per device).

    Three ``size`` x ``size`` products (:math:`2\\,\\text{size}^3` flops each), timed after one
    warm-up: a fraction of a second on any GPU.
    """
    import time

    import torch

    device = torch.device(device)
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a positive integer, got {size!r}")
    key = (str(device), size)
    if key not in _TFLOPS:
        a = torch.randn(size, size, dtype=torch.float64, device=device)
        a @ a
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda *a: None)
        sync(device)
        t = time.perf_counter()
        for _ in range(3):
            a @ a
        sync(device)
        _TFLOPS[key] = 3 * 2 * size**3 / max(time.perf_counter() - t, 1e-9) / 1e12
    return _TFLOPS[key]


def _check_name(name: str, source: str) -> str:
    if name not in BUDGETS:
        shown = f"{source} {name!r}" if source.startswith("-") else f"{source}={name!r}"
        raise ValueError(f"{shown} is not a budget; expected one of {', '.join(BUDGETS)}")
    return name


def check_budget(name: str, source: str = "budget") -> str:
    """Return ``name`` when it is a budget; else a ValueError naming ``source`` (e.g. ``--budget``)."""
    return _check_name(name, source)


def current_budget(budget: str | None = None) -> str:
    """Resolve the budget in force.

    Args:
        budget: an explicit choice (wins when given).

    Returns:
        One of :data:`BUDGETS`.

    >>> current_budget("smoke")
    'smoke'
    """
    if budget is not None:
        return _check_name(budget, "budget")
    env = os.environ.get(BUDGET_ENV, "").strip()
    if env:
        return _check_name(env, BUDGET_ENV)
    dev = default_device()
    if dev.type == "cuda" and float64_tflops(dev) >= FULL_MIN_TFLOPS:
        return "full"
    return "default"


def by_budget(values: Mapping[str, T], budget: str | None = None) -> T:
    """Pick the entry of ``values`` for the budget in force.

    ``values`` must have a key for every budget, so that no size is silently missing.

    >>> by_budget({"smoke": 10, "default": 100, "full": 1000}, "default")
    100
    """
    missing = [b for b in BUDGETS if b not in values]
    if missing:
        raise ValueError(f"values: missing entries for budget(s) {missing}; expected keys {list(BUDGETS)}")
    return values[current_budget(budget)]
