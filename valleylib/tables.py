"""Tables of results: one type that renders as HTML (site, notebooks), LaTeX (PDF) and plain text.

A chapter shows a result with one line, e.g. ``report.table()`` or
``vl.tables.safran_shamir_fractions(report)``: the formatting lives here, not on the page.

A :class:`Table` holds columns (each with an optional unit and number format), rows of raw values
and verdict marks (:func:`mark`: ``pass`` / ``FAIL`` / ``n/a``). Floats are formatted per column
(default ``.4g``); ``None`` shows as an en dash. The HTML is wrapped in a horizontally scrollable
box, so a wide table never widens the page on a phone.
"""
from __future__ import annotations

import html as _html
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence, Union

__all__ = [
    "Mark", "mark", "Link", "Column", "Table", "scorecard_table", "safran_shamir_fractions",
    "safran_shamir_runs", "safran_shamir_families", "safran_shamir_benchmark", "dss_levels",
    "polynomial_levels", "width_sweep", "path_methods", "intrinsic_dimensions", "overparam_sweep",
    "low_risk_sweep", "random_starts", "critical_points", "closed_form_vs_monte_carlo", "saddle_orbit",
    "fraction_rows", "session_plan",
]

_DASH = "\u2013"


def _short(v: Any) -> str:
    """A list, tuple or dict with its floats to 4 significant digits (``[0.1235, 2]``)."""
    if isinstance(v, float):
        return format(v, ".4g")
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_short(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    return str(v)


class Mark(str):
    """A verdict shown in a table: ``pass``, ``FAIL`` or ``n/a`` (a ``str``, so it compares as text)."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        return {"pass": "pass", "FAIL": "fail"}.get(str(self), "na")


def mark(passed: Optional[bool]) -> Mark:
    """``pass`` for ``True``, ``FAIL`` for ``False``, ``n/a`` for ``None`` (undecided at this size).

    >>> [str(mark(x)) for x in (True, False, None)]
    ['pass', 'FAIL', 'n/a']
    """
    if passed is not None and not isinstance(passed, bool):
        raise TypeError(f"passed={passed!r}: expected True, False or None")
    return Mark("n/a" if passed is None else ("pass" if passed else "FAIL"))


@dataclass(frozen=True)
class Link:
    """A link in a table cell: ``text`` pointing at ``url`` (text renderings show both)."""

    text: str
    url: str

    def __str__(self) -> str:
        return f"{self.text} ({self.url})"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "na": "#6e7781"}


@dataclass(frozen=True)
class Column:
    """A column: its name, its unit (shown under the name), and how numbers are formatted.

    Attributes:
        name: the header.
        unit: e.g. ``"%"``, ``"s"``; ``""`` for none.
        fmt: a format spec for floats (``".3f"``) or a callable ``value -> str``.
        align: ``"right"`` (numbers) or ``"left"`` (text); ``None`` decides from the values.
    """

    name: str
    unit: str = ""
    fmt: Union[str, Callable[[Any], str]] = ".4g"
    align: Optional[str] = None


ColumnLike = Union[str, Column, tuple]


def _column(c: ColumnLike, i: int) -> Column:
    if isinstance(c, Column):
        return c
    if isinstance(c, str):
        return Column(c)
    if isinstance(c, tuple) and 1 <= len(c) <= 4 and isinstance(c[0], str):
        return Column(*c)
    raise TypeError(f"columns[{i}]: expected a name, a Column or a (name, unit, fmt) tuple, got {c!r}")


@dataclass(frozen=True)
class Table:
    """A table of results.

    Attributes:
        columns: names, :class:`Column` objects or ``(name, unit, fmt)`` tuples.
        rows: one sequence of raw values per row (numbers, text, :class:`Mark`, ``None``).
        title: a caption shown above the table (optional).
        notes: a line shown below the table (optional).
    """

    columns: Sequence[ColumnLike]
    rows: Sequence[Sequence[Any]]
    title: str = ""
    notes: str = ""
    _cols: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cols = tuple(_column(c, i) for i, c in enumerate(self.columns))
        if not cols:
            raise ValueError("columns: expected at least one column")
        rows = tuple(tuple(r) for r in self.rows)
        for i, r in enumerate(rows):
            if len(r) != len(cols):
                raise ValueError(f"rows[{i}]: expected {len(cols)} values (one per column), got {len(r)}")
        object.__setattr__(self, "_cols", cols)
        object.__setattr__(self, "rows", rows)

    # -- cells --------------------------------------------------------------------------------
    def cell(self, i: int, j: int) -> str:
        """The text of row ``i``, column ``j``."""
        v, col = self.rows[i][j], self._cols[j]
        if v is None:
            return _DASH
        if isinstance(v, Mark):
            return str(v)
        if callable(col.fmt):
            return str(col.fmt(v))
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            return format(v, col.fmt)
        if isinstance(v, (list, tuple, dict)):
            return _short(v)
        return str(v)

    def _align(self, j: int) -> str:
        col = self._cols[j]
        if col.align in ("left", "right"):
            return col.align
        vals = [r[j] for r in self.rows if r[j] is not None]
        numeric = vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        return "right" if numeric else "left"

    def header(self, j: int) -> str:
        col = self._cols[j]
        return f"{col.name} [{col.unit}]" if col.unit else col.name

    def to_dicts(self) -> list[dict]:
        """The rows as ``{header: text}`` dictionaries."""
        return [{self.header(j): self.cell(i, j) for j in range(len(self._cols))}
                for i in range(len(self.rows))]

    # -- renderings ---------------------------------------------------------------------------
    def __str__(self) -> str:
        heads = [self.header(j) for j in range(len(self._cols))]
        body = [[self.cell(i, j) for j in range(len(heads))] for i in range(len(self.rows))]
        widths = [max([len(heads[j])] + [len(r[j]) for r in body]) for j in range(len(heads))]
        al = [self._align(j) for j in range(len(heads))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if a == "right" else c.ljust(w)
                             for c, w, a in zip(cells, widths, al)).rstrip()

        out = [self.title] if self.title else []
        out += [line(heads), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in body]
        if self.notes:
            out.append(self.notes)
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        esc = _html.escape
        th = []
        for j, col in enumerate(self._cols):
            unit = f'<br><span style="font-weight:normal">[{esc(col.unit)}]</span>' if col.unit else ""
            th.append(f'<th style="text-align:{self._align(j)}">{esc(col.name)}{unit}</th>')
        trs = []
        for i, r in enumerate(self.rows):
            tds = []
            for j, v in enumerate(r):
                # numbers stay on one line; text wraps, so a table shrinks to its column
                number = isinstance(v, (int, float)) and not isinstance(v, bool)
                style = f"text-align:{self._align(j)}" + (";white-space:nowrap" if number else "")
                text = esc(self.cell(i, j))
                if isinstance(v, Link):
                    label = esc(v.text).replace("_", "_<wbr>")  # long names break at underscores
                    tds.append(f'<td style="{style}"><a href="{esc(v.url)}">{label}</a></td>')
                elif isinstance(v, Mark):
                    style += f";color:{_COLOURS[v.kind]};font-weight:bold"
                    tds.append(f'<td class="vl-mark vl-{v.kind}" style="{style}">{text}</td>')
                else:
                    cls = ' class="vl-num"' if number else ""
                    tds.append(f'<td{cls} style="{style}">{text}</td>')
            trs.append("<tr>" + "".join(tds) + "</tr>")
        cap = f"<caption>{esc(self.title)}</caption>" if self.title else ""
        notes = f'<p style="margin-top:0.3em">{esc(self.notes)}</p>' if self.notes else ""
        return ('<div class="vl-table" style="overflow-x:auto;max-width:100%">'
                f'<table class="table vl-table">{cap}<thead><tr>{"".join(th)}</tr></thead>'
                f'<tbody>{"".join(trs)}</tbody></table>{notes}</div>')

    def _repr_latex_(self) -> str:
        def tex(s: str) -> str:
            return "".join(_TEX.get(ch, ch) for ch in s)

        specs = []
        for j in range(len(self._cols)):
            longest = max([len(self.header(j))] + [len(self.cell(i, j)) for i in range(len(self.rows))])
            specs.append(r"p{0.35\linewidth}" if longest > 30 else ("r" if self._align(j) == "right" else "l"))
        head = " & ".join(tex(self.header(j)) for j in range(len(self._cols)))
        body = "\n".join(" & ".join(tex(self.cell(i, j)) for j in range(len(self._cols))) + r" \\"
                         for i in range(len(self.rows)))
        cap = f"\\textbf{{{tex(self.title)}}}\\\\\n" if self.title else ""
        notes = f"\n\n{tex(self.notes)}" if self.notes else ""
        return (f"{cap}\\begin{{tabular}}{{{''.join(specs)}}}\n\\hline\n{head} \\\\\n\\hline\n"
                f"{body}\n\\hline\n\\end{{tabular}}{notes}")


def scorecard_table(checks: Iterable[Any], title: str = "") -> Table:
    """A scorecard as a :class:`Table`: claim, source, published, measured, tolerance or Holm p, verdict."""
    from .scorecard import Check

    checks = list(checks)
    for i, c in enumerate(checks):
        if not isinstance(c, Check):
            raise TypeError(f"checks[{i}]: expected a valleylib Check, got {type(c).__name__}")

    def tol(c: Check) -> Any:
        if c.tolerance is not None:
            return c.tolerance
        if c.p_adjusted is not None:
            return f"Holm p={c.p_adjusted:.2g}"
        return None

    rows = [(c.claim, c.source, c.published, c.measured, tol(c), mark(c.passed)) for c in checks]
    cols = [Column("claim", align="left"), Column("source", align="left"), Column("published", align="right"),
            Column("measured", align="right"), Column("tol. / p", align="right"), Column("verdict", align="left")]
    return Table(cols, rows, title=title)


# -- the book's result tables -------------------------------------------------------------------
def _pct(x: Any) -> Any:
    return None if x is None else 100.0 * x


def _ci(lohi: Sequence[float], fmt: str = ".3f") -> str:
    return f"[{lohi[0]:{fmt}}, {lohi[1]:{fmt}}]"


def safran_shamir_fractions(report: Any) -> Table:
    """Safran–Shamir rows: our fraction of runs at risk >= 1e-3 (and certified) against the paper's.

    ``Holm p`` is Fisher's exact test of our count against the published one, adjusted over the
    page's family; the verdict uses it (``FAIL`` when ``<=`` ``FWER_LEVEL``). The unadjusted value
    is on each scorecard :class:`~valleylib.scorecard.Check` (``p_value``).
    """
    from .experiments.safran_shamir import INFERRED_ZERO, PUBLISHED, PUBLISHED_CERTIFIED, row_counts
    from .scorecard import find_checks

    def find(key: tuple, certified: bool) -> Any:
        found = find_checks(report.scorecard, kind="fraction", k=key[0], n=key[1],
                            column="certified" if certified else "all")
        return found[0] if found else None

    out = []
    for r in report.result["rows"]:
        key = (r["k"], r["n"])
        cnt = row_counts(r)
        a, c = find(key, False), find(key, True)
        theirs = _pct(PUBLISHED[key]) if key in PUBLISHED else ("0*" if key in INFERRED_ZERO else None)
        out.append((
            r["k"], r["n"], cnt["runs"], 100.0 * cnt["bad"] / cnt["runs"], theirs,
            a.p_adjusted if a else None, mark(a.passed) if a else None,
            100.0 * cnt["certified"] / cnt["runs"], _pct(PUBLISHED_CERTIFIED.get(key)),
            c.p_adjusted if c else None, mark(c.passed) if c else None,
        ))
    cols = [Column("k"), Column("n"), Column("runs"),
            Column("ours: risk ≥ 1e-3", "%", ".1f"), Column("paper", "%", ".1f", "right"),
            Column("Holm p", fmt=".2g"), Column("verdict", align="left"),
            Column("ours: certified", "%", ".1f"), Column("paper", "%", ".1f"),
            Column("Holm p", fmt=".2g"), Column("verdict", align="left")]
    notes = ""
    if any(row[4] == "0*" for row in out):
        notes = "* 0 inferred by us, not published: the authors released no result file for this row."
    return Table(cols, out, title="Fractions of runs ending at risk ≥ 1e-3 (all, and certified minima)", notes=notes)


def safran_shamir_runs(report: Any) -> Table:
    """Per row of the Safran–Shamir protocol: iterations, runs decided early or stopped by the cap,
    time, the distinct spurious risks found and the smallest Hessian eigenvalue among them."""
    def lam(r: dict) -> Any:
        vals = [v for f in r.get("families", []) for v in [f["lambda_min"]]
                if isinstance(v, (int, float)) and v == v]  # a stored NaN is the string "nan"
        return min(vals) if vals else None

    out = [(r["k"], r["n"], float(r["iterations_median"]), r.get("decided", 0), r["hit_cap"],
            r["hit_cap_high_risk"], float(r["seconds"]),
            ", ".join(f"{x:.5f}" for x in r["spurious_risks"]) or None, lam(r))
           for r in report.result["rows"]]
    cols = [Column("k"), Column("n"), Column("median iterations", fmt=".0f"), Column("decided"),
            Column("capped"), Column("capped at risk ≥ 1e-3"), Column("time", "s", ".1f"),
            Column("distinct spurious risks", align="left"),
            Column("smallest λ_min", fmt=".2e")]
    return Table(cols, out, title="Runs of each row")


def safran_shamir_families(report: Any) -> Table:
    """One representative per family of spurious end points, with its certificate."""
    out = [(r["k"], r["n"], f["risk"], f["runs"], f["lambda_min"], f["lambda_lower"], f["radius"],
            f["certificate"]) for r in report.result["rows"] for f in r["families"]]
    cols = [Column("k"), Column("n"), Column("risk", fmt=".6f"), Column("runs"),
            Column("λ_min", fmt=".5f"), Column("λ lower bound", fmt=".6f"),
            Column("radius r", fmt=".2e"), Column("certificate", align="left")]
    return Table(cols, out, title="Families of spurious end points and their certificates")


def safran_shamir_benchmark(bench: dict) -> Table:
    """The recorded benchmark: the per-run numpy peer against the batched engine (one thread)."""
    out = []
    for r in bench["data"]["rows"]:
        out.append((r["k"], r["peer_ms_per_run_all"], r["GD_ms_per_run"], r["GD_speedup"],
                    r["GD+Newton_ms_per_run"], r["GD+Newton_speedup"], bool(r["same_iterations"]),
                    r.get("GD+Newton+decided_ms_per_run"), r.get("GD+Newton+decided_speedup")))
    cols = [Column("k = n"), Column("numpy peer", "ms/run", ".1f"), Column("batched GD", "ms/run", ".1f"),
            Column("speed-up", "×", ".1f"), Column("batched GD+Newton", "ms/run", ".1f"),
            Column("speed-up", "×", ".1f"), Column("same iterates"),
            Column("labels only (decided stop)", "ms/run", ".1f"), Column("speed-up", "×", ".1f")]
    return Table(cols, out, title=f"Measured {bench['date']} on {bench['machine']}, "
                 f"{bench['data']['args']['batched_runs']} batched runs, one thread")


def dss_levels(disconnection: dict) -> Table:
    """The disconnection example: DSS at each level, for the ReLU and the linear network."""
    out = []
    for act, d in disconnection.items():
        for row in d["levels"]:
            out.append((act, row["L0"], bool(row["connected"]), row["beads"], row["max_loss"],
                        row["normalized_length"], d["line_max"], d["neb"]["max_loss"]))
    cols = [Column("network", align="left"), Column("L0", fmt="g"), Column("DSS connected"),
            Column("beads"), Column("string max loss", fmt=".4f"), Column("normalized length", fmt=".3f"),
            Column("straight line max loss", fmt=".4f"), Column("NEB band max loss", fmt=".4f")]
    return Table(cols, out, title="Dynamic String Sampling at each level L0")


def polynomial_levels(polynomial: dict) -> Table:
    """The polynomial regression sweep: pairs connected, length and beads at each level."""
    out = [(target, row["L0"], row["pairs"], row["connected_fraction"], row["mean_normalized_length"],
            row["std_normalized_length"], row["mean_beads"])
           for target, rows in polynomial.items() for row in rows]
    cols = [Column("target", align="left"), Column("L0", fmt="g"), Column("pairs"),
            Column("connected", fmt=".2f"), Column("normalized length", fmt=".3f"),
            Column("std", fmt=".3f"), Column("beads", fmt=".2f")]
    return Table(cols, out, title="Polynomial regression: DSS at each level")


def width_sweep(rows: Sequence[dict]) -> Table:
    """The teacher-student width sweep."""
    out = [(r["width"], r["params"], f"{r['endpoints_reached']}/{r['endpoints_tried']}", r["pairs"],
            r["connected_fraction"], r["mean_normalized_length"], r["mean_beads"], r["mean_line_barrier"])
           for r in rows]
    cols = [Column("width n"), Column("parameters P"), Column("end points reaching L0", align="right"),
            Column("pairs"), Column("connected", fmt=".2f"), Column("normalized length", fmt=".3f"),
            Column("beads", fmt=".2f"), Column("line barrier", fmt=".3f")]
    return Table(cols, out, title="Width sweep")


def path_methods(comparison: dict) -> Table:
    """Path finders compared on the same pairs."""
    out = [(r["method"], r["pairs"], r["mean_normalized_length"], r["mean_max_loss"], r["mean_barrier"],
            float(r["mean_grad_evals"]), float(r["mean_loss_evals"]), r["below_threshold_fraction"])
           for r in comparison["rows"]]
    cols = [Column("method", align="left"), Column("pairs"), Column("normalized length", fmt=".3f"),
            Column("max loss", fmt=".4f"), Column("barrier", fmt=".4f"), Column("gradient evaluations", fmt=".0f"),
            Column("loss evaluations", fmt=".0f"), Column("below m·L0", fmt=".2f")]
    return Table(cols, out, title=f"Students of width {comparison['width']}, L0 = {comparison['L0']}")


def intrinsic_dimensions(rows: Sequence[dict]) -> Table:
    """Exact intrinsic dimension against the numerical rank, per activation and input dimension."""
    dims = sorted({r["n"] for r in rows})
    out = []
    for name in dict.fromkeys(r["activation"] for r in rows):
        cells = []
        for d in dims:
            hit = [r for r in rows if r["activation"] == name and r["n"] == d]
            cells.append(f"{hit[0]['exact']} / {hit[0]['estimated']}" if hit else None)
        out.append((name, *cells))
    cols = [Column("activation", align="left")] + [Column(f"d = {d}: exact / est.", align="right") for d in dims]
    return Table(cols, out, title="Intrinsic dimension: exact (closed form) / estimated (numerical rank)")


def overparam_sweep(sweep: dict) -> Table:
    """Success fraction of gradient descent per data set and width (quadratic activation)."""
    widths = sorted({r["width"] for ds in sweep["datasets"].values() for r in ds["rows"]})
    out = []
    for kind, ds in sweep["datasets"].items():
        by = {r["width"]: r["success_fraction"] for r in ds["rows"]}
        out.append((kind, ds["samples"], ds["global_minimum"], *[by.get(w) for w in widths]))
    cols = ([Column("data set", align="left"), Column("N"), Column("L*", fmt=".4f")]
            + [Column(f"n = {w}" + (" (dim*)" if w == sweep["dim_star"] else ""), fmt=".2f") for w in widths])
    return Table(cols, out, title=f"Fraction of runs reaching L* (quadratic activation, d = {sweep['n']}, "
                 f"dim* = {sweep['dim_star']})")


def low_risk_sweep(family: str, rows: Sequence[dict], bounds: dict, k: int) -> Table:
    """Width sweep of one teacher family: bad end points, their kinds and risks, and the bounds."""
    nonneg = dict(zip(bounds["nonneg_n"], bounds["nonneg_median"]))
    out = []
    for r, e in zip(rows, bounds["signed_median"]):
        c = r["counts"]
        out.append((r["n"], r["bad_fraction"], _ci(r["bad_ci"]), f"{c['spurious']}/{c['saddle']}/{c['not converged']}",
                    r["max_bad_risk"], r["median_bad_risk"], e, nonneg.get(r["n"], bounds["zero_network"])))
    cols = [Column("n"), Column("bad", fmt=".2f"), Column("95% CI", align="right"),
            Column("spurious / saddle / not converged", align="right"), Column("max bad risk", fmt=".4f"),
            Column("median bad risk", fmt=".4f"), Column("E(n)", fmt=".3f"), Column("E+(n−k)", fmt=".3f")]
    return Table(cols, out, title=f"{family} teacher, k = {k}, {rows[0]['runs']} runs per width")


def random_starts(family: str, rows: Sequence[dict]) -> Table:
    """Random starts: how many are certified below the bound, and how many reach it on a line."""
    out = [(r["n"], r["median_risk0"], r["median_bound"], r["certified"], _ci(r["certified_ci"]),
            r["line_below"], _ci(r["line_ci"])) for r in rows]
    cols = [Column("n"), Column("F(W0)", fmt=".3f"), Column("E+", fmt=".3f"), Column("certified", fmt=".3f"),
            Column("95% CI", align="right"), Column("line", fmt=".3f"), Column("95% CI", align="right")]
    return Table(cols, out, title=f"{family} teacher (medians over starts)")


def critical_points(index_sets: Sequence[Any], risk: Sequence[float], grad_norm: Sequence[float],
                    min_eig: Sequence[float], bound: Sequence[float], kind: Sequence[str]) -> Table:
    """Critical points of a shallow linear network, one per index set, with their classification."""
    out = [(str(S), r, g, l, None if k == "global minimum" else b, k)
           for S, r, g, l, b, k in zip(index_sets, risk, grad_norm, min_eig, bound, kind)]
    cols = [Column("index set", align="left"), Column("risk", fmt=".5f"), Column("|grad|", fmt=".1e"),
            Column("λ_min", fmt=".4f"), Column("our bound", fmt=".4f"), Column("kind", align="left")]
    return Table(cols, out, title="Critical points")


def closed_form_vs_monte_carlo(points: Sequence[Any], closed: Sequence[float], mean: Sequence[float],
                               stderr: Sequence[float], label: str = "point") -> Table:
    """A closed-form risk beside its Monte Carlo estimate, with the standard error and z-score."""
    out = [(str(w), c, m, s, (m - c) / s if s > 0 else None)
           for w, c, m, s in zip(points, closed, mean, stderr)]
    cols = [Column(label, align="left"), Column("closed form", fmt=".5f"), Column("Monte Carlo", fmt=".5f"),
            Column("± s.e.", fmt=".5f"), Column("z", fmt=".2f")]
    return Table(cols, out, title="Closed form against a Monte Carlo average")


def saddle_orbit(orbit: dict) -> Table:
    """The smallest Hessian eigenvalue along the orbit of a saddle, against our bound."""
    out = [(c, lam, b, lam * c * c) for c, lam, b in zip(orbit["c"], orbit["min_eig"], orbit["bound"])]
    cols = [Column("c", fmt=".3g"), Column("λ_min", fmt=".4e"), Column("bound", fmt=".4e"),
            Column("λ_min · c²", fmt=".4f")]
    return Table(cols, out, title=f"Along the orbit of the saddle with index set {orbit['index_set']}")


def fraction_rows(rows: Sequence[dict]) -> Table:
    """Fractions of runs against published ones: ``k, n, runs, published, measured, p, passed``."""
    out = [(r["k"], r["n"], r["runs"], r["published"], r["measured"], r["p_value"], mark(r["passed"]))
           for r in rows]
    cols = [Column("k"), Column("n"), Column("runs"), Column("paper", fmt=".3f"), Column("ours", fmt=".3f"),
            Column("Fisher p", fmt=".2g"), Column("verdict", align="left")]
    return Table(cols, out, title="Fractions of runs at risk ≥ 1e-3, ours against the paper's")


def session_plan(rows: Sequence[Sequence[Any]]) -> Table:
    """The course guide's plan: ``(number, topic, reading, stem, exercises, s_default, s_smoke)`` rows.

    The notebook column links to the chapter's notebook in Colab; times are in minutes.
    """
    from .book import colab_url

    out = [(number, topic, reading, Link(f"{stem}.ipynb", colab_url(stem)), n_ex,
            None if t_default is None else t_default / 60, None if t_smoke is None else t_smoke / 60)
           for number, topic, reading, stem, n_ex, t_default, t_smoke in rows]
    cols = [Column("session"), Column("topic", align="left"), Column("reading", align="left"),
            Column("notebook (Colab)", align="left"), Column("exercises"),
            Column("run time, default budget", "min", ".1f"), Column("run time, smoke budget", "min", ".1f")]
    missing = any(r[5] is None or r[6] is None for r in out)
    return Table(cols, out, title="The sessions", notes="–: not recorded" if missing else "")
