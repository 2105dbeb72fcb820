#!/usr/bin/env bash
# Coverage-guided fuzzing: AFL++ through SharpFuzz over PicGuard.Core (ELF and ar reader, DWARF line
# reader, bitcode reader, the checker under every profile, the relocation dump), for SECONDS seconds
# (default 600). Seeds are real objects of every machine the tables cover, both byte orders, CREL,
# LLVM bitcode, regular and thin archives, made here by gcc and clang-19. Installs afl++ and the
# SharpFuzz instrumenter if missing. Prints execs/s, total execs, paths, crashes and hangs; crashing and
# hanging inputs are copied to artifacts/fuzz-afl/found/ (replay one with:
#   dotnet artifacts/fuzz-afl/bin/PicGuard.Fuzz.dll FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
build/setup.sh
if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz-afl: installing afl++"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
work=artifacts/fuzz-afl
rm -rf "$work/bin" "$work/seeds" "$work/out" "$work/found"
mkdir -p "$work/seeds" "$work/found" "$work/src"

echo "== building and instrumenting the fuzz target"
dotnet publish tests/PicGuard.Fuzz -c Release -o "$work/bin" -nologo -v:q >/dev/null
[ -x "$work/tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$work/tools" >/dev/null
"$work/tools/sharpfuzz" "$work/bin/PicGuard.Core.dll"

echo "== seeds"
src="$work/src"
cat > "$src/seed.c" <<'C'
int table[4];
extern int external_counter;
static int counter;
__thread int per_thread;
void callee(void);
int *table_address(void) { return &table[1]; }
int read_external(void) { return external_counter + per_thread; }
int bump(void) { callee(); return ++counter; }
int (*pointer)(void) = bump;
C
seed() { cp "$1" "$work/seeds/$2"; }
gcc -O2 -g -c "$src/seed.c" -o "$src/x86_64.gcc.o" && seed "$src/x86_64.gcc.o" x86_64-gcc-dwarf5.o
gcc -O2 -mcmodel=kernel -fno-pic -c "$src/seed.c" -o "$src/x86_64.kernel.o" && seed "$src/x86_64.kernel.o" x86_64-kernel.o
for target in x86_64-linux-gnu i386-linux-gnu aarch64-linux-gnu aarch64_be-linux-gnu riscv64-linux-gnu armv7a-linux-gnueabihf \
              loongarch64-linux-gnu powerpc64le-linux-gnu powerpc64-linux-gnu s390x-linux-gnu; do
  clang-19 --target=$target -ffreestanding -nostdinc -O1 -c "$src/seed.c" -o "$src/$target.o" 2>/dev/null && seed "$src/$target.o" "$target.o" || echo "fuzz-afl: no seed for $target"
done
clang-19 -O1 -c -Wa,--allow-experimental-crel,--crel "$src/seed.c" -o "$src/crel.o" 2>/dev/null && seed "$src/crel.o" x86_64-crel.o || echo "fuzz-afl: no CREL seed"
for target in s390x-linux-gnu i386-linux-gnu; do
  clang-19 --target=$target -ffreestanding -nostdinc -O1 -c -Wa,--allow-experimental-crel,--crel "$src/seed.c" -o "$src/$target-crel.o" 2>/dev/null &&
    seed "$src/$target-crel.o" "$target-crel.o" || echo "fuzz-afl: no CREL seed for $target"
done
# Line tables of both byte orders (the DWARF reader and each machine's debug-section relocations).
for target in s390x-linux-gnu aarch64_be-linux-gnu loongarch64-linux-gnu; do
  clang-19 --target=$target -ffreestanding -nostdinc -O1 -g -c "$src/seed.c" -o "$src/$target-g.o" 2>/dev/null &&
    seed "$src/$target-g.o" "$target-g.o" || echo "fuzz-afl: no -g seed for $target"
done
clang-19 -O1 -flto -c "$src/seed.c" -o "$src/lto.o" && seed "$src/lto.o" x86_64-lto.bc.o
clang-19 -O1 -flto=thin -mcmodel=kernel -c "$src/seed.c" -o "$src/thinlto.o" && seed "$src/thinlto.o" x86_64-thinlto.bc.o
(cd "$src" && llvm-ar-19 rcs archive.a x86_64.gcc.o aarch64-linux-gnu.o && llvm-ar-19 rcsT thin.a x86_64.kernel.o lto.o)
# GNU ar's thin archive of a regular archive names its members "/N:ORIGIN".
(cd "$src" && ar rcT nested-thin.a archive.a s390x-linux-gnu.o)
seed "$src/archive.a" archive.a
seed "$src/thin.a" thin.a
seed "$src/nested-thin.a" nested-thin.a
ls "$work/seeds" | wc -l | xargs echo "fuzz-afl: seeds:"

echo "== afl-fuzz for ${seconds}s"
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_QUIET=1
# A .NET start is slow: afl-fuzz's own calibration timeout is raised with -t.
afl-fuzz -V "$seconds" -i "$work/seeds" -o "$work/out" -t 10000 -m none -- dotnet "$work/bin/PicGuard.Fuzz.dll" >"$work/afl.log" 2>&1 || {
  echo "fuzz-afl: afl-fuzz failed:" >&2; tail -30 "$work/afl.log" >&2; exit 1; }

stats="$work/out/default/fuzzer_stats"
value() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
cp "$work/out/default/crashes/"id* "$work/found/" 2>/dev/null || true
cp "$work/out/default/hangs/"id* "$work/found/" 2>/dev/null || true
echo "fuzz-afl: run_time $(value run_time)s, execs $(value execs_done), execs/s $(value execs_per_sec), paths $(value corpus_count), crashes $(value saved_crashes), hangs $(value saved_hangs)"
[ "$(value saved_crashes)" = "0" ] && [ "$(value saved_hangs)" = "0" ]
