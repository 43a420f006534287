#!/bin/sh
# Billing (SPEC 3.7): prices from the config in every result, the account
# balance debited at approval (waiting_funds until a deposit, oldest
# order first), contract units (one per certificate-year; unknown and
# ended contracts refused; the contract is the default method), the
# agreement recorded, nothing charged twice for a resubmitted batch, an
# append-only ledger that reconciles with every balance and contract.
. "$(dirname "$0")/../lib.sh"
setup
sed -i 's/^agreement_version = .*/agreement_version = MSA-2026-07/' "$T/certspool.conf"
OB=$S/outbound

# order ID EMAIL VALIDITY PAYMENT-XML [AGREEMENT]: a secure_email_organization
# order of ORG with a fresh P-256 CSR.
order() {
	echo "<order id=\"$1\"><product>secure_email_organization</product><organization>$ORG</organization>"
	echo "<validity>$3</validity>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email><csr>$(csr ec:P-256 "$2")</csr></recipient>"
	echo "$4<agreement accepted=\"${5:-true}\"/></order>"
}
# batch ID ACCOUNT: the orders on stdin as $T/ID.xml
batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"$2\">"
		cat
		echo '</batch>'
	} >"$T/$1.xml"
}
# oval RESULT ORDER ATTR: an attribute of an order in a result
oval() {
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/@$3)"
}
bal() {
	sql "SELECT balance FROM account WHERE name = '$1'"
}
units() {
	sql "SELECT units FROM contract WHERE ref = '$1'"
}
BAL="<payment method=\"balance\"/>"

# ---- balance: empty -> waiting_funds -> deposit -> issued ----
cs account add acme >/dev/null
ORG="Acme Corp"
validated_org acme "$ORG" acme.example >/dev/null
order O1 a1@acme.example "<years>1</years>" "$BAL" | batch B1 acme
drop acme "$T/B1.xml"
run_once
R=$OB/acme/B1.1.result.xml
check_eq "empty balance: order waits for funds" waiting_funds "$(oval "$R" O1 state)"
check_eq "price of one secure_email_organization year" 3900 "$(oval "$R" O1 price)"
check_eq "batch total in the result" 3900 "$(xval "$R" 'string(/*/@total)')"
check_eq "nothing charged yet" 0 "$(xval "$R" 'string(/*/@charged)')"
check "waiting message names the price" grep -q "does not cover the price of 3900 cents" "$R"
check_eq "no debit in the ledger" 0 "$(sql "SELECT count(*) FROM ledger WHERE kind = 'debit'")"
check "deposit" cs account deposit acme 5000
run_once
R=$OB/acme/B1.2.result.xml
check_eq "after the deposit: issued" issued "$(oval "$R" O1 state)"
check_eq "charged the price" 3900 "$(oval "$R" O1 charged)"
check_eq "paid by balance" balance "$(oval "$R" O1 payment)"
check_eq "balance debited once" 1100 "$(bal acme)"
check_eq "one debit row" "1|-3900" "$(sql "SELECT count(*), sum(amount) FROM ledger WHERE kind = 'debit'")"

# ---- waiting orders resume oldest first ----
order O1 a2@acme.example "<years>1</years>" "$BAL" | batch B2 acme
drop acme "$T/B2.xml"
run_once
order O1 a3@acme.example "<years>1</years>" "" | batch B3 acme
drop acme "$T/B3.xml"
run_once
check_eq "B2 waits" waiting_funds "$(oval "$OB/acme/B2.1.result.xml" O1 state)"
check_eq "B3 (no method, no contract: balance) waits" waiting_funds "$(oval "$OB/acme/B3.1.result.xml" O1 state)"
check_eq "B3 pays by balance by default" balance "$(sql "SELECT o.pay_used FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B3'")"
cs account deposit acme 3000 >/dev/null
run_once
check_eq "the older order got the funds" issued "$(oval "$OB/acme/B2.2.result.xml" O1 state)"
check "the younger still waits (no new pass)" test ! -e "$OB/acme/B3.2.result.xml"
check_eq "B3 still waiting_funds" waiting_funds "$(sql "SELECT o.state FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B3'")"
check_eq "balance 1100 + 3000 - 3900" 200 "$(bal acme)"
cs account deposit acme 10000 >/dev/null
run_once
check_eq "B3 issued after the next deposit" issued "$(oval "$OB/acme/B3.2.result.xml" O1 state)"

