#!/usr/bin/env bash
# PicGuard's performance figures as users get them, as docs/performance.md reports them:
#   - the installed picguard (dotnet tool install PicGuard.Cli from the packages build/pack.sh writes) side by side
#     with objdump -r, readelf -rW, llvm-readelf-19 -r and cat on the static archives of llvm-19-dev and on every .ko
#     of the current Debian linux-image-*-amd64 package (downloaded and unpacked into a temporary directory)
#   - ns per relocation on synthetic objects of 10k, 100k and 1M relocations (build/gen-relocs.py)
#   - whole-process time on a small object, clean and built with the kernel's flags (its findings listed), beside readelf -rW
#   - a no-op dotnet build of samples/purgatory vs the same project without PicGuard
# Installs what is missing (llvm-19-dev, llvm-19, time, binutils, gcc, python3). BENCH_ROUNDS (default 5) sets the
# rounds; extra arguments go to build/bench.py (e.g. --only corpus,kernel).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -n "$(ls /usr/lib/llvm-19/lib/*.a 2>/dev/null)" ] || missing+=(llvm-19-dev)
command -v llvm-readelf-19 >/dev/null || missing+=(llvm-19)
[ -x /usr/bin/time ] || missing+=(time)
command -v readelf >/dev/null && command -v objdump >/dev/null && command -v as >/dev/null || missing+=(binutils)
command -v gcc >/dev/null || missing+=(gcc)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d -t picguard-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== packing PicGuard.Sdk and the picguard tool packages (build/pack.sh)"
build/pack.sh -v:q >/dev/null
echo "== installing picguard as users do: dotnet tool install --tool-path (a fresh package folder)"
NUGET_PACKAGES="$work/nuget" dotnet tool install --tool-path "$work/tools" --add-source artifacts/packages PicGuard.Cli >/dev/null
picguard="$work/tools/picguard"
echo "   $(readlink -f "$picguard" | sed "s|$work/tools/||"): $(file -b -L "$picguard" | cut -d, -f1-2)"
echo "== building the framework-dependent picguard.dll (for the small-object comparison)"
dotnet build src/Cli -c Release -nologo -v:q >/dev/null

echo "== unpacking the kernel modules of the current linux-image-*-amd64 package (nothing is installed)"
kernel_package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$kernel_package" ]; then
  apt-get update -qq
  kernel_package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
(cd "$work" && apt-get download -qq "$kernel_package" 2>/dev/null)
dpkg-deb -x "$work"/"$kernel_package"_*.deb "$work/kernel"
rm -f "$work"/"$kernel_package"_*.deb
modules=$(ls -d "$work"/kernel/lib/modules/* | head -1)
echo "   $kernel_package: $(find "$modules" -name '*.ko' | wc -l) modules"

python3 build/bench.py "$picguard" --jit src/Cli/bin/Release/net10.0/picguard.dll --kernel-modules "$modules" \
  --rounds "${BENCH_ROUNDS:-5}" "$@"
