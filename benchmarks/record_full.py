"""Run experiment NAME at the ``full`` budget (resuming from DIR) and record it as
benchmarks/results/full-NAME.json, with its wall time, device and code fingerprints.

    VALLEYLIB_WORKERS=2 python benchmarks/record_full.py safran-shamir --out runs/full

A run interrupted part-way keeps its finished parts in DIR; run the same command again to go on.
When every part was already in DIR, pass ``--wall-seconds`` (the wall time measured for the
process that computed them, e.g. by ``/usr/bin/time``): the record says which it is.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402

from valleylib.experiments import reproduce  # noqa: E402
from valleylib.full_runs import code_hash, record_full_run  # noqa: E402


def machine(device: str, workers: int) -> str:
    """One line naming where the run happened: the GPU, or the CPU cores, processes and threads (with the torch version)."""
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(0)} GPU, torch {torch.__version__}"
    return (f"{os.cpu_count()}-core CPU ({platform.machine()}), {workers} process(es) of "
            f"{torch.get_num_threads() if workers == 1 else 1} thread(s), torch {torch.__version__}")


def main() -> None:
    """Reproduce NAME at the ``full`` budget (resuming from ``--out``) and record it with its wall time and machine."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name")
    p.add_argument("--out", required=True, help="folder for the run's parts (resumable)")
    p.add_argument("--device", default=None)
    p.add_argument("--wall-seconds", type=float, default=None,
                   help="wall time of the process that computed the parts already in --out")
    p.add_argument("--note", action="append", default=[], help="a line for the record's summary")
    args = p.parse_args()
    workers = int(os.environ.get("VALLEYLIB_WORKERS", "1"))
    sources = code_hash()  # the code that runs, taken before a long run
    t = time.perf_counter()
    report = reproduce(args.name, "full", device=args.device, out=args.out)
    wall = time.perf_counter() - t
    reused = report.result.get("rows_reused", 0) if isinstance(report.result, dict) else 0
    notes = list(args.note)
    if args.wall_seconds is not None:
        notes.append(f"wall time measured for the process that computed the parts ({reused} "
                     f"reused here, recording took {wall:.0f} s)")
        wall = args.wall_seconds
    elif reused:
        notes.append(f"resumed: {reused} parts were reused from {args.out}; the wall time is "
                     "that of this last part only")
    rows = report.result.get("rows") if isinstance(report.result, dict) else None
    if rows and all("seconds" in r for r in rows):
        notes.append(f"per-part times sum to {sum(r['seconds'] for r in rows) / 60:.1f} min")
    from valleylib.device import default_device

    dev = str(torch.device(args.device) if args.device else default_device())
    path = record_full_run(report, seconds=wall, machine=machine(dev, workers),
                           folder=HERE / "results", notes=tuple(notes), sources=sources)
    print("wrote", path, f"({wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
