"""Reproduction: spurious local minima are common in two-layer ReLU networks (Safran & Shamir, 2018).

For each row ``(k, n)`` (teacher width ``k`` = input dimension ``d``, student width ``n``), run the
protocol of :mod:`valleylib.safran_shamir` from ``runs`` Xavier initialisations and report the
fraction of runs ending at risk :math:`\\ge 10^{-3}`, the distinct spurious risks (families up to
permutations), a certificate per family, the median iteration count and the time.

The scorecard compares our fractions with the published counts as two binomial samples (Fisher's
exact test, Holm over all rows; see :func:`scorecard`).

Resumable: with ``out_dir``, every finished row is written to ``out_dir/safran-shamir-rows/`` and
reused by a later run with the same row settings. On the CPU, ``$VALLEYLIB_WORKERS`` (default 1)
rows run side by side in that many processes of one thread each.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

import torch

from ..certify import certify_minimum, group_families
from ..networks import teacher_identity, xavier_init
from ..safran_shamir import LABELS, RISK_THRESHOLD, TOL, classify, run_protocol
from ..scorecard import (
    FWER_LEVEL,
    Check,
    FractionComparison,
    check_true,
    fraction_family,
    undecided,
    wilson_interval,
)
from ..storage import read_json, write_json
from . import Experiment

__all__ = [
    "Config", "CONFIGS", "PUBLISHED", "PUBLISHED_CERTIFIED", "PUBLISHED_COUNTS", "PUBLISHED_RUNS",
    "INFERRED_ZERO", "PUBLISHED_RISKS", "run", "scorecard", "figures", "EXPERIMENT", "run_row",
    "row_counts",
]

#: Published counts of papers.md §1.5 (decoded from the authors' released result files), keyed
#: by (#targets k, #student n): ``(runs with F >= 1e-3, runs at a certified spurious minimum)``,
#: each of :data:`PUBLISHED_RUNS`. The layout of the paper's own printed table is UNVERIFIED.
PUBLISHED_COUNTS: dict[tuple[int, int], tuple[int, int]] = {
    (6, 6): (3, 3), (7, 7): (55, 55), (8, 8): (126, 126), (9, 9): (218, 218), (10, 10): (346, 346),
    (11, 11): (455, 455), (12, 12): (585, 585), (13, 13): (730, 730), (14, 14): (736, 736),
    (15, 15): (803, 803), (16, 16): (851, 851), (17, 17): (897, 897), (18, 18): (900, 900),
    (19, 19): (934, 934), (20, 20): (949, 940),
    (8, 9): (1, 1), (10, 11): (1, 1), (11, 12): (1, 1), (12, 13): (3, 3), (13, 14): (15, 15),
    (14, 15): (55, 55), (15, 16): (102, 101), (16, 17): (180, 180), (17, 18): (233, 209),
    (18, 19): (369, 369), (19, 20): (491, 491),
}
#: Runs per published row.
PUBLISHED_RUNS = 1000
#: Published fraction of ALL runs ending at F >= 1e-3 (the column "runs with F >= 1e-3 (of 1000)"):
#: the quantity our ``fraction_spurious`` measures.
PUBLISHED: dict[tuple[int, int], float] = {
    key: bad / PUBLISHED_RUNS for key, (bad, _) in PUBLISHED_COUNTS.items()
}
#: Published fraction of runs at a certified spurious minimum ("% certified").
PUBLISHED_CERTIFIED: dict[tuple[int, int], float] = {
    key: cert / PUBLISHED_RUNS for key, (_, cert) in PUBLISHED_COUNTS.items()
}
#: Rows with no released result file: papers.md infers 0% (UNVERIFIED; not a published number).
INFERRED_ZERO: tuple[tuple[int, int], ...] = ((6, 7), (7, 8), (9, 10)) + tuple((k, k + 2) for k in range(6, 19))

#: Published distinct spurious risks for k = n = 6, ..., 10 (papers.md §1.5): every family's risk
#: for k = 6, 7, 8 (one family each) and for k = 9, 10 (two families each, the printed min/max),
#: with the half-width of their last printed digit.
PUBLISHED_RISKS: dict[int, tuple[tuple[float, ...], float]] = {
    6: ((0.0250806,), 5e-7), 7: ((0.0232027,), 5e-7), 8: ((0.0215,), 5e-5),
    9: ((0.0200, 0.0375), 5e-5), 10: ((0.0187, 0.0353), 5e-5),
}


@dataclass(frozen=True)
class Config:
    """One budget of the reproduction.

    Attributes:
        rows: ``(k, n)`` pairs, teacher width (= input dimension) and student width.
        runs: gradient-descent runs per row.
        seed: base seed; row ``(k, n)`` uses ``seed + 1000 k + n``.
        max_iter: safety cap on gradient steps per run (reported when hit).
        newton_below: Newton polishing threshold (``None``: plain gradient descent only).
        check_every: iterations between compactions.
        decide_below: stop a run as soon as its risk is below this while every step has decreased
            it (its label "risk below 1e-3" is then decided; see
            :func:`~valleylib.safran_shamir.run_protocol`). Our addition, used at ``full`` scale
            only, where runs creeping towards degenerate global minima would otherwise dominate
            the time; it changes no count of runs at risk :math:`\\ge 10^{-3}`, only the
            iteration counts and the ``converged`` count (decided runs are labelled global).
    """

    rows: tuple[tuple[int, int], ...]
    runs: int
    seed: int = 2018
    max_iter: int = 200_000
    newton_below: Optional[float] = 1e-3
    check_every: int = 100
    decide_below: Optional[float] = None


CONFIGS = {
    "smoke": Config(rows=((6, 6), (8, 8)), runs=12, max_iter=30_000),
    "default": Config(
        rows=((6, 6), (7, 7), (8, 8), (9, 9), (10, 10), (11, 11), (12, 12), (8, 9), (10, 11), (12, 13), (6, 8), (8, 10)),
        runs=300,
        max_iter=60_000,
    ),
    "full": Config(rows=tuple(sorted(set(PUBLISHED) | set(INFERRED_ZERO))), runs=1000,
                   decide_below=RISK_THRESHOLD),
}


def _row_key(cfg: Config, k: int, n: int) -> dict:
    return {"k": k, "n": n, "runs": cfg.runs, "seed": cfg.seed, "max_iter": cfg.max_iter, "newton_below": cfg.newton_below, "tol": TOL,
            **({"decide_below": cfg.decide_below} if cfg.decide_below is not None else {})}


def run_row(cfg: Config, k: int, n: int, *, device, progress=None) -> dict:
    """Run one row and return its JSON-serialisable summary."""
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(cfg.seed + 1000 * k + n)
    V = teacher_identity(k, device=device)
    W0 = xavier_init(cfg.runs, n, k, generator=gen, device=device)
    res = run_protocol(
        W0, V, max_iter=cfg.max_iter, newton_below=cfg.newton_below, check_every=cfg.check_every,
        decide_below=cfg.decide_below,
        progress=progress, desc=f"k={k} n={n}",
    )
    codes, lam = classify(res.W, V, converged=res.converged, decided=res.decided)
    bad = res.risk >= RISK_THRESHOLD
    families = []
    if bool(bad.any()):
        bad_idx = bad.nonzero().flatten()
        labels, reps = group_families(res.W[bad_idx].cpu())
        labels = labels.to(bad_idx.device)
        cert = certify_minimum(res.W[bad_idx[torch.tensor(reps, device=bad_idx.device)]], V)
        for f, rep in enumerate(reps):
            members = bad_idx[labels == f]
            families.append({
                "risk": float(res.risk[bad_idx[rep]]),
                "runs": int(members.numel()),
                "lambda_min": float(lam[bad_idx[rep]]),
                "certified": bool(cert.certified[f]),
                "certificate": cert.reason(f),
                "lambda_lower": float(cert.lambda_lower[f]),
                "radius": float(cert.radius[f]),
            })
        families.sort(key=lambda fam: fam["risk"])
    counts = torch.bincount(codes.cpu(), minlength=len(LABELS)).tolist()
    distinct = sorted({round(fam["risk"], 7) for fam in families})
    return {
        **_row_key(cfg, k, n),
        "fraction_spurious": float(bad.double().mean()),
        "fraction_certified": sum(f["runs"] for f in families if f["certified"]) / cfg.runs,
        "count_spurious": int(bad.sum()),
        "count_certified": sum(f["runs"] for f in families if f["certified"]),
        "spurious_risks": distinct,
        "families": families,
        "labels": dict(zip(LABELS, counts)),
        "converged": int(res.converged.sum()),
        "decided": int(res.decided.sum()),
        "hit_cap": int(res.hit_cap.sum()),
        "hit_cap_high_risk": int((res.hit_cap & bad).sum()),
        "restarts": int(res.restarts.sum()),
        "iterations_median": float(res.iterations.double().median()),
        "iterations_max": int(res.iterations.max()),
        "newton_steps_mean": float(res.newton_steps.double().mean()),
        "risks": [float(x) for x in res.risk.cpu()],
        "seconds": time.perf_counter() - t0,
    }


def _workers(device) -> int:
    """Processes for the rows: ``$VALLEYLIB_WORKERS`` on the CPU (default 1), always 1 elsewhere."""
    import os

    raw = os.environ.get("VALLEYLIB_WORKERS", "1").strip()
    try:
        workers = int(raw)
    except ValueError:
        raise ValueError(f"VALLEYLIB_WORKERS={raw!r}: expected a positive integer") from None
    if workers < 1:
        raise ValueError(f"VALLEYLIB_WORKERS={raw!r}: expected a positive integer")
    return workers if torch.device(device).type == "cpu" else 1


def _row_in_worker(cfg: Config, k: int, n: int, path: Optional[str]) -> dict:
    """One row in a worker process (one thread), written to ``path`` as soon as it is done."""
    torch.set_num_threads(1)
    row = run_row(cfg, k, n, device=torch.device("cpu"), progress=False)
    if path is not None:
        write_json(Path(path), row)
    return row


def run(config: Config, *, device, out_dir: Optional[Path] = None, progress=None) -> dict:
    """Run every row of ``config`` (reusing rows already stored in ``out_dir``).

    With ``$VALLEYLIB_WORKERS`` > 1 on the CPU the missing rows run in that many processes, the
    largest rows first; every row is the same as in one process (its starts come from its own
    seed)."""
    store = Path(out_dir) / "safran-shamir-rows" if out_dir is not None else None
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
    done: dict = {}
    todo = []
    for k, n in config.rows:
        path = store / f"row-{k}-{n}.json" if store is not None else None
        stored = read_json(path) if path is not None else None  # a corrupt file: warned, recomputed
        if isinstance(stored, dict):
            if all(stored.get(key) == val for key, val in _row_key(config, k, n).items()):
                done[k, n] = stored
                continue
        todo.append((k, n, path))
    reused = len(done)
    workers = min(_workers(device), max(len(todo), 1))
    if workers == 1:
        for k, n, path in todo:
            row = run_row(config, k, n, device=device, progress=progress)
            if path is not None:
                write_json(path, row)  # atomic; non-finite numbers as "nan"/"inf"
            done[k, n] = row
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from ..descent import progress_bar

        todo.sort(key=lambda t: -(t[0] * t[1] + 50 * (t[1] - t[0])))  # the slow rows first
        bar = progress_bar(progress, len(todo), f"safran-shamir rows ({workers} processes)",
                           unit="row")
        try:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                futures = {pool.submit(_row_in_worker, config, k, n,
                                       None if path is None else str(path)): (k, n)
                           for k, n, path in todo}
                for fut in as_completed(futures):
                    done[futures[fut]] = fut.result()
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    rows = [done[k, n] for k, n in config.rows]
    return {"rows": rows, "rows_reused": reused, "tol": TOL, "risk_threshold": RISK_THRESHOLD, "config": asdict(config)}


def row_counts(row: dict) -> dict:
    """Counts of a row: runs, at risk >= 1e-3 (``bad``), certified, and the ranges caps allow.

    A run stopped by the safety cap at risk :math:`\\ge 10^{-3}` is undecided (the authors had no
    cap): it may have ended at a spurious minimum or not. ``bad_range`` counts such runs as not
    bad at its low end and as bad at its high end; ``certified_range`` lets each of them be
    certified or not.
    """
    runs = int(row["runs"])
    bad = (int(row["count_spurious"]) if "count_spurious" in row
           else round(row["fraction_spurious"] * runs))
    cert = (int(row["count_certified"]) if "count_certified" in row
            else round(row.get("fraction_certified", 0.0) * runs))
    u = int(row.get("hit_cap_high_risk", 0))
    return {"runs": runs, "bad": bad, "certified": cert, "capped_high": u,
            "bad_range": (max(0, bad - u), bad),
            "certified_range": (max(0, cert - u), min(bad, cert + u))}


def _certified_risks(row: dict) -> list[float]:
    """Distinct risks of a row's certified spurious families (``spurious_risks`` if no families)."""
    if "families" in row:
        return sorted({round(f["risk"], 7) for f in row["families"] if f["certified"]})
    return list(row["spurious_risks"])


