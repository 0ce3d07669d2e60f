#!/usr/bin/env bash
# Run a command with a scratch PostgreSQL server, so the labeling store is tested on PostgreSQL as well as SQLite.
# Installs Debian's postgresql when missing; if no server can be started the command still runs and the
# PostgreSQL cases are skipped (they say why).
set -uo pipefail
PG_PORT=${PG_PORT:-55432}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] && [ "$(id -u)" = "0" ]; then
  echo "with-postgres: installing postgresql with apt-get"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) \
    >/dev/null 2>&1
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
run_as=()
if [ "$(id -u)" = "0" ]; then run_as=(runuser -u postgres --); fi
data=$(mktemp -d /tmp/studio-pg-XXXXXX)
started=0
if [ -n "$bindir" ]; then
  [ "$(id -u)" = "0" ] && chown postgres "$data"
  if "${run_as[@]}" "$bindir/initdb" -D "$data/db" -A trust >/dev/null 2>&1 \
     && "${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -o "-p $PG_PORT -k $data -c listen_addresses=''" \
          -l "$data/db/server.log" -w start >/dev/null 2>&1 \
     && "${run_as[@]}" "$bindir/createdb" -h "$data" -p "$PG_PORT" studio_test >/dev/null 2>&1; then
    started=1
    export STUDIO_TEST_DATABASE_URL="postgresql+psycopg://postgres@/studio_test?host=$data&port=$PG_PORT"
  fi
fi
[ "$started" = "1" ] || echo "with-postgres: no PostgreSQL server; its test cases will be skipped"
"$@"
status=$?
if [ "$started" = "1" ]; then "${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -m fast stop >/dev/null 2>&1; fi
rm -rf "$data"
exit $status
