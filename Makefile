# The commands people type. `make test` and `make demo` install what they need (pinned) first.
SHELL := bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed
WORLD_ARGS ?=
# cfn-guard (AWS CloudFormation Guard), pinned, built from crates.io into .tools/ once (~7 min on
# 2 cores; the versioned stamp skips it afterwards). The AWS Guard Rules Registry is not vendored:
# GUARD_RULES points at a checkout (default: ../shared/guard-rules beside the repository). Without
# it, test-infra neither installs cfn-guard nor runs the Guard checks (the tests say they skipped).
CFN_GUARD_VERSION := 3.2.1
CFN_GUARD_STAMP := .tools/.cfn-guard-$(CFN_GUARD_VERSION)
GUARD_RULES ?= $(abspath $(CURDIR)/../shared/guard-rules)
GUARD_DEPS := $(if $(wildcard $(GUARD_RULES)/rules),$(CFN_GUARD_STAMP))
# checkov: no calls to its SaaS for guideline mappings (the checks themselves are local).
CHECKOV_ENV := BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false

.PHONY: help invoke world test test-world test-rust test-infra guard lint build demo deploy lambda fuzz bench bench-reconcile clean

help:
	@echo "make demo     the auditor against the local two-account world, from upload to alert"
	@echo "make test     every test: world, auditor (unit, handler, end to end), infra checks, lint"
	@echo "make invoke   the function as Lambda runs it, on EVENT=events/sqs-s3.json (runtime API + local world)"
	@echo "make world    the local AWS world in the foreground (prints READY http://127.0.0.1:PORT)"
	@echo "make build    release build of replication-auditor"
	@echo "make lambda   the Lambda zip with cargo lambda (x86_64; arm64 needs zig: see docs/operations.md, Deploy)"
	@echo "make deploy   sam build + deploy in account A, the audit role in account B (docs/operations.md, Deploy)"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make guard    the templates against the AWS Guard Rules Registry (installs cfn-guard $(CFN_GUARD_VERSION))"
	@echo "make fuzz     libFuzzer on the event decoder for FUZZ_SECONDS (default 600)"
	@echo "make bench    the Rust auditor vs a boto3 baseline; exits 1 when a budget is missed"
	@echo "make bench-reconcile  reconcile vs DuckDB on ROWS (default 10M) inventory rows per side, REPEAT runs each; exits 1 when a budget is missed"

# The local world: moto + the replication engine's dependencies, pytest (all pinned).
$(STAMP): world/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r world/requirements.txt
	touch $@

# Template checks in their own venv: checkov pins an older boto3 than moto's.
$(INFRA_STAMP): infra/requirements.txt
	python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

world: $(STAMP)
	@$(PY) -m world $(WORLD_ARGS)

test-world: $(STAMP)
	$(PY) -m pytest world/tests -q -p no:cacheprovider

test-infra: $(INFRA_STAMP) $(GUARD_DEPS) deny
	$(INFRA_VENV)/bin/cfn-lint infra/*.yaml
	$(CHECKOV_ENV) $(INFRA_VENV)/bin/checkov -d infra --framework cloudformation --quiet --compact --skip-download
	GUARD_RULES=$(GUARD_RULES) $(INFRA_VENV)/bin/python -m pytest infra/tests -q -p no:cacheprovider

$(CFN_GUARD_STAMP):
	cargo install cfn-guard --locked --version $(CFN_GUARD_VERSION) --root $(CURDIR)/.tools
	touch $@

# cargo-deny (deny.toml), pinned, built from crates.io into .tools/ once (~3 min on 2 cores; the
# versioned stamp skips it afterwards). `deny` (run by test-infra, so by `make test`) checks
# licenses, sources and bans offline, after fetching the locked crates from crates.io as the build
# does. The RustSec advisory database comes from GitHub, so advisories need network and are their
# own target: `make deny-advisories` (docs/security.md).
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY_STAMP := .tools/.cargo-deny-$(CARGO_DENY_VERSION)
CARGO_DENY := .tools/bin/cargo-deny --locked --log-level error
.PHONY: deny deny-advisories

$(CARGO_DENY_STAMP):
	cargo install cargo-deny --locked --version $(CARGO_DENY_VERSION) --root $(CURDIR)/.tools
	touch $@

deny: $(CARGO_DENY_STAMP)
	cargo fetch --locked --quiet
	$(CARGO_DENY) --offline check --hide-inclusion-graph --show-stats licenses sources bans

deny-advisories: $(CARGO_DENY_STAMP)
	$(CARGO_DENY) check --hide-inclusion-graph --show-stats advisories

guard: $(INFRA_STAMP) $(CFN_GUARD_STAMP)
	GUARD_RULES=$(GUARD_RULES) $(INFRA_VENV)/bin/python -m pytest infra/tests/test_guard.py -q -p no:cacheprovider -rs

test-rust: $(STAMP)
	cargo test --locked

lint:
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings

test: test-world test-infra test-rust lint

build:
	cargo build --locked --release

# cargo-lambda from PyPI (the wheel ships the binary), pinned, into the world's venv.
LAMBDA_STAMP := $(VENV)/.cargo-lambda
$(LAMBDA_STAMP): $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2
	touch $@

lambda: $(LAMBDA_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --compiler cargo --output-format zip
	@ls -l target/lambda/replication-auditor/bootstrap.zip

# The function run the way Lambda runs it: a Lambda Runtime API + the local world (demo/invoke.py).
EVENT ?= events/sqs-s3.json
invoke: $(STAMP)
	cargo build --locked --quiet
	@$(PY) demo/invoke.py $(EVENT)

demo: $(STAMP)
	cargo build --locked --quiet
	@$(PY) demo/run_demo.py

deploy:
	infra/deploy.sh

# Release artefact first (the binary measured is the one deployed), then the side-by-side run.
bench: $(STAMP) lambda
	$(PY) benches/run_bench.py

# `reconcile` vs DuckDB on two generated S3 Inventory reports of ROWS rows per side, REPEAT runs of
# each (median reported). The data is cached in target/bench-reconcile/ (10M rows: ~4-5 min to
# generate on 2 cores, 2.2 GB of gzip; each run of ours spills ~4.4 GB more, removed after it).
# Budgets (docs/reconcile-performance.md): ours wall <= 1.0x DuckDB's, ours peak RSS <= 256 MiB.
# DuckDB, pinned, into the project's venv (its own stamp: the world's packages are not needed).
ROWS ?= 10000000
REPEAT ?= 1
BENCH_RECONCILE_STAMP := $(VENV)/.bench-reconcile
$(BENCH_RECONCILE_STAMP): benches/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r benches/requirements.txt
	touch $@

bench-reconcile: $(BENCH_RECONCILE_STAMP)
	cargo build --locked --release
	$(PY) benches/reconcile_bench.py --rows $(ROWS) --repeat $(REPEAT)

# libFuzzer through cargo-fuzz (stable toolchain, no sanitizer), seeded with events/ and the corpus.
FUZZ_SECONDS ?= 600
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
	mkdir -p fuzz/corpus/decode_event
	cd fuzz && cargo fuzz run decode_event --sanitizer none corpus/decode_event ../events ../tests/corpus/cases \
		-- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1

clean:
	rm -rf $(VENV) $(INFRA_VENV) target .aws-sam fuzz/target
