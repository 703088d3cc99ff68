#!/usr/bin/env bash
# Regenerates requirements/lock.txt: the exact version (and hashes) of every package scripts/install.sh installs,
# resolved by pip-compile (pip-tools, pip's own resolver and this machine's pip configuration, whose find-links
# /opt/wheels holds the CPU torch wheel) from pyproject.toml with all its extras plus requirements/extra.in
# (the MiniLM weights, the build's setuptools, pip).
#
#   bash scripts/lock.sh                          every package to the newest version pyproject.toml admits
#   bash scripts/lock.sh --upgrade-package NAME   only NAME (and what it drags along); --no-upgrade: only what changed
#
# A refresh is a deliberate commit of its own: run `bash scripts/install.sh` and the whole test suite on the new lock
# before committing it. pip-tools lives in a throw-away venv under /tmp, never in .venv or the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP_TOOLS=${PIP_TOOLS:-'pip-tools[stable]==7.7.0'}  # [stable]: a pip that this pip-tools is known to work with
[ $# -gt 0 ] || set -- --upgrade
tools=$(mktemp -d /tmp/emobench-lock.XXXXXX)
trap 'rm -rf "$tools"' EXIT
"$PY" -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install -q "$PIP_TOOLS"
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/venv/bin/pip-compile" --quiet "$@" \
  --all-extras --strip-extras --allow-unsafe --generate-hashes --no-emit-index-url \
  --output-file=requirements/lock.txt pyproject.toml requirements/extra.in
# the set-up is CPU-only: a lock with the CUDA build (no /opt/wheels here?) must not be committed
if ! grep -q '^torch==[^ ]*+cpu ' requirements/lock.txt || grep -Eq '^(nvidia-|triton==)' requirements/lock.txt; then
  echo "requirements/lock.txt does not pin the CPU torch build (is the +cpu wheel in pip's find-links?)" >&2
  exit 1
fi
echo "requirements/lock.txt: $(grep -c '^[A-Za-z0-9]' requirements/lock.txt) packages"
