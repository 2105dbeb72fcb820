#!/usr/bin/env bash
# PicGuard's performance figures, as docs/performance.md reports them:
#   - picguard check vs objdump -r and readelf -rW on the static archives of llvm-19-dev
#   - ns per relocation on synthetic objects of 10k, 100k and 1M relocations (build/gen-relocs.py)
#   - whole-process time on one small object
#   - a no-op dotnet build of samples/purgatory vs the same project without PicGuard
# Installs what is missing (llvm-19-dev, time, binutils), builds the NativeAOT picguard and packs
# PicGuard.Sdk. BENCH_ROUNDS (default 5) sets the rounds; extra arguments go to build/bench.py
# (e.g. --only corpus,scaling).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -n "$(ls /usr/lib/llvm-19/lib/*.a 2>/dev/null)" ] || missing+=(llvm-19-dev)
[ -x /usr/bin/time ] || missing+=(time)
command -v readelf >/dev/null && command -v objdump >/dev/null && command -v as >/dev/null || missing+=(binutils)
command -v gcc >/dev/null || missing+=(gcc)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== building picguard (NativeAOT) and the JIT build"
dotnet publish src/CliAot -c Release -o artifacts/aot -nologo -v:q >/dev/null
dotnet build src/Cli -c Release -nologo -v:q >/dev/null
echo "== packing PicGuard.Sdk"
dotnet pack nuget/PicGuard.Sdk.csproj -c Release -o artifacts/packages -nologo -v:q >/dev/null

python3 build/bench.py artifacts/aot/picguard --jit src/Cli/bin/Release/net8.0/picguard.dll --rounds "${BENCH_ROUNDS:-5}" "$@"
