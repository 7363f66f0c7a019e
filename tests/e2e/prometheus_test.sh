#!/usr/bin/env bash
# A real Prometheus scrapes a real consentd with the scrape config shipped in
# deploy/prometheus/: the target is up, grpc_server_handled_total for
# CheckCookie rises after calls, promtool accepts the shipped config, rules
# and a scrape, and every metric the alerts and the dashboard use exists.
# Usage: prometheus_test.sh CONSENTD CONSENTCTL SOURCE_DIR
set -euo pipefail
CONSENTD=$1 CONSENTCTL=$2 SRC=$3
: "${CONSENTD_TEST_POSTGRES:?run through tests/run.sh}"
. "$SRC/deploy/local/lib.sh"
for tool in prometheus promtool curl; do
  command -v $tool >/dev/null || { echo "missing $tool (tests/run.sh installs it)" >&2; exit 1; }
done

DB="consentd_prom_$$_$RANDOM"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$CONSENTD_TEST_POSTGRES dbname=postgres" -qAt \
    -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql "$CONSENTD_TEST_POSTGRES dbname=postgres" -qAt -c "CREATE DATABASE $DB ENCODING 'UTF8'"

# 1. The shipped files are valid as they are.
promtool check config "$SRC/deploy/prometheus/prometheus.yml"
promtool check rules "$SRC/deploy/prometheus/alerts.yml"

# 2. consentd with its metrics endpoint.
TOKEN="prom-test-$RANDOM$RANDOM"
echo "admin prom $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >"$WORK/tokens"
echo "k $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$WORK/keys"
PORT=$(free_port) METRICS_PORT=$(free_port) PROM_PORT=$(free_port)
"$CONSENTD" --database_url="$CONSENTD_TEST_POSTGRES dbname=$DB" \
  --listen="127.0.0.1:$PORT" --metrics_listen="127.0.0.1:$METRICS_PORT" \
  --bootstrap_policy="$SRC/config/policies/2026-01-12.json" \
  --auth_tokens_file="$WORK/tokens" --audit_key_file="$WORK/keys" \
  >"$WORK/consentd.log" 2>&1 &
PIDS+=($!)
ctl() { CONSENTD_ADDR="127.0.0.1:$PORT" CONSENTD_TOKEN="$TOKEN" "$CONSENTCTL" --timeout=20s --wait_for_ready "$@"; }
ctl policy list >/dev/null

# 3. Prometheus with the shipped scrape config, pointed at this replica and
# scraping every second.
cp "$SRC/deploy/prometheus/alerts.yml" "$WORK/alerts.yml"
sed -e "s/127.0.0.1:9464/127.0.0.1:$METRICS_PORT/" \
    -e "s/scrape_interval: 15s/scrape_interval: 1s/" \
    -e "s/evaluation_interval: 15s/evaluation_interval: 1s/" \
  "$SRC/deploy/prometheus/prometheus.yml" >"$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

query() {  # query EXPR -> the first sample's value, or empty
  curl -sfG "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
# poll DESCRIPTION COMMAND...: retries until the command succeeds, 60 s at most.
poll() {
  local what=$1; shift
  local deadline=$((SECONDS + 60))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL: $what" >&2
      tail -20 "$WORK/prometheus.log" >&2
      exit 1
    fi
    sleep 0.2  # Between polls.
  done
}
target_up() { test "$(query 'up{job="consentd"}')" = 1; }
poll "the consentd target is up" target_up

# consentctl check with one cookie calls CheckCookie, with more CheckCookies.
counter() { echo "sum(grpc_server_handled_total{job=\"consentd\",grpc_method=\"$1\",grpc_code=\"OK\"})"; }
scraped() { test -n "$(query "$(counter CheckCookie)")"; }
poll "a first scrape of the counter" scraped
before=$(query "$(counter CheckCookie)")
before_many=$(query "$(counter CheckCookies)")
for i in $(seq 1 25); do ctl check "visitor-$i" refreshToken >/dev/null; done
for i in $(seq 1 5); do ctl check "visitor-$i" refreshToken ia_stats_events >/dev/null || true; done
rises() { # METHOD BEFORE BY
  local now; now=$(query "$(counter "$1")"); [ -n "$now" ] && awk "BEGIN{exit !($now >= $2 + $3)}"; }
poll "grpc_server_handled_total for CheckCookie rises by the calls made" rises CheckCookie "$before" 25
poll "grpc_server_handled_total for CheckCookies rises by the calls made" rises CheckCookies "$before_many" 5

# 4. A scrape passes promtool's lint, and every metric the alerts and the
# dashboard use is exposed.
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/scrape.txt"
promtool check metrics <"$WORK/scrape.txt"
used=$(cat "$SRC/deploy/prometheus/alerts.yml" "$SRC/deploy/grafana/consentd-dashboard.json" |
  grep -oE '(consentd|grpc_server|process)_[a-z_]+' | sed -E 's/_(bucket|count|sum)$//' | sort -u)
missing=0
for metric in $used; do
  grep -qE "^$metric(\{| )" "$WORK/scrape.txt" ||
    grep -qE "^${metric}_bucket" "$WORK/scrape.txt" ||
    { echo "FAIL: $metric is used by the alerts or dashboard but not exposed" >&2; missing=1; }
done
[ $missing = 0 ]
echo "prometheus: target up, counter rose from $before, $(echo "$used" | wc -w) metrics checked"
