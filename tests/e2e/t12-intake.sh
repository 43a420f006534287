#!/bin/sh
# Intake checks (src/order_check.c): an order whose mailbox, additional emails
# or subject names cannot be issued and delivered is refused when its
# batch is parsed, with its reason code and the line of the offending
# element; nothing is validated, signed or charged for it, and the good
# order beside it in the same batch is issued.  A name given in NFD is
# stored and certified in NFC.  "certspool check" reports the same.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme --balance 10000000 >/dev/null
ORG="Acme Corp"
validated_org acme "$ORG" acme.example >/dev/null || bail "validated organization"
OB=$S/outbound/acme

# recipient NAME-XML EMAIL: a recipient of a sponsor product, fresh CSR
recipient() {
	echo "<recipient><commonName type=\"email\">$2</commonName>$1"
	echo "<email>$2</email>"
	echo "<csr>$(csr ec:P-256 "$2")</csr></recipient>"
}
# good ID: an order that passes every stage
good() {
	echo "<order id=\"$1\"><product>secure_email_business</product>"
	echo "<organization>$ORG</organization><validity><years>1</years></validity>"
	recipient "<givenName>Good</givenName><surname>One</surname>" "good.$1@acme.example"
	echo "<additionalEmails>hr@acme.example</additionalEmails>"
	echo '<payment method="balance"/><agreement accepted="true"/></order>'
}
# batch ID: the orders on stdin as $T/ID.xml
batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		echo '  <attestation officer="Pat Lee" title="HR Director"/>'
		cat
		echo '</batch>'
	} >"$T/$1.xml"
}
oval() {
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/@$3)"
}
omsg() {
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/*[local-name()=\"message\"])"
}
# dbo BATCH ORDER COLUMN: a column of an order in the database
dbo() {
	sql "SELECT $3 FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$1' AND o.ext_id = '$2'"
}

# case NAME REASON ORDER-XML: a batch with the bad order (the offending
# element on a line of its own, marked MARK) and a good one.
ncase=0
refused() {
	name=$1 reason=$2 bad=$3
	ncase=$((ncase + 1))
	id=IN-$ncase
	{ printf '%s\n' "$bad"; good GOOD; } | batch "$id"
	f=$T/$id.xml
	line=$(grep -n 'MARK' "$f" | head -n 1 | cut -d: -f1)
	sed -i 's/<!--MARK-->//' "$f"
	check "$name: batch is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$f"
	# certspool check goes through the same intake
	out=$(cs check "$f" 2>/dev/null)
	check "$name: check reports the refusal" sh -c "printf '%s\n' \"\$1\" | grep -q '^order BAD rejected $reason: line $line: '" _ "$out"
	check "$name: check issues the good order" sh -c "printf '%s\n' \"\$1\" | grep -q '^order GOOD issued'" _ "$out"
	drop acme "$f"
	run_once
	R=$OB/$id.1.result.xml
	check "$name: result written" test -f "$R"
	check_eq "$name: bad order rejected in result.xml" rejected "$(oval "$R" BAD state)"
	check_eq "$name: reason in result.xml" "$reason" "$(oval "$R" BAD reason)"
	check "$name: message names line $line" sh -c "case \"\$1\" in 'line $line: '*) ;; *) exit 1 ;; esac" _ "$(omsg "$R" BAD)"
	check_eq "$name: recipients rejected in result.xml" 0 \
	    "$(xval "$R" "count(//*[local-name()='order'][@id='BAD']/*[local-name()='recipient'][@state!='rejected'])")"
	check_eq "$name: rejected in the database" "rejected|$reason" "$(dbo "$id" BAD "state || '|' || reason")"
	check_eq "$name: its recipients rejected in the database" 0 \
	    "$(sql "SELECT count(*) FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$id' AND o.ext_id = 'BAD' AND (r.state != 'rejected' OR r.reason != '$reason')")"
	check_eq "$name: refusal event" 1 \
	    "$(sql "SELECT count(*) FROM event e JOIN orders o ON o.id = e.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$id' AND o.ext_id = 'BAD' AND e.kind = 'order_state' AND e.to_state = 'rejected' AND e.reason = '$reason'")"
	check_eq "$name: no stage ran (no price, no agreement recorded)" "||" "$(dbo "$id" BAD "COALESCE(CAST(price AS TEXT), '') || '|' || COALESCE(CAST(agreement_at AS TEXT), '') || '|' || COALESCE(CAST(pay_used AS TEXT), '')")"
	check_eq "$name: nothing signed" 0 \
	    "$(sql "SELECT count(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$id' AND o.ext_id = 'BAD'")"
	check_eq "$name: nothing charged" 0 \
	    "$(sql "SELECT count(*) FROM ledger l JOIN orders o ON o.id = l.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$id' AND o.ext_id = 'BAD'")"
	check_eq "$name: good order issued" issued "$(oval "$R" GOOD state)"
	check_eq "$name: good order charged once" "1|-4900" \
	    "$(sql "SELECT count(*), sum(l.amount) FROM ledger l JOIN orders o ON o.id = l.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$id' AND o.ext_id = 'GOOD' AND l.kind = 'debit'")"
	check_eq "$name: archive holds only the good order" "GOOD/good.GOOD@acme.example/cert.pem" \
	    "$(bsdtar -tf "$OB/$id.1.tar.gz" | grep 'cert.pem$' | tr '\n' ' ' | sed 's/ $//')"
}

# bad ID EMAIL [NAME-XML [ADDITIONAL-XML [ORGANIZATION]]]: a bad order
bad() {
	echo "<order id=\"BAD\"><product>secure_email_business</product>"
	echo "<organization>${4:-$ORG}</organization><validity><years>1</years></validity>"
	echo "<recipient><commonName type=\"email\">$1</commonName>${2:-<givenName>Bad</givenName><surname>One</surname>}"
	echo "<email>$1</email>"
	echo "<csr>$(csr ec:P-256 "bad.$ncase@acme.example")</csr></recipient>"
	echo "${3:-}"
	echo '<payment method="balance"/><agreement accepted="true"/></order>'
}
E=bad@acme.example

refused "line break and Bcc header in additionalEmails" additional_email_invalid \
    "$(bad "$E" "" "<!--MARK--><additionalEmails>hr@acme.example&#13;&#10;Bcc: x@evil.example</additionalEmails>")"
refused "display name in additionalEmails" additional_email_invalid \
    "$(bad "$E" "" "<!--MARK--><additionalEmails>Jane Doe &lt;jane@acme.example&gt;</additionalEmails>")"
refused "U+202E in additionalEmails" additional_email_forbidden_character \
    "$(bad "$E" "" "<!--MARK--><additionalEmails>hr@acme.example, i&#x202E;t@acme.example</additionalEmails>")"
refused "U+202E in the mailbox" email_forbidden_character \
    "$(bad "$E" | sed 's|<email>bad@acme.example</email>|<!--MARK--><email>bad\&#x202E;elpmaxe@acme.example</email>|')"
refused "U+200B in the mailbox" email_forbidden_character \
    "$(bad "$E" | sed 's|<email>bad@acme.example</email>|<!--MARK--><email>b\&#x200B;ad@acme.example</email>|')"
refused "NFD local part" email_invalid \
    "$(bad "$E" | sed 's|<email>bad@acme.example</email>|<!--MARK--><email>jo\&#x308;rg@acme.example</email>|')"
refused "A-label that is not IDNA2008" email_invalid \
    "$(bad "$E" | sed 's|<email>bad@acme.example</email>|<!--MARK--><email>bad@xn--ab-g4t.example</email>|')"
refused "U+202E in givenName" name_forbidden_character \
    "$(bad "$E" "
<!--MARK--><givenName>&#x202E;naJ</givenName><surname>One</surname>")"
refused "U+00AD in surname" name_forbidden_character \
    "$(bad "$E" "<givenName>Bad</givenName>
<!--MARK--><surname>On&#xAD;e</surname>")"
refused "private use in surname" name_forbidden_character \
    "$(bad "$E" "<givenName>Bad</givenName>
<!--MARK--><surname>On&#xE000;e</surname>")"
refused "unassigned code point in givenName" name_forbidden_character \
    "$(bad "$E" "
<!--MARK--><givenName>B&#x378;ad</givenName><surname>One</surname>")"
refused "U+FEFF in organization" organization_forbidden_character \
    "$(bad "$E" "" "" "Acme&#xFEFF; Corp" | sed 's|<organization>|<!--MARK--><organization>|')"
refused "the same mailbox twice" duplicate_recipient \
    "$(bad "$E" "" "" | sed "s|</recipient>|</recipient>\\
<recipient><commonName type=\"email\">Bad@ACME.example</commonName><givenName>Bad</givenName><surname>Two</surname>\\
<!--MARK--><email>Bad@ACME.example</email>\\
<csrLater/></recipient>|")"

# A name in NFD is stored and certified in NFC.
{
	echo '<order id="NFD"><product>secure_email_business</product>'
	echo "<organization>$ORG</organization><validity><years>1</years></validity>"
	recipient "<givenName>Jo&#x308;rg</givenName><surname>Mu&#x308;ller</surname>" "jorg@acme.example"
	echo '<payment method="balance"/><agreement accepted="true"/></order>'
} | batch NFD-1
drop acme "$T/NFD-1.xml"
run_once
R=$OB/NFD-1.1.result.xml
check_eq "NFD name: order issued" issued "$(oval "$R" NFD state)"
# ö is C3 B6 and ü C3 BC in NFC; NFD would be 6F CC 88 and 75 CC 88
check_eq "NFD name: givenName stored in NFC" 4AC3B67267 \
    "$(sql "SELECT $(q_hextext given_name) FROM recipient WHERE email = 'jorg@acme.example'")"
check_eq "NFD name: surname stored in NFC" 4DC3BC6C6C6572 \
    "$(sql "SELECT $(q_hextext surname) FROM recipient WHERE email = 'jorg@acme.example'")"
mkdir -p "$T/nfd"
(cd "$T/nfd" && bsdtar -xf "$OB/NFD-1.1.tar.gz")
c=$T/nfd/NFD/jorg@acme.example/cert.pem
check "NFD name: certificate in the archive" test -f "$c"
subj=$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253,oid,-esc_msb,utf8 2>/dev/null)
gn=$(printf '%s\n' "$subj" | tr ',' '\n' | sed -n 's/^2\.5\.4\.42=//p')
sn=$(printf '%s\n' "$subj" | tr ',' '\n' | sed -n 's/^2\.5\.4\.4=//p')
check_eq "NFD name: certificate givenName in NFC" 4ac3b67267 "$(printf '%s' "$gn" | od -An -tx1 | tr -d ' \n')"
check_eq "NFD name: certificate surname in NFC" 4dc3bc6c6c6572 "$(printf '%s' "$sn" | od -An -tx1 | tr -d ' \n')"
finish
