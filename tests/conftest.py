"""Shared test set-up: smoke budget, no progress bars, float64 helpers."""
import os

os.environ.setdefault("VALLEYLIB_BUDGET", "smoke")
os.environ.setdefault("VALLEYLIB_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # pytest-xdist runs two workers on two cores: one thread each


@pytest.fixture
def gen():
    """A seeded CPU generator (tests are deterministic)."""
    return torch.Generator().manual_seed(1234)
