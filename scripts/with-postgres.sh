#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server for the tests (Debian's postgresql, installed if missing).
# Exports SHENGGU_TEST_DATABASE_URL; when no server can be started the tests print that they skip PostgreSQL.
set -uo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

PGBIN=$(pg_bin)
if [ -z "$PGBIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian postgresql for the storage tests..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 || true
  PGBIN=$(pg_bin)
fi

if [ -n "$PGBIN" ]; then
  PGDIR=$(mktemp -d /tmp/shenggu-pg.XXXXXX)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  AS=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PGDIR" 2>/dev/null && AS=(runuser -u postgres --)
  fi
  if "${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U shenggu >"$PGDIR/initdb.log" 2>&1 &&
     "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
       -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1; then
    export SHENGGU_TEST_DATABASE_URL="postgresql+psycopg://shenggu@127.0.0.1:$PORT/postgres"
    trap '"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1; rm -rf "$PGDIR"' EXIT
    echo "PostgreSQL test server on port $PORT" >&2
  else
    echo "could not start PostgreSQL (see $PGDIR): its tests will be skipped" >&2
  fi
else
  echo "PostgreSQL is not installed: its tests will be skipped" >&2
fi

"$@"
