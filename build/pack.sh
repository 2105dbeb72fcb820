#!/usr/bin/env bash
# Packs PicGuard.Sdk and the picguard tool into artifacts/packages (PICGUARD_PACKAGES to write elsewhere):
#   PicGuard.Sdk.<v>.nupkg                the MSBuild SDK package
#   PicGuard.Cli.<v>.nupkg                the tool's pointer package: names the RID-specific packages below
#   PicGuard.Cli.linux-x64.<v>.nupkg      picguard compiled ahead of time (NativeAOT) for linux-x64
#   PicGuard.Cli.any.<v>.nupkg            framework-dependent picguard (.NET 10 runtime, JIT) for any other platform
# then installs the tool from them into a temporary tool path and checks that linux-x64 gets the native executable.
# PICGUARD_ARTIFACTS_PATH, when set, builds into that directory (dotnet --artifacts-path) instead of bin/ and obj/.
# Extra arguments go to every dotnet pack.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${PICGUARD_PACKAGES:-artifacts/packages}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
extra=()
[ -z "${PICGUARD_ARTIFACTS_PATH:-}" ] || extra+=(--artifacts-path "$PICGUARD_ARTIFACTS_PATH")

# The solution: PicGuard.Sdk and the tool's pointer package (PicGuard.Cli is packed without a RID here).
dotnet pack PicGuard.slnx -c Release -o "$out" -nologo "${extra[@]}" "$@"
# The RID-specific tool packages.
dotnet pack src/Cli/PicGuard.Cli.csproj -c Release -r linux-x64 -o "$out" -nologo "${extra[@]}" "$@"
dotnet pack src/Cli/PicGuard.Cli.csproj -c Release -r any -p:PublishAot=false -o "$out" -nologo "${extra[@]}" "$@"

# What a user on linux-x64 gets from `dotnet tool install PicGuard.Cli`: the native executable, not an apphost and a dll.
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  check=$(mktemp -d)
  trap 'rm -rf "$check"' EXIT
  NUGET_PACKAGES="$check/nuget" dotnet tool install --tool-path "$check/tools" --add-source "$out" PicGuard.Cli >/dev/null
  bin=$(readlink -f "$check/tools/picguard")
  if [ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" != '177ELF' ] || [ -e "$(dirname "$bin")/picguard.dll" ]; then
    echo "pack: error: dotnet tool install PicGuard.Cli did not install the native picguard on linux-x64 ($bin)" >&2
    exit 1
  fi
  "$check/tools/picguard" --help >/dev/null
  echo "pack: dotnet tool install PicGuard.Cli installs the native picguard on linux-x64 ($(realpath --relative-to="$check/tools" "$bin"))"
fi
