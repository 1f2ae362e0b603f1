# altlens — the two commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

.PHONY: run test test-deps system-packages node eval eval-realweb eval-feedback corpus bench model loadtest clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

## run: set everything up, then serve the bundled model on $(HOST):$(PORT) with SQLite
run: $(STAMP)
	$(PY) -m backend.serve

## test: install what the tests need (browsers, npm packages), then run the whole suite
test: $(STAMP) test-deps
	$(PY) -m pytest

test-deps: system-packages node

# Debian packages: Chromium and Firefox ESR (Playwright/Puppeteer cannot download
# browsers here), Java for METEOR, the fonts the corpus generator draws with, and
# the screen-reader test desktop (Xvfb, XTEST keys, D-Bus, AT-SPI, Orca; tests/screenreader).
# Photographs the kind recogniser learns from (corpus/kinds.py).
PHOTO_PACKAGES := lomiri-wallpapers mate-backgrounds
SCREENREADER_PACKAGES := xvfb xdotool dbus-daemon dbus-bin at-spi2-core gir1.2-atspi-2.0 python3-pyatspi orca
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v firefox-esr >/dev/null || missing="$$missing firefox-esr"; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	for p in fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-noto-color-emoji $(PHOTO_PACKAGES) $(SCREENREADER_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (apt-get, as root)"; exit 1; fi; \
	fi

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules var

## model: regenerate the corpus and the bundled model from scratch (see trainer/default_model.py)
model: $(STAMP) system-packages node
	$(PY) trainer/default_model.py

## eval: the method comparison (SFT vs SFT→DPO vs SFT→MCM-DPO and facet ablations, 3 seeds)
## on the corpus's test split, and for SFT, DPO, MCM-DPO and the shipped row on the real-web test split as served
## EVAL_ARGS="--sft-checkpoint var/model-build/sft/best" reuses `make model`'s SFT stage (checked)
## EVAL_ARGS="--pairs feedback": pairs from a simulated user's feedback on the served SFT model
EVAL_ARGS ?=
eval: $(STAMP) system-packages
	$(PY) -m eval_harness.compare $(EVAL_ARGS)

## eval-realweb: the real-web report (backend and page level, bundled model) into eval_harness/results/realweb/
## REALWEB_ARGS="--model DIR" judges another model; "--per-set N" a seeded sample
REALWEB_ARGS ?=
eval-realweb: $(STAMP) test-deps
	$(PY) -m eval_harness.realweb $(REALWEB_ARGS)

## eval-feedback: the feedback loop on real images (helpers correct dev pages through the API, retrain.py
## after each round, measured on the test split; MCM-DPO at noise 0/10/30%, DPO at 0, cDPO at 30%; 3 seeds;
## --resume keeps the finished runs of an earlier invocation, --paper-facets-noise 0 adds the paper's seven facets)
## into eval_harness/results/feedback_loop/; FEEDBACK_ARGS="--choose" measures on dev pages instead
FEEDBACK_ARGS ?=
eval-feedback: corpus
	$(PY) -m eval_harness.feedback_loop $(FEEDBACK_ARGS)

## corpus: the generated corpus `make model` trains on, with its OCR cache, where `make model` has not run
## (retrain.py replays it, the retrain gate and eval-feedback measure on its held-out split)
CORPUS := var/model-build/corpus
corpus: $(STAMP) system-packages
	@test -f $(CORPUS)/test.jsonl || $(PY) -m corpus --out $(CORPUS) --seed 0 --size 4000 --quiet
	$(PY) -c "from pathlib import Path; from trainer.default_model import ocr_texts; ocr_texts(Path('$(CORPUS)'))"

## bench: benchmarks, side by side, ratios printed and written to bench/results/
bench: $(STAMP) test-deps
	$(PY) -m bench

## loadtest: the full load test (gunicorn + PostgreSQL, 16 clients, 60 s)
loadtest: $(STAMP)
	$(PY) bench/loadtest.py
