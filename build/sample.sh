#!/usr/bin/env bash
# The main job: sets up what is missing, packs PicGuard.Sdk, and builds samples/purgatory
# (compile under the flag policy, link with ld -r, validate) with gcc + ld and clang-19 + ld.lld-19.
set -euo pipefail
cd "$(dirname "$0")/.."
build/setup.sh
build/pack.sh >/dev/null
# A package folder of the repository's own, emptied of PicGuard.Sdk so the fresh package is used.
export NUGET_PACKAGES="$PWD/artifacts/nuget-packages"
rm -rf "$NUGET_PACKAGES/picguard.sdk"
sample=samples/purgatory
for toolchain in "gcc ld" "clang-19 ld.lld-19"; do
  set -- $toolchain
  echo "== samples/purgatory with $1 + $2"
  rm -rf "$sample/obj" "$sample/bin"
  dotnet build "$sample" -nologo -v:n -nodeReuse:false -p:PicCompiler="$1" -p:PicLinker="$2" \
    | grep -E 'PicGuard:|error|warning' || true
  test -f "$sample/bin/Debug/purgatory.ro"
  readelf -SW "$sample/bin/Debug/purgatory.ro" | grep -E '^\s+\[.*AX' || true
done
echo "== picguard check on the blob"
dotnet run --project src/Cli -c Release -- check "$sample/bin/Debug/purgatory.ro"
