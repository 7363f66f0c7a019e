#!/usr/bin/env bash
# The README's first command, as a new user runs it: deploy/local/up.sh
# starts PostgreSQL and consentd with the seed policy and prints how to call
# it; the calls it prints work as printed, with auth on; Ctrl-C stops both
# and removes the throwaway data.
# Usage: up_test.sh BUILD_DIR SOURCE_DIR (BUILD_DIR: a built tree up.sh
# uses as it is, SKIP_BUILD=1: the suite's binaries are not rebuilt under
# the tests that run them).
set -euo pipefail
BUILD_DIR=$1 SRC=$2
. "$SRC/deploy/local/lib.sh"

OUT=$(mktemp)
UP=
cleanup() {
  if [ -n "$UP" ] && kill -0 "$UP" 2>/dev/null; then
    kill -TERM -- "-$UP" 2>/dev/null || true
    wait "$UP" 2>/dev/null || true
  fi
  rm -f "$OUT"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

PORT=$(free_port)
METRICS_PORT=$(free_port)
# Job control: up.sh runs in a process group of its own, as in a terminal,
# so that it can be sent Ctrl-C (SIGINT to the group) like a user would.
set -m
CONSENTD_PORT=$PORT CONSENTD_METRICS_PORT=$METRICS_PORT BUILD_DIR=$BUILD_DIR \
  SKIP_BUILD=1 bash "$SRC/deploy/local/up.sh" >"$OUT" 2>&1 &
UP=$!
set +m

deadline=$((SECONDS + 180))
until grep -q '^consentd is running\.' "$OUT"; do
  if ! kill -0 "$UP" 2>/dev/null; then
    cat "$OUT" >&2
    echo "FAIL: up.sh exited before consentd was running" >&2
    exit 1
  fi
  [ $SECONDS -lt $deadline ] || { cat "$OUT" >&2; echo "FAIL: up.sh did not get consentd running in time" >&2; exit 1; }
  sleep 0.2  # Polling its output, with a deadline.
done

PG_DIR=$(sed -n 's/.*(data in \(\/tmp\/consentd-local-pg\.[A-Za-z0-9]*\)).*/\1/p' "$OUT" | head -n 1)
APP_TOKEN=$(sed -n 's/^  app  *\([0-9a-f]*\)$/\1/p' "$OUT")
[ -d "$PG_DIR" ] || fail "the PostgreSQL folder it printed ($PG_DIR) does not exist"
[ -n "$APP_TOKEN" ] || fail "no app token printed"

# The calls it prints, run as printed (the export line, then each command,
# without its comment).
calls=$(sed -n '/^Try it from another terminal:/,/^Press Ctrl-C/p' "$OUT" | sed '1d;$d')
export_line=$(grep '^  export ' <<<"$calls")
[ -n "$export_line" ] || fail "no export line among the calls: $calls"
eval "$export_line"
[ "$CONSENTD_ADDR" = "127.0.0.1:$PORT" ] || fail "it printed address $CONSENTD_ADDR, not 127.0.0.1:$PORT"
n=0
while IFS= read -r line; do
  command=${line%%#*}
  n=$((n + 1))
  out=$(eval "$command" 2>&1) && code=0 || code=$?
  case "$command" in
    *" check visitor-1 ia_stats_events ia_mkt_source refreshToken"*)
      # One cookie denied: exit 1, and each answered.
      [ $code = 1 ] &&
        grep -q 'ia_stats_events: allowed .*reason=GRANTED' <<<"$out" &&
        grep -q 'ia_mkt_source: denied .*reason=DENIED' <<<"$out" &&
        grep -q 'refreshToken: allowed .*reason=NECESSARY' <<<"$out" ||
        fail "second check: exit $code: $out" ;;
    *" check visitor-1 ia_stats_events "*)
      [ $code = 1 ] && grep -q 'ia_stats_events: denied .*reason=NO_DECISION' <<<"$out" ||
        fail "first check: exit $code: $out" ;;
    *" record visitor-1 "*)
      [ $code = 0 ] && grep -q 'recorded consent_version=1 policy=2026-01-12' <<<"$out" ||
        fail "record: exit $code: $out" ;;
    *" get visitor-1"*)
      [ $code = 0 ] && grep -q 'statistics' <<<"$out" || fail "get: exit $code: $out" ;;
    *" history visitor-1"*)
      [ $code = 0 ] && grep -q 'statistics=granted' <<<"$out" || fail "history: exit $code: $out" ;;
    *" audit verify"*)
      [ $code = 0 ] || fail "audit verify: exit $code: $out" ;;
    *) fail "a printed call this test does not know: $command" ;;
  esac
done < <(grep -v '^  export ' <<<"$calls" | grep -v '^\s*$')
[ $n -ge 6 ] || fail "only $n calls were printed"

# Auth is on: no token, or the app role publishing a policy, is refused.
out=$(CONSENTD_TOKEN='' "$BUILD_DIR/server/consentctl" check visitor-1 ia_stats_events 2>&1) && code=0 || code=$?
[ $code = 3 ] && grep -q UNAUTHENTICATED <<<"$out" || fail "a call without a token: exit $code: $out"
out=$(CONSENTD_TOKEN=$APP_TOKEN "$BUILD_DIR/server/consentctl" policy publish \
  "$SRC/config/policies/2026-01-12.json" 2>&1) && code=0 || code=$?
[ $code = 3 ] && grep -q PERMISSION_DENIED <<<"$out" || fail "the app role publishing: exit $code: $out"
# The metrics address it printed serves.
grep -q "http://127.0.0.1:$METRICS_PORT/metrics" "$OUT" || fail "metrics address not printed"
metrics=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics") || true
grep -q '^consentd_cookie_checks_total' <<<"$metrics" ||
  fail "no consentd metrics at the printed address"

# Ctrl-C: SIGINT to its process group, as a terminal sends it.
kill -INT -- "-$UP"
deadline=$((SECONDS + 60))
while kill -0 "$UP" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then
    fail "up.sh still running a minute after Ctrl-C"
    kill -KILL -- "-$UP" 2>/dev/null || true
    break
  fi
  sleep 0.2  # Polling for its exit, with a deadline.
done
wait "$UP" && code=0 || code=$?
UP=
[ $code = 130 ] || fail "up.sh exited $code after Ctrl-C, want 130"
grep -q "stopped; removed $PG_DIR" "$OUT" || fail "it did not say it removed the data: $(tail -n 5 "$OUT")"
[ ! -e "$PG_DIR" ] || fail "$PG_DIR is still there"
for p in "$PORT" "$METRICS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "port $p still served after Ctrl-C"; fi
done

if [ $failures -gt 0 ]; then
  echo "--- up.sh output:" >&2
  cat "$OUT" >&2
  exit 1
fi
echo "up.sh: started, the printed calls worked, Ctrl-C stopped everything and removed the data"
