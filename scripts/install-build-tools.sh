#!/usr/bin/env bash
# Installs what the OpenMP engine build needs (cmake, a C++ compiler, git), for its end-to-end test
# (test/e2e/engine-build.test.ts) and for `ostrom serve`'s background build. Idempotent: does nothing
# when they are there, so CI can call it on every run. Debian's packages, since CI reaches only the npm
# registry and Debian's archive.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

if command -v cmake >/dev/null && command -v git >/dev/null && { command -v c++ >/dev/null || command -v g++ >/dev/null; }; then
  exit 0
fi

if ! apt_install install-build-tools cmake g++ git make; then
  echo "install-build-tools: could not install cmake, g++ and git; the engine build test will be skipped." >&2
fi
