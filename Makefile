# usp-simulator: every target sets up what it needs itself (venv, Python deps, mosquitto when root).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTO_DIR := simulator/usp/proto
PB_DIR := simulator/usp/_pb

.PHONY: demo test lint typecheck unit proto bench mosquitto clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "usp-simulator needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing python3-venv (apt-get)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv) >/dev/null; \
			$(PYTHON) -m venv $(VENV); \
		else echo "python3 -m venv failed: install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv)"; exit 1; fi; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: the main job on an embedded default (no broker to install)
demo: $(STAMP)
	$(VENV)/bin/uspsim demo

## mosquitto: install Debian's mosquitto when missing (needs root; integration tests skip without it)
mosquitto:
	@if command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing mosquitto (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto) >/dev/null \
		|| echo "WARNING: apt-get could not install mosquitto; MQTT integration tests will be skipped"; \
		systemctl disable --now mosquitto >/dev/null 2>&1 || service mosquitto stop >/dev/null 2>&1 || true; \
	else \
		echo "NOTE: mosquitto is not installed and this is not root: skipping the apt step;"; \
		echo "      MQTT integration tests will be skipped (install it with: sudo apt-get install mosquitto)"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check $(wildcard simulator tests bench locustfiles)
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## test: the whole suite (lint, types, import layering, unit, integration)
test: $(STAMP) mosquitto lint typecheck
	$(PY) -m pytest -q

## proto: regenerate simulator/usp/_pb from our .proto files (needs grpcio-tools, a dev dependency)
# protoc stamps its own protobuf version (e.g. 7.35.1) into the gencode's runtime check; we lower it to
# PB_RUNTIME_FLOOR, the floor pyproject.toml declares (protobuf>=7.35), so every allowed runtime imports
# it. Same major and minor only: the step fails if protoc is older than the floor or of another major.
PB_RUNTIME_FLOOR := 7.35.0
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -I$(PROTO_DIR) --python_out=$(PB_DIR) --pyi_out=$(PB_DIR) \
		$(PROTO_DIR)/usp-record-1-4.proto $(PROTO_DIR)/usp-msg-1-4.proto $(PROTO_DIR)/usp-envelope.proto
	$(PY) -c 'import pathlib; [p.replace(p.with_name(p.name.replace("-", "_"))) for p in pathlib.Path("$(PB_DIR)").glob("usp-*_pb2.py*")]'
	@# protoc writes cross-file imports as top-level modules ("import usp_msg_1_4_pb2"): make them package-relative
	$(PY) -c 'import pathlib, re; [f.write_text(re.sub(r"^import (usp_\w+_pb2)", r"from . import \1", f.read_text(), flags=re.M)) for f in pathlib.Path("$(PB_DIR)").glob("usp_*_pb2.py*")]'
	$(PY) -c 'import pathlib, re, sys; floor = tuple(int(x) for x in "$(PB_RUNTIME_FLOOR)".split(".")); \
		pat = re.compile(r"(Domain\.PUBLIC,\s*)(\d+),(\s*)(\d+),(\s*)(\d+),"); \
		files = list(pathlib.Path("$(PB_DIR)").glob("usp_*_pb2.py")); \
		gens = [tuple(int(g) for g in pat.search(f.read_text()).group(2, 4, 6)) for f in files]; \
		bad = [g for g in gens if g[:2] != floor[:2] or g < floor]; \
		bad and sys.exit(f"gencode {bad} is not in the $(PB_RUNTIME_FLOOR) major.minor series: update PB_RUNTIME_FLOOR and pyproject"); \
		[f.write_text(pat.sub(lambda m: f"{m[1]}{floor[0]},{m[3]}{floor[1]},{m[5]}{floor[2]},", f.read_text(), count=1)) for f in files]'
	@test -f $(PB_DIR)/__init__.py || echo '"""Generated protobuf modules for USP 1.4 (make proto); never hand-edited."""' > $(PB_DIR)/__init__.py

## bench: run every benchmark script (prints JSON)
bench: $(STAMP) mosquitto
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
