"""Zhu et al.'s regularised shallow linear objective (v1 abstract), in our reading.

*From the v1 abstract* (papers.md §4): a regulariser on the training samples "has no effect on the
global minimum value", "plays a useful role in shrinking the set of critical points", and
"speeds the convergence of iterative algorithms ... in certain cases". *Ours*: its form,
:math:`g = f + \\tfrac\\mu4\\|W_2^\\top W_2 - W_1XX^\\top W_1^\\top\\|_F^2`
(:mod:`valleylib.linear_regularised`), the values of :math:`\\mu`, the instance, the start families
and every number below.

Parts, on one designed instance (well separated singular values of the whitened target):

``critical``
    per :math:`\\mu`: the balanced representative of every index-set orbit
    (:func:`valleylib.linear_regularised.balanced_critical_points`): its gradient of :math:`g` and
    the smallest Hessian eigenvalue of :math:`g` (classified with :func:`valleylib.linear.classify`);
    and the unbalanced points of the same orbits (``K`` scaled by ``orbit_scales``), critical for
    :math:`f` but not for :math:`g`, with the smallest Hessian eigenvalue of :math:`f` there.
``gd``
    batched gradient descent on :math:`f` and on :math:`g` (same step, same starts) from each start
    family ``(name, scale of W1, scale of W2)``: iterations until the trained objective is within a
    relative ``GD_REL_TOL`` of :math:`f^\\star` (a run that never gets there counts as infinite in the
    median), the fraction that gets there, and the final balance gap.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..linear import classify, global_minimum_value, pack, shallow_hessian, shallow_loss_grad, unpack
from ..linear_regularised import (
    balance_gap,
    balanced_critical_points,
    regularised_hessian,
    regularised_loss_grad,
    regularised_train_loss_grad,
)
from ..scorecard import Check, check_close, check_true, undecided
from ..training import train
from . import Experiment
from .linear import GD_REL_TOL, designed_instance

__all__ = ["Config", "CONFIGS", "iterations_to_tolerance", "run", "scorecard", "figures", "EXPERIMENT"]

V1 = "Zhu et al., arXiv v1 abstract (regulariser's form: ours)"
OURS = "this book (our regulariser)"
#: Runs per start family needed before the speed comparison is decided.
MIN_RUNS_FOR_SPEED = 10


@dataclass(frozen=True)
class Config:
    """Sizes of one budget: the instance (``shape``, ``singular_values``, ``noise``), the values ``mus``, start ``families``, runs and steps."""

    seed: int = 0
    shape: tuple = (5, 3, 4, 40)  # (d0, d1, d2, N)
    singular_values: tuple = (2.0, 1.2, 0.7, 0.3)
    noise: float = 0.5
    mus: tuple = (0.25, 0.5, 1.0)
    orbit_scales: tuple = (3.0, 10.0)
    families: tuple = (("small", 0.1, 0.1), ("unit", 1.0, 1.0), ("unbalanced", 2.0, 0.02))
    runs: int = 256
    lr: float = 0.02
    max_iter: int = 50_000


CONFIGS = {
    "smoke": Config(mus=(0.5,), runs=12, max_iter=3000),
    "default": Config(runs=64, max_iter=20_000),
    "full": Config(),
}


def iterations_to_tolerance(history: torch.Tensor, fstar: float, rel_tol: float = GD_REL_TOL) -> torch.Tensor:
    """First recorded iteration with loss :math:`\\le f^\\star(1 + \\text{rel\\_tol})` per run, ``-1`` when
    never, from a ``(records, runs)`` history recorded every iteration."""
    ok = history <= fstar * (1 + rel_tol)
    first = torch.argmax(ok.to(torch.int64), dim=0)
    return torch.where(ok.any(0), first, torch.full_like(first, -1))


def _median_inf(its: torch.Tensor) -> float:
    """Median with never-reached runs (``-1``) counted as infinite (lower median)."""
    v = torch.where(its < 0, torch.full_like(its, torch.iinfo(its.dtype).max), its).sort().values
    m = int(v[(v.numel() - 1) // 2])
    return float("inf") if m == torch.iinfo(its.dtype).max else float(m)


def run(config: Config, *, device, out_dir=None, progress=None) -> dict:
    """Critical points of :math:`g` per :math:`\\mu` and gradient descent on :math:`f` and :math:`g` per start family (keys: module docstring)."""
    cfg = config
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(cfg.seed)
    d0, d1, d2, N = cfg.shape
    X, Y = designed_instance(d0, d2, N, cfg.singular_values, cfg.noise, gen, dev)
    fstar = global_minimum_value(X, Y, d1)
    result: dict = {"fstar": fstar, "shape": list(cfg.shape), "singular_values": list(cfg.singular_values),
                    "noise": cfg.noise, "seconds": {}}

    t0 = time.perf_counter()
    crit = []
    bal = balanced_critical_points(X, Y, d1)
    for mu in cfg.mus:
        loss, g1, g2 = regularised_loss_grad(bal.W1, bal.W2, X, Y, mu)
        gn = pack(g1, g2).norm(dim=-1)
        H = regularised_hessian(bal.W1, bal.W2, X, Y, mu)
        cl = classify(H, loss, gn, fstar)
        saddles = [i for i, k in enumerate(cl.kind) if not bal.is_global[i]]
        row = {"mu": mu, "points": bal.count, "global": int(bal.is_global.sum()),
               "kinds": cl.kind, "min_eig": cl.min_eig.tolist(), "grad_norm_max": float(gn.max()),
               "loss_minus_risk_max": float((loss - bal.risk).abs().max()),
               "non_global_strict": sum(cl.kind[i] == "strict saddle" for i in saddles),
               "non_global": len(saddles),
               "saddle_min_eig_weakest": max((cl.min_eig[i].item() for i in saddles), default=float("nan")),
               "orbit": []}
        for c in cfg.orbit_scales:
            ub = balanced_critical_points(X, Y, d1, scale=c)
            _, u1, u2 = regularised_loss_grad(ub.W1, ub.W2, X, Y, mu)
            _, f1, f2 = shallow_loss_grad(ub.W1, ub.W2, X, Y)
            nonzero = [i for i, s in enumerate(ub.index_sets) if len(s) > 0]
            lam_f = torch.linalg.eigvalsh(shallow_hessian(ub.W1, ub.W2, X, Y))[:, 0]
            row["orbit"].append({
                "scale": c, "f_grad_norm_max": float(pack(f1, f2).norm(dim=-1).max()),
                "g_grad_norm_min": float(pack(u1, u2).norm(dim=-1)[nonzero].min()),
                "f_saddle_min_eig_weakest": max(lam_f[i].item() for i in nonzero if not ub.is_global[i])})
        crit.append(row)
    lam_f1 = torch.linalg.eigvalsh(shallow_hessian(bal.W1, bal.W2, X, Y))[:, 0]
    result["f_balanced_saddle_min_eig_weakest"] = max(lam_f1[i].item() for i in range(bal.count) if not bal.is_global[i])
    result["critical"] = crit
    result["seconds"]["critical"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    gd = []
    for name, s1, s2 in cfg.families:
        th0 = torch.cat([torch.randn(cfg.runs, d1 * d0, dtype=torch.float64, generator=gen) * s1,
                         torch.randn(cfg.runs, d2 * d1, dtype=torch.float64, generator=gen) * s2], 1).to(dev)
        fam = {"family": name, "scale_W1": s1, "scale_W2": s2, "runs": cfg.runs, "rows": []}
        for mu in (0.0,) + tuple(cfg.mus):
            r = train(th0, loss_grad=regularised_train_loss_grad(X, Y, d1, mu), lr=cfg.lr, tol=1e-10,
                      max_iter=cfg.max_iter, record_every=1, on_divergence="restart", progress=progress,
                      desc=f"{name}, mu={mu}")
            its = iterations_to_tolerance(r.history, fstar)
            W1, W2 = unpack(r.params, d0, d1, d2)
            D = balance_gap(W1, W2, X)
            f_end = regularised_loss_grad(W1, W2, X, Y, 0.0)[0]
            fam["rows"].append({
                "mu": mu, "reached_fraction": float((its >= 0).double().mean()),
                "median_iterations": _median_inf(its.cpu()),
                "iterations": its.tolist(), "min_final_loss": float(r.loss.min()),
                "max_final_rel_gap": float(((r.loss - fstar) / fstar).max()),
                "max_final_f_rel_gap": float(((f_end - fstar) / fstar).max()),
                "balance_gap_max": float(D.flatten(1).norm(dim=1).max()),
                "restarts": int((r.lr < cfg.lr).sum())})
        gd.append(fam)
    result["gd"] = gd
    result["seconds"]["gd"] = time.perf_counter() - t0
    return result


def scorecard(result: dict) -> list[Check]:
    """v1-abstract claims (with our regulariser) and the chapter's properties, as checks that can fail."""
    checks: list[Check] = []
    fstar = result["fstar"]
    reg = [row for fam in result["gd"] for row in fam["rows"] if row["mu"] > 0]
    best = min(row["min_final_loss"] for row in reg)
    checks.append(check_close("regularised: the lowest value GD reaches equals f* (global minimum value unchanged)",
                              V1 + " ('no effect on the global minimum value')", fstar, best,
                              GD_REL_TOL * max(1.0, abs(fstar))))
    worst = max(row["max_final_rel_gap"] for row in reg)
    checks.append(check_true("regularised: every GD run from every start family ends at f* (no spurious minima)",
                             OURS + "; the chapter's property", f"largest (g - f*)/f* = {worst:.2e}",
                             worst <= GD_REL_TOL, published=f"<= {GD_REL_TOL:g}"))
    ns = sum(r["non_global_strict"] for r in result["critical"])
    n = sum(r["non_global"] for r in result["critical"])
    gmax = max(r["grad_norm_max"] for r in result["critical"])
    checks.append(check_true("regularised: every balanced non-global critical point is a strict saddle",
                             OURS + "; the chapter's property", f"{ns} of {n} (largest gradient {gmax:.1e})",
                             n > 0 and ns == n and gmax <= 1e-8, published="all"))
    shrink = min(o["g_grad_norm_min"] for r in result["critical"] for o in r["orbit"])
    fcrit = max(o["f_grad_norm_max"] for r in result["critical"] for o in r["orbit"])
    checks.append(check_true("regularised: unbalanced points of the critical orbits of f are not critical for g",
                             V1 + " ('shrinking the set of critical points')",
                             f"smallest |grad g| {shrink:.3g} (largest |grad f| {fcrit:.1e})",
                             shrink > 1e-6 and fcrit <= 1e-8, published="> 0"))
    gap = max(row["balance_gap_max"] for row in reg)
    checks.append(check_true("regularised: GD ends balanced, |W2'W2 - W1 S W1'| <= 1e-4", OURS,
                             f"{gap:.2e}", gap <= 1e-4, published="<= 1e-4"))
    speed = []
    for fam in result["gd"]:
        plain = next(r for r in fam["rows"] if r["mu"] == 0)
        for r in fam["rows"]:
            if r["mu"] > 0:
                speed.append((fam["family"], r["mu"], r["median_iterations"], plain["median_iterations"]))
    faster = [s for s in speed if s[2] < s[3]]
    shown = "; ".join(f"{f} mu={m}: {a:g} vs {b:g}" for f, m, a, b in speed)
    c = check_true("regularised GD reaches the tolerance in fewer iterations (median) for some start family",
                   V1 + " ('speeds the convergence ... in certain cases')", shown, bool(faster),
                   published="in certain cases")
    runs = min(fam["runs"] for fam in result["gd"])
    checks.append(c if runs >= MIN_RUNS_FOR_SPEED else undecided(c, f"{runs} runs per family"))
    return checks


def figures(result: dict) -> dict:
    """``gd``: iterations to tolerance per start family, with and without the regulariser."""
    import matplotlib.pyplot as plt

    fams = result["gd"]
    fig, axes = plt.subplots(1, len(fams), figsize=(4 * len(fams), 3.4), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        data, labels = [], []
        for r in fam["rows"]:
            its = [i for i in r["iterations"] if i >= 0]
            data.append(its if its else [float("nan")])
            labels.append(f"mu={r['mu']:g}\n{r['reached_fraction']:.0%} reached")
        ax.boxplot(data)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_title(f"{fam['family']} starts (W1 x{fam['scale_W1']:g}, W2 x{fam['scale_W2']:g})", fontsize=9)
        ax.set_ylabel("iterations to tolerance")
    fig.tight_layout()
    return {"gd": fig}


EXPERIMENT = Experiment(
    name="zhu-regularised",
    title="Zhu et al. (v1): a balancing regulariser for shallow linear networks (our form)",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
)
