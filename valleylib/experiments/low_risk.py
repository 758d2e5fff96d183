"""Low-risk confinement of spurious valleys, and random starts that avoid them.

Four parts, one result dictionary:

``random_features``
    per activation (ReLU, erf) and input dimension :math:`d` (teacher :math:`V = I_d`): the exact
    population random-features error against the number of features :math:`p`, its fitted
    log-log slope, and the slope we derive for ReLU, :math:`-3/(d-1)`.
``width_sweep``
    per teacher family (Safran–Shamir :math:`V = I_k`, and a random teacher) and student width
    :math:`n` from :math:`k` to :math:`4k`: batched gradient descent from Xavier starts; the
    fraction of runs ending at risk at least :math:`10^{-3}` and the largest and median such risk;
    beside them the random-features levels :math:`E(n)` and :math:`E_+(n-k)`.
``random_starts``
    per family and width: the probability that a Xavier start is joined to a global minimum below
    its own risk, by our three-segment path and by the straight segment, with Wilson intervals.
``safran_shamir_rows``
    the published over-parametrised rows of Safran & Shamir beside ours.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ..lowrisk import (
    power_law_slopes,
    random_features_draws,
    slope_test,
    start_certificate,
    straight_line_to_global,
    width_sweep,
)
from ..networks import make_teacher, xavier_init
from ..random_features import fit_power_law, random_features_curve, random_features_fit, relu_rate
from ..scorecard import (
    FWER_LEVEL,
    Check,
    check_true,
    compare_fractions,
    fisher_exact,
    holm_adjusted,
    undecided,
    wilson_interval,
)
from ..storage import Parts
from . import Experiment
from .safran_shamir import PUBLISHED, PUBLISHED_COUNTS, PUBLISHED_RUNS

__all__ = ["Config", "CONFIGS", "RARER_LEVEL", "fisher_one_sided", "run", "scorecard", "figures", "EXPERIMENT"]


@dataclass(frozen=True)
class Config:
    """Sizes of the reproduction.

    Attributes:
        rf_dims: input dimensions :math:`d` of the random-features curves (teacher :math:`I_d`).
        rf_widths: numbers of features :math:`p`.
        rf_draws: random first layers per :math:`p`.
        rf_fit_from: the slope is fitted on :math:`p \\ge` this.
        slope_z: the slope test's resolution is ``slope_z`` standard errors of the fitted slope
            (:func:`~valleylib.lowrisk.slope_test`).
        k: teacher width of the sweep (input dimension :math:`d = k`).
        width_factors: the sweep's widths are ``k + 1, k + 2`` and ``round(f k)`` for these factors.
        runs: starts per width and family.
        max_iter: gradient-descent cap per run.
        cert_runs: starts per width for the random-start probabilities.
        bound_draws: draws for the random-features levels beside the sweep.
        seed: one seed for everything.
    """

    rf_dims: tuple = (3, 8)
    rf_widths: tuple = (16, 32, 64, 128, 256, 512, 1024)
    rf_draws: int = 16
    rf_fit_from: int = 64
    slope_z: float = 3.0
    k: int = 8
    width_factors: tuple = (1, 2, 3, 4)
    runs: int = 100
    max_iter: int = 20_000
    cert_runs: int = 200
    bound_draws: int = 64
    seed: int = 0

    def widths(self) -> list[int]:
        ws = {self.k, self.k + 1, self.k + 2} | {round(f * self.k) for f in self.width_factors}
        return sorted(ws)


CONFIGS = {
    "smoke": Config(rf_dims=(3,), rf_widths=(8, 16, 32, 64, 128), rf_draws=8, rf_fit_from=32, k=4,
                    width_factors=(1, 2), runs=24, max_iter=8000, cert_runs=50, bound_draws=16),
    "default": Config(rf_draws=32),
    "full": Config(rf_widths=(16, 32, 64, 128, 256, 512, 1024, 2048, 4096), rf_draws=64, rf_fit_from=128,
                   k=10, runs=500, max_iter=50_000, cert_runs=1000, bound_draws=256),
}


def _rf_part(cfg: Config, gen: torch.Generator, device, progress) -> dict:
    out = {}
    for act in ("relu", "erf"):
        out[act] = {}
        for d in cfg.rf_dims:
            V = torch.eye(d, dtype=torch.float64, device=device)
            E = random_features_draws(cfg.rf_widths, V, activation=act, draws=cfg.rf_draws, generator=gen)
            logE = torch.log(E.clamp(min=torch.finfo(E.dtype).tiny))
            curve = {"p": list(cfg.rf_widths), "mean": E.mean(0).tolist(), "geomean": torch.exp(logE.mean(0)).tolist(),
                     "median": torch.quantile(E, 0.5, dim=0).tolist(), "q10": torch.quantile(E, 0.1, dim=0).tolist(),
                     "q90": torch.quantile(E, 0.9, dim=0).tolist(),
                     "target_energy": float(random_features_fit(V[:1], V, activation=act).target_energy)}
            cols = [j for j, p in enumerate(cfg.rf_widths) if p >= cfg.rf_fit_from]
            fit = power_law_slopes([cfg.rf_widths[j] for j in cols], E[:, cols])
            third = max(2, len(cfg.rf_widths) // 3)
            first, _ = fit_power_law(cfg.rf_widths[:third], curve["geomean"][:third])
            last, _ = fit_power_law(cfg.rf_widths[-third:], curve["geomean"][-third:])
            entry = {**curve, "slope": fit["slope"], "slope_se": fit["se"], "slope_draws": fit["per_draw"],
                     "fit_from": cfg.rf_fit_from, "slope_z": cfg.slope_z, "slope_first": first, "slope_last": last,
                     "derived_relu_slope": relu_rate(d)}
            if act == "relu":
                entry["slope_test"] = slope_test(fit["slope"], fit["se"], d, z=cfg.slope_z)
            out[act][str(d)] = entry
    return out


def run(cfg: Config, *, device, out_dir=None, progress=None) -> dict:
    """All parts; with ``out_dir``, each finished part (the random-features curves, and per family
    the sweep with its levels, and the random starts) is kept in ``out_dir/low-risk-parts/`` and
    reused by a later run of the same config (:class:`~valleylib.storage.Parts`)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    parts = Parts(Path(out_dir) / "low-risk-parts" if out_dir is not None else None, generator=gen)
    key = {"config": asdict(cfg), "device": torch.device(device).type}
    result: dict = {"random_features": parts.get("random-features", key, lambda: _rf_part(cfg, gen, device, progress))}
    widths = cfg.widths()
    result["widths"] = widths
    sweep, starts, bounds = {}, {}, {}
    for family in ("ss", "random"):
        V = make_teacher(family, cfg.k, generator=gen, device=device)

        def sweep_part():
            rows = width_sweep(V, widths, cfg.runs, generator=gen, max_iter=cfg.max_iter, progress=progress)
            # random-features levels beside the sweep: E(n) (signed, n features), E_+(n - k) (non-negative)
            signed = random_features_curve(widths, V, draws=cfg.bound_draws, generator=gen, progress=progress)
            nn_widths = [n - cfg.k for n in widths if n > cfg.k]
            nonneg = random_features_curve(nn_widths, V, draws=cfg.bound_draws, nonnegative=True, generator=gen, progress=progress)
            return {"rows": [r.__dict__ for r in rows],
                    "bounds": {"n": widths, "signed_median": signed["median"],
                               "nonneg_n": [n for n in widths if n > cfg.k], "nonneg_median": nonneg["median"],
                               "zero_network": signed["target_energy"]}}

        part = parts.get(f"sweep-{family}", key, sweep_part)
        sweep[family], bounds[family] = part["rows"], part["bounds"]

        def starts_part():
            per = []
            for n in widths:
                W0 = xavier_init(cfg.cert_runs, n, cfg.k, generator=gen, device=device)
                cert = start_certificate(W0, V)
                line = straight_line_to_global(W0, V)
                c, s = int(cert["certified"].sum()), int(line["below"].sum())
                either = int((cert["certified"] | line["below"]).sum())
                slack = torch.maximum(cert["risk0"], cert["bound"])
                per.append({
                    "n": n, "runs": cfg.cert_runs,
                    "certified": c / cfg.cert_runs, "certified_ci": wilson_interval(c, cfg.cert_runs),
                    "line_below": s / cfg.cert_runs, "line_ci": wilson_interval(s, cfg.cert_runs),
                    "either": either / cfg.cert_runs, "either_ci": wilson_interval(either, cfg.cert_runs),
                    "median_risk0": float(cert["risk0"].median()), "median_bound": float(cert["bound"].median()),
                    "path_excess": float(((cert["path_max"] - slack) / slack).max()),
                })
            return per

        starts[family] = parts.get(f"starts-{family}", key, starts_part)
    result["width_sweep"] = sweep
    result["bounds"] = bounds
    result["random_starts"] = starts
    result["parts_reused"] = list(parts.reused)
    ss_rows = []
    for row in sweep["ss"]:
        key = (cfg.k, row["n"])
        if key in PUBLISHED:
            bad = round(row["bad_fraction"] * row["runs"])
            test = _safran_shamir_row({"k": cfg.k, "n": row["n"], "count": bad, "runs": row["runs"],
                                       "published_count": PUBLISHED_COUNTS[key][0], "published_runs": PUBLISHED_RUNS})
            ss_rows.append({"k": cfg.k, "n": row["n"], "published": PUBLISHED[key], "measured": row["bad_fraction"],
                            "count": bad, "runs": row["runs"], "published_count": PUBLISHED_COUNTS[key][0],
                            "published_runs": PUBLISHED_RUNS, "p_value": test.p_value, "passed": test.passed})
    result["safran_shamir_rows"] = ss_rows
    return result


