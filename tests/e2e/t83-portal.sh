#!/bin/sh
# The recipient portal's confirmation and key generation pages over HTTP
# (curl against a real `certspool web`): a plain GET of a confirmation
# link validates nothing; only the POST with the anti-CSRF value does,
# once; expired links are refused; the keygen link is mailed once the
# validations are done, takes one PKCS#10 request (never a key), wakes
# the daemon, and its status gives the issued certificate; tokens of one
# account never show another's data.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../netlib.sh"
need curl curl
DAY=86400

setup
cs account add acme --balance 100000000 >/dev/null
cs account add beta --balance 100000000 >/dev/null
oid=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')
code=$(cs org request "$oid" | tail -n 1 | awk '{print $NF}')
cs org verify "$oid" "$code" >/dev/null
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
setconf web_listen "\"127.0.0.1:$PORT\""
setconf web_timeout_seconds 4
check "config takes the portal keys" cs account list

batch() {	# batch ID ACCOUNT PRODUCT ORG EMAIL...: one csrLater order
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"$2\">"
	echo "<order id=\"O1\"><product>$3</product>"
	[ "$4" = - ] || echo "<organization>$4</organization>"
	echo "<validity><days>365</days></validity>"
	shift 4
	for e in "$@"; do
		echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email><csrLater/></recipient>"
	done
	echo '<payment method="balance"/><agreement accepted="true"/></order></batch>'
}
batch P-1 acme secure_email_organization "Acme Corp" ops@acme.example dev@acme.example >"$T/p1.xml"
batch Q-1 beta secure_email_individual - carol@beta.example >"$T/q1.xml"
drop acme "$T/p1.xml"
drop beta "$T/q1.xml"
run_once

${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" web >"$T/web.log" 2>&1 &
WPID=$!
PIDS="$PIDS $WPID"
wait_port "$PORT" || bail "certspool web does not listen"

# ---- confirmation: Email DCV ----
L=$(mail_link confirm admin@acme.example)
check "the DCV message carries the portal link" test -n "$L"
case $L in "$BASE/confirm/"*) ok=yes ;; *) ok=no ;; esac
check_eq "the link is under web_base_url" yes "$ok"
check "the support token is still in the message" test -n "$(mail_token admin@acme.example)"
curl -s -o "$T/c.html" -w '%{http_code}' -c "$T/jar" "$L" >"$T/code"
check_eq "GET of the confirm link answers" 200 "$(cat "$T/code")"
check "the page names the domain" grep -q 'id="subject">acme.example<' "$T/c.html"
check "the page names the organization" grep -q 'id="org">Acme Corp<' "$T/c.html"
check "the page names the account that asked" grep -q 'id="account">the account &ldquo;acme&rdquo;' "$T/c.html"
check "the page gives the expiry" grep -q 'id="expires">20' "$T/c.html"
check "the page has the confirm button" grep -q 'id="confirm"' "$T/c.html"
curl -s -o /dev/null "$L"
curl -s -o /dev/null -A "Mail-Scanner/1.0" "$L"
check_eq "plain GETs validated nothing" "" "$(sql "SELECT validated_at FROM domain WHERE name = 'acme.example'")"
check_eq "the DCV is still open" open "$(sql "SELECT state FROM dcv WHERE method = 'email' ORDER BY id DESC LIMIT 1")"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/c.html")
check "the form carries an anti-CSRF value" test ${#csrf} -ge 32
check_eq "a POST without the anti-CSRF value is refused" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$L")"
check_eq "a POST with a wrong value is refused" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" --data "csrf=00$csrf" "$L")"
check_eq "refused POSTs validated nothing" "" "$(sql "SELECT validated_at FROM domain WHERE name = 'acme.example'")"
code=$(curl -s -o "$T/r.html" -w '%{http_code}' -b "$T/jar" --data "csrf=$csrf" "$L")
check_eq "the POST confirms" 200 "$code"
check "the answer says confirmed" grep -q 'id="result" data-state="confirmed"' "$T/r.html"
check "the domain is validated" test -n "$(sql "SELECT validated_at FROM domain WHERE name = 'acme.example' AND method = 'email'")"
check "the event records the portal and the address" test -n "$(sql "SELECT id FROM event WHERE kind = 'domain_validated' AND detail LIKE '%portal from 127.0.0.1%'")"
check "the daemon's wake-up file was touched" test -e "$S/portal/wake"
check_eq "the link works once (POST)" 410 \
    "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" --data "csrf=$csrf" "$L")"
