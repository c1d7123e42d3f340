#!/usr/bin/env bash
# Installs Debian's Chromium for the headless browser test (tests/browser.test.ts drives it with playwright-core;
# never `npx playwright install`, which downloads a browser). Idempotent; needs root (or sudo) for apt-get.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[browser-env] apt-get install chromium" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version >&2
