"""DSS with batched (breadth-first) bead training against one bead at a time, same pairs.

Sequential: :func:`valleylib.paths.dss` on each pair in turn (depth first, a batch of one bead).
Batched: :func:`valleylib.paths.dss_many` on all pairs at once (every pending bead of every pair
trained as one batch per level). Both build the same strings (checked); only the wall time differs.

Usage::

    python benchmarks/bench_dss.py [--task quadratic|teacher] [--device cpu|cuda] [--pairs 8] [--width 12] [--threads 1]

``quadratic``: Freeman & Bruna's 1-4-4-1 sigmoid MLP on the quadratic target (beads need hundreds of
Adam steps each); ``teacher``: a one-hidden-layer ReLU student of width ``--width``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from valleylib.device import default_device, describe_device
from valleylib.mlp import polynomial_task, teacher_student_task
from valleylib.paths import dss, dss_many, train_to_level


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def main() -> None:
    """Train level-``L0`` end points, join them pairwise with sequential and batched DSS, check both agree, and print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("quadratic", "teacher"), default="quadratic")
    parser.add_argument("--device", default=None)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--width", type=int, default=12)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--level", type=float, default=None, help="L0 (default 0.01 quadratic, 0.02 teacher)")
    parser.add_argument("--bead-iter", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device) if args.device else default_device()
    if args.task == "quadratic":
        task = polynomial_task("quadratic", samples=args.samples, seed=0, device=dev)
        level = args.level or 0.01
    else:
        task = teacher_student_task(d=4, k=3, n=args.width, samples=args.samples, seed=0, device=dev)
        level = args.level or 0.02
    args.level = level
    th0 = task.init(4 * args.pairs, torch.Generator().manual_seed(0))
    th, _, _, ok = train_to_level(task.loss, th0, args.level, lr=1e-2, max_iter=10_000, progress=False)
    good = th[ok]
    m = min(args.pairs, good.shape[0] // 2)
    A, B = good[:m], good[m : 2 * m]
    opts = dict(threshold=args.level, lr=1e-2, max_iter=args.bead_iter, progress=False)
    # warm-up (kernels, autograd)
    dss_many(task.loss, A[:1], B[:1], **{**opts, "max_iter": 5})
    _sync(dev)
    t0 = time.perf_counter()
    seq = [dss(task.loss, A[i], B[i], **opts) for i in range(m)]
    _sync(dev)
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    bat = dss_many(task.loss, A, B, **opts)
    _sync(dev)
    t_bat = time.perf_counter() - t0
    same = all(s.num_beads == b.num_beads and torch.allclose(s.nodes, b.nodes, atol=1e-8) for s, b in zip(seq, bat))
    beads = sum(s.num_beads - 2 for s in seq)
    print(f"device: {describe_device(dev)} | torch {torch.__version__} | threads {torch.get_num_threads()}")
    print(f"task: {task.name} (P={task.num_params}), {args.samples} samples, L0={args.level}, {m} pairs, {beads} trained beads in all")
    print(f"sequential (one bead at a time): {t_seq:8.2f} s")
    print(f"batched (breadth first, all pairs): {t_bat:8.2f} s")
    print(f"speed-up: {t_seq / t_bat:.1f}x | identical strings: {same}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _record import record

    summary = [f"{task.name}: {m} pairs, {beads} beads, L0={args.level}: sequential {t_seq:.1f} s, batched {t_bat:.1f} s, "
               f"speed-up x{t_seq / t_bat:.1f}, identical strings: {same}"]
    data = {"task": task.name, "pairs": m, "beads": beads, "level": args.level, "sequential_s": t_seq,
            "batched_s": t_bat, "identical": same, "threads": torch.get_num_threads(), "device": describe_device(dev)}
    print("wrote", record(f"dss-{args.task}", summary, data))


if __name__ == "__main__":
    main()
