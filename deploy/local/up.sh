#!/usr/bin/env bash
# Runs consentd locally in one command: installs the missing Debian packages,
# builds, starts a throwaway PostgreSQL (as the postgres user), starts
# consentd with the seed cookie policy, and prints how to call it.
# Ctrl-C stops both and removes the throwaway data.
#
# Environment: CONSENTD_PORT (default 50051), CONSENTD_METRICS_PORT (9464),
# KEEP_DATA=1 to keep the PostgreSQL folder, BUILD_DIR (build/release),
# SKIP_BUILD=1 to use BUILD_DIR as it is (no package check, no build).
set -euo pipefail
CONSENTD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$CONSENTD_ROOT/deploy/local/lib.sh"
BUILD_DIR=${BUILD_DIR:-$CONSENTD_ROOT/build/release}
PORT=${CONSENTD_PORT:-50051}
METRICS_PORT=${CONSENTD_METRICS_PORT:-9464}

for p in "$PORT" "$METRICS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "error: port $p is in use (is consentd already running?). Set CONSENTD_PORT / CONSENTD_METRICS_PORT to use others." >&2
    exit 1
  fi
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  install_packages
  build "$BUILD_DIR" RelWithDebInfo -DCONSENTD_BUILD_TESTS=OFF
fi
[ -x "$BUILD_DIR/server/consentd" ] || { echo "error: $BUILD_DIR/server/consentd is missing (unset SKIP_BUILD to build it)" >&2; exit 1; }

PG_DIR=$(mktemp -d /tmp/consentd-local-pg.XXXXXX)
CONSENTD_PID=
stop() {
  trap - EXIT INT TERM
  if [ -n "$CONSENTD_PID" ]; then
    kill -TERM "$CONSENTD_PID" 2>/dev/null || true
    wait "$CONSENTD_PID" 2>/dev/null || true
  fi
  pg_stop "$PG_DIR"
  if [ "${KEEP_DATA:-0}" = 1 ]; then
    log "stopped; PostgreSQL data kept in $PG_DIR"
  else
    rm -rf "$PG_DIR"
    log "stopped; removed $PG_DIR"
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

log "starting PostgreSQL (data in $PG_DIR)"
pg_start "$PG_DIR"
pg_createdb consentd
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/consentd"

# The audit log's secret key: throwaway, like the data it protects here.
echo "local $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$PG_DIR/audit.keys"
chmod 600 "$PG_DIR/audit.keys"

# Development credentials, one per role (docs/security.md). Throwaway too.
token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ADMIN_TOKEN=$(token) APP_TOKEN=$(token) SUPPORT_TOKEN=$(token)
digest() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
{
  echo "# role principal sha256-of-token"
  echo "admin local-admin $(digest "$ADMIN_TOKEN")"
  echo "app local-app $(digest "$APP_TOKEN")"
  echo "support local-support $(digest "$SUPPORT_TOKEN")"
} >"$PG_DIR/tokens"
chmod 600 "$PG_DIR/tokens"

log "starting consentd on 127.0.0.1:$PORT"
"$BUILD_DIR/server/consentd" \
  --listen="127.0.0.1:$PORT" \
  --metrics_listen="127.0.0.1:$METRICS_PORT" \
  --database_url="$DATABASE_URL" \
  --audit_key_file="$PG_DIR/audit.keys" \
  --auth_tokens_file="$PG_DIR/tokens" \
  --log_format=text \
  --bootstrap_policy="$CONSENTD_ROOT/config/policies/2026-01-12.json" &
CONSENTD_PID=$!

CTL="$BUILD_DIR/server/consentctl"
if ! CONSENTD_ADDR="127.0.0.1:$PORT" CONSENTD_TOKEN="$ADMIN_TOKEN" \
    "$CTL" --wait_for_ready --timeout=60s policy list >/dev/null; then
  echo "error: consentd did not come up; see its log above" >&2
  exit 1
fi

cat <<MSG

consentd is running.
  gRPC        127.0.0.1:$PORT   (plaintext; health and reflection are on)
  metrics     http://127.0.0.1:$METRICS_PORT/metrics
  PostgreSQL  $DATABASE_URL   (data in $PG_DIR)

Development tokens, one per role (the file $PG_DIR/tokens holds only their SHA-256):
  admin    $ADMIN_TOKEN
  app      $APP_TOKEN
  support  $SUPPORT_TOKEN

Try it from another terminal:
  export CONSENTD_ADDR=127.0.0.1:$PORT CONSENTD_TOKEN=$ADMIN_TOKEN
  $CTL check visitor-1 ia_stats_events           # denied: no decision yet
  $CTL record visitor-1 statistics=true marketing=false
  $CTL check visitor-1 ia_stats_events ia_mkt_source refreshToken
  $CTL get visitor-1
  $CTL history visitor-1
  $CTL audit verify

Press Ctrl-C to stop consentd and PostgreSQL.
MSG
wait "$CONSENTD_PID"
