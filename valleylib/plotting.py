"""House style and figures used by more than one page."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["house_style", "landscape_figure", "low_risk_figure", "PALETTE"]

#: Colour-blind-safe palette (Okabe–Ito).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def house_style() -> None:
    """Apply the book's matplotlib defaults."""
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 110,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "font.size": 10,
        }
    )


def landscape_figure(
    xs: Sequence[float],
    ys: Sequence[float],
    values,
    *,
    levels: Sequence[float] = (),
    marks: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    xlabel: str = "$w_1$",
    ylabel: str = "$w_2$",
    title: str | None = None,
):
    """Filled contour plot of a 2-D landscape with highlighted sublevel-set boundaries."""
    import matplotlib.pyplot as plt

    house_style()
    v = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    cs = ax.contourf(xs, ys, v, levels=30, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="risk")
    if levels:
        c = ax.contour(xs, ys, v, levels=sorted(levels), colors="white", linewidths=1.2)
        ax.clabel(c, fmt="%.2f", fontsize=8)
    for k, (label, pts) in enumerate((marks or {}).items()):
        p = np.asarray(pts, dtype=float)
        ax.plot(p[:, 0], p[:, 1], "o", ms=7, color=PALETTE[(k + 1) % len(PALETTE)], mec="white", label=label)
    if marks:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return fig


def low_risk_figure(result: Mapping):
    """The four panels of the *Low-risk confinement* chapter, from a ``low-risk`` result.

    (a) random-features error against :math:`p` (log-log) with the derived ReLU slopes;
    (b) fraction of runs ending at risk :math:`\\ge 10^{-3}` against :math:`n/k`, with 95% Wilson
    intervals and the published Safran–Shamir rows; (c) the largest and median such risk against
    :math:`n`, over the random-features levels; (d) the probability that a start is joined to a
    global minimum below its own risk.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0, 0]
    for i, (act, per_d) in enumerate(result["random_features"].items()):
        for j, (d, c) in enumerate(per_d.items()):
            p = np.asarray(c["p"], dtype=float)
            colour = PALETTE[2 * i + j]
            ax.loglog(p, c["geomean"], "o-", color=colour, label=f"{act}, d={d}: slope {c['slope']:.2f}")
            ax.fill_between(p, c["q10"], c["q90"], color=colour, alpha=0.15)
            if act == "relu":
                ref = np.asarray(c["geomean"])[-1] * (p / p[-1]) ** c["derived_relu_slope"]
                ax.loglog(p, ref, "--", color=colour, lw=1, label=f"derived $p^{{{c['derived_relu_slope']:.2f}}}$")
    ax.set_xlabel("number of random features $p$")
    ax.set_ylabel("error $E(W)$ (geometric mean)")
    ax.set_title("(a) random features")
    ax.legend(fontsize=7)
    k = None
    ax = axes[0, 1]
    for i, (family, rows) in enumerate(result["width_sweep"].items()):
        n = np.asarray([r["n"] for r in rows], dtype=float)
        k = n[0]
        f = np.asarray([r["bad_fraction"] for r in rows])
        lo = np.asarray([r["bad_ci"][0] for r in rows])
        hi = np.asarray([r["bad_ci"][1] for r in rows])
        ax.errorbar(n / k + 0.01 * i, f, yerr=[f - lo, hi - f], fmt="o-", capsize=3, color=PALETTE[i], label=f"{family} teacher (ours)")
    ss = result.get("safran_shamir_rows", [])
    if ss:
        ax.plot([r["n"] / r["k"] for r in ss], [r["published"] for r in ss], "k*", ms=10, label="Safran & Shamir (published)")
    ax.set_xlabel("student width / teacher width  $n/k$")
    ax.set_ylabel("fraction ending at risk $\\geq 10^{-3}$")
    ax.set_title("(b) bad end points")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    for i, (family, rows) in enumerate(result["width_sweep"].items()):
        n = np.asarray([r["n"] for r in rows], dtype=float)
        mx = np.asarray([r["max_bad_risk"] for r in rows])
        md = np.asarray([r["median_bad_risk"] for r in rows])
        has = mx > 0
        ax.semilogy(n[has], mx[has], "v-", color=PALETTE[i], label=f"{family}: largest bad risk")
        ax.semilogy(n[has], md[has], "o:", color=PALETTE[i], label=f"{family}: median bad risk")
        b = result["bounds"][family]
        ax.semilogy(b["n"], b["signed_median"], "-", color=PALETTE[i], alpha=0.5, lw=3, label=f"{family}: $E(n)$")
        ax.semilogy(b["nonneg_n"], b["nonneg_median"], "--", color=PALETTE[i], alpha=0.5, lw=2, label=f"{family}: $E_+(n-k)$")
    ax.set_xlabel("student width $n$")
    ax.set_ylabel("risk")
    ax.set_title("(c) how high the bad end points are")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    for i, (family, per) in enumerate(result["random_starts"].items()):
        n = np.asarray([r["n"] for r in per], dtype=float)
        for key, style, name in (("certified", "o-", "our path"), ("line_below", "s:", "straight line")):
            f = np.asarray([r[key] for r in per])
            ci = {"certified": "certified_ci", "line_below": "line_ci"}[key]
            lo = np.asarray([r[ci][0] for r in per])
            hi = np.asarray([r[ci][1] for r in per])
            ax.errorbar(n + 0.1 * i, f, yerr=[f - lo, hi - f], fmt=style, capsize=3, color=PALETTE[i], label=f"{family}: {name}")
    ax.set_xlabel("student width $n$")
    ax.set_ylabel("P(start joined to a global minimum below $F(W_0)$)")
    ax.set_title("(d) random starts")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
