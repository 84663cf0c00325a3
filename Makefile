# The course's verbs. `make demo` and `make test` work from a fresh clone:
# both create the environment first when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: help setup data build demo test lab bench clean hub hub-setup test-hub lock

help:
	@echo "make setup   create .venv with the course environment"
	@echo "make data    find Fashion-MNIST, or download it into data/fashion-mnist"
	@echo "make build   regenerate notebooks/ from solutions/ (nbgrader)"
	@echo "make demo    the whole cycle: data, build, autograde two samples, score table"
	@echo "make test    the test suite"
	@echo "make lab     JupyterLab on the student notebooks"
	@echo "make bench   benchmarks against d2l and plain nbgrader"
	@echo "make lock    rewrite constraints.txt from .venv (after changing requirements.txt)"
	@echo "make hub     (as root) a class hub: JupyterHub, nbgrader's exchange, demo accounts"
	@echo "make test-hub  (as root) the class cycle on a real hub, in a browser"

# pip installs under constraints.txt (the locked environment); `make lock` empties this
# to resolve requirements.txt afresh.
PIP_LOCK = -c constraints.txt

$(VENV)/.installed: requirements.txt requirements-d2l.txt constraints.txt pyproject.toml
	@echo "== creating the course environment in $(VENV) (first run only; torch is large) =="
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip $(PIP_LOCK)
	$(BIN)/python -m pip install --progress-bar on -r requirements.txt $(PIP_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-d2l.txt $(PIP_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# the distribution holds only dlcourse (the student package); the instructor's grader
	@# imports from this checkout, from any folder, through a .pth file
	$(BIN)/python -c "import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], 'dlcourse-instructor.pth').write_text('$(CURDIR)\n')"
	cd / && $(BIN)/python -c "from d2l import torch as d2l; import dlcourse.checks, grader.cli, nbgrader; print('environment ready')"
	touch $@

setup: $(VENV)/.installed

# constraints.txt: every distribution in .venv at its version (the course package excluded),
# after installing requirements.txt without the old lock (a changed pin would conflict with it).
# Packages that a change made unneeded stay in .venv: lock from a new .venv to drop them.
lock:
	rm -f $(VENV)/.installed
	$(MAKE) setup PIP_LOCK=
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable | sort -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

data: setup
	$(BIN)/python -c "import dlcourse; print('Fashion-MNIST in', dlcourse.find_fashion_mnist())"

build: setup
	$(BIN)/python -m grader build

demo: setup
	$(BIN)/python -m grader demo

test: setup
	$(BIN)/python -m pytest

lab: setup
	$(BIN)/jupyter lab notebooks/

bench: setup
	$(BIN)/python -m bench

# The class hub: JupyterHub's proxy from npm, into grader/hub/node_modules (package-lock.json).
HUB_PROXY := grader/hub/node_modules/.bin/configurable-http-proxy
HUB_ARGS ?=

$(HUB_PROXY): grader/hub/package.json grader/hub/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	cd grader/hub && npm ci --no-audit --no-fund
	touch $@

hub-setup: $(HUB_PROXY)

hub: setup hub-setup
	$(BIN)/python -m grader hub $(HUB_ARGS)

test-hub: setup hub-setup
	$(BIN)/python -m pytest tests/hub

clean:
	rm -rf var build bench/results .pytest_cache
