#!/bin/sh
# Coverage and auto-renewal (SPEC 2.1, 3.2): a 3-year order's certificate
# runs at most 825 days and is reissued before it expires, without a new
# charge, once the validations are current again (until then the reissue
# waits like an order and the result says so); autoRenew 1 sends one
# "renewal due" notice, then renews and charges exactly once; a
# cancelled order is never renewed.  The clock is moved with
# CERTSPOOL_NOW=+SECONDS.
. "$(dirname "$0")/../lib.sh"
setup
OB=$S/outbound/acme
DAY=86400
cs account add acme --balance 1000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)

order() {
	echo "<order id=\"$1\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
	echo "<validity>$3</validity><autoRenew>$4</autoRenew>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email><csr>$(csr ec:P-256 "$2")</csr></recipient>"
	echo "<additionalEmails>hr@acme.example</additionalEmails>"
	echo "${5:-<payment method=\"balance\"/>}<agreement accepted=\"true\"/></order>"
}
batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		cat
		echo '</batch>'
	} >"$T/$1.xml"
	drop acme "$T/$1.xml"
}
rval() {
	xval "$1" "string(//*[local-name()=\"recipient\"][@email=\"$2\"]/@$3)"
}
# at DAYS: the clock for what follows
at() {
	CERTSPOOL_NOW=+$(($1 * DAY))
	export CERTSPOOL_NOW
}
charges() {
	sql "SELECT count(*) || '|' || COALESCE(sum(l.amount), 0) FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = '$1' AND l.kind = 'debit'"
}
epoch() {
	date -u -d "$(echo "$1" | sed 's/T/ /; s/Z$//')" +%s
}

# ---- orders at day 0 ----
order L1 long@acme.example "<years>3</years>" 0 | batch B-LONG
order R1 renew@acme.example "<days>40</days>" 1 | batch B-RENEW
order X1 leaver@acme.example "<days>40</days>" unlimited | batch B-CANCEL
run_once
R=$OB/B-LONG.1.result.xml
check_eq "3-year order issued" issued "$(rval "$R" long@acme.example state)"
nb=$(sql "SELECT c.not_before FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'long@acme.example'")
na=$(sql "SELECT c.not_after FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'long@acme.example'")
check "first certificate runs at most 825 days" test $((na - nb)) -le $((825 * DAY - 1))
check "and not much less" test $((na - nb)) -ge $((824 * DAY))
bsdtar -xOf "$OB/B-LONG.1.tar.gz" L1/long@acme.example/cert.pem >"$T/long0.pem"
check_eq "the certificate says so too" $((na - nb)) \
    $(($(epoch "$(openssl x509 -in "$T/long0.pem" -noout -enddate | cut -d= -f2 | xargs -I{} date -u -d {} +%Y-%m-%dT%H:%M:%SZ)") - $(epoch "$(openssl x509 -in "$T/long0.pem" -noout -startdate | cut -d= -f2 | xargs -I{} date -u -d {} +%Y-%m-%dT%H:%M:%SZ)")))
ce=$(epoch "$(rval "$R" long@acme.example coverageEnd)")
check "coverage runs 3 years, beyond the certificate" test "$ce" -ge $((nb + 1095 * DAY - 1)) -a "$ce" -gt "$na"
check_eq "charged once, 3 years" "1|-9900" "$(charges L1)"
serial0=$(rval "$R" long@acme.example serial)

# ---- renewal notice, once ----
run_once
check_eq "one renewal notice for the 40-day auto-renewing order" 1 "$(ls "$S/mail" | grep -c "^renewal-due-$(sql "SELECT id FROM recipient WHERE email = 'renew@acme.example'")-")"
N=$(ls "$S"/mail/renewal-due-*.eml | head -n 1)
check "notice to the recipient" grep -q "^To: renew@acme.example" "$S"/mail/renewal-due-$(sql "SELECT id FROM recipient WHERE email = 'renew@acme.example'")-0.eml
check "notice copied to the additional emails" grep -q "^Cc: hr@acme.example" "$N"
check "notice says how to cancel" sh -c "tr -d '\r' <'$N' | grep -q 'certspool order cancel B-'"
check_eq "no notice for a 3-year order without autoRenew" 2 "$(ls "$S/mail" | grep -c '^renewal-due-')"
run_once
check_eq "notices are sent once" 2 "$(ls "$S/mail" | grep -c '^renewal-due-')"

# ---- cancel a leaver ----
check "order cancel" cs order cancel B-CANCEL X1
check_not "unknown order" cs order cancel B-CANCEL NOPE
run_once
check_eq "cancelled in the next result" cancelled \
    "$(xval "$OB/B-CANCEL.2.result.xml" 'string(//*[local-name()="order"][@id="X1"]/@state)')"
