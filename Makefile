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

# Train the bundled facades-mini recipe (a few minutes on 2 CPU cores), score it on the sample's test split and
# write the HTML report. Running it again continues (or re-evaluates) the same run.
demo: $(STAMP)
	$(BIN)/i2i train --config configs/pix2pix/facades-mini.yaml --resume auto
	$(BIN)/i2i eval runs/facades-mini --data datasets/facades-mini --split test --out runs/facades-mini/eval/test
	@echo "open runs/facades-mini/eval/test/index.html to see input | output | target for each test image"

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

test: $(STAMP)
	$(MAKE) lint
	$(BIN)/python -m pytest

clean:
	rm -rf runs .pytest_cache .ruff_cache
