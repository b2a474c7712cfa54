# Every target creates the virtualenv it needs; nothing must be installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-nopatches lint bench bench-smoke mutate clean

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

# mypy runs strict (pyproject.toml) on prober/: ~7 s cold, well under a second with its cache.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy prober
	$(PY) -m pytest

# The tests that reach every library patch's fallback, again with all patches switched off (README,
# "Library patches"): HTTP, TCP and SSH probes, hostile servers, 1xx, re-sends, known_hosts. CI runs
# it after `test`; tests of what only a patch gives skip, naming the patch.
NOPATCHES_TESTS := tests/patches tests/probes tests/secrets tests/ssh/test_probe.py tests/ssh/test_pool.py \
	tests/ssh/test_hostile.py tests/ssh/test_classify_ssh.py tests/ssh/test_knownhosts.py \
	tests/ssh/test_prepared_sweep.py
test-nopatches: $(STAMP)
	PROBER_NO_PATCHES=1 $(PY) -m pytest $(NOPATCHES_TESTS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy prober

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run.py
	$(PY) bench/ssh_checks.py --hosts 200

# Mutation check of the core modules (README, "Development"); not part of `test` or CI. Niced: it
# keeps every core busy for a while. MUTATE_ARGS: module globs, --resume, --report, --max-children N.
mutate: $(STAMP)
	$(PY) -m pip install --quiet -e '.[mutate]'
	nice -n 10 $(PY) tools/mutate/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache mutants
