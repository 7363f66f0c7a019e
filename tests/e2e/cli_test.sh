#!/usr/bin/env bash
# End to end, as a person would use it: the consentd binary on a fresh
# database, driven by consentctl; flags and environment variables; SIGTERM;
# a restart; publishing a policy; --regions_file; the JSON log (start-up
# summary, no password, access log); TLS; import progress.
# Usage: cli_test.sh CONSENTD CONSENTCTL SOURCE_DIR
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
# start [FLAGS...]: consentd in the background with FLAGS added, on
# $DATABASE_URL; its stderr (the log) is appended to $LOG, its stdout to
# $LOG.out.
DATABASE_URL="$CONSENTD_TEST_POSTGRES dbname=$DB"
LOG="$WORK/consentd.log"
start() {
  CONSENTD_DATABASE_URL="$DATABASE_URL" \
  CONSENTD_LISTEN="127.0.0.1:$PORT" \
    "$CONSENTD" --metrics_listen="127.0.0.1:$METRICS_PORT" \
      --bootstrap_policy="$SRC/config/policies/2026-01-12.json" "$@" \
      >>"$LOG.out" 2>>"$LOG" &
  PID=$!
}
# stop: SIGTERM, which must stop consentd cleanly.
stop() {
  local code=0
  kill -TERM "$PID"
  wait "$PID" || code=$?
  PID=
  [ "$code" = 0 ] || fail "consentd exited $code after SIGTERM"
}
# until_ok SECONDS CMD...: polls CMD (quietly) until it succeeds or the
# deadline passes; non-zero if it never did.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05  # Between polls, not to wait.
  done
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
stop
start
expect_output "after restart" 0 "ia_stats_events: allowed .*consent_version=1" \
  ctl check visitor-1 ia_stats_events
grep -q 'bootstrap policy 2026-01-12 is already published' "$WORK/consentd.log" \
  || fail "restart did not find the bootstrap policy published"

# Support and privacy tools: history, the audit log, access and erasure.
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

# Publishing a policy for real: the seed as 2026-04-01 with ia_stats_perf
# moved from statistics to marketing. It becomes the current policy, checks
# answer from the new category, the old version stays readable; publishing
# the same file again changes nothing, the same version with other content
# is refused.
ctl record pub-1 statistics=true marketing=false >/dev/null || fail "record pub-1"
expect_output "before publish" 0 "ia_stats_perf: allowed  category=statistics reason=GRANTED .*policy=2026-01-12" \
  ctl check pub-1 ia_stats_perf
sed -e 's/"version": "2026-01-12"/"version": "2026-04-01"/' \
    -e '/"name": "ia_stats_perf"/{n;s/"statistics"/"marketing"/}' \
    "$SRC/config/policies/2026-01-12.json" >"$WORK/next.json"
[ "$(diff "$SRC/config/policies/2026-01-12.json" "$WORK/next.json" | grep -c '^>')" = 2 ] \
  || fail "next.json: want the version and one category changed: $(diff "$SRC/config/policies/2026-01-12.json" "$WORK/next.json")"
expect_output "publish needs admin" 3 "PERMISSION_DENIED" \
  env CONSENTD_TOKEN="$APP_TOKEN" "$CONSENTCTL" --timeout=20s policy publish "$WORK/next.json"
published=$(ctl policy publish "$WORK/next.json" 2>&1) || fail "policy publish: $published"
grep -qxE "published policy 2026-04-01 at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z" <<<"$published" \
  || fail "policy publish: $published"
expect_output "policy list: the new one is current" 0 "^2026-04-01 \(current\)  published [0-9T:-]+Z, 4 categories, [0-9]+ cookies$" \
  ctl policy list
expect_output "policy list: the seed is not current" 0 "^2026-01-12  published " ctl policy list
[ "$(ctl policy list | wc -l)" = 2 ] || fail "policy list: want 2 policies: $(ctl policy list)"
# policy_category FILE COOKIE: the version of the policy JSON in FILE and
# the category it gives COOKIE.
policy_category() {
  python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(p["version"], *[c["category"] for c in p["cookies"] if c["name"] == sys.argv[2]])
' "$@"
}
ctl policy get >"$WORK/current.json" || fail "policy get"
[ "$(policy_category "$WORK/current.json" ia_stats_perf)" = "2026-04-01 marketing" ] \
  || fail "policy get: want 2026-04-01 with ia_stats_perf in marketing: $(cat "$WORK/current.json")"
