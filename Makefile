# The two commands of the README:
#   make book   - set up .venv (CPU torch pinned), fetch the offline JavaScript, build the book into _build/html
#   make test   - the same set-up, then the whole test suite (unit tests, every notebook under nbval, the site)
# BUDGET=smoke|default|full chooses the size (default: $VALLEYLIB_BUDGET, else full on a GPU, default on a CPU).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
SHELL  := /bin/bash

ifdef BUDGET
export VALLEYLIB_BUDGET := $(BUDGET)
endif

.PHONY: book test lint colab-test gpu-check install vendor twins chromium student pdf tex clean

install: $(VENV)/.installed

# torch is pinned here only (the package itself asks for torch>=2.1, so Colab keeps its own).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e ".[book,test]"
	touch $@

vendor: _vendor/.stamp

_vendor/.stamp: scripts/fetch_vendor.sh _config.yml
	bash scripts/fetch_vendor.sh _vendor
	touch $@

# The execution cache keys on a notebook's code only; clear it when valleylib or the recorded
# measurements that pages read (benchmarks/results) change.
define clear_stale_cache
	@mkdir -p $(1); h=$$(cat $$(find valleylib -name "*.py" | sort) benchmarks/results/*.json | sha256sum | cut -c1-16); \
	if [ "$$(cat $(1)/.valleylib-hash 2>/dev/null)" != "$$h" ]; then rm -rf $(1)/.jupyter_cache $(1)/.doctrees; echo "$$h" > $(1)/.valleylib-hash; fi
endef

# A watchdog sized from the measured chapter times (scripts/build_timeout.py): a stuck cell fails
# the build with a message instead of waiting forever (issue 14).
book: install vendor
	$(call clear_stale_cache,_build)
	@limit=$$($(PY) scripts/build_timeout.py); \
	if [ -n "$$limit" ]; then echo "build watchdog: $$limit s (3 x the measured chapter times + 600 s)"; \
	else echo "no measured chapter times for this budget: building without a watchdog"; fi; \
	VALLEYLIB_PROGRESS=0 $${limit:+timeout -s INT -k 60 $$limit} $(JB) build . -W -n --keep-going; rc=$$?; \
	if [ $$rc -eq 124 ]; then echo "make book: the build ran past its $$limit s watchdog; a notebook cell" \
	  "is probably stuck (see scripts/hang_check.py)" >&2; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi
	@echo "Book built: open _build/html/index.html"

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Lint first (seconds): the library, tests, benchmarks and scripts with [tool.ruff] of pyproject.toml;
# the chapter twins with the chapters' own rules (88 columns, as tests/test_chapter_style.py asks;
# E741/E731 as in pyproject.toml; E402: a later cell may import what its section needs).
RUFF          := $(VENV)/bin/ruff
CHAPTER_RUFF  := --select E,F,W --ignore E741,E731,E402 --line-length 88

lint: install
	$(RUFF) check valleylib tests benchmarks scripts
	$(RUFF) check $(CHAPTER_RUFF) chapters/*.ipynb

test: install lint vendor chromium
	VALLEYLIB_BUDGET=smoke VALLEYLIB_PROGRESS=0 $(PY) -m pytest -n 2 --dist loadfile --durations=15 -m "not colab" \
	  --nbval-lax -p no:cacheprovider --doctest-modules tests valleylib chapters

# Every chapter notebook run as Colab runs it: alone, in a fresh runtime (.venv-colab), installing
# valleylib from its first cell (tests/colab_run.py; see the README).
colab-test: install
	VALLEYLIB_PROGRESS=0 $(PY) -m pytest -p no:cacheprovider -m colab tests/test_colab.py

# On a CUDA machine: the prepared GPU check (scripts/gpu_check.sh; ARGS="--cpu --budget smoke" on a CPU).
gpu-check: install
	PYTHON=$(PY) bash scripts/gpu_check.sh $(ARGS)

twins: install
	$(VENV)/bin/jupytext --to ipynb --update-metadata '{"jupytext": {"formats": "ipynb,md:myst"}}' $$(grep -l '^jupytext:' chapters/*.md)

# For instructors: chapter notebooks with the solutions removed, ready to hand out.
student: install
	$(PY) scripts/student_notebooks.py _build/student

# A PDF of the whole book (offline), with Debian's TeX packages installed when missing (needs root).
tex:
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends latexmk texlive-xetex \
	  texlive-latex-extra texlive-fonts-recommended texlive-plain-generic fonts-freefont-otf >/dev/null; }

pdf: install vendor tex
	$(call clear_stale_cache,_build)
	VALLEYLIB_PROGRESS=0 $(JB) build . --builder pdflatex
	@echo "PDF built: _build/latex/book.pdf"

clean:
	rm -rf _build results
