"""Where computations run.

This module is the only place in :mod:`valleylib` that asks whether CUDA exists.
Everything else follows the device and dtype of the tensors it is given.

The default device is CUDA when :func:`torch.cuda.is_available` says so and the CPU
otherwise; the environment variable ``VALLEYLIB_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``,
...) overrides that choice. Only ``cpu`` and ``cuda`` devices are accepted (``mps`` has no
float64; ``meta`` tensors hold no data): :func:`check_device` validates a ``device`` argument.
"""
from __future__ import annotations

import os

import torch

__all__ = ["default_device", "describe_device", "check_device", "set_cpu_threads", "DEVICE_ENV"]

#: Environment variable that overrides :func:`default_device`.
DEVICE_ENV = "VALLEYLIB_DEVICE"


def default_device() -> torch.device:
    """Return the device new tensors should be created on.

    ``$VALLEYLIB_DEVICE`` wins when set; otherwise CUDA if available, else the CPU.

    Raises:
        ValueError: if ``$VALLEYLIB_DEVICE`` names an unknown device, or CUDA when
            none is available.

    >>> default_device().type in {"cpu", "cuda"}
    True
    """
    requested = os.environ.get(DEVICE_ENV, "").strip()
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as err:
            raise ValueError(
                f"{DEVICE_ENV}={requested!r} is not a torch device name; expected e.g. 'cpu' or 'cuda'"
            ) from err
        return _check_usable(device, f"{DEVICE_ENV}={requested!r}")
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


#: Device types valleylib computes on (float64 everywhere: ``mps`` has none; ``meta`` holds no data).
SUPPORTED_TYPES = ("cpu", "cuda")


def _check_usable(device: torch.device, what: str) -> torch.device:
    """Reject device types valleylib cannot compute on, and CUDA devices that do not exist here."""
    if device.type not in SUPPORTED_TYPES:
        raise ValueError(
            f"{what}: device type {device.type!r} is not supported; expected 'cpu' or 'cuda' "
            "(valleylib computes in float64, which mps lacks; meta tensors hold no data)"
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{what} but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{what} but this machine has {torch.cuda.device_count()} CUDA "
                "device(s)")
    return device


def check_device(name: str, device) -> torch.device | None:
    """Validate a ``device`` argument (``None`` passes through): a name or :class:`torch.device` of a
    supported type that exists here; a clear ``ValueError``/``TypeError`` naming ``name`` otherwise."""
    if device is None:
        return None
    if isinstance(device, str):
        try:
            device = torch.device(device)
        except RuntimeError as err:
            raise ValueError(
                f"{name}={device!r} is not a torch device name; expected e.g. 'cpu' or "
                "'cuda'") from err
    elif not isinstance(device, torch.device):
        raise TypeError(
            f"{name}: expected a torch.device or a device name, got "
            f"{type(device).__name__}")
    return _check_usable(device, f"{name}={str(device)!r}")


def describe_device(device: torch.device | str | None = None) -> str:
    """A one-line human description, e.g. ``'cpu (2 threads)'`` or ``'cuda:0 (NVIDIA H100)'``."""
    device = default_device() if device is None else check_device("device", device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def set_cpu_threads(threads: int | None = None) -> int:
    """Set torch's intra-op CPU thread count and return it.

    ``valleylib``'s workloads are many tiny batched kernels (thousands of 6x6 to 60x60
    networks). Each kernel then pays OpenMP's thread synchronisation: on a quiet two-core machine
    a second thread gained nothing (``benchmarks/bench_safran_shamir.py``), and while other jobs
    shared the cores two threads were measured 9-13 times *slower* than one. Hence the default:

    - ``threads`` given: use it;
    - else ``$VALLEYLIB_THREADS`` if set;
    - else one thread. Chapters and the command line call this once at start; set
      ``VALLEYLIB_THREADS`` on a large, otherwise idle CPU where big batches may gain from more.

    The setting is process-wide (torch's own); it does not affect CUDA kernels.
    """
    if threads is None:
        env = os.environ.get("VALLEYLIB_THREADS", "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError as err:
                raise ValueError(f"VALLEYLIB_THREADS={env!r}: expected a positive integer") from err
            if threads < 1:
                raise ValueError(f"VALLEYLIB_THREADS={env!r}: expected a positive integer")
        else:
            threads = 1
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads={threads!r}: expected a positive integer")
    torch.set_num_threads(threads)
    return threads
