# The commands people type. `make test` and `make demo` install what they need (pinned) first.
SHELL := bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORLD_ARGS ?=

.PHONY: help world test test-world test-rust lint build demo bench deploy clean

help:
	@echo "make demo    run the auditor against the local two-account world"
	@echo "make test    every test: world, auditor (unit + integration), infra checks, lint"
	@echo "make world   the local AWS world in the foreground (prints READY http://127.0.0.1:PORT)"
	@echo "make build   release build of replication-auditor"
	@echo "make lint    cargo fmt --check and clippy -D warnings"

# The pinned Python side: moto + the replication engine's dependencies, pytest, infra linters.
$(STAMP): world/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r world/requirements.txt
	touch $@

world: $(STAMP)
	@$(PY) -m world $(WORLD_ARGS)

test-world: $(STAMP)
	$(PY) -m pytest world/tests -q -p no:cacheprovider

test-rust: $(STAMP)
	cargo test --locked

lint:
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings

test: test-world test-rust lint

build:
	cargo build --locked --release

demo: $(STAMP)
	cargo build --locked --quiet
	@$(PY) demo/run_demo.py

clean:
	rm -rf $(VENV) target
