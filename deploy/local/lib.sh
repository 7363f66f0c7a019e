# Shared by deploy/local/up.sh and tests/run.sh: install what is missing,
# build, and run a throwaway PostgreSQL. Source it; it defines functions only.

# Debian 12 packages needed to build consentd and run it with PostgreSQL.
CONSENTD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libabsl-dev prometheus-cpp-dev libspdlog-dev libssl-dev openssl
  libgtest-dev libgmock-dev
  postgresql
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the packages of CONSENTD_PACKAGES (and any passed as arguments)
# that are not installed yet. Needs root when something is missing.
install_packages() {
  local missing=() p
  for p in "${CONSENTD_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR TYPE [cmake args...]: configures (once) and builds with -j2.
build() {
  local dir=$1 type=$2; shift 2
  log "building ($type) in $dir"
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$CONSENTD_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  fi
  cmake --build "$dir" -j 2
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  local port
  while true; do
    port=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# Runs a command as the owner of the PostgreSQL data (postgres when root:
# PostgreSQL refuses to run as root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR: initializes a cluster in DIR (owned by postgres when root)
# and starts it on a free loopback port. Sets PG_PORT and PG_URL (a URL for
# the database "postgres"; create others with pg_createdb).
pg_start() {
  local dir=$1 bin
  bin=$(pg_bindir)
  [ -n "$bin" ] || { echo "error: PostgreSQL server binaries not found" >&2; return 1; }
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  PG_PORT=$(free_port)
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300" \
    start >/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  export PG_PORT PG_URL
}

# pg_stop DIR: stops the cluster started by pg_start DIR (fast shutdown).
pg_stop() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_pg "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_createdb NAME: creates a database on the running cluster.
pg_createdb() {
  psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$1\" ENCODING 'UTF8'" >/dev/null
}
