#!/bin/sh
# Card payments (SPEC 3.7) through the demo processor
# (scripts/demo-card-processor, configured by tests/lib.sh): a token is
# authorized at approval and captured after issuance; a declined card is
# refused; an order refused after its authorization gets it released; a
# processor that is missing or down makes the order wait; a card number
# given as reference is refused and never reaches the database, its WAL
# or the log; a crash after the processor answered never authorizes or
# captures twice (the processor is idempotent by reference).
. "$(dirname "$0")/../lib.sh"
setup
sed -i 's/^log_level = .*/log_level = debug/' "$T/certspool.conf"
OB=$S/outbound/acme
CL=$T/card-ledger.json
cs account add acme >/dev/null
ORG="Acme Corp"
validated_org acme "$ORG" acme.example >/dev/null

order() {
	echo "<order id=\"$1\"><product>secure_email_organization</product><organization>$ORG</organization>"
	echo "<validity>$3</validity>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email><csr>$(csr ec:P-256 "$2")</csr></recipient>"
	echo "$4<agreement accepted=\"true\"/></order>"
}
batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		cat
		echo '</batch>'
	} >"$T/$1.xml"
}
oval() {
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/@$3)"
}
card() {
	echo "<payment method=\"card\" ref=\"$1\"/>"
}
# pj EXPR: a Python expression over the processor's ledger L
pj() {
	python3 -c "import json; L = json.load(open('$CL')); print($1)"
}
crash() {
	dead_nodes_wait
	CERTSPOOL_CRASH_AT=$1 "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
	check_eq "killed at $1" 137 "$?"
}

# ---- authorized at approval, captured at issuance; declined refused ----
{
	order P1 p1@acme.example "<years>1</years>" "$(card tok_visa_4242a)"
	order P2 p2@acme.example "<years>2</years>" "$(card tok_decline_0002)"
	order P3 p3@acme.example "<years>1</years>" '<payment method="card"/>'
} | batch C1
drop acme "$T/C1.xml"
run_once
R=$OB/C1.1.result.xml
check_eq "card order issued" issued "$(oval "$R" P1 state)"
check_eq "card order charged its price" 3900 "$(oval "$R" P1 charged)"
check_eq "paid by card" card "$(oval "$R" P1 payment)"
auth=$(sql "SELECT ref FROM ledger WHERE kind = 'card_authorize'")
check "authorization recorded with the processor's id" test -n "$auth"
check_eq "captured under the same authorization" "$auth" "$(sql "SELECT detail FROM ledger WHERE kind = 'card_capture'")"
check_eq "capture amount" -3900 "$(sql "SELECT amount FROM ledger WHERE kind = 'card_capture'")"
check_eq "processor: authorization captured" "captured 3900" "$(pj "L['authorizations']['$auth']['status'], L['authorizations']['$auth']['captured']")"
check_eq "declined card: order refused" card_declined "$(oval "$R" P2 reason)"
check_eq "declined card: nothing authorized" 1 "$(sql "SELECT count(*) FROM ledger WHERE kind = 'card_authorize'")"
check_eq "card without token refused" card_token_missing "$(oval "$R" P3 reason)"
check_eq "only the token is stored" "tok_visa_4242a" "$(sql "SELECT o.pay_ref FROM orders o WHERE o.ext_id = 'P1'")"

# ---- refused after authorization: released ----
# Killed right after approval (authorized); when the daemon comes back a
# day later the one-day coverage is over and the signer refuses it.
order Q1 q1@acme.example "<days>1</days>" "$(card tok_mc_5555b)" | batch C2
drop acme "$T/C2.xml"
crash after_eval_commit
qauth=$(sql "SELECT l.ref FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'Q1' AND l.kind = 'card_authorize'")
check "authorized before the crash" test -n "$qauth"
dead_nodes_wait
CERTSPOOL_NOW=+$((2 * 86400)) "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
R=$OB/C2.1.result.xml
check_eq "refused at signing" rejected "$(oval "$R" Q1 state)"
check_eq "for its coverage" validity_in_past \
    "$(xval "$R" 'string(//*[local-name()="recipient"][@email="q1@acme.example"]/@reason)')"
check_eq "authorization released" "$qauth|3900" "$(sql "SELECT detail || '|' || amount FROM ledger WHERE kind = 'card_release'")"
check_eq "nothing captured for it" 0 "$(oval "$R" Q1 charged)"
check_eq "processor: released" released "$(pj "L['authorizations']['$qauth']['status']")"

