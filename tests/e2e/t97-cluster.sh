#!/bin/bash
# Several daemons on one PostgreSQL database and one spool (README
# "Several daemons"):
# - the cluster torture, short (scripts/torture-cluster.sh: three
#   daemons, 240 orders over 3 accounts, one node SIGKILLed and started
#   again, one SIGSTOPped past a 3 s lease and continued; every order
#   issued once, serials unique, archives and results complete and
#   agreeing, one debit per certificate, CRL numbers increasing);
# - a node stopped in the middle of a batch past its lease: its account
#   is taken over by the other node, which issues the batch; continued,
#   the stopped node's commit is refused (lease lost) and nothing is
#   issued, charged, archived or mailed twice;
# - while both nodes run, certspool status lists them (one on duty, the
#   account held by one) and each node's metrics file says the same;
# - SQLite: a second daemon on the same spool is refused with a clear
#   message.
# Ends with "N passed, M failed".
. "$(dirname "$0")/../lib.sh"
need_tools psql bsdtar xmllint openssl python3 cc promtool

# ---------------------------------------------------------------- torture
out=$(bash "$ROOT/scripts/torture-cluster.sh" --orders 240 --accounts 3 \
    --batch 40 --kills 2 --pauses 1 --lease 3 --timeout 100 2>&1)
echo "$out" | grep -E '^(FAIL|torture-cluster|plan|run|work directory)'
line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
case $line in
*" passed, "*" failed")
	pass=$((pass + ${line%% passed*}))
	f=${line#*passed, }
	fail=$((fail + ${f%% failed}))
	;;
*) bail "torture-cluster.sh ended without its summary: $line" ;;
esac

# ---------------------------------------------------------------- SQLite
L=$T/lite
mkdir -p "$L"
"$BIN" init "$L" >/dev/null || bail "init (SQLite)"
sed -i -e 's/^settle_seconds = .*/settle_seconds = 0/' "$L/certspool.conf"
"$BIN" --config "$L/certspool.conf" daemon >"$L/first.log" 2>&1 &
first=$!
wait_until 20 grep -q 'daemon started' "$L/first.log"
check "SQLite: the first daemon runs" kill -0 "$first"
"$BIN" --config "$L/certspool.conf" daemon >"$L/second.log" 2>&1
check_eq "SQLite: a second daemon on the spool exits 1" 1 "$?"
check "SQLite: it says why" grep -q 'another certspool daemon is running on this spool' "$L/second.log"
"$BIN" --config "$L/certspool.conf" daemon --once >"$L/third.log" 2>&1
check_eq "SQLite: daemon --once beside it exits 1 too" 1 "$?"
kill -TERM "$first"
wait "$first"
check_eq "SQLite: the first daemon stops with 0" 0 "$?"

# ---------------------------------------------------------------- fencing
PGDIR=$T/pg
A= B=
stop_all() {
	for p in $A $B; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
	sh "$ROOT/tests/unit/pg-unit.sh" stop "$PGDIR" >/dev/null 2>&1
	cleanup
}
trap stop_all EXIT
chmod 755 "$T"	# the server runs as postgres when the test is root
URI=$(sh "$ROOT/tests/unit/pg-unit.sh" start "$PGDIR") || bail "PostgreSQL did not start"
"$BIN" init "$T" --database "$URI" >/dev/null || bail "init --database"
S=$T/spool
sed -i -e 's/^settle_seconds = .*/settle_seconds = 0/' \
    -e 's/^poll_seconds = .*/poll_seconds = 1/' \
    -e 's/^lease_seconds = .*/lease_seconds = 3/' \
    -e 's/^metrics_interval_seconds = .*/metrics_interval_seconds = 0/' \
    "$T/certspool.conf"
# Each node its own metrics file (two daemons on one host): B's config
# differs from A's in that only.
sed 's/^metrics_file = .*/metrics_file = b.prom/' "$T/certspool.conf" >"$T/b.conf"
sed -i 's/^metrics_file = .*/metrics_file = a.prom/' "$T/certspool.conf"
psql_() { psql -X -q -At -F '|' "$URI" -c "$1"; }
cs account add acme --balance 100000000 >/dev/null
check "organization and domain validated" validated_org acme "Acme Corp" acme.example
N=300
orders_batch acme FENCE $N "Acme Corp" acme.example || bail "batch not made"

"$BIN" --config "$T/certspool.conf" daemon >"$T/a.log" 2>&1 &
A=$!
wait_until 20 grep -q 'holds 1 account' "$T/a.log"
check "node A holds the account" grep -q 'holds 1 account' "$T/a.log"
drop acme "$T/FENCE.xml"
# Stopped as soon as it has signed something: in the middle of the batch.
wait_until 60 is 1 psql_ "SELECT least(count(*), 1) FROM certificate"
kill -STOP "$A"
c0=$(psql_ "SELECT count(*) FROM certificate WHERE der IS NOT NULL")
p0=$(psql_ "SELECT count(*) FROM pass WHERE state = 'written'")
echo "node A stopped with $c0 of $N certificates signed, $p0 results written"
check "node A stopped in the middle of the batch" test "$p0" -eq 0
"$BIN" --config "$T/b.conf" daemon >"$T/b.log" 2>&1 &
B=$!
check "node B takes the account once A's lease ran out" \
    wait_until 30 grep -q 'holds 1 account' "$T/b.log"
