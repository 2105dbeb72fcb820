#!/usr/bin/env bash
# Packs PicGuard.Sdk (and the picguard CLI tool) into artifacts/packages.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet pack PicGuard.slnx -c Release -o artifacts/packages -nologo "$@"
