"""Runs per second of the batched Safran-Shamir engine against a faithful per-run numpy implementation.

Both follow the same protocol (papers.md §1.3): Xavier init N(0, 1/d), gradient steps 0.1 on the closed-form
population risk with V = I_k, stop when the largest per-neuron gradient norm is <= 1e-9 / (2 pi), restart with a
halved step when it exceeds 1e4. The numpy baseline runs one network at a time (as the authors' own follow-up
code does), vectorised within a run; it uses the first runs of the same initialisations as the batched engine.
Runs differ a lot in length (spurious minima take longest), so the baseline's rate for the whole set is its
measured cost per iteration times the iteration counts of all runs (plain GD reproduces its iterates exactly,
which the script checks); the speed-ups are against that rate.

    python benchmarks/bench_safran_shamir.py                 # k = n = 8, 10, 14
    python benchmarks/bench_safran_shamir.py --ks 8 --batched-runs 50 --numpy-runs 3 --threads 1 2

Not part of the test suite: it prints timings.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
import math
import time

import numpy as np
import torch

from valleylib.safran_shamir import TOL, run_protocol, teacher_identity, xavier_init


def numpy_gradient(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Closed-form gradient of one network W (n, d) (rows = neurons), vectorised over neurons."""
    nw = np.linalg.norm(W, axis=1)
    nv = np.linalg.norm(V, axis=1)
    cww = np.clip((W @ W.T) / np.outer(nw, nw), -1.0, 1.0)
    cwv = np.clip((W @ V.T) / np.outer(nw, nv), -1.0, 1.0)
    tww, twv = np.arccos(cww), np.arccos(cwv)
    np.fill_diagonal(tww, 0.0)
    sww = np.sin(tww)
    radial = (sww * nw[None, :]).sum(1) - (np.sin(twv) * nv[None, :]).sum(1)
    G = (radial / nw)[:, None] * W + (math.pi - tww) @ W - (math.pi - twv) @ V
    return G / (2 * math.pi)


def numpy_protocol(W0: np.ndarray, V: np.ndarray, lr: float = 0.1, tol: float = TOL, max_iter: int = 200_000):
    W, step, it = W0.copy(), lr, 0
    while it < max_iter:
        G = numpy_gradient(W, V)
        gn = np.sqrt((G * G).sum(1)).max()
        if not np.isfinite(gn) or gn > 1e4:
            W, step = W0.copy(), step / 2
            continue
        if gn <= tol:
            return W, it
        W = W - step * G
        it += 1
    return W, it


def bench(k: int, batched_runs: int, numpy_runs: int, threads: list[int], seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed + k)
    V = teacher_identity(k, device="cpu")
    W0 = xavier_init(batched_runs, k, k, generator=gen)
    line = [f"k=n={k:2d}"]
    fig: dict = {"k": k, "batched_runs": batched_runs, "numpy_runs": numpy_runs}
    t = time.perf_counter()
    ends = [numpy_protocol(W0[r].numpy(), V.numpy()) for r in range(numpy_runs)]
    t_np = time.perf_counter() - t
    sample_rate = numpy_runs / t_np
    per_iter = t_np / max(1, sum(it + 1 for _, it in ends))  # seconds per gradient evaluation, one run
    # Iteration counts of every run (plain GD reproduces the numpy iterates exactly; checked below).
    torch.set_num_threads(threads[0])
    its = run_protocol(W0, V, progress=False).iterations
    base = batched_runs / (per_iter * float((its + 1).sum()))
    fig["numpy_runs_per_s"] = base
    line.append(f"numpy per-run: {sample_rate:7.2f} runs/s measured on {numpy_runs} runs ({t_np:.1f} s); "
                f"{base:.2f} runs/s for all {batched_runs} runs (= its per-iteration cost x their iteration counts)")
    for th in threads:
        torch.set_num_threads(th)
        for newton in (None, 1e-3):
            t = time.perf_counter()
            res = run_protocol(W0, V, newton_below=newton, progress=False)
            dt = time.perf_counter() - t
            rate = batched_runs / dt
            tag = "GD" if newton is None else "GD+Newton"
            fig[f"{tag}_{th}thr_runs_per_s"] = rate
            line.append(f"batched {tag:9s} {th} thr: {rate:7.2f} runs/s ({dt:.1f} s, x{rate / base:.1f})")
            if newton is None:  # same end points as the per-run baseline
                diff = max(float(np.abs(res.W[r].numpy() - ends[r][0]).max()) for r in range(numpy_runs))
                same_it = all(int(res.iterations[r]) == ends[r][1] for r in range(numpy_runs))
                line.append(f"  (max |W_batched - W_numpy| = {diff:.1e}, same iteration counts: {same_it})")
                fig["max_endpoint_diff"], fig["same_iterations"] = diff, same_it
    print("\n  ".join(line), flush=True)
    return fig


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", type=int, nargs="+", default=[8, 10, 14])
    p.add_argument("--batched-runs", type=int, default=100)
    p.add_argument("--numpy-runs", type=int, default=5)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    print(f"torch {torch.__version__}, numpy {np.__version__}, tol = {TOL:.3e}")
    rows = [bench(k, args.batched_runs, args.numpy_runs, args.threads) for k in args.ks]
    summary = []
    for r in rows:
        base = r["numpy_runs_per_s"]
        parts = [f"k=n={r['k']}: numpy one run at a time {base:.1f} runs/s"]
        for key, val in r.items():
            if key.endswith("_runs_per_s") and key != "numpy_runs_per_s":
                parts.append(f"{key[:-len('_runs_per_s')].replace('_', ' ')} {val:.1f} runs/s (x{val / base:.1f})")
        summary.append("; ".join(parts))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _record import record

    print("wrote", record("safran-shamir", summary, {"rows": rows, "args": vars(args)}))


if __name__ == "__main__":
    main()
