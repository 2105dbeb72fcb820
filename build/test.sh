#!/usr/bin/env bash
# Sets up what is missing, then runs every test (unit and end-to-end) and prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
build/setup.sh
log=$(mktemp)
set +e
dotnet test PicGuard.slnx -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
count() { grep -oE "$1: +[0-9]+" "$log" | awk '{ n += $2 } END { print n + 0 }'; }
failed=$(count Failed)
passed=$(count Passed)
rm -f "$log"
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
if [ "${passed:-0}" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "tests: no test ran" >&2
  exit 1
fi
exit "$status"
