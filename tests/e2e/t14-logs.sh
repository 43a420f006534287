#!/bin/sh
# Log lines: every stderr line of a daemon run has an RFC 3339 UTC time,
# a level, and the account/file/batch context on the lines about a
# batch; a 2,000-order pass logs done/total progress and never goes 6 s
# without a line; SIGHUP with a broken config during that busy pass is
# logged at once (naming the file and the problem) and the old config
# stays in force; log = syslog sends the same lines (without the time)
# to syslog_socket; a syslog socket that cannot be connected stops the
# start with one line on stderr and exit 1, and on SIGHUP keeps the old
# config.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null 2>&1 || bail "python3 missing"
setup
cs account add acme --contract C-1 --units 100000 --balance 100000000 \
    >/dev/null || bail "account add"
validated_org acme "Acme Corp" acme.example >/dev/null || bail "validated org"
rm -f "$S"/mail/*.eml
# One signing thread: the pass lasts long enough to be caught busy.
sed -i -e 's/^poll_seconds = .*/poll_seconds = 3600/' \
    -e 's/^workers = .*/workers = 1/' "$T/certspool.conf"
cp "$T/certspool.conf" "$T/good.conf"
L=$T/daemon.log
: >"$L"

# ---- 2,000 orders, each with a key of its own -------------------------
N=2000
orders_batch acme BIG-1 "$N" "Acme Corp" acme.example || bail "orders_batch"
mv "$T/BIG-1.xml" "$T/big.xml"
check_eq "batch has $N orders" "$N" "$(grep -c '<order ' "$T/big.xml")"

dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon 2>>"$L" &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; cleanup' EXIT
wait_until 10 grep -q "daemon started" "$L" || bail "daemon did not start"
drop acme "$T/big.xml"
# Busy: the batch was taken and its result is not written yet.
wait_until 60 grep -q "big.xml: accepted" "$L" || bail "batch not accepted"
echo "bogus_key = 1" >>"$T/certspool.conf"
busy=0
grep -q "BIG-1.1.result.xml written" "$L" || busy=1
kill -HUP "$dpid"
check "SIGHUP during the pass: error logged" \
    wait_until 10 grep -q "SIGHUP: keeping the old config: $T/certspool.conf:[0-9]*: unknown key \"bogus_key\"" "$L"
wait_until 120 test -f "$S/outbound/acme/BIG-1.1.result.xml" ||
    bail "no result for the 2,000-order batch"
check_eq "all $N issued" "$N" \
    "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")"
check "daemon still running after the broken config" kill -0 "$dpid"

# Every line: time, level; the lines of the pass parsed and timed.
python3 - "$L" "$busy" >"$T/lines.txt" <<'EOF'
import re, sys, datetime
path, busy = sys.argv[1], sys.argv[2] == "1"
line_re = re.compile(r'^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z certspool: '
    r'(error|warning|info|debug): (.*)$')
bad, times, rows = 0, [], []
for raw in open(path, "rb").read().split(b"\n")[:-1]:
    m = line_re.match(raw.decode("utf-8", "replace"))
    if not m:
        bad += 1
        print("unparsed:", raw[:200])
        continue
    try:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        bad += 1
        print("bad time:", m.group(1))
        continue
    rows.append((t, m.group(2), m.group(3)))
print("lines", len(rows))
print("unparsed", bad)
# The pass: from the intake of big.xml to its result.
start = next(i for i, r in enumerate(rows) if "big.xml: accepted" in r[2])
end = next(i for i, r in enumerate(rows) if "BIG-1.1.result.xml written" in r[2])
gap = max((rows[i + 1][0] - rows[i][0]).total_seconds() for i in range(start, end))
print("maxgap_ok", 1 if gap <= 6.0 else 0, gap)
prog = [r for r in rows[start:end + 1] if re.match(r'^[a-z]+: \d+/\d+ [a-z]+', r[2])]
print("progress", len(prog))
for r in prog:
    print("progline", r[2])
ok = all(" account=acme " in r[2] + " " and " batch=BIG-1" in r[2]
    for r in (rows[start], rows[end]))
print("ctx_ok", 1 if ok and " file=big.xml " in rows[start][2] + " " else 0)
hup = [r for r in rows if "SIGHUP: keeping the old config" in r[2]]
print("hup_before_end", 1 if hup and (not busy or hup[0][0] <= rows[end][0]) else 0)
print("hup_level", hup[0][1] if hup else "none")
EOF
check_eq "every line parsed (time, level)" "unparsed 0" "$(grep '^unparsed' "$T/lines.txt")"
check "many lines" grep -q '^lines [1-9]' "$T/lines.txt"
check "lines during the pass at most 6 s apart" grep -q '^maxgap_ok 1' "$T/lines.txt"
check "done/total progress line during the pass" grep -q '^progress [1-9]' "$T/lines.txt"
# A signing run ends with one line when it signed 1,000 or more or logged
# progress on the way (a short one stays quiet); the evaluation may approve
# the batch in parts, each signed by a run of its own: the end lines are
# "K/K certificates done" and count at most N in all.
grep '^progline signing: ' "$T/lines.txt" >"$T/signing.txt"
sed -n 's|^progline signing: \([0-9]*\)/\1 certificates done in .*|\1|p' \
    "$T/signing.txt" >"$T/signed.txt"
