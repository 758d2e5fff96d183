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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

__all__ = ["FullRun", "full_run", "full_runs", "fingerprint", "code_hash", "record_full_run",
           "PREFIX"]

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


def _rounded(x: Any, digits: int = 4) -> Any:
    """``x`` with every float rounded to ``digits`` significant digits, and below ``1e-9`` in size
    to 0 (rounding noise, e.g. the error of a closed form), containers recursively."""
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
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


def fingerprint(name: str) -> str:
    """SHA-256 of experiment ``name``'s probe (see the module docstring): its own
    (``Experiment.probe``), or else its ``smoke`` scorecard; seconds to a minute on a CPU."""
    from .experiments import get_experiment
    from .storage import jsonable

    exp = get_experiment(name)
    summary = jsonable(exp.probe() if exp.probe is not None else _scorecard_probe(name))
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


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


def record_full_run(report: Any, *, seconds: float, machine: str, folder: Path,
                    notes: tuple[str, ...] = ()) -> Path:
    """Write ``report`` (a full-budget :class:`~valleylib.experiments.Report` or its dict) as the
    record ``folder/full-NAME.json`` (atomically), with its fingerprints and ``seconds`` of wall
    time on ``machine``."""
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
    data = {"report": rep, "seconds": float(seconds), "fingerprint": fingerprint(name),
            "code_hash": code_hash(), "python": platform.python_version(),
            "torch": torch.__version__, "cpu_count": os.cpu_count()}
    return write_json(Path(folder) / f"{PREFIX}{name}.json", {
        "benchmark": PREFIX + name, "date": _dt.date.today().isoformat(), "machine": machine,
        "summary": summary, "data": data})
