#!/bin/sh
# The one way newsflow's Python packages are installed (Makefile, .ci/run, .ci/smoke-wheel,
# deploy/Dockerfile): the same distributions every time, whatever is published later.
#
#   sh deploy/install-locked.sh PYTHON LOCK [--editable DIR | --wheel FILE]
#   sh deploy/install-locked.sh .venv/bin/python requirements-dev.lock --editable .
#
# 1. A pinned, hash-checked pip and setuptools (requirements-bootstrap.lock), installed by
#    whatever pip the environment came with: they have no dependencies, so nothing resolves.
# 2. The lock, hash-checked, with --no-deps: exactly its pins, nothing resolved past them.
# 3. Optionally the project (an editable checkout or a built wheel), --no-deps, built with
#    the locked setuptools (--no-build-isolation: no unpinned build backend is fetched).
# 4. The guard: `pip check` (every requirement of every installed distribution is met,
#    extras included) and verify_lock.py (every installed distribution is the locked version,
#    and nothing unlocked is installed). Any failure exits non-zero with what to do.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: sh deploy/install-locked.sh PYTHON LOCK [--editable DIR | --wheel FILE]" >&2
    exit 2
fi
py=$1 lock=$2
here=$(cd "$(dirname "$0")" && pwd)
boot=${NEWSFLOW_BOOTSTRAP_LOCK:-$here/../requirements-bootstrap.lock}
pip="$py -m pip --disable-pip-version-check --no-input"
for f in "$lock" "$boot"; do
    [ -f "$f" ] || { echo "install-locked: $f not found" >&2; exit 2; }
done

echo "install-locked: the pinned installer ($(grep -E '^pip==' "$boot" | cut -d' ' -f1))"
$pip install -q --require-hashes --no-deps -r "$boot"
echo "install-locked: $(grep -cE '^[A-Za-z0-9].*==' "$lock") locked distributions from $(basename "$lock")"
$pip install -q --require-hashes --no-deps -r "$lock"

allow=""
case "${3:-}" in
    --editable)  # setuptools' notice that any editable install prints is not news here
        PYTHONWARNINGS="ignore:Editable installation" \
            $pip install -q --no-deps --no-build-isolation -e "$4"; allow=newsflow ;;
    --wheel) $pip install -q --no-deps "$4"; allow=newsflow ;;
    "") ;;
    *) echo "install-locked: unknown option $3" >&2; exit 2 ;;
esac

$pip check || { echo "install-locked: the lock is incomplete or inconsistent: run 'make lock'" >&2; exit 1; }
if [ "$(cd "$(dirname "$lock")" && pwd)/$(basename "$lock")" = "$(cd "$(dirname "$boot")" && pwd)/$(basename "$boot")" ]; then
    boot=""   # installing the installer alone (a build environment)
fi
"$py" "$here/verify_lock.py" "$lock" ${boot:+"$boot"} ${allow:+--allow "$allow"}