check "signing end lines count at most $N in all" \
    awk -v n="$N" '{ s += $1 } END { exit !(s <= n) }' "$T/signed.txt"
check_eq "signing lines are progress or end lines" 0 \
    "$(grep -c -v -E '^progline signing: [0-9]+/[0-9]+ certificates( done in [0-9.]+ s, [0-9]+/s| \([0-9]+%\), [0-9]+/s, [0-9.]+ s so far)$' "$T/signing.txt")"
check "accepted and written lines carry account, file, batch" grep -q '^ctx_ok 1' "$T/lines.txt"
check "the SIGHUP error came during the pass, not after it" grep -q '^hup_before_end 1' "$T/lines.txt"
check_eq "the SIGHUP line is an error" "hup_level error" "$(grep '^hup_level' "$T/lines.txt")"
[ "$busy" = 1 ] || echo "note: the pass ended before SIGHUP was sent"

# The old config stays in force: a new batch is still taken.
sed 's/account="acme-hr"/account="acme"/; s/NIGHTLY.2026-11-25_01/AFTER-HUP/' \
    "$EXAMPLES/multi-order.xml" >"$T/m2.xml"
drop acme "$T/m2.xml"
check "old config in force: still taking files" \
    wait_until 20 test -f "$S/archive/acme/m2.xml"

# A reload whose syslog socket is missing is refused too.
cp "$T/good.conf" "$T/certspool.conf"
sed -i -e 's/^log = .*/log = syslog/' \
    -e "s|^syslog_socket = .*|syslog_socket = $T/no-such-socket|" "$T/certspool.conf"
kill -HUP "$dpid"
check "SIGHUP with a missing syslog socket: refused, named" \
    wait_until 10 grep -q "SIGHUP: keeping the old config: $T/certspool.conf: log = syslog: cannot connect to the syslog socket $T/no-such-socket" "$L"
cp "$T/good.conf" "$T/certspool.conf"
kill -HUP "$dpid"
check "good config re-read" wait_until 10 grep -q "config re-read from $T/certspool.conf" "$L"
kill -TERM "$dpid"
wait "$dpid"
check_eq "SIGTERM: exit 0" 0 "$?"

# ---- unopenable log target: no start ----------------------------------
sed -i -e 's/^log = .*/log = syslog/' \
    -e "s|^syslog_socket = .*|syslog_socket = $T/no-such-socket|" "$T/certspool.conf"
sed 's/account="acme-hr"/account="acme"/; s/NIGHTLY.2026-11-25_01/NOT-TAKEN/' \
    "$EXAMPLES/multi-order.xml" >"$T/m3.xml"
drop acme "$T/m3.xml"
for mode in "--once" ""; do
	dead_nodes_wait
	"$BIN" --config "$T/certspool.conf" daemon $mode >"$T/start.out" 2>"$T/start.err"
	check_eq "missing syslog socket, daemon $mode: exit 1" 1 "$?"
	check_eq "daemon $mode: one line on stderr" 1 "$(wc -l <"$T/start.err")"
	check "daemon $mode: the line names the config, the socket and the refusal" \
	    grep -Eq "^[0-9T:.-]+Z certspool: error: $T/certspool.conf: log = syslog: cannot connect to the syslog socket $T/no-such-socket: No such file or directory; not starting$" "$T/start.err"
done
check "nothing taken while refusing to start" test -f "$S/inbound/acme/m3.xml"

# ---- syslog: the same lines, over the socket ------------------------------
sed -i "s|^syslog_socket = .*|syslog_socket = $T/log.sock|" "$T/certspool.conf"
python3 - "$T/log.sock" "$T/syslog.txt" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "wb") as f:
    try:
        while True:
            d = s.recv(65536)
            f.write(d + b"\n")
            f.flush()
            if b"NOT-TAKEN.1.result.xml written" in d:
                s.settimeout(2)  # the lines after it, to the exit
    except socket.timeout:
        pass
EOF
lpid=$!
wait_until 10 test -S "$T/log.sock" || bail "syslog listener"
cs daemon --once >"$T/once.out" 2>"$T/once.err"
check_eq "syslog run: exit 0" 0 "$?"
wait "$lpid"
check_eq "syslog run: nothing on stderr" "" "$(cat "$T/once.err")"
check "syslog: accepted line with priority, pid, level and context" \
    grep -Eq '^<30>certspool\[[0-9]+\]: info: acme/m3.xml: accepted \(.*\) account=acme file=m3.xml batch=NOT-TAKEN$' "$T/syslog.txt"
check "syslog: result line" \
    grep -Eq '^<30>certspool\[[0-9]+\]: info: acme/NOT-TAKEN.1.result.xml written.* account=acme batch=NOT-TAKEN$' "$T/syslog.txt"
check_not "syslog: no time of our own in the message" \
    grep -Eq '^<[0-9]+>certspool\[[0-9]+\]: [0-9]{4}-' "$T/syslog.txt"
finish