#: Level of the one-sided test that bad end points are rarer at the widest width than at n = k.
RARER_LEVEL = 0.01


def _bad_count(row: dict) -> int:
    return int(round(row["bad_fraction"] * row["runs"]))


def fisher_one_sided(x1: int, n1: int, x2: int, n2: int) -> float:
    """One-sided Fisher exact p-value for :math:`H_0: p_1 \\le p_2` against :math:`p_1 > p_2`.

    Given ``x1`` of ``n1`` and ``x2`` of ``n2`` events, conditionally on the total :math:`t = x_1 + x_2`
    the first count is hypergeometric; the p-value is
    :math:`P(X \\ge x_1) = \\sum_{j \\ge x_1} \\binom{n_1}{j}\\binom{n_2}{t-j} / \\binom{n_1+n_2}{t}`.

    >>> round(fisher_one_sided(5, 10, 0, 10), 6)  # C(10,5) / C(20,5)
    0.016254
    >>> fisher_one_sided(0, 10, 3, 10)
    1.0
    """
    for name, v in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name}={v!r}: expected a non-negative integer")
    if x1 > n1 or x2 > n2 or n1 < 1 or n2 < 1:
        raise ValueError(f"counts: expected 0 <= x1 <= n1, 0 <= x2 <= n2, n1, n2 >= 1; got {x1}/{n1}, {x2}/{n2}")
    t = x1 + x2
    total = math.comb(n1 + n2, t)
    tail = sum(math.comb(n1, j) * math.comb(n2, t - j) for j in range(x1, min(n1, t) + 1))
    return min(1.0, tail / total)


