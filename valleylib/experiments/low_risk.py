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

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..lowrisk import make_teacher, start_certificate, straight_line_to_global, width_sweep
from ..random_features import fit_power_law, random_features_curve, relu_rate
from ..safran_shamir import xavier_init
from ..scorecard import Check, binomial_tolerance, check_true, undecided, wilson_interval
from ..storage import Parts
from . import Experiment
from .safran_shamir import PUBLISHED

__all__ = ["Config", "CONFIGS", "run", "scorecard", "figures", "EXPERIMENT"]


@dataclass(frozen=True)
class Config:
    """Sizes of the reproduction.

    Attributes:
        rf_dims: input dimensions :math:`d` of the random-features curves (teacher :math:`I_d`).
        rf_widths: numbers of features :math:`p`.
        rf_draws: random first layers per :math:`p`.
        rf_fit_from: the slope is fitted on :math:`p \\ge` this.
        slope_tol: accepted distance between the fitted ReLU slope and :math:`-3/(d-1)`.
        k: teacher width of the sweep (input dimension :math:`d = k`).
        width_factors: the sweep's widths are ``k + 1, k + 2`` and ``round(f k)`` for these factors.
        runs: starts per width and family.
        max_iter: gradient-descent cap per run.
        cert_runs: starts per width for the random-start probabilities.
        bound_draws: draws for the random-features levels beside the sweep.
        seed: one seed for everything.
    """

    rf_dims: tuple = (4, 8)
    rf_widths: tuple = (16, 32, 64, 128, 256, 512, 1024)
    rf_draws: int = 16
    rf_fit_from: int = 64
    slope_tol: float = 0.2
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
    "smoke": Config(rf_dims=(4,), rf_widths=(8, 16, 32, 64, 128), rf_draws=8, rf_fit_from=32, k=4,
                    width_factors=(1, 2), runs=24, max_iter=8000, cert_runs=50, bound_draws=16),
    "default": Config(),
    "full": Config(rf_widths=(16, 32, 64, 128, 256, 512, 1024, 2048, 4096), rf_draws=64, rf_fit_from=128,
                   k=10, runs=500, max_iter=50_000, cert_runs=1000, bound_draws=256),
}


def _rf_part(cfg: Config, gen: torch.Generator, device, progress) -> dict:
    out = {}
    for act in ("relu", "erf"):
        out[act] = {}
        for d in cfg.rf_dims:
            V = torch.eye(d, dtype=torch.float64, device=device)
            curve = random_features_curve(cfg.rf_widths, V, activation=act, draws=cfg.rf_draws, generator=gen, progress=progress)
            ps = [p for p in cfg.rf_widths if p >= cfg.rf_fit_from]
            gm = [g for p, g in zip(cfg.rf_widths, curve["geomean"]) if p >= cfg.rf_fit_from]
            slope, intercept = fit_power_law(ps, gm)
            third = max(2, len(cfg.rf_widths) // 3)
            first, _ = fit_power_law(cfg.rf_widths[:third], curve["geomean"][:third])
            last, _ = fit_power_law(cfg.rf_widths[-third:], curve["geomean"][-third:])
            out[act][str(d)] = {**curve, "slope": slope, "intercept": intercept, "fit_from": cfg.rf_fit_from, "slope_tol": cfg.slope_tol,
                                "slope_first": first, "slope_last": last, "derived_relu_slope": relu_rate(d)}
    return out


def run(cfg: Config, *, device, out_dir=None, progress=None) -> dict:
    """All parts; with ``out_dir``, each finished part (the random-features curves, and per family
    the sweep with its levels, and the random starts) is kept in ``out_dir/low-risk-parts/`` and
    reused by a later run of the same config (:class:`~valleylib.storage.Parts`)."""
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
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
            ss_rows.append({"k": cfg.k, "n": row["n"], "published": PUBLISHED[key], "measured": row["bad_fraction"],
                            "runs": row["runs"], "tolerance": binomial_tolerance(PUBLISHED[key], row["runs"])})
    result["safran_shamir_rows"] = ss_rows
    return result


def _nonincreasing(fracs, runs) -> tuple[bool, float]:
    """Worst rise of a fraction between consecutive widths, against the binomial tolerance there."""
    worst, ok = 0.0, True
    for a, b, r in zip(fracs, fracs[1:], runs[1:]):
        rise = b - a
        worst = max(worst, rise)
        ok &= rise <= binomial_tolerance(a, r)
    return ok, worst


def scorecard(result: dict) -> list:
    checks: list[Check] = []
    for act, per_d in result["random_features"].items():
        for d, c in per_d.items():
            gm = c["geomean"]
            dec = all(b < a for a, b in zip(gm, gm[1:]))
            checks.append(check_true(f"{act}, d={d}: random-features error decreases with p", "this book", [f"{x:.3g}" for x in gm], dec))
            if act == "relu":
                tol = c["slope_tol"]
                ok = abs(c["slope"] - c["derived_relu_slope"]) <= tol
                checks.append(Check(f"relu, d={d}: fitted slope (p >= {c['fit_from']}) within {tol} of our derived -3/(d-1)",
                                    "this book (derivation in the chapter)", c["derived_relu_slope"], c["slope"], tol, ok))
            else:
                relu_slope = result["random_features"]["relu"][d]["slope"]
                ok = c["slope_last"] < c["slope_first"] and c["slope_last"] < relu_slope
                checks.append(check_true(f"erf, d={d}: faster than a power law (last-third slope steeper than first-third and than relu's)",
                                         "this book", {"first": c["slope_first"], "last": c["slope_last"], "relu": relu_slope}, ok))
    for family, rows in result["width_sweep"].items():
        fr = [r["bad_fraction"] for r in rows]
        ok, worst = _nonincreasing(fr, [r["runs"] for r in rows])
        checks.append(check_true(f"{family}: fraction of runs ending at risk >= 1e-3 non-increasing in n (binomial tolerance)",
                                 "Venturi et al. (abstract): avoided with high probability", {"fractions": fr, "worst rise": worst}, ok))
        first, last = rows[0], rows[-1]
        c = check_true(f"{family}: largest bad risk at n={last['n']} below that at n={first['n']} (0 when none)",
                       "Venturi et al. (abstract): confined to low risk", [first["max_bad_risk"], last["max_bad_risk"]],
                       last["max_bad_risk"] < first["max_bad_risk"])
        if first["max_bad_risk"] == 0.0:
            c = undecided(c, "no bad end point at the smallest width")
        checks.append(c)
    for family, per in result["random_starts"].items():
        excess = max(p["path_excess"] for p in per)
        checks.append(check_true(f"{family}: our path never rises above max(F(W0), E+) (convexity argument)", "this book",
                                 excess, excess <= 1e-9))
        last = per[-1]
        checks.append(check_true(f"{family}: at n={last['n']} at least 90% of starts are certified outside every spurious valley",
                                 "this book", last["certified"], last["certified"] >= 0.9))
    for row in result["safran_shamir_rows"]:
        ok = abs(row["measured"] - row["published"]) <= row["tolerance"]
        checks.append(Check(f"Safran-Shamir (k, n) = ({row['k']}, {row['n']}): fraction of bad end points",
                            "Safran & Shamir 2018, table (papers.md §1.5)", row["published"], row["measured"], row["tolerance"], ok))
    return checks


def figures(result: dict) -> dict:
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
