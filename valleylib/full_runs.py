"""Paper-scale (``full``) runs, recorded once and shown beside every live run.

A full run of experiment ``NAME`` is kept as ``benchmarks/results/full-NAME.json`` (shipped with
the package like every record, so a notebook opened alone finds it too, see
:func:`valleylib.book.recorded`). Besides the run's report (config, result, scorecard, device,
versions) a record holds its wall time, where it ran, and two fingerprints of the code:

* ``code_hash``: SHA-256 of every ``valleylib`` source file, the exact code that ran;
* ``fingerprint``: SHA-256 of what the experiment's *probe* computes, a tiny instance of the
  ``full`` config run on the CPU in float64, reduced to quantities that do not depend on rounding
  (labels, counts, risks to six decimals). A change of the code that alters results changes the
  probe, so :meth:`FullRun.is_current` (and a test) detects a stale record, while a refactor or a
  speed-up that changes nothing keeps the record current.

The scorecard shown for a record is recomputed from its stored result by today's scorecard code
(:meth:`FullRun.report`), so the comparison with the papers is computed, never copied.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

__all__ = ["FullRun", "full_run", "full_runs", "full_run_table", "fingerprint", "probe",
           "code_hash", "record_full_run", "PREFIX"]

#: Record names of full runs: ``PREFIX + experiment name``.
PREFIX = "full-"


def code_hash() -> str:
    """SHA-256 over the sources of the ``valleylib`` package (path and bytes of every ``.py``)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def _rounded_text(text: str) -> str:
    """``text`` with every number in it rounded to 3 significant digits, and below ``1e-6`` in
    size to 0: a scorecard's measured strings print rounding noise (``"risk error 8.9e-16"``) and
    iteration counts that may differ in the last digit between CPUs."""
    def one(m: re.Match) -> str:
        x = float(m.group(0))
        return "0" if abs(x) < 1e-6 else f"{x:.3g}"

    return _NUMBER.sub(one, text)


def _rounded(x: Any, digits: int = 4) -> Any:
    """``x`` with every float rounded to ``digits`` significant digits, and below ``1e-9`` in size
    to 0 (rounding noise, e.g. the error of a closed form), numbers inside strings as in
    :func:`_rounded_text`, containers recursively."""
    if isinstance(x, str):
        return _rounded_text(x)
    if isinstance(x, bool) or x is None or isinstance(x, int):
        return x
    if isinstance(x, float):
        if x != x or abs(x) == float("inf"):
            return str(x)
        return 0.0 if abs(x) < 1e-9 else float(f"{x:.{digits - 1}e}")
    if isinstance(x, dict):
        return {str(k): _rounded(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v, digits) for v in x]
    return str(x)


def _scorecard_probe(name: str) -> dict:
    """The probe of an experiment without its own: its ``smoke`` run on the CPU, every check's
    claim, verdict and values to four significant digits, and the ``full`` config."""
    from .experiments import get_experiment, reproduce
    from .storage import jsonable

    rep = reproduce(name, "smoke", device="cpu", progress=False)
    return {"full_config": jsonable(get_experiment(name).configs["full"]),
            "checks": [_rounded(jsonable([c.claim, c.passed, c.published, c.measured]))
                       for c in rep.scorecard]}


def probe(name: str) -> Any:
    """What experiment ``name``'s probe computes (see the module docstring), JSON-ready: its own
    (``Experiment.probe``), or else its ``smoke`` scorecard; seconds to a minute on a CPU."""
    from .experiments import get_experiment
    from .storage import jsonable

    exp = get_experiment(name)
    return jsonable(exp.probe() if exp.probe is not None else _scorecard_probe(name))


def _digest(summary: Any) -> str:
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


def fingerprint(name: str) -> str:
    """SHA-256 of :func:`probe` ``(name)`` (keys sorted), the code fingerprint of a record."""
    return _digest(probe(name))


@dataclass(frozen=True)
class FullRun:
    """A recorded full run (see the module docstring).

    Attributes:
        name: the experiment.
        date: when the record was written (ISO date).
        machine: what it ran on (device, threads, processes).
        seconds: wall time of the run.
        record: the raw record (``data`` holds the report, fingerprints and timings).
    """

    name: str
    date: str
    machine: str
    seconds: float
    record: dict

    @property
    def data(self) -> dict:
        return self.record["data"]

    def report(self):
        """The run as a :class:`~valleylib.experiments.Report`, its scorecard recomputed from the
        stored result by today's code."""
        from .experiments import Report, get_experiment

        exp = get_experiment(self.name)
        rep = self.data["report"]
        return Report(name=self.name, budget=rep["budget"], device=rep["device"],
                      config=rep["config"], result=rep["result"],
                      scorecard=exp.scorecard(rep["result"]), seconds=float(rep["seconds"]),
                      versions=rep.get("versions", {}))

    def is_current(self) -> bool:
        """Whether today's code computes the recorded probe (:func:`fingerprint`)."""
        return fingerprint(self.name) == self.data["fingerprint"]

    def describe(self) -> str:
        """One line: what ran, where, when and how long."""
        return (f"{self.name}: full budget, {self.seconds / 60:.1f} min on {self.machine}, "
                f"recorded {self.date} (valleylib {self.data['report']['versions'].get('valleylib')})")


def full_run(name: str) -> Optional[FullRun]:
    """The recorded full run of experiment ``name``, or ``None`` when none is recorded."""
    from .book import recorded

    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be an experiment name such as 'safran-shamir', got {name!r}")
    rec = recorded(PREFIX + name)
    if rec is None:
        return None
    return FullRun(name, rec["date"], rec["machine"], float(rec["data"]["seconds"]), rec)


