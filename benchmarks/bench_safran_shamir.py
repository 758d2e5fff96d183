"""Per-run milliseconds of the batched Safran-Shamir engine against the authors' per-run numpy peer.

Both follow the same protocol (papers.md §1.3): Xavier init N(0, 1/d), gradient steps 0.1 on the closed-form
population risk with V = I_k, stop when the largest per-neuron gradient norm is <= 1e-9 / (2 pi), restart with a
halved step when it exceeds 1e4. The peer (benchmarks/peer_numpy.py) is our re-implementation of the authors'
follow-up code (one network at a time, neurons as columns, arccos of the clipped Gram matrix); it runs the first
``--numpy-runs`` of the same starts as the batched engine, one CPU thread, in the same process. Runs differ a lot
in length, so the peer's cost for the whole set is also given as its measured cost per iteration times the
iteration counts of all runs (plain GD reproduces the peer's iterates, which the script checks).

    python benchmarks/bench_safran_shamir.py                 # k = n = 8, 10, 14
    python benchmarks/bench_safran_shamir.py --ks 8 --batched-runs 50 --numpy-runs 3

Not part of the test suite: it prints timings and records them in benchmarks/results/safran-shamir.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_numpy import peer_protocol  # noqa: E402

from valleylib.safran_shamir import TOL, run_protocol, teacher_identity, xavier_init  # noqa: E402


def bench(k: int, batched_runs: int, numpy_runs: int, seed: int = 0) -> dict:
    """Per-run milliseconds at k = n = ``k``: the numpy peer on ``numpy_runs`` starts, our GD, GD+Newton and decided runs on ``batched_runs``."""
    gen = torch.Generator().manual_seed(seed + k)
    V = teacher_identity(k, device="cpu")
    W0 = xavier_init(batched_runs, k, k, generator=gen)
    fig: dict = {"k": k, "batched_runs": batched_runs, "numpy_runs": numpy_runs}
    t = time.perf_counter()
    ends = [peer_protocol(W0[r].numpy(), V.numpy()) for r in range(numpy_runs)]
    t_np = time.perf_counter() - t
    fig["peer_ms_per_run_sample"] = 1e3 * t_np / numpy_runs
    per_eval = t_np / sum(it + 1 for _, it, _ in ends)
    for newton in (None, 1e-3):
        tag = "GD" if newton is None else "GD+Newton"
        t = time.perf_counter()
        res = run_protocol(W0, V, newton_below=newton, progress=False)
        dt = time.perf_counter() - t
        fig[f"{tag}_ms_per_run"] = 1e3 * dt / batched_runs
        if newton is None:
            its = res.iterations
            fig["peer_ms_per_run_all"] = 1e3 * per_eval * float((its + 1).sum()) / batched_runs
            fig["mean_iterations"] = float(its.double().mean())
            fig["max_endpoint_diff"] = max(float(np.abs(res.W[r].numpy() - ends[r][0]).max())
                                           for r in range(numpy_runs))
            fig["same_iterations"] = all(int(res.iterations[r]) == ends[r][1] for r in range(numpy_runs))
            fig["_bad"] = res.risk >= 1e-3
    # labels only: runs stop once their risk is below 1e-3 on a monotone descent (the full budget)
    t = time.perf_counter()
    dec = run_protocol(W0, V, newton_below=1e-3, decide_below=1e-3, progress=False)
    fig["GD+Newton+decided_ms_per_run"] = 1e3 * (time.perf_counter() - t) / batched_runs
    fig["decided_runs"] = int(dec.decided.sum())
    fig["same_labels_as_GD"] = bool(((dec.risk >= 1e-3) == (fig.pop("_bad"))).all())
    for tag in ("GD", "GD+Newton", "GD+Newton+decided"):
        fig[f"{tag}_speedup"] = fig["peer_ms_per_run_all"] / fig[f"{tag}_ms_per_run"]
    print(f"k=n={k:2d}: peer {fig['peer_ms_per_run_sample']:.1f} ms/run on its {numpy_runs} runs, "
          f"{fig['peer_ms_per_run_all']:.1f} ms/run for all {batched_runs}; ours GD "
          f"{fig['GD_ms_per_run']:.1f} ms/run (x{fig['GD_speedup']:.1f}), GD+Newton "
          f"{fig['GD+Newton_ms_per_run']:.1f} ms/run (x{fig['GD+Newton_speedup']:.1f}), +decided "
          f"{fig['GD+Newton+decided_ms_per_run']:.1f} ms/run (x{fig['GD+Newton+decided_speedup']:.1f}, "
          f"same labels {fig['same_labels_as_GD']}); same iterates: "
          f"{fig['same_iterations']}, max |dW| {fig['max_endpoint_diff']:.1e}", flush=True)
    return fig


def main() -> None:
    """Run :func:`bench` for every ``--ks`` (one thread) and record the rows in ``benchmarks/results/NAME.json``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", type=int, nargs="+", default=[8, 10, 14])
    p.add_argument("--batched-runs", type=int, default=200)
    p.add_argument("--numpy-runs", type=int, default=8)
    p.add_argument("--name", default="safran-shamir")
    p.add_argument("--label", default="", help="what was measured (e.g. the branch)")
    args = p.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, numpy {np.__version__}, tol = {TOL:.3e}, one thread, "
          f"load average {load:.1f}")
    rows = [bench(k, args.batched_runs, args.numpy_runs) for k in args.ks]
    summary = [f"{args.label} one thread, load average {load:.1f} at the start (shared machine)"]
    for r in rows:
        summary.append(
            f"k=n={r['k']}: authors' per-run numpy peer {r['peer_ms_per_run_all']:.1f} ms/run; batched GD "
            f"{r['GD_ms_per_run']:.1f} ms/run (x{r['GD_speedup']:.1f}); GD+Newton {r['GD+Newton_ms_per_run']:.1f} "
            f"ms/run (x{r['GD+Newton_speedup']:.1f}); same iterates as the peer: {r['same_iterations']}; "
            f"labels only (decided stop) {r['GD+Newton+decided_ms_per_run']:.1f} ms/run "
            f"(x{r['GD+Newton+decided_speedup']:.1f}), same labels as GD: {r['same_labels_as_GD']}")
    from _record import record

    print("wrote", record(args.name, summary, {"rows": rows, "args": vars(args), "load": load}))


if __name__ == "__main__":
    main()
