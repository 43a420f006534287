#!/bin/sh
# The validation workflow offline (Email DCV, mailbox control): an order
# from waiting_org through a refused and a right phone code, waiting_dcv,
# a refused and a right DCV token, waiting_csr, to issued; public email
# domains; attestation; late CSRs (and CSRs for nobody waiting, or from
# another account); another account's organization; certspool check
# writing nothing; reuse periods and token lifetimes moved with
# CERTSPOOL_NOW; validations --expiring.
. "$(dirname "$0")/../lib.sh"

DAY=86400
rstate() {	# rstate RESULT ORDER
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/@state)"
}
rreason() {	# rreason RESULT ORDER
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/@reason)"
}
latest() {	# latest ACCOUNT BATCH: newest result.xml of the batch
	ls -v "$S/outbound/$1/$2".*.result.xml 2>/dev/null | tail -n 1
}
contains() {	# contains TEXT PATTERN
	printf '%s\n' "$1" | grep -q -- "$2"
}
# counts: what certspool check must leave unchanged
counts() {
	echo "$(sql "SELECT (SELECT COUNT(*) FROM batch) || ' ' ||
	    (SELECT COUNT(*) FROM orders) || ' ' || (SELECT COUNT(*) FROM recipient)
	    || ' ' || (SELECT COUNT(*) FROM dcv) || ' ' || (SELECT COUNT(*) FROM org_request)
	    || ' ' || (SELECT COUNT(*) FROM domain) || ' ' || (SELECT COUNT(*) FROM event)
	    || ' ' || (SELECT COUNT(*) FROM input) || ' ' ||
	    (SELECT $(q_agg state ,) FROM (SELECT state FROM orders ORDER BY id) o)")" \
	    "$(ls -A "$S/mail" | wc -l)" "$(ls -A "$S/outbound/acme" | wc -l)"
}
# order OID PRODUCT ORG RECIPIENTS...: an <order>; RECIPIENT is
# EMAIL[:later|:name]; ORG "-" for none
order() {
	id=$1 prod=$2 org=$3
	shift 3
	echo "<order id=\"$id\"><product>$prod</product>"
	[ "$org" = - ] || echo "<organization>$org</organization>"
	echo "<validity><days>365</days></validity>"
	for r in "$@"; do
		e=${r%%:*}
		case $r in
		*:name) echo "<recipient><commonName type=\"name\">Jane Doe</commonName><givenName>Jane</givenName><surname>Doe</surname><email>$e</email>" ;;
		*) echo "<recipient><commonName type=\"email\">$e</commonName>"
		   # sponsor-validated: a personal name for every recipient
		   [ "$prod" = secure_email_business ] && echo "<givenName>Kim</givenName><surname>Lee</surname>"
		   echo "<email>$e</email>" ;;
		esac
		case $r in
		*:later) echo "<csrLater/></recipient>" ;;
		*) echo "<csr>$(csr ec:P-256 "$e")</csr></recipient>" ;;
		esac
	done
	echo '<payment method="balance"/><agreement accepted="true"/></order>'
}
# batch ID ACCOUNT ATTEST(yes|no): wraps stdin's orders
batch() {
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"$2\">"
	[ "$3" = yes ] && echo '<attestation officer="Pat Lee" title="HR Director"/>'
	cat
	echo '</batch>'
}
csrsub() {	# csrsub ACCOUNT ORDER EMAIL
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<csrSubmission xmlns="urn:certspool:batch:1" account="%s">\n<csr order="%s" email="%s">%s</csr>\n</csrSubmission>\n' \
	    "$1" "$2" "$3" "$(csr ec:P-256 "$3")"
}

setup
cs account add acme --balance 1000000 >/dev/null
cs account add beta --balance 1000000 >/dev/null
oid=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')

