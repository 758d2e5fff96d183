"""Intrinsic dimension and spurious valleys (Venturi, Bandeira & Bruna), reproduced.

Four parts, one result dictionary:

``intrinsic_dimension``
    exact :math:`\\dim^*` of polynomial activations against the numerical rank estimate, and the
    rank of non-polynomial activations as the feature matrix grows (``rank_growth``).
``overparam_sweep``
    quadratic activation: batched Adam from random starts, on three data sets, for widths across
    :math:`\\dim^*`; a run succeeds when it reaches the function-space minimum (a least-squares
    problem over all quadratic forms, solved without any network).
``descent_path`` / ``empirical``
    the constructive non-increasing path of the positive result, for a polynomial instance and
    for ReLU with width equal to the number of samples; and Adam runs on the latter.
``negative_example``
    the ReLU distribution with a spurious valley: closed-form risks, gradient descent from the
    bad point, random starts (and how many end certified inside a spurious valley: every
    :math:`a_i > 0` and risk below the proven barrier), and the highest point of two paths out.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from ..empirical import (
    descent_path,
    empirical_risk,
    function_space_minimum,
    pack,
    relu_valley_points,
    relu_valley_risk,
    success_fraction,
    unpack,
)
from ..intrinsic import feature_spectrum, intrinsic_dimension
from ..paths import neb
from ..scorecard import Check, check_close, check_true
from ..storage import Parts
from ..training import train
from . import Experiment

__all__ = ["Config", "CONFIGS", "run", "negative_example", "scorecard", "figures", "EXPERIMENT", "make_dataset"]


@dataclass(frozen=True)
class Config:
    """Sizes of the reproduction.

    Attributes:
        dims: input dimensions for the exact-vs-estimated table.
        rank_sizes: feature-matrix sizes (directions = samples) for the rank-growth curves.
        rank_d: input dimension of the rank-growth curves.
        sweep_d: input dimension of the quadratic sweep (``dim* = d(d+1)/2``).
        sweep_widths: widths of the sweep.
        sweep_runs: random starts per width and data set.
        sweep_samples: sample size of the two large data sets.
        small_samples: sample size of the small data set.
        sweep_iters: Adam iterations cap.
        emp_d, emp_samples, emp_widths, emp_runs, emp_iters: the empirical-risk corollary (ReLU).
        neg_d, neg_n, alpha, beta: the ReLU example (input dimension, width, target weights).
        neg_runs: random starts and perturbed bad-point starts.
        neg_iters: gradient-descent iterations cap.
        string_images, string_iters: the nudged elastic band (points including both ends, steps).
        seed: one seed for everything.
    """

    dims: tuple = (2, 3, 4)
    rank_sizes: tuple = (25, 50, 100, 200)
    rank_d: int = 4
    sweep_d: int = 3
    sweep_widths: tuple = (1, 2, 3, 6, 8)
    sweep_runs: int = 8
    sweep_samples: int = 128
    small_samples: int = 10
    sweep_iters: int = 3000
    emp_d: int = 4
    emp_samples: int = 8
    emp_widths: tuple = (4, 8, 16)
    emp_runs: int = 8
    emp_iters: int = 3000
    neg_d: int = 6
    neg_n: int = 3
    alpha: float = 2.0
    beta: float = 3.0
    neg_runs: int = 16
    neg_iters: int = 1500
    string_images: int = 17
    string_iters: int = 150
    seed: int = 0


CONFIGS = {
    "smoke": Config(sweep_runs=6, sweep_iters=2500, emp_widths=(4, 8, 16), emp_runs=8, emp_iters=1500, neg_runs=12, neg_iters=1000),
    "default": Config(
        dims=(2, 3, 4, 5), rank_sizes=(25, 50, 100, 200, 400, 800), sweep_widths=(1, 2, 3, 4, 6, 8, 12),
        sweep_runs=32, sweep_samples=512, sweep_iters=6000, emp_widths=(4, 8, 16, 32), emp_runs=16,
        emp_iters=6000, neg_runs=64, neg_iters=4000, string_iters=400,
    ),
    "full": Config(
        dims=(2, 3, 4, 5, 6), rank_sizes=(25, 50, 100, 200, 400, 800, 1600, 3200),
        sweep_widths=(1, 2, 3, 4, 6, 8, 10, 12, 16, 20), sweep_runs=256, sweep_samples=4096, small_samples=16,
        sweep_iters=20000, emp_widths=(4, 8, 16, 32, 64), emp_runs=128, emp_iters=20000, neg_d=12, neg_n=8, neg_runs=512,
        neg_iters=20000, string_images=33, string_iters=2000,
    ),
}

POLYNOMIALS = {"linear": "linear", "quadratic": "quadratic", "cubic": "cubic", "1 + z^2": (1.0, 0.0, 1.0), "1 + z + z^2 + z^3": (1.0, 1.0, 1.0, 1.0)}
NONPOLYNOMIALS = ("relu", "tanh", "sigmoid", "erf")
DATASETS = ("gaussian, ReLU teacher", "heavy-tailed (Student t, 5 dof)", "small sample, random labels")


def make_dataset(kind: str, d: int, N: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The three data sets of the sweep (float64, on ``device``).

    ``gaussian, ReLU teacher``: :math:`x \\sim \\mathcal N(0, I_d)`, :math:`y = \\sum_{j\\le d+1}[v_j^\\top x]_+`
    (not a polynomial, so no quadratic network fits it exactly).
    ``heavy-tailed``: :math:`x` multivariate Student t with 5 degrees of freedom,
    :math:`y = x_1 x_2 + |x_d|`. ``small sample``: ``N`` Gaussian points with Gaussian labels.
    """
    if kind == DATASETS[0]:
        x = torch.randn(N, d, generator=gen, dtype=torch.float64)
        V = torch.randn(d + 1, d, generator=gen, dtype=torch.float64)
        y = torch.relu(x @ V.T).sum(1)
    elif kind == DATASETS[1]:
        g = torch.randn(N, d, generator=gen, dtype=torch.float64)
        chi2 = (torch.randn(N, 5, generator=gen, dtype=torch.float64) ** 2).sum(1, keepdim=True)
        x = g / torch.sqrt(chi2 / 5)
        y = x[:, 0] * x[:, 1 % d] + x[:, -1].abs()
    elif kind == DATASETS[2]:
        x = torch.randn(N, d, generator=gen, dtype=torch.float64)
        y = torch.randn(N, generator=gen, dtype=torch.float64)
    else:
        raise ValueError(f"kind={kind!r}: expected one of {DATASETS}")
    return x.to(device), y.to(device)


