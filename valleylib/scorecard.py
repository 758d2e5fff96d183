"""Scorecards: each claim a reproduction checks, with its source and tolerance.

Fractions of runs (``x`` of ``N`` runs of ours, ``x'`` of ``M`` published runs) are compared as two
binomial samples with Fisher's exact test, and the rows of a scorecard as one family with Holm's
step-down procedure at :data:`FWER_LEVEL`: a faithful reproduction fails some row of the family with
probability at most ``FWER_LEVEL``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional, Sequence

__all__ = [
    "Check", "FWER_LEVEL", "FractionComparison", "fisher_exact", "holm_adjusted",
    "compare_fractions", "fraction_family", "wilson_interval", "check_close", "check_true",
    "undecided", "find_checks", "format_scorecard",
]

#: Family-wise error level of the fraction comparisons of one scorecard (Holm step-down).
FWER_LEVEL = 0.01


@dataclass(frozen=True)
class Check:
    """One claim and what we measured.

    Attributes:
        claim: what is checked, in words.
        source: where the published value comes from (a paper section, or "this book").
        published: the published value (``None`` for a qualitative claim).
        measured: what this run measured.
        tolerance: the accepted deviation (``None`` for a yes/no claim or a statistical test).
        passed: whether the measurement agrees; ``None`` when the run was too small to decide
            (e.g. a statistical trend at the ``smoke`` budget). Undecided checks are shown as
            ``n/a`` and do not count as failures, but a run at a larger budget decides them.
        p_value: for a statistical test, its p-value (``None`` otherwise).
        p_adjusted: for a test inside a family, the Holm-adjusted p-value the verdict uses: the
            check fails when ``p_adjusted <= level`` (``None`` otherwise).
        key: a stable identity for code that looks a check up (``{"kind": "fraction", "k": 8,
            "n": 8, "column": "all"}``; empty when the experiment gives none): pages and tables
            select checks by key (:func:`find_checks`), never by the text of the claim.
        reason: why an undecided check (``passed is None``) is n/a (also appended to the claim).
    """

    claim: str
    source: str
    published: Any
    measured: Any
    tolerance: Optional[float]
    passed: Optional[bool]
    p_value: Optional[float] = None
    p_adjusted: Optional[float] = None
    key: dict = field(default_factory=dict)
    reason: Optional[str] = None

    @property
    def headline(self) -> str:
        """The claim without its bracketed notes (an n/a reason, a safety-cap remark)."""
        return self.claim.split(" [")[0]

    def matches(self, **key: Any) -> bool:
        """Whether every ``name=value`` given is in :attr:`key` (``c.matches(kind="fraction", k=8)``)."""
        return all(name in self.key and self.key[name] == value for name, value in key.items())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pass"] = d.pop("passed")
        return d


def _check_count(name: str, x: Any, lo: int = 0, hi: Optional[int] = None) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < lo or (hi is not None and x > hi):
        span = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name}={x!r}: expected an integer {span}")
    return x


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher exact test that ``x1`` of ``n1`` and ``x2`` of ``n2`` share one rate.

    Given the total :math:`t = x_1 + x_2` of successes, :math:`X_1` is hypergeometric,
    :math:`P(X_1 = i) = \\binom{n_1}{i}\\binom{n_2}{t-i} / \\binom{n_1+n_2}{t}`, and the p-value is
    the probability of every table at most as likely as the observed one,
    :math:`p = \\sum_{i:\\,P(i) \\le P(x_1)(1+10^{-7})} P(i)` (the convention of
    ``scipy.stats.fisher_exact``). Computed in log space from :math:`\\log\\Gamma` and the ratio
    :math:`P(i+1)/P(i) = (t-i)(n_1-i)/\\big((i+1)(n_2-t+i+1)\\big)`; terms below
    :math:`e^{-40}P(x_1)` are dropped (a relative error below :math:`10^{-13}`).

    >>> round(fisher_exact(3, 10, 7, 10), 6)  # as scipy.stats.fisher_exact([[3, 7], [7, 3]])
    0.178895
    >>> fisher_exact(0, 12, 3, 1000)
    1.0
    >>> fisher_exact(0, 300, 55, 1000) < 1e-6
    True
    """
    n1 = _check_count("n1", n1, 1)
    n2 = _check_count("n2", n2, 1)
    x1 = _check_count("x1", x1, 0, n1)
    x2 = _check_count("x2", x2, 0, n2)
    total, t = n1 + n2, x1 + x2
    lo, hi = max(0, t - n2), min(t, n1)
    if lo == hi:
        return 1.0

    def logpmf(i: int) -> float:
        return (math.lgamma(n1 + 1) - math.lgamma(i + 1) - math.lgamma(n1 - i + 1)
                + math.lgamma(n2 + 1) - math.lgamma(t - i + 1) - math.lgamma(n2 - t + i + 1)
                - math.lgamma(total + 1) + math.lgamma(t + 1) + math.lgamma(total - t + 1))

    mode = min(hi, max(lo, int((t + 1) * (n1 + 1) / (total + 2))))
    l_obs = logpmf(x1)
    cut = l_obs + 1e-7  # log(1 + 1e-7) ~ 1e-7: ties count as at most as likely
    s = 0.0
    lm = logpmf(mode)
    # walk up from the mode, then down from mode - 1, summing exp(logpmf - l_obs) of the kept terms
    li, i = lm, mode
    while True:
        if li <= cut:
            s += math.exp(li - l_obs)
        if i >= hi or li < l_obs - 40.0:
            break
        li += math.log((t - i) * (n1 - i)) - math.log((i + 1) * (n2 - t + i + 1))
        i += 1
    li, i = lm, mode
    while i > lo and li >= l_obs - 40.0:
        li += math.log(i * (n2 - t + i)) - math.log((t - i + 1) * (n1 - i + 1))
        i -= 1
        if li <= cut:
            s += math.exp(li - l_obs)
    return min(1.0, math.exp(l_obs) * s)


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values: rejecting where ``adjusted <= level`` is Holm's procedure.

    With the p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`, the adjusted value of the
    :math:`i`-th is
    :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min\\big(1, (m - j + 1)\\,p_{(j)}\\big)`; the probability
    that any true hypothesis is rejected is at most the level, whatever the dependence.

    >>> holm_adjusted([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    for p in p_values:
        if isinstance(p, bool) or not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
            raise ValueError(f"p_values: expected probabilities in [0, 1], got {p!r}")
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


@dataclass(frozen=True)
class FractionComparison:
    """One fraction comparison: ours ``x`` of ``runs`` against theirs ``x'`` of ``published_runs``.

    Attributes:
        claim: what is compared, in words.
        source: where the published count comes from.
        count: our count (the one shown).
        runs: our number of runs :math:`N`.
        published_count: the published count :math:`x'`.
        published_runs: the published number of runs :math:`M`.
        count_range: ``(low, high)`` counts our data allow (e.g. runs stopped by a safety cap that
            might end either way); the row must pass for both ends. Default ``(count, count)``.
        key: the :attr:`Check.key` of the check it becomes.
    """

    claim: str
    source: str
    count: int
    runs: int
    published_count: int
    published_runs: int
    count_range: Optional[tuple[int, int]] = None
    key: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_count("runs", self.runs, 1)
        _check_count("count", self.count, 0, self.runs)
        _check_count("published_runs", self.published_runs, 1)
        _check_count("published_count", self.published_count, 0, self.published_runs)
        if self.count_range is not None:
            lo, hi = self.count_range
            _check_count("count_range[0]", lo, 0, self.count)
            _check_count("count_range[1]", hi, self.count, self.runs)

    @property
    def p_value(self) -> float:
        """The smallest Fisher p-value over the ends of ``count_range`` (pass both ways)."""
        lo, hi = self.count_range or (self.count, self.count)
        return min(fisher_exact(c, self.runs, self.published_count, self.published_runs)
                   for c in {lo, hi})

    @property
    def p_zero(self) -> float:
        """The p-value an engine finding none (0 of ``runs``) would get against the published."""
        return fisher_exact(0, self.runs, self.published_count, self.published_runs)


def fraction_family(rows: Sequence[FractionComparison], level: float = FWER_LEVEL) -> list[Check]:
    """Holm's procedure at ``level`` over all ``rows``; one :class:`Check` per row, in order.

    A row **fails** when its Holm-adjusted p-value is :math:`\\le` ``level``. Otherwise it
    **passes** if it could have told a faithful engine from one that finds none: an engine with
    0 of ``runs`` would have a p-value :math:`\\le` ``level / m``, which Holm rejects whatever the
    other rows are (``level / m`` is the row's most stringent Holm level, ``m = len(rows)``). A
    row that could not is **n/a** (``passed=None``, the reason in the claim): its agreement is no
    evidence.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level!r}: expected a probability in (0, 1)")
    for i, r in enumerate(rows):
        if not isinstance(r, FractionComparison):
            raise TypeError(f"rows[{i}]: expected a FractionComparison, got {type(r).__name__}")
    m = len(rows)
    raw = [r.p_value for r in rows]
    adjusted = holm_adjusted(raw)
    checks = []
    for r, p, q in zip(rows, raw, adjusted):
        claim, reason = r.claim, None
        passed: Optional[bool] = None
        if q <= level:
            passed = False
        elif r.p_zero <= level / m:
            passed = True
        else:
            reason = f"too few runs: 0 of {r.runs} gives p = {r.p_zero:.2g} > {level:g}/{m}"
            claim += f" [n/a: {reason}]"
        checks.append(Check(claim, r.source, r.published_count / r.published_runs, r.count / r.runs,
                            None, passed, p, q, dict(r.key), reason))
    return checks


def compare_fractions(
    claim: str, source: str, ours: tuple[int, int], theirs: tuple[int, int], *,
    level: float = FWER_LEVEL, count_range: Optional[tuple[int, int]] = None,
) -> Check:
    """One fraction comparison (a family of one): ``ours = (x, N)`` against ``theirs = (x', M)``.

    >>> c = compare_fractions("k=n=8", "paper", (30, 300), (126, 1000))
    >>> c.passed, round(c.p_value, 3)
    (True, 0.265)
    >>> compare_fractions("k=n=8", "paper", (10, 300), (126, 1000)).passed
    False
    >>> compare_fractions("k=n=6", "paper", (0, 12), (3, 1000)).passed is None  # too few runs
    True
    """
    row = FractionComparison(claim, source, ours[0], ours[1], theirs[0], theirs[1], count_range)
    return fraction_family([row], level)[0]


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
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not (math.isfinite(z) and z > 0):
        raise ValueError(f"z={z!r}: expected a positive finite number of standard deviations")
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
    """The same check marked as not decided at this size, with the reason appended to the claim
    and kept in :attr:`Check.reason`."""
    return Check(f"{check.claim} [n/a: {reason}]", check.source, check.published, check.measured,
                 check.tolerance, None, check.p_value, check.p_adjusted, dict(check.key), reason)


def find_checks(checks: Iterable[Check], **key: Any) -> list[Check]:
    """The checks whose :attr:`Check.key` holds every ``name=value`` given, in order.

    >>> c = Check("fraction, k=8 n=8", "paper", 0.1, 0.1, None, True, key={"kind": "fraction", "k": 8})
    >>> [x.claim for x in find_checks([c], kind="fraction", k=8)], find_checks([c], k=9)
    (['fraction, k=8 n=8'], [])
    """
    if not key:
        raise ValueError("key: expected at least one name=value to look checks up by")
    return [c for c in checks if c.matches(**key)]


def format_scorecard(checks: Iterable[Check]) -> str:
    """A plain-text table of the checks (``tol. / p``: the tolerance, or a test's Holm p-value).

    The text of :func:`valleylib.tables.scorecard_table`, which also renders as HTML and LaTeX.
    """
    from .tables import scorecard_table

    return str(scorecard_table(checks))
