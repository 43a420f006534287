#!/bin/sh
# Runs the test programs and scripts (all, or those whose name matches a
# PATTERN); each ends with "N passed, M failed".  Prints the total last.
# Exit status: 0 only if nothing failed.
set -u
usage() {
	cat <<'EOF'
usage: sh tests/run.sh [--engine sqlite|postgresql] [PATTERN ...]
Runs the C unit tests (tests/unit/t_*, built by make units) and the
end-to-end scripts (tests/e2e/t*.sh), one line "NAME N passed, M failed"
each and the total "N passed, M failed" last.  With PATTERNs, only the
tests whose name (t_core, t63-mta, ...) contains one of them run:
  sh tests/run.sh t63        sh tests/run.sh mta        sh tests/run.sh t_core
--engine (or CERTSPOOL_TEST_ENGINE) selects the database the tests run
on: sqlite (the default) or postgresql, for which one throwaway cluster
(tests/unit/pg-unit.sh, initdb and pg_ctl on a unix socket in a
temporary directory) is started for the run and stopped at its end;
each test makes its own databases in it.  The total line names the engine.
Logs are in tests/tmp/NAME.log.  make test builds everything and runs all
on both engines, make test-pg on PostgreSQL only.
Exit status: 0 if every test that ran passed; 1 if one failed or no test
matched.
EOF
}
engine=${CERTSPOOL_TEST_ENGINE:-sqlite}
pats=
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--engine) [ $# -gt 1 ] || { usage >&2; exit 1; }; engine=$2; shift ;;
	--engine=*) engine=${1#--engine=} ;;
	-*) usage >&2; exit 1 ;;
	*) pats="$pats $1" ;;
	esac
	shift
done
# shellcheck disable=SC2086
set -- $pats
case $engine in
sqlite|postgresql) ;;
*) echo "run.sh: unknown engine $engine (sqlite or postgresql)" >&2; exit 1 ;;
esac
cd "$(dirname "$0")/.."
export CERTSPOOL_TEST_ENGINE=$engine
if [ "$engine" = postgresql ]; then
	# One cluster for the run, stopped however the run ends.
	pgdir=$(mktemp -d "${TMPDIR:-/tmp}/certspool-pg.XXXXXX")
	chmod 755 "$pgdir"	# the socket, for tests that drop privileges
	trap 'sh tests/unit/pg-unit.sh stop "$pgdir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	CERTSPOOL_PG_URI=$(sh tests/unit/pg-unit.sh start "$pgdir") || {
		echo "run.sh: cannot start a PostgreSQL cluster" \
		    "(log in $pgdir)" >&2
		cat "$pgdir"/*.log >&2 2>/dev/null
		exit 1
	}
	CERTSPOOL_PG_DIR=$pgdir
	export CERTSPOOL_PG_URI CERTSPOOL_PG_DIR
fi
# wanted NAME [PATTERN...]: no pattern given, or NAME contains one.
wanted() {
	[ $# -gt 1 ] || return 0
	w_name=$1
	shift
	for w_pat in "$@"; do
		case $w_name in *"$w_pat"*) return 0 ;; esac
	done
	return 1
}
ran=0
mkdir -p tests/tmp
total_p=0
total_f=0
run() {
	name=$1
	shift
	ran=$((ran + 1))
	out=tests/tmp/$name.log
	"$@" >"$out" 2>&1
	st=$?
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	p=$(echo "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed.*/\1/p')
	[ -n "$p" ] || p=$(echo "$line" | sed -n 's/^\([0-9][0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
	[ -n "$p" ] || p=0
	[ -n "$f" ] || f=0
	if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "$name: exit status $st without a failure count"
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	printf '%-28s %s passed, %s failed\n' "$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		echo "---- $out (last 40 lines)"
		tail -n 40 "$out"
		echo "----"
	fi
}
for t in tests/unit/t_*; do
	case $t in *.c|*.h) continue ;; esac
	[ -x "$t" ] || continue
	wanted "$(basename "$t")" "$@" || continue
	run "$(basename "$t")" "$t"
done
for t in tests/e2e/t*.sh; do
	[ -f "$t" ] || continue
	wanted "$(basename "$t" .sh)" "$@" || continue
	run "$(basename "$t" .sh)" sh "$t"
done
if [ "$ran" -eq 0 ]; then
	echo "run.sh: no test matches: $*" >&2
	exit 1
fi
echo "$total_p passed, $total_f failed ($engine)"
[ "$total_f" -eq 0 ]
