"""Scorecards: each claim a reproduction checks, with its source and tolerance."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Optional

__all__ = ["Check", "binomial_tolerance", "wilson_interval", "check_close", "check_true", "undecided", "format_scorecard"]


@dataclass(frozen=True)
class Check:
    """One claim and what we measured.

    Attributes:
        claim: what is checked, in words.
        source: where the published value comes from (a paper section, or "this book").
        published: the published value (``None`` for a qualitative claim).
        measured: what this run measured.
        tolerance: the accepted deviation (``None`` for a yes/no claim).
        passed: whether the measurement agrees; ``None`` when the run was too small to decide
            (e.g. a statistical trend at the ``smoke`` budget). Undecided checks are shown as
            ``n/a`` and do not count as failures, but a run at a larger budget decides them.
    """

    claim: str
    source: str
    published: Any
    measured: Any
    tolerance: Optional[float]
    passed: Optional[bool]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pass"] = d.pop("passed")
        return d


def binomial_tolerance(p: float, runs: int, sigmas: float = 3.0) -> float:
    """Tolerance on a measured fraction: :math:`\\max(\\sigma\\sqrt{p(1-p)/N},\\ 1/N)`.

    >>> round(binomial_tolerance(0.126, 1000), 4)
    0.0315
    >>> binomial_tolerance(0.0, 100)
    0.01
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p={p!r}: expected a probability in [0, 1]")
    if runs < 1:
        raise ValueError(f"runs={runs!r}: expected a positive integer")
    return max(sigmas * math.sqrt(p * (1 - p) / runs), 1.0 / runs)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% for ``z = 1.96``).

    .. math::  \\frac{\\hat p + \\frac{z^2}{2N} \\pm z\\sqrt{\\frac{\\hat p(1-\\hat p)}{N} + \\frac{z^2}{4N^2}}}{1 + z^2/N}

    >>> [round(x, 4) for x in wilson_interval(0, 100)]
    [0.0, 0.037]
    >>> [round(x, 4) for x in wilson_interval(50, 100)]
    [0.4038, 0.5962]
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials={trials!r}: expected a positive integer")
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= trials:
        raise ValueError(f"successes={successes!r}: expected an integer between 0 and trials={trials}")
    n, p = trials, successes / trials
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    lo = 0.0 if successes == 0 else max(0.0, (centre - half) / den)
    hi = 1.0 if successes == trials else min(1.0, (centre + half) / den)
    return (lo, hi)


def check_close(claim: str, source: str, published: float, measured: float, tolerance: float) -> Check:
    """Pass when ``|measured - published| <= tolerance``."""
    ok = bool(math.isfinite(measured) and abs(measured - published) <= tolerance)
    return Check(claim, source, published, measured, tolerance, ok)


def check_true(claim: str, source: str, measured: Any, passed: bool, published: Any = None) -> Check:
    """A yes/no claim."""
    return Check(claim, source, published, measured, None, bool(passed))


def undecided(check: Check, reason: str) -> Check:
    """The same check marked as not decided at this size, with the reason appended to the claim."""
    return Check(f"{check.claim} [n/a: {reason}]", check.source, check.published, check.measured, check.tolerance, None)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def format_scorecard(checks: Iterable[Check]) -> str:
    """A plain-text table of the checks."""
    rows = [("claim", "published", "measured", "tol", "pass")]
    for c in checks:
        verdict = "n/a" if c.passed is None else ("yes" if c.passed else "NO")
        rows.append((c.claim, _fmt(c.published), _fmt(c.measured), _fmt(c.tolerance) if c.tolerance is not None else "-", verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    widths[0] = min(widths[0], 90)
    lines = []
    for j, r in enumerate(rows):
        lines.append("  ".join(r[i][: widths[i]].ljust(widths[i]) for i in range(5)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
