"""Slow, obvious numpy references shared by the tests and the benchmarks (one run at a time)."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from valleylib.safran_shamir import TOL


def numpy_gradient(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The closed-form gradient of papers.md §1.1, neuron by neuron (rows of ``W`` are neurons)."""
    G = np.zeros_like(W)
    for i, w in enumerate(W):
        nw = np.linalg.norm(w)
        for other, sign in [(W, 1.0), (V, -1.0)]:
            for j, u in enumerate(other):
                if sign > 0 and j == i:
                    G[i] += w / 2
                    continue
                nu = np.linalg.norm(u)
                th = math.acos(np.clip(w @ u / (nw * nu), -1, 1))
                G[i] += sign * (nu * math.sin(th) * w / nw + (math.pi - th) * u) / (2 * math.pi)
    return G


def numpy_protocol(W0: np.ndarray, V: np.ndarray, lr: float = 0.1, tol: float = TOL,
                   max_iter: int = 100_000,
                   gradient: Callable[[np.ndarray, np.ndarray], np.ndarray] = numpy_gradient):
    """One run: GD until the largest per-neuron gradient norm is <= tol, restarting from ``W0``
    with the step halved when that norm exceeds 1e4 or is not finite.

    Returns ``(W, steps, converged)``."""
    W, step, it = W0.copy(), lr, 0
    while it < max_iter:
        G = gradient(W, V)
        gn = np.linalg.norm(G, axis=1).max()
        if not np.isfinite(gn) or gn > 1e4:
            W, step = W0.copy(), step / 2
            continue
        if gn <= tol:
            return W, it, True
        W = W - step * G
        it += 1
    return W, it, False


# -- Monte Carlo references for the closed-form (population) risks ------------------------------
def sample_least_squares(features, y):
    """Least squares on samples, one run at a time: ``min_a 1/2 mean((Phi a - y)^2)``.

    ``features`` ``(runs, N, p)``, ``y`` ``(N,)``; returns ``(coef (runs, p), risk (runs,))``.
    """
    import torch

    coefs, risks = [], []
    for Phi in features:
        coef = torch.linalg.lstsq(Phi, y.unsqueeze(-1), driver="gelsd").solution.squeeze(-1)
        resid = Phi @ coef - y
        coefs.append(coef)
        risks.append(0.5 * (resid * resid).mean())
    return torch.stack(coefs), torch.stack(risks)


def sampled_risk(W, a, sampler: Callable, samples: int, *, seed: int = 0, activation="quadratic",
                 loss="square"):
    """A two-layer network's risk on a fresh sample ``x, y = sampler(samples, generator)``: the
    Monte Carlo estimate that a closed-form population risk must agree with."""
    import torch

    from valleylib.empirical import empirical_risk

    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    x, y = sampler(samples, gen)
    return empirical_risk(W, a, torch.as_tensor(x).to(W), torch.as_tensor(y).to(W), activation=activation, loss=loss)


# -- Dynamic String Sampling, depth first (Freeman & Bruna's Algorithm 1 as written) -----------
def dss_depth_first(loss, a, b, *, threshold, alpha=0.95, multiplier=1.1, max_depth=10, resolution=100,
                    insert="midpoint", check_line_first=False, lr=1e-3, max_iter=20_000):
    """The recursion of Algorithm 1, one bead trained at a time: ``(nodes, connected, grad_evals)``.

    The library runs DSS breadth first (``valleylib.paths.dss_many``); this is the order of the
    paper, for the test that both give the same beads.
    """
    import torch

    from valleylib.paths import insert_position, interpolated_losses, train_to_level

    accept = multiplier * threshold
    grad = [0]

    def profile(left, right):
        return interpolated_losses(loss, left[None], right[None], resolution)[0]

    def connect(left, right, prof, level, force):
        if not force and float(prof.max()) < accept:
            return [], True
        if level >= max_depth:
            return [], False
        t = insert_position(prof, insert)
        bead, _, ev, _ = train_to_level(loss, (left + t * (right - left))[None], alpha * threshold, lr=lr,
                                        max_iter=max_iter, progress=False)
        grad[0] += int(ev.sum())
        bead = bead[0]
        beads_l, ok_l = connect(left, bead, profile(left, bead), level + 1, False)
        beads_r, ok_r = connect(bead, right, profile(bead, right), level + 1, False)
        return beads_l + [bead] + beads_r, ok_l and ok_r

    inner, ok = connect(a, b, profile(a, b), 0, not check_line_first)
    return torch.stack([a] + inner + [b]), ok, grad[0]
