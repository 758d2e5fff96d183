"""Before/after: the Safran-Shamir protocol of another checkout (e.g. main before the descent engine) and
of this one, with the authors' per-run numpy peer, interleaved in one process (one thread), best of
``--reps``, so that the load of a shared machine hits all three alike.

    python benchmarks/bench_before_after.py --before /work/main --ks 8 10 14
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(root: str):
    for name in [m for m in sys.modules if m == "valleylib" or m.startswith("valleylib.")]:
        del sys.modules[name]
    sys.path.insert(0, root)
    import valleylib.safran_shamir as ss

    sys.path.remove(root)
    return ss


def main() -> None:
    """Time the protocol of ``--before`` and of this checkout against the numpy peer, per k, best of ``--reps``; record the rows."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True)
    p.add_argument("--ks", type=int, nargs="+", default=[8, 10, 14])
    p.add_argument("--batched-runs", type=int, default=200)
    p.add_argument("--numpy-runs", type=int, default=4)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    old = _load(args.before)
    new = _load(str(HERE.parent))
    import torch

    print("before:", old.__file__, "after:", new.__file__)
    assert old.__file__ != new.__file__
    torch.set_num_threads(1)
    sys.path.insert(0, str(HERE))
    from peer_numpy import peer_protocol

    rows = []
    for k in args.ks:
        W0 = new.xavier_init(args.batched_runs, k, k, generator=torch.Generator().manual_seed(k))
        V = new.teacher_identity(k)
        best: dict = {}
        for _ in range(args.reps):
            t = time.perf_counter()
            ends = [peer_protocol(W0[r].numpy(), V.numpy()) for r in range(args.numpy_runs)]
            per_eval = (time.perf_counter() - t) / sum(it + 1 for _, it, _ in ends)
            for tag, mod in (("before", old), ("after", new)):
                for newton in (None, 1e-3):
                    t = time.perf_counter()
                    res = mod.run_protocol(W0, V, newton_below=newton, progress=False)
                    ms = 1e3 * (time.perf_counter() - t) / args.batched_runs
                    key = f"{tag} {'GD' if newton is None else 'GD+Newton'}"
                    best[key] = min(best.get(key, 1e99), ms)
                    if newton is None:
                        its = float((res.iterations + 1).sum())
            peer = 1e3 * per_eval * its / args.batched_runs
            best["peer"] = min(best.get("peer", 1e99), peer)
        row = {"k": k, **{f"{key} ms/run": v for key, v in best.items()}}
        rows.append(row)
        print(f"k=n={k}: " + ", ".join(f"{key} {v:.1f} ms/run (x{best['peer'] / v:.1f})"
                                       for key, v in best.items()), flush=True)
    from _record import record

    summary = [f"k=n={r['k']}: " + "; ".join(
        f"{key[:-7]} {v:.1f} ms/run" + ("" if key.startswith("peer") else f" (x{r['peer ms/run'] / v:.1f})")
        for key, v in r.items() if key != "k") for r in rows]
    summary.insert(0, f"one thread, best of {args.reps}, {args.batched_runs} batched runs, peer on "
                      f"{args.numpy_runs} runs scaled by the iteration counts of all; before = {args.before}")
    print("wrote", record("safran-shamir-before-after", summary, {"rows": rows, "args": vars(args)}))


if __name__ == "__main__":
    main()
