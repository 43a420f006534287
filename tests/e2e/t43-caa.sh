#!/bin/sh
# CAA before issuance (RFC 9495 issuemail, RFC 8659 tree climbing,
# S/MIME BR 4.2.2.1) with caa_check = on and a loopback dnsmasq serving
# CAA records: issuemail naming this CA, another CA, an empty value, only
# "issue", a critical unknown tag, parameters, parents; a lookup failure
# keeps the recipient waiting until the resolver answers; caa_check = off
# ignores CAA; certspool check shows the refusal without writing.
. "$(dirname "$0")/../lib.sh"

# ---- loopback servers (127.0.0.1 only, killed on exit) ----
. "$(dirname "$0")/../netlib.sh"

# caa NAME FLAGS TAG VALUE: a dnsmasq --dns-rr option for one CAA record
caa() {
	printf -- '--dns-rr=%s,257,%02x%02x%s' "$1" "$2" "${#3}" \
	    "$(printf '%s%s' "$3" "$4" | od -An -tx1 | tr -d ' \n')"
}
# contains TEXT PATTERN: grep -q PATTERN in TEXT
contains() {
	printf '%s\n' "$1" | grep -q -- "$2"
}
# omsg RESULT ORDER: the order's message in a result.xml
omsg() {
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/*[local-name()=\"message\"])"
}
# rcpt RESULT EMAIL ATTR: an attribute of a recipient in a result.xml
rcpt() {
	xval "$1" "string(//*[local-name()=\"recipient\"][@email=\"$2\"]/@$3)"
}
DOMAINS="allow.test deny.test sub.deny.test issueonly.test empty.test crit.test param.test multi.test none.test later.test"
CAA_RECORDS="$(caa allow.test 0 issuemail certspool.invalid)
$(caa deny.test 0 issuemail other-ca.example)
$(caa issueonly.test 0 issue other-ca.example)
$(caa empty.test 0 issuemail ';')
$(caa crit.test 128 futuretag x)
$(caa crit.test 0 issuemail certspool.invalid)
$(caa param.test 0 issuemail 'CertSpool.Invalid; accounturi=https://ca.example/acct/1')
$(caa multi.test 0 issuemail other-ca.example)
$(caa multi.test 0 issuemail certspool.invalid)
$(caa multi.test 0 iodef mailto:security@multi.test)"
# batch BATCH-ID ORDERS...: ORDER is ID:EMAIL[+EMAIL...]
batch() {
	id=$1
	shift
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$id\" account=\"acme\">"
	for o in "$@"; do
		echo "<order id=\"${o%%:*}\"><product>secure_email_organization</product>"
		echo "<organization>Acme Corp</organization><validity><days>365</days></validity>"
		for e in $(echo "${o#*:}" | tr '+' ' '); do
			echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email>"
			echo "<csr>$(csr ec:P-256 "$e")</csr></recipient>"
		done
		echo '<payment method="balance"/><agreement accepted="true"/></order>'
	done
	echo '</batch>'
}

setup
DNSPORT=$(free_port)
setconf dns_resolver "127.0.0.1:$DNSPORT"
setconf dns_timeout_seconds 2
setconf caa_check on
cs account add acme --balance 1000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.test)
for d in $DOMAINS; do
	cs domain add "$oid" "$d" >/dev/null
	cs domain dcv "$d" --org "$oid" >/dev/null
	cs domain confirm "$(mail_token "admin@$d")" >/dev/null
done
check_eq "every test domain validated" 11 "$(sql "SELECT COUNT(*) FROM domain WHERE validated_at IS NOT NULL")"
# shellcheck disable=SC2086
dns_start $CAA_RECORDS

batch CAA-1 A:a@allow.test D:d@deny.test S:s@sub.deny.test I:i@issueonly.test \
    E:e@empty.test C:c@crit.test P:p@param.test M:m@multi.test N:n@none.test \
    MIX:ok@allow.test+no@deny.test >"$T/caa1.xml"
cs check "$T/caa1.xml" >"$T/check.out" 2>&1
check "check: forbidden recipient shown rejected caa_forbidden" grep -q "^order D rejected caa_forbidden: CAA of deny.test forbids" "$T/check.out"
check "check: allowed recipient shown issued" grep -q "^order A issued$" "$T/check.out"
drop acme "$T/caa1.xml"
run_once
R=$(latest acme CAA-1)
check_eq "issuemail naming this CA: issued" issued "$(rstate "$R" A)"
check_eq "issuemail naming another CA: rejected" rejected "$(rstate "$R" D)"
check_eq "reason caa_forbidden" caa_forbidden "$(xval "$R" 'string(//*[local-name()="order"][@id="D"]/@reason)')"
check "message names the domain and the record" contains "$(omsg "$R" D)" \
    'CAA of deny.test forbids .*relevant RRset at deny.test: CAA records 0 issuemail "other-ca.example"'
check_eq "parent's RRset is relevant (tree climbing): rejected" caa_forbidden "$(xval "$R" 'string(//*[local-name()="order"][@id="S"]/@reason)')"
check "climbing named the parent" contains "$(omsg "$R" S)" 'CAA of sub.deny.test forbids .*relevant RRset at deny.test'
check_eq "only issue (no issuemail): issued" issued "$(rstate "$R" I)"
check_eq "empty issuemail forbids everyone" caa_forbidden "$(xval "$R" 'string(//*[local-name()="order"][@id="E"]/@reason)')"
check_eq "critical unknown tag forbids" caa_forbidden "$(xval "$R" 'string(//*[local-name()="order"][@id="C"]/@reason)')"
check "critical tag named in the message" contains "$(omsg "$R" C)" '128 futuretag "x": a critical property'
check_eq "case-insensitive name with parameters: issued" issued "$(rstate "$R" P)"
check_eq "one of several issuemail records names this CA: issued" issued "$(rstate "$R" M)"
check_eq "no CAA anywhere: issued" issued "$(rstate "$R" N)"
check_eq "mixed order: rejected as a whole" recipients_rejected "$(xval "$R" 'string(//*[local-name()="order"][@id="MIX"]/@reason)')"
check_eq "mixed order: allowed recipient issued" issued "$(rcpt "$R" ok@allow.test state)"
check_eq "mixed order: forbidden recipient refused" caa_forbidden "$(rcpt "$R" no@deny.test reason)"
check "no certificate for deny.test in the archive" sh -c "! bsdtar -tf '${R%.result.xml}.tar.gz' | grep -q 'deny.test'"
check_eq "forbidden recipients never reached the signer" 0 "$(sql "SELECT COUNT(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email LIKE '%deny.test' OR r.email LIKE '%empty.test' OR r.email LIKE '%crit.test'")"

# A lookup failure is not a permission: the recipient waits.
kill -STOP "$DNSPID"
batch CAA-2 L:l@later.test L2:l2@none.test >"$T/caa2.xml"
drop acme "$T/caa2.xml"
t0=$(date +%s)
run_once
t1=$(date +%s)
R=$(latest acme CAA-2)
check_eq "resolver silent: recipient waits in waiting_dcv" waiting_dcv "$(rstate "$R" L)"
check_eq "resolver silent: the other domain waits too" waiting_dcv "$(rstate "$R" L2)"
check "a silent resolver costs one time limit per pass, not one per domain" test $((t1 - t0)) -lt 4
check "the second lookup was not sent" contains "$(omsg "$R" L2)" "did not answer within 2 s a moment ago"
check "its message says the CAA lookup failed" contains "$(omsg "$R" L)" \
    "CAA lookup of later.test through 127.0.0.1:$DNSPORT failed: no answer .* within 2 s"
check_eq "nothing signed meanwhile" 0 "$(sql "SELECT COUNT(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'l@later.test'")"
kill -CONT "$DNSPID"
run_once
check_eq "resolver back: issued in the next pass" issued "$(rstate "$(latest acme CAA-2)" L)"
check_eq "resolver back: the other one too" issued "$(rstate "$(latest acme CAA-2)" L2)"

# caa_check = off: CAA is not looked at.
setconf caa_check off
batch CAA-3 OFF:off@deny.test >"$T/caa3.xml"
drop acme "$T/caa3.xml"
dns_stop
run_once
check_eq "caa_check off: issued despite the record (and no resolver)" issued "$(rstate "$(latest acme CAA-3)" OFF)"

stop_servers
finish