def full_runs() -> list[FullRun]:
    """Every recorded full run, by experiment name."""
    from .book import recorded_names

    return [r for n in recorded_names() if n.startswith(PREFIX)
            for r in [full_run(n[len(PREFIX):])] if r is not None]


def _match_claims(full: list, live: list) -> list[tuple[Any, Any]]:
    """Pairs ``(full check, live check)`` (``None`` where one side lacks it): the same claim, or
    else the same claim up to its numbers (``"7 shapes"`` / ``"2 shapes"``) where that is unique
    on both sides; full checks first, in order, then the live run's unmatched ones."""
    def key(c: Any) -> str:
        return _NUMBER.sub("#", c.claim)

    exact = {c.claim: c for c in live}
    pairs: list[list[Any]] = [[f, exact.get(f.claim)] for f in full]
    used = {id(m) for _, m in pairs if m is not None}
    rest = [m for m in live if id(m) not in used]
    alone = [p for p in pairs if p[1] is None]
    for p in alone:
        same = [m for m in rest if key(m) == key(p[0])]
        if len(same) == 1 and sum(key(q[0]) == key(p[0]) for q in alone) == 1:
            p[1] = same[0]
            rest.remove(same[0])
    return [(f, m) for f, m in pairs] + [(None, m) for m in rest]


def full_run_table(name: str, live: Any = None) -> Any:
    """The recorded full run of experiment ``name`` beside a live run, for a chapter's page.

    Prints :meth:`FullRun.describe` and whether the record is current, and returns a
    :class:`~valleylib.tables.Table` with one row per check (matched by its claim): the published
    value, the live run's measurement and verdict (when ``live``, a
    :class:`~valleylib.experiments.Report` of ``name``, is given), and the full run's, its scorecard
    recomputed from the stored result by today's code. Returns ``None``, after saying so and how
    to record one, when no full run of ``name`` is recorded.
    """
    from .book import MISSING_RECORD
    from .experiments import Report
    from .tables import Column, Table, mark

    if live is not None and not (isinstance(live, Report) and live.name == name):
        raise TypeError(f"live: expected None or a Report of {name!r}, got "
                        f"{getattr(live, 'name', type(live).__name__)!r}")
    run = full_run(name)
    if run is None:
        print(f"No full run of {name} is recorded {MISSING_RECORD}: record one with "
              f"`python benchmarks/record_full.py {name} --out benchmarks/results`.")
        return None
    current = run.is_current()
    print(run.describe())
    print("Today's code computes the recorded probe: "
          + ("yes (the record is current)." if current else "NO: the record is stale (rerun it)."))
    full = run.report().scorecard
    verdicts = [c.passed for c in full]
    print(f"At full scale: {verdicts.count(True)} checks pass, {verdicts.count(False)} fail, "
          f"{verdicts.count(None)} are n/a.")
    for c in full:
        if c.passed is False:
            print(f"  fails at full scale: {c.headline} (measured {c.measured}, published {c.published})")
    pairs = _match_claims(full, live.scorecard if live is not None else [])
    rows = []
    for f, m in pairs:
        claim = (f or m).claim
        published = (f or m).published
        row = [claim, published]
        if live is not None:
            row += [m.measured if m else None, mark(m.passed) if m else None]
        row += [f.measured if f else None, mark(f.passed) if f else None]
        rows.append(row)
    cols = [Column("claim", align="left"), Column("published", align="right")]
    if live is not None:
        cols += [Column(f"{live.budget}: measured", align="right"), Column("verdict", align="left")]
    cols += [Column("full: measured", align="right"), Column("verdict", align="left")]
    fails = sum(c.passed is False for c in full)
    undecided = sum(c.passed is None for c in full)
    return Table(cols, rows, title=f"{name}: the recorded full run" + (" beside this live run" if live is not None else ""),
                 notes=f"full run: {len(full)} checks, {fails} failed, {undecided} n/a"
                       + ("" if current else " (STALE record)"))


def record_full_run(report: Any, *, seconds: float, machine: str, folder: Path,
                    notes: tuple[str, ...] = (), sources: Optional[str] = None) -> Path:
    """Write ``report`` (a full-budget :class:`~valleylib.experiments.Report` or its dict) as the
    record ``folder/full-NAME.json`` (atomically), with its fingerprints and ``seconds`` of wall
    time on ``machine``. ``sources`` is the :func:`code_hash` taken when the run started (the
    code that ran, even if files changed during a long run); default: now."""
    from .storage import write_json

    rep = report if isinstance(report, dict) else report.to_dict()
    if rep.get("budget") != "full":
        raise ValueError(f"report: expected a run at the 'full' budget, got {rep.get('budget')!r}")
    if not (isinstance(seconds, (int, float)) and seconds > 0):
        raise ValueError(f"seconds: expected the positive wall time of the run, got {seconds!r}")
    name = rep["name"]
    fails = sum(c.get("pass") is False for c in rep["scorecard"])
    summary = [f"{name} at the full budget: {seconds / 60:.1f} min wall time on {machine}",
               f"{len(rep['scorecard'])} checks, {fails} failed (scorecard at recording time)",
               *notes]
    summary_probe = probe(name)
    data = {"report": rep, "seconds": float(seconds), "fingerprint": _digest(summary_probe),
            "probe": summary_probe,
            "code_hash": sources if sources is not None else code_hash(), "python": platform.python_version(),
            "torch": torch.__version__, "cpu_count": os.cpu_count()}
    return write_json(Path(folder) / f"{PREFIX}{name}.json", {
        "benchmark": PREFIX + name, "date": _dt.date.today().isoformat(), "machine": machine,
        "summary": summary, "data": data})
