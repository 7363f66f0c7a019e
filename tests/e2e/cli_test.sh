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
# consentd answers: its bootstrap policy is published. No decision yet.
STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
expect_output "no decision" 1 "ia_stats_events: denied .*reason=NO_DECISION" \
  ctl check visitor-1 ia_stats_events
expect_output "record" 0 "recorded consent_version=1 policy=2026-01-12" \
  ctl record visitor-1 statistics=true marketing=false
expect_output "granted" 0 "ia_stats_events: allowed .*reason=GRANTED max_age=2592000s" \
  ctl check visitor-1 ia_stats_events
expect_output "denied" 1 "ia_mkt_source: denied .*reason=DENIED" \
  ctl check visitor-1 ia_mkt_source
expect_output "get" 0 "statistics: GRANTED" ctl get visitor-1
expect_output "consent mode" 0 "consent mode: ad_storage=denied .*analytics_storage=granted .*security_storage=granted" \
  ctl get visitor-1
expect_output "as of the start" 1 "ia_stats_events: denied .*reason=NO_DECISION .*consent_version=0" \
  ctl --as_of="$STARTED" check visitor-1 ia_stats_events
expect_output "as of a bad time" 2 "as_of" ctl --as_of=yesterday check visitor-1 ia_stats_events
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

# Support and privacy tools: history, the audit log, access and erasure.
# until_ok SECONDS CMD...: polls CMD (quietly) until it succeeds or the
# deadline passes; non-zero if it never did.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05  # Between polls, not to wait.
  done
}
# Every committed audit event is sealed (none waiting).
all_sealed() {
  local out
  out=$(ctl audit verify) && ! grep -q "waiting to be sealed" <<<"$out"
}
expect_output "second decision" 0 "recorded consent_version=2" \
  ctl --source=preferences_center record visitor-1 marketing=true
expect_output "history v1" 0 "v1  [0-9T:-]+Z  policy 2026-01-12  via api  by e2e-admin" \
  ctl history visitor-1
expect_output "history v2" 0 "v2  [0-9T:-]+Z  policy 2026-01-12  via preferences_center  by e2e-admin" \
  ctl history visitor-1
expect_output "history standing" 0 "standing after: marketing=granted statistics=granted" \
  ctl history visitor-1
expect_output "history unknown subject" 3 "NOT_FOUND" ctl history nobody
until_ok 20 all_sealed || fail "audit events were not sealed in time"
# The bootstrap publish and two decisions.
expect_output "audit verify" 0 "audit log OK: 3 event\(s\) verified; head sequence 3, chain MAC [0-9a-f]{64}" \
  ctl audit verify

ctl audit export --format=csv --out="$WORK/audit.csv" 2>"$WORK/export.err" \
  || fail "audit export --format csv failed: $(cat "$WORK/export.err")"
grep -q "exported 3 events, last sequence 3 to $WORK/audit.csv" "$WORK/export.err" \
  || fail "audit export: no summary on stderr: $(cat "$WORK/export.err")"
[ "$(head -n 1 "$WORK/audit.csv")" = "sequence,event_id,action,subject_id,subject_pseudonym,actor,recorded_at,key_id,event_mac,chain_mac,payload" ] \
  || fail "audit export csv: bad header: $(head -n 1 "$WORK/audit.csv")"
[ "$(wc -l <"$WORK/audit.csv")" = 4 ] || fail "audit export csv: want 4 lines: $(cat "$WORK/audit.csv")"
grep -qE '^1,[0-9]+,policy_publish,,,bootstrap,' "$WORK/audit.csv" \
  || fail "audit export csv: no publish row: $(cat "$WORK/audit.csv")"
