# Two entry points (see README): `make demo` and `make test`. Both build .venv first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.i2i-installed

.PHONY: demo gallery test lint venv browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

venv: $(STAMP)

PORT ?= 8000

# Serve the pretrained models bundled in models/: a drawing page at http://127.0.0.1:$(PORT)/ and the REST API under
# /v1 (Ctrl-C stops it). Nothing is trained or downloaded; it listens on this machine only.
demo: $(STAMP)
	$(BIN)/i2i serve models --port $(PORT)

# The same models run once on their example inputs into a static HTML page (runs/gallery/index.html).
gallery: $(STAMP)
	$(BIN)/i2i gallery models --out runs/gallery

# The browser tests drive Debian's chromium (/usr/bin/chromium) through Playwright; no browser is ever downloaded.
# As root with apt-get, make test installs the package when it is missing; otherwise those tests are skipped.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "note: could not install chromium; the browser tests will be skipped"; \
	  else \
	    echo "note: /usr/bin/chromium is missing (apt-get install chromium); the browser tests will be skipped"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

test: $(STAMP) browser
	$(MAKE) lint
	$(BIN)/python -m pytest

clean:
	rm -rf runs .pytest_cache .ruff_cache
