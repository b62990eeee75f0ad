#!/usr/bin/env bash
# Serve the portal, its worker and (when installed) a local docker-registry wired to it: the
# registry sends clients to the portal's token server (/oauth2/token) to sign in.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
DATA=${PORTAL_DATA_DIR:-var}
# The registry's token realm: where clients reach this portal.
export PORTAL_URL=${PORTAL_URL:-http://$HOST:$PORT}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

registry_line="docker-registry is not installed, so no local registry runs.
  Install it with: sudo apt-get install docker-registry   (then run make run again)"
if command -v docker-registry >/dev/null 2>&1; then
  config=$($PY manage.py registry_config localregistry --output-dir "$DATA/registry")
  docker-registry serve "$config" >"$DATA/registry/registry.log" 2>&1 &
  pids+=($!)
  address=$(sed -n 's/^  addr: "\(.*\)"$/\1/p' "$config")
  registry_line="Registry:   http://$address (sign in with a personal access token; log: $DATA/registry/registry.log)"
fi

$PY manage.py db_worker --queue-name '*' >"$DATA/worker.log" 2>&1 &
pids+=($!)
# What production schedules with cron: access requests' expiry and reminders, every 5 minutes.
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  while true; do
    $PY manage.py expire_access_requests
    sleep 300 & sleeper=$!
    wait "$sleeper"
  done
) >"$DATA/periodic.log" 2>&1 &
pids+=($!)

cat <<TXT

  Portcullis: $PORTAL_URL/
  Sign in as: admin / portcullis-demo
  API docs:   $PORTAL_URL/api/docs/
  $registry_line

TXT
$PY manage.py runserver "$HOST:$PORT"