def scorecard(result: dict, level: float = FWER_LEVEL) -> list[Check]:
    """Per row, our fractions against the published ones, and the spurious risks for k = n <= 10.

    **Fractions.** Every row with a published count gives two comparisons: the fraction of all runs
    ending at risk :math:`\\ge 10^{-3}` against the published column "runs with F >= 1e-3", and our
    certified fraction against their certified one; a row with no result file (0% inferred) gives
    the first only. Each is Fisher's exact test of our ``x`` of ``N`` against their ``x'`` of 1000,
    and all of them are one family under Holm's procedure at ``level`` (see
    :func:`~valleylib.scorecard.fraction_family`): a row fails when its Holm-adjusted p-value is
    :math:`\\le` ``level``, and is n/a when even 0 of ``N`` would not have been rejected. Runs
    stopped by the safety cap at risk :math:`\\ge 10^{-3}` count both ways (:func:`row_counts`):
    the row must pass at both ends of its range.

    **Risks.** For k = n in :data:`PUBLISHED_RISKS`, every distinct risk of a certified spurious
    family we found must be one of the published ones (to their printed digits); n/a when we found
    no certified spurious minimum at that row.
    """
    rows_cmp: list[FractionComparison] = []
    slots: list = []  # per row, in order: ("cmp", index) or a Check
    for row in result["rows"]:
        key = (row["k"], row["n"])
        c = row_counts(row)
        cap = ""
        if row.get("hit_cap", 0):
            cap = (f" [{row['hit_cap']} runs hit the safety cap, {c['capped_high']} of them at risk"
                   " >= 1e-3: counted both ways]")
        where = f"k={key[0]} n={key[1]} ({c['runs']} runs)"
        if key in PUBLISHED_COUNTS:
            bad_pub, cert_pub = PUBLISHED_COUNTS[key]
            src = "Safran & Shamir 2018, authors' released result files (papers.md §1.5)"
            rows_cmp.append(FractionComparison(
                f"fraction of all runs at risk >= 1e-3, {where}{cap}",
                src + ", runs with F >= 1e-3",
                c["bad"], c["runs"], bad_pub, PUBLISHED_RUNS, c["bad_range"],
                key={"kind": "fraction", "k": key[0], "n": key[1], "column": "all"}))
            slots.append(len(rows_cmp) - 1)
            rows_cmp.append(FractionComparison(
                f"fraction of runs at a certified spurious minimum, {where}{cap}",
                src + ", certified",
                c["certified"], c["runs"], cert_pub, PUBLISHED_RUNS, c["certified_range"],
                key={"kind": "fraction", "k": key[0], "n": key[1], "column": "certified"}))
            slots.append(len(rows_cmp) - 1)
        elif key in INFERRED_ZERO:
            rows_cmp.append(FractionComparison(
                f"fraction of all runs at risk >= 1e-3, {where}{cap}",
                "no released result file: 0% inferred by us, not a published number",
                c["bad"], c["runs"], 0, PUBLISHED_RUNS, c["bad_range"],
                key={"kind": "fraction", "k": key[0], "n": key[1], "column": "all", "inferred": True}))
            slots.append(len(rows_cmp) - 1)
        if key[0] == key[1] and key[0] in PUBLISHED_RISKS:
            pub, tol = PUBLISHED_RISKS[key[0]]
            ours = _certified_risks(row)
            far = [r for r in ours if min(abs(r - q) for q in pub) > tol]
            check = check_true(
                f"every certified spurious risk found at k=n={key[0]} is a published one (to ±{tol:g})",
                "Safran & Shamir 2018, authors' released result files (papers.md §1.5)",
                ours, not far, published=list(pub))
            check = replace(check, key={"kind": "certified risks", "k": key[0], "n": key[1]})
            if not ours:
                check = undecided(check, "no certified spurious minimum found in this run")
            slots.append(check)
    fam = fraction_family(rows_cmp, level) if rows_cmp else []
    return [fam[s] if isinstance(s, int) else s for s in slots]


