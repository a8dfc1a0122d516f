# tgfetch: `make run` starts the bot, `make test` runs every check. Both create .venv first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
DURATION ?= 600

.PHONY: install install-dev system-deps run test lint bench soak clean

# System packages: ffmpeg (probe, thumbnails, merging, audio extraction) and venv support.
system-deps:
	@if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null || \
	   ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages: ffmpeg python3-venv"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg python3-venv >/dev/null; \
	  else \
	    echo "please run: sudo apt-get install -y ffmpeg python3-venv" >&2; exit 1; \
	  fi; \
	fi

$(PY): | system-deps
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -r requirements-dev.txt
	touch $@

install: system-deps $(VENV)/.runtime
install-dev: install $(VENV)/.dev

run: install
	$(PY) main.py

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test: lint
	$(VENV)/bin/pytest -q

bench: install-dev
	$(PY) -m bench.run

soak: install-dev
	$(PY) -m bench.soak --duration $(DURATION)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
