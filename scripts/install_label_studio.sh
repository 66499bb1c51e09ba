#!/usr/bin/env bash
# Creates .venv-ls: Label Studio 1.23.2 plus Playwright, in a virtual environment of its own (its pins -- rq 2.6,
# redis 5.2, Django -- clash with ours). Idempotent: a stamp file records what was installed.
# Usage: scripts/install_label_studio.sh        (env: LS_VENV, PYTHON)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LS_VENV="${LS_VENV:-$ROOT/.venv-ls}"
PYTHON="${PYTHON:-python3}"
LS_VERSION="1.23.2"
PLAYWRIGHT_VERSION="1.65.2"   # uses Debian's /usr/bin/chromium; no browser download
STAMP="$LS_VENV/.stamp-label-studio-$LS_VERSION-playwright-$PLAYWRIGHT_VERSION"

if [[ -f "$STAMP" && -x "$LS_VENV/bin/label-studio" ]]; then
  echo "label-studio $LS_VERSION already in $LS_VENV"
  exit 0
fi

t0=$(date +%s)
test -x "$LS_VENV/bin/python" || "$PYTHON" -m venv "$LS_VENV"
"$LS_VENV/bin/python" -m pip install --quiet --upgrade pip
"$LS_VENV/bin/python" -m pip install --quiet "label-studio==$LS_VERSION" "playwright==$PLAYWRIGHT_VERSION"
"$LS_VENV/bin/python" -c "import label_studio, playwright" && test -x "$LS_VENV/bin/label-studio"
touch "$STAMP"
echo "label-studio $LS_VERSION + playwright $PLAYWRIGHT_VERSION installed in $LS_VENV in $(( $(date +%s) - t0 )) s"
