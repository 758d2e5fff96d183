"""Execute the chapter explorers (or a whole chapter) many times with nbclient and count hangs.

    python scripts/hang_check.py [--times 20] [--timeout 60] [--load 2] [--chapter safran_shamir]
                                 [--updates 40] [--cells 40] [--valleylib PATH]

Issue 14: a book build once waited forever on the Safran-Shamir chapter's explorer cell (kernel
idle, client in ``epoll_wait``). The explorers captured their figure with ``with out:`` on an
ipywidgets ``Output``; nbclient then answers every captured output with a widget-state message
sent on the shell channel from its iopub task, while the main task waits on that channel for the
cell's execute reply. This script repeats the executions (by default a small notebook with just
the two explorers, which takes seconds; ``--chapter`` runs a chapter at the smoke budget), with
``--load`` busy processes competing for the CPU, and reports how many executions passed the
per-cell timeout. ``--updates N`` adds one cell with N explorer updates, ``--cells N`` adds N short
cells that each end with one (the computation cached: only the output path is exercised, so a
timed-out cell is a hang, not a slow one). ``--valleylib PATH`` puts another copy of the package first on the kernel's
path (e.g. an export of an older commit, to reproduce the hang before the fix).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
from nbclient.output_widget import OutputWidget

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    "import valleylib as vl\nfrom valleylib.widgets import spurious_minima_explorer, low_risk_explorer",
    "explorer = spurious_minima_explorer(k=4, n=4, runs=4, max_k=6)\nexplorer.widget",
    "explorer.update()\nexplorer.widget",
    "lr = low_risk_explorer('relu', k=3, n=4, runs=4, max_k=4)\nlr.widget",
    "assert explorer.last['runs'] == 4 and len(lr.last['risks']) == 4",
]

# Many explorer updates in one cell, with the computation cached so that only the way the figure
# reaches the Output widget is exercised (each update takes a fraction of a second, far below the
# timeout: a timed-out cell here is a hang, not a slow computation).
STRESS = """import time
import valleylib.widgets as W
cached = W.explore_spurious_minima(4, 4, 4)
W.explore_spurious_minima = lambda *a, **k: cached
t0 = time.perf_counter()
for _ in range({updates}):
    explorer.update()
print(f"{updates} updates in {{time.perf_counter() - t0:.1f}} s")
explorer.widget"""

CACHE = """import valleylib.widgets as W
cached = W.explore_spurious_minima(4, 4, 4)
W.explore_spurious_minima = lambda *a, **k: cached"""


def _busy(stop) -> None:  # one core's worth of load
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def notebook(chapter: str | None, updates: int = 0, cells: int = 0) -> tuple[nbformat.NotebookNode, Path]:
    """The notebook to execute and its folder: ``chapter``'s twin, or one with the explorers (plus ``updates`` and ``cells`` stress cells)."""
    if chapter:
        path = ROOT / "chapters" / f"{chapter}.ipynb"
        return nbformat.read(path, as_version=4), path.parent
    nb = nbformat.v4.new_notebook()
    sources = CELLS + ([STRESS.format(updates=updates)] if updates else [])
    if cells:  # many short cells, each ending with the explorer's figure reaching its Output widget
        sources += [CACHE] + ["explorer.update()\nexplorer.widget"] * cells
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb, ROOT


def _slowest_cell(nb) -> float:
    """Longest time from a cell's start (iopub execute_input) to its execute reply, in seconds."""
    from datetime import datetime

    worst = 0.0
    for cell in nb.cells:
        ex = cell.get("metadata", {}).get("execution", {})
        a, b = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
        if a and b:
            worst = max(worst, (datetime.fromisoformat(b.rstrip("Z")) - datetime.fromisoformat(a.rstrip("Z"))).total_seconds())
    return worst


SHELL_SENDS = [0]  # widget-state messages nbclient sent on the shell channel from its iopub task


def _count_sends(original):
    def send(self, *args, **kwargs):
        SHELL_SENDS[0] += 1
        return original(self, *args, **kwargs)

    return send


