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
default device is a GPU and ``default`` otherwise.
"""
from __future__ import annotations

import os
from typing import Mapping, TypeVar

from .device import default_device

__all__ = ["BUDGETS", "BUDGET_ENV", "check_budget", "current_budget", "by_budget"]

#: The budget names, smallest first.
BUDGETS: tuple[str, ...] = ("smoke", "default", "full")
#: Environment variable that selects the budget.
BUDGET_ENV = "VALLEYLIB_BUDGET"

T = TypeVar("T")


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
    return "full" if default_device().type == "cuda" else "default"


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
