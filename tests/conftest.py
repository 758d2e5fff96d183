"""Shared test set-up: smoke budget, no progress bars, float64 helpers."""
import os

os.environ.setdefault("VALLEYLIB_BUDGET", "smoke")
os.environ.setdefault("VALLEYLIB_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture
def gen():
    """A seeded CPU generator (tests are deterministic)."""
    return torch.Generator().manual_seed(1234)
