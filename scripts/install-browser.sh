#!/usr/bin/env bash
# Installs the browser the console's end-to-end tests drive (test/browser/): Debian's Chromium at
# /usr/bin/chromium, driven through playwright-core. Idempotent: does nothing when it is already
# there, so CI can call it on every run. Playwright's own browser download cannot work on machines
# that reach only the npm registry and Debian's archive, hence the distribution's package.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if ! apt_install install-browser chromium fonts-dejavu-core; then
  echo "install-browser: /usr/bin/chromium is missing and apt-get is not available; install Chromium by hand." >&2
  exit 1
fi
/usr/bin/chromium --version >&2
