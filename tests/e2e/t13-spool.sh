#!/bin/sh
# Intake takes no file still being written, and drops nothing in silence
# (README "Spool behaviour"):
#   1. daemon --once: a file a process holds open for writing, unchanged
#      for longer than settle_seconds, is left and stderr names the file,
#      the reason and the holder's pid; a fresh file is "still settling";
#      once closed it is taken.
#   2. the running daemon (poll an hour): a held file is not taken while
#      held, however old its mtime; its close (IN_CLOSE_WRITE) wakes the
#      daemon, which takes it at once.
#   3. an inbound directory with no account: one warning naming it across
#      several passes of a running daemon; counted by `status`.
#   4. refused file names (non-ASCII, control bytes, backslash, no .xml):
#      error.xml file= and its problem, and the log, carry the original
#      name escaped (\xHH); the file system name is badname-<hex>.
#   5. ready = marker: --once says the file waits for its marker.
. "$(dirname "$0")/../lib.sh"
need_tools sqlite3 python3 xmllint
setup
sed -i 's/^settle_seconds = .*/settle_seconds = 2/; s/^ready = .*/ready = settle/' "$T/certspool.conf"
check_eq "config: settle 2" "settle_seconds = 2" "$(grep '^settle_seconds = ' "$T/certspool.conf")"
cs account add acme >/dev/null
IN=$S/inbound/acme
L=$T/daemon.log
HOLDERS=""
DPID=""
stop_all() {
	for p in $HOLDERS $DPID; do
		kill -TERM "$p" 2>/dev/null
	done
	HOLDERS="" DPID=""
}
trap 'stop_all; cleanup' EXIT
trap 'exit 130' INT TERM

# mk ID FILE: a valid batch of account acme with batch id ID.
mk() {
	sed "s/account=\"acme-hr\"/account=\"acme\"/; s/NIGHTLY.2026-11-25_01/$1/" \
	    "$EXAMPLES/multi-order.xml" >"$2"
}
# taken NAME: NAME left inbound/ (claimed, archived or rejected).
taken() {
	test ! -e "$IN/$1"
}
# is_holder PID P: P is PID or a child of it (which shares its descriptors).
is_holder() {
	[ -n "$2" ] && { echo "$1"; pgrep -P "$1"; } | grep -qx "$2"
}
# has TEXT PATTERN: TEXT contains the fixed string PATTERN.
has() {
	printf '%s\n' "$1" | grep -qF -- "$2"
}

# ---- 1. daemon --once ----
mk HELD-1 "$T/h1.xml"
# A writer holds the file open: writes it whole, then sleeps with the
# descriptor open (a paused upload).
( exec 3>>"$IN/held1.xml"; cat "$T/h1.xml" >&3; sleep 12 ) &
H1=$!
HOLDERS="$H1"
check "held file written" wait_until 5 cmp -s "$T/h1.xml" "$IN/held1.xml"
mk FRESH-1 "$T/f1.xml"
sleep 3	# longer than settle_seconds: the held file is old enough
cp "$T/f1.xml" "$IN/fresh1.xml"
cs daemon --once >"$T/once1.out" 2>"$T/once1.err"
check_eq "--once exits 0" 0 "$?"
check "held file not taken" test -f "$IN/held1.xml"
check_eq "held file not in work/archive/rejected" "" \
    "$(ls "$S/work/acme" "$S/archive/acme" "$S/rejected/acme" | grep held1)"
check_eq "nothing of the held batch stored" 0 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'HELD-1'")"
line=$(grep 'acme/held1.xml' "$T/once1.err")
check "stderr names the held file and why" has "$line" "open for writing by pid"
pid=$(echo "$line" | sed -n 's/.*open for writing by pid \([0-9]*\).*/\1/p')
check "the pid named is the writer (or its child)" is_holder "$H1" "$pid"
check "fresh file not taken" test -f "$IN/fresh1.xml"
check "stderr says the fresh file is still settling" grep -q 'acme/fresh1.xml: still settling' "$T/once1.err"
# The writer closes: both are taken now (the fresh one has settled).
kill "$H1" 2>/dev/null
pkill -P "$H1" sleep 2>/dev/null
wait "$H1" 2>/dev/null
HOLDERS=""
sleep 2.2
cs daemon --once >"$T/once2.out" 2>"$T/once2.err"
check "after close: the held file is taken" test -f "$S/archive/acme/held1.xml"
check "after close: archived copy complete" cmp -s "$T/h1.xml" "$S/archive/acme/held1.xml"
check "settled fresh file taken" test -f "$S/archive/acme/fresh1.xml"
check_eq "one batch row for HELD-1" 1 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'HELD-1'")"
check_eq "nothing left, nothing said left" "" "$(grep 'left in inbound' "$T/once2.err")"