# ---- processor missing, then down: the order waits ----
sed -i 's/^card_processor_command = .*/card_processor_command = ""/' "$T/certspool.conf"
order W1 w1@acme.example "<years>1</years>" "$(card tok_amex_0005)" | batch C3
drop acme "$T/C3.xml"
run_once
R=$OB/C3.1.result.xml
check_eq "no processor configured: waiting_funds" waiting_funds "$(oval "$R" W1 state)"
check "says why" grep -q "no card processor is configured" "$R"
sed -i "s|^card_processor_command = .*|card_processor_command = \"$ROOT/scripts/demo-card-processor $CL\"|" "$T/certspool.conf"
run_once
check_eq "processor configured: issued" issued "$(oval "$OB/C3.2.result.xml" W1 state)"
order U1 u1@acme.example "<years>1</years>" "$(card tok_unavailable_01)" | batch C4
drop acme "$T/C4.xml"
run_once
R=$OB/C4.1.result.xml
check_eq "processor down: waiting_funds" waiting_funds "$(oval "$R" U1 state)"
check "retried later, says so" grep -q "retried in the next pass" "$R"
check_eq "nothing recorded for it" 0 "$(sql "SELECT count(*) FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'U1'")"

# ---- a card number is refused and never stored or logged ----
{
	order N1 n1@acme.example "<years>1</years>" "$(card '4111 1111 1111 1111')"
	order N2 n2@acme.example "<years>1</years>" "$(card 5555-5555-5555-4444)"
	order N3 n3@acme.example "<years>1</years>" '<payment method="contract" ref="378282246310005"/>'
	order N4 n4@acme.example "<years>1</years>" "$(card tok_4111111111111112)"
	ORG="Not Validated Inc"
	order N5 n5@acme.example "<years>1</years>" "$(card '6011 1111 1111 1117')"
	ORG="Acme Corp"
} | batch C5
drop acme "$T/C5.xml"
run_once
R=$OB/C5.1.result.xml
for o in N1 N2 N3 N5; do
	check_eq "$o: card number refused" card_number_not_allowed "$(oval "$R" $o reason)"
done
check_eq "a token with digits that fail Luhn is a token" issued "$(oval "$R" N4 state)"
check_eq "refused at once, before the organization is looked at" "" "$(oval "$R" N5 payment)"
check_eq "no reference stored for them" 4 "$(sql "SELECT count(*) FROM orders WHERE card_flag = 1 AND pay_ref IS NULL")"
for f in "$T"/certspool.db "$T"/certspool.db-wal "$T/daemon.log" "$R" "$CL"; do
	[ -f "$f" ] || continue
	for pan in 4111111111111111 '4111 1111 1111 1111' 5555555555554444 5555-5555-5555-4444 378282246310005 6011111111111117 '6011 1111 1111 1117'; do
		check "$(basename "$f") never holds $pan" sh -c "! grep -aq -- '$pan' '$f'"
	done
done

# ---- a crash after the processor answered: once ----
order K1 k1@acme.example "<years>1</years>" "$(card tok_visa_crash1)" | batch C6
drop acme "$T/C6.xml"
crash before_eval_commit
check_eq "authorized, but not recorded (rolled back)" 0 "$(sql "SELECT count(*) FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'K1'")"
run_once
kauth=$(sql "SELECT l.ref FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'K1' AND l.kind = 'card_authorize'")
kref=$(pj "[r for r, a in L['answers'].items() if a.get('id') == '$kauth'][0]")
check_eq "the retry asked again" 2 "$(pj "L['calls']['$kref']")"
check_eq "and got the same authorization: one at the processor" 1 "$(pj "len([a for a in L['authorizations'].values() if a['order'] == 'K1'])")"
check_eq "one authorization row" 1 "$(sql "SELECT count(*) FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'K1' AND l.kind = 'card_authorize'")"
check_eq "K1 issued" issued "$(oval "$OB/C6.1.result.xml" K1 state)"
order K2 k2@acme.example "<years>1</years>" "$(card tok_visa_crash2)" | batch C7
drop acme "$T/C7.xml"
crash after_card_capture
k2auth=$(sql "SELECT l.ref FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'K2' AND l.kind = 'card_authorize'")
check_eq "captured at the processor, not yet recorded" "captured|0" \
    "$(pj "L['authorizations']['$k2auth']['status']")|$(sql "SELECT count(*) FROM ledger WHERE kind = 'card_capture' AND detail = '$k2auth'")"
run_once
check_eq "capture recorded once after the restart" 1 "$(sql "SELECT count(*) FROM ledger WHERE kind = 'card_capture' AND detail = '$k2auth'")"
k2rid=$(sql "SELECT recipient_id FROM ledger WHERE kind = 'card_capture' AND detail = '$k2auth'")
check_eq "the processor was asked twice, captured once" "2 3900" \
    "$(pj "[n for r, n in L['calls'].items() if r.endswith('-capture-$k2rid-0')][0], L['authorizations']['$k2auth']['captured']")"
check_eq "every capture is of a distinct authorization" 0 \
    "$(sql "SELECT count(*) FROM (SELECT detail FROM ledger WHERE kind = 'card_capture' GROUP BY detail HAVING count(*) > 1) x")"
check_eq "captures + releases never exceed authorizations" 0 \
    "$(sql "SELECT count(*) FROM ledger a WHERE a.kind = 'card_authorize' AND (SELECT count(*) FROM ledger x WHERE x.recipient_id = a.recipient_id AND x.round = a.round AND x.kind IN ('card_capture', 'card_release')) > 1")"
check_eq "balance untouched by card payments" 0 "$(sql "SELECT balance FROM account WHERE name = 'acme'")"
finish
