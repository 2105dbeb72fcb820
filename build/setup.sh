#!/usr/bin/env bash
# Installs what PicGuard's build, samples and tests need and are missing on a Debian machine:
# gcc and binutils (ld bfd), clang-19, lld-19 (ld.lld-19), llvm-19 (llvm-ar-19), clangd-19 (the
# compile_commands.json test), ccache and distcc (the compiler-launcher tests). Needs root or sudo for apt.
set -euo pipefail

need=()
command -v gcc >/dev/null || need+=(gcc)
command -v ld >/dev/null || need+=(binutils)
command -v ar >/dev/null || need+=(binutils)
command -v clang-19 >/dev/null || need+=(clang-19)
command -v ld.lld-19 >/dev/null || need+=(lld-19)
command -v llvm-ar-19 >/dev/null || need+=(llvm-19)
command -v clangd-19 >/dev/null || need+=(clangd-19)
command -v ccache >/dev/null || need+=(ccache)
command -v distccd >/dev/null || need+=(distcc)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  echo "setup: error: the .NET SDK (10.0 or later) is required and 'dotnet' is not on PATH" >&2
  exit 1
fi
