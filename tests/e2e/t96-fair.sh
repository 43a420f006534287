#!/bin/sh
# Fair share between accounts: while the daemon works through account
# acme's 8,000-order batch (one signing thread), account beta's
# one-order batches, dropped one after the other, each get their result
# while acme's batch is still unfinished -- during its evaluation and
# during its signing; acme's batch still ends with one result listing
# all 8,000 certificates, each order issued once.  Without the slices
# and the round-robin, beta's result waits for the end of acme's batch.
# The time it takes is measured by make bench (scripts/bench-fair.sh),
# not here.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null 2>&1 || bail "python3 missing"
setup
for a in acme:"Acme Corp":acme.example beta:"Beta Ltd":beta.example; do
	acct=${a%%:*} rest=${a#*:}
	cs account add "$acct" --contract "C-$acct" --units 100000 \
	    --balance 100000000 >/dev/null || bail "account add $acct"
	validated_org "$acct" "${rest%%:*}" "${rest#*:}" >/dev/null ||
	    bail "validated org $acct"
done
sed -i -e 's/^poll_seconds = .*/poll_seconds = 3600/' \
    -e 's/^workers = .*/workers = 1/' "$T/certspool.conf"
N=8000
orders_batch acme BIG "$N" "Acme Corp" acme.example || bail "orders_batch"
for k in 1 2 3; do
	orders_batch beta "SMALL-$k" 1 "Beta Ltd" beta.example ||
	    bail "orders_batch small"
done
L=$T/daemon.log
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon 2>>"$L" &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; cleanup' EXIT
wait_until 10 grep -q "daemon started" "$L" || bail "daemon did not start"

# acme's certificates issued so far, and its orders not yet evaluated.
acme_issued() {
	sql "SELECT count(*) FROM certificate c JOIN recipient r ON
	    r.id = c.recipient_id WHERE r.account_id =
	    (SELECT id FROM account WHERE name = 'acme')"
}
acme_new() {
	sql "SELECT count(*) FROM orders WHERE state = 'new' AND account_id =
	    (SELECT id FROM account WHERE name = 'acme')"
}
drop acme "$T/BIG.xml"
wait_until 60 grep -q "BIG.xml: accepted" "$L" || bail "big batch not accepted"
for k in 1 2 3; do
	drop beta "$T/SMALL-$k.xml"
	check "beta's batch $k: result" \
	    wait_until 120 test -f "$S/outbound/beta/SMALL-$k.1.result.xml"
	issued=$(acme_issued) new=$(acme_new)
	echo "drop $k: acme issued $issued of $N, $new orders not evaluated"
	check "beta's batch $k: result while acme's batch is unfinished" \
	    test ! -f "$S/outbound/acme/BIG.1.result.xml"
	check "beta's batch $k: acme's certificates not all issued yet" \
	    test "$issued" -lt "$N"
	[ "$k" = 1 ] && new1=$new
	[ "$k" = 3 ] && issued3=$issued
	check_eq "beta's batch $k: its order issued" 1 \
	    "$(xval "$S/outbound/beta/SMALL-$k.1.result.xml" \
	    'count(//*[local-name()="recipient"][@state="issued"])')"
done
# The first small batch overtook acme's evaluation, the last its signing.
check "beta's first batch done during acme's evaluation" test "$new1" -gt 0
check "beta's last batch done during acme's signing" test "$issued3" -gt 0

check "acme's batch: result" \
    wait_until 300 test -f "$S/outbound/acme/BIG.1.result.xml"
check_eq "acme's batch: $N certificates in its one result" "$N" \
    "$(xval "$S/outbound/acme/BIG.1.result.xml" \
    'count(//*[local-name()="recipient"][@state="issued"])')"
check "acme's batch: no second result" \
    test ! -e "$S/outbound/acme/BIG.2.result.xml"
check_eq "every order issued once" "$((N + 3))|$((N + 3))" \
    "$(sql "SELECT count(*), count(DISTINCT recipient_id) FROM certificate
    WHERE state = 'issued'")"
check_eq "every serial its own" "$((N + 3))" \
    "$(sql "SELECT count(DISTINCT serial) FROM certificate")"
check_not "no pass left incomplete" grep -q "pass incomplete" "$L"
kill -TERM "$dpid"
wait "$dpid"
check_eq "SIGTERM: exit 0" 0 "$?"
finish
