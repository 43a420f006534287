# scripts/bench-fair.sh: the fair-share measurement of scripts/bench.sh
# (sourced by it; uses its setup_dir, add_account, make_batches, say,
# die, discard and settings).
#
# Two runs with the same issuing CA, each a fresh directory with two
# accounts and a running daemon: account bench's one batch of --fair-n
# orders (one recipient each, distinct keys) renamed into inbound/
# alone, timed from the rename to its result.xml; then the same batch
# again, and once its first certificate is issued, --fair-drops one-order
# batches of account small, one after the other (the next GAP s after
# the previous one's result; GAP spreads them over 70% of the first
# run's time), each timed from its rename to its result.xml.  Printed:
# the small batches' p50/p99 (target p99 <= 2 s), how many got their
# result while the big batch had none yet, and the big batch's time and
# certificates/s alone and with the drops (target: less than 5% slower).

FAIRRES=""

# fair_dir DIR CA: accounts bench and small, the big batch in DIR/stage.
fair_dir() {
	setup_dir "$1" "$2"
	add_account small "Small Corp" small.example
	perfile=$PERFILE
	PERFILE=$FAIRN
	make_batches "$1/stage" "$FAIRN" 0 FAIRBIG || die "cannot make batches"
	PERFILE=$perfile
	big=$(wc -c <"$1/stage/FAIRBIG-001.xml")
	if [ "$big" -gt 67108864 ]; then
		sed -i "s/^max_batch_bytes = .*/max_batch_bytes = $big/" \
		    "$1/certspool.conf"
	fi
	sync
}

# fair_once DIR DROPS GAP: a running daemon, benchdrop.py fair; its
# output in DIR/fair.txt.  Returns non-zero if the run did not finish.
fair_once() {
	"$BIN" --config "$1/certspool.conf" daemon >"$1/daemon.log" 2>&1 &
	dpid=$!
	rc=0
	python3 "$ROOT/scripts/benchdrop.py" fair "$1/spool" "$CACHE" "$2" \
	    "$FAIRN" "$HASH" "$1/stage" "$1/certspool.db" "$3" \
	    >"$1/fair.txt" 2>&1 || rc=$?
	kill -TERM "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	n=$(sqlite3 "$1/certspool.db" "SELECT count(*) FROM certificate WHERE state = 'issued'")
	if [ "$rc" -ne 0 ] || [ "$n" -ne $(( FAIRN + $2 )) ]; then
		say "fair share: the run in $1 failed ($n issued): $(tail -n 3 "$1/fair.txt")"
		return 1
	fi
}

fair_run() {
	say ""
	say "== fair share: CA $1, a $FAIRN-order batch of account bench alone, then with $FAIRDROPS one-order batches of account small"
	W1=$BD/run-fair-alone
	W2=$BD/run-fair
	fair_dir "$W1" "$1"
	fair_once "$W1" 0 0 || { FAILED=1; return; }
	alone=$(awk '/^big_secs/ { print $2 }' "$W1/fair.txt")
	gap=$(awk -v s="$alone" -v d="$FAIRDROPS" \
	    'BEGIN { g = s * 0.7 / d - 1; printf "%.2f", g < 0.1 ? 0.1 : g }')
	say "alone: $alone s; the drops come $gap s apart"
	fair_dir "$W2" "$1"
	fair_once "$W2" "$FAIRDROPS" "$gap" || { FAILED=1; return; }
	with=$(awk '/^big_secs/ { print $2 }' "$W2/fair.txt")
	lat=$(awk '/^samples/ { printf "p50 %s ms, p99 %s ms (max %s, min %s, %s drops", $4, $6, $8, $10, $2 }' "$W2/fair.txt")
	during=$(awk '/^during/ { print $2 }' "$W2/fair.txt")
	rates=$(awk -v n="$FAIRN" -v a="$alone" -v w="$with" 'BEGIN {
	    printf "%.1f s (%.1f certs/s) alone, %.1f s (%.1f certs/s) with the drops: %.1f%% slower",
	    a, n / a, w, n / w, (w / a - 1) * 100 }')
	FAIRRES="one-order batches during a $FAIRN-order batch: $lat, $during during it) (target p99 <= 2000 ms); the big batch: $rates (target < 5%)"
	say "fair share: $FAIRRES"
	[ "$KEEP" = 1 ] || { discard "$W1"; discard "$W2"; }
}