def _masked_starts(widths, runs: int, d: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Random starts of every width packed in one tensor of the largest width; unused units are 0
    and masked, so they never move (runs ordered width by width)."""
    nmax = max(widths)
    mask = torch.cat([(torch.arange(nmax) < w).double().expand(runs, nmax) for w in widths]).unsqueeze(-1).to(device)
    R = mask.shape[0]
    W = torch.randn(R, nmax, d, generator=gen, dtype=torch.float64).to(device) / math.sqrt(d)
    a = torch.randn(R, nmax, generator=gen, dtype=torch.float64).to(device) / math.sqrt(nmax)
    return pack(W, a) * mask, mask


def _train_masked(p0, x, y, activation, *, iters, lr, progress, desc):
    """Adam on all widths at once. A padded unit has w = 0 and a = 0; since sigma(0) = 0 and
    sigma'(0) * a = 0 for the activations used here, its gradient is exactly zero and it never moves."""

    def loss_fn(p):
        return empirical_risk(*unpack(p), x, y, activation=activation)

    return train(p0, loss_fn=loss_fn, method="adam", lr=lr, tol=1e-8, max_iter=iters, progress=progress, desc=desc)


def run(config: Config, *, device, out_dir=None, progress=None) -> dict:
    """All four parts (keys in the module docstring); with ``out_dir`` each finished part is kept in ``out_dir/venturi-parts/``."""
    cfg = config
    gen = torch.Generator().manual_seed(cfg.seed)
    # with out_dir, each finished part is kept in out_dir/venturi-parts/ for resuming
    parts = Parts(Path(out_dir) / "venturi-parts" if out_dir is not None else None, generator=gen)
    key = {"config": asdict(cfg), "device": torch.device(device).type}
    out: dict = {}

    # 1. Intrinsic dimension: exact vs numerical.
    def intrinsic_part():
        table = []
        for name, act in POLYNOMIALS.items():
            for d in cfg.dims:
                exact = intrinsic_dimension(act, d)
                size = max(4 * exact, 64)
                est = intrinsic_dimension(act, d, method="numerical", directions=size, samples=size, seed=cfg.seed, device=device)
                table.append({"activation": name, "n": d, "exact": exact, "estimated": est})
        growth = {}
        for name in NONPOLYNOMIALS + ("quadratic", "cubic"):
            ranks, spectra = [], None
            for m in cfg.rank_sizes:
                spec = feature_spectrum(name, cfg.rank_d, directions=m, samples=m, seed=cfg.seed, device=device)
                ranks.append(spec.rank)
                spectra = {"singular_values": spec.singular_values, "threshold": spec.threshold}
            growth[name] = {"sizes": list(cfg.rank_sizes), "rank": ranks, "largest_spectrum": spectra}
        return {"intrinsic_dimension": table, "rank_growth": {"n": cfg.rank_d, "curves": growth}}

    out.update(parts.get("intrinsic-dimension", key, intrinsic_part))

    # 2. Over-parametrisation sweep (quadratic activation).
    d = cfg.sweep_d
    dim_star = intrinsic_dimension("quadratic", d)
    sweep = {"activation": "quadratic", "n": d, "dim_star": dim_star, "widths": list(cfg.sweep_widths), "datasets": {}}
    for index, kind in enumerate(DATASETS):
        def sweep_part(kind=kind):
            N = cfg.small_samples if kind == DATASETS[2] else cfg.sweep_samples
            x, y = make_dataset(kind, d, N, gen, device)
            L_star = function_space_minimum(x, y, "quadratic")
            p0, mask = _masked_starts(cfg.sweep_widths, cfg.sweep_runs, d, gen, device)
            res = _train_masked(p0, x, y, "quadratic", iters=cfg.sweep_iters, lr=0.01, progress=progress, desc=f"sweep: {kind}")
            rows = []
            for i, w in enumerate(cfg.sweep_widths):
                sl = slice(i * cfg.sweep_runs, (i + 1) * cfg.sweep_runs)
                loss = res.loss[sl]
                rows.append({
                    "width": w,
                    "runs": cfg.sweep_runs,
                    "success_fraction": success_fraction(loss, L_star),
                    "converged_fraction": float(res.converged[sl].double().mean()),
                    "final_risk": loss.cpu().tolist(),
                })
            return {"samples": N, "global_minimum": L_star, "rows": rows}

        sweep["datasets"][kind] = parts.get(f"sweep-{index}", key, sweep_part)
    out["overparam_sweep"] = sweep

    # 3. Constructive descent paths.
    def descent_part():
        x, y = make_dataset(DATASETS[0], d, cfg.sweep_samples, gen, device)
        n = dim_star + 2
        W0 = torch.randn(n, d, generator=gen, dtype=torch.float64) / math.sqrt(d)
        half = n // 2  # the second half of the units are multiples of the first: dependent features
        W0[half:] = W0[: n - half] * torch.tensor([1.0, -2.0, 0.5, 3.0] * n, dtype=torch.float64)[: n - half].unsqueeze(1)
        a0 = torch.randn(n, generator=gen, dtype=torch.float64) / math.sqrt(n)
        path = descent_path(W0.to(device), a0.to(device), x, y, activation="quadratic", steps=25, seed=cfg.seed)
        L_star = function_space_minimum(x, y, "quadratic")
        # The straight segment from the start to the path's end point, for comparison.
        ts = torch.linspace(0, 1, 75, dtype=torch.float64)
        straight = [float(empirical_risk((1 - t) * W0.to(device) + t * path["W"], (1 - t) * a0.to(device) + t * path["a"], x, y,
                                         activation="quadratic"))
                    for t in ts]
        return {
            "activation": "quadratic", "n": d, "width": n, "dim_star": dim_star, "global_minimum": L_star,
            "t": path["t"], "risk": path["risk"], "rank_before": path["rank_before"], "rank_after": path["rank_after"],
            "straight_t": ts.tolist(), "straight_risk": straight,
        }

    out["descent_path"] = parts.get("descent-path", key, descent_part)

    # 4. Empirical-risk corollary: ReLU, width >= N samples.
    def empirical_part():
        xe = torch.randn(cfg.emp_samples, cfg.emp_d, generator=gen, dtype=torch.float64).to(device)
        ye = torch.randn(cfg.emp_samples, generator=gen, dtype=torch.float64).to(device)
        We = torch.randn(cfg.emp_samples, cfg.emp_d, generator=gen, dtype=torch.float64).to(device)
        ae = torch.randn(cfg.emp_samples, generator=gen, dtype=torch.float64).to(device)
        epath = descent_path(We, ae, xe, ye, activation="relu", steps=25, seed=cfg.seed)
        p0, mask = _masked_starts(cfg.emp_widths, cfg.emp_runs, cfg.emp_d, gen, device)
        res = _train_masked(p0, xe, ye, "relu", iters=cfg.emp_iters, lr=0.05, progress=progress, desc="empirical: relu")
        rows = []
        for i, w in enumerate(cfg.emp_widths):
            sl = slice(i * cfg.emp_runs, (i + 1) * cfg.emp_runs)
            rows.append({"width": w, "runs": cfg.emp_runs, "success_fraction": success_fraction(res.loss[sl], 0.0, atol=1e-4),
                         "final_risk": res.loss[sl].cpu().tolist()})
        return {
            "activation": "relu", "n": cfg.emp_d, "samples": cfg.emp_samples, "global_minimum": 0.0,
            "path": {"t": epath["t"], "risk": epath["risk"], "rank_before": epath["rank_before"], "rank_after": epath["rank_after"]},
            "rows": rows,
        }

    out["empirical"] = parts.get("empirical", key, empirical_part)

    # 5. The ReLU example with a spurious valley (closed-form population risk).
    out["negative_example"] = parts.get("negative-example", key,
                                        lambda: negative_example(cfg, gen, device, progress))
    out["parts_reused"] = list(parts.reused)
    return out


def negative_example(cfg: Config, gen: torch.Generator, device, progress=None, *, risk: Callable = relu_valley_risk) -> dict:
    """The ReLU example with a spurious valley: risks at the two points, gradient descent from the
    bad point and from random starts, and the highest point of two paths out of the valley.

    ``risk(W, a, alpha, beta)`` is the population risk minimised and evaluated throughout (the closed
    form :func:`~valleylib.empirical.relu_valley_risk`); the closed-form values ``beta^2/8``,
    ``alpha^2/8`` and the proven barrier are computed independently of it, so a wrong ``risk`` (the
    tests pass one) shows up in the scorecard.
    """
    dn, nn_, al, be = cfg.neg_d, cfg.neg_n, cfg.alpha, cfg.beta
    Wb, ab, Wg, ag = (t.to(device) for t in relu_valley_points(dn, nn_, al, be))
    risk_fn = lambda p: risk(*unpack(p), al, be)  # noqa: E731
    bound = be**2 / 8 + al**2 / (16 * math.pi)
    # GD from the bad point, slightly perturbed.
    noise = 1e-2 * torch.randn(cfg.neg_runs, nn_, dn + 1, generator=gen, dtype=torch.float64).to(device)
    start_bad = pack(Wb, ab).unsqueeze(0) + noise
    gd_bad = train(start_bad, loss_fn=risk_fn, method="gd", lr=0.05, tol=1e-8, max_iter=cfg.neg_iters, progress=progress,
                   desc="valley: from the bad point")
    # GD from random starts.
    Wr = torch.randn(cfg.neg_runs, nn_, dn, generator=gen, dtype=torch.float64) / math.sqrt(dn)
    ar = torch.randn(cfg.neg_runs, nn_, generator=gen, dtype=torch.float64)
    gd_rand = train(pack(Wr, ar).to(device), loss_fn=risk_fn, method="gd", lr=0.05, tol=1e-8, max_iter=cfg.neg_iters, progress=progress,
                    desc="valley: random starts")
    rand_loss = torch.where(torch.isfinite(gd_rand.loss), gd_rand.loss, torch.full_like(gd_rand.loss, float("inf")))
    best = int(torch.argmin(rand_loss))
    good_risk = float(risk(Wg, ag, al, be))
    best_p = gd_rand.params[best] if float(rand_loss[best]) < good_risk else pack(Wg, ag)
    global_min = min(float(rand_loss[best]), good_risk)
    # Paths out of the valley: straight line, then a relaxed string, to the best point found.
    start = pack(Wb, ab).flatten()
    end = best_p.flatten()
    shape = best_p.shape
    flat_risk = lambda q: risk(*unpack(q.view(-1, *shape)), al, be)  # noqa: E731
    ts = torch.linspace(0, 1, 101, dtype=torch.float64, device=device).unsqueeze(1)
    straight = flat_risk((1 - ts) * start + ts * end)
    # The connectivity chapter's nudged elastic band (pivots re-spaced evenly, Draxler et al.'s
    # spring = inf); its profile samples the band between pivots too.
    band = neb(flat_risk, start, end, pivots=cfg.string_images - 2, steps=cfg.string_iters, lr=0.02,
               momentum=0.0, resolution=8, progress=False)
    string_risk = band.profile
    # A point with every a_i > 0 and risk below the barrier lies in a spurious valley (the proposition).
    a_end = unpack(gd_rand.params)[1]
    in_valley = (a_end > 0).all(-1) & (rand_loss < bound)
    return {
        "d": dn, "width": nn_, "alpha": al, "beta": be,
        "bad_point_risk": float(risk(Wb, ab, al, be)),
        "bad_point_risk_closed_form": be**2 / 8,
        "good_point_risk": good_risk,
        "good_point_risk_closed_form": al**2 / 8,
        "global_minimum_risk": global_min,
        "global_minimum_note": "lowest risk found (random-start GD and the explicit good point): an upper bound on the global minimum",
        "proven_barrier": bound,
        "gd_final_risk_from_bad_point": float(gd_bad.loss.min()),
        "gd_final_risks_from_bad_point": gd_bad.loss.cpu().tolist(),
        "random_start_final_risks": gd_rand.loss.cpu().tolist(),
        "straight_path_risk": straight.cpu().tolist(),
        "string_path_risk": string_risk.cpu().tolist(),
        "lowest_barrier": min(float(straight.max()), float(string_risk.max())),
        "random_start_min_risk": float(rand_loss[best]),
        "random_starts_in_valley": int(in_valley.sum()),
        "random_start_in_valley": in_valley.cpu().tolist(),
    }


def scorecard(result: dict) -> list[Check]:
    """Exact against numerical :math:`\\dim^*`, the over-parametrised sweep, the descent paths and the negative example, as checks."""
    checks: list[Check] = []
    table = result["intrinsic_dimension"]
    mism = [r for r in table if r["exact"] != r["estimated"]]
    checks.append(check_true(
        f"numerical rank equals the exact dim* for all {len(table)} polynomial cases", "this book (our derivation)",
        f"{len(table) - len(mism)}/{len(table)} agree", not mism))
    growth = result["rank_growth"]["curves"]
    grows = {k: v["rank"][-1] > v["rank"][0] and v["rank"][-1] >= 0.5 * v["sizes"][-1] for k, v in growth.items() if k in NONPOLYNOMIALS}
    checks.append(check_true("the numerical rank of ReLU, tanh, sigmoid, erf keeps growing with the feature-matrix size",
                             "Venturi et al. (abstract: infinite intrinsic dimension)", grows, all(grows.values())))
    sweep = result["overparam_sweep"]
    at_or_above = [(k, r["width"], r["success_fraction"])
                   for k, ds in sweep["datasets"].items() for r in ds["rows"] if r["width"] >= sweep["dim_star"]]
    worst = min(s for _, _, s in at_or_above)
    checks.append(check_close("success fraction at every width >= dim* (quadratic), every data set", "Venturi et al. (abstract) via our proof",
                              1.0, worst, 0.0))
    p = result["descent_path"]
    rk = p["risk"]
    mono = all(b <= a + 1e-9 * max(1.0, abs(a)) for a, b in zip(rk, rk[1:]))
    checks.append(check_true("the constructive path is non-increasing", "this book (our proof)",
                             f"max rise {max(b - a for a, b in zip(rk, rk[1:])):.2e}", mono))
    checks.append(check_close("the constructive path ends at the function-space minimum", "this book", p["global_minimum"], rk[-1],
                              1e-8 * max(1.0, p["global_minimum"])))
    e = result["empirical"]["path"]["risk"]
    checks.append(check_true("ReLU, width = N samples: the constructive path is non-increasing and ends at risk 0", "this book (our proof)",
                             e[-1], all(b <= a + 1e-9 for a, b in zip(e, e[1:])) and e[-1] < 1e-10))
    neg = result["negative_example"]
    checks.append(check_close("bad point risk = beta^2/8 (closed form)", "this book",
                              neg["bad_point_risk_closed_form"], neg["bad_point_risk"], 1e-12))
    checks.append(check_close("good point risk = alpha^2/8 (closed form)", "this book",
                              neg["good_point_risk_closed_form"], neg["good_point_risk"], 1e-12))
    # The next two follow from the proposition, so they test the code (the risk, its gradient, the path
    # finders), not the mathematics: a risk that drops the ReLU on the last coordinate fails both
    # (tests/test_scorecards_fail.py runs it).
    checks.append(check_true(
        "GD from the perturbed bad point ends >= beta^2/8 - 1e-6 (implied by the proposition: a test of the code)",
        "this book (our proof)", neg["gd_final_risk_from_bad_point"],
        neg["gd_final_risk_from_bad_point"] >= neg["bad_point_risk_closed_form"] - 1e-6, published=neg["bad_point_risk_closed_form"]))
    checks.append(check_true(
        "both paths out of the valley rise above the proven barrier beta^2/8 + alpha^2/(16 pi) (implied: a test of the code)",
        "this book (our proof)", neg["lowest_barrier"], neg["lowest_barrier"] >= neg["proven_barrier"], published=neg["proven_barrier"]))
    # Observations the computation could contradict: descent from random starts reaches below the
    # better point (so the valley's floor is far from the lowest level found), and some random starts
    # end certified inside a spurious valley (all a_i > 0 and risk below the barrier).
    if "random_start_min_risk" in neg:
        rmin = neg["random_start_min_risk"]
        checks.append(check_true(
            "GD from random starts reaches a risk below alpha^2/8 < beta^2/8 (the valley floor is above reachable levels)",
            "this book (observed)", rmin, rmin < neg["good_point_risk_closed_form"], published=f"< {neg['good_point_risk_closed_form']}"))
        inv, runs = neg["random_starts_in_valley"], len(neg["random_start_final_risks"])
        checks.append(check_true(
            "some GD runs from random starts end certified inside a spurious valley (all a_i > 0, risk < barrier)",
            "this book (observed)", f"{inv}/{runs}", inv > 0, published="> 0"))
    return checks


def figures(result: dict) -> dict:
    """``rank_growth``, ``sweep``, ``descent_path`` and ``negative_paths`` figures."""
    import matplotlib.pyplot as plt

    figs = {}
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, c in result["rank_growth"]["curves"].items():
        ax.plot(c["sizes"], c["rank"], marker="o", label=name)
    ax.plot(c["sizes"], c["sizes"], "k:", label="full rank")
    ax.set(xscale="log", yscale="log", xlabel="directions = samples", ylabel="numerical rank",
           title=f"rank of random features, input dimension {result['rank_growth']['n']}")
    ax.legend(fontsize=8)
    figs["rank_growth"] = fig

    sw = result["overparam_sweep"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for j, (kind, ds) in enumerate(sw["datasets"].items()):  # small offsets keep coinciding curves visible
        ax.plot([r["width"] + 0.08 * (j - 1) for r in ds["rows"]], [r["success_fraction"] + 0.01 * (j - 1) for r in ds["rows"]],
                marker="osD"[j % 3], label=kind)
    ax.axvline(sw["dim_star"], color="k", ls="--", lw=1, label=r"$\dim^*$")
    ax.set(xlabel="width n", ylabel="fraction of runs at the global minimum", ylim=(-0.05, 1.05),
           title=f"quadratic activation, d = {sw['n']}")
    ax.legend(fontsize=8)
    figs["sweep"] = fig

    p = result["descent_path"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(p["t"], p["risk"], label="constructive path")
    ax.plot([3 * t for t in p["straight_t"]], p["straight_risk"], ls="--", label="straight segment (rescaled to [0, 3])")
    ax.axhline(p["global_minimum"], color="k", lw=1, ls=":", label="function-space minimum")
    for b in (1, 2):
        ax.axvline(b, color="grey", lw=0.5)
    ax.set(xlabel="path parameter (phases 1, 2, 3)", ylabel="empirical risk", yscale="log")
    ax.legend(fontsize=8)
    figs["descent_path"] = fig

    neg = result["negative_example"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    s = neg["straight_path_risk"]
    ax.plot([i / (len(s) - 1) for i in range(len(s))], s, label="straight line")
    r = neg["string_path_risk"]
    ax.plot([i / (len(r) - 1) for i in range(len(r))], r, label="nudged elastic band")
    ax.axhline(neg["bad_point_risk"], color="C3", ls=":", lw=1, label=r"valley level $\beta^2/8$")
    ax.axhline(neg["proven_barrier"], color="k", ls="--", lw=1, label=r"proven barrier $\beta^2/8+\alpha^2/(16\pi)$")
    ax.set(xlabel="position along the path", ylabel="population risk")
    ax.legend(fontsize=8)
    figs["negative_paths"] = fig
    return figs


EXPERIMENT = Experiment(
    name="venturi",
    title="Intrinsic dimension: finite means no spurious valleys, infinite means they can exist",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
)