# ---- the whole path ----
{
	order B1 secure_email_business "Acme Corp" jane@acme.example:name ops@acme.example:later
	order G1 secure_email_business "Acme Corp" pat@gmail.com
	order I1 secure_email_individual - bob@gmail.com
} | batch V-1 acme yes >"$T/v1.xml"
drop acme "$T/v1.xml"
run_once
R=$(latest acme V-1)
check_eq "pass 1: business order waits for the organization" waiting_org "$(rstate "$R" B1)"
check_eq "pass 1: gmail business order also waits for the organization" waiting_org "$(rstate "$R" G1)"
check_eq "pass 1: individual order waits for mailbox control" waiting_dcv "$(rstate "$R" I1)"
check_eq "one organization request opened" 1 "$(sql "SELECT COUNT(*) FROM org_request WHERE org_id = $oid AND state = 'open'")"
check "Email DCV went to the five constructed addresses in parallel" test "$(grep -l 'acme.example' "$S"/mail/dcv-*.eml | wc -l)" -eq 5
check "mailbox challenge went to bob@gmail.com" test -n "$(mail_token bob@gmail.com)"
check_not "no Email DCV for gmail.com" grep -q "admin@gmail.com" "$S"/mail/*.eml

cs org verify "$oid" 00000-00000 2>"$T/err"
check_eq "wrong phone code refused" 1 $?
check "refusal says the code does not match" grep -q "verification code does not match (4 tries left)" "$T/err"
code=$(cs org request "$oid" | awk '{print $NF}')
check "right phone code accepted" cs org verify "$oid" "$code"
run_once
R=$(latest acme V-1)
check_eq "pass 2: business order now waits for DCV" waiting_dcv "$(rstate "$R" B1)"
check_eq "pass 2: gmail.com under a business product rejected" public_email_domain "$(rreason "$R" G1)"

cs domain confirm 0123456789ABCDEFGHJKMNPQRSTVWXYZ 2>"$T/err"
check_eq "wrong DCV token refused" 1 $?
check "refusal says unknown token" grep -q "unknown token" "$T/err"
check "right DCV token confirms" cs domain confirm "$(mail_token admin@acme.example)"
check_not "a DCV token is single-use" cs domain confirm "$(mail_token admin@acme.example)"
check "mailbox token confirms" cs domain confirm "$(mail_token bob@gmail.com)"
run_once
R=$(latest acme V-1)
check_eq "pass 3: B1 waits only for its late CSR" waiting_csr "$(rstate "$R" B1)"
check_eq "pass 3: secure_email_individual at gmail.com issued" issued "$(rstate "$R" I1)"
check_eq "pass 3: jane issued" issued "$(xval "$R" 'string(//*[local-name()="recipient"][@email="jane@acme.example"]/@state)')"

# ---- late CSRs ----
csrsub beta B1 ops@acme.example >"$T/beta-csr.xml"
drop beta "$T/beta-csr.xml"
csrsub acme B1 jane@acme.example >"$T/jane-csr.xml"
drop acme "$T/jane-csr.xml"
run_once
check "CSR from another account for acme's order rejected" grep -q "no recipient ops@acme.example in order" "$S/rejected/beta/beta-csr.xml.error.xml"
check "CSR for a recipient already issued rejected" grep -q "no recipient jane@acme.example in order" "$S/rejected/acme/jane-csr.xml.error.xml"
check_eq "B1 still waits for ops's CSR" waiting_csr "$(sql "SELECT state FROM orders WHERE ext_id = 'B1'")"
csrsub acme B1 ops@acme.example >"$T/ops-csr.xml"
before=$(counts)
cs check "$T/ops-csr.xml" >"$T/out" 2>"$T/err"
check_eq "check of a csrSubmission: accepted" 0 $?
check "check of a csrSubmission: the order would be issued" grep -q "^order B1 issued$" "$T/out"
check_eq "check of a csrSubmission: nothing written" "$before" "$(counts)"
drop acme "$T/ops-csr.xml"
run_once
check_eq "late CSR delivered: B1 issued" issued "$(rstate "$(latest acme V-1)" B1)"
check "ops@acme.example certificate in the last archive" sh -c "bsdtar -tf '$(latest acme V-1 | sed 's/result.xml$/tar.gz/')' | grep -q 'B1/ops@acme.example/cert.pem'"

# ---- attestation, another account's organization ----
order NA secure_email_business "Acme Corp" kim@acme.example | batch V-2 acme no >"$T/v2.xml"
drop acme "$T/v2.xml"
order X1 secure_email_organization "Acme Corp" eve@acme.example | batch BETA-1 beta yes >"$T/b1.xml"
drop beta "$T/b1.xml"
run_once
check_eq "sponsor product without attestation rejected" attestation_missing "$(rreason "$(latest acme V-2)" NA)"
check_eq "another account's organization refused" unknown_organization "$(rreason "$(latest beta BETA-1)" X1)"
check_eq "and nothing was started for it" 0 "$(sql "SELECT COUNT(*) FROM event WHERE kind IN ('dcv_started', 'org_validation_requested') AND order_id = (SELECT id FROM orders WHERE ext_id = 'X1')")"

# ---- certspool check: states printed, nothing written ----
{
	order C-OK secure_email_organization "Acme Corp" ok@acme.example
	order C-GMAIL secure_email_organization "Acme Corp" x@gmail.com
	order C-ORG secure_email_organization "Other Corp" y@acme.example
	order C-NEW secure_email_organization "Acme Corp" z@newdom.example
	order C-IND secure_email_individual - new@gmail.com
	order C-CSR secure_email_organization "Acme Corp" later@acme.example:later
} | batch CHECK-1 acme yes >"$T/check.xml"
before=$(counts)
cs check "$T/check.xml" >"$T/check.out" 2>"$T/check.err"
check_eq "check exits 0 for an acceptable file" 0 $?
check_eq "check: nothing written (database, mail, outbound)" "$before" "$(counts)"
check "check: the file is left where it is" test -f "$T/check.xml"
check "check: header" grep -q "^check $T/check.xml: batch of account acme, 6 orders; dry run" "$T/check.out"
check "check: validated order would be issued" grep -q "^order C-OK issued$" "$T/check.out"
check "check: gmail.com rejected" grep -q "^order C-GMAIL rejected public_email_domain: gmail.com is a public" "$T/check.out"
check "check: unknown organization rejected" grep -q "^order C-ORG rejected unknown_organization" "$T/check.out"
check "check: new domain would wait for DCV" grep -q "^order C-NEW waiting_dcv: domain control validation" "$T/check.out"
check "check: new mailbox would wait for mailbox control" grep -q "^order C-IND waiting_dcv" "$T/check.out"
check "check: csrLater would wait for its CSR" grep -q "^order C-CSR waiting_csr" "$T/check.out"
check "check: recipients listed" grep -q "^  recipient ok@acme.example issued$" "$T/check.out"
check_not "check: no mail for the new domain" grep -q "newdom.example" "$S"/mail/*.eml
cs check "$T/check.xml" --account beta >"$T/out" 2>"$T/err"
check_eq "check: account mismatch refused" 1 $?
check "check: says which accounts" grep -q 'document names account "acme" but --account says "beta"' "$T/out"
cs check "$T/v1.xml" >"$T/out" 2>"$T/err"
check_eq "check: an already received file would be rejected" 1 $?
check "check: says so" grep -q "already received" "$T/out"
cs check "$EXAMPLES/../hostile/xxe.xml" --account acme >"$T/out" 2>"$T/err"
check_eq "check: hostile XML would be rejected" 1 $?
ln -s "$T/check.xml" "$T/link.xml"
cs check "$T/link.xml" >"$T/out" 2>"$T/err"
check_eq "check: a symbolic link is not followed" 1 $?
check "check: says symbolic link" grep -q "symbolic link" "$T/err"
check_eq "check: still nothing written" "$before" "$(counts)"

# ---- lifetimes of tokens ----
cs domain add "$oid" late.example >/dev/null
cs domain dcv late.example --org "$oid" >/dev/null
tok=$(mail_token admin@late.example)
CERTSPOOL_NOW=+$((31 * DAY)) cs domain confirm "$tok" 2>"$T/err"
check_eq "Email DCV token refused after 30 days" 1 $?
check "says expired, valid 30 days" grep -q "token expired at .* (valid 30 days)" "$T/err"
check_eq "late.example not validated" "" "$(sql "SELECT COALESCE(CAST(validated_at AS TEXT), '') FROM domain WHERE name = 'late.example'")"
order I2 secure_email_individual - carol@gmail.com | batch V-3 acme yes >"$T/v3.xml"
drop acme "$T/v3.xml"
run_once
tok=$(mail_token carol@gmail.com)
CERTSPOOL_NOW=+$((DAY + 60)) cs domain confirm "$tok" 2>"$T/err"
check_eq "mailbox token refused after 24 hours" 1 $?
check "says expired, valid 24 hours" grep -q "(valid 24 hours)" "$T/err"
check_eq "the mailbox challenge is marked expired" expired "$(sql "SELECT state FROM dcv WHERE mailbox = 'carol@gmail.com'")"

# ---- validations --expiring ----
check_eq "nothing lapses within 30 days now" "" "$(cs validations --expiring 30)"
out=$(CERTSPOOL_NOW=+$((380 * DAY)) cs validations --expiring 30)
check "on day 380 acme.example lapses within 30 days" contains "$out" "^domain	acme	Acme Corp	acme.example	"
check_not "the organization does not lapse yet" contains "$out" "^organization"
out=$(CERTSPOOL_NOW=+$((810 * DAY)) cs validations --expiring 30)
check "on day 810 the organization lapses within 30 days" contains "$out" "^organization	acme	Acme Corp	-	"

# ---- reuse periods: DCV 399 days, organization 826 days ----
dcv_before=$(sql "SELECT COUNT(*) FROM dcv v JOIN domain d ON d.id = v.domain_id WHERE d.name = 'acme.example' AND v.method = 'email'")
order R1 secure_email_organization "Acme Corp" r1@acme.example | batch REUSE-1 acme yes >"$T/r1.xml"
drop acme "$T/r1.xml"
export CERTSPOOL_NOW=+$((399 * DAY))
run_once
check_eq "day 399: domain validation no longer counts" waiting_dcv "$(rstate "$(latest acme REUSE-1)" R1)"
check_eq "day 399: a new Email DCV was started" $((dcv_before + 1)) \
    "$(sql "SELECT COUNT(*) FROM dcv v JOIN domain d ON d.id = v.domain_id WHERE d.name = 'acme.example' AND v.method = 'email'")"
check "day 399: confirming the new token works" cs domain confirm "$(mail_token admin@acme.example)"
run_once
check_eq "day 399: issued after the new DCV" issued "$(rstate "$(latest acme REUSE-1)" R1)"

order R2 secure_email_organization "Acme Corp" r2@acme.example | batch REUSE-2 acme yes >"$T/r2.xml"
drop acme "$T/r2.xml"
export CERTSPOOL_NOW=+$((826 * DAY))
run_once
check_eq "day 826: organization validation no longer counts" waiting_org "$(rstate "$(latest acme REUSE-2)" R2)"
check_eq "day 826: a new organization request was opened" 1 \
    "$(sql "SELECT COUNT(*) FROM org_request WHERE org_id = $oid AND state = 'open'")"
check "day 826: the reason names the 825 days" contains "$(sql "SELECT message FROM orders WHERE ext_id = 'R2'")" "older than 825 days"
code=$(cs org request "$oid" | awk '{print $NF}')
check "day 826: organization validated again" cs org verify "$oid" "$code"
run_once
check_eq "day 826: then it waits for domain control (427 days old)" waiting_dcv "$(rstate "$(latest acme REUSE-2)" R2)"
check "day 826: new DCV token confirms" cs domain confirm "$(mail_token admin@acme.example)"
run_once
check_eq "day 826: issued" issued "$(rstate "$(latest acme REUSE-2)" R2)"
unset CERTSPOOL_NOW

finish
