"""Results on disk: atomic writes, one JSON convention, resumable parts.

Every file that :mod:`valleylib` writes (a report ``NAME.json``, a resume part, a figure, a
benchmark record) goes through this module, so that

- **a write is atomic**: the bytes go to a temporary file in the destination's folder, are
  flushed to disk (``fsync``) and then renamed over the destination (``os.replace``, atomic on
  POSIX and Windows). An interrupt, a killed process or a full disk leaves either the old file or
  the new one, never a half-written one (at worst a stray ``.NAME.*.tmp`` beside it);
- **JSON has one convention for non-finite numbers**: ``nan``, ``inf`` and ``-inf`` are written as
  the strings ``"nan"``, ``"inf"`` and ``"-inf"`` (bare ``NaN`` tokens are not JSON), and
  :func:`read_json` turns those strings back into floats;
- **a corrupt or truncated resume file is reported by name and recomputed** (:func:`read_json`
  warns and returns ``None``), instead of blocking every later run.

:class:`Parts` stores the finished parts of a long run (one file per part, keyed by the config
and the random-generator state at the start of the part), so that an interrupted run resumes.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import tempfile
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch

__all__ = [
    "jsonable", "decode_nonfinite", "atomic_write_bytes", "write_text", "write_json", "save_figure",
    "read_json", "prepare_out_dir", "Parts", "CorruptFileWarning",
]

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class CorruptFileWarning(UserWarning):
    """A stored file could not be read (truncated, empty or not JSON); it is recomputed."""


def _float(x: float) -> Any:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def jsonable(x: Any) -> Any:
    """Convert ``x`` into plain JSON values.

    Dataclasses become dicts, tensors and numpy arrays nested lists, numpy and 0-d tensor
    scalars Python numbers; mapping keys become strings; non-finite floats become ``"nan"``,
    ``"inf"`` or ``"-inf"``.

    >>> jsonable({"a": (1.0, float("nan")), 2: float("-inf")})
    {'a': [1.0, 'nan'], '2': '-inf'}
    """
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        return _float(x)
    if is_dataclass(x) and not isinstance(x, type):
        if hasattr(x, "to_dict"):
            return jsonable(x.to_dict())
        return jsonable(asdict(x))
    if isinstance(x, torch.Tensor):
        return jsonable(x.detach().cpu().tolist())
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item) and getattr(x, "ndim", 1) == 0:
        return jsonable(x.item())
    if hasattr(x, "tolist"):
        return jsonable(x.tolist())
    if hasattr(x, "to_dict"):
        return jsonable(x.to_dict())
    return x


def decode_nonfinite(x: Any) -> Any:
    """Inverse of :func:`jsonable`'s convention: the strings ``"nan"``, ``"inf"``, ``"-inf"``
    (anywhere in nested lists and dicts) become floats again.

    >>> decode_nonfinite({"a": ["nan", 1.0, "inf"]})
    {'a': [nan, 1.0, inf]}
    """
    if isinstance(x, str):
        return _NONFINITE.get(x, x)
    if isinstance(x, list):
        return [decode_nonfinite(v) for v in x]
    if isinstance(x, dict):
        return {k: decode_nonfinite(v) for k, v in x.items()}
    return x


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename).

    The file gets the usual permissions (``0o666`` less the umask), like :func:`open` would give.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (best effort: not every platform opens folders)
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any, *, indent: Optional[int] = None) -> Path:
    """Write ``jsonable(obj)`` to ``path`` atomically; non-finite numbers as ``"nan"``/``"inf"``."""
    text = json.dumps(jsonable(obj), indent=indent, allow_nan=False)
    return write_text(path, text + "\n")


def save_figure(fig, path: str | Path, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    path = Path(path)
    fmt = savefig_kwargs.pop("format", None) or path.suffix.lstrip(".") or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, **savefig_kwargs)
    return atomic_write_bytes(path, buf.getvalue())


def read_json(path: str | Path, *, decode: bool = True) -> Any:
    """Read a JSON file written by :func:`write_json`.

    Returns ``None`` when the file does not exist, and also, with a :class:`CorruptFileWarning`
    naming the file, when it is empty, truncated or not JSON (the caller recomputes it). With
    ``decode``, ``"nan"``/``"inf"``/``"-inf"`` strings become floats (:func:`decode_nonfinite`).
    Older files with bare ``NaN``/``Infinity`` tokens are read too.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        warnings.warn(f"{path}: unreadable ({err}); recomputing it", CorruptFileWarning, stacklevel=2)
        return None
    try:
        data = json.loads(text)
    except ValueError as err:
        what = "empty" if not text.strip() else f"truncated or not JSON ({err})"
        warnings.warn(f"{path}: {what}; recomputing it", CorruptFileWarning, stacklevel=2)
        return None
    return decode_nonfinite(data) if decode else data


