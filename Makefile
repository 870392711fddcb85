# Two commands do all the set-up: `make run` and `make test`. Both create the virtual
# environment in .venv and install the package into it when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## run the main job on the embedded default data: scikit-learn digits, all ten classes (one-hot)
run: $(STAMP)
	$(VENV)/bin/wilsonian run --classes all --out results

## the full test suite (3-5 minutes on 2 cores)
test: $(STAMP)
	$(PY) -m pytest -q

## the suite without the slow tests
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## side-by-side benchmark ratios (see benchmarks/README.md)
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf results build *.egg-info src/*.egg-info .pytest_cache
