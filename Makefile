# One entry point for people and CI: make run, make test, make chat, make bench,
# make validate, make lint. Each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | md5sum | cut -c1-12)
# pip-audit in a venv of its own: it needs packaging>=21, Rasa 3.6 pins packaging<21
AUDIT_VENV := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed-$(shell cat requirements-audit.txt | md5sum | cut -c1-12)
MODEL := models/shop.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/nlu/*.yml data/rules/*.yml jieba_dict/* nlu_components/*.py)

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning
# the queue tests also run against this PostgreSQL (each test in a schema of its own)
export TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: help install browser nginx run run-scaled chat train test bench lint audit validate clean

help:
	@echo "make run       install, train if needed, start the bot (Ctrl-C stops it)"
	@echo "make run-scaled  the same as several processes on PostgreSQL and Redis, nginx in front (settings.yml: scaled)"
	@echo "make chat      talk to the running bot in this terminal"
	@echo "make test      install and run the whole test suite"
	@echo "make validate  check the knowledge base, the product catalog and the Rasa training data"
	@echo "make browser   install Debian's chromium and a CJK font for the browser tests (make test does)"
	@echo "make bench     measure NLU quality, server and gateway speed (figures to stdout)"
	@echo "make lint      ruff, import-linter's layer contracts (pyproject.toml) and make audit"
	@echo "make audit     pip-audit of requirements.txt; accepted advisories in audit-ignore.toml (docs/dependency-audit.md)"

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

# Browser tests drive Debian's Chromium (never a browser a test tool downloads);
# a CJK font makes Chinese render as text, not boxes, in their screenshots.
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@missing=$$(for p in $(BROWSER_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "Installing Debian packages for the browser tests: $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
		|| { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
		|| { echo "Could not install $$missing: run 'apt-get install $$missing' as root, then make test again."; exit 1; }; \
	fi

# The scaled setup's load balancer: Debian's nginx, run by make run-scaled and the tests as a child process
# with its own configuration (bot/nginx_config.py), never as the system's service.
nginx:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "Installing Debian's nginx for the scaled setup"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$$sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null \
		|| { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null; } \
		|| { echo "Could not install nginx: run 'apt-get install nginx' as root, then try again."; exit 1; }; \
	fi

train: $(MODEL)

run: $(MODEL)
	$(PY) -m bot.run

run-scaled: $(MODEL) nginx
	$(PY) -m bot.run_scaled

chat: $(STAMP)
	$(PY) -m bot.chat

validate: $(STAMP)
	$(PY) -m knowledge.validate
	$(PY) -m catalog.validate
	$(RASA) data validate --data data/nlu data/rules --domain domain.yml --config config.yml

test: $(STAMP) $(AUDIT_STAMP) browser nginx
	$(PY) -m pytest

bench: $(STAMP) $(MODEL) nginx
	$(PY) -m bench.run_all

lint: $(STAMP) $(AUDIT_STAMP)
	$(VENV)/bin/ruff check .
	@# the layers and the no-circle rule of docs/architecture.md (contracts in pyproject.toml)
	$(VENV)/bin/lint-imports --no-cache
	$(AUDIT_VENV)/bin/python -m tools.dependency_audit

# Advisories against the lock: an unaccepted finding fails; no reachable advisory service is a loud warning
# (AUDIT_REQUIRE_SERVICE=1 makes it a failure). docs/dependency-audit.md says what is accepted and why.
audit: $(AUDIT_STAMP)
	$(AUDIT_VENV)/bin/python -m tools.dependency_audit

$(AUDIT_STAMP): requirements-audit.txt
	@python=$$(scripts/find-python310) || exit 1; \
	if [ ! -x $(AUDIT_VENV)/bin/python ] || ! $(AUDIT_VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
		echo "Creating $(AUDIT_VENV) with $$python"; rm -rf $(AUDIT_VENV); "$$python" -m venv $(AUDIT_VENV) || exit 1; \
	fi
	$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-audit.txt
	@rm -f $(AUDIT_VENV)/.installed-*; touch $@

clean:
	rm -rf models/*.tar.gz .pytest_cache test-output
