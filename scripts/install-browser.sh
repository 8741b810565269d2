#!/usr/bin/env bash
# Installs the browser the console's end-to-end tests drive (test/browser/): Debian's Chromium at
# /usr/bin/chromium, driven through playwright-core. Idempotent: does nothing when it is already
# there, so CI can call it on every run. Playwright's own browser download cannot work on machines
# that reach only the npm registry and Debian's archive, hence the distribution's package.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: /usr/bin/chromium is missing and apt-get is not available; install Chromium by hand." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "install-browser: installing Debian's chromium (needed by the console's browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version >&2
