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

__all__ = ["default_device", "describe_device", "set_cpu_threads", "check_device", "check_threads", "DEVICE_ENV",
           "THREADS_ENV"]

#: Environment variable that overrides :func:`default_device`.
DEVICE_ENV = "VALLEYLIB_DEVICE"
#: Environment variable that sets the CPU thread count (:func:`set_cpu_threads`).
THREADS_ENV = "VALLEYLIB_THREADS"


def check_device(device, source: str = "device") -> torch.device | None:
    """Parse and check a device where valleylib can compute: the CPU, or CUDA when available.

    ``None`` passes through (callers then use :func:`default_device` or the inputs' device).

    ``source`` names where the value came from in the error (``"device"``, ``"--device"``,
    ``"VALLEYLIB_DEVICE"``), so the flag, the environment variable and the argument give the
    same message.

    Raises:
        ValueError: an unknown device name; CUDA (or a CUDA index) that this machine lacks; any
            other device type (``mps``, ``meta``, ...): valleylib computes in float64, which
            ``mps`` lacks, and ``meta`` tensors hold no numbers.
        TypeError: ``device`` is neither a string nor a :class:`torch.device`.
    """
    if device is None:
        return None
    shown = f"{source} {str(device)!r}" if source.startswith("-") else f"{source}={str(device)!r}"
    if isinstance(device, str):
        name = device.strip()
        try:
            parsed = torch.device(name)
        except (RuntimeError, ValueError) as err:
            raise ValueError(f"{shown} is not a torch device name; expected e.g. 'cpu' or 'cuda'") from err
    elif isinstance(device, torch.device):
        parsed = device
    else:
        raise TypeError(f"{shown}: expected a device name (str) or a torch.device, got {type(device).__name__}")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{shown} but CUDA is not available on this machine; expected 'cpu'")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(f"{shown} but this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif parsed.type != "cpu":
        raise ValueError(f"{shown}: valleylib computes on 'cpu' or 'cuda' (float64), not on {parsed.type!r}")
    return parsed


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
        return check_device(requested, DEVICE_ENV)
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def describe_device(device: torch.device | str | None = None) -> str:
    """A one-line human description, e.g. ``'cpu (2 threads)'`` or ``'cuda:0 (NVIDIA H100)'``."""
    device = default_device() if device is None else check_device(device, "device")
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def check_threads() -> int:
    """The thread count that ``$VALLEYLIB_THREADS`` asks for (1 when unset).

    Raises:
        ValueError: naming the variable, when it is not a positive integer.
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if not env:
        return 1
    try:
        threads = int(env)
    except ValueError as err:
        raise ValueError(f"{THREADS_ENV}={env!r}: expected a positive integer") from err
    if threads < 1:
        raise ValueError(f"{THREADS_ENV}={env!r}: expected a positive integer")
    return threads


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
        threads = check_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads={threads!r}: expected a positive integer")
    torch.set_num_threads(threads)
    return threads
