#!/usr/bin/env bash
# Mutation fuzzing of PicGuard's ELF/ar reader: N inputs (default 100000) from real seed objects,
# through the same test CI runs with 20,000. Prints inputs/s and failures; failing inputs are
# minimised into the directory given as the third argument (default: fuzz-failures/).
# Usage: build/fuzz.sh [N] [RANDOM_SEED] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${1:-100000}
seed=${2:-$RANDOM}
out=$(realpath -m "${3:-fuzz-failures}")
report=$(mktemp)
trap 'rm -f "$report"' EXIT
set +e
PICGUARD_FUZZ_INPUTS=$inputs PICGUARD_FUZZ_SEED=$seed PICGUARD_FUZZ_REPORT=$report PICGUARD_FUZZ_OUT=$out \
  dotnet test tests/PicGuard.Tests -c Release -nologo --filter "FullyQualifiedName~MutationFuzzTests.Fuzz_SeededInputs" >/dev/null 2>&1
status=$?
set -e
cat "$report"
if [ "$status" -ne 0 ]; then
  [ -s "$report" ] || echo "fuzz: the test run failed before fuzzing (build or seed compile error); run dotnet test for details" >&2
  [ -d "$out" ] && echo "fuzz: minimised failing inputs in $out" >&2
fi
exit "$status"
