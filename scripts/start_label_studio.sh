#!/usr/bin/env bash
# Headless, non-interactive Label Studio 1.23.2 on loopback with sqlite, for the end-to-end tests and for trying
# the plugin by hand. Waits until Label Studio answers and the API token works; exits non-zero otherwise.
#
# Usage: scripts/start_label_studio.sh [--fresh]
#   env: LS_VENV (.venv-ls)  LS_PORT (18473)  LS_DATA (var/label-studio)  LS_FILES_ROOT ($LS_DATA/files)
#        LS_USER  LS_PASS  LS_TOKEN  LS_SECRET_KEY  LS_READY_TIMEOUT (seconds, 180)
# Stop it with: kill "$(cat "$LS_DATA/label-studio.pid")"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LS_VENV="${LS_VENV:-$ROOT/.venv-ls}"
LS_PORT="${LS_PORT:-18473}"
LS_DATA="${LS_DATA:-$ROOT/var/label-studio}"
LS_FILES_ROOT="${LS_FILES_ROOT:-$LS_DATA/files}"
LS_USER="${LS_USER:-admin@example.com}"
LS_PASS="${LS_PASS:-admin12345}"
LS_TOKEN="${LS_TOKEN:-e2e0123456789abcdef0123456789abcdef01234}"
LS_READY_TIMEOUT="${LS_READY_TIMEOUT:-180}"
HOST=127.0.0.1
URL="http://$HOST:$LS_PORT"

if [[ ! -x "$LS_VENV/bin/label-studio" ]]; then
  echo "no label-studio in $LS_VENV: run scripts/install_label_studio.sh first" >&2; exit 2
fi
if [[ "${1:-}" == "--fresh" ]]; then rm -rf "$LS_DATA"; fi
mkdir -p "$LS_DATA" "$LS_FILES_ROOT"

# Label Studio silently moves to the next free port when its port is taken: refuse instead.
if (exec 3<>"/dev/tcp/$HOST/$LS_PORT") 2>/dev/null; then
  echo "port $LS_PORT on $HOST is already in use; set LS_PORT to a free one" >&2; exit 2
fi

export LABEL_STUDIO_BASE_DATA_DIR="$LS_DATA"
export DATABASE_NAME="$LS_DATA/label_studio.sqlite3"
export LABEL_STUDIO_USERNAME="$LS_USER" LABEL_STUDIO_PASSWORD="$LS_PASS" LABEL_STUDIO_USER_TOKEN="$LS_TOKEN"
# 1.23 disables legacy "Authorization: Token" for new organizations; that token is also what ML backends get.
export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true
# The plugin and its webhook live on 127.0.0.1, which LS blocks by default.
export ML_BLOCK_LOCAL_IP=false SSRF_PROTECTION_ENABLED=false
# Task images are served from local files storage: /data/local-files/?d=<path under LS_FILES_ROOT>.
export LOCAL_FILES_SERVING_ENABLED=true LOCAL_FILES_DOCUMENT_ROOT="$LS_FILES_ROOT"
# Offline and closed: no signup, telemetry, version check or Sentry.
export LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true COLLECT_ANALYTICS=false LATEST_VERSION_CHECK=false
export SENTRY_DSN="" FRONTEND_SENTRY_DSN=""
# A fixed key keeps browser sessions valid across restarts.
export SECRET_KEY="${LS_SECRET_KEY:-siamese-assist-e2e-secret-not-for-production}"
# The URL LS gives ML backends in /setup ("hostname"); 127.0.0.1 because that is the only address it binds.
export LABEL_STUDIO_HOST="$URL"
# Defaults are 1 s (health) and 3 s (setup); a busy 2-core machine needs more. Predict (100 s) and webhook
# (1 s, no retry) keep Label Studio's defaults unless set, so the tests see what a real deployment sees.
export ML_TIMEOUT_HEALTH="${ML_TIMEOUT_HEALTH:-10}" ML_TIMEOUT_SETUP="${ML_TIMEOUT_SETUP:-20}"
if [[ -n "${ML_TIMEOUT_PREDICT:-}" ]]; then export ML_TIMEOUT_PREDICT; fi
if [[ -n "${WEBHOOK_TIMEOUT:-}" ]]; then export WEBHOOK_TIMEOUT; fi

cd "$LS_DATA"
t0=$(date +%s)
nohup "$LS_VENV/bin/label-studio" start \
  --no-browser --internal-host "$HOST" --port "$LS_PORT" \
  --data-dir "$LS_DATA" --database "$DATABASE_NAME" \
  --username "$LS_USER" --password "$LS_PASS" --user-token "$LS_TOKEN" \
  --enable-legacy-api-token --log-level INFO \
  > "$LS_DATA/label-studio.log" 2>&1 < /dev/null &
PID=$!
echo "$PID" > "$LS_DATA/label-studio.pid"
echo "label-studio pid $PID, log $LS_DATA/label-studio.log"

deadline=$(( t0 + LS_READY_TIMEOUT ))
while (( $(date +%s) < deadline )); do
  if curl -fsS "$URL/health" >/dev/null 2>&1; then
    if curl -fsS -H "Authorization: Token $LS_TOKEN" "$URL/api/current-user/whoami" >/dev/null; then
      echo "ready on $URL after $(( $(date +%s) - t0 )) s (user $LS_USER)"; exit 0
    fi
    echo "label-studio answers but does not accept the API token" >&2; exit 3
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "label-studio exited; last lines of $LS_DATA/label-studio.log:" >&2
    tail -30 "$LS_DATA/label-studio.log" >&2; exit 1
  fi
  sleep 0.5
done
echo "label-studio not ready after $LS_READY_TIMEOUT s; see $LS_DATA/label-studio.log" >&2; exit 1
