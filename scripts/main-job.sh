#!/usr/bin/env bash
# The main job: the Storm-0558 lab, every control on (not breached) and as in 2021 (breached);
# then a fresh home, the HSM process, a consumer and an enterprise realm, the issuer on
# loopback, a token over HTTP, verified against the served JWKS. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
SW=".venv/bin/signward"
HOME_DIR="$(mktemp -d /tmp/signward-main.XXXXXX)"
PORT="${PORT:-$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
BASE="http://127.0.0.1:$PORT"
cleanup() {
  [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  $SW --home "$HOME_DIR" hsm stop >/dev/null 2>&1 || true
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT

$SW lab storm-0558
rc=0; $SW lab storm-0558 --preset 2021 || rc=$?
if [ "$rc" -ne 1 ]; then  # 1: breached, as in 2023
  echo "the 2021 preset gave exit $rc instead of 1 (breached): the lab is broken" >&2
  exit 1
fi

$SW --home "$HOME_DIR" init
$SW --home "$HOME_DIR" hsm start
$SW --home "$HOME_DIR" realm create consumer --issuer "$BASE/realms/consumer" --alg ES256
$SW --home "$HOME_DIR" realm create enterprise --issuer "$BASE/realms/enterprise" --alg RS256
$SW --home "$HOME_DIR" keys list
CLIENT_JSON="$($SW --home "$HOME_DIR" client create --realm enterprise --tenant contoso --audience mail --json)"
$SW --home "$HOME_DIR" serve --port "$PORT" &
SERVE_PID=$!
CLIENT_JSON="$CLIENT_JSON" BASE="$BASE" .venv/bin/python scripts/fetch_and_verify.py