ctl policy get 2026-01-12 >"$WORK/seed.json" || fail "policy get 2026-01-12"
[ "$(policy_category "$WORK/seed.json" ia_stats_perf)" = "2026-01-12 statistics" ] \
  || fail "policy get 2026-01-12: want ia_stats_perf in statistics: $(cat "$WORK/seed.json")"
expect_output "check: the new category" 1 "ia_stats_perf: denied  category=marketing reason=DENIED .*policy=2026-04-01" \
  ctl check pub-1 ia_stats_perf
expect_output "check: an unchanged cookie under the new policy" 0 "ia_stats_events: allowed  category=statistics reason=GRANTED .*policy=2026-04-01" \
  ctl check pub-1 ia_stats_events
expect_output "publish the same file again" 0 "^already published: policy 2026-04-01 at ${published##* at }$" \
  ctl policy publish "$WORK/next.json"
[ "$(ctl policy list | wc -l)" = 2 ] || fail "publishing again added a policy: $(ctl policy list)"
sed -e '/"name": "ia_stats_pageviews"/{n;s/"statistics"/"marketing"/}' "$WORK/next.json" >"$WORK/conflict.json"
expect_output "same version, other content" 3 "^consentctl: ALREADY_EXISTS: policy 2026-04-01 was already published with different content; publish the change under a new version$" \
  ctl policy publish "$WORK/conflict.json"
expect_output "the refused content is not used" 0 "ia_stats_pageviews: allowed  category=statistics .*policy=2026-04-01" \
  ctl check pub-1 ia_stats_pageviews

# Import progress goes to stderr, the summary to stdout. A quick import
# prints no progress at all.
code=0
ctl import "$WORK/import.csv" >"$WORK/quick.out" 2>"$WORK/quick.err" || code=$?
[ "$code" = 0 ] || fail "quick import: exit $code: $(cat "$WORK/quick.out" "$WORK/quick.err")"
[ -s "$WORK/quick.err" ] && fail "quick import: progress on stderr: $(cat "$WORK/quick.err")"
grep -qx "imported: 0, already present: 1, rejected: 0" "$WORK/quick.out" \
  || fail "quick import: summary: $(cat "$WORK/quick.out")"
# One that runs over a second prints a line a second and one at the end
# (stderr is not a terminal). Rows of distinct subjects, one call at a time;
# the file doubles until the import takes over 1.5 s (however fast the
# machine), for at most 40 s.
rows=200 attempt=0 elapsed_ms=0
T3=$(date -u -d '-5 days' +%Y-%m-%dT%H:%M:%SZ)
progress_deadline=$((SECONDS + 40))
while [ "$elapsed_ms" -lt 1500 ] && [ $SECONDS -lt $progress_deadline ]; do
  attempt=$((attempt + 1)) rows=$((rows * 2))
  awk -v n="$rows" -v a="$attempt" -v t="$T3" 'BEGIN {
    for (i = 1; i <= n; i++)
      printf "{\"subject\": \"bulk-%d-%d\", \"time\": \"%s\", \"choices\": {\"statistics\": true}}\n", a, i, t
  }' >"$WORK/bulk.ndjson"
  t0=$(date +%s%N) code=0
  ctl --parallel=1 --policy_version=2026-04-01 import "$WORK/bulk.ndjson" \
    >"$WORK/bulk.out" 2>"$WORK/bulk.err" || code=$?
  elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$code" = 0 ] || { fail "bulk import: exit $code: $(cat "$WORK/bulk.out" "$WORK/bulk.err")"; break; }
done
if [ "$elapsed_ms" -lt 1000 ]; then
  fail "bulk import of $rows rows took only ${elapsed_ms}ms: cannot test its progress"
else
  progress="^import: [0-9]+/$rows rows \([0-9]+%\), [0-9]+ rows/s(, about ([0-9]+s|[0-9]+m[0-9]{2}s) left)?$"
  [ -s "$WORK/bulk.err" ] || fail "bulk import (${elapsed_ms}ms): no progress on stderr"
  grep -vqE "$progress" "$WORK/bulk.err" \
    && fail "bulk import: stderr has other lines than progress: $(cat "$WORK/bulk.err")"
  tail -n 1 "$WORK/bulk.err" | grep -qE "^import: $rows/$rows rows \(100%\), [0-9]+ rows/s$" \
    || fail "bulk import: the last progress line is not the total: $(cat "$WORK/bulk.err")"
  grep -q "^import:" "$WORK/bulk.out" && fail "bulk import: progress on stdout: $(cat "$WORK/bulk.out")"
  grep -qx "$WORK/bulk.ndjson (NDJSON): $rows rows" "$WORK/bulk.out" \
    || fail "bulk import: no file line on stdout: $(cat "$WORK/bulk.out")"
  grep -qx "imported: $rows, already present: 0, rejected: 0" "$WORK/bulk.out" \
    || fail "bulk import: no summary on stdout: $(cat "$WORK/bulk.out")"
