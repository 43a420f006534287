#!/bin/sh
# Charged once, whatever the crash: the daemon is killed (SIGKILL at the
# named crash points) between the charge at approval and the stored
# certificate, and around the reissue and renewal steps; after the
# restart every certificate is issued and charged exactly once, and the
# ledger still reconciles with the balance and the contract.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme --contract K-9 --units 100 --balance 1000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null

# mkbatch ID N PAYMENT-XML [VALIDITY]: N orders, one CSR recipient each,
# the first with a server-generated key as well.
mkbatch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		i=0
		while [ $i -lt "$2" ]; do
			e="u$i.$1@acme.example"
			echo "<order id=\"o$i\"><product>secure_email_organization</product><organization>Acme Corp</organization><validity>${4:-<years>1</years>}</validity><autoRenew>${5:-0}</autoRenew>"
			echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email><csr>$(csr ec:P-256 "$e")</csr></recipient>"
			[ $i -eq 0 ] && echo "<recipient><commonName type=\"email\">k.$e</commonName><email>k.$e</email><keygen algorithm=\"ecc-p256\"/></recipient>"
			echo "$3<agreement accepted=\"true\"/></order>"
			i=$((i + 1))
		done
		echo '</batch>'
	} >"$T/$1.xml"
}
crash() {
	dead_nodes_wait
	CERTSPOOL_CRASH_AT=$1 "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
	check_eq "killed at $1" 137 "$?"
}
once() {
	check_eq "$1: every recipient of $2 issued" "$3" \
	    "$(sql "SELECT count(*) FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$2' AND r.state = 'issued'")"
	check_eq "$1: each charged exactly once per round" 0 \
	    "$(sql "SELECT count(*) FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$2' AND r.state = 'issued' AND (SELECT count(*) FROM ledger l WHERE l.recipient_id = r.id AND l.kind IN ('debit', 'unit_debit', 'card_authorize') AND l.round = (SELECT max(round) FROM recipient x WHERE x.id = r.id AND x.round_covered = 0)) != 1")"
	check_eq "$1: no charge without its certificate" 0 \
	    "$(sql "SELECT count(*) FROM ledger l WHERE l.kind IN ('debit', 'unit_debit') AND NOT EXISTS (SELECT 1 FROM certificate c WHERE c.recipient_id = l.recipient_id AND c.round = l.round AND c.state IN ('issued', 'superseded'))")"
	check_eq "$1: balance reconciles" 0 \
	    "$(sql "SELECT count(*) FROM account a WHERE a.balance != (SELECT COALESCE(sum(amount), 0) FROM ledger l WHERE l.account_id = a.id AND l.kind IN ('deposit', 'debit', 'refund'))")"
	check_eq "$1: units reconcile" 0 \
	    "$(sql "SELECT count(*) FROM contract c WHERE c.units != (SELECT COALESCE(sum(amount), 0) FROM ledger l WHERE l.contract_id = c.id AND l.kind IN ('unit_credit', 'unit_debit'))")"
}

k=0
for point in before_eval_commit after_eval_commit before_writeahead_commit \
    after_writeahead after_sign before_issue_commit after_issue_commit \
    before_archive; do
	k=$((k + 1))
	mkbatch "X$k" 2 '<payment method="balance"/>'
	drop acme "$T/X$k.xml"
	crash "$point"
	run_once
	once "balance, $point" "X$k" 3
done
check_eq "balance: 8 batches x 3 certificates x 3900" $((1000000 - 24 * 3900)) \
    "$(sql "SELECT balance FROM account WHERE name = 'acme'")"
for point in after_eval_commit after_sign; do
	k=$((k + 1))
	mkbatch "X$k" 2 '<payment method="contract" ref="K-9"/>'
	drop acme "$T/X$k.xml"
	crash "$point"
	run_once
	once "contract, $point" "X$k" 3
done
check_eq "contract: 6 units used" 94 "$(sql "SELECT units FROM contract WHERE ref = 'K-9'")"
k=$((k + 1))
mkbatch "X$k" 1 '<payment method="card" ref="tok_visa_crashx"/>'
drop acme "$T/X$k.xml"
crash after_eval_commit
run_once
once "card, after_eval_commit" "X$k" 2
check_eq "card: each authorization captured once" "2|2" \
    "$(sql "SELECT count(*) FROM ledger WHERE kind = 'card_authorize'")|$(sql "SELECT count(*) FROM ledger WHERE kind = 'card_capture'")"

# A renewal killed between its charge and its certificate.
k=$((k + 1))
mkbatch "X$k" 1 '<payment method="balance"/>' '<days>40</days>' 1
drop acme "$T/X$k.xml"
run_once
run_once	# the renewal notice
CERTSPOOL_NOW=+$((15 * 86400))
export CERTSPOOL_NOW
crash after_eval_commit
check_eq "renewal charged before the crash" 2 "$(sql "SELECT count(*) FROM ledger l JOIN batch b ON b.id = l.batch_id WHERE b.ext_id = 'X$k' AND l.kind = 'debit' AND l.round = 1")"
run_once
once "renewal, after_eval_commit" "X$k" 2
check_eq "renewal: two rounds charged per recipient, no more" "4" \
    "$(sql "SELECT count(*) FROM ledger l JOIN batch b ON b.id = l.batch_id WHERE b.ext_id = 'X$k' AND l.kind = 'debit'")"
check_eq "server-generated key: a new key for the renewal" "2|2" \
    "$(sql "SELECT count(DISTINCT c.spki_sha256) || '|' || count(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'k.u0.X$k@acme.example' AND c.state != 'void'")"
check_eq "and a new PKCS#12 with its password mail" 2 \
    "$(grep -l "^To: k.u0.X$k@acme.example" "$S"/mail/p12pass-*.eml | wc -l)"
check_eq "the CSR recipient keeps its key" 1 \
    "$(sql "SELECT count(DISTINCT c.spki_sha256) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'u0.X$k@acme.example'")"
check_eq "one live certificate per recipient" 0 \
    "$(sql "SELECT count(*) FROM (SELECT recipient_id FROM certificate WHERE state = 'issued' GROUP BY recipient_id HAVING count(*) > 1) x")"
sqlite_only "integrity_check" &&
    check_eq "integrity" ok "$(sql "PRAGMA integrity_check")"
finish
