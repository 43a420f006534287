#!/bin/sh
# Revocation (SPEC 7.1, 7.2): a leaver document revokes by mailbox, by
# order and by serial, only in its own account; what selects nothing is
# not_found; a future "at" waits (status lists it) and happens when due;
# a pending request can be withdrawn; revoked recipients are neither
# reissued nor renewed; keyCompromise blocks the key for every account
# and revokes the other certificates with it; "certificate revoked"
# messages; a bad reason or a duplicate rejects the document; the
# certspool revoke and key block commands; status.  The clock is moved
# with CERTSPOOL_NOW=+SECONDS.
. "$(dirname "$0")/../lib.sh"
setup
DAY=86400
OA=$S/outbound/acme
cs account add acme --balance 1000000 >/dev/null
cs account add beta --balance 1000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null || bail "acme org"
validated_org beta "Beta Corp" beta.example >/dev/null || bail "beta org"

# order ID EMAIL ORG DAYS AUTORENEW [CSR]
order() {
	echo "<order id=\"$1\"><product>secure_email_organization</product><organization>$3</organization>"
	echo "<validity><days>$4</days></validity><autoRenew>$5</autoRenew>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email><csr>${6:-$(csr ec:P-256 "$2")}</csr></recipient>"
	echo "<additionalEmails>hr@${2#*@}</additionalEmails>"
	echo "<payment method=\"balance\"/><agreement accepted=\"true\"/></order>"
}
# batch ACCOUNT ID: the orders on stdin as a batch in ACCOUNT's inbound
batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$2\" account=\"$1\">"
		cat
		echo '</batch>'
	} >"$T/$2.xml"
	drop "$1" "$T/$2.xml"
}
# revocation ACCOUNT ID: the <revoke> lines on stdin as a document
revocation() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<revocation xmlns=\"urn:certspool:batch:1\" id=\"$2\" account=\"$1\" created=\"2026-12-04T22:00:00Z\">"
		cat
		echo '</revocation>'
	} >"$T/$2.xml"
	drop "$1" "$T/$2.xml"
}
# csr_for KEYFILE EMAIL: a CSR for an existing key
csr_for() {
	openssl req -new -key "$1" -subj "/CN=$2" 2>/dev/null
}
at() {
	CERTSPOOL_NOW=+$(($1 * DAY))
	export CERTSPOOL_NOW
}
serial_of() {
	sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' AND c.state = 'issued' ORDER BY c.id LIMIT 1"
}
revoked() {
	sql "SELECT COALESCE(c.revoke_reason, '-') FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' ORDER BY c.id LIMIT 1"
}
ncerts() {
	sql "SELECT count(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' AND c.state != 'void'"
}
rr() {
	xval "$R" "$1"
}

