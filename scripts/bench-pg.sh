# scripts/bench-pg.sh: the PostgreSQL runs of scripts/bench.sh
# (--engine postgresql; sourced by it; uses its setup_dir, add_account,
# make_batches, csr_cache, say, die, discard and settings).
#
# One throwaway PostgreSQL 15 cluster for the invocation
# (tests/unit/pg-unit.sh in a fresh /tmp/certspool-benchpg.*, on a unix
# socket (the server runs as user postgres when root runs this), with
# pg_stat_statements preloaded and fsync on, as a real server has it),
# stopped at the end, also on failure.  For each N and each daemon count
# D of --daemons: a fresh database and certspool directory (init
# --database), --pg-accounts accounts (default: 2, or the largest D if
# more; the same for every D, so that the runs do the same work) with
# the N orders split among them, D running daemons on the one spool; once
# they hold every account between them, the batch files (already in
# inbound/ as .part) are renamed in, and the run lasts until every
# batch's result.xml exists.  Measured between two snapshots (after the
# accounts were shared; after the daemons were stopped and their
# sessions ended, so that their statistics are flushed), on the run's
# database only (the snapshots are read from database postgres):
#   certs/s              N over the time from the renames to the last
#                        result.xml (certificates counted in the database)
#   transactions/cert    pg_stat_database xact_commit + xact_rollback
#   statements/cert      pg_stat_statements calls (track_utility on:
#                        BEGIN/COMMIT count; also printed without them);
#                        the run's top statements in DIR/statements.txt
#   server CPU/cert      utime + stime of the postmaster and every
#                        process under it, reaped ones included (its
#                        cutime + cstime), from /proc
#   daemon CPU/cert      the same for the daemons and their signer
#                        processes, from the first snapshot until just
#                        before they are stopped
# and from these: one server core's capacity (1 / server CPU per
# certificate, if the server were bound by CPU alone); the node cores one
# server core keeps up with (daemon CPU / server CPU per certificate:
# other load hardly moves it); and the capacity over the run's certs/s
# per daemon, the nodes like these one server core could feed.  Ends
# with a markdown table.

PGRES=$BD/pg-results.$$
PGDIR=""
PGDAEMONS=""

# pgq DB SQL: one query on the bench's cluster, unaligned, no header.
pgq() {
	PGOPTIONS="-c client_min_messages=warning" \
	    psql -X -A -t -q -h "$PGSOCK" -U "$PGUSER" -d "$1" -v ON_ERROR_STOP=1 \
	    -c "$2"
}

pg_cleanup() {
	for p in $PGDAEMONS; do
		kill -KILL "$p" 2>/dev/null || true
	done
	PGDAEMONS=""
	if [ -n "$PGDIR" ]; then
		sh "$ROOT/tests/unit/pg-unit.sh" stop "$PGDIR" >/dev/null 2>&1 || true
		PGDIR=""
	fi
}

