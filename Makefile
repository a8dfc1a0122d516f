# tgfetch: `make run` starts the bot, `make test` runs every check. Both create .venv first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
DURATION ?= 600
SYSTEM_PACKAGES := ffmpeg python3-venv chromium-headless-shell fonts-dejavu-core fonts-liberation

.PHONY: install install-dev system-deps test-deps run test lint bench bench-stop bench-upload bench-media bench-parts bench-scale bench-children bench-bigdb bench-pdf attack soak soak-flood clean i18n i18n-new

# System packages: ffmpeg (probe, thumbnails, merging, audio extraction), venv support, and
# Chromium's headless shell for /pdf (Debian's, driven by Playwright, which downloads no browser
# of its own) with fonts for Latin and Persian pages.
system-deps:
	@if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null || \
	   ! $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
	   [ ! -x /usr/lib/chromium/chromium-headless-shell ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages: $(SYSTEM_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "please run: sudo apt-get install -y $(SYSTEM_PACKAGES)" >&2; exit 1; \
	  fi; \
	fi

# redis-server for the tests of the distributed mode (QUEUE_URL: a front and workers through
# Redis). The tests start their own servers; nothing is left running. A bot on one machine
# (no QUEUE_URL) never needs it, so `make run` does not install it.
test-deps:
	@if ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages: redis-server"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "please run: sudo apt-get install -y redis-server" >&2; exit 1; \
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

# The tests in TEST_WORKERS processes (pytest-xdist); TEST_WORKERS=0 runs them in this one.
TEST_WORKERS ?= 3
test: lint test-deps
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS)

# Benchmarks and the soak test (docs/BENCHMARKS.md), all on 127.0.0.1: `make bench` takes
# about a minute and a half; `make bench-stop` only times stops at awkward moments (goal: < 3 s);
# `make soak DURATION=60` is the quick check, the default is 600 s.
bench: install-dev
	$(PY) -m bench.run

bench-stop: install-dev
	$(PY) -m bench.stop_latency

# Peak memory of four 45 MB uploads at once: the bot's deliverer against PTB's two ways of
# sending a file handle (about 15 s; goal: growth under 10 MB).
bench-upload: install-dev
	$(PY) -m bench.upload_memory

# Past one machine (docs/SCALING.md): 40 links through the front to 1, 2 and 4 workers, each
# worker process held to the same bandwidth by the media server; the time from kill -9 of a
# worker to its job running on another; a worker cut off from Redis mid-upload, Redis and the
# front restarted, a cancel (about 18 minutes; bench/results/scaling.{json,md}).
bench-scale: install-dev test-deps
	$(PY) -m bench.scaling

# What each kind of media arrives as (issue 14's table), with the delivery time and the bytes
# fetched for an HLS master's audio and a remuxed mkv (about 30 s). BENCH_MAIN=/other/main.py
# runs another checkout's daemon against these fakes, e.g. main before a change.
BENCH_MAIN ?= main.py
BENCH_LABEL ?= this checkout
bench-media: install-dev
	$(PY) -m bench.media_cases --main "$(BENCH_MAIN)" --label "$(BENCH_LABEL)"

# Issue 29: the bigdb_* figures alone, on two months of a busy bot (scale 1: 1M links, about
# 350 MB; 3-4 minutes; bench/results/bigdb-*.{json,md}). `make bench` measures them at
# BIGDB_SCALE=0.1. BENCH_MAIN=/other/main.py BIGDB_SCHEMA=N measures another checkout's
# daemon on a database left at the schema it knows (3 before issue 23, 4 before issue 29).
BIGDB_SCALE ?= 1
bench-bigdb: install-dev
	$(PY) -m bench.bigdb_bench --scale $(BIGDB_SCALE) --main "$(BENCH_MAIN)" \
	  --label "$(BENCH_LABEL)" $(if $(BIGDB_SCHEMA),--schema $(BIGDB_SCHEMA))

# Issue 16: a 130 MB video sent in parts (no MTProto) and a 12-item playlist sent as albums,
# 3 runs each: delivery time, peak RSS, peak disk in DATA_DIR, bytes uploaded against bytes
# downloaded (about a minute; bench/results/parts.{json,md}).
bench-parts: install-dev
	$(PY) -m bench.parts

# /pdf on a typical article, 3 fresh daemons: seconds to the document with the browser cold and
# warm, peak RSS and PSS of the daemon with its browser (about a minute; bench/results/pdf.*).
bench-pdf: install-dev
	$(PY) -m bench.pdf_memory

# Each hostile link of issue 11 against a fresh daemon: peak RSS, seconds from stop to free
# worker (about a minute; bench/results/attack.{json,md}; exit 1 when a goal is missed).
attack: install-dev
	$(PY) -m bench.attack

# Issue 26: what each child needs (ffprobe, the remux, thumbnails, yt-dlp's merge and HLS fix-up,
# deno solving a challenge), through the wrappers at CHILD_MEMORY_MB=300, with the smallest
# RLIMIT_DATA and RLIMIT_AS each succeeds under (about three minutes; bench/results/child_memory.*).
bench-children: install-dev
	$(PY) -m bench.child_memory

soak: install-dev
	$(PY) -m bench.soak --duration $(DURATION)

# The soak against Telegram's flood limits, one daemon throughout (issue 22; at least 20 minutes:
# `make soak-flood DURATION=1200`): fails on a call into a running retry_after, a duplicate, an
# unanswered link, or the daemon's RSS at the end more than 5 MB above its RSS after a minute.
soak-flood: install-dev
	$(PY) -m bench.soak --flood --duration $(DURATION)

# Translations. `make i18n` extracts every tr("...")/N_("...") string, and every counted one
# (tr.ngettext("...", "...", n), N_plural("...", "...")) with its plural, into the template and
# merges it into each catalog, whose Plural-Forms header says how the language counts: new
# strings arrive untranslated and changed ones fuzzy, both of which the catalog test rejects
# until they are translated. `make i18n-new LOCALE=ar` starts a
# catalog for another language.
I18N := bot/i18n
PYBABEL := $(VENV)/bin/pybabel

i18n: install
	$(PYBABEL) -q extract -F babel.cfg --no-default-keywords -k tr -k N_ \
	  -k ngettext:1,2 -k N_plural:1,2 \
	  --add-comments=Translators: --add-location=file --sort-by-file --no-wrap \
	  --project=tgfetch --copyright-holder=tgfetch -o $(I18N)/messages.pot .
	$(PYBABEL) -q update -i $(I18N)/messages.pot -d $(I18N)/locales -D messages \
	  --ignore-obsolete --no-wrap

i18n-new: install
	@test -n "$(LOCALE)" || { echo "usage: make i18n-new LOCALE=xx" >&2; exit 2; }
	$(PYBABEL) init -i $(I18N)/messages.pot -d $(I18N)/locales -D messages -l $(LOCALE) --no-wrap

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