# ---- certificates for two accounts ----
{
	order O1 jane@acme.example "Acme Corp" 40 1
	order O2 bob@acme.example "Acme Corp" 40 0
	order O3 carol@acme.example "Acme Corp" 40 0
	order O4 dave@acme.example "Acme Corp" 40 0
	order O5 erin@acme.example "Acme Corp" 40 0
	order O6 kc@acme.example "Acme Corp" 40 0
	order O7 kc@acme.example "Acme Corp" 40 0 "$(csr_for "$T/keys/kc@acme.example.key" kc@acme.example)"
	order O8 ctl@acme.example "Acme Corp" 40 1
} | batch acme B1
order P1 pat@beta.example "Beta Corp" 40 0 | batch beta BB1
run_once
check_eq "acme certificates issued" 8 "$(sql "SELECT count(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B1' AND c.state = 'issued'")"
check_eq "beta certificate issued" 1 "$(ncerts pat@beta.example)"
check_eq "the two kc certificates share a key" 1 "$(sql "SELECT count(DISTINCT c.spki_sha256) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'kc@acme.example'")"
s_carol=$(serial_of carol@acme.example)
s_kc=$(sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id WHERE o.ext_id = 'O6'")
s_pat=$(serial_of pat@beta.example)
S_CAROL=$(echo "$s_carol" | tr a-f A-F)
tomorrow=$(date -u -d "@$(($(date +%s) + DAY))" +%Y-%m-%dT%H:%M:%SZ)
past=$(date -u -d "@$(($(date +%s) - 3 * DAY))" +%Y-%m-%dT%H:%M:%SZ)

# ---- the leaver document ----
revocation acme REV-1 <<EOF
  <revoke email="jane@acme.example" reason="affiliationChanged"/>
  <revoke order="O2" batch="B1" reason="cessationOfOperation" at="$past"/>
  <revoke serial="$S_CAROL" reason="privilegeWithdrawn"/>
  <revoke email="dave@acme.example" reason="affiliationChanged" at="$tomorrow"/>
  <revoke email="erin@acme.example" reason="affiliationChanged" at="$tomorrow"/>
  <revoke serial="$s_kc" reason="keyCompromise"/>
  <revoke email="nobody@acme.example" reason="unspecified"/>
  <revoke serial="$s_pat" reason="unspecified"/>
  <revoke email="pat@beta.example" reason="unspecified"/>
EOF
run_once
check "document archived" test -f "$S/archive/acme/REV-1.xml"
R=$OA/REV-1.1.result.xml
check "revocationResult written" test -f "$R"
check "it is well-formed" xmllint --noout "$R"
check_eq "result root" "revocationResult urn:certspool:result:1 REV-1 acme 1" \
    "$(rr 'concat(local-name(/*), " ", namespace-uri(/*), " ", /*/@revocation, " ", /*/@account, " ", /*/@seq)')"
check_eq "by mailbox: revoked" affiliationChanged "$(revoked jane@acme.example)"
check_eq "by order: revoked" cessationOfOperation "$(revoked bob@acme.example)"
check_eq "by serial (upper-case hex): revoked" privilegeWithdrawn "$(revoked carol@acme.example)"
check_eq "by mailbox in the result" "affiliationChanged" "$(rr 'string(//*[local-name()="revoked"][@email="jane@acme.example"]/@reason)')"
check_eq "result names the serial" "$(serial_of jane@acme.example)" "$(rr 'string(//*[local-name()="revoked"][@email="jane@acme.example"]/@serial)')"
check_eq "revocationDate is now, a past at is the invalidity date" 1 \
    "$(sql "SELECT CASE WHEN c.revoked_at > c.invalidity_at AND c.invalidity_at = $(date -u -d "$past" +%s) THEN 1 ELSE 0 END FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'bob@acme.example'")"
check_eq "no invalidity date without at" "" "$(sql "SELECT c.invalidity_at FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'jane@acme.example'")"
check_eq "revoked at is in the result" "$(date -u -d "@$(sql "SELECT c.revoked_at FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'jane@acme.example'")" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(rr 'string(//*[local-name()="revoked"][@email="jane@acme.example"]/@at)')"
check_eq "keyCompromise revokes both certificates with the key" "keyCompromise keyCompromise" \
    "$(sql "SELECT $(q_agg c.revoke_reason ' ') FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'kc@acme.example'")"
check_eq "both listed in the result" 2 "$(rr 'count(//*[local-name()="revoked"][@email="kc@acme.example"])')"
check "the key is blocked" test "$(sql "SELECT count(*) FROM compromised_key k JOIN certificate c ON c.spki_sha256 = k.spki_sha256 WHERE c.serial = '$s_kc'")" -ge 1
check_eq "revoked certificates in the result" 5 "$(rr 'count(//*[local-name()="revoked"])')"
check_eq "pending ones in the result" "dave@acme.example erin@acme.example" \
    "$(rr '//*[local-name()="pending"]/@email' | sed 's/ *email="\([^"]*\)"/\1/' | tr '\n' ' ' | sed 's/ $//')"
check_eq "pending at" "$tomorrow" "$(rr 'string(//*[local-name()="pending"][@email="dave@acme.example"]/@at)')"
check_eq "not yet revoked" "-" "$(revoked dave@acme.example)"
check_eq "nothing selected: not_found" not_found "$(rr 'string(//*[local-name()="notRevoked"][@email="nobody@acme.example"]/@problem)')"
check_eq "another account's serial: not_found" not_found "$(rr "string(//*[local-name()='notRevoked'][@serial='$s_pat']/@problem)")"
check_eq "another account's mailbox: not_found" not_found "$(rr 'string(//*[local-name()="notRevoked"][@email="pat@beta.example"]/@problem)')"
check_eq "the other account's certificate stays" "-" "$(revoked pat@beta.example)"
check_eq "not_found never counts as revoked" 3 "$(rr 'count(//*[local-name()="notRevoked"])')"
check_eq "notRevoked names the line" 9 "$(rr 'string(//*[local-name()="notRevoked"][@email="nobody@acme.example"]/@line)')"
check_eq "nothing of beta revoked in the acme result" 0 "$(rr 'count(//*[local-name()="revoked"][contains(@email, "beta.example")])')"
check_eq "in the document's order" "revoked revoked revoked pending pending revoked revoked notRevoked notRevoked notRevoked" \
    "$(rr '/*/*' | sed -n 's/^ *<\([a-zA-Z]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//')"
# messages
M=$(grep -l "^Subject: Certificate revoked for jane@acme.example" "$S"/mail/*.eml | head -n 1)
check "revoked message for jane" test -n "$M"
check "to the recipient" grep -q "^To: jane@acme.example" "$M"
check "additional emails in Cc" grep -q "^Cc: hr@acme.example" "$M"
check "message names the reason" sh -c "tr -d '\r' <'$M' | grep -q 'Reason: affiliationChanged'"
check_eq "one message per revoked certificate" 5 "$(grep -l '^Subject: Certificate revoked for' "$S"/mail/*.eml | wc -l)"
check_eq "none for beta" 0 "$(grep -l '^Subject: Certificate revoked for pat@beta.example' "$S"/mail/*.eml | wc -l)"
# consequences
check_eq "revoked recipient cancelled" "cancelled certificate_revoked" "$(sql "SELECT state || ' ' || reason FROM recipient WHERE email = 'jane@acme.example'")"
check_eq "no renewal notice for the revoked one" 0 "$(ls "$S/mail" | grep -c "^renewal-due-$(sql "SELECT id FROM recipient WHERE email = 'jane@acme.example'")-")"
check_eq "the control gets its notice" 1 "$(ls "$S/mail" | grep -c "^renewal-due-$(sql "SELECT id FROM recipient WHERE email = 'ctl@acme.example'")-")"
# status
cs status >"$T/status.out"
erin_id=$(rr 'string(//*[local-name()="pending"][@email="erin@acme.example"]/@id)')
dave_id=$(rr 'string(//*[local-name()="pending"][@email="dave@acme.example"]/@id)')
check "status lists the pending revocation with its id" grep -q "^$erin_id acme email=erin@acme.example affiliationChanged $tomorrow REV-1" "$T/status.out"
cs status B1 >"$T/status-b1.out"
check "status BATCH shows revoked certificates" grep -q "^revoked $(serial_of jane@acme.example) jane@acme.example order O1 reason affiliationChanged at " "$T/status-b1.out"
check "status ORDER too" sh -c "cs() { '$BIN' --config '$T/certspool.conf' \"\$@\"; }; cs status O3 | grep -q '^revoked $s_carol carol@acme.example order O3 reason privilegeWithdrawn'"

# ---- withdraw, then the pending one happens ----
check "withdraw" cs revoke --withdraw "$erin_id"
check_not "withdraw twice" cs revoke --withdraw "$erin_id"
R=$OA/REV-1.2.result.xml
check "a later result for the withdrawal" test -f "$R"
check_eq "it says withdrawn" withdrawn "$(rr 'string(//*[local-name()="notRevoked"][@email="erin@acme.example"]/@problem)')"
check_eq "dave still pending in it" "$dave_id" "$(rr 'string(//*[local-name()="pending"]/@id)')"
run_once
check "no new result while nothing happens" test ! -f "$OA/REV-1.3.result.xml"
at 2
run_once
R=$OA/REV-1.3.result.xml
check "a later result when the pending one happens" test -f "$R"
check_eq "it happened" affiliationChanged "$(revoked dave@acme.example)"
check_eq "the result says so" 1 "$(rr 'count(//*[local-name()="revoked"][@email="dave@acme.example"])')"
check_eq "and lists nothing else" 1 "$(rr 'count(/*/*)')"
check_eq "the withdrawn one never happens" "-" "$(revoked erin@acme.example)"
cs status >"$T/status2.out"
check_not "no pending line left" grep -q "email=" "$T/status2.out"

# ---- no reissue, no renewal of revoked recipients ----
at 15
run_once
cs renew --due >/dev/null
run_once
check_eq "the control was renewed" 2 "$(ncerts ctl@acme.example)"
check_eq "the revoked one was not" 1 "$(ncerts jane@acme.example)"
check_eq "still cancelled" cancelled "$(sql "SELECT state FROM recipient WHERE email = 'jane@acme.example'")"

# ---- the compromised key in another account ----
order P2 kc2@beta.example "Beta Corp" 40 0 "$(csr_for "$T/keys/kc@acme.example.key" kc2@beta.example)" | batch beta BB2
run_once
check_eq "a CSR with the blocked key is refused in another account" "rejected csr_key_compromised" \
    "$(sql "SELECT state || ' ' || reason FROM recipient WHERE email = 'kc2@beta.example'")"

# ---- a crash after the commit, before the result ----
{
	order O9 fin@acme.example "Acme Corp" 40 0
	order O10 gil@acme.example "Acme Corp" 40 0
} | batch acme B2
run_once
revocation acme REV-2 <<EOF
  <revoke email="fin@acme.example" reason="affiliationChanged"/>
EOF
dead_nodes_wait
CERTSPOOL_CRASH_AT=before_revocation_result "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
check_eq "crash: the revocation is committed" affiliationChanged "$(revoked fin@acme.example)"
check "crash: no result yet" test ! -f "$OA/REV-2.1.result.xml"
revocation acme REV-3 <<EOF
  <revoke email="gil@acme.example" reason="affiliationChanged"/>
EOF
dead_nodes_wait
CERTSPOOL_CRASH_AT=after_parse_commit "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
check_eq "crash after the document's commit: applied whole" affiliationChanged "$(revoked gil@acme.example)"
run_once
check "after the restart: the result, same seq" test -f "$OA/REV-2.1.result.xml"
check_eq "it reports the revocation" "fin@acme.example" "$(xval "$OA/REV-2.1.result.xml" 'string(//*[local-name()="revoked"]/@email)')"
check "no second seq" test ! -f "$OA/REV-2.2.result.xml"
check "the other document archived and answered" test -f "$S/archive/acme/REV-3.xml" -a -f "$OA/REV-3.1.result.xml"
check_eq "revoked once" 1 "$(sql "SELECT count(*) FROM event e JOIN recipient r ON r.id = e.recipient_id WHERE r.email = 'fin@acme.example' AND e.kind = 'certificate_revoked'")"
check_eq "one message" 1 "$(grep -l '^Subject: Certificate revoked for fin@acme.example' "$S"/mail/*.eml | wc -l)"

# ---- revoked already; a later keyCompromise changes the reason ----
s_jane=$(serial_of jane@acme.example)
t_jane=$(sql "SELECT revoked_at FROM certificate WHERE serial = '$s_jane'")
revocation acme REV-4 <<EOF
  <revoke email="jane@acme.example" reason="unspecified"/>
  <revoke serial="$s_jane" reason="keyCompromise"/>
EOF
run_once
R=$OA/REV-4.1.result.xml
check_eq "revoked before: already_revoked" already_revoked "$(rr 'string(//*[local-name()="notRevoked"][@email="jane@acme.example"]/@problem)')"
check_eq "keyCompromise replaces the reason" keyCompromise "$(revoked jane@acme.example)"
check_eq "and keeps the revocation date" "$t_jane" "$(sql "SELECT revoked_at FROM certificate WHERE serial = '$s_jane'")"
check_eq "reported as revoked" keyCompromise "$(rr "string(//*[local-name()='revoked'][@serial='$s_jane']/@reason)")"

# ---- keyCompromise reaches another account's certificate, unseen ----
cs account add gamma --balance 1000000 >/dev/null
validated_org gamma "Gamma Corp" acme.example >/dev/null || bail "gamma org"
order O11 xk@acme.example "Acme Corp" 40 0 | batch acme B3
order Q1 xk@acme.example "Gamma Corp" 40 0 "$(csr_for "$T/keys/xk@acme.example.key" xk@acme.example)" | batch gamma BG1
run_once
check_eq "one key, two accounts" "2 1" "$(sql "SELECT count(*) || ' ' || count(DISTINCT c.spki_sha256) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'xk@acme.example' AND c.state = 'issued'")"
s_xk=$(sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id WHERE o.ext_id = 'O11'")
s_xg=$(sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id WHERE o.ext_id = 'Q1'")
revocation acme REV-5 <<EOF
  <revoke serial="$s_xk" reason="keyCompromise"/>
EOF
run_once
R=$OA/REV-5.1.result.xml
check_eq "the other account's certificate with the key is revoked" keyCompromise "$(sql "SELECT revoke_reason FROM certificate WHERE serial = '$s_xg'")"
check_eq "the result shows only this account's" "1 0" "$(rr "concat(count(//*[local-name()='revoked']), ' ', count(//*[@serial='$s_xg']))")"
check "the other one is logged" grep -q "of account .* revoked: its key .* is compromised" "$T/daemon.log"
check_eq "and both recipients told" 2 "$(grep -l '^Subject: Certificate revoked for xk@acme.example' "$S"/mail/revoked-*.eml | wc -l)"
check "the message names the serial and account" grep -lq "^with serial number $s_xg" "$S"/mail/revoked-*.eml
f=$(grep -l "^with serial number $s_xg" "$S"/mail/revoked-*.eml | head -n 1)
check "and the account" grep -q "account gamma)" "$f"

# ---- a UTF-8 mailbox ----
order O12 "jörg@acme.example" "Acme Corp" 40 0 | batch acme B4
run_once
revocation acme REV-6 <<EOF
  <revoke email="jörg@acme.example" reason="affiliationChanged"/>
EOF
run_once
check_eq "UTF-8 mailbox revoked" affiliationChanged "$(revoked "jörg@acme.example")"
check_eq "in the result" "jörg@acme.example" "$(xval "$OA/REV-6.1.result.xml" 'string(//*[local-name()="revoked"]/@email)')"
check "its message" grep -lq "^To: jörg@acme.example" "$S"/mail/revoked-*.eml

# ---- rejected documents ----
revocation acme REV-BAD <<EOF
  <revoke email="ctl@acme.example" reason="affiliationChanged"/>
  <revoke email="ctl@acme.example" reason="certificateHold"/>
EOF
run_once
E=$S/rejected/acme/REV-BAD.xml.error.xml
check "bad reason rejects the document" test -f "$E"
check "the report names the line" test -n "$(xval "$E" 'string(//*[local-name()="problem"][@line="4"])')"
check_eq "nothing of it applied" "-" "$(revoked ctl@acme.example)"
revocation acme REV-SEL <<EOF
  <revoke email="ctl@acme.example" serial="01" reason="unspecified"/>
EOF
run_once
check "two selectors reject the document" grep -q "exactly one" "$S/rejected/acme/REV-SEL.xml.error.xml"
check_eq "no revocation from it" "-" "$(revoked ctl@acme.example)"
cp "$T/REV-1.xml" "$T/REV-1-again.xml"
drop acme "$T/REV-1-again.xml"
run_once
check "same file again: rejected" grep -q "not processed twice" "$S/rejected/acme/REV-1-again.xml.error.xml"
sed 's/nobody@/someone@/' "$T/REV-1.xml" >"$T/REV-1b.xml"
drop acme "$T/REV-1b.xml"
run_once
check "same id again: rejected, pointing to the first" sh -c "xmllint --xpath 'string(//*[local-name()=\"problem\"])' '$S/rejected/acme/REV-1b.xml.error.xml' | grep -q 'revocation id \"REV-1\" was already submitted in file \"REV-1.xml\"'"
revocation beta REV-OTHER <<EOF
  <revoke email="pat@beta.example" reason="affiliationChanged"/>
EOF
mv "$S/inbound/beta/REV-OTHER.xml" "$S/inbound/acme/REV-OTHER.xml"
run_once
check "a document naming another account is rejected" grep -q 'names account' "$S/rejected/acme/REV-OTHER.xml.error.xml"
revocation beta B1-ID <<EOF
  <revoke email="pat@beta.example" reason="affiliationChanged" at="2030-01-01T00:00:00+01:00"/>
EOF
run_once
check "a revocation id may be used in another account" test -f "$S/outbound/beta/B1-ID.1.result.xml"
check_eq "offset times are taken as UTC" "2029-12-31T23:00:00Z" "$(xval "$S/outbound/beta/B1-ID.1.result.xml" 'string(//*[local-name()="pending"]/@at)')"

# ---- the CLI ----
check "revoke --help" cs revoke --help
check "key block --help" cs key block --help
check_not "revoke without a reason" cs revoke --serial "$s_pat"
check_not "revoke with an unknown reason" cs revoke --serial "$s_pat" --reason certificateHold
check_not "revoke with two selectors" cs revoke --serial "$s_pat" --email pat@beta.example --reason unspecified
check_not "revoke nothing: not_found, exit 1" cs revoke --email nobody@beta.example --reason unspecified
check_not "email in another account: not_found" cs revoke --email pat@beta.example --account acme --reason unspecified
check_eq "still unrevoked" "-" "$(revoked pat@beta.example)"
check_eq "revoke --serial" "revoked $s_pat pat@beta.example account beta reason superseded" \
    "$(cs revoke --serial "$s_pat" --reason superseded | sed 's/ at .*//')"
check_eq "superseded does not cancel the recipient" issued "$(sql "SELECT state FROM recipient WHERE email = 'pat@beta.example'")"
check "revoked message for pat" grep -lq "^Subject: Certificate revoked for pat@beta.example" "$S"/mail/*.eml
out=$(cs revoke --order B1 O8 --reason unspecified --at 2031-01-01T00:00:00Z)
check "revoke --order --at in the future: pending" sh -c "echo '$out' | grep -q 'pending until 2031-01-01T00:00:00Z'"
cs status | grep -q "order=O8 batch=B1 unspecified 2031-01-01T00:00:00Z certspool revoke"
check_eq "status lists the CLI's pending request" 0 $?
cli_id=$(echo "$out" | sed -n 's/^revocation request \([0-9]*\) pending.*/\1/p')
check "withdraw the CLI's request" cs revoke --withdraw "$cli_id"
check_eq "withdrawn" withdrawn "$(sql "SELECT state FROM revoke_request WHERE id = '$cli_id'")"
check "status after the withdrawal" sh -c "'$BIN' --config '$T/certspool.conf' status >'$T/status3.out'"
check_not "status no longer lists it" grep -q 'order=O8' "$T/status3.out"
check_eq "revoke --email" "revoked $(serial_of ctl@acme.example) ctl@acme.example account acme reason cessationOfOperation" \
    "$(cs revoke --email ctl@acme.example --account acme --reason cessationOfOperation | head -n 1 | sed 's/ at .*//')"
# key block: a beta certificate, then its key is blocked by its certificate file
order P3 kb@beta.example "Beta Corp" 40 0 | batch beta BB3
run_once
sql "SELECT $(q_hex der) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'kb@beta.example'" | xxd -r -p >"$T/kb.der"
check "key block --cert" cs key block --cert "$T/kb.der"
check_eq "its certificate revoked keyCompromise" keyCompromise "$(revoked kb@beta.example)"
check_eq "the key listed" 1 "$(sql "SELECT count(*) FROM compromised_key k JOIN certificate c ON c.spki_sha256 = k.spki_sha256 JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'kb@beta.example'")"
csr ec:P-256 other@acme.example >"$T/other.csr"
check "key block --csr" cs key block --csr "$T/other.csr"
spki=$(openssl req -in "$T/other.csr" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
check_eq "the CSR's key listed" 1 "$(sql "SELECT count(*) FROM compromised_key WHERE spki_sha256 = '$spki'")"
check "key block --spki-sha256" cs key block --spki-sha256 "$(printf '%064d' 7)" --reason "lost laptop"
check_eq "with its reason" "lost laptop" "$(sql "SELECT reason FROM compromised_key WHERE spki_sha256 = '$(printf '%064d' 7)'")"
check_not "key block without a key" cs key block --reason x
check_not "key block with a short hash" cs key block --spki-sha256 abcd
check_eq "every revocation is an event" "$(sql "SELECT count(*) FROM certificate WHERE revoked_at IS NOT NULL")" \
    "$(sql "SELECT count(DISTINCT c.id) FROM event e JOIN certificate c ON c.recipient_id = e.recipient_id WHERE e.kind = 'certificate_revoked' AND c.revoked_at IS NOT NULL")"
finish
