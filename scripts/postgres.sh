# Sourced by scripts that need a PostgreSQL server: `start_postgres` starts a throwaway cluster on
# 127.0.0.1 (owned by the postgres user when run as root), exports SCIMITAR_TEST_PG_URL, and removes
# the cluster when the sourcing script exits. Needs Debian's postgresql package.
start_postgres() {
  local pg_bin pg_port
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PG_DIR=$(mktemp -d /tmp/scimitar-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  AS_PG=()
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$PG_DIR"
    AS_PG=(runuser -u postgres --)
  fi
  PG_BIN=$pg_bin
  trap stop_postgres EXIT
  "${AS_PG[@]}" "$pg_bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
  "${AS_PG[@]}" "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -c max_connections=200" start >/dev/null
  export SCIMITAR_TEST_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
}

stop_postgres() {
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