def main(argv: list[str] | None = None) -> int:
    """Execute the notebook ``--times`` times under ``--load`` busy processes and report how many executions hung."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("--timeout", type=int, default=60, help="per-cell timeout in seconds")
    parser.add_argument("--watchdog", type=int, default=300, help="seconds for a whole execution")
    parser.add_argument("--load", type=int, default=0, help="busy processes running meanwhile")
    parser.add_argument("--chapter", default=None, help="a chapter stem (default: the explorers only)")
    parser.add_argument("--updates", type=int, default=0,
                        help="extra explorer updates in one cell (more widget output messages per cell)")
    parser.add_argument("--cells", type=int, default=0,
                        help="extra short cells, each ending with an explorer update (more chances of the race)")
    parser.add_argument("--valleylib", default=None, help="folder holding the valleylib package to test")
    args = parser.parse_args(argv)
    os.environ.setdefault("VALLEYLIB_BUDGET", "smoke")
    os.environ.setdefault("VALLEYLIB_PROGRESS", "0")
    os.environ.setdefault("VALLEYLIB_THREADS", "1")
    # No MPLBACKEND=Agg: under Agg `plt.show()` displays nothing, and the old explorers then sent
    # no figure through their Output widget; a book build runs the kernel's inline backend.
    os.environ.pop("MPLBACKEND", None)
    pkg = str(Path(args.valleylib).resolve()) if args.valleylib else str(ROOT)
    os.environ["PYTHONPATH"] = os.pathsep.join([pkg, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    OutputWidget.send = _count_sends(OutputWidget.send)
    stop = mp.Event()
    workers = [mp.Process(target=_busy, args=(stop,), daemon=True) for _ in range(args.load)]
    for w in workers:
        w.start()
    hangs, errors, times = 0, 0, []
    try:
        for i in range(args.times):
            nb, cwd = notebook(args.chapter, args.updates, args.cells)
            t0 = time.perf_counter()
            client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(cwd)}})
            try:
                # A watchdog over the whole execution: in the hang, nbclient waits in the shell
                # channel's poll and its own per-cell timeout never fires (seen here).
                asyncio.run(asyncio.wait_for(client.async_execute(), args.watchdog))
                status = f"ok, slowest cell {_slowest_cell(nb):.1f} s"
            except asyncio.TimeoutError:
                hangs += 1
                status = f"HANG (no execute reply; watchdog {args.watchdog} s, per-cell timeout {args.timeout} s did not fire)"
            except CellTimeoutError as err:
                hangs += 1
                status = f"HANG ({str(err).splitlines()[0]})"
            except Exception as err:  # noqa: BLE001 - report and go on
                if time.perf_counter() - t0 >= args.watchdog:  # the watchdog's cancellation, seen
                    hangs += 1  # as e.g. DeadKernelError while nbclient cleans up
                    status = f"HANG (watchdog {args.watchdog} s; then {type(err).__name__})"
                    times.append(time.perf_counter() - t0)
                    print(f"run {i + 1}/{args.times}: {status} ({SHELL_SENDS[0]} widget messages so far)", flush=True)
                    continue
                errors += 1
                status = f"error {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            times.append(time.perf_counter() - t0)
            print(f"run {i + 1}/{args.times}: {status} in {times[-1]:.1f} s "
                  f"({SHELL_SENDS[0]} widget messages on the shell channel so far)", flush=True)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=5)
    print(f"valleylib from {pkg}: {hangs} hang(s), {errors} error(s) in {args.times} executions "
          f"(timeout {args.timeout} s per cell, load {args.load}, updates {args.updates}, cells {args.cells}); "
          f"{SHELL_SENDS[0]} widget messages sent on the shell channel by the client's output-widget "
          f"handler; median {sorted(times)[len(times) // 2]:.1f} s")
    return 1 if hangs or errors else 0


if __name__ == "__main__":
    sys.exit(main())