# ---- 2. the running daemon: IN_CLOSE_WRITE wakes it ----
sed -i 's/^poll_seconds = .*/poll_seconds = 3600/' "$T/certspool.conf"
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
DPID=$!
check "daemon started" wait_until 10 grep -q "daemon started" "$L"
mk HELD-2 "$T/h2.xml"
# Held 8 s (4 x settle_seconds), then closed; the writer then lives on.
( exec 3>>"$IN/held2.xml"; cat "$T/h2.xml" >&3; sleep 8; exec 3>&-; touch "$T/closed2"; sleep 30 ) &
H2=$!
HOLDERS="$H2"
early=""
end=$(($(date +%s) + 7))
while [ "$(date +%s)" -lt "$end" ] && [ ! -e "$T/closed2" ]; do
	ls "$S/work/acme" "$S/archive/acme" "$S/rejected/acme" | grep -q held2 && early=taken
	sleep 0.2
done
check_eq "held file not taken while held (8 s, settle 2 s)" "" "$early"
check "held file still in inbound while held" test -f "$IN/held2.xml"
check "writer closed it" wait_until 5 test -e "$T/closed2"
t0=$(date +%s.%N)
check "taken at once after close (poll is an hour)" wait_until 3 test -f "$S/archive/acme/held2.xml"
t1=$(date +%s.%N)
echo "held2 taken $(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1") s after close"
check "archived copy complete" cmp -s "$T/h2.xml" "$S/archive/acme/held2.xml"
check_eq "one batch row for HELD-2" 1 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'HELD-2'")"
check "its result appears" wait_until 10 test -f "$S/outbound/acme/HELD-2.1.result.xml"
kill "$H2" 2>/dev/null
pkill -P "$H2" sleep 2>/dev/null
HOLDERS=""

# ---- 3. an inbound directory without an account ----
mkdir "$S/inbound/ghost"
mk GHOST-1 "$T/g.xml"
cp "$T/g.xml" "$S/inbound/ghost/g.xml"
# Several passes: each drop below wakes one.
for i in 1 2 3; do
	mk "WAKE-$i" "$T/w$i.xml"
	drop acme "$T/w$i.xml"
	check "pass $i ran" wait_until 10 test -f "$S/archive/acme/w$i.xml"
done
check_eq "one warning naming inbound/ghost across passes" 1 "$(grep -c 'warning: inbound/ghost: no account' "$L")"
check "its batch not read" test -f "$S/inbound/ghost/g.xml"
check_eq "nothing of it stored" 0 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'GHOST-1'")"
cs status >"$T/status.out" 2>&1
check_eq "status counts it" "inbound directories without an account: 1 (ghost)" \
    "$(grep '^inbound directories without an account' "$T/status.out")"

# ---- 4. refused names, escaped ----
n1=$(printf 'caf\351 \033[1m\\x.xml')
n2=$(printf 'new\nline.xml')
n3="report.csv"
for n in "$n1" "$n2" "$n3"; do
	printf 'junk' >"$IN/.up.part" && mv "$IN/.up.part" "$IN/$n"
done
check "refused names taken" wait_until 10 sh -c "test -z \"\$(ls -A '$IN')\""
R=$S/rejected/acme
check_eq "three reports under generated names" 3 "$(ls "$R" | grep -c '^badname-[0-9a-f]*\.error\.xml$')"
python3 - "$R" >"$T/reports.txt" <<'EOF'
import glob, sys
import xml.etree.ElementTree as ET
ns = "{urn:certspool:result:1}"
for f in sorted(glob.glob(sys.argv[1] + "/badname-*.error.xml")):
    e = ET.parse(f).getroot()
    probs = [p.text for p in e.findall(ns + "problem")]
    print("%s\t%s\t%s" % (f.rsplit("/", 1)[1], e.get("file"), " | ".join(probs)))
EOF
check "reports parse" test -s "$T/reports.txt"
for esc in 'caf\xe9 \x1b[1m\x5cx.xml' 'new\x0aline.xml' 'report.csv'; do
	row=$(grep -F "	$esc	" "$T/reports.txt")
	check "error.xml file= is the escaped original ($esc)" test -n "$row"
	base=$(echo "$row" | cut -f1)
	prob=$(printf '%s\n' "$row" | cut -f3)
	check "its problem names it escaped ($esc)" has "$prob" "the file name \"$esc\" is not"
	check "its problem names the generated name ($esc)" has "$prob" "claimed as ${base%.error.xml}"
	check "the input sits beside its report ($esc)" test -f "$R/${base%.error.xml}"
	check "the log carries the escaped original ($esc)" grep -qF "uploaded as \"$esc\"" "$L"
done
check_eq "no raw control or non-ASCII byte in the log" 0 \
    "$(LC_ALL=C grep -c "$(printf '[\033\351]')" "$L")"

kill -TERM "$DPID"
wait "$DPID"
check_eq "daemon: clean exit" 0 "$?"
DPID=""

# ---- 5. marker mode ----
sed -i 's/^ready = .*/ready = marker/' "$T/certspool.conf"
mk MARK-1 "$T/mk.xml"
cp "$T/mk.xml" "$IN/mk.xml"
cs daemon --once 2>"$T/once3.err"
check "marker mode: not taken" test -f "$IN/mk.xml"
check "stderr says it waits for its marker" grep -q 'acme/mk.xml: waiting for its marker' "$T/once3.err"
check "--once also warns about ghost (once per run)" test "$(grep -c 'inbound/ghost' "$T/once3.err")" -eq 1
finish
