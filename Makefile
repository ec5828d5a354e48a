# agenteval developer entry points. `make test` and `make demo` work on a fresh machine: they create
# .venv and install what they need when it is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
export LITELLM_LOCAL_MODEL_COST_MAP := True
export NO_GCE_CHECK := true
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv browser test demo lint typecheck clean audit lock

# The CPU build of torch goes in first: with no torch installed, sentence-transformers would pull a
# multi-GB CUDA build. The [local] extra compiles llama-cpp-python once (a few minutes).
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt torch==2.13.0 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PIP) install -q -c constraints.txt -e '.[dev,embeddings,local,mlflow,ray]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), 'torch was replaced: ' + torch.__version__"
	$(PY) -c "import agenteval, litellm, llama_cpp, sentence_transformers"
	touch $@

venv: $(VENV)/.installed

# Headless Chromium and its driver from Debian, for the report's browser tests (never a browser download
# by a test tool at run time).
browser:
	test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || \
		{ apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

test: venv browser
	$(PY) -m pytest -q

demo: venv
	$(PY) -m agenteval.demo

lint: venv
	$(VENV)/bin/ruff check agenteval tests

typecheck: venv
	$(VENV)/bin/mypy --strict agenteval

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache

# Known-bad dependency versions. Always, offline: constraints.txt and pyproject.toml against the advisories
# shipped in audit/advisories.toml (the compromised litellm releases among them). Then pip-audit, which asks
# the package index's advisory data: vulnerabilities it finds fail the target; when it cannot reach that
# service (or cannot be installed) the script says so and the offline check stands alone.
audit: venv
	test -x $(VENV)/bin/pip-audit || { $(PIP) install -q pip-audit 2>&1 | { grep -v "^WARNING: Location" || true; }; } || true
	grep -v '^torch==' constraints.txt > $(VENV)/audit-requirements.txt
	$(PY) scripts/audit_offline.py --constraints constraints.txt --pyproject pyproject.toml \
		--advisories audit/advisories.toml \
		--pip-audit $(VENV)/bin/pip-audit --pip-audit-requirements $(VENV)/audit-requirements.txt

# Re-pin constraints.txt from the current virtualenv (after changing dependencies in pyproject.toml).
lock: venv
	{ head -2 constraints.txt; $(PIP) freeze --exclude-editable | grep -v '^-e\|^agenteval'; } > constraints.new
	mv constraints.new constraints.txt