check "node B issues the whole batch" wait_until 90 is "$N" \
    psql_ "SELECT count(*) FROM orders WHERE state = 'issued'"
check "node B writes its result" wait_until 30 is 1 \
    psql_ "SELECT count(*) FROM pass WHERE state = 'written'"
kill -CONT "$A"
check "node A, continued, finds its lease lost" wait_until 20 grep -q 'lease lost' "$T/a.log"
sleep 3
check "node A joins again as a new node" wait_until 10 grep -q 'node [0-9]* (.*): joined' "$T/a.log"
echo "node A: $(grep -c 'transaction is rolled back' "$T/a.log") commits refused"

# Both nodes live: status and the metrics show them.
nodes_ok() {	# two live nodes, one on duty, the one account held once
	cs status >"$T/status.out" 2>&1 &&
	    [ "$(grep -c '^node [0-9]* [^ ]*:[0-9]* since ' "$T/status.out")" = 2 ] &&
	    [ "$(grep -c '^node .*, on duty$' "$T/status.out")" = 1 ] &&
	    [ "$(sed -n 's/^node .*: \([0-9]*\) accounts\{0,1\}, lease [0-9]* s.*/\1/p' "$T/status.out" |
	    awk '{ s += $1 } END { print s }')" = 1 ]
}
check "status lists two live nodes, one on duty, one account held" \
    wait_until 20 nodes_ok
cat "$T/status.out" | grep '^node '
check_eq "the nodes status lists are A's and B's" \
    "$(printf '%s\n' "$A" "$B" | sort -n | tr '\n' ' ')" \
    "$(sed -n 's/^node [0-9]* [^ ]*:\([0-9]*\) since .*/\1/p' "$T/status.out" | sort -n | tr '\n' ' ')"
prom_ok() {	# both files: 2 nodes; duty and accounts add up to 1
	grep -qx 'certspool_nodes 2' "$T/a.prom" && grep -qx 'certspool_nodes 2' "$T/b.prom" &&
	    [ "$(cat "$T/a.prom" "$T/b.prom" | sed -n 's/^certspool_node_on_duty //p' | awk '{ s += $1 } END { print s }')" = 1 ] &&
	    [ "$(cat "$T/a.prom" "$T/b.prom" | sed -n 's/^certspool_node_accounts //p' | awk '{ s += $1 } END { print s }')" = 1 ]
}
check "metrics: each node sees 2 nodes; one on duty, one account held" \
    wait_until 20 prom_ok
check "promtool accepts node A's metrics" sh -c "promtool check metrics <'$T/a.prom'"
check "promtool accepts node B's metrics" sh -c "promtool check metrics <'$T/b.prom'"
for p in $A $B; do kill -TERM "$p"; done
wait "$A"; check_eq "node A stops with 0" 0 "$?"
wait "$B"; check_eq "node B stops with 0" 0 "$?"
A= B=
check_eq "certificates" "$N" "$(psql_ "SELECT count(*) FROM certificate")"
check_eq "recipients with one certificate" "$N" \
    "$(psql_ "SELECT count(DISTINCT recipient_id) FROM certificate")"
check_eq "distinct serials" "$N" "$(psql_ "SELECT count(DISTINCT serial) FROM certificate")"
check_eq "debits" "$N" "$(psql_ "SELECT count(*) FROM ledger WHERE kind = 'debit'")"
check_eq "balance" "$((100000000 - N * 3900))" "$(psql_ "SELECT balance FROM account WHERE name = 'acme'")"
check_eq "passes written" 1 "$(psql_ "SELECT count(*) FROM pass")"
check_eq "results in outbound" "FENCE.1.result.xml" "$(ls "$S/outbound/acme" | grep result)"
check_eq "archives in outbound" "FENCE.1.tar.gz" "$(ls "$S/outbound/acme" | grep tar.gz)"
check_eq "temporaries in outbound" "" "$(ls -A "$S/outbound/acme" | grep '^\.')"
check_eq "orders issued in the result" "$N" \
    "$(xmllint --xpath 'count(//*[local-name()="order"][@state="issued"])' "$S/outbound/acme/FENCE.1.result.xml" 2>/dev/null)"
check_eq "cert.pem in the archive, each recipient once" "$N $N" \
    "$(bsdtar -tf "$S/outbound/acme/FENCE.1.tar.gz" | grep '/cert.pem$' | wc -l) $(bsdtar -tf "$S/outbound/acme/FENCE.1.tar.gz" | grep '/cert.pem$' | sort -u | wc -l)"
check_eq "certificate messages" "$N" "$(ls "$S/mail" | grep -c '^cert-')"
check_eq "nodes holding an account after the stops" 0 \
    "$(psql_ "SELECT count(*) FROM account WHERE lease_node IS NOT NULL")"
finish
