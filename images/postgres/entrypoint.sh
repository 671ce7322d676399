#!/bin/bash
# The official postgres image's entry point contract, in short: on first start (PGDATA holds no
# database yet) initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD, scram-sha-256 for
# network clients, then POSTGRES_DB created; then `postgres` runs as PID 1. A PGDATA that does not
# exist yet is made in a side folder and renamed into place when complete, so that a pod killed
# mid-way starts over cleanly.
set -euo pipefail

if [ "${1:0:1}" = "-" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA

fail() { echo "postgres-entrypoint: $*" >&2; exit 1; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || fail "POSTGRES_PASSWORD is empty: the database needs a password for its superuser $POSTGRES_USER"
  # initdb wants a passwd entry for the uid it runs as; an arbitrary uid (as in the chart) gets
  # one through nss_wrapper, in files under /tmp.
  if ! getent passwd "$(id -u)" >/dev/null; then
    wrapper="$(find /usr/lib -name libnss_wrapper.so -print -quit)"
    [ -n "$wrapper" ] || fail "uid $(id -u) has no passwd entry and libnss_wrapper.so is missing"
    NSS_WRAPPER_PASSWD="$(mktemp)"
    NSS_WRAPPER_GROUP="$(mktemp)"
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" >"$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
    export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
  # A new folder is made beside PGDATA and renamed into place; an existing (empty) PGDATA, such as
  # a volume's mount point, is initialized where it is.
  partial="$PGDATA.partial"
  if [ -d "$PGDATA" ]; then
    [ -z "$(ls -A "$PGDATA")" ] || fail "$PGDATA holds files but no database (no PG_VERSION): empty it, or point PGDATA at a new folder"
    partial="$PGDATA"
  fi
  rm -rf "$PGDATA.partial"
  echo "postgres-entrypoint: initializing a new database in $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  initdb --pgdata="$partial" --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  echo "host all all all scram-sha-256" >>"$partial/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # A server on the socket only, for this one statement.
    pg_ctl --pgdata="$partial" --silent --wait -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start
    psql --no-psqlrc --quiet --host=/var/run/postgresql --username="$POSTGRES_USER" --dbname=postgres \
      --set ON_ERROR_STOP=1 --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    pg_ctl --pgdata="$partial" --silent --wait --mode=fast stop
  fi
  unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  [ "$partial" = "$PGDATA" ] || mv "$partial" "$PGDATA"
  echo "postgres-entrypoint: database ready"
fi

exec "$@"