fi

# The log. logtool lines FILE: checks that every line of FILE is a JSON log
# record (time, level, msg, optional fields) and prints each as
# "LEVEL: MSG [KEY=VALUE ...]". logtool fields FILE MSG: the fields of the
# last record saying MSG, KEY=VALUE a line. (python3: yamllint, which
# tests/run.sh installs, brings it.)
cat >"$WORK/logtool.py" <<'PY'
import json, re, sys
mode, path = sys.argv[1], sys.argv[2]
records, bad = [], 0
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    try:
        r = json.loads(line)
    except ValueError:
        r = None
    if not (isinstance(r, dict)
            and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(r.get("time")))
            and r.get("level") in ("trace", "debug", "info", "warning", "error", "critical")
            and isinstance(r.get("msg"), str)
            and isinstance(r.get("fields", {}), dict)
            and set(r) <= {"time", "level", "msg", "fields"}):
        print(f"{path}:{n}: not a JSON log record: {line.rstrip()}", file=sys.stderr)
        bad += 1
        continue
    records.append(r)
if mode == "lines":
    for r in records:
        fields = " ".join(f"{k}={v}" for k, v in r.get("fields", {}).items())
        print(f"{r['level']}: {r['msg']}" + (f" [{fields}]" if fields else ""))
else:
    found = [r for r in records if r["msg"] == sys.argv[3]]
    for k, v in (found[-1].get("fields", {}) if found else {}).items():
        print(f"{k}={v}")
    bad += not found
sys.exit(1 if bad else 0)
PY
logtool() { python3 "$WORK/logtool.py" "$@"; }
# The two starts above: plaintext on loopback, access log off (the default).
logtool lines "$WORK/consentd.log" >"$WORK/consentd.lines" \
  || fail "consentd.log: not one JSON record a line"
[ "$(grep -c '^info: consentd starting \[' "$WORK/consentd.lines")" = 2 ] \
  || fail "want a start-up summary for each of the 2 starts: $(cat "$WORK/consentd.lines")"
logtool fields "$WORK/consentd.log" "consentd starting" >"$WORK/summary" \
  || fail "no start-up summary"
for key in version listen metrics_listen database_url tls credentials regions \
    bootstrap_policy consent_ttl cache_max_bytes cache_staleness_bound \
    db_pool_size write_batch_max write_committers audit_log access_log_sample_rate; do
  grep -q "^$key=" "$WORK/summary" || fail "start-up summary: no $key: $(cat "$WORK/summary")"
done
for want in "listen=127.0.0.1:$PORT" "metrics_listen=127.0.0.1:$METRICS_PORT" \
    "tls=off" "credentials=2" "regions=$(grep -cE '^[A-Z]' "$SRC/config/regions.txt")" \
    "bootstrap_policy=2026-01-12" "audit_log=on" "access_log_sample_rate=0"; do
  grep -qx "$want" "$WORK/summary" || fail "start-up summary: want $want: $(cat "$WORK/summary")"
done
grep -qx "warning: gRPC is served in plaintext on 127.0.0.1:$PORT: .*" "$WORK/consentd.lines" \
  || fail "no plaintext warning: $(cat "$WORK/consentd.lines")"
grep -q "^info: consentd serving gRPC on port $PORT (plaintext), 2 credential(s)$" "$WORK/consentd.lines" \
  || fail "no serving line: $(cat "$WORK/consentd.lines")"
grep -q "^[a-z]*: access " "$WORK/consentd.lines" \
  && fail "access lines with --access_log_sample_rate unset: $(grep "access" "$WORK/consentd.lines")"

# Restarted with a password in a URI database_url (trust authentication
# ignores it) and every call logged: a line per call, and the password
# nowhere. The current policy stays the published one (the bootstrap policy
# exists).
stop
pg_param() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$CONSENTD_TEST_POSTGRES"; }
PG_HOST=$(pg_param host) PG_PORT=$(pg_param port) PG_USER=$(pg_param user)
PG_HOST=${PG_HOST:-127.0.0.1} PG_PORT=${PG_PORT:-5432} PG_USER=${PG_USER:-postgres}
LOG="$WORK/access.log"
DATABASE_URL="postgresql://$PG_USER:s3cret@$PG_HOST:$PG_PORT/$DB"
start --access_log_sample_rate=1
expect_output "current after restart" 1 "ia_stats_perf: denied  category=marketing .*policy=2026-04-01" \
  ctl check pub-1 ia_stats_perf
