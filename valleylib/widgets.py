"""Interactive explorers (ipywidgets) for the book's chapters.

Every explorer is a function that builds and returns the widget; it also works headless (no
front end): building it runs nothing heavy, and its ``update()`` can be called directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from ._checks import check_positive_int
from .networks import make_teacher, teacher_identity, xavier_init
from .safran_shamir import RISK_THRESHOLD, classify, run_protocol

__all__ = ["SpuriousExplorer", "spurious_minima_explorer", "explore_spurious_minima", "explore_low_risk", "low_risk_explorer"]


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

    gen = torch.Generator().manual_seed(seed)  # drawn on the CPU: the same starts on every device
    dev = device if device is not None else default_device()
    V = teacher_identity(k, device=dev)
    W0 = xavier_init(runs, n, k, generator=gen, device=dev)
    res = run_protocol(W0, V, max_iter=max_iter, newton_below=newton_below, progress=False)
    codes, _ = classify(res.W, V, converged=res.converged)
    return {
        "risks": res.risk.cpu().tolist(),
        "fraction_spurious": float((res.risk >= RISK_THRESHOLD).double().mean()),
        "labels": codes.cpu().tolist(),
        "hit_cap": int(res.hit_cap.sum()),
    }


def _show_figure(out, fig, alt: str) -> None:
    """Put ``fig`` (as PNG) into the ``Output`` widget ``out`` by setting its ``outputs`` directly,
    and close the figure.

    No ``with out:`` capture: while capturing, the kernel tags output with the Output widget's
    ``msg_id``, and a notebook executor (nbclient, under jupyter-book) then handles widget-state
    messages on the shell channel from its iopub task, which can swallow the execute reply: the
    build waited forever on an idle kernel (issue 14; ``scripts/hang_check.py --cells 100 --load 2``
    reproduced it with the old explorers, past nbclient's own per-cell timeout).
    Setting ``outputs`` is one plain state update, the same on a page, in Jupyter and in Colab.
    """
    import base64
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {"image/png": png, "text/plain": alt}},)


def _risk_histogram(risks, figsize: tuple):
    """A histogram of log10 final risks with the 1e-3 threshold marked; returns ``(fig, ax)``."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=figsize)
    ax.hist(np.log10(np.clip(np.asarray(risks), 1e-20, None)), bins=30, color="C0")
    ax.axvline(np.log10(RISK_THRESHOLD), color="C3", ls="--", label="risk = 1e-3")
    ax.set_xlabel("log10 final risk (exact zeros at -20)")
    ax.set_ylabel("runs")
    return fig, ax


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
        fig, ax = _risk_histogram(summary["risks"], (6, 3))
        title = f"k={ks.value}, n={ns.value}: {100 * summary['fraction_spurious']:.1f}% of {rs.value} runs at risk ≥ 1e-3"
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        _show_figure(out, fig, title)
        return state.last

    button.on_click(update)
    state.widget = w.VBox([w.HBox([ks, ns, rs, button]), out])
    state.update = update
    if run_now:
        update()
    return state


def explore_low_risk(activation: str, k: int, n: int, runs: int, *, seed: int = 0, device=None, max_iter: int = 10_000,
                     draws: int = 32) -> dict:
    """Descend ``runs`` Xavier starts of a width-``n`` student against the teacher :math:`V = I_k`
    (activation ``"relu"`` or ``"erf"``), and compute the random-features error with ``n`` features.

    Returns:
        ``{"risks": list, "bad_fraction": float, "labels": list of codes into
        :data:`~valleylib.lowrisk.END_LABELS`, "rf_error": float (median over draws),
        "rf_nonneg": float or None (ReLU, median :math:`E_+` with n - k features)}``.
    """
    from .device import default_device
    from .lowrisk import descend, label_end_points
    from .random_features import random_features_curve

    check_positive_int("k", k)
    check_positive_int("n", n)
    check_positive_int("runs", runs)
    gen = torch.Generator().manual_seed(seed)  # drawn on the CPU: the same starts on every device
    dev = device if device is not None else default_device()
    V = make_teacher("ss", k, device=dev)
    W0 = xavier_init(runs, n, k, generator=gen, device=dev)
    lr = 0.1 if activation == "relu" else 0.5
    end = descend(W0, V, activation=activation, lr=lr, max_iter=max_iter, progress=False)
    codes, _ = label_end_points(end, V, activation=activation)
    rf = random_features_curve([n], V, activation=activation, draws=draws, generator=gen, progress=False)
    nonneg = None
    if activation == "relu" and n > k:
        nonneg = random_features_curve([n - k], V, draws=draws, nonnegative=True, generator=gen, progress=False)["median"][0]
    return {
        "risks": end.risk.cpu().tolist(),
        "bad_fraction": float((codes > 0).double().mean()),
        "labels": codes.cpu().tolist(),
        "rf_error": rf["median"][0],
        "rf_nonneg": nonneg,
    }


def low_risk_explorer(activation: str = "relu", k: int = 6, n: int = 6, runs: int = 40, *, max_k: int = 10,
                      max_runs: int = 200, run_now: bool = True, device=None) -> SpuriousExplorer:
    """An ipywidgets explorer: pick the activation, teacher width ``k`` and student width ``n``, press
    *run*; see the histogram of final risks (log scale) with the random-features error :math:`E(n)`
    (and, for ReLU, our level :math:`E_+(n-k)`) drawn on the same axis.

    Returns:
        :class:`SpuriousExplorer`; display ``.widget`` in a notebook.
    """
    import ipywidgets as w
    import numpy as np

    check_positive_int("k", k)
    check_positive_int("n", n)
    check_positive_int("runs", runs)
    if activation not in ("relu", "erf"):
        raise ValueError(f"activation={activation!r}: expected 'relu' or 'erf'")
    acts = w.Dropdown(options=["relu", "erf"], value=activation, description="activation")
    ks = w.IntSlider(value=k, min=2, max=max_k, description="k (teacher)")
    ns = w.IntSlider(value=n, min=2, max=4 * max_k, description="n (student)")
    rs = w.IntSlider(value=runs, min=2, max=max_runs, description="runs")
    button = w.Button(description="run", button_style="primary")
    out = w.Output()
    state = SpuriousExplorer(widget=None, update=None, last={})

    def update(*_):
        if ns.value < ks.value:
            ns.value = ks.value
        s = explore_low_risk(acts.value, ks.value, ns.value, rs.value, device=device)
        state.last = {"activation": acts.value, "k": ks.value, "n": ns.value, "runs": rs.value, **s}
        fig, ax = _risk_histogram(s["risks"], (6.5, 3.2))
        ax.axvline(np.log10(s["rf_error"]), color="C2", lw=2, label=f"random features E(n) = {s['rf_error']:.3g}")
        if s["rf_nonneg"] is not None:
            ax.axvline(np.log10(s["rf_nonneg"]), color="C4", lw=2, ls=":", label=f"our level E+(n-k) = {s['rf_nonneg']:.3g}")
        title = f"{acts.value}, k={ks.value}, n={ns.value}: {100 * s['bad_fraction']:.1f}% of {rs.value} runs at risk ≥ 1e-3"
        ax.set_title(title)
        ax.legend(fontsize=7)
        fig.tight_layout()
        _show_figure(out, fig, title)
        return state.last

    button.on_click(update)
    state.widget = w.VBox([w.HBox([acts, ks]), w.HBox([ns, rs, button]), out])
    state.update = update
    if run_now:
        update()
    return state
