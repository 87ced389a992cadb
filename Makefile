# govarchive: `make demo` (fresh machine: venv + install + offline demo crawl) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo demo-cluster test test-fast lint bench clean

# Debian tools the archive uses: antiword and catdoc (text of legacy .doc attachments; catdoc's xls2csv for .xls),
# libmagic1 (file types); redis-server for the cluster tests and `make demo-cluster` (they start their own on a free 127.0.0.1 port).
DEBIAN_PACKAGES := antiword catdoc libmagic1 redis-server

$(STAMP): pyproject.toml
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || echo "warning: could not install $$missing (attachment text of .doc files / type sniffing need them)"; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,serve]'
	touch $(STAMP)

setup: $(STAMP) ## create the virtualenv and install govarchive with its dev tools

demo: $(STAMP) ## crawl the offline replica portals into data/demo.db
	$(BIN)/govarchive demo

demo-cluster: $(STAMP) ## the demo as a cluster (2 workers, 1 archiver, killed mid-run), compared with `make demo`
	$(BIN)/govarchive demo-cluster

test: $(STAMP) ## the whole suite, slow end-to-end/fuzz/browser tests included (what CI runs)
	$(BIN)/pytest

test-fast: $(STAMP) ## the quick suite (skips tests marked slow)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) ## run the benchmarks and write docs/performance.md (and docs/reliability.md's figures)
	$(BIN)/python benchmarks/bench_dates.py --write
	$(BIN)/python benchmarks/bench_search.py --write
	$(BIN)/python benchmarks/bench_search.py --engine tantivy --write
	$(BIN)/python benchmarks/bench_search_engine.py --write
	$(BIN)/python benchmarks/bench_reextract.py --write
	$(BIN)/python benchmarks/bench_cluster.py --write
	$(BIN)/python benchmarks/bench_listing.py --write
	$(BIN)/python benchmarks/bench_faults.py --write
	$(BIN)/python benchmarks/bench_crawl.py --write
	$(BIN)/python benchmarks/bench_crawl.py --no-files --write
	$(BIN)/python benchmarks/bench_store.py --write
	$(BIN)/python benchmarks/bench_warc.py --write

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