ctl check pub-1 ia_stats_events >/dev/null || fail "check ia_stats_events"
ctl check pub-1 ia_stats_events ia_stats_perf >/dev/null || true  # One is denied.
expect_output "bad token" 3 "UNAUTHENTICATED" \
  "$CONSENTCTL" --timeout=20s --token=wrong check pub-1 ia_stats_events
logtool lines "$LOG" >"$WORK/access.lines" || fail "access.log: not one JSON record a line"
[ "$(grep -cxE 'info: access \[method=/consent.v1.ConsentService/CheckCookie code=0 duration_us=[0-9]+\]' "$WORK/access.lines")" = 2 ] \
  || fail "access log: want 2 CheckCookie lines with code 0: $(cat "$WORK/access.lines")"
[ "$(grep -cxE 'info: access \[method=/consent.v1.ConsentService/CheckCookies code=0 duration_us=[0-9]+\]' "$WORK/access.lines")" = 1 ] \
  || fail "access log: want 1 CheckCookies line: $(cat "$WORK/access.lines")"
grep -qxE 'info: access \[method=/consent.v1.ConsentService/CheckCookie code=16 duration_us=[0-9]+\]' "$WORK/access.lines" \
  || fail "access log: the unauthenticated call is not logged: $(cat "$WORK/access.lines")"
logtool fields "$LOG" "consentd starting" >"$WORK/summary" || fail "no start-up summary"
grep -qx "database_url=postgresql://$PG_USER:\*\*\*@$PG_HOST:$PG_PORT/$DB" "$WORK/summary" \
  || fail "start-up summary: database_url not redacted as expected: $(grep database_url "$WORK/summary")"
grep -qx "access_log_sample_rate=1" "$WORK/summary" \
  || fail "start-up summary: want access_log_sample_rate=1: $(cat "$WORK/summary")"
grep -q s3cret "$LOG" "$LOG.out" && fail "the database password is in the log: $(grep s3cret "$LOG" "$LOG.out")"

# --regions_file replaces the built-in table. Built in, DE is opt-in (no
# decision: denied) and US-CA opt-out (allowed); with a file making DE
# opt-out and naming nothing else, DE is allowed and US-CA, no longer
# listed, gets the default opt-in.
expect_output "built-in DE" 1 "ia_stats_events: denied .*reason=NO_DECISION" \
  ctl --region=DE check nobody-1 ia_stats_events
expect_output "built-in US-CA" 0 "ia_stats_events: allowed .*reason=NO_DECISION" \
  ctl --region=US-CA check nobody-1 ia_stats_events
stop
printf '# test regions\n\nDE  opt_out   # changed\n' >"$WORK/regions.txt"
LOG="$WORK/regions.log"
DATABASE_URL="$CONSENTD_TEST_POSTGRES dbname=$DB"
start --regions_file="$WORK/regions.txt"
expect_output "regions file: DE" 0 "ia_stats_events: allowed .*reason=NO_DECISION" \
  ctl --region=DE check nobody-1 ia_stats_events
expect_output "regions file: DE-BY falls back to DE" 0 "ia_stats_events: allowed .*reason=NO_DECISION" \
  ctl --region=DE-BY check nobody-1 ia_stats_events
expect_output "regions file: US-CA" 1 "ia_stats_events: denied .*reason=NO_DECISION" \
  ctl --region=US-CA check nobody-1 ia_stats_events
expect_output "regions file: a decision still wins" 1 "ia_mkt_source: denied .*reason=DENIED" \
  ctl --region=DE check pub-1 ia_mkt_source
logtool fields "$LOG" "consentd starting" >"$WORK/summary" || fail "regions: no start-up summary"
grep -qx "regions=1" "$WORK/summary" || fail "start-up summary: want regions=1: $(cat "$WORK/summary")"
# A malformed regions file stops the start, naming the file and the line.
printf 'DE opt_out\n# fine so far\nFR maybe\n' >"$WORK/bad-regions.txt"
expect_output "regions file: bad regime" 2 "^consentd: --regions_file $WORK/bad-regions.txt: line 3: regime must be opt_in or opt_out, got \"maybe\"$" \
  "$CONSENTD" --database_url=x --regions_file="$WORK/bad-regions.txt"
