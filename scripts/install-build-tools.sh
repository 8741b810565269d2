#!/usr/bin/env bash
# Installs what the OpenMP engine build needs (cmake, a C++ compiler, git), for its end-to-end test
# (test/e2e/engine-build.test.ts) and for `ostrom serve`'s background build. Idempotent: does nothing
# when they are there, so CI can call it on every run. Debian's packages, since CI reaches only the npm
# registry and Debian's archive.
set -euo pipefail

if command -v cmake >/dev/null && command -v git >/dev/null && { command -v c++ >/dev/null || command -v g++ >/dev/null; }; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-build-tools: cmake, git or a C++ compiler is missing and apt-get is not available; the engine build test will be skipped." >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "install-build-tools: installing cmake, g++ and git (needed by the OpenMP engine build)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends cmake g++ git make >/dev/null
