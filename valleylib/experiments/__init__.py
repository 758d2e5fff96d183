"""Named reproductions: ``Config -> run -> result -> scorecard``.

Each module in this package defines ``EXPERIMENT``, an :class:`Experiment`. The registry
discovers them, so adding a reproduction means adding one module. Chapters and the command
line call the same :func:`reproduce`, at the budget in force, and plot from its result.
"""
from __future__ import annotations

import importlib
import pkgutil
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch

from ..budget import BUDGETS, current_budget
from ..device import check_device, default_device, describe_device
from ..storage import jsonable, prepare_out_dir, save_figure, write_json
from ..tables import Table, scorecard_table

__all__ = ["Experiment", "Report", "experiments", "get_experiment", "reproduce", "to_jsonable"]


@dataclass(frozen=True)
class Experiment:
    """A reproduction.

    Attributes:
        name: CLI name (``python -m valleylib reproduce NAME``).
        title: one line.
        configs: a frozen config per budget (``smoke``, ``default``, ``full``).
        run: ``(config, device, out_dir, progress) -> result`` (a JSON-serialisable dict).
        scorecard: ``result -> list[Check]``.
        figures: optional ``result -> {name: matplotlib Figure}``, saved as PNG by the CLI.
        probe: optional ``() -> dict``: a tiny instance of the ``full`` config, run on the CPU,
            reduced to rounding-proof quantities; it fingerprints the code behind a recorded full
            run (:mod:`valleylib.full_runs`).
    """

    name: str
    title: str
    configs: Mapping[str, Any]
    run: Callable[..., dict]
    scorecard: Callable[[dict], list]
    figures: Optional[Callable[[dict], dict]] = None
    probe: Optional[Callable[[], dict]] = None

    def __post_init__(self):
        missing = [b for b in BUDGETS if b not in self.configs]
        if missing:
            raise ValueError(f"experiment {self.name!r}: configs lack budget(s) {missing}")


@dataclass
class Report:
    """What :func:`reproduce` returns (and the CLI writes as ``NAME.json``)."""

    name: str
    budget: str
    device: str
    config: Any
    result: dict
    scorecard: list
    seconds: float
    versions: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """No check failed (undecided checks, ``passed is None``, do not fail a report)."""
        return all(c.passed is not False for c in self.scorecard)

    def figures(self) -> dict:
        """The experiment's figures of this run, by name (``report.figures()["fraction"]``): the
        one way pages get them."""
        return get_experiment(self.name).figures(self.result)

    def find(self, **key: Any) -> list:
        """The checks whose :attr:`~valleylib.scorecard.Check.key` holds every ``name=value``
        given (``report.find(kind="fraction", k=8, n=8)``), in scorecard order."""
        from ..scorecard import find_checks

        return find_checks(self.scorecard, **key)

    def table(self) -> Table:
        """The scorecard as a :class:`~valleylib.tables.Table` (HTML in a notebook, text by ``str``)."""
        return scorecard_table(self.scorecard, title=f"Scorecard: {self.name} at the {self.budget!r} budget")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "budget": self.budget,
            "device": self.device,
            "seconds": round(self.seconds, 3),
            "versions": self.versions,
            "config": to_jsonable(self.config),
            "result": to_jsonable(self.result),
            "scorecard": [c.to_dict() for c in self.scorecard],
            "passed": self.passed,
        }


def to_jsonable(x: Any) -> Any:
    """Convert dataclasses, tensors and numpy values into JSON-friendly Python objects
    (non-finite floats as ``"nan"``, ``"inf"``, ``"-inf"``; see :func:`valleylib.storage.jsonable`)."""
    return jsonable(x)


_REGISTRY: dict[str, Experiment] = {}


def experiments() -> dict[str, Experiment]:
    """All registered experiments, by name (modules of this package are imported once)."""
    if not _REGISTRY:
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            exp = getattr(module, "EXPERIMENT", None)
            if isinstance(exp, Experiment):
                _REGISTRY[exp.name] = exp
    return dict(sorted(_REGISTRY.items()))


def get_experiment(name: str) -> Experiment:
    """The registered experiment called ``name`` (``ValueError`` naming the known ones otherwise)."""
    registry = experiments()
    if name not in registry:
        raise ValueError(f"name={name!r}: no such experiment; expected one of {', '.join(registry)}")
    return registry[name]


def _full_notice(name: str) -> str:
    """What a reader is told before a ``full`` run starts: how long the recorded one took."""
    from ..full_runs import full_run

    run = full_run(name)
    if run is None:
        return (f"{name}: starting the full (paper-scale) budget; no full run is recorded, so its "
                "time is unknown (set VALLEYLIB_BUDGET=default for the laptop size)")
    return (f"{name}: starting the full (paper-scale) budget; the recorded full run took "
            f"{run.seconds / 60:.1f} min on {run.machine} (set VALLEYLIB_BUDGET=default for the "
            "laptop size)")


def reproduce(
    name: str,
    budget: Optional[str] = None,
    *,
    device: Optional[torch.device | str] = None,
    out: Optional[str | Path] = None,
    progress: Optional[bool] = None,
    config: Any = None,
) -> Report:
    """Run experiment ``name`` at a budget and score it.

    Args:
        name: a registered experiment (see ``python -m valleylib list``).
        budget: ``smoke``, ``default`` or ``full``; ``None`` resolves it (:func:`~valleylib.budget.current_budget`).
        device: where to compute; defaults to :func:`~valleylib.device.default_device`.
        out: a folder: write ``NAME.json`` and the experiment's figures (PNG) there, and
            let the experiment keep partial results there for resuming.
        config: override the budget's config (e.g. ``dataclasses.replace(cfg, runs=50)``).
    """
    from .._version import __version__

    exp = get_experiment(name)
    budget = current_budget(budget)
    cfg = config if config is not None else exp.configs[budget]
    dev = check_device(device, "device") if device is not None else default_device()
    # checked before any work starts: a bad folder fails now, not after the run
    out_dir = prepare_out_dir(out, name="out") if out is not None else None
    if budget == "full" and config is None:
        print(_full_notice(name), flush=True)
    t0 = time.perf_counter()
    result = exp.run(cfg, device=dev, out_dir=out_dir, progress=progress)
    seconds = time.perf_counter() - t0
    checks = exp.scorecard(result)
    report = Report(
        name=name,
        budget=budget,
        device=describe_device(dev),
        config=cfg,
        result=result,
        scorecard=checks,
        seconds=seconds,
        versions={"valleylib": __version__, "torch": torch.__version__, "python": platform.python_version()},
    )
    if out_dir is not None:
        write_json(out_dir / f"{name}.json", report.to_dict(), indent=2)
        if exp.figures is not None:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            for fig_name, fig in exp.figures(result).items():
                save_figure(fig, out_dir / f"{name}-{fig_name}.png", dpi=120, bbox_inches="tight")
                plt.close(fig)
    return report
