"""Estimate the wall time of the full Safran-Shamir table (every row of CONFIGS["full"], 1000 runs each) on
this machine, from a few rows sampled at `full` settings (same starts, cap 200 000, Newton below 1e-3).

For a sampled row, ``m`` of its 1000 starts are run (the first ones of the row's own generator) and their step
counts ``I_j`` recorded; the per-iteration cost of the batched engine is measured as ``c0 + c1 * active`` (a
fixed overhead per iteration plus a cost per active run). A 1000-run row then costs about

    T = c0 * I_max + c1 * 1000 * mean(I_j) + 1000 * e

with ``e`` what each sampled run cost beyond the iteration model (Newton polishing, checks, compaction),
where ``I_max`` (the slowest of the 1000 runs) is not known from a sample: the low estimate takes the
sample's maximum, the high one the cap (200 000; some over-parametrised rows have runs creeping to it).
Rows not sampled are interpolated in k along their diagonal n - k. Two processes (one row each, one thread)
would divide the total by at most 2 on the 2 cores; that is stated, not measured.

    python benchmarks/estimate_full_table.py --runs 8
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from valleylib.experiments.safran_shamir import CONFIGS  # noqa: E402
from valleylib.safran_shamir import run_protocol, teacher_identity, xavier_init  # noqa: E402

#: Active runs at which the cost per run is measured: the bulk of a 1000-run row (at 64 runs, in cache,
#: it is about half: a first version of this estimate predicted 21 s for the (14, 14) row, measured 41 s).
BULK = 1000

SAMPLED = ((6, 6), (8, 8), (10, 10), (12, 12), (14, 14), (16, 16), (18, 18), (20, 20),
           (8, 10), (12, 14), (16, 18), (18, 20), (19, 20), (13, 14), (17, 18))


def per_iteration_cost(k: int, n: int) -> tuple[float, float]:
    """``(c0, c1)`` seconds: one iteration of the engine on ``a`` active runs costs ``c0 + c1 a``."""
    V = teacher_identity(k)
    out = []
    for R in (1, BULK):
        W = xavier_init(R, n, k, generator=torch.Generator().manual_seed(1))
        run_protocol(W, V, max_iter=20, check_every=20, progress=False)
        best = 1e9
        for _ in range(2):
            t = time.perf_counter()
            run_protocol(W, V, max_iter=300, check_every=301, progress=False)  # runs all 301 evaluations
            best = min(best, (time.perf_counter() - t) / 301)
        out.append(best)
    c1 = max(out[1] - out[0], 0.0) / (BULK - 1)
    return out[0] - c1, c1


def _estimate(row: dict, cfg) -> None:
    """Add ``est_low_s``/``est_high_s`` to a sampled row: the iteration model plus, per run, what the
    sample cost beyond it (Newton polishing, checks, compaction), scaled to the row's runs."""
    its = np.array(row["iterations"], dtype=float)
    c0, c1, m = row["c0_us"] * 1e-6, row["c1_us"] * 1e-6, row["m"]
    extra = max(0.0, row["wall_s"] - (c0 * its.max() + c1 * m * its.mean())) / m
    bulk = c1 * cfg.runs * its.mean()
    row["extra_ms_per_run"] = 1e3 * extra
    row["est_low_s"] = c0 * its.max() + bulk
    row["est_high_s"] = c0 * cfg.max_iter + bulk
    # pessimistic: the sample's cost beyond the model (much of it per check, not per run) x runs
    row["est_low_x_s"] = row["est_low_s"] + extra * cfg.runs
    row["est_high_x_s"] = row["est_high_s"] + extra * cfg.runs


def sample_row(cfg, k: int, n: int, m: int) -> dict:
    """Run ``m`` of row ``(k, n)``'s full-budget starts and estimate the whole row's time (``T = c0 I_max + c1 1000 mean(I_j) + 1000 e``)."""
    gen = torch.Generator().manual_seed(cfg.seed + 1000 * k + n)
    W0 = xavier_init(cfg.runs, n, k, generator=gen)[:m]
    V = teacher_identity(k)
    t = time.perf_counter()
    res = run_protocol(W0, V, max_iter=cfg.max_iter, newton_below=cfg.newton_below,
                       check_every=cfg.check_every, progress=False)
    wall = time.perf_counter() - t
    c0, c1 = per_iteration_cost(k, n)
    row = {"k": k, "n": n, "m": m, "wall_s": wall, "ms_per_run_sample": 1e3 * wall / m,
           "iterations": [int(x) for x in res.iterations], "hit_cap": int(res.hit_cap.sum()),
           "c0_us": 1e6 * c0, "c1_us": 1e6 * c1}
    _estimate(row, cfg)
    lo, hi, its = row["est_low_s"], row["est_high_s"], res.iterations.double()
    print(f"({k},{n}): {m} runs in {wall:.1f} s, mean its {float(its.mean()):.0f}, max {int(its.max())}, "
          f"c0 {1e6 * c0:.0f} us, c1 {1e6 * c1:.1f} us/run -> 1000 runs {lo:.0f}-{hi:.0f} s", flush=True)
    return row


