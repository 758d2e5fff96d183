"""One line that tells a reader what a page ran with."""
from __future__ import annotations

import torch

from .budget import current_budget
from .device import default_device, describe_device


def session_info() -> str:
    """``'valleylib 0.1.0 | torch 2.x | device: cpu (2 threads) | budget: default'``."""
    from ._version import __version__

    return (
        f"valleylib {__version__} | torch {torch.__version__} | device: {describe_device(default_device())}"
        f" | budget: {current_budget()}"
    )
