#!/usr/bin/env bash
# Differential tests of PicGuard's ELF/ar reader: every relocation `picguard dump-relocs` prints must agree
# with readelf in object, relocation section, offset, type number, type name, symbol and addend.
#
# Usage:
#   build/difftest.sh [FILE...]        against GNU readelf -rW: every /usr/lib/llvm-19/lib/*.a (from llvm-19-dev)
#                                      or the files given. Type names are compared where PicGuard has a table.
#   build/difftest.sh --llvm FILE...   against llvm-readelf-19 -r (which reads SHT_CREL and names every machine's
#                                      types): the files given, as one corpus, every field compared.
#   build/difftest.sh --debian         against llvm-readelf-19 -r, one corpus each: Debian's cross libc.a for arm64,
#                                      armhf, riscv64, i386, ppc64el and s390x (libc6-dev-*-cross), every .ko of the
#                                      kernel package linux-image-amd64 depends on, GRUB's .mod files (grub-efi-amd64-bin,
#                                      grub-pc-bin). The packages are downloaded and unpacked into a temp folder
#                                      (apt-get download, dpkg-deb -x); nothing is installed.
# Prints objects, relocations and agreement per corpus; exits 1 unless everything agrees.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build_picguard() {
  dotnet build src/Cli/PicGuard.Cli.csproj -c Release -nologo -v q >/dev/null
  picguard=(dotnet "$root/src/Cli/bin/Release/net10.0/picguard.dll")
}

# compare_llvm NAME FILE...: one corpus against llvm-readelf-19 -r; prints one line, returns 1 on any difference.
compare_llvm() {
  local name=$1; shift
  local dir
  dir=$(mktemp -d "$work/corpus.XXXXXX")
  printf '%s\0' "$@" >"$dir/files"
  # Batches of files: with more than one file llvm-readelf names each in a "File:" line; alone, the awk names it.
  xargs -0 -n 200 sh -c 'llvm-readelf-19 -r "$@" | awk -v file="$1" -f "$0"' "$root/build/readelf-relocs.awk" \
    <"$dir/files" >"$dir/readelf.txt" 2>"$dir/readelf.err" || true
  xargs -0 -n 2000 "${picguard[@]}" dump-relocs <"$dir/files" >"$dir/picguard.txt" 2>"$dir/picguard.err" || true
  local objects=0 file
  for file in "$@"; do
    if head -c 8 "$file" | grep -q '^!<\(arch\|thin\)>'; then
      objects=$((objects + $(llvm-ar-19 t "$file" | wc -l)))
    else
      objects=$((objects + 1))
    fi
  done
  local total missing extra errors pct
  total=$(wc -l <"$dir/readelf.txt")
  missing=$(diff "$dir/readelf.txt" "$dir/picguard.txt" | grep -c '^<' || true)
  extra=$(diff "$dir/readelf.txt" "$dir/picguard.txt" | grep -c '^>' || true)
  errors=$(($(wc -l <"$dir/picguard.err") + $(wc -l <"$dir/readelf.err")))
  pct=$(awk -v a="$((total - missing))" -v t="$total" 'BEGIN { printf "%.4f", t ? 100 * a / t : 100 }')
  echo "difftest: $name: $# file(s), $objects object(s), $total relocation(s) per llvm-readelf-19, $((total - missing)) agree: $pct%, $extra extra, $errors error line(s)"
  if [ "$missing" -ne 0 ] || [ "$extra" -ne 0 ] || [ "$errors" -ne 0 ]; then
    diff "$dir/readelf.txt" "$dir/picguard.txt" | head -10 >&2 || true
    head -5 "$dir/readelf.err" "$dir/picguard.err" >&2
    return 1
  fi
}

if [ "${1-}" = "--llvm" ]; then
  shift
  [ $# -gt 0 ] || { echo "difftest: --llvm needs at least one file" >&2; exit 2; }
  build_picguard
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  compare_llvm "$*" "$@"
  exit
fi

if [ "${1-}" = "--debian" ]; then
  build_picguard
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  kernel=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
  [ -n "$kernel" ] || { echo "difftest: apt-cache names no kernel package that linux-image-amd64 depends on (apt-get update?)" >&2; exit 2; }
  arches=(arm64 armhf riscv64 i386 ppc64el s390x)
  packages=("$kernel" grub-efi-amd64-bin grub-pc-bin)
  for arch in "${arches[@]}"; do packages+=("libc6-dev-$arch-cross"); done
  mkdir "$work/debs"
  (cd "$work/debs" && apt-get download -q "${packages[@]}" >/dev/null 2>&1) ||
    { echo "difftest: apt-get download ${packages[*]} failed" >&2; exit 2; }
  for deb in "$work"/debs/*.deb; do
    package=$(basename "$deb"); package=${package%%_*}
    mkdir -p "$work/x/$package"
    dpkg-deb -x "$deb" "$work/x/$package"
  done
  # Compressed modules are read as the kernel's modprobe reads them: decompressed.
  find "$work/x/$kernel" -name '*.ko.xz' -exec xz -d {} +
  find "$work/x/$kernel" -name '*.ko.zst' -exec zstd -q -d --rm {} +
  find "$work/x/$kernel" -name '*.ko.gz' -exec gzip -d {} +
  status=0
  start=$(date +%s)
  for arch in "${arches[@]}"; do
    libc=$(find "$work/x/libc6-dev-$arch-cross" -name libc.a | head -1)
    compare_llvm "libc6-dev-$arch-cross libc.a" "$libc" || status=1
  done
  mapfile -t modules < <(find "$work/x/$kernel" -name '*.ko' | sort)
  compare_llvm "$kernel modules" "${modules[@]}" || status=1
  for grub in grub-efi-amd64-bin grub-pc-bin; do
    mapfile -t modules < <(find "$work/x/$grub" -name '*.mod' | sort)
    compare_llvm "$grub modules" "${modules[@]}" || status=1
  done
  echo "difftest: ${packages[*]}: $(( $(date +%s) - start ))s"
  exit $status
fi

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

build_picguard

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
