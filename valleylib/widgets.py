"""Interactive explorers (ipywidgets) for the book's chapters.

Every explorer is a function that builds and returns the widget; it also works headless (no
front end): building it runs nothing heavy, and its ``update()`` can be called directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from ._checks import check_positive_int
from .safran_shamir import RISK_THRESHOLD, classify, run_protocol, teacher_identity, xavier_init

__all__ = ["SpuriousExplorer", "spurious_minima_explorer", "explore_spurious_minima"]


def explore_spurious_minima(k: int, n: int, runs: int, *, seed: int = 0, device=None, max_iter: int = 60_000,
                            newton_below: Optional[float] = 1e-3) -> dict:
    """Run the Safran–Shamir protocol for ``runs`` Xavier initialisations and summarise the end points.

    Returns:
        ``{"risks": list, "fraction_spurious": float, "labels": list of int codes, "hit_cap": int}``.
    """
    check_positive_int("k", k)
    check_positive_int("n", n)
    check_positive_int("runs", runs)
    from .device import default_device

    gen = torch.Generator(device=device if device is not None else default_device()).manual_seed(seed)
    V = teacher_identity(k, device=gen.device)
    W0 = xavier_init(runs, n, k, generator=gen)
    res = run_protocol(W0, V, max_iter=max_iter, newton_below=newton_below, progress=False)
    codes, _ = classify(res.W, V, converged=res.converged)
    return {
        "risks": res.risk.cpu().tolist(),
        "fraction_spurious": float((res.risk >= RISK_THRESHOLD).double().mean()),
        "labels": codes.cpu().tolist(),
        "hit_cap": int(res.hit_cap.sum()),
    }


@dataclass
class SpuriousExplorer:
    """The explorer: ``widget`` to display, ``update()`` to recompute, ``last`` the latest summary."""

    widget: Any
    update: Any
    last: dict


def spurious_minima_explorer(k: int = 6, n: int = 6, runs: int = 20, *, max_k: int = 12, max_runs: int = 200,
                             run_now: bool = True, device=None) -> SpuriousExplorer:
    """An ipywidgets explorer: choose ``k``, ``n``, ``runs``, press *run*; see the histogram of final
    risks (log scale) and the fraction of runs that end at risk :math:`\\ge 10^{-3}`.

    Args:
        k, n, runs: initial slider values.
        max_k: the largest ``k`` and ``n`` offered (keep small on a CPU).
        max_runs: the largest number of runs offered.
        run_now: compute once while building (so a static page shows a result).

    Returns:
        :class:`SpuriousExplorer`; display ``.widget`` in a notebook.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    import numpy as np

    check_positive_int("k", k)
    check_positive_int("n", n)
    check_positive_int("runs", runs)
    ks = w.IntSlider(value=k, min=2, max=max_k, description="k (teacher)")
    ns = w.IntSlider(value=n, min=1, max=max_k + 2, description="n (student)")
    rs = w.IntSlider(value=runs, min=1, max=max_runs, step=1, description="runs")
    button = w.Button(description="run", button_style="primary")
    out = w.Output()
    state = SpuriousExplorer(widget=None, update=None, last={})

    def update(*_):
        summary = explore_spurious_minima(ks.value, ns.value, rs.value, device=device)
        state.last = {"k": ks.value, "n": ns.value, "runs": rs.value, **summary}
        risks = np.clip(np.asarray(summary["risks"]), 1e-20, None)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 3))
            ax.hist(np.log10(risks), bins=30, color="C0")
            ax.axvline(np.log10(RISK_THRESHOLD), color="C3", ls="--", label="risk = 1e-3")
            ax.set_xlabel("log10 final risk")
            ax.set_ylabel("runs")
            ax.set_title(f"k={ks.value}, n={ns.value}: {100 * summary['fraction_spurious']:.1f}% of {rs.value} runs at risk ≥ 1e-3")
            ax.legend()
            fig.tight_layout()
            plt.show()
            plt.close(fig)
        return state.last

    button.on_click(update)
    state.widget = w.VBox([w.HBox([ks, ns, rs, button]), out])
    state.update = update
    if run_now:
        update()
    return state