def prepare_out_dir(out: str | Path, *, name: str = "out") -> Path:
    """Check that ``out`` can be the output folder, create it, and return it as a :class:`Path`.

    Done before any work starts, so that a bad path fails at once, not after a long run.

    Raises:
        ValueError: naming ``name`` (e.g. ``--out``) when ``out`` is an existing file, lies under
            a file, or is a folder that cannot be created or written to.
    """
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"{name}={out!r}: expected a folder path (str or os.PathLike)")
    path = Path(out)
    shown = f"{name} {str(out)!r}" if name.startswith("-") else f"{name}={str(out)!r}"
    if str(out).strip() == "":
        raise ValueError(f"{shown}: expected a folder path, got an empty string")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{shown} is an existing file; expected a folder")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{shown} lies under {str(parent)!r}, which is a file; expected a folder")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{shown}: cannot create the folder ({err.strerror or err})") from err
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".valleylib-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{shown}: the folder is not writable ({err.strerror or err})") from err
    return path


def _rng_state(gen: Optional[torch.Generator]) -> Optional[bytes]:
    return None if gen is None else bytes(gen.get_state().cpu().numpy().tobytes())


class Parts:
    """The finished parts of one run, one JSON file each, for resuming.

    ``parts.get(name, key, compute)`` returns the stored value of part ``name`` when its file in
    ``folder`` holds the same ``key`` (the config, the device type, and a digest of the random
    generator's state at the start of the part); otherwise it calls ``compute()``, stores the
    value (atomically) and returns it. When a part is reused, the generator is set to the state it
    had after the part, so that a resumed run draws the same numbers as an uninterrupted one.

    The value returned is always the JSON round trip of ``compute()``'s (non-finite numbers as
    floats), so a fresh and a resumed run return identical results. ``folder=None`` stores nothing.

    Attributes:
        reused: names of the parts read from disk, in order.
        computed: names of the parts computed by this run.
    """

    def __init__(self, folder: Optional[str | Path], *, generator: Optional[torch.Generator] = None):
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.generator = generator
        self.reused: list[str] = []
        self.computed: list[str] = []

    def path(self, name: str) -> Optional[Path]:
        safe = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name)
        return self.folder / f"{safe}.json" if self.folder is not None else None

    def get(self, name: str, key: Any, compute: Callable[[], Any]) -> Any:
        state = _rng_state(self.generator)
        full_key = jsonable({"part": name, "key": key,
                             "rng": hashlib.sha256(state).hexdigest()[:20] if state is not None else None})
        path = self.path(name)
        if path is not None:
            stored = read_json(path, decode=False)
            if isinstance(stored, dict) and stored.get("key") == full_key and "value" in stored:
                after = stored.get("rng_after")
                if self.generator is not None and after is not None:
                    raw = base64.b64decode(after)
                    self.generator.set_state(torch.frombuffer(bytearray(raw), dtype=torch.uint8))
                self.reused.append(name)
                return decode_nonfinite(stored["value"])
        value = jsonable(compute())
        json.dumps(value, allow_nan=False)  # fails here, not at the end, if not serialisable
        self.computed.append(name)
        after = _rng_state(self.generator)
        if path is not None:
            write_json(path, {"key": full_key, "value": value,
                              "rng_after": base64.b64encode(after).decode() if after is not None else None})
        return decode_nonfinite(value)
