# Thin wrappers around uv; `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=

.PHONY: install fonts sysdeps apt run test test-unit test-e2e bench drill lint fmt migrate clean

$(UV):
	python3 -m venv .tools && .tools/bin/pip install -q uv

install: $(UV)
	@# Compiled once here: an environment with PYTHONDONTWRITEBYTECODE (as CI's is) would
	@# otherwise compile every module again in each process it starts (~2 s per duban web).
	$(UV) sync --frozen --compile-bytecode
	@# The OIDC tests run a real provider (Node's oidc-provider, pinned in its package-lock.json).
	@if command -v npm >/dev/null && [ ! -d tests/oidc/node_modules ]; then \
	  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error); fi

# Debian packages: CJK fonts for PDF reports (run and test); chromium and pdftoppm for tests.
fonts:
	@$(MAKE) -s apt PKGS="fonts-noto-cjk" CHECK='[ -d /usr/share/fonts/opentype/noto ]'

sysdeps:
	@$(MAKE) -s apt PKGS="chromium fonts-noto-cjk poppler-utils" \
	  CHECK='[ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/opentype/noto ] && command -v pdftoppm >/dev/null'

apt:
	@if ! ( $(CHECK) ); then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PKGS) >/dev/null; \
	  else echo "need root to apt-get install $(PKGS)" >&2; exit 1; fi; \
	fi

run: install fonts
	$(UV) run duban dev

test: install sysdeps
	$(UV) run pytest $(PYTEST_ARGS)
	$(UV) run pytest -m e2e $(PYTEST_ARGS)

test-unit: install
	$(UV) run pytest $(PYTEST_ARGS)

test-e2e: install sysdeps
	$(UV) run pytest -m e2e $(PYTEST_ARGS)

bench: install
	$(UV) run python -m bench

# 1,000 calls over HTTP per fault (worker -9, Temporal restart, PostgreSQL restart); writes
# bench/drill.md. DRILL_ARGS="--per-fault 100" for a shorter one.
DRILL_ARGS ?=
drill: install
	$(UV) run python -m bench.drill $(DRILL_ARGS)

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy .

fmt: install
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

migrate: install
	$(UV) run alembic upgrade head

clean:
	rm -rf .tools var .pytest_cache