printf 'DE opt_out\nfrance opt_in\n' >"$WORK/bad-regions.txt"
expect_output "regions file: bad region" 2 "^consentd: --regions_file $WORK/bad-regions.txt: line 2: region must be an ISO 3166-1 alpha-2 code" \
  "$CONSENTD" --database_url=x --regions_file="$WORK/bad-regions.txt"
printf 'DE opt_out\nDE opt_in\n' >"$WORK/bad-regions.txt"
expect_output "regions file: duplicate" 2 "^consentd: --regions_file $WORK/bad-regions.txt: line 2: duplicate region DE$" \
  "$CONSENTD" --database_url=x --regions_file="$WORK/bad-regions.txt"
expect_output "regions file: missing" 2 "^consentd: --regions_file: cannot read $WORK/none.txt$" \
  "$CONSENTD" --database_url=x --regions_file="$WORK/none.txt"

# TLS with a server certificate only: consentctl with --tls_ca gets its
# answers; a plaintext client, or one trusting another CA, gets none. The
# password of a key=value database_url is not logged either.
stop
tls_cert() {  # tls_cert NAME: a self-signed certificate for 127.0.0.1 and localhost
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 1 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$WORK/$1.key" -out "$WORK/$1.crt" 2>"$WORK/openssl.err" \
    || fail "openssl: $(cat "$WORK/openssl.err")"
}
tls_cert server
tls_cert other
LOG="$WORK/tls.log"
DATABASE_URL="$CONSENTD_TEST_POSTGRES dbname=$DB password=s3cret"
start --tls_cert="$WORK/server.crt" --tls_key="$WORK/server.key"
expect_output "tls check" 1 "ia_stats_perf: denied  category=marketing reason=DENIED .*policy=2026-04-01" \
  ctl --tls_ca="$WORK/server.crt" check pub-1 ia_stats_perf
expect_output "tls record" 0 "recorded consent_version=2 policy=2026-04-01" \
  ctl --tls_ca="$WORK/server.crt" record pub-1 marketing=true
expect_output "tls check after record" 0 "ia_stats_perf: allowed  category=marketing reason=GRANTED" \
  ctl --tls_ca="$WORK/server.crt" check pub-1 ia_stats_perf
expect_output "plaintext client against TLS" 3 "UNAVAILABLE" \
  "$CONSENTCTL" --timeout=5s check pub-1 ia_stats_perf
# The failed handshake is logged by gRPC, as a JSON record too.
grpc_logged() { grep -q '"level":"error",.*"fields":{"component":"grpc"' "$LOG"; }
until_ok 10 grpc_logged || fail "tls: the failed handshake is not logged as JSON: $(cat "$LOG")"
expect_output "TLS client trusting another CA" 3 "UNAVAILABLE" \
  "$CONSENTCTL" --timeout=5s --tls_ca="$WORK/other.crt" check pub-1 ia_stats_perf
logtool lines "$LOG" >"$WORK/tls.lines" || fail "tls.log: not one JSON record a line"
grep -q "^info: consentd serving gRPC on port $PORT (TLS), 2 credential(s)$" "$WORK/tls.lines" \
  || fail "tls: no serving line: $(cat "$WORK/tls.lines")"
grep -q "plaintext" "$WORK/tls.lines" && fail "tls: a plaintext warning: $(cat "$WORK/tls.lines")"
logtool fields "$LOG" "consentd starting" >"$WORK/summary" || fail "tls: no start-up summary"
grep -qx "tls=tls" "$WORK/summary" || fail "tls: start-up summary: want tls=tls: $(cat "$WORK/summary")"
grep -q "^database_url=.*password=\*\*\*" "$WORK/summary" \
  || fail "tls: start-up summary: database_url: $(grep database_url "$WORK/summary")"
grep -q s3cret "$LOG" "$LOG.out" && fail "the database password is in the log: $(grep s3cret "$LOG" "$LOG.out")"
stop
[ -n "$(cat "$WORK"/*.log.out)" ] && fail "consentd wrote to stdout: $(cat "$WORK"/*.log.out)"

if [ "$failures" -ne 0 ]; then
  for f in "$WORK"/*.log; do
    echo "--- $(basename "$f") ---" >&2; cat "$f" >&2
  done
  exit 1
fi
echo "e2e: all checks passed"
