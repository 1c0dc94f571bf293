#!/usr/bin/env bash
# Installs what the tests need (the Fashion-MNIST Debian package), builds, runs every test and ends
# with the line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

dotnet build DenseFlow.slnx -c Release -nologo -v q
log=$(mktemp)
set +e
dotnet test DenseFlow.slnx -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# dotnet test prints "Failed: F, Passed: P, Skipped: S, Total: T" per test assembly: add them up.
counts=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" \
  | sed -E 's/Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+)/\1 \2 \3/' \
  | awk '{f+=$1; p+=$2; s+=$3; n++} END {if (n) print f, p, s}' || true)
rm -f "$log"
if [ -z "$counts" ]; then
  echo "scripts/test.sh: no test summary in the output of dotnet test (exit $status)" >&2
  [ "$status" -ne 0 ] || status=1
else
  read -r failed passed skipped <<<"$counts"
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
  # A run that executed no test proves nothing: fail it.
  if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "scripts/test.sh: no test ran" >&2
    status=1
  fi
fi
exit "$status"