code=$(curl -s -o "$T/u.html" -w '%{http_code}' "$L")
check_eq "the used link's page is gone" 410 "$code"
check "it says the link was used" grep -q "already used" "$T/u.html"
check_eq "an unknown token is 404" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/confirm/0123456789ABCDEFGHJKMNPQRSTVWXYZ")"
check_eq "a malformed token is 404" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/confirm/%3Cscript%3E")"

# ---- expiry: the mailbox control link of beta (24 hours) ----
LB=$(mail_link confirm carol@beta.example)
check "the mailbox control message carries a link" test -n "$LB"
P2=$(free_port)
sed "s|^web_listen = .*|web_listen = \"127.0.0.1:$P2\"|" "$T/certspool.conf" >"$T/late.conf"
CERTSPOOL_NOW=+$((DAY + 60)) "$BIN" --config "$T/late.conf" web >"$T/web-late.log" 2>&1 &
LPID=$!
PIDS="$PIDS $LPID"
wait_port "$P2" || bail "second portal does not listen"
LB2=$(echo "$LB" | sed "s|:$PORT/|:$P2/|")
code=$(curl -s -o "$T/e.html" -c "$T/jar2" -w '%{http_code}' "$LB2")
check_eq "an expired confirmation link is refused" 410 "$code"
check "the page says it is no longer valid" grep -q "no longer valid" "$T/e.html"
check_not "an expired link offers no button" grep -q 'id="confirm"' "$T/e.html"
check_eq "the mailbox is not validated" 0 "$(sql "SELECT count(*) FROM mailbox WHERE email = 'carol@beta.example' AND validated_at IS NOT NULL")"

# ---- isolation between accounts ----
curl -s -o "$T/b.html" -c "$T/jarb" "$LB"
check "beta's page shows beta's mailbox" grep -q 'carol@beta.example' "$T/b.html"
check_not "beta's page shows nothing of acme" grep -qi 'acme' "$T/b.html"
TOKB=${LB##*/}
check_eq "a confirm token is not a keygen token" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/keygen/$TOKB")"

# ---- the keygen link ----
run_once
K=$(mail_link keygen ops@acme.example)
check "the keygen link is mailed once the validations are done" test -n "$K"
check_eq "the recipient waits for its key" waiting_csr "$(sql "SELECT state FROM recipient WHERE email = 'ops@acme.example'")"
check_eq "one keygen token per recipient" 2 "$(sql "SELECT count(*) FROM portal_token WHERE kind = 'keygen'")"
check_eq "only its hash is stored" 0 "$(sql "SELECT count(*) FROM portal_token WHERE token_hash LIKE '%${K##*/}%'")"
run_once
check_eq "a later pass mails no second link" 2 "$(ls "$S"/mail/keygen-*.eml | wc -l)"
check_eq "nothing was mailed to beta's mailbox-unvalidated recipient" 0 "$(grep -l 'carol@beta.example' "$S"/mail/keygen-*.eml | wc -l)"
curl -s -o "$T/k.html" -c "$T/jark" "$K"
check "the keygen page says for whom" grep -q 'id="email">ops@acme.example<' "$T/k.html"
check "the page is in the waiting state" grep -q 'data-state="waiting_csr"' "$T/k.html"
check "the page loads the key generation script" grep -q '<script src="/assets/keygen.js"></script>' "$T/k.html"
check_not "the page has no inline script" grep -q '<script>' "$T/k.html"
check_not "acme's keygen page shows nothing of beta" grep -q 'beta' "$T/k.html"
kcsrf=$(sed -n 's/.*data-csrf="\([0-9a-f]*\)".*/\1/p' "$T/k.html")
curl -s "$K/status" >"$T/s.json"
check_eq "status before the request" waiting_csr "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$T/s.json")"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k.key" 2>/dev/null
openssl req -new -key "$T/k.key" -subj "/CN=ops@acme.example" -out "$T/k.csr" 2>/dev/null
post_csr() {	# post_csr FILE JAR CSRF: the HTTP status, the body in $T/p.json
	curl -s -o "$T/p.json" -w '%{http_code}' -b "$2" --data "csrf=$3" \
	    --data-urlencode "csr@$1" "$K"
}
check_eq "a request without the anti-CSRF value is refused" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "csr@$T/k.csr" "$K")"
printf 'not a request' >"$T/bad.csr"
check_eq "garbage is refused" 400 "$(post_csr "$T/bad.csr" "$T/jark" "$kcsrf")"
check "with a sentence" grep -q '"error":' "$T/p.json"
cat "$T/k.csr" "$T/k.key" >"$T/withkey.csr"
check_eq "a request carrying a private key is refused" 400 "$(post_csr "$T/withkey.csr" "$T/jark" "$kcsrf")"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/weak.key" 2>/dev/null
openssl req -new -key "$T/weak.key" -subj "/CN=x" -out "$T/weak.csr" 2>/dev/null
check_eq "a 1024-bit key is refused" 400 "$(post_csr "$T/weak.csr" "$T/jark" "$kcsrf")"
check_eq "refusals stored nothing" "" "$(sql "SELECT csr FROM recipient WHERE email = 'ops@acme.example'")"

