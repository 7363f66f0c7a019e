#!/usr/bin/env bash
# End to end, as a person would use it: the consentd binary on a fresh
# database, driven by consentctl; flags and environment variables; SIGTERM;
# a restart. Usage: cli_test.sh CONSENTD CONSENTCTL SOURCE_DIR
# Needs CONSENTD_TEST_POSTGRES (tests/run.sh sets it).
set -euo pipefail
CONSENTD=$1 CONSENTCTL=$2 SRC=$3
: "${CONSENTD_TEST_POSTGRES:?run through tests/run.sh}"
. "$SRC/deploy/local/lib.sh"

DB="consentd_e2e_$$_$RANDOM"
WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  psql "$CONSENTD_TEST_POSTGRES dbname=postgres" -qAt \
    -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql "$CONSENTD_TEST_POSTGRES dbname=postgres" -qAt -c "CREATE DATABASE $DB ENCODING 'UTF8'"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect_output NAME EXPECTED_EXIT PATTERN CMD...: runs CMD, checks its exit
# code and that its output (stdout and stderr) matches the grep pattern.
expect_output() {
  local name=$1 want=$2 pattern=$3; shift 3
  local out code=0
  out=$("$@" 2>&1) || code=$?
  [ "$code" = "$want" ] || fail "$name: exit $code, want $want. Output: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "$name: output does not match /$pattern/: $out"
}

echo "e2e $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$WORK/audit.keys"
export CONSENTD_AUDIT_KEY_FILE="$WORK/audit.keys"
ADMIN_TOKEN="e2e-admin-$RANDOM$RANDOM"
APP_TOKEN="e2e-app-$RANDOM$RANDOM"
{
  echo "admin e2e-admin $(printf %s "$ADMIN_TOKEN" | sha256sum | cut -d' ' -f1)"
  echo "app e2e-app $(printf %s "$APP_TOKEN" | sha256sum | cut -d' ' -f1)"
} >"$WORK/tokens"
export CONSENTD_AUTH_TOKENS_FILE="$WORK/tokens"
export CONSENTD_TOKEN="$ADMIN_TOKEN"
PORT=$(free_port)
METRICS_PORT=$(free_port)
export CONSENTD_ADDR="127.0.0.1:$PORT"
ctl() { "$CONSENTCTL" --timeout=20s --wait_for_ready "$@"; }
start() {
  CONSENTD_DATABASE_URL="$CONSENTD_TEST_POSTGRES dbname=$DB" \
  CONSENTD_LISTEN="127.0.0.1:$PORT" \
    "$CONSENTD" --metrics_listen="127.0.0.1:$METRICS_PORT" \
      --bootstrap_policy="$SRC/config/policies/2026-01-12.json" \
      >>"$WORK/consentd.log" 2>&1 &
  PID=$!
}

# Bad configuration stops the start with a message naming it.
expect_output "missing database_url" 2 "database_url" env -u CONSENTD_DATABASE_URL "$CONSENTD"
expect_output "missing tokens" 2 "auth_tokens_file" env -u CONSENTD_AUTH_TOKENS_FILE "$CONSENTD" --database_url=x
expect_output "missing audit keys" 2 "audit_key_file" env -u CONSENTD_AUDIT_KEY_FILE "$CONSENTD" --database_url=x
echo "k1 abcd" >"$WORK/short.keys"
expect_output "short audit key" 2 "line 1: the secret must be at least 32 bytes" "$CONSENTD" --database_url=x --audit_key_file="$WORK/short.keys"
expect_output "bad flag value" 1 "consent_ttl" "$CONSENTD" --database_url=x --consent_ttl=forever
expect_output "bad env value" 2 "CONSENTD_CONSENT_TTL" env CONSENTD_CONSENT_TTL=soon "$CONSENTD" --database_url=x
expect_output "missing policy file" 2 "bootstrap_policy" "$CONSENTD" --database_url=x --bootstrap_policy=/nonexistent.json
echo '{"version": "v1", "categories": [{"id": "BAD"}]}' >"$WORK/bad.json"
expect_output "invalid policy file" 2 "categories\[0\]\.id" "$CONSENTD" --database_url=x --bootstrap_policy="$WORK/bad.json"

start
expect_output "necessary cookie" 0 "refreshToken: allowed .*reason=NECESSARY max_age=604800s" \
  ctl check visitor-1 refreshToken
expect_output "no decision" 1 "ia_stats_events: denied .*reason=NO_DECISION" \
  ctl check visitor-1 ia_stats_events
expect_output "record" 0 "recorded consent_version=1 policy=2026-01-12" \
  ctl record visitor-1 statistics=true marketing=false
expect_output "granted" 0 "ia_stats_events: allowed .*reason=GRANTED max_age=2592000s" \
  ctl check visitor-1 ia_stats_events
expect_output "denied" 1 "ia_mkt_source: denied .*reason=DENIED" \
  ctl check visitor-1 ia_mkt_source
expect_output "get" 0 "statistics: GRANTED" ctl get visitor-1
expect_output "refuse necessary" 3 "INVALID_ARGUMENT: choices: \"necessary\"" \
  ctl record visitor-1 necessary=false
expect_output "usage" 2 "not CATEGORY=true" ctl record visitor-1 statistics=maybe
expect_output "policy list" 0 "2026-01-12 \(current\)" ctl policy list
expect_output "policy get" 0 '"version": "2026-01-12"' ctl policy get

# Metrics are served on --metrics_listen.
exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
metrics=$(cat <&3)
exec 3<&-
grep -q 'consentd_decisions_recorded_total{source="banner"} 0' <<<"$metrics" \
  || fail "metrics: banner counter missing"
grep -q 'consentd_decisions_recorded_total{source="api"} 1' <<<"$metrics" \
  || fail "metrics: api decision not counted"

# SIGTERM stops it cleanly; the decision survives the restart.
kill -TERM "$PID"
code=0; wait "$PID" || code=$?
PID=
[ "$code" = 0 ] || fail "consentd exited $code after SIGTERM"
start
expect_output "after restart" 0 "ia_stats_events: allowed .*consent_version=1" \
  ctl check visitor-1 ia_stats_events
grep -q 'bootstrap policy 2026-01-12 is already published' "$WORK/consentd.log" \
  || fail "restart did not find the bootstrap policy published"

if [ "$failures" -ne 0 ]; then
  echo "--- consentd log ---" >&2; cat "$WORK/consentd.log" >&2
  exit 1
fi
echo "e2e: all checks passed"
