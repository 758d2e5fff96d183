"""House style and figures used by more than one page."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["house_style", "landscape_figure", "PALETTE"]

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
