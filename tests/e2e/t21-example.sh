#!/bin/sh
# The SPEC's two example documents through the whole ordering workflow:
# organization validation by phone code, Email DCV, mailbox control for
# the individual product, the csrLater recipient served by the example
# csrSubmission; every certificate issued and each pass answered.
. "$(dirname "$0")/../lib.sh"
setup rsa4096	# the example asks sha256 and sha384: an RSA CA issues them all
cs account add acme --contract C-2026-01 --units 1000 --balance 100000000 >/dev/null
oid=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')
drop acme "$EXAMPLES/batch-example.xml"
run_once
O=$S/outbound/acme/HR-2026-11-24-0001
check_eq "pass 1: business order waits for the organization" waiting_org \
    "$(xval "$O.1.result.xml" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check_eq "pass 1: individual waits for mailbox control" waiting_dcv \
    "$(xval "$O.1.result.xml" 'string(//*[local-name()="order"][@id="EMP-1003"]/@state)')"
check "DCV started while the organization waits" test -n "$(mail_token admin@acme.example)"
check "mailbox challenge sent to the gmail address" test -n "$(mail_token pat.contractor@gmail.com)"
check_not "wrong phone code refused" cs org verify "$oid" WRONG-CODE1
code=$(cs org request "$oid" | tail -n 1 | awk '{print $NF}')
check "right phone code accepted" cs org verify "$oid" "$code"
check_not "code is single-use" cs org verify "$oid" "$code"
run_once
check_eq "pass 2: business order now waits for DCV" waiting_dcv \
    "$(xval "$O.2.result.xml" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check "domain token confirms" cs domain confirm "$(mail_token admin@acme.example)"
check "mailbox token confirms" cs domain confirm "$(mail_token pat.contractor@gmail.com)"
run_once
R3=$O.3.result.xml
check_eq "pass 3: jane issued" issued "$(xval "$R3" 'string(//*[local-name()="recipient"][@email="jane.doe@acme.example"]/@state)')"
check_eq "pass 3: raj (server key) issued" issued "$(xval "$R3" 'string(//*[local-name()="recipient"][@email="raj.patel@acme.example"]/@state)')"
# ops@ (CN email, givenName only: a sponsor-validated certificate needs a
# given name, surname or pseudonym, S/MIME BR 7.1.4.2.5) waits for its CSR.
check_eq "pass 3: csrLater recipient waits for its CSR" waiting_csr \
    "$(xval "$R3" 'string(//*[local-name()="recipient"][@email="ops@acme.example"]/@state)')"
check_eq "pass 3: EMP-1001 waits for that CSR" waiting_csr \
    "$(xval "$R3" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check_eq "pass 3: nothing refused" 0 \
    "$(xval "$R3" 'count(//*[@state="rejected"])')"
check_eq "pass 3: EMP-1002 issued" issued "$(xval "$R3" 'string(//*[local-name()="order"][@id="EMP-1002"]/@state)')"
check_eq "pass 3: EMP-1003 (gmail, individual) issued" issued "$(xval "$R3" 'string(//*[local-name()="order"][@id="EMP-1003"]/@state)')"
check_eq "pass 3 archive named in result" "HR-2026-11-24-0001.3.tar.gz" "$(xval "$R3" 'string(/*/@archive)')"
check_eq "EMP-1003 notAfter is the ordered date" "2027-12-31T23:59:59Z" \
    "$(xval "$R3" 'string(//*[local-name()="recipient"][@email="pat.contractor@gmail.com"]/@notAfter)')"
check "EMP-1002 signed with sha384" sh -c "bsdtar -xOf '$O.3.tar.gz' 'EMP-1002/billing@acme.example/cert.pem' | openssl x509 -noout -text | grep -q sha384WithRSAEncryption"
check_eq "attestation recorded with the order" "Pat Lee|HR Director" \
    "$(sql "SELECT att_officer || '|' || att_title FROM orders WHERE ext_id = 'EMP-1001' AND att_recorded IS NOT NULL")"

# The example csrSubmission, unchanged, completes EMP-1001.
drop acme "$EXAMPLES/csr-submission-example.xml"
run_once
check "csrSubmission archived" test -f "$S/archive/acme/csr-submission-example.xml"
R4=$O.4.result.xml
check_eq "pass 4: EMP-1001 issued" issued "$(xval "$R4" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check_eq "pass 4: ops issued" issued "$(xval "$R4" 'string(//*[local-name()="recipient"][@email="ops@acme.example"]/@state)')"
check_eq "pass 4 archive holds only the new certificate" 3 "$(bsdtar -tf "$O.4.tar.gz" | wc -l)"
check "ops certificate (CN email, sponsor) verifies" sh -c "bsdtar -xOf '$O.4.tar.gz' 'EMP-1001/ops@acme.example/cert.pem' >'$T/ops.pem' && openssl verify -purpose smimesign -CAfile '$T/ca/root.pem' -untrusted '$T/ca/ca.pem' '$T/ops.pem'"
check "ops certificate carries givenName" sh -c "openssl x509 -in '$T/ops.pem' -noout -subject | grep -q 'GN = Ops'"
check "ops certificate CN is the mailbox" sh -c "openssl x509 -in '$T/ops.pem' -noout -subject | grep -q 'CN = ops@acme.example'"
check_eq "result sha256 is the archive's cert.pem" "$(sha256sum "$T/ops.pem" | cut -c1-64)" \
    "$(xval "$R4" 'string(//*[local-name()="recipient"][@email="ops@acme.example"]/@sha256)')"
# The same CSR again finds nobody waiting: the document is refused whole.
{ cat "$EXAMPLES/csr-submission-example.xml"; echo "<!-- again -->"; } >"$T/csr-again.xml"
drop acme "$T/csr-again.xml"
run_once
check "second csrSubmission for the issued recipient rejected" grep -q "ops@acme.example" "$S/rejected/acme/csr-again.xml.error.xml"
# A CSR for nobody waiting: the document is refused with a report.
sed 's/ops@acme.example/nobody@acme.example/' "$EXAMPLES/csr-submission-example.xml" >"$T/csr2.xml"
drop acme "$T/csr2.xml"
run_once
check "csrSubmission for nobody rejected" grep -q "nobody@acme.example" "$S/rejected/acme/csr2.xml.error.xml"
# Another account cannot use acme's organization.
cs account add beta >/dev/null
sed 's/account="acme"/account="beta"/; s/HR-2026-11-24-0001/BETA-1/' "$EXAMPLES/batch-example.xml" >"$T/beta.xml"
drop beta "$T/beta.xml"
run_once
check_eq "another account's organization refused" unknown_organization \
    "$(xval "$S/outbound/beta/BETA-1.1.result.xml" 'string(//*[local-name()="order"][@id="EMP-1002"]/@reason)')"
check "beta's outputs only in beta's outbound" test ! -e "$S/outbound/acme/BETA-1.1.result.xml"
finish
