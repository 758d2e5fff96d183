"""Run every chapter notebook the way Colab does: alone, in a fresh runtime without valleylib.

    python tests/colab_run.py [--only intro status] [--budget smoke] [--json out.json]

1. A notebook runtime: the virtual environment ``.venv-colab`` with what Colab preinstalls and
   this book relies on (torch from the local CPU wheel, numpy, matplotlib, ipywidgets, tqdm,
   scikit-learn, ipykernel, nbclient), but not ``valleylib``. It is cached, and rebuilt when ``RUNTIME`` or the
   dependencies in ``pyproject.toml`` change.
2. The clone under test: its tracked (and untracked, not ignored) files copied to a temporary
   folder, as a fresh clone would have them, and built once into a wheel (``--source clone``
   installs the folder itself in every notebook instead: about 10 s more per notebook).
3. For each chapter: ``valleylib`` uninstalled from the runtime, the ``.ipynb`` copied alone
   into an empty folder and run top to bottom with nbclient (a real kernel), with
   ``VALLEYLIB_INSTALL_SOURCE`` pointing at that wheel (or clone), so the notebook's own first cell installs
   it (the only override the install cell knows).

Checks, per chapter: no error; the install cell's output is short; torch is the same version,
file and mtime before and after, and no preinstalled package changed version; the kernel
imported valleylib from the runtime (not from the clone); no output says a recorded result is
missing. Exits 1 and names the failures otherwise. ``tests/test_colab.py`` runs it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-colab"
#: What a Colab runtime has before the first cell runs (torch from the local CPU wheel).
RUNTIME = ["torch==2.13.0", "numpy", "matplotlib", "ipywidgets", "tqdm", "scikit-learn", "ipykernel",
           "nbclient"]
#: Words a page prints when it cannot find a recorded result (valleylib.book.MISSING_RECORD).
MISSING = ("in this checkout", "not recorded")
#: The install cell may print at most this much (pip -q plus IPython's restart note).
MAX_INSTALL_LINES, MAX_INSTALL_CHARS = 3, 400
PIP = ["-m", "pip", "--disable-pip-version-check"]

PROBE = """import json, sys, torch, valleylib
print("COLAB-PROBE" + json.dumps({"python": sys.executable, "valleylib": valleylib.__file__,
      "torch": torch.__file__}))"""

STATE = """import importlib.metadata as md, json, os, torch
dist = md.distribution("torch")
files = [os.path.realpath(torch.__file__), str(dist.locate_file(f"torch-{dist.version}.dist-info"))]
print(json.dumps({"torch": {"version": torch.__version__, "files": files,
                            "mtimes": [os.stat(f).st_mtime_ns for f in files]},
                  "packages": {d.metadata["Name"].lower(): d.version for d in md.distributions()}}))"""


def vpython(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def stamp_of() -> str:
    """Changes with RUNTIME, the package's dependencies (pyproject.toml) or the Python."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    text = json.dumps([RUNTIME, deps, sys.version])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_runtime(venv: Path = VENV, log=print) -> float:
    """Create (or reuse) the notebook runtime; returns the seconds spent building it."""
    stamp = venv / ".colab-stamp"
    if stamp.exists() and stamp.read_text() == stamp_of() and vpython(venv).exists():
        return 0.0
    t0 = time.perf_counter()
    shutil.rmtree(venv, ignore_errors=True)
    log(f"building the notebook runtime {venv} ...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(vpython(venv)), *PIP, "install", "-q", *RUNTIME], check=True)
    stamp.write_text(stamp_of())
    return time.perf_counter() - t0


def copy_clone(dest: Path) -> Path:
    """The working tree as a fresh clone has it (tracked + untracked-but-not-ignored files)."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def build_wheel(clone: Path, venv: Path) -> Path:
    """Build the clone into a wheel with the runtime's own pip (as `pip install CLONE` would)."""
    out = clone.parent / "wheel"
    subprocess.run([str(vpython(venv)), *PIP, "wheel", "-q", "--no-deps", str(clone), "-w", str(out)],
                   check=True, capture_output=True, text=True)
    return next(out.glob("valleylib-*.whl"))


def state(venv: Path) -> tuple[dict[str, str], dict]:
    """The runtime's installed packages (name: version) and torch's version, files and mtimes."""
    out = subprocess.run([str(vpython(venv)), "-c", STATE], capture_output=True, text=True,
                         check=True, env=clean_env({}, venv), cwd=venv).stdout
    got = json.loads(out)
    return got["packages"], got["torch"]


def clean_env(extra: dict[str, str], venv: Path) -> dict[str, str]:
    """A notebook runtime's environment: no PYTHONPATH to the clone, no valleylib settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "MPLBACKEND", "VIRTUAL_ENV"} and not k.startswith("VALLEYLIB_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_PATH"] = str(venv / "share" / "jupyter")
    env.update(extra)
    return env


RUNNER = """import json, sys, time, nbformat
from nbclient import NotebookClient
path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(sys.argv[3]))
t0 = time.perf_counter()
error = None
try:
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}).execute()
except Exception as err:  # report, do not hide: the caller fails on it
    error = f"{type(err).__name__}: {err}"[:4000]