# ---- agreement ----
cs account deposit acme 10000 >/dev/null
{
	order O1 a4@acme.example "<years>1</years>" "$BAL" false
	order O2 a5@acme.example "<years>3</years>" "$BAL"
} | batch B4 acme
drop acme "$T/B4.xml"
run_once
R=$OB/acme/B4.1.result.xml
check_eq "agreement not accepted: rejected" rejected "$(oval "$R" O1 state)"
check_eq "with its reason" agreement_not_accepted "$(oval "$R" O1 reason)"
check_eq "the refused order shows its price too" 3900 "$(oval "$R" O1 price)"
check_eq "3-year organization price" 9900 "$(oval "$R" O2 price)"
check_eq "B4 total" 13800 "$(xval "$R" 'string(/*/@total)')"
check_eq "B4 charged: the 3-year order" 9900 "$(xval "$R" 'string(/*/@charged)')"
check_eq "refused order charged nothing" 0 "$(oval "$R" O1 charged)"
check_eq "acceptance recorded with version and time" "MSA-2026-07|1" \
    "$(sql "SELECT o.agreement_version || '|' || (CASE WHEN o.agreement_at IS NOT NULL THEN 1 ELSE 0 END) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B4' AND o.ext_id = 'O2'")"
check_eq "no acceptance recorded for the refused order" "" \
    "$(sql "SELECT o.agreement_version FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B4' AND o.ext_id = 'O1'")"
check_eq "acceptance event names the batch" 1 \
    "$(sql "SELECT count(*) FROM event e JOIN batch b ON b.id = e.batch_id WHERE e.kind = 'agreement_accepted' AND b.ext_id = 'B4' AND e.detail = 'MSA-2026-07'")"

# ---- resubmission: never charged twice ----
before=$(bal acme)
rows=$(sql "SELECT count(*) FROM ledger")
cp "$T/B3.xml" "$T/B3-again.xml"
drop acme "$T/B3-again.xml"
drop acme "$T/B2.xml" B2-copy.xml
run_once
check "same batch id resubmitted: rejected" test -f "$S/rejected/acme/B3-again.xml.error.xml"
check "same file resubmitted: rejected" test -f "$S/rejected/acme/B2-copy.xml.error.xml"
check_eq "no new charge after resubmission" "$before|$rows" "$(bal acme)|$(sql "SELECT count(*) FROM ledger")"

