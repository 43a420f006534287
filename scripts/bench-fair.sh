# scripts/bench-fair.sh: the fair-share measurement of scripts/bench.sh
# (sourced by it; uses its setup_dir, add_account, make_batches, say,
# die, discard and settings).
#
# Rounds (--fair-rounds, default 2) of two runs with the same issuing
# CA, alone then with drops (alternating, so that drifting load on the
# machine weighs on both), each a fresh directory with two
# accounts and a running daemon: account bench's one batch of --fair-n
# orders (one recipient each, distinct keys) renamed into inbound/
# alone, timed from the rename to its result.xml; then the same batch
# again, and once its first certificate is issued, --fair-drops one-order
# batches of account small, one after the other (the next GAP s after
# the previous one's result; GAP spreads them over 70% of the first
# run's time), each timed from its rename to its result.xml.  Printed:
# each round's figures; over all rounds, the small batches' p50/p99
# (target p99 <= 2 s), how many got their result while the big batch
# had none yet, and the big batch's mean time and
# certificates/s alone and with the drops (target: less than 5% slower),
# and the daemon's CPU time in each run (its signer's included), which
# other load on the machine moves much less than the clock.

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
	# under time(1): the daemon's CPU, its signer process's included
	/usr/bin/time -f "%U %S" -o "$1/cpu.txt" "$BIN" --config \
	    "$1/certspool.conf" daemon >"$1/daemon.log" 2>&1 &
	tpid=$!
	rc=0
	python3 "$ROOT/scripts/benchdrop.py" fair "$1/spool" "$CACHE" "$2" \
	    "$FAIRN" "$HASH" "$1/stage" "$1/certspool.db" "$3" \
	    >"$1/fair.txt" 2>&1 || rc=$?
	dpid=$(pgrep -P "$tpid" | head -n 1)
	kill -TERM "$dpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	n=$(sqlite3 "$1/certspool.db" "SELECT count(*) FROM certificate WHERE state = 'issued'")
	if [ "$rc" -ne 0 ] || [ "$n" -ne $(( FAIRN + $2 )) ]; then
		say "fair share: the run in $1 failed ($n issued): $(tail -n 3 "$1/fair.txt")"
		return 1
	fi
}

# fair_pair R GAP: round R's two runs (GAP empty: from the run alone).
fair_pair() {
	sfx=""
	[ "$1" -gt 1 ] && sfx="-$1"
	W1=$BD/run-fair-alone$sfx
	W2=$BD/run-fair$sfx
	fair_dir "$W1" "$ca"
	fair_once "$W1" 0 0 || return 1
	alone=$(awk '/^big_secs/ { print $2 }' "$W1/fair.txt")
	gap=${2:-$(awk -v s="$alone" -v d="$FAIRDROPS" \
	    'BEGIN { g = s * 0.7 / d - 1; printf "%.2f", g < 0.1 ? 0.1 : g }')}
	fair_dir "$W2" "$ca"
	fair_once "$W2" "$FAIRDROPS" "$gap" || return 1
	with=$(awk '/^big_secs/ { print $2 }' "$W2/fair.txt")
	c1=$(awk '{ printf "%.1f", $1 + $2 }' "$W1/cpu.txt")
	c2=$(awk '{ printf "%.1f", $1 + $2 }' "$W2/cpu.txt")
	say "round $1: alone $alone s ($c1 s CPU), with $FAIRDROPS drops $gap s apart $with s ($c2 s CPU); $(awk '/^samples/ { printf "p50 %s ms, p99 %s ms", $4, $6 }' "$W2/fair.txt")"
	echo "$alone $with $c1 $c2" >>"$BD/fair-rounds.txt"
	grep '^lat ' "$W2/fair.txt" >>"$BD/fair-lat.txt"
	awk '/^during/ { print $2 }' "$W2/fair.txt" >>"$BD/fair-during.txt"
	[ "$KEEP" = 1 ] || { discard "$W1"; discard "$W2"; }
}

fair_run() {
	ca=$1
	say ""
	say "== fair share: CA $ca, $FAIRROUNDS round(s) of: a $FAIRN-order batch of account bench alone, then with $FAIRDROPS one-order batches of account small"
	: >"$BD/fair-rounds.txt"
	: >"$BD/fair-lat.txt"
	: >"$BD/fair-during.txt"
	r=1
	gap0=""
	while [ "$r" -le "$FAIRROUNDS" ]; do
		fair_pair "$r" "$gap0" || { FAILED=1; return; }
		gap0=$gap
		r=$((r + 1))
	done
	lat=$(sort -n -k2 "$BD/fair-lat.txt" | awk '{ v[++n] = $2 } END {
	    p50 = int((50 * n + 99) / 100); p99 = int((99 * n + 99) / 100)
	    printf "p50 %.1f ms, p99 %.1f ms (max %.1f, min %.1f, %d drops", v[p50], v[p99], v[n], v[1], n }')
	during=$(awk '{ s += $1 } END { print s + 0 }' "$BD/fair-during.txt")
	rates=$(awk -v n="$FAIRN" '{ a += $1; w += $2; c1 += $3; c2 += $4; k++ } END {
	    printf "%.1f s (%.1f certs/s) alone, %.1f s (%.1f certs/s) with the drops: %.1f%% slower",
	    a / k, n * k / a, w / k, n * k / w, (w / a - 1) * 100 }' "$BD/fair-rounds.txt")
	cpu=$(awk '{ c1 += $3; c2 += $4; k++ } END {
	    printf "%.1f s alone, %.1f s with the drops (%+.1f%%)", c1 / k, c2 / k, (c2 / c1 - 1) * 100 }' "$BD/fair-rounds.txt")
	FAIRRES="one-order batches during a $FAIRN-order batch: $lat, $during during it) (target p99 <= 2000 ms); the big batch: $rates (target < 5%); daemon CPU $cpu"
	say "fair share: $FAIRRES"
}
