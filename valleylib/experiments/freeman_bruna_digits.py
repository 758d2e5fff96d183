"""A real-data panel for Freeman & Bruna's Figure 1: sklearn's 8x8 digits, a stand-in for MNIST.

Figure 1 of the paper also shows MNIST, CIFAR-10 and PTB. No downloads are allowed here, so we use
the one real labelled image set that ships inside a package, :func:`sklearn.datasets.load_digits`
(1797 images of 8x8 pixels, 10 classes). It is a *stand-in*: smaller images, a much smaller network
than the authors' convolutional one, and our own choices below. Nothing here is a published number.

Model: one hidden ReLU layer with biases,
:math:`f_\\theta(x) = W_2\\,\\mathrm{relu}(W_1 x + b_1) + b_2` (``64 -> hidden -> 10``), pixels
scaled to :math:`[0, 1]`, weights :math:`U(-1/\\sqrt{\\text{fan-in}}, 1/\\sqrt{\\text{fan-in}})`.
Data split once (seeded) into a training and a test part.

Protocol (as the authors' MNIST script, papers.md §3.4-3.5, where it applies): the threshold is on
the *test error* (fraction misclassified). Through :func:`valleylib.heldout.held_out_loss` the loss
DSS sees has the value of the test error and the gradient of the training cross-entropy
:math:`-\\frac1N\\sum_i \\log \\mathrm{softmax}(f_\\theta(x_i))_{y_i}`: end points and beads are
trained by Adam on the cross-entropy and stop when the test error is below their level, and the
segment tests interpolate the test error. DSS as in that script: beads to :math:`\\alpha L_0`
with :math:`\\alpha = 0.98`, acceptance :math:`\\max_t < 1.02\\,L_0` on 21 points, new bead at the
argmax. We report, per level :math:`L_0`, the normalized geodesic length
:math:`|\\gamma| / \\|\\theta_A - \\theta_B\\|` and the number of beads (end points included).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..heldout import held_out_loss
from ..paths import dss_many, train_through_levels
from ..paths.levels import pair_end_points
from ..scorecard import Check, check_true, undecided
from ..storage import Parts
from . import Experiment
from .freeman_bruna import MIN_PAIRS_FOR_TREND

__all__ = ["Config", "CONFIGS", "DIGITISED_MNIST", "digits_losses", "run", "scorecard", "figures",
           "EXPERIMENT"]

SOURCE = "Freeman & Bruna 2017, §3.5 / Fig. 1 (MNIST panel; digits as our stand-in)"
#: Our bar for the paper's "very low normalized length even near state of the art" on MNIST
#: (digitised: at most 1.07).
LOW_LENGTH = 1.1
#: The MNIST panel of Figure 1, digitised (papers.md §3.5, DERIVED), x = % test error.
DIGITISED_MNIST = {
    "length": {0.69: 1.07, 0.74: 1.05, 0.99: 1.02, 1.49: 1.01, 3.99: 1.00},
    "beads": {0.69: 7.1, 0.74: 6.6, 0.99: 5.5, 1.49: 5.1, 1.99: 4.8, 3.99: 4.1},
}


@dataclass(frozen=True)
class Config:
    """Sizes of one budget."""

    seed: int = 0
    hidden: int = 32
    samples: int = 1797  # images used (all of them: 1797)
    test_fraction: float = 0.25
    pairs: int = 20
    levels: tuple = (0.15, 0.1, 0.07, 0.05, 0.04)  # test error
    alpha: float = 0.98
    multiplier: float = 1.02
    max_depth: int = 10
    resolution: int = 20
    lr: float = 1e-2
    endpoint_iter: int = 10_000
    bead_iter: int = 5000


CONFIGS = {
    "smoke": Config(pairs=2, levels=(0.15, 0.1), endpoint_iter=2000, bead_iter=1000),
    "default": Config(pairs=10, levels=(0.15, 0.1, 0.07, 0.05), endpoint_iter=5000, bead_iter=3000),
    "full": Config(),
}


def _load_digits(samples: int, test_fraction: float, seed: int, dtype, device):
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("freeman-bruna-digits needs scikit-learn (pip install scikit-learn)") \
            from e
    d = load_digits()
    x = torch.as_tensor(d.data, dtype=dtype) / 16.0
    y = torch.as_tensor(d.target, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=g)[: min(samples, x.shape[0])]
    n_test = max(1, int(round(test_fraction * perm.numel())))
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr].to(device), y[tr].to(device), x[te].to(device), y[te].to(device)


def digits_losses(x_train, y_train, x_test, y_test, hidden: int):
    """The batched losses ``theta (R, P) -> (R,)`` of the ``64 -> hidden -> 10`` ReLU net.

    Returns ``(train_ce, test_ce, test_error, P)``: training and test cross-entropy, and the test
    error (fraction of test images whose largest logit is not the label; piecewise constant).
    Layout of ``theta``: ``W1 (64*hidden), b1 (hidden), W2 (hidden*10), b2 (10)``.
    """
    d_in, k = x_train.shape[1], 10
    sizes = (d_in * hidden, hidden, hidden * k, k)
    P = sum(sizes)

    def logits(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if theta.ndim != 2 or theta.shape[1] != P:
            raise ValueError(f"theta: expected shape (runs, {P}), got {tuple(theta.shape)}")
        R = theta.shape[0]
        w1, b1, w2, b2 = torch.split(theta, sizes, dim=1)
        h = torch.relu(torch.matmul(x, w1.view(R, d_in, hidden)) + b1.unsqueeze(1))
        return torch.matmul(h, w2.view(R, hidden, k)) + b2.unsqueeze(1)  # (R, N, 10)

    def ce(x, y):
        def fn(theta):
            lp = torch.log_softmax(logits(theta, x), dim=-1)
            return -lp.gather(-1, y.view(1, -1, 1).expand(lp.shape[0], -1, 1)).squeeze(-1).mean(1)
        return fn

    def test_error(theta):
        with torch.no_grad():
            out = logits(theta, x_test)
            return (out.argmax(-1) != y_test.view(1, -1)).to(theta.dtype).mean(1)

    return ce(x_train, y_train), ce(x_test, y_test), test_error, P


def _init(runs: int, hidden: int, gen: torch.Generator, dtype, device) -> torch.Tensor:
    parts = []
    for fan_in, n in ((64, 64 * hidden), (64, hidden), (hidden, hidden * 10), (hidden, 10)):
        s = 1.0 / math.sqrt(fan_in)
        parts.append((2 * torch.rand(runs, n, generator=gen, dtype=dtype) - 1) * s)
    return torch.cat(parts, 1).to(device)


def run(config: Config, *, device, out_dir=None, progress=None) -> dict:
    """Train ``2 * pairs`` end points through the levels, connect pairs by DSS at each level.

    Returns ``{"rows": [{"L0", "pairs", "connected_fraction", "beads", "connected",
    "normalized_lengths", "mean_beads", "mean_normalized_length"}, ...], ...}`` (levels as given).
    """
    cfg = config
    dev = torch.device(device)
    dtype = torch.float64
    t0 = time.perf_counter()
    xtr, ytr, xte, yte = _load_digits(cfg.samples, cfg.test_fraction, cfg.seed, dtype, dev)
    train_ce, test_ce, test_err, P = digits_losses(xtr, ytr, xte, yte, cfg.hidden)
    loss = held_out_loss(train_ce, test_err)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    th0 = _init(2 * cfg.pairs, cfg.hidden, gen, dtype, dev)
    # with out_dir, the end points and then the strings are kept in out_dir/freeman-bruna-digits-parts/
    parts = Parts(Path(out_dir) / "freeman-bruna-digits-parts" if out_dir is not None else None, generator=gen)
    key = {"config": asdict(cfg), "device": dev.type}

    def end_points() -> dict:
        T, _, _, ok = train_through_levels(loss, th0, cfg.levels, lr=cfg.lr, max_iter=cfg.endpoint_iter,
                                           progress=progress, desc="digits: end points")
        A, B, reached = pair_end_points(T, ok)
        return {"A": A.tolist(), "B": B.tolist(), "reached": reached,
                "endpoints_reached": [int(x) for x in ok.sum(1).tolist()]}

    ends_part = parts.get("end-points", key, end_points)
    reached = ends_part["reached"]
    A = torch.tensor(ends_part["A"], dtype=dtype, device=dev).reshape(-1, P)
    B = torch.tensor(ends_part["B"], dtype=dtype, device=dev).reshape(-1, P)
    strings = parts.get("strings", key, lambda: _digits_rows(loss, A, B, reached, cfg, dtype, dev, progress))
    rows = strings["rows"]
    with torch.no_grad():
        ends = torch.cat([A, B]) if A.shape[0] else th0
        tr_ce = float(train_ce(ends).mean())
        te_ce = float(test_ce(ends).mean())
    return {"rows": rows, "hidden": cfg.hidden, "params": P, "train_points": int(xtr.shape[0]),
            "test_points": int(xte.shape[0]),
            "endpoints_reached": ends_part["endpoints_reached"],
            "endpoint_train_ce_mean": tr_ce, "endpoint_test_ce_mean": te_ce,
            "multiplier": cfg.multiplier,
            "alpha": cfg.alpha, "seconds": time.perf_counter() - t0}


def _digits_rows(loss, A, B, reached, cfg: Config, dtype, dev, progress) -> dict:
    """The strings between the pairs of end points, level by level: ``{"rows": [...]}``."""
    res = []
    if A.shape[0]:
        thr = torch.cat([torch.full((n,), float(l0), dtype=dtype, device=dev)
                         for n, l0 in zip(reached, cfg.levels)])
        res = dss_many(loss, A, B, threshold=thr, alpha=cfg.alpha, multiplier=cfg.multiplier,
                       max_depth=cfg.max_depth, resolution=cfg.resolution, insert="argmax",
                       lr=cfg.lr, max_iter=cfg.bead_iter, progress=progress)
    rows, start = [], 0
    for n, l0 in zip(reached, cfg.levels):
        chunk = res[start: start + n]
        start += n
        conn = [r for r in chunk if r.connected]
        nan = float("nan")
        rows.append({
            "L0": float(l0), "pairs": n, "connected_fraction": (len(conn) / n) if n else nan,
            "beads": [int(r.num_beads) for r in chunk],
            "connected": [bool(r.connected) for r in chunk],
            "normalized_lengths": [float(r.normalized_length) for r in chunk],
            "mean_beads": (sum(r.num_beads for r in conn) / len(conn)) if conn else nan,
            "mean_normalized_length":
                (sum(r.normalized_length for r in conn) / len(conn)) if conn else nan,
        })
    return {"rows": rows}


#: Level of the one-sided permutation test that beads grow as L0 falls.
TREND_LEVEL = 0.01


def connected_beads(row: dict) -> list[int]:
    """The bead counts of the connected strings of one level row."""
    return [b for b, ok in zip(row["beads"], row["connected"]) if ok]


def beads_grow_p(high: list[int], low: list[int], *, samples: int = 20000) -> float:
    """One-sided permutation p-value that the bead counts ``low`` (at the lowest level) exceed
    ``high`` (at the highest level) on average.

    Under :math:`H_0` the two samples are exchangeable; the p-value is the fraction of relabellings
    whose mean difference :math:`\\bar b_{\\rm low} - \\bar b_{\\rm high}` is at least the
    observed one: exact enumeration when there are at most 200 000 relabellings, otherwise
    ``samples`` random ones (a fixed seed, counting the observed one).

    >>> beads_grow_p([3, 3, 3, 3, 3], [6, 6, 6, 6, 6]) == 1 / math.comb(10, 5)
    True
    >>> beads_grow_p([6, 6, 6], [3, 3, 3])
    1.0
    """
    import itertools
    import random

    if not high or not low:
        raise ValueError("high, low: expected at least one bead count each")
    pooled, n = list(high) + list(low), len(low)
    total = sum(pooled)

    def diff(low_sum: float) -> float:
        return low_sum / n - (total - low_sum) / (len(pooled) - n)

    observed = diff(sum(low)) - 1e-12
    if math.comb(len(pooled), n) <= 200_000:
        hits = count = 0
        for idx in itertools.combinations(range(len(pooled)), n):
            count += 1
            hits += diff(sum(pooled[i] for i in idx)) >= observed
        return hits / count
    rng = random.Random(0)
    hits = 1 + sum(diff(sum(rng.sample(pooled, n))) >= observed for _ in range(samples))
    return hits / (samples + 1)


def scorecard(result: dict) -> list[Check]:
    """Checks that can fail; the trend and the length are n/a with too few connected pairs."""
    checks: list[Check] = []
    rows = [r for r in result["rows"] if r["pairs"] > 0]
    if rows:
        top = max(rows, key=lambda r: r["L0"])
        top_claim = f"digits: every pair connects at the highest level (L0 = {top['L0']})"
        checks.append(check_true(top_claim,
                                 SOURCE,
                                 f"{top['connected_fraction']:.2f} of {top['pairs']}",
                                 top["connected_fraction"] == 1.0, published=1.0))
        n = sum(r["pairs"] for r in rows)
        frac = sum(r["connected_fraction"] * r["pairs"] for r in rows) / n
        checks.append(check_true("digits: every pair connects at every level",
                                 SOURCE + " ('everything connected')",
                                 f"{frac:.2f} of {n}", frac == 1.0, published=1.0))
    else:
        c = check_true("digits: every pair connects at the highest level", SOURCE, "no pairs",
                       False)
        checks.append(undecided(c, "no end points reached any level"))
    conn = sorted([r for r in rows if r["connected_fraction"] > 0], key=lambda r: -r["L0"])
    few = min((round(r["connected_fraction"] * r["pairs"]) for r in conn), default=0)
    if len(conn) >= 2:
        hi, lo = connected_beads(conn[0]), connected_beads(conn[-1])
        p = beads_grow_p(hi, lo)
        c = check_true(f"digits: more beads at the lowest level than at the highest (one-sided "
                       f"permutation test, level {TREND_LEVEL})", SOURCE,
                       f"{sum(hi) / len(hi):.2f} -> {sum(lo) / len(lo):.2f} (p = {p:.2g})",
                       p <= TREND_LEVEL, published="4.1 -> 7.1 (MNIST, digitised)")
    else:
        c = check_true("digits: more beads at the lowest level than at the highest", SOURCE,
                       "fewer than 2 levels", False)
    if len(conn) < 2 or few < MIN_PAIRS_FOR_TREND:
        c = undecided(c, f"{len(conn)} level(s), {few} connected pair(s) at the sparsest")
    checks.append(c)
    if conn:
        worst = max(r["mean_normalized_length"] for r in conn)
        c = check_true(f"digits: mean normalized length below {LOW_LENGTH} at every level "
                       "(our bar)",
                       SOURCE + " ('very low normalized length even near state of the art')",
                       f"{worst:.3f}", worst < LOW_LENGTH, published="<= 1.07 (MNIST, digitised)")
        checks.append(c if few >= MIN_PAIRS_FOR_TREND else
                      undecided(c, f"{few} connected pair(s) at the sparsest level"))
    return checks


def figures(result: dict) -> dict:
    """``panel``: normalized length and mean beads against the test error L0 (%), with the digitised
    MNIST panel in grey for orientation (a different model and data set)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    rows = [r for r in result["rows"] if r["pairs"] > 0 and r["connected_fraction"] > 0]
    for j, key in enumerate(("length", "beads")):
        dig = DIGITISED_MNIST[key]
        ax[j].plot(list(dig), list(dig.values()), "s--", color="0.6",
                   label="MNIST, Freeman & Bruna (digitised)")
        if rows:
            col = "mean_normalized_length" if key == "length" else "mean_beads"
            ax[j].plot([100 * r["L0"] for r in rows], [r[col] for r in rows], "o-", color="C0",
                       label="digits 8x8 (stand-in, ours)")
        ax[j].set_xlabel("threshold $L_0$ (% test error)")
        ax[j].set_xscale("log")
        ax[j].legend(fontsize=8)
    ax[0].set_ylabel("normalized geodesic length")
    ax[1].set_ylabel("mean number of beads")
    fig.tight_layout()
    return {"panel": fig}


EXPERIMENT = Experiment(
    name="freeman-bruna-digits",
    title="Freeman & Bruna 2017: a real-data panel, scikit-learn digits as a stand-in for MNIST",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
)
