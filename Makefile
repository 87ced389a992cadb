# govarchive: `make demo` (fresh machine: venv + install + offline demo crawl) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,serve]'
	touch $(STAMP)

setup: $(STAMP) ## create the virtualenv and install govarchive with its dev tools

demo: $(STAMP) ## crawl the offline replica portals into data/demo.db
	$(BIN)/govarchive demo

test: $(STAMP) ## the whole suite, slow end-to-end/fuzz/browser tests included (what CI runs)
	$(BIN)/pytest

test-fast: $(STAMP) ## the quick suite (skips tests marked slow)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) ## run the benchmarks and write docs/performance.md
	$(BIN)/python benchmarks/bench_dates.py --write
	$(BIN)/python benchmarks/bench_search.py --write

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
