"""Command line: ``python -m valleylib list`` and ``python -m valleylib reproduce NAME``.

Every bad flag or environment value (``--budget``, ``--device``, ``--out``, ``$VALLEYLIB_BUDGET``,
``$VALLEYLIB_DEVICE``, ``$VALLEYLIB_THREADS``) is reported before any work starts, as one line
``python -m valleylib: error: ...`` on stderr with exit code 2, never a traceback. The exit
code is 0 when the scorecard passes and 1 when a check fails; 130 after Ctrl-C (finished parts
are kept in ``--out``, and a rerun resumes from them).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Optional, Sequence

from .budget import BUDGET_ENV, BUDGETS

PROG = "python -m valleylib"


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (no usage block): ``PROG: error: message``."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see {self.prog} --help)" if "argument" in message or "invalid choice" in message else ""
        self.exit(2, f"{PROG}: error: {message}{hint}\n")


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m valleylib``: ``list`` the experiments or ``reproduce`` one; returns the exit code."""
    parser = _Parser(prog=PROG, description="Reproductions of the spurious-valleys book.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list the experiments")
    rep = sub.add_parser("reproduce", help="run an experiment, write NAME.json and figures, print the scorecard")
    rep.add_argument("name")
    rep.add_argument("--budget", default=None,
                     help=f"size: {', '.join(BUDGETS)} (default: $VALLEYLIB_BUDGET, else full on a GPU fast in float64, default otherwise)")
    rep.add_argument("--device", default=None, help="torch device, 'cpu' or 'cuda[:i]' (default: $VALLEYLIB_DEVICE, else cuda if available)")
    rep.add_argument("--out", default="results", help="output folder (default: results); finished parts are kept there for resuming")
    rep.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)

    from .budget import check_budget, current_budget
    from .device import check_device, default_device, set_cpu_threads

    # The environment first, whatever the command: a bad value is an error even for `list`.
    try:
        set_cpu_threads()  # one thread unless $VALLEYLIB_THREADS says otherwise (see its docstring)
        env_device = default_device()  # checks $VALLEYLIB_DEVICE
        if os.environ.get(BUDGET_ENV, "").strip():
            current_budget()  # checks $VALLEYLIB_BUDGET
    except ValueError as err:
        return _fail(str(err))

    from .experiments import experiments, get_experiment, reproduce

    if args.command == "list":
        for name, exp in experiments().items():
            print(f"{name:16s} {exp.title}")
        return 0

    from .storage import prepare_out_dir

    # Then the flags, all before the run starts.
    try:
        get_experiment(args.name)
        device = check_device(args.device, "--device") if args.device is not None else env_device
        budget = current_budget(check_budget(args.budget, "--budget") if args.budget is not None else None)
        out = prepare_out_dir(args.out, name="--out")
    except (ValueError, TypeError) as err:
        return _fail(str(err))
    try:
        report = reproduce(args.name, budget, device=device, out=out, progress=False if args.no_progress else None)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; finished parts are kept in {args.out}, rerun to resume", file=sys.stderr)
        return 130
    except OSError as err:  # e.g. the disk filled up: what was written before is intact
        return _fail(f"could not write under --out {args.out!r}: {err}")
    print(f"{report.name}: budget={report.budget} device={report.device} seconds={report.seconds:.1f}")
    print(report.table())
    print(f"wrote {args.out}/{report.name}.json")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