check_eq "its certificate stays issued" issued "$(rval "$OB/B-CANCEL.2.result.xml" leaver@acme.example state)"
# a waiting order of a poor account is cancelled whole
cs account add poor >/dev/null
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="P-1" account="poor">'
	echo '<order id="Y1"><product>secure_email_individual</product><validity><years>1</years></validity>'
	echo '<recipient><commonName type="email">y@gmail.com</commonName><email>y@gmail.com</email><csrLater/></recipient>'
	echo '<payment method="balance"/><agreement accepted="true"/></order></batch>'
} >"$T/P-1.xml"
drop poor "$T/P-1.xml"
run_once
check "cancel a waiting order" cs order cancel P-1 Y1 --account poor
cs account deposit poor 100000 >/dev/null
run_once
check_eq "the waiting recipient is cancelled" cancelled "$(sql "SELECT state FROM recipient WHERE email = 'y@gmail.com'")"
check_eq "nothing charged to the poor account" 0 "$(sql "SELECT count(*) FROM ledger l JOIN account a ON a.id = l.account_id WHERE a.name = 'poor' AND l.kind = 'debit'")"

# ---- the renewal: not before the notice period, then once ----
at 12
run_once
check_eq "day 12: not renewed yet" "1|-3900" "$(charges R1)"
at 15
check_eq "renew --due (cron) starts the renewal" "reissues 0, renewals 1, renewal notices 0" "$(cs renew --due)"
run_once
RR=$(ls -t "$OB"/B-RENEW.*.result.xml | head -n 1)
check_eq "renewal issued" issued "$(rval "$RR" renew@acme.example state)"
check_eq "renewal charged like a new order" "2|-7800" "$(charges R1)"
check_eq "charged for its new round" "0 1" "$(sql "SELECT $(q_agg l.round ' ') FROM ledger l JOIN orders o ON o.id = l.order_id WHERE o.ext_id = 'R1' AND l.kind = 'debit'")"
check "renewal archive in outbound" test -f "${RR%.result.xml}.tar.gz"
check "renewal mailed as renewed" grep -lq "^Subject: Client certificate renewed for renew@acme.example" "$S"/mail/cert-*.eml
c1=$(sql "SELECT cov_end - cov_start + 1 FROM recipient WHERE email = 'renew@acme.example'")
check_eq "coverage extended by one period of 40 days" $((40 * DAY)) "$c1"
check_eq "the cancelled order was not renewed" "1|-3900" "$(charges X1)"
check_eq "renewals done" 1 "$(sql "SELECT renewals FROM recipient WHERE email = 'renew@acme.example'")"
at 70
run_once
check_eq "day 70: autoRenew 1 used up, no second renewal" "2|-7800" "$(charges R1)"
check_eq "no notice without renewals left" 2 "$(ls "$S/mail" | grep -c '^renewal-due-')"
check_eq "cancelled order never renewed" "1|-3900" "$(charges X1)"

# ---- the reissue near expiry of the 3-year order ----
at 800
run_once
RL=$(ls -t "$OB"/B-LONG.*.result.xml | head -n 1)
check_eq "day 800: the reissue waits for domain control" waiting_dcv "$(rval "$RL" long@acme.example state)"
check "the result says what it waits for" grep -q "acme.example" "$RL"
check_eq "the current certificate is still shown" "$serial0" "$(rval "$RL" long@acme.example serial)"
check_eq "no charge for the waiting reissue" "1|-9900" "$(charges L1)"
code=$(cs org request "$oid" | tail -n 1 | awk '{print $NF}')
check "organization validated again" cs org verify "$oid" "$code"
check "domain confirmed again" cs domain confirm "$(mail_token admin@acme.example)"
run_once
RL=$(ls -t "$OB"/B-LONG.*.result.xml | head -n 1)
check_eq "reissued" issued "$(rval "$RL" long@acme.example state)"
serial1=$(rval "$RL" long@acme.example serial)
check "with a new serial" test -n "$serial1" -a "$serial1" != "$serial0"
check_eq "no new charge for the reissue" "1|-9900" "$(charges L1)"
check "reissue archive in outbound" sh -c "bsdtar -tf '${RL%.result.xml}.tar.gz' | grep -q 'L1/long@acme.example/cert.pem'"
check_eq "the reissue ends with the coverage" "$(rval "$RL" long@acme.example coverageEnd)" "$(rval "$RL" long@acme.example notAfter)"
check_eq "coverage end kept from the first issuance" "$ce" "$(epoch "$(rval "$RL" long@acme.example coverageEnd)")"
check_eq "rounds: first superseded, second issued" "0 superseded|1 issued" \
    "$(sql "SELECT $(q_agg "c.round || ' ' || c.state" '|') FROM (SELECT * FROM certificate ORDER BY round) c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'long@acme.example'")"
check "reissue mailed as reissued" grep -lq "^Subject: Client certificate reissued for long@acme.example" "$S"/mail/cert-*.eml
run_once
check "no further reissue" test "$(ls -t "$OB"/B-LONG.*.result.xml | head -n 1)" = "$RL"
check_eq "balance = deposits - debits" 0 \
    "$(sql "SELECT count(*) FROM account a WHERE a.balance != (SELECT COALESCE(sum(amount), 0) FROM ledger l WHERE l.account_id = a.id AND l.kind IN ('deposit', 'debit', 'refund'))")"
finish
