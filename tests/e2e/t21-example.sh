#!/bin/sh
# The SPEC's two example documents through the whole ordering workflow:
# organization validation by phone code, Email DCV, mailbox control for
# the individual product, the csrLater recipient served by the example
# csrSubmission; every certificate issued and each pass answered.
. "$(dirname "$0")/../lib.sh"
setup
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
# The example's ops@ recipient has no givenName, surname or pseudonym,
# which a sponsor-validated certificate needs (S/MIME BR 7.1.4.2.5 note 2).
check_eq "pass 3: nameless sponsor recipient refused alone" name_missing \
    "$(xval "$R3" 'string(//*[local-name()="recipient"][@email="ops@acme.example"]/@reason)')"
check_eq "pass 3: EMP-1001 partly refused" recipients_rejected \
    "$(xval "$R3" 'string(//*[local-name()="order"][@id="EMP-1001"]/@reason)')"
check_eq "pass 3: EMP-1002 issued" issued "$(xval "$R3" 'string(//*[local-name()="order"][@id="EMP-1002"]/@state)')"
check_eq "pass 3: EMP-1003 (gmail, individual) issued" issued "$(xval "$R3" 'string(//*[local-name()="order"][@id="EMP-1003"]/@state)')"
check_eq "pass 3 archive named in result" "HR-2026-11-24-0001.3.tar.gz" "$(xval "$R3" 'string(/*/@archive)')"
check_eq "EMP-1003 notAfter is the ordered date" "2027-12-31T23:59:59Z" \
    "$(xval "$R3" 'string(//*[local-name()="recipient"][@email="pat.contractor@gmail.com"]/@notAfter)')"
check "EMP-1002 signed with sha384" sh -c "bsdtar -xOf '$O.3.tar.gz' 'EMP-1002/billing@acme.example/cert.pem' | openssl x509 -noout -text | grep -q sha384WithRSAEncryption"
check_eq "attestation recorded with the order" "Pat Lee|HR Director" \
    "$(sql "SELECT att_officer || '|' || att_title FROM orders WHERE ext_id = 'EMP-1001' AND att_recorded IS NOT NULL")"

# The example csrSubmission now finds nobody waiting: refused whole.
drop acme "$EXAMPLES/csr-submission-example.xml"
run_once
check "csrSubmission for a refused recipient rejected" grep -q "ops@acme.example" "$S/rejected/acme/csr-submission-example.xml.error.xml"

# The same order with a name for ops@: it waits for its CSR, then the
# example csrSubmission (resubmitted, so a different file) completes it.
sed 's/HR-2026-11-24-0001/HR-2026-11-24-0002/; s|<commonName type="email">ops@acme.example</commonName>|&<givenName>Ops</givenName>|' \
    "$EXAMPLES/batch-example.xml" >"$T/b2.xml"
drop acme "$T/b2.xml"
run_once
O=$S/outbound/acme/HR-2026-11-24-0002
check_eq "EMP-1001 waits only for its CSR" waiting_csr \
    "$(xval "$O.1.result.xml" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check_eq "ops waits for CSR" waiting_csr "$(xval "$O.1.result.xml" 'string(//*[local-name()="recipient"][@email="ops@acme.example"]/@state)')"
{ cat "$EXAMPLES/csr-submission-example.xml"; echo "<!-- again -->"; } >"$T/csr-again.xml"
drop acme "$T/csr-again.xml"
run_once
check "csrSubmission archived" test -f "$S/archive/acme/csr-again.xml"
R4=$O.2.result.xml
check_eq "pass 2: EMP-1001 issued" issued "$(xval "$R4" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check_eq "pass 2 archive holds only the new certificate" 3 "$(bsdtar -tf "$O.2.tar.gz" | wc -l)"
check "ops certificate (CN email, sponsor) verifies" sh -c "bsdtar -xOf '$O.2.tar.gz' 'EMP-1001/ops@acme.example/cert.pem' >'$T/ops.pem' && openssl verify -purpose smimesign -CAfile '$T/ca/root.pem' -untrusted '$T/ca/ca.pem' '$T/ops.pem'"
check "ops certificate carries givenName" sh -c "openssl x509 -in '$T/ops.pem' -noout -subject | grep -q 'GN = Ops'"
check_eq "result sha256 is the archive's cert.pem" "$(sha256sum "$T/ops.pem" | cut -c1-64)" \
    "$(xval "$R4" 'string(//*[local-name()="recipient"][@email="ops@acme.example"]/@sha256)')"
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
