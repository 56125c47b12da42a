# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1

.PHONY: run test lint format bench clean-index

run: $(STAMP) index/qa.sqlite
	$(BIN)/qa

test: $(STAMP)
	$(BIN)/python -m pytest

# torch first, pinned: the CPU build kept on this machine (an unpinned torch pulls a multi-GB CUDA build).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

index/qa.sqlite: | $(STAMP)
	$(BIN)/qa index seeds

lint: $(STAMP)
	$(BIN)/ruff check qa tests bench
	$(BIN)/ruff format --check qa tests bench

format: $(STAMP)
	$(BIN)/ruff format qa tests bench
	$(BIN)/ruff check --fix qa tests bench

bench: $(STAMP)
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/tui.py

clean-index:
	rm -rf index/qa.sqlite* index/vectors-* index/model-* index/.writer.lock