def _nonincreasing(fracs, runs, level: float = FWER_LEVEL) -> tuple[bool, float]:
    """Worst rise of a fraction between consecutive widths, and whether no rise is significant.

    A rise from ``a`` of ``N_a`` runs to ``b`` of ``N_b`` is significant when Fisher's exact test
    rejects equal rates, with Holm's procedure at ``level`` over all the consecutive pairs.
    """
    worst, pvals = 0.0, []
    for a, b, ra, rb in zip(fracs, fracs[1:], runs, runs[1:]):
        worst = max(worst, b - a)
        pvals.append(fisher_exact(round(b * rb), rb, round(a * ra), ra) if b > a else 1.0)
    ok = all(q > level for q in holm_adjusted(pvals))
    return ok, worst


def scorecard(result: dict) -> list:
    """Random-features rates, the width sweep, certified random starts, and the Safran-Shamir rows as checks that can fail."""
    checks: list[Check] = []
    for act, per_d in result["random_features"].items():
        for d, c in per_d.items():
            gm = c["geomean"]
            dec = all(b < a for a, b in zip(gm, gm[1:]))
            checks.append(check_true(f"{act}, d={d}: random-features error decreases with p", "this book", [f"{x:.3g}" for x in gm], dec))
            if act == "relu":
                t = slope_test(c["slope"], c["slope_se"], int(d), z=c["slope_z"])  # recomputed: the result is the input
                claim = (f"relu, d={d}: fitted slope (p >= {c['fit_from']}) nearer our derived -3/(d-1) = {t['derived']:.3f} "
                         f"than the Monte Carlo rate {t['alternative']:.0f}, which it rejects (resolution {c['slope_z']:g} s.e.)")
                chk = Check(claim, "this book (derivation in the chapter)", t["derived"], c["slope"], t["resolution"], t["passed"])
                if not t["decidable"]:
                    chk = undecided(chk, f"the rates are {abs(t['derived'] - t['alternative']):.2f} apart, "
                                         f"the fit resolves {t['resolution']:.2f}")
                checks.append(chk)
            else:
                relu_slope = result["random_features"]["relu"][d]["slope"]
                ok = c["slope_last"] < c["slope_first"] and c["slope_last"] < relu_slope
                checks.append(check_true(f"erf, d={d}: faster than a power law (last-third slope steeper than first-third and than relu's)",
                                         "this book", {"first": c["slope_first"], "last": c["slope_last"], "relu": relu_slope}, ok))
    for family, rows in result["width_sweep"].items():
        fr = [r["bad_fraction"] for r in rows]
        ok, worst = _nonincreasing(fr, [r["runs"] for r in rows])
        c = check_true(f"{family}: fraction of runs ending at risk >= 1e-3 non-increasing in n"
                       " (no significant rise: Fisher, Holm)",
                       "Venturi et al. (abstract): avoided with high probability", {"fractions": fr, "worst rise": worst}, ok)
        if not any(fr):
            c = undecided(c, "no bad end point at any width: nothing could rise")
        checks.append(c)
        first, last = rows[0], rows[-1]
        x1, x2 = _bad_count(first), _bad_count(last)
        pval = fisher_one_sided(x1, first["runs"], x2, last["runs"])
        best = fisher_one_sided(x1, first["runs"], 0, last["runs"])  # the most favourable outcome at n = last
        c = Check(f"{family}: fewer runs end at risk >= 1e-3 at n={last['n']} than at n={first['n']} "
                  f"(one-sided Fisher exact test, level {RARER_LEVEL})", "Venturi et al. (abstract): avoided with high probability",
                  f"{x1}/{first['runs']} vs {x2}/{last['runs']}", f"p = {pval:.2g}", RARER_LEVEL, pval < RARER_LEVEL)
        if best >= RARER_LEVEL:
            c = undecided(c, f"{x1} bad run(s) at n={first['n']}: even none at n={last['n']} gives p = {best:.2g}")
        checks.append(c)
        # "Lower" concerns points in valleys: converged end points with a positive definite Hessian.
        # Runs stopped by the iteration cap (not converged) and saddles are where descent was, not minima.
        nspur = [r["counts"]["spurious"] for r in rows]
        higher = [r for r, x in zip(rows[1:], nspur[1:]) if x > 0]
        top = max((r["max_spurious_risk"] for r in higher), default=0.0)
        c = check_true(f"{family}: every spurious end point at n > {first['n']} has a risk below the highest one at n = {first['n']}",
                       "Venturi et al. (abstract): confined to low risk",
                       {"n = k": first["max_spurious_risk"], "n > k": top, "widths with spurious end points": [r["n"] for r in higher]},
                       top < first["max_spurious_risk"])
        c = replace(c, key={"kind": "spurious risks fall", "family": family})
        if nspur[0] == 0:
            c = undecided(c, f"no spurious end point at n={first['n']}")
        elif not higher:
            c = undecided(c, f"no spurious end point at any n > {first['n']} (nothing to compare; see the fraction check)")
        checks.append(c)
    for family, per in result["random_starts"].items():
        excess = max(p["path_excess"] for p in per)
        checks.append(check_true(f"{family}: our path never rises above max(F(W0), E+) (implied by the proposition: a test of the code)", "this book",
                                 excess, excess <= 1e-9))
        last = per[-1]
        checks.append(check_true(f"{family}: at n={last['n']} at least 90% of starts are certified outside every spurious valley",
                                 "this book", last["certified"], last["certified"] >= 0.9))
    for row in result["safran_shamir_rows"]:  # recomputed from the counts, not read from the run
        checks.append(_safran_shamir_row(row))
    return checks


def _safran_shamir_row(row: dict) -> Check:
    """Our count of bad end points at ``(k, n)`` against the published runs with F >= 1e-3."""
    return compare_fractions(f"Safran-Shamir (k, n) = ({row['k']}, {row['n']}): fraction of bad end points",
                             "Safran & Shamir 2018, runs with F >= 1e-3 (papers.md §1.5)",
                             (row["count"], row["runs"]), (row["published_count"], row["published_runs"]))


def figures(result: dict) -> dict:
    """``{"overview": ...}``: :func:`valleylib.plotting.low_risk_figure` of the result."""
    from ..plotting import low_risk_figure

    return {"overview": low_risk_figure(result)}


EXPERIMENT = Experiment(
    name="low-risk",
    title="Spurious valleys are confined to low risk and avoided by over-parametrised random starts",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
)
