"""Shallow linear networks: one critical point per index set, its Hessian, gradient descent, paths.

For random instances of :math:`f(W_1, W_2) = \\tfrac12\\|W_2W_1X - Y\\|_F^2` (several shapes, hidden
width :math:`d_1` below and above the output dimension), enumerate one critical point per index
set of singular directions of the whitened target (:func:`valleylib.linear.critical_points`: one
point of each :math:`GL(d_1)` orbit, hence every critical value and, with distinct singular values,
every product :math:`W_2W_1` a critical point can have, but not every critical point), classify
each from its dense Hessian, and check our point-dependent curvature bound
(:func:`valleylib.linear.saddle_curvature_bound`). Then run batched gradient descent from many
random initialisations of random scale on a target with well separated singular values, and
record escape times from the saddle at the origin for the shallow network and for a deep
(3-layer) linear network, whose origin is a non-strict saddle. Finally, build paths between two
global minima for :math:`d_1 > \\min(d_0, d_2)` (:func:`valleylib.linear.global_minimum_path`) and
check both the loss along them and their continuity on refined grids
(:func:`valleylib.linear.path_continuity`), and show that the continuity check rejects the same
formula at :math:`d_1 = d_2` between end points whose :math:`\\det W_2` have opposite signs.

Result keys: ``critical_points`` (``count``, ``global``, ``strict_saddles``,
``non_strict_saddles``, ``saddle_min_eig_min`` = the smallest over saddles of the most negative
Hessian eigenvalue, ``saddle_min_eig_max`` = the weakest such curvature, ...), ``gd`` (``runs``,
``success_fraction`` = fraction with :math:`(f - f^\\star)/f^\\star \\le 10^{-6}`, ...), ``orbit``,
``escape``, ``deep``, ``paths`` (one entry per path: ``loss_gap``, ``continuity``) and
``naive_path`` (the refused case :math:`d_1 = d_2`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..linear import (
    classify,
    classify_shallow,
    critical_points,
    deep_linear_hessian,
    deep_linear_loss_grad,
    flip_hidden_unit,
    global_minimum_path,
    global_minimum_value,
    path_continuity,
    path_formula,
    random_global_minimum,
    saddle_curvature_bound,
    shallow_loss,
    shallow_train_loss_grad,
    unpack,
    whiten,
)
from ..scorecard import check_close, check_true
from ..training import train
from . import Experiment

GD_REL_TOL = 1e-6


@dataclass(frozen=True)
class Config:
    """Sizes of one budget: enumeration shapes and seeds, the gradient-descent instance, orbit, escape and deep-network settings."""

    shapes: tuple  # (d0, d1, d2, N) instances for the enumeration
    seeds: int  # random instances per shape
    gd_shape: tuple = (5, 3, 4, 40)  # (d0, d1, d2, N) for gradient descent
    gd_singular_values: tuple = (3.0, 1.5, 0.75, 0.3)  # whitened target, min(d0, d2) values
    gd_noise: float = 1.0  # norm of the part of Y orthogonal to the rows of X
    gd_runs: int = 64
    gd_scale_range: tuple = (1e-5, 1e-1)  # log-uniform initial scales
    lr: float = 0.1
    max_iter: int = 20_000
    orbit_c: tuple = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    escape_scales: tuple = (1e-3, 1e-2, 1e-1)
    escape_repeats: int = 2
    escape_max_iter: int = 20_000
    deep_hidden: int = 4
    path_shapes: tuple = ((3, 4, 2, 12), (2, 3, 4, 10))  # (d0, d1, d2, N) with d1 > min(d0, d2)
    path_points: int = 129  # coarsest grid of the continuity check; refined twice
    naive_shape: tuple = (4, 2, 2, 12)  # d1 = d2: the refused case
    seed: int = 0


CONFIGS = {
    "smoke": Config(shapes=((4, 2, 3, 10), (3, 4, 2, 8), (2, 1, 3, 6)), seeds=1, gd_runs=32, max_iter=5_000,
                    orbit_c=(0.1, 1.0, 10.0, 100.0), escape_scales=(1e-3, 1e-2, 1e-1), escape_repeats=2, escape_max_iter=4_000),
    "default": Config(shapes=((4, 2, 3, 10), (3, 4, 2, 8), (2, 1, 3, 6), (5, 3, 3, 12), (6, 2, 5, 20), (3, 5, 4, 9)), seeds=3,
                      gd_runs=256, orbit_c=(0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0),
                      escape_scales=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1), escape_repeats=4, escape_max_iter=30_000,
                      path_shapes=((3, 4, 2, 12), (2, 3, 4, 10), (4, 3, 2, 12), (5, 4, 3, 12), (3, 5, 4, 12)),
                      path_points=257),
    "full": Config(shapes=((4, 2, 3, 10), (3, 4, 2, 8), (2, 1, 3, 6), (5, 3, 3, 12), (6, 2, 5, 20), (3, 5, 4, 9), (7, 3, 6, 30), (6, 4, 6, 25)),
                   seeds=10, gd_runs=4096, orbit_c=tuple(10 ** (k / 4) for k in range(-4, 9)),
                   escape_scales=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1), escape_repeats=16, escape_max_iter=60_000,
                   path_shapes=((3, 4, 2, 12), (2, 3, 4, 10), (4, 3, 2, 12), (5, 4, 3, 12), (3, 5, 4, 12), (6, 4, 3, 20),
                                (3, 4, 6, 20)),
                   path_points=513),
}


def random_instance(d0: int, d2: int, N: int, generator: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian ``X (d0, N)`` and ``Y (d2, N)`` scaled by :math:`1/\\sqrt N`, float64, on ``device``."""
    X = torch.randn(d0, N, dtype=torch.float64, generator=generator) / math.sqrt(N)
    Y = torch.randn(d2, N, dtype=torch.float64, generator=generator) / math.sqrt(N)
    return X.to(device), Y.to(device)


