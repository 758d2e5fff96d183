"""An interrupted run leaves nothing corrupt on disk, and the rerun resumes from its finished parts."""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

import valleylib as vl
from valleylib.experiments import get_experiment
from valleylib.storage import CorruptFileWarning


def _strict_json(path):
    """Parse ``path`` as strict JSON (a bare NaN or Infinity token is an error)."""
    def bad(token):
        raise ValueError(f"{path}: bare {token} token")

    return json.loads(path.read_text(), parse_constant=bad)


def test_sigkill_mid_run_then_resume(tmp_path):
    out = tmp_path / "results"
    first_row = out / "safran-shamir-rows" / "row-6-6.json"
    env = {**os.environ, "VALLEYLIB_THREADS": "1", "VALLEYLIB_PROGRESS": "0", "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "valleylib", "reproduce", "safran-shamir", "--budget", "smoke",
                             "--out", str(out), "--no-progress"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        while not first_row.exists():  # the first part is on disk: the run is in the middle
            assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read().decode()}"
            assert time.monotonic() - t0 < 600, "no part written within 10 minutes"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "safran-shamir.json").exists()  # killed before the end, as intended
    files = sorted(out.rglob("*.json"))
    assert files, "nothing was written before the kill"
    for f in files:
        _strict_json(f)  # every file on disk parses
    stray = [f for f in out.rglob("*") if f.is_file() and f.suffix != ".json"]
    assert all(f.name.startswith(".") and f.suffix == ".tmp" for f in stray), stray

    report = vl.reproduce("safran-shamir", "smoke", out=out, progress=False)
    assert report.result["rows_reused"] >= 1  # resumed from the finished row
    assert report.passed, report.table()
    assert _strict_json(out / "safran-shamir.json")["result"]["rows_reused"] >= 1
    for f in out.rglob("*.json"):
        _strict_json(f)


def test_corrupt_resume_file_is_named_and_recomputed(tmp_path):
    cfg = replace(get_experiment("safran-shamir").configs["smoke"], rows=((6, 6),), runs=3, max_iter=3000)
    vl.reproduce("safran-shamir", out=tmp_path, config=cfg, progress=False)
    row = tmp_path / "safran-shamir-rows" / "row-6-6.json"
    good = _strict_json(row)
    row.write_text("")  # as left by a crash in an older version, or a full disk
    with pytest.warns(CorruptFileWarning, match="row-6-6.json"):
        report = vl.reproduce("safran-shamir", out=tmp_path, config=cfg, progress=False)
    assert report.result["rows_reused"] == 0
    assert _strict_json(row)["risks"] == good["risks"]  # recomputed, and the same
