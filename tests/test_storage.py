"""Results on disk: atomic writes, the JSON convention for non-finite numbers, resumable parts."""
import json
import math
import os

import numpy as np
import pytest
import torch

from valleylib import storage
from valleylib.storage import CorruptFileWarning, Parts, jsonable, prepare_out_dir, read_json, write_json


def test_jsonable_writes_nonfinite_as_strings_everywhere():
    x = {"a": float("nan"), "b": [float("inf"), -math.inf], "t": torch.tensor([1.0, float("nan")]),
         "s": torch.tensor(float("-inf")), "np": np.float64("nan"), "arr": np.array([np.inf, 2.0]), 3: (1, 2)}
    out = jsonable(x)
    assert out == {"a": "nan", "b": ["inf", "-inf"], "t": [1.0, "nan"], "s": "-inf", "np": "nan",
                   "arr": ["inf", 2.0], "3": [1, 2]}
    json.dumps(out, allow_nan=False)  # valid JSON: no bare NaN tokens


def test_write_json_is_valid_json_and_read_json_decodes(tmp_path):
    p = write_json(tmp_path / "r.json", {"x": [float("nan"), 1.5, float("inf")], "name": "relu"})
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)  # strict parse of what was written
    back = read_json(p)
    assert math.isnan(back["x"][0]) and back["x"][1:] == [1.5, math.inf] and back["name"] == "relu"
    assert read_json(tmp_path / "missing.json") is None


def test_read_json_accepts_old_bare_nan_files(tmp_path):
    p = tmp_path / "old.json"
    p.write_text('{"r": NaN}')
    assert math.isnan(read_json(p)["r"])


@pytest.mark.parametrize("content", ["", "   ", '{"k": 6, "n": 6, "risks": [0.1, 0.', "\x00\x00garbage"])
def test_corrupt_file_is_reported_by_name(tmp_path, content):
    p = tmp_path / "row-6-6.json"
    p.write_text(content)
    with pytest.warns(CorruptFileWarning, match="row-6-6.json"):
        assert read_json(p) is None


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    p = write_json(tmp_path / "r.json", {"good": 1})
    before = p.read_bytes()

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", boom)
    with pytest.raises(OSError, match="No space"):
        write_json(p, {"new": list(range(1000))})
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_atomic_write_permissions_follow_umask(tmp_path):
    p = write_json(tmp_path / "r.json", {})
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_json_rejects_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError):
        write_json(tmp_path / "r.json", {"x": object()})
    assert not (tmp_path / "r.json").exists()


def test_save_figure_atomic(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    p = storage.save_figure(fig, tmp_path / "f.png", dpi=50)
    plt.close(fig)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [f.name for f in tmp_path.iterdir()] == ["f.png"]


def test_prepare_out_dir(tmp_path):
    assert prepare_out_dir(tmp_path / "a" / "b").is_dir()
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="--out .*is an existing file"):
        prepare_out_dir(f, name="--out")
    with pytest.raises(ValueError, match="out=.*lies under .*which is a file"):
        prepare_out_dir(f / "sub")
    with pytest.raises(ValueError, match="empty"):
        prepare_out_dir("")
    with pytest.raises(TypeError, match="out="):
        prepare_out_dir(3)
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(ValueError, match="not writable"):
            prepare_out_dir(ro)
    with pytest.raises(ValueError, match="cannot create|not writable"):
        prepare_out_dir("/proc/valleylib-no-such-folder")


def test_parts_reuse_restores_generator_and_recomputes_stale(tmp_path):
    calls = []

    def run(folder, runs):
        gen = torch.Generator().manual_seed(0)
        parts = Parts(folder, generator=gen)
        out = []
        for i in range(3):
            def compute(i=i):
                calls.append(i)
                return {"x": torch.rand(runs, generator=gen), "nan": float("nan")}
            out.append(parts.get(f"part-{i}", {"runs": runs}, compute))
        return out, parts

    fresh, _ = run(None, 4)
    first, p1 = run(tmp_path, 4)
    assert p1.computed == ["part-0", "part-1", "part-2"] and first[0]["x"] == fresh[0]["x"]
    (tmp_path / "part-1.json").unlink()  # as if interrupted during part 1
    calls.clear()
    second, p2 = run(tmp_path, 4)
    assert p2.reused == ["part-0", "part-2"] and calls == [1]
    assert [s["x"] for s in second] == [f["x"] for f in fresh]  # same numbers as an uninterrupted run
    assert math.isnan(second[2]["nan"])
    (tmp_path / "part-0.json").write_text('{"key": ')  # truncated: warned and recomputed
    calls.clear()
    with pytest.warns(CorruptFileWarning, match="part-0.json"):
        run(tmp_path, 4)
    assert calls == [0]
    calls.clear()
    _, p3 = run(tmp_path, 5)  # another config: every part is stale
    assert p3.reused == [] and calls == [0, 1, 2]
    for f in tmp_path.iterdir():
        json.loads(f.read_text())
