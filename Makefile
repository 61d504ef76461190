# The two README commands and friends. Every target works from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export HYPOTHESIS_PROFILE ?= dev

.PHONY: setup demo test lint animations bench bench-bears bench-serve clean

# 1st README command: a virtual environment (if missing), the package, then the main job.
setup: $(VENV)/.installed demo

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[web,notebook,test,dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/sgdlab demo

# 2nd README command: the test suite.
test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check sgdlab tests lessons benchmarks

animations: $(VENV)/.installed
	$(BIN)/sgdlab animate lecture --out-dir animations

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/optimizer.py
	$(BIN)/python benchmarks/animation.py

# About 16 minutes on a 2-core CPU: throughput against a plain torch.optim loop (7 min), then
# the error of the ResNet34 recipe (9 min).
bench-bears: $(VENV)/.installed
	$(BIN)/python benchmarks/bears.py

# The web app over HTTP against a bare forward, then a 30-s load test (a few minutes).
bench-serve: $(VENV)/.installed
	$(BIN)/python benchmarks/serve.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis figures
