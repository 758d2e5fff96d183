"""Print the book build's watchdog limit in seconds, sized from the measured chapter times.

    python scripts/build_timeout.py [BUDGET]      (default: the budget in force)

The limit is ``3 x`` the sum of the chapter times recorded for the budget
(``benchmarks/results/chapter-times-BUDGET.json``) plus 600 s for Sphinx itself. Nothing is
printed when no times are recorded for the budget (then ``make book`` runs without a watchdog).

Why a watchdog beside ``execute.timeout`` in ``_config.yml``: in the hang of issue 14 nbclient
waits inside the shell channel's poll for an execute reply that never wakes it, and its per-cell
timeout never fires (``scripts/hang_check.py`` showed a client stuck for minutes past a 60 s
per-cell timeout). The explorers no longer trigger it; the watchdog makes any such hang a failed
build with a message instead of an endless one.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACTOR, SPHINX_SECONDS = 3, 600


def limit(budget: str, results: Path = ROOT / "benchmarks" / "results") -> int | None:
    """Watchdog seconds for ``budget``: ``FACTOR x`` the recorded chapter times ``+ SPHINX_SECONDS``; None when none are recorded."""
    path = results / f"chapter-times-{budget}.json"
    if not path.exists():
        return None
    seconds = json.loads(path.read_text())["data"]["seconds"]
    return int(FACTOR * sum(seconds.values()) + SPHINX_SECONDS)


def main(argv: list[str]) -> int:
    """Print the limit for ``argv[1]`` (default: the budget in force), or nothing when no chapter times are recorded."""
    if len(argv) > 1:
        budget = argv[1]
    else:
        sys.path.insert(0, str(ROOT))
        from valleylib.budget import current_budget

        budget = current_budget()
    value = limit(budget)
    if value is not None:
        print(value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