def figures(result: dict) -> dict:
    """``{"fraction": ...}``: our and the published fractions of runs at risk >= 1e-3 against k.

    Both with 95% Wilson intervals: ours of ``N`` runs (bars), theirs of 1000 (shaded band).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for off, color in ((0, "C0"), (1, "C1"), (2, "C2")):
        name = f"n = k+{off}" if off else "n = k"
        pub = sorted((k, b) for (k, n), (b, _) in PUBLISHED_COUNTS.items() if n == k + off)
        if pub:
            ks = [k for k, _ in pub]
            ci = [wilson_interval(b, PUBLISHED_RUNS) for _, b in pub]
            ax.plot(ks, [100 * b / PUBLISHED_RUNS for _, b in pub], "--", color=color, alpha=0.7,
                    label=f"published, {name}")
            ax.fill_between(ks, [100 * lo for lo, _ in ci], [100 * hi for _, hi in ci],
                            color=color, alpha=0.15, lw=0)
        rows = sorted((r["k"], row_counts(r)) for r in result["rows"] if r["n"] == r["k"] + off)
        if rows:
            ks = [k for k, _ in rows]
            ps = [100 * c["bad"] / c["runs"] for _, c in rows]
            ci = [wilson_interval(c["bad"], c["runs"]) for _, c in rows]
            err = [[p - 100 * lo for p, (lo, _) in zip(ps, ci)],
                   [100 * hi - p for p, (_, hi) in zip(ps, ci)]]
            ax.errorbar(ks, ps, yerr=err, fmt="o", color=color, capsize=3, label=f"ours, {name}")
    ax.set_xlabel("k (teacher width = input dimension)")
    ax.set_ylabel("% runs ending at risk ≥ 1e-3")
    ax.set_ylim(-3, 100)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return {"fraction": fig}


def probe() -> dict:
    """The ``full`` config on two tiny rows (12 runs each, CPU, float64), reduced to labels,
    counts and spurious risks to six decimals: the fingerprint of a recorded full run."""
    from dataclasses import replace

    full = CONFIGS["full"]
    res = run(replace(full, rows=((8, 8), (4, 6)), runs=12), device=torch.device("cpu"),
              progress=False)
    keep = ("k", "n", "labels", "count_spurious", "count_certified", "decided", "hit_cap")
    return {"config": asdict(full),
            "rows": [{**{key: r[key] for key in keep},
                      "spurious_risks": [round(x, 6) for x in r["spurious_risks"]]}
                     for r in res["rows"]]}


EXPERIMENT = Experiment(
    name="safran-shamir",
    title="Spurious local minima of two-layer ReLU networks (Safran & Shamir 2018): the table",
    configs=CONFIGS,
    run=run,
    scorecard=scorecard,
    figures=figures,
    probe=probe,
)
