#!/usr/bin/env bash
# Serve the portal, its worker and (when installed) a local docker-registry wired to it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if command -v docker-registry >/dev/null 2>&1; then
  config=$($PY manage.py registry_config localregistry --output-dir var/registry)
  docker-registry serve "$config" >var/registry/registry.log 2>&1 &
  pids+=($!)
  echo "Local registry: http://127.0.0.1:5000 (log: var/registry/registry.log)"
else
  echo "docker-registry is not installed, so no local registry runs."
  echo "  Install it with: sudo apt-get install docker-registry   (then run make run again)"
fi

$PY manage.py db_worker --queue-name '*' >var/worker.log 2>&1 &
pids+=($!)

cat <<TXT

  Portcullis: http://$HOST:$PORT/
  Sign in as: admin / portcullis-demo
  API docs:   http://$HOST:$PORT/api/docs/

TXT
$PY manage.py runserver "$HOST:$PORT"
