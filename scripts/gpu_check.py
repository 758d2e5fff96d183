"""Exercise every GPU code path once, time it, and compare it with the CPU on the same inputs.

    python scripts/gpu_check.py                    # on a CUDA machine: the whole check
    python scripts/gpu_check.py --cpu --budget smoke --tests tests/test_population.py
                                                   # CPU mode: proves the script works (no GPU)

On CUDA it runs (1) the test suite with ``VALLEYLIB_TEST_DEVICES=cuda`` (the device-parametrised
tests on CUDA only; the others as they are), (2) every chapter notebook at the ``default``
budget and (3) every reproduction at ``full``, each with ``VALLEYLIB_DEVICE=cuda`` and timed;
then (4) compares CPU and GPU:

* the same inputs (drawn on the CPU, then moved) through the closed forms, the Hessian, the
  certificate, the Safran-Shamir protocol, the ReLU descent and its end-point labels, and the
  random-features fit: the same classifications (certified flags, end-point labels, iteration
  counts) and every number within ``RTOL``/``ATOL`` (float64);
* every reproduction at ``smoke`` on both devices: the same verdict for every scorecard check.
  Where a reproduction draws its random numbers on the device, the two runs see different draws
  (CPU and CUDA generators differ), so only the verdicts are compared; the largest relative
  difference of the measured numbers is recorded, not required to vanish.

It writes ``benchmarks/results/gpu-check-cuda.json`` (or ``gpu-check-cpu-mode.json`` with
``--cpu``, marked ``gpu_run: false``) with the device name and the torch and CUDA versions.
``--budget`` sets both the chapter and the reproduction budget (e.g. ``smoke`` for a quick run).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import record  # noqa: E402

import valleylib as vl  # noqa: E402
from valleylib.certify import certify_minimum  # noqa: E402
from valleylib.hessian import relu_population_hessian  # noqa: E402
from valleylib.lowrisk import label_end_points  # noqa: E402
from valleylib.safran_shamir import classify as classify_end_points  # noqa: E402
from valleylib.safran_shamir import run_protocol

#: Tolerance of the same-input comparison (float64 on both devices).
RTOL, ATOL = 1e-8, 1e-10


def log(msg: str) -> None:
    """Print ``msg`` at once (flushed), so that a long check shows its progress."""
    print(msg, flush=True)


def run_tests(device: str, paths: list[str]) -> dict:
    """Run pytest on ``paths`` with the tests' device set to ``device`` (smoke budget); returns the outcome line, seconds and pass flag."""
    env = dict(os.environ, VALLEYLIB_TEST_DEVICES=device, VALLEYLIB_DEVICE=device,
               VALLEYLIB_BUDGET="smoke", VALLEYLIB_PROGRESS="0", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not site and not colab",
           *paths]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    if proc.returncode:
        log(proc.stdout[-4000:] + proc.stderr[-2000:])
    return {"paths": paths, "seconds": round(seconds, 1), "outcome": last.strip("= "),
            "passed": proc.returncode == 0}


