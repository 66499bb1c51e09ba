#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the Playwright browser test. Idempotent.
# Playwright drives it through executable_path; it never downloads a browser of its own.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi

t0=$(date +%s)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "chromium installed in $(( $(date +%s) - t0 )) s: $("$CHROMIUM" --version 2>/dev/null || true)"
