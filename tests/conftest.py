"""Shared test set-up: smoke budget, no progress bars, float64 helpers, the devices to test on."""
import os

os.environ.setdefault("VALLEYLIB_BUDGET", "smoke")
os.environ.setdefault("VALLEYLIB_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # pytest-xdist runs two workers on two cores: one thread each

#: The devices the device-parametrised tests run on: the CPU always, CUDA when there is one.
#: ``VALLEYLIB_TEST_DEVICES=cuda`` (comma-separated) narrows them, e.g. scripts/gpu_check.sh.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
if os.environ.get("VALLEYLIB_TEST_DEVICES"):
    DEVICES = [d for d in os.environ["VALLEYLIB_TEST_DEVICES"].split(",") if d in DEVICES] or DEVICES


@pytest.fixture
def gen():
    """A seeded CPU generator (tests are deterministic)."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture(params=DEVICES)
def device(request, monkeypatch) -> torch.device:
    """Each device of ``DEVICES``; the library's default device follows it during the test."""
    monkeypatch.setenv("VALLEYLIB_DEVICE", request.param)
    return torch.device(request.param)


@pytest.fixture
def dgen(device):
    """A seeded generator on the test's device (for library calls that draw on the device)."""
    return torch.Generator(device=device).manual_seed(1234)
