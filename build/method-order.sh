#!/usr/bin/env bash
# Writes src/Cli/method-order.txt: the methods the native picguard runs when it checks objects as users check them,
# first-run first. The NativeAOT compiler lays these out at the start of the executable's code (IlcOrderFile in
# src/Cli/PicGuard.Cli.csproj), so a run touches a few 64 KB windows of code instead of one in every window of it: the
# first touch of each window is a page fault, and a small object's check costs mostly page faults
# (docs/performance.md, "Starting").
#
# How: builds picguard natively with its symbols, runs it under valgrind's callgrind on the scenarios below, and keeps
# every function a scenario ran that the native compiler compiled (not the runtime's C and assembly), in the order
# callgrind first met it; scenarios add only functions the earlier ones did not run. Run it again when the check's code changes much: tests/PicGuard.Tests
# (MethodOrderTests) fails when the file names a PicGuard method that no longer exists.
# Installs what is missing (valgrind, gcc, binutils, clang-19). Needs the .NET SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

missing=()
command -v valgrind >/dev/null || missing+=(valgrind)
command -v gcc >/dev/null || missing+=(gcc)
command -v ld >/dev/null && command -v nm >/dev/null || missing+=(binutils)
command -v clang-19 >/dev/null || missing+=(clang-19)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d -t picguard-order-XXXXXX)
trap 'rm -rf "$work"' EXIT

# Apart from the repository's bin/ and obj/, and without the current order file (which may be missing or stale).
echo "== building the native picguard with its symbols"
dotnet publish src/Cli -c Release -r linux-x64 -p:PublishAot=true -p:StripSymbols=false -p:IlcOrderFile= \
  --artifacts-path "$work/artifacts" -o "$work/bin" -nologo -v:q >/dev/null
picguard="$work/bin/picguard"

echo "== building the objects the scenarios check"
cd "$work"
src="$repo/samples/purgatory"
cat > kernel.c <<'EOF'
/* Compiled as the kernel compiles: absolute addressing, ftrace entries, return and indirect-branch thunks. */
extern int table[16];
static int (*handlers[2])(int);
int table_address(int i) { return table[i & 15]; }
int dispatch(int i, int v) { return handlers[i & 1](v); }
EOF
# A clean object: position-independent, nothing to list (build/bench.py's small object).
gcc -O2 -fpic -fvisibility=hidden -c "$src/digest.c" -o clean.o
# Objects with findings, with DWARF line tables from both compilers.
gcc -O2 -g -fno-pic -mcmodel=kernel -fcf-protection -mfunction-return=thunk-extern -mindirect-branch=thunk-extern -pg -mfentry \
  -c kernel.c -o kernel-gcc.o
clang-19 -O2 -g -mcmodel=kernel -fno-pic -pg -mfentry -c kernel.c -o kernel-clang.o
ar rcs kernel.a kernel-gcc.o clean.o
# The sample purgatory, linked as build/sample.sh links it.
for f in digest.c purgatory.c entry.S; do
  gcc -O2 -fpic -fvisibility=hidden -mcmodel=small -ffreestanding -fno-stack-protector -c "$src/$f" -o "${f%.*}.o"
done
ld -r digest.o purgatory.o entry.o -o purgatory.ro

# One scenario per line, most common first: what a user runs, in the order its functions go into the file.
scenarios=(
  "check clean.o"                                        # one clean object: starting up and checking
  "check kernel-gcc.o"                                   # findings listed: functions, instructions, source lines
  "check kernel-clang.o kernel.a"                        # clang's DWARF 5, an archive
  "check --summary-only kernel-gcc.o kernel.a"           # counts only
  "check --profile kexec-purgatory purgatory.ro"         # a linked blob under a loader profile
  "check --format sarif -o out.sarif kernel-gcc.o"       # a SARIF log for CI
)

echo "== running picguard under callgrind"
i=0
for scenario in "${scenarios[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # each scenario is a list of words
  valgrind --tool=callgrind --callgrind-out-file="profile.$i" "$picguard" $scenario >/dev/null 2>"valgrind.$i" || true
  [ -s "profile.$i" ] || { echo "method-order: error: callgrind wrote no profile for '$scenario':" >&2; cat "valgrind.$i" >&2; exit 1; }
  echo "   $scenario"
done

# The native compiler's own object: its symbols are the methods (and data) it compiled, not the runtime's C and assembly.
object=$(find "$work/artifacts/obj" -path '*/native/picguard.o' | head -1)
[ -n "$object" ] || { echo "method-order: error: the native compiler's picguard.o was not found under $work/artifacts/obj" >&2; exit 1; }
nm --defined-only "$object" | awk '{ print $3 }' > defined.txt
python3 - "$i" "$repo/src/Cli/method-order.txt" <<'EOF'
import re, sys
count, out = int(sys.argv[1]), sys.argv[2]
defined = set(open("defined.txt").read().split())
order, seen = [], set()
for n in range(1, count + 1):
    names = {}  # callgrind names a function once in full, later by its number: fn=(12) name, then fn=(12)
    for line in open(f"profile.{n}"):
        m = re.match(r"c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        if m.group(2) is not None:
            names[m.group(1)] = re.sub(r"'\d+$", "", m.group(2))  # 'N marks a recursion depth
        name = names.get(m.group(1))
        if line.startswith("fn=") and name in defined and name not in seen:
            seen.add(name)
            order.append(name)
with open(out, "w") as f:
    f.write("# The methods picguard runs, first-run first: the native compiler places them at the start of the code.\n")
    f.write("# Written by build/method-order.sh; lines the compiler does not know as a method (these) are skipped.\n")
    f.write("\n".join(order) + "\n")
print(f"method-order: {len(order)} functions -> {out}")
EOF
