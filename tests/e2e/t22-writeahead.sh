#!/bin/sh
# Write-ahead signing and recovery: the daemon is killed (SIGKILL, at named
# crash points) between each durable step; after a restart every recipient
# has exactly one certificate, no serial is reused, a recorded TBS is
# signed again under its own serial, and outputs appear once and whole.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme --balance 100000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null

# mkbatch ID N KEYGEN: a batch of N orders with CSRs (+1 keygen recipient)
mkbatch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		i=0
		while [ $i -lt "$2" ]; do
			e="u$i.$1@acme.example"
			echo "<order id=\"o$i\"><product>secure_email_organization</product><organization>Acme Corp</organization><validity><years>1</years></validity>"
			echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email><csr>$(csr ec:P-256 "$e")</csr></recipient>"
			if [ "${3:-}" = keygen ] && [ $i -eq 0 ]; then
				echo "<recipient><commonName type=\"email\">k.$e</commonName><email>k.$e</email><keygen algorithm=\"ecc-p256\"/></recipient>"
			fi
			echo '<agreement accepted="true"/></order>'
			i=$((i + 1))
		done
		echo '</batch>'
	} >"$T/$1.xml"
}
# crash POINT: one daemon pass that must die at POINT (SIGKILL).
crash() {
	dead_nodes_wait
	CERTSPOOL_CRASH_AT=$1 "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
	st=$?
	check_eq "killed at $1" 137 "$st"
}
invariants() {
	check_eq "$1: one live certificate per issued recipient" \
	    "$(sql "SELECT count(*) FROM recipient WHERE state = 'issued'")" \
	    "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")"
	check_eq "$1: no recipient with two live certificates" 0 \
	    "$(sql "SELECT count(*) FROM (SELECT recipient_id FROM certificate WHERE state != 'void' GROUP BY recipient_id, round HAVING count(*) > 1) x")"
	check_eq "$1: serials unique" "$(sql "SELECT count(*) FROM certificate")" \
	    "$(sql "SELECT count(DISTINCT serial) FROM certificate")"
	check_eq "$1: nothing left signing" 0 "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"
	sqlite_only "$1: integrity_check" &&
	    check_eq "$1: integrity" ok "$(sql "PRAGMA integrity_check")"
}

# 1. killed after the CA signed, before the certificates were committed
mkbatch B1 4 keygen
drop acme "$T/B1.xml"
crash after_sign
check_eq "write-ahead rows recorded" 5 "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"
sql "SELECT serial FROM certificate WHERE state = 'signing' AND recipient_id IN (SELECT id FROM recipient WHERE keygen IS NULL) ORDER BY serial" >"$T/wal-serials"
run_once
invariants "after_sign"
sql "SELECT serial FROM certificate WHERE state = 'issued' AND recipient_id IN (SELECT id FROM recipient WHERE keygen IS NULL) ORDER BY serial" >"$T/issued-serials"
check "CSR certificates carry their write-ahead serials" cmp -s "$T/wal-serials" "$T/issued-serials"
check_eq "server key serial voided, not reused" 1 "$(sql "SELECT count(*) FROM certificate WHERE state = 'void'")"
check_eq "void serial has an event" 1 "$(sql "SELECT count(*) FROM event WHERE kind = 'serial_voided'")"
check_eq "every recipient of B1 issued" 5 "$(sql "SELECT count(*) FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B1' AND r.state = 'issued'")"
A=$S/outbound/acme/B1.1.tar.gz
check "B1 archive" test -f "$A"
check_eq "B1 archive: each certificate once" 5 "$(bsdtar -tf "$A" | grep -c /cert.pem)"
# the recovered certificate verifies and its TBS is the recorded one
for s in $(cat "$T/issued-serials"); do
	blob_to "$T/c.der" der "FROM certificate WHERE serial = '$s'"
	check "recovered $s verifies" openssl verify -purpose smimesign -CAfile "$T/ca/root.pem" -untrusted "$T/ca/ca.pem" "$T/c.der"
	check_eq "recovered $s serial" "$(echo "$s" | tr a-f A-F)" "$(openssl x509 -inform DER -in "$T/c.der" -noout -serial | cut -d= -f2)"
done 2>/dev/null

# 2. killed after the write-ahead commit, before the CA signed
mkbatch B2 3
drop acme "$T/B2.xml"
crash after_writeahead
sql "SELECT serial FROM certificate WHERE state = 'signing' ORDER BY serial" >"$T/wal2"
run_once
invariants "after_writeahead"
sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B2' ORDER BY c.serial" >"$T/b2serials"
check "B2 serials are the write-ahead ones" cmp -s "$T/b2serials" "$T/wal2"

# 3. killed after the issue commit, before any output was written
mkbatch B3 3
drop acme "$T/B3.xml"
crash before_archive
check "no B3 archive yet" test ! -e "$S/outbound/acme/B3.1.tar.gz"
check "no B3 result yet" test ! -e "$S/outbound/acme/B3.1.result.xml"
run_once
invariants "before_archive"
check "B3 archive written on restart" test -f "$S/outbound/acme/B3.1.tar.gz"
check "B3 result written on restart" test -f "$S/outbound/acme/B3.1.result.xml"
check "no second pass for B3" test ! -e "$S/outbound/acme/B3.2.result.xml"

# 4. killed before the result, after archive and mail
mkbatch B4 2
drop acme "$T/B4.xml"
crash before_result
check "B4 archive present, result not yet" test -f "$S/outbound/acme/B4.1.tar.gz" -a ! -e "$S/outbound/acme/B4.1.result.xml"
nmail=$(ls "$S/mail" | grep -c '^cert-')
run_once
check "B4 result written on restart" test -f "$S/outbound/acme/B4.1.result.xml"
check_eq "B4 archive: each certificate once" 2 "$(bsdtar -tf "$S/outbound/acme/B4.1.tar.gz" | grep -c /cert.pem)"
check_eq "no mail written twice" "$nmail" "$(ls "$S/mail" | grep -c '^cert-')"
check_eq "one mail per certificate" "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")" "$(ls "$S/mail" | grep -c '^cert-')"

# 5. killed after the claim and after the parse commit: processed once
mkbatch B5 1
drop acme "$T/B5.xml"
crash after_claim
check "claimed file waits in work/" test -f "$S/work/acme/B5.xml"
run_once
check "B5 archived after restart" test -f "$S/archive/acme/B5.xml"
mkbatch B6 1
drop acme "$T/B6.xml"
crash after_parse_commit
run_once
check "B6 archived, not rejected as its own duplicate" test -f "$S/archive/acme/B6.xml" -a ! -e "$S/rejected/acme/B6.xml"
check_eq "B6 stored once" 1 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'B6'")"
check_eq "B6 issued" 1 "$(sql "SELECT count(*) FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B6' AND r.state = 'issued'")"

# 6. killed in the evaluation transaction: nothing half-done
mkbatch B7 2
drop acme "$T/B7.xml"
crash before_eval_commit
check_eq "B7 orders still new after the kill" 2 "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B7' AND o.state = 'new'")"
run_once
invariants "before_eval_commit"
check_eq "B7 issued" 2 "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B7' AND o.state = 'issued'")"
finish