# ---- contract ----
cs account add corp --contract K-1 --units 1 --balance 0 >/dev/null
ORG="Corp Inc"
validated_org corp "$ORG" corp.example >/dev/null
check "an ended contract" cs account contract corp OLD-1 --units 5 --ends 2020-01-01
{
	order C1 c1@corp.example "<years>1</years>" '<payment method="contract" ref="K-1"/>'
	order C2 c2@corp.example "<years>1</years>" '<payment method="contract" ref="K-1"/>'
	order C3 c3@corp.example "<years>1</years>" '<payment method="contract" ref="NO-SUCH"/>'
	order C4 c4@corp.example "<years>1</years>" '<payment method="contract" ref="OLD-1"/>'
} | batch K1 corp
drop corp "$T/K1.xml"
run_once
R=$OB/corp/K1.1.result.xml
check_eq "1-unit contract: first order issued" issued "$(oval "$R" C1 state)"
check_eq "second order waits for units" waiting_funds "$(oval "$R" C2 state)"
check_eq "units shown on the order" 1 "$(oval "$R" C1 units)"
check_eq "contract used up" 0 "$(units K-1)"
check_eq "unknown contract refused" contract_unknown "$(oval "$R" C3 reason)"
check_eq "ended contract refused" contract_ended "$(oval "$R" C4 reason)"
check_eq "no money taken from the balance" 0 "$(bal corp)"
check "units added to K-1" cs account contract corp K-1 --units 10
run_once
R=$OB/corp/K1.2.result.xml
check_eq "second order issued once units arrived" issued "$(oval "$R" C2 state)"
# the contract is the default method; one unit per certificate-year
order D1 d1@corp.example "<years>3</years>" "" | batch K2 corp
drop corp "$T/K2.xml"
run_once
R=$OB/corp/K2.1.result.xml
check_eq "no method + contract in force: contract" contract "$(oval "$R" D1 payment)"
check_eq "3-year certificate: 3 units" 3 "$(oval "$R" D1 units)"
check_eq "units left: 1 + 10 - 1 - 1 - 3" 6 "$(units K-1)"
check "account show: balance" sh -c "'$BIN' --config '$T/certspool.conf' account show corp | grep -q '^balance 0 cents'"
check "account show: contract" sh -c "'$BIN' --config '$T/certspool.conf' account show corp | grep -q '^contract K-1 units 6'"
check "account show: ended contract" sh -c "'$BIN' --config '$T/certspool.conf' account show corp | grep -q '^contract OLD-1 units 5 ended'"
check "account show: ledger rows" sh -c "'$BIN' --config '$T/certspool.conf' account show corp | grep -q 'unit_debit  *-3 K2'"

# ---- the ledger: append-only, unique charges, reconciled ----
check_not "ledger rows cannot change" sql "UPDATE ledger SET amount = 0"
check_not "ledger rows cannot be deleted" sql "DELETE FROM ledger"
check_not "a second debit of one recipient and round is refused" \
    sql "INSERT INTO ledger (at, account_id, kind, amount, recipient_id, round) SELECT at, account_id, kind, amount, recipient_id, round FROM ledger WHERE kind = 'debit' LIMIT 1"
check_eq "every balance = its deposits - debits + refunds" 0 \
    "$(sql "SELECT count(*) FROM account a WHERE a.balance != (SELECT COALESCE(sum(amount), 0) FROM ledger l WHERE l.account_id = a.id AND l.kind IN ('deposit', 'debit', 'refund'))")"
check_eq "every contract = its unit credits - unit debits" 0 \
    "$(sql "SELECT count(*) FROM contract c WHERE c.units != (SELECT COALESCE(sum(amount), 0) FROM ledger l WHERE l.contract_id = c.id AND l.kind IN ('unit_credit', 'unit_debit'))")"
check_eq "acme: 28000 deposited, 3 x 3900 + 9900 debited, 6400 left" "28000|-21600|6400" \
    "$(sql "SELECT sum(CASE WHEN kind = 'deposit' THEN amount ELSE 0 END) || '|' || sum(CASE WHEN kind = 'debit' THEN amount ELSE 0 END) || '|' || (SELECT balance FROM account WHERE name = 'acme') FROM ledger l JOIN account a ON a.id = l.account_id WHERE a.name = 'acme'")"
check_eq "each issued certificate charged exactly once" 0 \
    "$(sql "SELECT count(*) FROM recipient r WHERE r.state = 'issued' AND (SELECT count(*) FROM ledger l WHERE l.recipient_id = r.id AND l.kind IN ('debit', 'unit_debit', 'card_authorize')) != 1")"
check "bad price table refused" sh -c "sed 's/^price_premium = .*/price_premium = 1,2/' '$T/certspool.conf' >'$T/bad.conf'; ! '$BIN' --config '$T/bad.conf' status 2>'$T/bad.err' && grep -q 'price_premium' '$T/bad.err'"
finish
