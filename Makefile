# Two commands do all the set-up: `make run` and `make test`. Both create the virtual
# environment in .venv and install the package into it when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## run the main job on the embedded default data: scikit-learn digits, all ten classes (one-hot)
run: $(STAMP)
	$(VENV)/bin/wilsonian run --classes all --out results

## the full test suite (5–7 minutes on 2 cores)
test: $(STAMP)
	$(PY) -m pytest -q

## the suite without the slow tests
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

## side-by-side benchmark ratios (what each row measures: the docstrings of benchmarks/*.py)
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

## the documentation (API reference, tutorial, theory notes) in docs/_build/html; warnings are errors
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

clean:
	rm -rf results build *.egg-info src/*.egg-info .pytest_cache docs/_build