# the daemon runs from here; only the portal's wake-up can start a pass
setconf poll_seconds 3600
dead_nodes_wait
${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" daemon >"$T/daemon-bg.log" 2>&1 &
DPID=$!
PIDS="$PIDS $DPID"
sleep 1
check_eq "the request is taken" 200 "$(post_csr "$T/k.csr" "$T/jark" "$kcsrf")"
check "the answer is submitted" grep -q '"state":"submitted"' "$T/p.json"
t0=$(date +%s)
i=0
while [ $i -lt 10 ]; do
	curl -s "$K/status" >"$T/s.json"
	grep -q '"state":"issued"' "$T/s.json" && break
	i=$((i + 1))
done
t1=$(date +%s)
check "the status gives the issued certificate" grep -q '"state":"issued"' "$T/s.json"
check "within 10 s of the request (the daemon was woken)" test $((t1 - t0)) -le 10
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2],"w").write(d["cert_pem"]); open(sys.argv[3],"w").write(d["chain_pem"])' \
    "$T/s.json" "$T/cert.pem" "$T/chain.pem"
check_eq "the certificate carries the posted key" \
    "$(openssl pkey -in "$T/k.key" -pubout)" "$(openssl x509 -in "$T/cert.pem" -noout -pubkey)"
check "it verifies for S/MIME signing with the chain given" \
    openssl verify -purpose smimesign -CAfile "$T/ca/root.pem" -untrusted "$T/chain.pem" "$T/cert.pem"
check "the token is used, from the client's address" test -n "$(sql "SELECT id FROM portal_token WHERE kind = 'keygen' AND used_at IS NOT NULL AND used_from = '127.0.0.1'")"
check "the event names the page and the address" test -n "$(sql "SELECT id FROM event WHERE kind = 'csr_received' AND detail LIKE 'key generation page, from 127.0.0.1%'")"
check_eq "the link takes one request" 409 "$(post_csr "$T/k.csr" "$T/jark" "$kcsrf")"
curl -s -o "$T/k2.html" "$K"
check "the page comes back in the issued state" grep -q 'data-state="issued"' "$T/k2.html"

# a keygen link unused for 30 days expires
KD=$(mail_link keygen dev@acme.example)
P3=$(free_port)
sed "s|^web_listen = .*|web_listen = \"127.0.0.1:$P3\"|" "$T/certspool.conf" >"$T/late3.conf"
CERTSPOOL_NOW=+$((31 * DAY)) "$BIN" --config "$T/late3.conf" web >"$T/web-late3.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$P3" || bail "third portal does not listen"
KD3=$(echo "$KD" | sed "s|:$PORT/|:$P3/|")
check_eq "an expired keygen link is refused" 410 \
    "$(curl -s -o "$T/x.html" -c "$T/jar3" -w '%{http_code}' "$KD3")"
curl -s -o "$T/x2.html" -c "$T/jar3" "$BASE/" >/dev/null
c3=$(sed -n 's/.*certspool_csrf\t\([0-9a-f]*\).*/\1/p' "$T/jar3" | head -n 1)
openssl req -new -key "$T/k.key" -subj "/CN=dev@acme.example" -out "$T/d.csr" 2>/dev/null
check_eq "and takes no request" 410 "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar3" \
    --data "csrf=$c3" --data-urlencode "csr@$T/d.csr" "$KD3")"
check_eq "dev@ still has no CSR" "" "$(sql "SELECT csr FROM recipient WHERE email = 'dev@acme.example'")"
check "the portal logged its requests" grep -q "/keygen/" "$T/web.log"
check_not "the log never shows a whole token" grep -q "${K##*/}" "$T/web.log"
kill "$DPID"; wait "$DPID" 2>/dev/null
finish