def designed_instance(d0: int, d2: int, N: int, singular_values, noise: float, generator: torch.Generator, device):
    """``X, Y`` whose whitened target :math:`\\bar Y` has the given singular values, plus a residual of
    norm ``noise`` orthogonal to the rows of ``X`` (so :math:`c_0 = \\tfrac12` ``noise**2``)."""
    m = min(d0, d2)
    if len(singular_values) != m:
        raise ValueError(f"singular_values: expected min(d0, d2)={m} values, got {len(singular_values)}")
    X = torch.randn(d0, N, dtype=torch.float64, generator=generator) / math.sqrt(N)
    Uq, _ = torch.linalg.qr(torch.randn(d2, m, dtype=torch.float64, generator=generator))
    Vq, _ = torch.linalg.qr(torch.randn(d0, m, dtype=torch.float64, generator=generator))
    Ybar = Uq @ torch.diag(torch.tensor(singular_values, dtype=torch.float64)) @ Vq.T
    evals, evecs = torch.linalg.eigh(X @ X.T)
    T = Ybar @ (evecs * evals.rsqrt()) @ evecs.T  # Y = T X has Ybar = T S^{1/2}
    E = torch.randn(d2, N, dtype=torch.float64, generator=generator)
    Q, _ = torch.linalg.qr(X.T)  # (N, d0) orthonormal basis of the row space of X
    E = E - (E @ Q) @ Q.T
    E = E * (noise / E.norm()) if noise > 0 else torch.zeros_like(E)
    return X.to(device), (T @ X + E).to(device)


def escape_iterations(history: torch.Tensor, f0: torch.Tensor, fstar: float, fraction: float = 0.1) -> torch.Tensor:
    """First recorded iteration at which the loss is below :math:`f_0 - \\text{fraction}\\,(f_0 - f^\\star)`
    (``-1`` when never), from a ``(records, runs)`` history recorded every iteration."""
    below = history <= (f0 - fraction * (f0 - fstar)).unsqueeze(0)
    first = torch.argmax(below.to(torch.int64), dim=0)
    return torch.where(below.any(0), first, torch.full_like(first, -1))


