# Two entry points (see README): `make demo` and `make test`. Both build .venv first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.i2i-installed

.PHONY: demo test lint venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# Run the pretrained models bundled in models/ on their example inputs (translate; classify the sketches) and write
# an HTML gallery: under a minute on 2 CPU cores once .venv exists. Nothing is trained or downloaded.
demo: $(STAMP)
	$(BIN)/i2i gallery models --out runs/gallery

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

test: $(STAMP)
	$(MAKE) lint
	$(BIN)/python -m pytest

clean:
	rm -rf runs .pytest_cache .ruff_cache
