#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine: installs the missing Debian
# packages, builds (warnings are errors), starts a throwaway PostgreSQL as the
# postgres user, runs the whole suite through ctest, and stops PostgreSQL.
# Exits non-zero if anything fails.
#
#   tests/run.sh                 everything
#   tests/run.sh -L unit         only a label (unit, integration, e2e)
#   tests/run.sh -R Seed         any other ctest arguments
#
# BUILD_DIR (default build/test) selects the build tree. Only when run
# without arguments: before the suite, the fuzz targets run under
# ASan/LSan/UBSan for FUZZ_SECONDS each (default 15; 0 skips them, see
# tests/fuzz/run.sh); after it, the container image is built and run with
# podman (tests/e2e/container_test.sh; CONTAINER_TEST=0 skips it).
set -euo pipefail
CONSENTD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$CONSENTD_ROOT/deploy/local/lib.sh"
BUILD_DIR=${BUILD_DIR:-$CONSENTD_ROOT/build/test}

# Besides the build: a real Prometheus for the scrape test, curl, and the
# tools that validate the deploy files.
install_packages prometheus curl yamllint
build "$BUILD_DIR" Debug -DCONSENTD_WERROR=ON

PG_DIR=$(mktemp -d /tmp/consentd-test-pg.XXXXXX)
trap 'pg_stop "$PG_DIR"; rm -rf "$PG_DIR"' EXIT
log "starting PostgreSQL in $PG_DIR"
pg_start "$PG_DIR"
export CONSENTD_TEST_POSTGRES="host=127.0.0.1 port=$PG_PORT user=postgres"
# The fault suite runs PostgreSQL clusters of its own.
CONSENTD_PG_BINDIR=$(pg_bindir)
export CONSENTD_PG_BINDIR

# The fuzz targets first (only when run without arguments): the suite that
# follows shows the server-facing behaviour still holds after them, and
# replays the seed corpus and every saved crash (tests/fuzz/regressions,
# where a finding is copied). A finding fails the run, after the suite.
fuzz_rc=0
if [ "${FUZZ_SECONDS:-15}" != 0 ] && [ $# -eq 0 ]; then
  "$CONSENTD_ROOT/tests/fuzz/run.sh" "${FUZZ_SECONDS:-15}" || fuzz_rc=$?
fi

log "running tests"
ctest_rc=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 300 "$@" || ctest_rc=$?
[ "$ctest_rc" = 0 ] || exit "$ctest_rc"

if [ "${CONTAINER_TEST:-1}" != 0 ] && [ $# -eq 0 ]; then
  log "building and running the container image"
  "$CONSENTD_ROOT/tests/e2e/container_test.sh" "$BUILD_DIR/server/consentctl" "$CONSENTD_ROOT"
fi

if [ "$fuzz_rc" != 0 ]; then
  echo "error: the fuzz run found a crash, leak or undefined behaviour (see above; the input is in tests/fuzz/regressions)" >&2
  exit "$fuzz_rc"
fi