def path_record(X, Y, start, end, path, points: int) -> dict:
    """Loss and continuity of ``path`` (``ts -> (W1 (T, d1, d0), W2 (T, d2, d1))``) between two
    global minima: ``loss_gap`` = :math:`\\max_t (f - f^\\star)/\\max(1, f^\\star)` on the finest grid."""
    d1 = start[0].shape[0]
    fstar = global_minimum_value(X, Y, d1)
    cont = path_continuity(path, points=points, refinements=2, dtype=X.dtype, device=X.device)
    W1, W2 = path(torch.linspace(0, 1, cont.points[-1], dtype=X.dtype, device=X.device))
    gap = float(shallow_loss(W1, W2, X, Y).max()) - fstar
    return {"shape": [X.shape[0], d1, Y.shape[0], X.shape[1]], "global_value": fstar,
            "loss_gap": gap / max(1.0, abs(fstar)), "continuity": cont.as_dict()}


def naive_path(X, Y, start, end, V) -> callable:
    """The formula of :func:`valleylib.linear.global_minimum_path` applied at :math:`d_1 = d_2`, where
    the library refuses it: ``ts -> (W1, W2)``."""
    w = whiten(X, Y)
    P = w.C @ torch.linalg.inv(w.S)

    def path(ts):
        W2, W1 = path_formula(start[1], end[1], start[0], end[0], P, ts.reshape(-1, 1, 1), V)
        return W1, W2

    return path


