#!/bin/sh
# pg-unit.sh: a throwaway PostgreSQL 15 cluster for the unit tests that
# need one (t_dbpg).  It listens on a unix socket only, in DIR/sock.
#   sh tests/unit/pg-unit.sh start DIR   prints the URI of database certspool
#   sh tests/unit/pg-unit.sh stop DIR    stops it and removes DIR
#   sh tests/unit/pg-unit.sh run DIR CMD...
#                 start, run CMD with CERTSPOOL_PG_URI set, stop: CMD's status
#   sh tests/unit/pg-unit.sh createdb DIR NAME   a new database NAME in the
#                 running cluster of DIR; prints its URI
#   sh tests/unit/pg-unit.sh dropdb DIR NAME     drops it (sessions ended)
# PG_UNIT_OPTS, if set, is added to the server's options at start (after
# the defaults, so it can override them), e.g.
#   PG_UNIT_OPTS="-c shared_preload_libraries=pg_stat_statements"
# The server refuses to run as root: as root it runs as user postgres.
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: pg-unit.sh start|stop DIR | run DIR CMD... |" \
	    "createdb|dropdb DIR NAME" >&2
	exit 2
}

if [ "$(id -u)" = 0 ]; then
	as() { runuser -u postgres -- "$@"; }
	user=postgres
else
	as() { "$@"; }
	user=$(id -un)
fi

case $cmd in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	mkdir -p "$dir/sock"
	[ "$(id -u)" = 0 ] && chown -R postgres "$dir"
	as "$PGBIN/initdb" -D "$dir/data" -U "$user" -A trust \
	    >"$dir/initdb.log" 2>&1
	as "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	    -o "-k $dir/sock -c listen_addresses='' -c fsync=off${PG_UNIT_OPTS:+ $PG_UNIT_OPTS}" start \
	    >/dev/null
	as "$PGBIN/createdb" -h "$dir/sock" -U "$user" certspool
	echo "postgresql:///certspool?host=$dir/sock&user=$user"
	;;
run)
	shift 2
	uri=$(sh "$0" start "$dir")
	trap 'sh "$0" stop "$dir"' EXIT INT TERM
	rc=0
	CERTSPOOL_PG_URI=$uri "$@" || rc=$?
	exit $rc
	;;
createdb|dropdb)
	name=${3:-}
	case $name in
	''|*[!a-z0-9_]*)
		echo "pg-unit.sh: $cmd: NAME must be [a-z0-9_]+" >&2
		exit 2
		;;
	esac
	dir=$(cd "$dir" && pwd)
	if [ "$cmd" = createdb ]; then
		as "$PGBIN/createdb" -h "$dir/sock" -U "$user" "$name"
		echo "postgresql:///$name?host=$dir/sock&user=$user"
	else
		as "$PGBIN/dropdb" -h "$dir/sock" -U "$user" --force \
		    --if-exists "$name"
	fi
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	rm -rf "$dir"
	;;
*)
	echo "pg-unit.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
