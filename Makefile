# One entry point for people and CI: make run, make test, make chat, make bench,
# make validate, make lint. Each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | md5sum | cut -c1-12)
MODEL := models/shop.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/nlu/*.yml data/rules/*.yml jieba_dict/* nlu_components/*.py)

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install run chat train test bench lint validate clean

help:
	@echo "make run       install, train if needed, start the bot (Ctrl-C stops it)"
	@echo "make chat      talk to the running bot in this terminal"
	@echo "make test      install and run the whole test suite"
	@echo "make validate  check the knowledge base and the Rasa training data"
	@echo "make bench     measure NLU quality and speed (writes figures to stdout)"
	@echo "make lint      ruff"

install: $(STAMP)

$(STAMP): requirements.txt
	@python=$$(scripts/find-python310) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
		echo "Creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.0
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*; touch $@

$(MODEL): $(STAMP) $(TRAINING_INPUTS)
	$(PY) -m knowledge.validate
	$(RASA) train --data data/nlu data/rules --config config.yml --domain domain.yml \
		--out models --fixed-model-name shop
	@touch $@

train: $(MODEL)

run: $(MODEL)
	$(PY) -m bot.run

chat: $(STAMP)
	$(PY) -m bot.chat

validate: $(STAMP)
	$(PY) -m knowledge.validate
	$(RASA) data validate --data data/nlu data/rules --domain domain.yml --config config.yml

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench.run_all

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf models/*.tar.gz .pytest_cache test-output
