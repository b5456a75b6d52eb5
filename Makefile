# Stance and sentiment classifier: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.installed-bench
PUBLIC_DATA ?= $(or $(STANCE_PUBLIC_DATA),../shared/data)

.DEFAULT_GOAL := help
.PHONY: help setup train train-public evaluate evaluate-public bench-quality corpus-stats serve test lint

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

setup: $(INSTALLED) ## create .venv and install the project with pinned dependencies

$(BENCH_INSTALLED): $(INSTALLED)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	touch $@

models/current: | $(INSTALLED)
	$(BIN)/stance train

train: $(INSTALLED) ## train the default model on the corpus in data/ and make it current
	$(BIN)/stance train

train-public: $(INSTALLED) ## train the same configuration on the corpus plus every public training set; make it current
	$(BIN)/stance train --public $(PUBLIC_DATA)

bench-quality: $(BENCH_INSTALLED) ## our model against scikit-learn, fastText, VADER and MiniLM peers -> docs/benchmarks.md
	$(BIN)/python -m training.bench_quality --public $(PUBLIC_DATA)

evaluate: $(INSTALLED) models/current ## evaluate the current model on the corpus test split (report in reports/)
	$(BIN)/stance evaluate --data data/corpus --split test

evaluate-public: $(INSTALLED) ## corpus-only vs corpus+public models on held-out public sets -> docs/evaluation.md
	$(BIN)/python -m training.evaluate_public --public $(PUBLIC_DATA) --out docs/evaluation.md

corpus-stats: $(INSTALLED) ## print the corpus size and label tables and refresh them in data/README.md
	$(BIN)/python -m training.corpus stats --readme data/README.md

serve: $(INSTALLED) models/current ## train the default model if missing, then serve on 127.0.0.1:8000
	$(BIN)/stance serve

test: $(INSTALLED) ## run the tests
	$(BIN)/pytest -q

lint: $(INSTALLED) ## ruff and mypy
	$(BIN)/ruff check service training tests
	$(BIN)/ruff format --check service training tests
	$(BIN)/mypy