seconds = time.perf_counter() - t0
def text(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            out.append("\\n".join(o.get("traceback", [])))
        else:
            out.append(o.get("data", {}).get("text/plain", ""))
    return "".join(out)
code = [c for c in nb.cells if c.cell_type == "code"]
print("COLAB-RESULT" + json.dumps({"seconds": seconds, "error": error,
      "install_output": text(code[0]), "outputs": [text(c) for c in code[1:-1]],
      "probe": text(code[-1])}))
"""


def checks(res: dict, before: tuple[dict, dict], after: tuple[dict, dict], venv: Path) -> list[str]:
    """What went wrong in one notebook's run ``res`` (empty when nothing did).

    ``before``/``after``: the runtime's (packages, torch state) around the run.
    """
    (before_pkgs, before_torch), (after_pkgs, after_torch) = before, after
    problems = []
    if res["error"]:
        problems.append(f"the notebook raised {res['error']}")
    if "valleylib" not in after_pkgs:
        problems.append("the install cell did not install valleylib")
    install = res["install_output"].strip()
    if len(install.splitlines()) > MAX_INSTALL_LINES or len(install) > MAX_INSTALL_CHARS:
        problems.append(f"the install cell is not quiet ({len(install)} chars):\n{install[:2000]}")
    if after_torch != before_torch:
        problems.append(f"torch changed: {before_torch} -> {after_torch}")
    changed = {k: (v, after_pkgs.get(k)) for k, v in before_pkgs.items() if after_pkgs.get(k) != v}
    if changed:
        problems.append(f"preinstalled packages changed (before, after): {changed}")
    if res["error"] is None:
        probe = json.loads(res["probe"].split("COLAB-PROBE", 1)[-1].strip())
        if not probe["valleylib"].startswith(str(venv)) or probe["python"] != str(vpython(venv)):
            problems.append(f"the kernel did not use the runtime's own valleylib: {probe}")
    for i, out in enumerate(res["outputs"], start=2):
        for words in MISSING:
            if words in out:
                problems.append(f"code cell {i} says a recorded result is missing: {out[:300]!r}")
    return problems


def run_notebook(nb: Path, source: Path, venv: Path, budget: str, timeout: int) -> dict:
    """Run one notebook alone in the runtime; returns its timings and the failed checks."""
    # From the runtime's own folder: in the clone's root, pip and importlib would also see the
    # clone's valleylib.egg-info (left by `make install`) and report valleylib as installed.
    subprocess.run([str(vpython(venv)), *PIP, "uninstall", "-y", "-q", "valleylib"],
                   capture_output=True, check=False, cwd=venv)
    before_pkgs, before_torch = state(venv)
    problems: list[str] = []
    if "valleylib" in before_pkgs:
        problems.append("valleylib could not be uninstalled before the run")
    with tempfile.TemporaryDirectory(prefix=f"colab-{nb.stem}-") as tmp:
        alone = Path(tmp) / nb.name
        shutil.copy2(nb, alone)
        env = clean_env({"VALLEYLIB_BUDGET": budget, "VALLEYLIB_INSTALL_SOURCE": str(source)}, venv)
        t0 = time.perf_counter()
        proc = subprocess.run([str(vpython(venv)), "-c", RUNNER, str(alone), str(timeout), PROBE],
                              capture_output=True, text=True, env=env, cwd=tmp)
        wall = time.perf_counter() - t0
        leftovers = sorted(p.name for p in Path(tmp).iterdir() if p.name != nb.name)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("COLAB-RESULT")]
    if proc.returncode != 0 or not lines:
        return {"seconds": wall, "problems": [f"runner failed: {proc.stderr[-3000:]}"]}
    res = json.loads(lines[-1][len("COLAB-RESULT"):])
    after_pkgs, after_torch = state(venv)
    problems += checks(res, (before_pkgs, before_torch), (after_pkgs, after_torch), venv)
    install = res["install_output"].strip()
    return {"seconds": round(res["seconds"], 1), "install_output": install,
            "new_packages": sorted(set(after_pkgs) - set(before_pkgs) - {"valleylib"}),
            "leftover_files": leftovers, "problems": problems}


def record_run(report: dict) -> Path:
    """benchmarks/results/colab-run-BUDGET.json: per-chapter seconds of a passing run."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _record import record

    secs = {k: v["seconds"] for k, v in report["chapters"].items()}
    load = report.get("load_average_1min")
    build = report["runtime_build_seconds"]
    summary = [f"every chapter ran alone in a fresh notebook runtime at {report['budget']!r}, "
               f"installing valleylib from its first cell: {sum(secs.values()):.0f} s of notebooks, "
               f"{report['total_seconds']:.0f} s in all "
               + (f"(runtime built in {build:.0f} s)" if build else "(runtime reused from its cache)"),
               f"machine shared with other jobs: load average {load:.1f} on {os.cpu_count()} cores"
               if load is not None else "load average unknown",
               *[f"{k}: {s:.0f} s" for k, s in secs.items()]]
    return record(f"colab-run-{report['budget']}", summary,
                  {**{k: v for k, v in report.items() if k != "chapters"}, "seconds": secs,
                   "cpu_count": os.cpu_count()})


def chapter_notebooks() -> list[Path]:
    return sorted(p.with_suffix(".ipynb") for p in (ROOT / "chapters").glob("*.md")
                  if p.read_text().lstrip().startswith("---\njupytext:"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="chapter stems (default: every chapter notebook)")
    parser.add_argument("--budget", default="smoke", choices=["smoke", "default", "full"])
    parser.add_argument("--venv", type=Path, default=VENV)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--source", choices=["wheel", "clone"], default="wheel",
                        help="what VALLEYLIB_INSTALL_SOURCE names: a wheel built from the clone, or the clone")
    parser.add_argument("--json", type=Path, help="also write the timings and checks here")
    parser.add_argument("--record", action="store_true",
                        help="also record the timings as benchmarks/results/colab-run-BUDGET.json")
    args = parser.parse_args(argv)
    notebooks = [nb for nb in chapter_notebooks() if not args.only or nb.stem in args.only]
    if args.only and len(notebooks) != len(args.only):
        parser.error(f"--only: unknown chapters {set(args.only) - {nb.stem for nb in notebooks}}")
    t_start = time.perf_counter()
    build = ensure_runtime(args.venv.resolve())
    report = {"runtime_build_seconds": round(build, 1), "budget": args.budget, "chapters": {}}
    failed = []
    with tempfile.TemporaryDirectory(prefix="colab-clone-") as tmp:
        clone = copy_clone(Path(tmp) / "clone")
        source = clone if args.source == "clone" else build_wheel(clone, args.venv.resolve())
        for nb in notebooks:
            res = run_notebook(nb, source, args.venv.resolve(), args.budget, args.timeout)
            report["chapters"][nb.stem] = res
            status = "ok" if not res["problems"] else "FAILED"
            print(f"{nb.stem}: {res['seconds']:.1f} s, {status}", flush=True)
            for p in res["problems"]:
                print(f"    {p}", flush=True)
            failed += [nb.stem] if res["problems"] else []
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    report["load_average_1min"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"total {report['total_seconds']:.0f} s (runtime build {build:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if args.record and not failed and not args.only:
        record_run(report)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