def run_chapters(device: str, budget: str, only: list[str] | None) -> dict:
    """Execute every chapter notebook (or those in ``only``) on ``device`` at ``budget``; per chapter its seconds and outcome."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.update(VALLEYLIB_DEVICE=device, VALLEYLIB_BUDGET=budget, VALLEYLIB_PROGRESS="0",
                      PYTHONPATH=str(ROOT))
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        if only is not None and path.stem not in only:
            continue
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        try:
            NotebookClient(nb, timeout=3600, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            outcome = "ran without error"
        except Exception as err:  # recorded, and the check fails
            outcome = f"error: {type(err).__name__}: {str(err)[-300:]}"
        out[path.stem] = {"budget": budget, "seconds": round(time.perf_counter() - t0, 1),
                          "outcome": outcome, "passed": outcome == "ran without error"}
        log(f"  chapter {path.stem} ({budget}): {out[path.stem]['seconds']:.1f} s, {outcome}")
    return out


def reproduce(name: str, budget: str, device: str, out_dir: Path) -> dict:
    """Run ``python -m valleylib reproduce NAME`` on ``device`` at ``budget`` into ``out_dir``; returns its seconds, verdict and scorecard."""
    env = dict(os.environ, VALLEYLIB_DEVICE=device, VALLEYLIB_PROGRESS="0", PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "valleylib", "reproduce", name, "--budget", budget,
                           "--out", str(out_dir), "--no-progress"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    path = out_dir / f"{name}.json"
    data = json.loads(path.read_text()) if path.exists() else None
    if data is None:
        return {"budget": budget, "seconds": round(seconds, 1), "passed": False,
                "outcome": f"no result (exit {proc.returncode}): {proc.stderr[-300:]}"}
    return {"budget": budget, "seconds": round(seconds, 1), "passed": bool(data["passed"]),
            "outcome": "scorecard passed" if data["passed"] else "scorecard FAILED",
            "device": data["device"], "scorecard": data["scorecard"]}


def run_experiments(device: str, budget: str, only: list[str] | None, tmp: Path) -> dict:
    """Run every reproduction (or those in ``only``) on ``device`` at ``budget`` with :func:`reproduce`, by name."""
    out = {}
    for name in sorted(vl.experiments()):
        if only is not None and name not in only:
            continue
        res = reproduce(name, budget, device, tmp / f"{device}-{budget}")
        out[name] = res
        log(f"  experiment {name} ({budget}): {res['seconds']:.1f} s, {res['outcome']}")
    return out


def _numbers(x) -> list[float]:
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return []
    if isinstance(x, (int, float)):
        return [float(x)]
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _numbers(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _numbers(item)]
    return []


def compare_scorecards(cpu: dict, dev: dict) -> dict:
    """Same verdict for every check of every reproduction; largest relative gap of the numbers."""
    rows, agree = {}, True
    for name in sorted(set(cpu) | set(dev)):
        a, b = cpu.get(name, {}).get("scorecard"), dev.get(name, {}).get("scorecard")
        if a is None or b is None or [c["claim"] for c in a] != [c["claim"] for c in b]:
            rows[name] = {"same_verdicts": False, "why": "missing or different checks"}
            agree = False
            continue
        same = [c["pass"] for c in a] == [c["pass"] for c in b]
        xs, ys = _numbers([c["measured"] for c in a]), _numbers([c["measured"] for c in b])
        gap = max((abs(x - y) / max(abs(x), abs(y), 1e-300) for x, y in zip(xs, ys)
                   if math.isfinite(x) and math.isfinite(y) and (x or y)), default=0.0)
        rows[name] = {"same_verdicts": same, "max_relative_gap_of_measured": gap,
                      "numbers": len(xs) if len(xs) == len(ys) else f"{len(xs)} vs {len(ys)}"}
        agree &= same
    return {"agree": agree, "experiments": rows}


def same_input_suite(device: torch.device) -> dict:
    """Library results on ``device`` for fixed CPU-drawn inputs (all float64)."""
    from known_points import W6

    g = torch.Generator().manual_seed(2026)
    dt = torch.float64
    W = torch.randn(8, 5, 4, dtype=dt, generator=g)
    V = torch.randn(3, 4, dtype=dt, generator=g)
    on = lambda t: t.to(device)
    out = {
        "risk": vl.relu_population_risk(on(W), on(V)),
        "gradient": vl.relu_population_gradient(on(W), on(V)),
        "hessian": relu_population_hessian(on(W[:2]), on(V)),
    }
    V6 = torch.eye(6, dtype=dt)
    cert = certify_minimum(on(torch.stack([W6, V6])), on(V6))
    out["certified"] = cert.certified
    out["lambda_lower"] = cert.lambda_lower
    W0 = vl.xavier_init(16, 4, 4, generator=torch.Generator().manual_seed(7), device="cpu")
    proto = run_protocol(on(W0), on(torch.eye(4, dtype=dt)), progress=False)
    out["protocol_W"], out["protocol_iterations"] = proto.W, proto.iterations
    out["protocol_labels"] = classify_end_points(proto.W, on(torch.eye(4, dtype=dt)),
                                                    converged=proto.converged)[0]
    T = vl.make_teacher("ss", 3, device=device)
    end = vl.descend(on(vl.xavier_init(12, 4, 3, generator=torch.Generator().manual_seed(5),
                                       device="cpu")), T, max_iter=3000)
    out["descent_risk"] = end.risk
    out["descent_labels"] = label_end_points(end, T)[0]
    Wr = torch.randn(4, 6, 4, dtype=dt, generator=g) / 2
    fit = vl.random_features_fit(on(Wr), on(V), activation="relu")
    out["rf_coef"], out["rf_error"] = fit.coef, fit.error
    return out


def compare_same_inputs(device: torch.device) -> dict:
    """Run :func:`same_input_suite` on the CPU and on ``device``: every number within ``RTOL``/``ATOL``, every label equal."""
    cpu, dev = same_input_suite(torch.device("cpu")), same_input_suite(device)
    rows, agree = {}, True
    for key in cpu:
        a, b = cpu[key], dev[key]
        if not isinstance(a, torch.Tensor):
            a, b = torch.as_tensor(a), torch.as_tensor(b)
        on_device = b.device.type == device.type
        b = b.cpu()
        if a.dtype.is_floating_point:
            ok = a.shape == b.shape and torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
            gap = float((a - b).abs().nan_to_num(0).max()) if a.shape == b.shape and a.numel() else 0.0
            rows[key] = {"kind": "numbers", "equal_within_tolerance": bool(ok), "max_abs_gap": gap}
        else:
            ok = torch.equal(a, b)
            rows[key] = {"kind": "classification", "identical": bool(ok)}
        rows[key]["result_on_device"] = on_device
        agree &= bool(ok) and on_device
    return {"agree": agree, "rtol": RTOL, "atol": ATOL, "quantities": rows}


def main(argv: list[str] | None = None) -> int:
    """Run the four parts of the check (tests, chapters, reproductions, CPU against the device) and write the JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="CPU mode: check the script, not a GPU")
    parser.add_argument("--budget", choices=["smoke", "default", "full"],
                        help="budget of chapters and reproductions (default: default and full)")
    parser.add_argument("--tests", nargs="*", default=["tests", "valleylib"],
                        help="test paths (default: the whole suite)")
    parser.add_argument("--chapters", nargs="*", help="chapter stems (default: all)")
    parser.add_argument("--experiments", nargs="*", help="reproductions (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if not args.cpu and not torch.cuda.is_available():
        parser.error("CUDA is not available: run on a GPU machine, or pass --cpu to check the script")
    device = torch.device("cpu" if args.cpu else "cuda")
    ch_budget, ex_budget = args.budget or "default", args.budget or "full"
    sys.path.insert(0, str(ROOT / "tests"))
    t_all = time.perf_counter()
    log(f"gpu check on {vl.describe_device(device)}, torch {torch.__version__}")
    log("1. tests")
    tests = run_tests(device.type, args.tests)
    log(f"  {tests['outcome']} ({tests['seconds']:.0f} s)")
    log(f"2. chapters at {ch_budget}")
    chapters = run_chapters(device.type, ch_budget, args.chapters)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        log(f"3. reproductions at {ex_budget}")
        experiments = run_experiments(device.type, ex_budget, args.experiments, Path(tmp))
        log("4. CPU against the device")
        same = compare_same_inputs(device)
        log(f"  same inputs: agree = {same['agree']}")
        smoke_dev = experiments if ex_budget == "smoke" else \
            run_experiments(device.type, "smoke", args.experiments, Path(tmp))
        smoke_cpu = smoke_dev if device.type == "cpu" else \
            run_experiments("cpu", "smoke", args.experiments, Path(tmp) / "cpu")
        cards = compare_scorecards(smoke_cpu, smoke_dev)
        log(f"  smoke scorecards: same verdicts = {cards['agree']}")
    for res in experiments.values():
        res.pop("scorecard", None)
    gpu_run = device.type == "cuda"
    comparison = {
        "agree": same["agree"] and cards["agree"],
        "rule": (f"same inputs: identical classifications, numbers within rtol {RTOL:g}, atol {ATOL:g}; "
                 "reproductions at smoke: the same verdict for every check"),
        "same_inputs": same, "smoke_scorecards": cards,
        "cpu_against_itself": not gpu_run,
    }
    data = {
        "gpu_run": gpu_run,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(0) if gpu_run else f"CPU ({platform.machine()}, "
                                                                       f"{os.cpu_count()} cores)",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "chapter_budget": ch_budget, "experiment_budget": ex_budget,
        "tests": tests, "chapters": chapters, "experiments": experiments,
        "comparison": comparison,
        "total_seconds": round(time.perf_counter() - t_all, 1),
    }
    all_passed = (tests["passed"] and all(c["passed"] for c in chapters.values())
                  and all(e["passed"] for e in experiments.values()) and comparison["agree"])
    data["passed"] = all_passed
    label = "GPU run" if gpu_run else "CPU mode (NOT a GPU run: it checks the script only)"
    summary = [
        f"{label} on {data['device_name']}, torch {data['torch']}, CUDA {data['cuda']}",
        f"tests ({' '.join(args.tests)}): {tests['outcome']}, {tests['seconds']:.0f} s",
        *[f"chapter {k} ({v['budget']}): {v['seconds']:.0f} s, {v['outcome']}" for k, v in chapters.items()],
        *[f"reproduction {k} ({v['budget']}): {v['seconds']:.0f} s, {v['outcome']}"
          for k, v in experiments.items()],
        f"CPU and {device.type} agree: {comparison['agree']} ({comparison['rule']})"
        + (" [CPU compared with itself in CPU mode]" if not gpu_run else ""),
        f"everything passed: {all_passed}",
    ]
    name = "gpu-check-cuda" if gpu_run else "gpu-check-cpu-mode"
    import _record

    _record.RESULTS = args.out
    path = record(name, summary, data)
    log("\n".join(summary))
    log(f"wrote {path}")
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
