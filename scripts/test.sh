#!/usr/bin/env bash
# Run the test suite: `scripts/test.sh [pytest arguments]`.
# Run as root where a Debian package the tests need is missing, it installs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests (tests/test_web_browser.py) drive the Debian chromium package through
# Playwright; Playwright's own browser download does not work offline.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium
fi

exec python -P -m pytest "$@"
