#!/usr/bin/env bash
# The prepared GPU check (see scripts/gpu_check.py): on a CUDA machine, from the repository root,
#   scripts/gpu_check.sh                         # tests on CUDA, chapters at default, reproductions at full
#   scripts/gpu_check.sh --budget smoke          # a quick pass (minutes)
#   scripts/gpu_check.sh --cpu --budget smoke --tests tests/test_population.py   # CPU mode, no GPU
# Writes benchmarks/results/gpu-check-cuda.json (gpu-check-cpu-mode.json with --cpu).
# Needs a Python with a CUDA build of torch and the test extras: PYTHON=... or .venv (make install;
# on a GPU machine install a CUDA torch first, as `make install` pins the CPU wheel only here).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export VALLEYLIB_PROGRESS=0 MPLBACKEND=Agg
exec "$PY" scripts/gpu_check.py "$@"
