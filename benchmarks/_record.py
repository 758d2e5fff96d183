"""Write a benchmark's measured figures to benchmarks/results/NAME.json (read by the status page)."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

import torch

from valleylib.storage import write_json

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """A short description of where the benchmark ran."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} GPU, torch {torch.__version__}"
    return f"{os.cpu_count()}-core CPU ({platform.machine()}), torch {torch.__version__}"


def record(name: str, summary: list[str], data: dict) -> Path:
    """Save ``summary`` (lines shown on the status page) and ``data`` (the raw figures)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_json(path, {  # atomic: an interrupted benchmark never leaves a half-written record
        "benchmark": name,
        "date": _dt.date.today().isoformat(),
        "machine": machine(),
        "summary": summary,
        "data": data,
    }, indent=2)
    return path