def run(config: Config, *, device, out_dir=None, progress=None) -> dict:
    """All parts (critical points, gradient descent, orbit, escapes, deep network, paths); keys in the module docstring."""
    gen = torch.Generator().manual_seed(config.seed)
    dt = torch.float64

    # 1. Enumerate one critical point per index set of random instances, and classify each.
    counts = {"global minimum": 0, "strict saddle": 0, "non-strict saddle": 0, "not critical": 0}
    total = n_global_closed = 0
    saddle_eigs, bound_gap, bounds, max_grad, value_err = [], [], [], 0.0, 0.0
    instances = []
    for d0, d1, d2, N in config.shapes:
        for _ in range(config.seeds):
            X, Y = random_instance(d0, d2, N, gen, device)
            K = torch.randn(d1, d1, dtype=dt, generator=gen).to(device) + 2 * torch.eye(d1, dtype=dt, device=device)
            cp = critical_points(X, Y, d1, K=K)
            cl = classify_shallow(cp.W1, cp.W2, X, Y)
            bd = saddle_curvature_bound(cp.W1, cp.W2, X, Y)
            c = cl.counts()
            for k in counts:
                counts[k] += c[k]
            total += cp.count
            n_global_closed += int(cp.is_global.sum())
            sad = ~cp.is_global
            saddle_eigs += cl.min_eig[sad].tolist()
            bounds += bd[sad].tolist()
            bound_gap += (cl.min_eig[sad] - bd[sad]).tolist()
            max_grad = max(max_grad, float(cl.grad_norm.max()))
            value_err = max(value_err, float((cl.loss - cp.risk).abs().max()))
            instances.append({"shape": [d0, d1, d2, N], "count": cp.count, "global": int(cp.is_global.sum()),
                              "strict_saddles": c["strict saddle"], "global_value": cp.global_value})

    # 2. The symmetry orbit (W1, W2) -> (W1 / c, c W2) of one saddle of a designed instance.
    d0, d1, d2, N = config.gd_shape
    X, Y = designed_instance(d0, d2, N, config.gd_singular_values, config.gd_noise, gen, device)
    cp = critical_points(X, Y, d1)
    # the saddle that keeps the top d1 - 1 directions and the last one instead of direction d1
    saddle_set = tuple(range(d1 - 1)) + (len(config.gd_singular_values) - 1,)
    n = cp.index_sets.index(saddle_set)
    cs = torch.tensor(config.orbit_c, dtype=dt, device=device)
    W1o, W2o = cp.W1[n] / cs.view(-1, 1, 1), cp.W2[n] * cs.view(-1, 1, 1)
    clo = classify_shallow(W1o, W2o, X, Y)
    bdo = saddle_curvature_bound(W1o, W2o, X, Y)
    big = cs >= 10
    slope = float(torch.linalg.lstsq(torch.stack([cs[big].log(), torch.ones_like(cs[big])], 1),
                                     (-clo.min_eig[big]).log().unsqueeze(1)).solution[0, 0]) if int(big.sum()) >= 2 else float("nan")

    # 3. Gradient descent from many random initialisations of random scale (one batch).
    fstar = global_minimum_value(X, Y, d1)
    lo, hi = (math.log10(s) for s in config.gd_scale_range)
    scales = 10 ** (lo + (hi - lo) * torch.rand(config.gd_runs, dtype=dt, generator=gen))
    P = d1 * d0 + d2 * d1
    theta0 = (torch.randn(config.gd_runs, P, dtype=dt, generator=gen) * scales.unsqueeze(1)).to(device)
    res = train(theta0, loss_grad=shallow_train_loss_grad(X, Y, d1), lr=config.lr, tol=1e-11, max_iter=config.max_iter,
                record_every=1, progress=progress, desc="linear GD")
    W1g, W2g = unpack(res.params, d0, d1, d2)
    final = shallow_loss(W1g, W2g, X, Y)
    gap = (final - fstar) / fstar
    success = gap <= GD_REL_TOL
    f0 = shallow_loss(*unpack(theta0, d0, d1, d2), X, Y)
    esc = escape_iterations(res.history, f0, fstar)
    keep = torch.linspace(0, config.gd_runs - 1, min(12, config.gd_runs)).round().long()
    hist = res.history[:, keep.to(res.history.device)]
    step = max(1, hist.shape[0] // 400)
    w = whiten(X, Y)
    plateaus = [w.c0 + 0.5 * float((w.s[j:] ** 2).sum()) for j in range(w.s.numel() + 1)]

    # 4. Escape time from the origin against the initial scale: shallow (strict) vs deep (non-strict).
    reps, sc = config.escape_repeats, torch.tensor(config.escape_scales, dtype=dt)
    run_scales = sc.repeat_interleave(reps)
    runs = run_scales.numel()
    th_sh = (torch.randn(runs, P, dtype=dt, generator=gen) * run_scales.unsqueeze(1)).to(device)
    r_sh = train(th_sh, loss_grad=shallow_train_loss_grad(X, Y, d1), lr=config.lr, tol=1e-8,
                 max_iter=config.escape_max_iter, record_every=1, progress=progress, desc="escape (shallow)")
    esc_sh = escape_iterations(r_sh.history, shallow_loss(*unpack(th_sh, d0, d1, d2), X, Y), fstar)
    h = config.deep_hidden
    shapes = [(h, d0), (h, h), (d2, h)]
    sizes = [a * b for a, b in shapes]
    th_dp = (torch.randn(runs, sum(sizes), dtype=dt, generator=gen) * run_scales.unsqueeze(1)).to(device)

    def deep_lg(th):
        ws = [p.reshape(-1, *s) for p, s in zip(th.split(sizes, dim=1), shapes)]
        loss, grads = deep_linear_loss_grad(ws, X, Y)
        return loss, torch.cat([g.flatten(1) for g in grads], 1)

    r_dp = train(th_dp, loss_grad=deep_lg, lr=config.lr, tol=1e-8, max_iter=config.escape_max_iter,
                 record_every=1, progress=progress, desc="escape (deep)")
    fstar_deep = global_minimum_value(X, Y, min(h, d0, d2))
    f0_dp = deep_lg(th_dp)[0]
    esc_dp = escape_iterations(r_dp.history, f0_dp, fstar_deep)

    # 5. The deep network at the origin: zero gradient, zero Hessian, yet not a minimum.
    zeros = [torch.zeros(1, *s, dtype=dt, device=device) for s in shapes]
    H0 = deep_linear_hessian(zeros, X, Y)
    g0 = torch.cat([g.flatten(1) for g in deep_linear_loss_grad(zeros, X, Y)[1]], 1)
    # cubic descent direction: all layers along the top singular pair of Ybar
    u, v = w.U[:, 0], w.Vh[0, :] @ w.S_inv_half
    e = torch.zeros(h, dtype=dt, device=device)
    e[0] = 1.0
    ts = torch.tensor([1e-3, 1e-2, 1e-1], dtype=dt, device=device)
    dirs = [torch.outer(e, v), torch.outer(e, e), torch.outer(u, e)]
    along = deep_linear_loss_grad([torch.stack([t * D for t in ts]) for D in dirs], X, Y)[0]
    f0_deep = 0.5 * w.yy
    deep_cl = classify(H0, deep_lg(torch.zeros(1, sum(sizes), dtype=dt, device=device))[0], g0.norm(dim=1), fstar_deep)

    # 6. Paths between two global minima (d1 > min(d0, d2)): loss and continuity on refined grids.
    paths = []
    for n_path, (pd0, pd1, pd2, pN) in enumerate(config.path_shapes):
        Xp, Yp = random_instance(pd0, pd2, pN, gen, device)
        a = random_global_minimum(Xp, Yp, pd1, generator=gen)
        b = flip_hidden_unit(*random_global_minimum(Xp, Yp, pd1, generator=gen))
        seed = config.seed * 1000 + n_path

        def path(ts, Xp=Xp, Yp=Yp, a=a, b=b, seed=seed):
            return global_minimum_path(Xp, Yp, a, b, ts, generator=torch.Generator().manual_seed(seed))

        paths.append(path_record(Xp, Yp, a, b, path, config.path_points))
    # the refused case d1 = d2: end points with det W2 of opposite signs, the same formula
    nd0, nd1, nd2, nN = config.naive_shape
    if nd1 != nd2:
        raise ValueError(f"naive_shape: expected d1 = d2, got {config.naive_shape}")
    Xn, Yn = random_instance(nd0, nd2, nN, gen, device)
    a = random_global_minimum(Xn, Yn, nd1, generator=gen)
    b = random_global_minimum(Xn, Yn, nd1, generator=gen)
    if float(torch.linalg.det(a[1])) * float(torch.linalg.det(b[1])) > 0:
        b = flip_hidden_unit(*b)
    Vn = torch.randn(nd2, nd1, dtype=dt, generator=gen).to(device)
    naive = path_record(Xn, Yn, a, b, naive_path(Xn, Yn, a, b, Vn), config.path_points)
    tsn = torch.linspace(0, 1, naive["continuity"]["points"][-1], dtype=dt, device=device)
    detn = torch.linalg.det(naive_path(Xn, Yn, a, b, Vn)(tsn)[1])
    naive.update({"det_start": float(detn[0]), "det_end": float(detn[-1]),
                  "det_sign_changes": int((detn[1:] * detn[:-1] < 0).sum())})

    return {
        "critical_points": {
            "count": total,
            "global": counts["global minimum"],
            "global_closed_form": n_global_closed,
            "strict_saddles": counts["strict saddle"],
            "non_strict_saddles": counts["non-strict saddle"],
            "not_critical": counts["not critical"],
            "saddle_min_eig_min": min(saddle_eigs) if saddle_eigs else float("nan"),
            "saddle_min_eig_max": max(saddle_eigs) if saddle_eigs else float("nan"),
            "bound_max": max(bounds) if bounds else float("nan"),
            "bound_violations": sum(1 for g in bound_gap if g > 1e-9),
            "max_grad_norm": max_grad,
            "max_risk_error": value_err,
            "instances": instances,
        },
        "orbit": {
            "index_set": list(saddle_set),
            "c": cs.tolist(),
            "min_eig": clo.min_eig.tolist(),
            "bound": bdo.tolist(),
            "kind": clo.kind,
            "slope_large_c": slope,
        },
        "gd": {
            "shape": list(config.gd_shape),
            "runs": config.gd_runs,
            "global_value": fstar,
            "success_fraction": float(success.to(dt).mean()),
            "max_relative_gap": float(gap.max()),
            "converged_fraction": float(res.converged.to(dt).mean()),
            "iterations_median": float(res.iterations.to(dt).median()),
            "iterations_max": int(res.iterations.max()),
            "init_scale": scales.tolist(),
            "escape_iterations": esc.tolist(),
            "plateau_levels": plateaus,
            "history_step": step,
            "history": hist[::step].T.tolist(),
            "history_scales": scales[keep].tolist(),
        },
        "escape": {
            "scales": run_scales.tolist(),
            "shallow": esc_sh.tolist(),
            "deep": esc_dp.tolist(),
            "lr": config.lr,
            "deep_shapes": [list(s) for s in shapes],
        },
        "deep": {
            "hessian_abs_max": float(H0.abs().max()),
            "grad_norm": float(g0.norm()),
            "classification": deep_cl.kind[0],
            "t": ts.tolist(),
            "loss_along": along.tolist(),
            "loss_at_zero": f0_deep,
        },
        "paths": paths,
        "naive_path": naive,
    }


PATH_MAX_RATIO = 0.75  # largest neighbour step after halving the grid spacing, relative to before
PATH_MAX_NORM_RATIO = 10.0  # largest |theta(t)| relative to the end points
PATH_LOSS_TOL = 1e-10  # (f - f*) / max(1, f*) along a path of global minima


def scorecard(result: dict) -> list:
    """Every check compares a computed quantity with a closed form or a derivation that a wrong
    computation would contradict; ``tests/test_linear_scorecard.py`` feeds each a wrong result."""
    cp, gd, orb, dp = result["critical_points"], result["gd"], result["orbit"], result["deep"]
    saddles = cp["count"] - cp["global"]
    slope = orb["slope_large_c"]
    paths, naive = result["paths"], result["naive_path"]
    worst_ratio = max(max(p["continuity"]["ratios"]) for p in paths)
    worst_norm = max(p["continuity"]["norm_ratio"] for p in paths)
    worst_gap = max(p["loss_gap"] for p in paths)
    nc = naive["continuity"]
    naive_flagged = not (max(nc["ratios"]) <= PATH_MAX_RATIO and nc["norm_ratio"] <= PATH_MAX_NORM_RATIO)
    return [
        check_true("every enumerated point is critical (gradient norm < 1e-8)", "this book", cp["max_grad_norm"],
                   cp["not_critical"] == 0 and cp["max_grad_norm"] < 1e-8),
        check_true("loss at every enumerated point = its closed-form risk (|error| < 1e-10), and the points the Hessian "
                   "test labels global are exactly the Eckart-Young index sets", "this book",
                   f"{cp['global']} of {cp['global_closed_form']}, risk error {cp['max_risk_error']:.1e}",
                   cp["global"] == cp["global_closed_form"] and cp["max_risk_error"] < 1e-10),
        check_true("every enumerated non-global critical point is a strict saddle (lambda_min < 0): no spurious "
                   "local minimum among them", "Zhu et al. (abstract)",
                   f"{cp['strict_saddles']} of {saddles}", saddles > 0 and cp["non_strict_saddles"] == 0
                   and cp["strict_saddles"] == saddles and cp["saddle_min_eig_max"] < 0, published=f"{saddles} of {saddles}"),
        check_true("point-dependent bound holds at every saddle and is negative", "this book (ours)",
                   cp["bound_violations"], cp["bound_violations"] == 0 and cp["bound_max"] < 0),
        check_close("lambda_min along the orbit W2 -> c W2, W1 -> W1/c decays like c^-2 (log-log slope, c >= 10)",
                    "this book (our derivation)", -2.0, slope if slope == slope else float("nan"), 0.1),
        check_close("GD success fraction (relative gap <= 1e-6)", "this book (what Zhu et al.'s theorem leads one to expect)",
                    1.0, gd["success_fraction"], 0.0),
        check_true("deep linear (3 layers): Hessian at 0 vanishes, yet 0 is not a minimum", "this book",
                   dp["hessian_abs_max"], dp["hessian_abs_max"] == 0.0 and dp["classification"] == "non-strict saddle"
                   and dp["loss_along"][-1] < dp["loss_at_zero"]),
        check_true(f"path between two global minima (d1 > min(d0, d2)) stays at f*: (f - f*)/max(1, f*) <= "
                   f"{PATH_LOSS_TOL:g} on the finest grid, {len(paths)} shapes", "this book (ours)",
                   worst_gap, worst_gap <= PATH_LOSS_TOL),
        check_true(f"the path is continuous: largest neighbour step <= {PATH_MAX_RATIO}x after each halving of the grid, "
                   f"|theta(t)| <= {PATH_MAX_NORM_RATIO:g} x the end points", "this book (ours; Freeman & Bruna, Prop. 2.2)",
                   f"step ratio {worst_ratio:.3f}, norm ratio {worst_norm:.3g}",
                   worst_ratio <= PATH_MAX_RATIO and worst_norm <= PATH_MAX_NORM_RATIO),
        check_true("the continuity check rejects the same formula at d1 = d2 between end points with det W2 of "
                   "opposite signs", "this book",
                   f"step ratios {[round(r, 2) for r in nc['ratios']]}, norm ratio {nc['norm_ratio']:.3g}, "
                   f"loss gap {naive['loss_gap']:.1e}",
                   naive["det_start"] * naive["det_end"] < 0 and naive_flagged),
    ]


def figures(result: dict) -> dict:
    """``loss_curves`` (:math:`f - f^\\star` against iterations), ``orbit`` (curvature and our bound against ``c``) and ``escape``."""
    import matplotlib.pyplot as plt

    gd, orb, esc = result["gd"], result["orbit"], result["escape"]
    figs = {}
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    step = gd["history_step"]
    for h, s in zip(gd["history"], gd["history_scales"]):
        ax.plot([i * step for i in range(len(h))], [max(x - gd["global_value"], 1e-16) for x in h], lw=1, label=f"scale {s:.0e}")
    for p in gd["plateau_levels"]:
        if p - gd["global_value"] > 1e-12:
            ax.axhline(p - gd["global_value"], color="gray", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$f - f^\star$")
    ax.legend(fontsize=6, ncol=2)
    figs["loss_curves"] = fig
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.loglog(orb["c"], [-x for x in orb["min_eig"]], "o-", label=r"$-\lambda_{\min}$")
    ax.loglog(orb["c"], [-x for x in orb["bound"]], "s--", label="$-$bound (ours)")
    ax.set_xlabel("c")
    ax.legend()
    figs["orbit"] = fig
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.loglog(esc["scales"], [max(x, 1) for x in esc["shallow"]], "o", label="shallow (strict saddle at 0)")
    ax.loglog(esc["scales"], [max(x, 1) for x in esc["deep"]], "s", label="deep, 3 layers (non-strict)")
    ax.set_xlabel("initial scale")
    ax.set_ylabel("escape iterations")
    ax.legend()
    figs["escape"] = fig
    return figs


EXPERIMENT = Experiment(
    name="linear",
    title="Shallow linear networks: one critical point per index set, strict saddles, GD, continuous paths of minima",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
)
