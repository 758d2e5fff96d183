"""Execute every chapter notebook at a budget and record its wall time.

    python scripts/time_chapters.py [--budget default] [--threads N]

Writes benchmarks/results/chapter-times-BUDGET.json (read by the status page and the course
guide). Each chapter runs in a fresh kernel, one after the other, on the machine at hand.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import record  # noqa: E402

NOT_CHAPTERS = {"status", "course_guide"}


def main() -> int:
    """Execute each chapter notebook at ``--budget`` in a fresh kernel and record its wall time in ``chapter-times-BUDGET.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="default", choices=["smoke", "default", "full"])
    parser.add_argument("--only", nargs="*", help="chapter stems to time (default: all)")
    args = parser.parse_args()
    os.environ["VALLEYLIB_BUDGET"] = args.budget
    os.environ["VALLEYLIB_PROGRESS"] = "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    times: dict[str, float] = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        if path.stem in NOT_CHAPTERS or (args.only and path.stem not in args.only):
            continue
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        times[path.stem] = round(time.perf_counter() - t0, 1)
        print(f"{path.stem}: {times[path.stem]:.1f} s", flush=True)
    previous = ROOT / "benchmarks" / "results" / f"chapter-times-{args.budget}.json"
    if args.only and previous.exists():  # timing a subset keeps the other chapters' records
        import json

        times = {**json.loads(previous.read_text())["data"]["seconds"], **times}
    summary = [f"{stem}: {sec:.0f} s" for stem, sec in sorted(times.items())]
    out = record(f"chapter-times-{args.budget}", summary, {"budget": args.budget, "seconds": times, "cpu_count": os.cpu_count()})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
