# Every target creates the virtualenv it needs; nothing must be installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,fast]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The simulated fleet has broken hosts on purpose, so the sweep's verdict is 2 ("the gate
# failed"); the demo itself succeeded when that verdict is 0 or 2.
demo: $(STAMP)
	@$(VENV)/bin/prober demo; code=$$?; \
	echo "prober demo: exit $$code (0 gate passed, 2 gate failed: the simulated fleet has failing hosts by design)" >&2; \
	[ $$code -le 2 ]

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy prober

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run.py
	$(PY) bench/ssh_checks.py --hosts 200

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
