#!/usr/bin/env bash
# Differential test of PicGuard's ELF/ar reader against GNU readelf: every relocation of every
# object in the given archives/objects (default: all of /usr/lib/llvm-19/lib/*.a, from llvm-19-dev)
# must agree in object, section, offset, type, symbol and addend. Type names are compared where
# PicGuard has a relocation table for the machine. Prints objects, relocations and agreement.
# Usage: build/difftest.sh [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ $# -eq 0 ]; then
  if ! ls /usr/lib/llvm-19/lib/*.a >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "difftest: installing llvm-19-dev"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends llvm-19-dev >/dev/null
  fi
  set -- /usr/lib/llvm-19/lib/*.a
fi

dotnet build src/Cli/PicGuard.Cli.csproj -c Release -nologo -v q >/dev/null
picguard=(dotnet "$root/src/Cli/bin/Release/net10.0/picguard.dll")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
objects=0 relocations=0 agreeing=0 names=0 names_agreeing=0 files_differing=0
start=$(date +%s)
for file in "$@"; do
  readelf -rW "$file" 2>"$work/readelf.err" | awk -v file="$file" -f "$root/build/readelf-relocs.awk" >"$work/readelf.txt"
  # readelf shows at most 256 characters of a relocation section's name (long C++ section names).
  "${picguard[@]}" dump-relocs "$file" 2>"$work/picguard.err" |
    awk -F'\t' 'BEGIN { OFS = "\t" } { $2 = substr($2, 1, 256); print }' >"$work/picguard.txt" || true
  if head -c 8 "$file" | grep -q '^!<arch>'; then
    n=$(readelf -h "$file" 2>/dev/null | grep -c '^File: ' || true)
  else
    n=1
  fi
  total=$(wc -l <"$work/readelf.txt")
  # Everything but the type name, in order.
  cut -f1-4,6,7 "$work/readelf.txt" >"$work/r.key"
  cut -f1-4,6,7 "$work/picguard.txt" >"$work/p.key"
  missing=$(diff "$work/r.key" "$work/p.key" | grep -c '^<' || true)
  extra=$(diff "$work/r.key" "$work/p.key" | grep -c '^>' || true)
  # Type names, where PicGuard has a table for the machine (lines line up when nothing is missing).
  if [ "$missing" -eq 0 ] && [ "$extra" -eq 0 ]; then
    read -r known same < <(paste "$work/readelf.txt" "$work/picguard.txt" | awk -F'\t' '
      $12 !~ /^unrecognized: / { k++; if ($5 == $12) s++ } END { print k + 0, s + 0 }')
  else
    known=0 same=0
  fi
  objects=$((objects + n))
  relocations=$((relocations + total))
  agreeing=$((agreeing + total - missing))
  names=$((names + known))
  names_agreeing=$((names_agreeing + same))
  if [ "$missing" -ne 0 ] || [ "$extra" -ne 0 ] || [ "$known" -ne "$same" ] || [ -s "$work/picguard.err" ]; then
    files_differing=$((files_differing + 1))
    echo "difftest: $file: $missing of $total relocations differ, $extra extra, $((known - same)) type names differ" >&2
    diff "$work/readelf.txt" "$work/picguard.txt" | head -10 >&2 || true
    head -5 "$work/picguard.err" >&2
  fi
done
elapsed=$(( $(date +%s) - start ))
pct=$(awk -v a="$agreeing" -v t="$relocations" 'BEGIN { printf "%.4f", t ? 100 * a / t : 100 }')
npct=$(awk -v a="$names_agreeing" -v t="$names" 'BEGIN { printf "%.4f", t ? 100 * a / t : 100 }')
echo "difftest: $# file(s), $objects object(s), $relocations relocation(s) per readelf, $agreeing agree: $pct% (type names: $names_agreeing/$names, $npct%), $files_differing file(s) differ, ${elapsed}s"
[ "$files_differing" -eq 0 ]
