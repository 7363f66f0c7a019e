#!/usr/bin/env bash
# Builds the container image from deploy/Dockerfile with podman, runs it
# against the test PostgreSQL, checks that it answers its health check and a
# CheckCookie, and that it stops cleanly on SIGTERM. Needs root (podman,
# debootstrap). The base image is made locally from Debian's archive (see
# ../shared/notes/containers.md for why). Everything it creates is removed.
# Usage: container_test.sh CONSENTCTL SOURCE_DIR
set -euo pipefail
CONSENTCTL=$1 SRC=$2
: "${CONSENTD_TEST_POSTGRES:?run through tests/run.sh}"
. "$SRC/deploy/local/lib.sh"
install_packages podman runc debootstrap catatonit

WORK=$(mktemp -d /var/tmp/consentd-container.XXXXXX)
IMAGE=localhost/consentd:ci
BASE=docker.io/library/debian:bookworm-slim
NAME="consentd-ci-$$"
DB="consentd_container_$$_$RANDOM"
# Podman settings for this host (runc; ulimits within the shell's), in a
# file of our own: nothing under /etc changes.
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$WORK/containers.conf"
had_base=0
podman image exists "$BASE" && had_base=1
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  [ $had_base = 1 ] || podman rmi -f "$BASE" >/dev/null 2>&1 || true
  podman image prune -f >/dev/null 2>&1 || true
  psql "$CONSENTD_TEST_POSTGRES dbname=postgres" -qAt \
    -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ $had_base = 0 ]; then
  log "making the base image $BASE from Debian's archive"
  MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  tar -C "$WORK/rootfs" -c --exclude='./var/cache/apt/archives/*.deb' \
      --exclude='./var/lib/apt/lists/*' . | podman import -q - "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
fi

log "building $IMAGE (compiles consentd inside the build stage)"
podman build --pull=never -f "$SRC/deploy/Dockerfile" -t "$IMAGE" "$SRC" >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log" >&2; exit 1; }

# The runtime image holds no compiler.
if podman run --rm --entrypoint /bin/sh "$IMAGE" -c 'command -v g++ || command -v cmake' >/dev/null 2>&1; then
  echo "FAIL: the runtime image contains build tools" >&2; exit 1
fi
[ "$(podman run --rm --entrypoint /usr/bin/id "$IMAGE" -u)" = 10001 ] \
  || { echo "FAIL: the image does not run as its non-root user" >&2; exit 1; }

psql "$CONSENTD_TEST_POSTGRES dbname=postgres" -qAt -c "CREATE DATABASE $DB ENCODING 'UTF8'"
TOKEN="container-$RANDOM$RANDOM"
echo "admin ci $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >"$WORK/tokens"
echo "k $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$WORK/audit.keys"
chmod 644 "$WORK/tokens" "$WORK/audit.keys"
PORT=$(free_port) METRICS_PORT=$(free_port)
podman run -d --init --network=host --name "$NAME" \
  -v "$WORK/tokens:/etc/consentd/tokens:ro" \
  -v "$WORK/audit.keys:/etc/consentd/audit.keys:ro" \
  -e CONSENTD_DATABASE_URL="$CONSENTD_TEST_POSTGRES dbname=$DB" \
  -e CONSENTD_LISTEN="127.0.0.1:$PORT" \
  -e CONSENTD_METRICS_LISTEN="127.0.0.1:$METRICS_PORT" \
  -e CONSENTD_AUTH_TOKENS_FILE=/etc/consentd/tokens \
  -e CONSENTD_AUDIT_KEY_FILE=/etc/consentd/audit.keys \
  "$IMAGE" >/dev/null

export CONSENTD_ADDR="127.0.0.1:$PORT" CONSENTD_TOKEN="$TOKEN"
if ! "$CONSENTCTL" --wait_for_ready --timeout=60s policy list >/dev/null; then
  podman logs "$NAME" >&2; exit 1
fi
# The health service answers without a token (gRPC over HTTP/2, by hand):
# an empty HealthCheckRequest, SERVING (field 1 = 1) in the reply.
health=$(curl -s --http2-prior-knowledge -H 'content-type: application/grpc' \
  -H 'te: trailers' --data-binary @<(printf '\x00\x00\x00\x00\x00') \
  "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" | od -An -tx1 | tr -d ' \n')
[ "$health" = 00000000020801 ] || { echo "FAIL: health answered $health" >&2; exit 1; }
out=$("$CONSENTCTL" check visitor-1 refreshToken)
grep -q "refreshToken: allowed .*reason=NECESSARY" <<<"$out" \
  || { echo "FAIL: check answered: $out" >&2; exit 1; }
"$CONSENTCTL" record visitor-1 statistics=true >/dev/null
"$CONSENTCTL" check visitor-1 ia_stats_events | grep -q GRANTED

log "stopping the container (SIGTERM)"
podman stop -t 30 "$NAME" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || { echo "FAIL: exit code $code" >&2; podman logs "$NAME" >&2; exit 1; }
podman logs "$NAME" 2>&1 | grep -q '"msg":"consentd stopped"' \
  || { echo "FAIL: no clean stop in the log" >&2; podman logs "$NAME" >&2; exit 1; }
echo "container: built, answered health and CheckCookie, stopped cleanly (exit 0)"
