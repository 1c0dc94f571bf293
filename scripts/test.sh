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
# dotnet test prints "Failed: F, Passed: P, Skipped: S, Total: T" per test assembly.
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1 || true)
rm -f "$log"
if [ -n "$summary" ]; then
  failed=$(sed -E 's/Failed: +([0-9]+).*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
fi
exit "$status"