def _check_line(c: dict, per_row: list) -> str:
    est = next((r for r in per_row if (r["k"], r["n"]) == (c["k"], c["n"])), None)
    rng = (f"{est['est_low_s']:.0f}-{est['est_high_s']:.0f} s (pessimistic "
           f"{est['est_low_x_s']:.0f}-{est['est_high_x_s']:.0f} s)") if est else "n/a"
    return (f"check: row ({c['k']},{c['n']}) run in full ({c['runs']} runs): {c['wall_s']:.0f} s measured, "
            f"estimated {rng}")


def main() -> None:
    """Time ``--check-rows`` in full, sample rows (or reload them with ``--recompute``), interpolate the others in k, record the estimate."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--check-rows", type=lambda r: tuple(tuple(int(x) for x in q.split(",")) for q in r.split(";")),
                   default=((8, 8), (14, 14)), help="rows also run in full, to check the estimate")
    p.add_argument("--recompute", default="", help="a results JSON: redo only the aggregation")
    p.add_argument("--rows", default="", help="e.g. 6,6;8,8 (default: a spread of 15 rows)")
    args = p.parse_args()
    torch.set_num_threads(1)
    cfg = CONFIGS["full"]
    p_checks = []
    for k, n in (() if args.recompute else args.check_rows):
        gen = torch.Generator().manual_seed(cfg.seed + 1000 * k + n)
        W0 = xavier_init(cfg.runs, n, k, generator=gen)
        t = time.perf_counter()
        res = run_protocol(W0, teacher_identity(k), max_iter=cfg.max_iter, newton_below=cfg.newton_below,
                           check_every=cfg.check_every, progress=False)
        p_checks.append({"k": k, "n": n, "runs": cfg.runs, "wall_s": time.perf_counter() - t,
                         "iterations_max": int(res.iterations.max()),
                         "iterations_mean": float(res.iterations.double().mean())})
        print("full row measured:", p_checks[-1], flush=True)
    if args.recompute:  # only the aggregation, from a previous run's samples
        import json

        old = json.loads(Path(args.recompute).read_text())["data"]
        sampled, p_checks = old["sampled"], old.get("full_rows", [])
        for r in sampled:
            _estimate(r, cfg)
    rows = () if args.recompute else SAMPLED if not args.rows else tuple(tuple(int(x) for x in r.split(",")) for r in args.rows.split(";"))
    t0 = time.perf_counter()
    sampled = sampled if args.recompute else [sample_row(cfg, k, n, args.runs) for k, n in rows]
    keys = ("est_low_s", "est_high_s", "est_low_x_s", "est_high_x_s")
    totals = dict.fromkeys(keys, 0.0)
    per_row = []
    for k, n in cfg.rows:
        same = sorted((r for r in sampled if r["n"] - r["k"] == n - k), key=lambda r: r["k"])
        if not same:
            same = sorted(sampled, key=lambda r: r["k"])
        ks = [r["k"] for r in same]
        est = {key: float(np.exp(np.interp(k, ks, [np.log(r[key]) for r in same]))) for key in keys}
        per_row.append({"k": k, "n": n, **est})
        for key in keys:
            totals[key] += est[key]
    total_lo, total_hi = totals["est_low_s"], totals["est_high_s"]
    load = old["load"] if args.recompute else __import__("os").getloadavg()[0]
    summary = [
        f"full Safran-Shamir table ({len(cfg.rows)} rows x {cfg.runs} runs, cap {cfg.max_iter}, Newton below "
        f"{cfg.newton_below}), estimated from {len(sampled)} rows sampled at {args.runs} runs: "
        f"{total_lo / 60:.0f}-{total_hi / 60:.0f} min in one process, one thread (low: the slowest run of a row as "
        f"slow as the sample's slowest; high: every row has a run creeping to the cap); two processes on the "
        f"2 cores at best halve it: {total_lo / 120:.0f}-{total_hi / 120:.0f} min (not measured)",
        f"pessimistic variant (each run also charged the sample's cost beyond the iteration model, e.g. "
        f"Newton polishing and per-check work): {totals['est_low_x_s'] / 60:.0f}-"
        f"{totals['est_high_x_s'] / 60:.0f} min in one process",
        f"load average {load:.1f} on the shared 2-core machine while sampling"
        + (" (aggregation recomputed from those samples)" if args.recompute else
           f" ({time.perf_counter() - t0:.0f} s)"),
    ] + [_check_line(c, per_row) for c in p_checks]
    print("\n".join(summary))
    from _record import record

    print("wrote", record("safran-shamir-full-estimate", summary,
                          {"sampled": sampled, "rows": per_row, "full_rows": p_checks, "args": vars(args),
                           "load": load}))


if __name__ == "__main__":
    main()
