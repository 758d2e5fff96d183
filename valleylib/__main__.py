"""Command line: ``python -m valleylib list`` and ``python -m valleylib reproduce NAME``."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .budget import BUDGETS


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m valleylib", description="Reproductions of the spurious-valleys book.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments")
    rep = sub.add_parser("reproduce", help="run an experiment, write NAME.json and figures, print the scorecard")
    rep.add_argument("name")
    rep.add_argument("--budget", choices=BUDGETS, default=None, help="size (default: $VALLEYLIB_BUDGET, else full on a GPU, default on a CPU)")
    rep.add_argument("--device", default=None, help="torch device (default: $VALLEYLIB_DEVICE, else cuda if available)")
    rep.add_argument("--out", default="results", help="output folder (default: results)")
    rep.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)

    from .device import set_cpu_threads
    from .experiments import experiments, reproduce

    set_cpu_threads()  # one thread unless $VALLEYLIB_THREADS says otherwise (see its docstring)

    if args.command == "list":
        for name, exp in experiments().items():
            print(f"{name:16s} {exp.title}")
        return 0
    try:
        report = reproduce(args.name, args.budget, device=args.device, out=args.out, progress=False if args.no_progress else None)
    except ValueError as err:
        parser.error(str(err))
    print(f"{report.name}: budget={report.budget} device={report.device} seconds={report.seconds:.1f}")
    print(report.table())
    print(f"wrote {args.out}/{report.name}.json")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