[ "$(grep -cE '^[23],[0-9]+,decision,visitor-1,[0-9a-f]{64},e2e-admin,[0-9T:-]+Z,e2e,[0-9a-f]{64},[0-9a-f]{64},"\{.*""consent_version"":[12],' "$WORK/audit.csv")" = 2 ] \
  || fail "audit export csv: decision rows malformed: $(cat "$WORK/audit.csv")"
# The same to stdout, filtered by subject.
expect_output "audit export csv subject" 0 '^3,[0-9]+,decision,visitor-1,' \
  ctl audit export --format=csv --subject=visitor-1 --since=2020-01-01
# Resuming a csv export cut mid-line restores it exactly.
cp "$WORK/audit.csv" "$WORK/audit-full.csv"
truncate -s -20 "$WORK/audit.csv"
expect_output "audit export resume" 0 "removed an incomplete last line" \
  ctl audit export --format=csv --out="$WORK/audit.csv" --resume
cmp -s "$WORK/audit.csv" "$WORK/audit-full.csv" \
  || fail "resumed csv differs: $(diff "$WORK/audit.csv" "$WORK/audit-full.csv")"

ctl subject export visitor-1 >"$WORK/subject.json" \
  || fail "subject export failed"
grep -q '"subject_id": "visitor-1"' "$WORK/subject.json" \
  || fail "subject export: no subject_id: $(cat "$WORK/subject.json")"
grep -q '"consent_version": "2"' "$WORK/subject.json" \
  || fail "subject export: no current version 2: $(cat "$WORK/subject.json")"
[ "$(grep -c '"action": "decision"' "$WORK/subject.json")" = 2 ] \
  || fail "subject export: want 2 decision events: $(cat "$WORK/subject.json")"
grep -q '"audit_events_truncated"' "$WORK/subject.json" \
  && fail "subject export: a small subject is reported truncated"
expect_output "subject export unknown" 3 "NOT_FOUND" ctl subject export nobody

expect_output "erase needs --yes" 2 "add --yes to confirm" ctl subject erase visitor-1
expect_output "subject erase" 0 "erased: 2 decision\(s\) and 2 audit event\(s\) now carry only the pseudonym [0-9a-f]{64}" \
  ctl subject erase visitor-1 --yes
expect_output "history after erase" 3 "NOT_FOUND" ctl history visitor-1
expect_output "check after erase" 1 "ia_stats_events: denied .*reason=NO_DECISION" \
  ctl check visitor-1 ia_stats_events
until_ok 20 all_sealed || fail "the erasure event was not sealed in time"
expect_output "audit verify after erase" 0 "audit log OK: 4 event\(s\) verified" \
  ctl audit verify
# The proof stays, under the pseudonym only.
ctl audit export --format=csv --subject=visitor-1 >"$WORK/erased.csv" 2>/dev/null \
  || fail "audit export of an erased subject failed"
[ "$(grep -cE '^[0-9]+,[0-9]+,(decision|erasure),,[0-9a-f]{64},' "$WORK/erased.csv")" = 3 ] \
  || fail "erased subject's proof: $(cat "$WORK/erased.csv")"
grep -q visitor-1 "$WORK/erased.csv" && fail "the erased id is still exported"

# Linked identities and the change stream (after the audit checks, whose
# counts they would change).
ctl record visitor-2 statistics=true >/dev/null || fail "record visitor-2"
expect_output "link" 0 "linked: device-9 -> visitor-2 consent_version=1" \
  ctl link device-9 visitor-2
expect_output "a linked device answers from its account" 0 "ia_stats_events: allowed .*reason=GRANTED .*consent_version=1" \
  ctl check device-9 ia_stats_events
expect_output "link again" 0 "already linked" ctl link device-9 visitor-2
expect_output "bad merge rule" 2 "merge_rule" ctl --merge_rule=newest link device-9 visitor-2
expect_output "watch" 0 '"kind":"CHANGE_KIND_POLICY_PUBLISH".*' timeout 20 "$CONSENTCTL" --count=1 watch
# Resumed after the first change: the second is visitor-1's first
# decision, erased since: the stream shows only its pseudonym.
expect_output "watch resumes" 0 '^\{"cursor":"c2","kind":"CHANGE_KIND_DECISION",("consent_version":"1",).*"subject_pseudonym":"[0-9a-f]{64}"\}$' \
  timeout 20 "$CONSENTCTL" --count=1 --after_cursor=c1 watch
expect_output "unlink" 0 "unlinked: device-9 \(was linked to visitor-2\)" ctl unlink device-9
expect_output "unlinked device" 1 "ia_stats_events: denied .*reason=NO_DECISION" \
  ctl check device-9 ia_stats_events
# Policy dry run: the seed with ia_stats_events moved to marketing and
# marketing marked for re-consent reports the move and who would be asked
# again; nothing is published.
ctl record mkt-1 marketing=true >/dev/null || fail "record mkt-1"
ctl record mkt-2 marketing=true statistics=true >/dev/null || fail "record mkt-2"
ctl record mkt-3 marketing=false >/dev/null || fail "record mkt-3"
sed -e 's/"version": "2026-01-12"/"version": "2026-03-01",\n  "reconsent_categories": ["marketing"]/' \
    -e '/"name": "ia_stats_events"/{n;s/"statistics"/"marketing"/}' \
    "$SRC/config/policies/2026-01-12.json" >"$WORK/moved.json"
expect_output "dry run: the move" 0 "ia_stats_events: statistics -> marketing" \
  ctl policy publish --dry_run "$WORK/moved.json"
expect_output "dry run: re-consent" 0 "re-consent: marketing; subjects who would be asked again: 3" \
  ctl policy publish --dry_run "$WORK/moved.json"
expect_output "dry run: per category" 0 "marketing: 2 with a grant, 1 with a refusal" \
  ctl policy publish --dry_run "$WORK/moved.json"
expect_output "dry run: json" 0 '"subjects_to_reconsent": "3"' \
  ctl --json policy publish --dry_run "$WORK/moved.json"
ctl policy list | grep -q 2026-03-01 && fail "a dry run published the policy"
sed -e 's/"version": "2026-01-12"/"version": "2026-03-02"/' \
    -e '/"name": "ia_mkt_source"/{n;s/"marketing"/"ads"/}' \
    "$SRC/config/policies/2026-01-12.json" >"$WORK/invalid.json"
expect_output "dry run: invalid" 3 'INVALID_ARGUMENT: invalid policy: cookies\[19\]\.category: unknown category "ads"' \
  ctl policy publish --dry_run "$WORK/invalid.json"

# Bulk import: decisions keep their time; a re-run adds nothing.
T1=$(date -u -d '-20 days' +%Y-%m-%dT%H:%M:%SZ)
T2=$(date -u -d '-10 days' +%Y-%m-%dT%H:%M:%SZ)
{
  printf '{"subject": "imp-1", "time": "%s", "choices": {"statistics": true}, "policy_version": "2026-01-12"}\n' "$T1"
  printf '{"subject": "imp-1", "time": "%s", "choices": {"statistics": false}, "policy_version": "2026-01-12"}\n' "$T2"
  printf '{"subject": "imp-2", "time": \n'
} >"$WORK/import.ndjson"
expect_output "import" 1 "imported: 2, already present: 0, rejected: 1" \
  ctl import "$WORK/import.ndjson"
expect_output "import again" 1 "imported: 0, already present: 2, rejected: 1" \
  ctl import "$WORK/import.ndjson"
expect_output "import rejected line" 1 "line 3: bad JSON" ctl import "$WORK/import.ndjson"
expect_output "import keeps the time" 0 "v1  $T1  policy 2026-01-12  via import  by e2e-admin" \
  ctl history imp-1
expect_output "import latest" 1 "ia_stats_events: denied .*reason=DENIED" \
  ctl check imp-1 ia_stats_events
printf 'subject,time,choices,policy_version\nimp-3,%s,marketing=true;statistics=false,2026-01-12\n' "$T2" \
  >"$WORK/import.csv"
expect_output "import csv" 0 "imported: 1, already present: 0, rejected: 0" \
  ctl import --parallel=2 "$WORK/import.csv"
expect_output "import needs admin" 3 "PERMISSION_DENIED" \
  env CONSENTD_TOKEN="$APP_TOKEN" "$CONSENTCTL" --timeout=20s import "$WORK/import.csv"

if [ "$failures" -ne 0 ]; then
  echo "--- consentd log ---" >&2; cat "$WORK/consentd.log" >&2
  exit 1
fi
echo "e2e: all checks passed"