pg_start() {
	command -v psql >/dev/null 2>&1 || die "psql is missing (postgresql-client)"
	# its own directory under /tmp: the server's user must reach it
	PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/certspool-benchpg.XXXXXX") ||
	    die "mktemp failed"
	uri=$(PG_UNIT_OPTS="-c shared_preload_libraries=pg_stat_statements -c fsync=on -c pg_stat_statements.track_utility=on" \
	    sh "$ROOT/tests/unit/pg-unit.sh" start "$PGDIR") ||
	    die "cannot start PostgreSQL (see $PGDIR/server.log)"
	PGSOCK=$PGDIR/sock
	PGUSER=${uri##*user=}
	pgq postgres "CREATE EXTENSION pg_stat_statements" >/dev/null ||
	    die "pg_stat_statements is not available"
	say "PostgreSQL: $(pgq postgres "SHOW server_version") in $PGDIR (fsync $(pgq postgres "SHOW fsync"), shared_buffers $(pgq postgres "SHOW shared_buffers"))"
}

# tree_cpu PID...: CPU seconds (user + system, reaped children
# included) of the processes and all their descendants, from /proc.
TREE_CPU='
import os, sys
hz = os.sysconf("SC_CLK_TCK")
kids, ticks = {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    ticks[int(p)] = sum(int(x) for x in f[11:15])
    kids.setdefault(int(f[1]), []).append(int(p))
pending, seen, tot = [int(a) for a in sys.argv[1:]], set(), 0
while pending:
    p = pending.pop()
    if p in seen or p not in ticks:
        continue
    seen.add(p)
    tot += ticks[p]
    pending += kids.get(p, [])
print("%.2f" % (tot / float(hz)))
'
tree_cpu() { python3 -c "$TREE_CPU" "$@"; }
server_cpu() { tree_cpu "$(head -n 1 "$PGDIR/data/postmaster.pid")"; }

# pg_snap DB FILE: transactions, statements, transaction control
# statements and server CPU into FILE; per-statement calls into
# FILE.stmts (queryid calls query).
pg_snap() {
	pgq postgres "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = '$1'" |
	    tr '|' ' ' >"$2"
	pgq postgres "SELECT coalesce(sum(calls), 0),
	      coalesce(sum(calls) FILTER (WHERE query ~* '^\\s*(BEGIN|COMMIT|ROLLBACK|START|SAVEPOINT|RELEASE|END)'), 0)
	    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
	    WHERE d.datname = '$1'" | tr '|' ' ' >>"$2"
	server_cpu >>"$2"
	pgq postgres "SELECT s.queryid, s.calls, regexp_replace(s.query, '\\s+', ' ', 'g')
	    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
	    WHERE d.datname = '$1'" >"$2.stmts"
}

# pg_batches W N A: the N orders split among accounts bench, bench2, ...
# (A of them), in W/stage/ACCOUNT/; distinct CSRs throughout.
pg_batches() {
	k=1 first=0
	while [ "$k" -le "$3" ]; do
		cnt=$(( $2 / $3 ))
		[ "$k" -eq "$3" ] && cnt=$(( $2 - first ))
		acct=bench
		[ "$k" -gt 1 ] && acct=bench$k
		make_batches "$1/stage/$acct" "$cnt" "$first" "B$k" ||
		    die "cannot make batches"
		if [ "$k" -gt 1 ]; then
			sed -i -e "s/ account=\"bench\"/ account=\"$acct\"/" \
			    -e "s/@bench\\.example/@$acct.example/g" "$1/stage/$acct"/*.xml
		fi
		first=$(( first + cnt ))
		k=$(( k + 1 ))
	done
}

# pg_run CA N D: one run; appends a line to $PGRES.
pg_run() {
	ca=$1 n=$2 d=$3
	db=bench_${ca}_${n}_${d}d
	W=$BD/run-pg-$ca-$n-${d}d
	say ""
	say "== run: postgresql, $d daemon(s), CA $ca, CSR $KEY, N $n in $PGACCOUNTS accounts"
	pgq postgres "DROP DATABASE IF EXISTS $db" >/dev/null
	pgq postgres "CREATE DATABASE $db" >/dev/null || die "cannot create database $db"
	DBURI="postgresql:///$db?host=$PGSOCK&user=$PGUSER"
	setup_dir "$W" "$ca"
	k=2
	while [ "$k" -le "$PGACCOUNTS" ]; do
		add_account "bench$k" "Bench Corp" "bench$k.example"
		k=$(( k + 1 ))
	done
	DBURI=""
	pg_batches "$W" "$n" "$PGACCOUNTS"
	nfiles=0
	for f in "$W"/stage/*/*.xml; do
		acct=$(basename "$(dirname "$f")")
		mkdir -p "$W/spool/inbound/$acct"
		mv "$f" "$W/spool/inbound/$acct/$(basename "$f").part"
		nfiles=$(( nfiles + 1 ))
	done
	big=$(ls -l "$W"/spool/inbound/*/*.part | awk '$5 > m { m = $5 } END { print m + 0 }')
	[ "$big" -gt 67108864 ] &&
	    sed -i "s/^max_batch_bytes = .*/max_batch_bytes = $big/" "$W/certspool.conf"
	sync
	i=1
	PGDAEMONS=""
	while [ "$i" -le "$d" ]; do
		"$BIN" --config "$W/certspool.conf" daemon >"$W/daemon-$i.log" 2>&1 &
		PGDAEMONS="$PGDAEMONS $!"
		i=$(( i + 1 ))
	done
	# every account held, by min(D, accounts) nodes
	want=$d
	[ "$want" -gt "$PGACCOUNTS" ] && want=$PGACCOUNTS
	shared=0
	for _ in $(seq 1 300); do
		s=$(pgq "$db" "SELECT count(DISTINCT lease_node) || ' ' || count(*) FILTER (WHERE lease_node IS NULL) FROM account" 2>/dev/null || echo "0 1")
		[ "$s" = "$want 0" ] && { shared=1; break; }
		sleep 0.2
	done
	[ "$shared" = 1 ] || die "the daemons did not share the accounts in 60 s (last: $s); see $W/daemon-*.log"
	sleep 2		# idle: their statistics flushed
	pg_snap "$db" "$W/snap0"
	# shellcheck disable=SC2086
	dcpu0=$(tree_cpu $PGDAEMONS)
	load0=$(cut -d' ' -f1 /proc/loadavg)
	# shellcheck disable=SC2086
	secs=$(python3 - "$W/spool" $(( 60 + n / 5 )) $PGDAEMONS <<-'EOF'
	import os, sys, time
	spool, limit, pids = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
	inb = os.path.join(spool, "inbound")
	parts, want = [], []
	for a in sorted(os.listdir(inb)):
	    for f in sorted(os.listdir(os.path.join(inb, a))):
	        if f.endswith(".xml.part"):
	            parts.append(os.path.join(inb, a, f))
	            want.append(os.path.join(spool, "outbound", a,
	                                     f[:-len(".xml.part")] + ".1.result.xml"))
	t0 = time.monotonic()
	for p in parts:
	    os.rename(p, p[:-len(".part")])
	for w in want:
	    while not os.path.exists(w):
	        if time.monotonic() - t0 > limit:
	            sys.exit("timeout (%.0f s) waiting for %s" % (limit, w))
	        if not any(os.path.exists("/proc/" + p) for p in pids):
	            sys.exit("no daemon left, waiting for " + w)
	        time.sleep(0.02)
	print("%.3f" % (time.monotonic() - t0))
	EOF
	) || secs=""
	load1=$(cut -d' ' -f1 /proc/loadavg)
	# shellcheck disable=SC2086
	dcpu1=$(tree_cpu $PGDAEMONS)
	for p in $PGDAEMONS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PGDAEMONS; do
		for _ in $(seq 1 300); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PGDAEMONS=""
	for _ in $(seq 1 100); do
		[ "$(pgq postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'")" = 0 ] && break
		sleep 0.1
	done
	sleep 0.5
	pg_snap "$db" "$W/snap1"
	issued=$(pgq "$db" "SELECT count(*) FROM certificate WHERE state = 'issued'")
	results=$(ls "$W"/spool/outbound/*/*.result.xml 2>/dev/null | wc -l)
	if [ -z "$secs" ] || [ "$issued" -ne "$n" ]; then
		say "bench: postgresql run $ca/$n/$d issued $issued of $n; see $W/daemon-*.log"
		FAILED=1
		return 0
	fi
	# shellcheck disable=SC2046
	set -- $(cat "$W/snap0") $(cat "$W/snap1")
	# $1 commits $2 rollbacks $3 calls $4 control $5 cpu, then $6..$10
	xc=$(( $6 - $1 )) xr=$(( $7 - $2 )) calls=$(( $8 - $3 )) ctl=$(( $9 - $4 ))
	scpu=$(awk -v a="$5" -v b="${10}" 'BEGIN { printf "%.2f", b - a }')
	dcpu=$(awk -v a="$dcpu0" -v b="$dcpu1" 'BEGIN { printf "%.2f", b - a }')
	cps=$(awk -v n="$issued" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
	xpc=$(awk -v x="$(( xc + xr ))" -v n="$n" 'BEGIN { printf "%.2f", x / n }')
	spc=$(awk -v x="$calls" -v n="$n" 'BEGIN { printf "%.2f", x / n }')
	sxpc=$(awk -v x="$(( calls - ctl ))" -v n="$n" 'BEGIN { printf "%.2f", x / n }')
	scpc=$(awk -v x="$scpu" -v n="$n" 'BEGIN { printf "%.0f", x * 1e6 / n }')
	dcpc=$(awk -v x="$dcpu" -v n="$n" 'BEGIN { printf "%.0f", x * 1e6 / n }')
	# one server core's certificates/s if CPU were all it needed, and
	# the nodes of this run's rate per daemon it could feed
	cap=$(awk -v c="$scpc" 'BEGIN { printf "%.1f", (c > 0 ? 1e6 / c : 0) }')
	ncores=$(awk -v d="$dcpc" -v c="$scpc" 'BEGIN { printf "%.2f", (c > 0 ? d / c : 0) }')
	feed=$(awk -v c="$cap" -v r="$cps" -v d="$d" 'BEGIN { printf "%.1f", (r > 0 ? c / (r / d) : 0) }')
	# the run's statements by calls per certificate
	awk -v n="$n" 'FNR == NR { split($0, f, "|"); was[f[1]] = f[2]; next }
	    { i = index($0, "|"); id = substr($0, 1, i - 1); r = substr($0, i + 1)
	      j = index(r, "|"); c = substr(r, 1, j - 1) - was[id]
	      if (c > 0) printf "%8.3f %s\n", c / n, substr(r, j + 1) }' \
	    "$W/snap0.stmts" "$W/snap1.stmts" | sort -rn >"$W/statements.txt"
	taken=$(for i in $(seq 1 "$d"); do grep -c ': accepted (' "$W/daemon-$i.log" || true; done | paste -sd' ' -)
	say "batch files: $nfiles, result.xml files: $results, taken per daemon: $taken"
	say "issued: $issued/$n (counted in the database)"
	say "elapsed: $secs s (from the renames to the last result.xml)"
	say "load average (1 min) before/after: $load0/$load1 (other work on the machine skews timings)"
	say "certs/s: $cps"
	say "transactions per certificate: $xpc ($xc commits + $xr rollbacks)"
	say "statements per certificate: $spc ($calls calls; $sxpc without BEGIN/COMMIT/ROLLBACK/SAVEPOINT)"
	say "server CPU per certificate: $scpc us ($scpu s of the postgres processes)"
	say "daemon CPU per certificate: $dcpc us ($dcpu s of $d daemon(s) and their signers)"
	say "server core capacity: $cap certs/s (1 / server CPU per certificate)"
	say "node cores per server core: $ncores (daemon CPU / server CPU per certificate)"
	say "nodes per server core: $feed (server core capacity / this run's certs/s per daemon)"
	say "top statements (calls per certificate), all in $W/statements.txt:"
	head -n 8 "$W/statements.txt" | cut -c1-150 | sed 's/^/  /'
	printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$d" "$ca" "$n" "$cps" \
	    "$xpc" "$spc" "$sxpc" "$scpc" "$dcpc" "$cap" "$ncores" "$feed" \
	    "$load0/$load1" >>"$PGRES"
	[ "$KEEP" = 1 ] || discard "$W"
	[ "$KEEP" = 1 ] || pgq postgres "DROP DATABASE $db" >/dev/null || true
}

pg_main() {
	maxn=0
	for n in $NS; do [ "$n" -gt "$maxn" ] && maxn=$n; done
	csr_cache "$maxn"
	: >"$PGRES"
	trap 'pg_cleanup; rm -rf "$TRASH" "$PGRES" "$RESULTS"' EXIT
	trap 'exit 130' HUP INT PIPE TERM
	pg_start
	for ca in $CAS; do
		for n in $NS; do
			for d in $DAEMONS; do
				pg_run "$ca" "$n" "$d"
			done
		done
	done
	pg_cleanup
	say ""
	say "## certspool on PostgreSQL ($(date -u +%Y-%m-%d), $(openssl version | awk '{print $1, $2}'), CSR key $KEY, workers $WORKERS, $PGACCOUNTS accounts, daemons and server on the same machine)"
	say ""
	say "| machine | daemons | issuing CA | N | certs/s | transactions/cert | statements/cert | statements/cert w/o BEGIN/COMMIT | server CPU/cert | daemon CPU/cert | server core capacity | node cores per server core | nodes per server core | load |"
	say "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	sort -t'|' -k2,2 -k3,3n -k1,1n "$PGRES" | while IFS='|' read -r d ca n cps xpc spc sxpc scpc dcpc cap ncores feed load; do
		say "| $MACHINE | $d | $ca | $n | $cps | $xpc | $spc | $sxpc | $scpc us | $dcpc us | $cap certs/s | $ncores | $feed | $load |"
	done
	say ""
	say "server core capacity: 1 / server CPU per certificate (a PostgreSQL bound by CPU alone); node cores per server core: daemon CPU / server CPU per certificate (independent of other load); nodes per server core: the capacity over the run's certs/s per daemon (daemons and server share this machine's cores, so the rate is lower than a node's own)"
	if [ "$FAILED" -ne 0 ]; then
		say "bench: some runs did not complete (see above)"
		exit 1
	fi
}
