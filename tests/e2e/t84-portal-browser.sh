#!/bin/sh
# The recipient's side of the ordering workflow in a real browser (Debian
# chromium driven by playwright-core, tests/web/portal-flow.mjs), against
# a running daemon and `certspool web`: a batch with a csrLater recipient
# on a domain not yet validated, and a recipient with a server-generated
# key.  The DCV message's link is confirmed in the browser; the keygen
# message follows; the browser makes the key, sends the request, shows the
# certificate and builds a PKCS#12 whose key matches the issued
# certificate; the server-generated PKCS#12 is picked up once and purged.
# Screenshots of the three pages go to $SHOTS (default: the work
# directory); SHOTS=docs refreshes the README's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../netlib.sh"
need curl curl
need node nodejs
[ -x /usr/bin/chromium ] || bail "chromium missing (apt-get install chromium)"
[ -d "$ROOT/tests/web/node_modules/playwright-core" ] ||
    bail "playwright-core missing (npm ci in tests/web; sh scripts/install-deps.sh test, or make test, does it)"
FLOW="node $ROOT/tests/web/portal-flow.mjs"
SHOTS=${SHOTS:-$T/shots}
case $SHOTS in /*) ;; *) SHOTS=$ROOT/$SHOTS ;; esac
mkdir -p "$SHOTS"

setup
cs account add acme --balance 100000000 >/dev/null
oid=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')
code=$(cs org request "$oid" | tail -n 1 | awk '{print $NF}')
cs org verify "$oid" "$code" >/dev/null
PORT=$(free_port)
setconf web_listen "\"127.0.0.1:$PORT\""
setconf poll_seconds 3600	# only inotify (the spool, the portal) wakes it

cat >"$T/b.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<batch xmlns="urn:certspool:batch:1" id="WEB-1" account="acme">
<order id="O1"><product>secure_email_organization</product>
<organization>Acme Corp</organization><validity><days>365</days></validity>
<recipient><commonName type="email">ops@acme.example</commonName><email>ops@acme.example</email><csrLater/></recipient>
<payment method="balance"/><agreement accepted="true"/></order>
<order id="O2"><product>secure_email_organization</product>
<organization>Acme Corp</organization><validity><days>365</days></validity>
<recipient><commonName type="email">kim@acme.example</commonName><email>kim@acme.example</email><keygen algorithm="rsa-2048"/></recipient>
<payment method="balance"/><agreement accepted="true"/></order>
</batch>
XML

${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" web >"$T/web.log" 2>&1 &
PIDS="$PIDS $!"
dead_nodes_wait
${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" daemon >"$T/daemon.log" 2>&1 &
DPID=$!
PIDS="$PIDS $DPID"
wait_port "$PORT" || bail "certspool web does not listen"
sleep 0.5
drop acme "$T/b.xml"

# 1. the DCV message, confirmed in the browser
wait_until 30 mail_link confirm admin@acme.example || bail "no DCV message"
L=$(mail_link confirm admin@acme.example)
out=$($FLOW confirm "$L" "$SHOTS/portal-confirm.png" 2>"$T/flow1.err")
check_eq "the browser confirms the domain" confirmed "$out"
check "the domain is validated by Email DCV" test -n "$(sql "SELECT validated_at FROM domain WHERE name = 'acme.example' AND method = 'email'")"
check "screenshot of the confirmation page" test -s "$SHOTS/portal-confirm.png"

# 2. the keygen message arrives (the portal woke the daemon)
wait_until 30 mail_link keygen ops@acme.example || bail "no keygen message"
K=$(mail_link keygen ops@acme.example)
PW="correct horse battery staple"
$FLOW keygen "$K" --alg rsa2048 --p12pass "$PW" --p12alg aes256 \
    --out "$T/kg" --shot "$SHOTS/portal-keygen.png" >"$T/kg.json" 2>"$T/flow2.err"
check "the browser made the key and got the certificate" test -s "$T/kg/certificate.p12"
[ -s "$T/kg/certificate.p12" ] || cat "$T/flow2.err"
check "screenshot of the keygen page, certificate issued" test -s "$SHOTS/portal-keygen.png"
sql "SELECT $(q_hex der) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'ops@acme.example' AND c.state = 'issued'" |
    python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$T/db.der"
openssl x509 -inform DER -in "$T/db.der" -out "$T/db.pem" 2>/dev/null
check "the issued certificate is in the database" test -s "$T/db.pem"
check_eq "the page's cert.pem is the issued certificate" \
    "$(openssl x509 -in "$T/db.pem" -noout -fingerprint -sha256)" \
    "$(openssl x509 -in "$T/kg/cert.pem" -noout -fingerprint -sha256)"
check "the browser-built PKCS#12 opens with the chosen password" \
    openssl pkcs12 -in "$T/kg/certificate.p12" -passin "pass:$PW" -nodes -out "$T/kg/all.pem"
check "it is AES-256-CBC with PBKDF2 and a SHA-256 MAC" sh -c \
    "openssl pkcs12 -in '$T/kg/certificate.p12' -passin 'pass:$PW' -info -noout 2>&1 | grep -q 'PBES2, PBKDF2, AES-256-CBC' && openssl pkcs12 -in '$T/kg/certificate.p12' -passin 'pass:$PW' -info -noout 2>&1 | grep -q 'MAC: sha256'"
openssl pkey -in "$T/kg/all.pem" -out "$T/kg/key.pem" 2>/dev/null
check_eq "its key matches the issued certificate" \
    "$(openssl x509 -in "$T/db.pem" -noout -pubkey)" "$(openssl pkey -in "$T/kg/key.pem" -pubout)"
check "its key is RSA 2048" sh -c "openssl pkey -in '$T/kg/key.pem' -noout -text | grep -q 'Private-Key: (2048 bit'"
check_not "a wrong password does not open it" \
    openssl pkcs12 -in "$T/kg/certificate.p12" -passin pass:wrong -nodes -out /dev/null
check "the certificate verifies for S/MIME signing" \
    openssl verify -purpose smimesign -CAfile "$T/ca/root.pem" -untrusted "$T/kg/chain.pem" "$T/kg/cert.pem"
check "cert.p7b holds the certificate" sh -c \
    "openssl pkcs7 -inform DER -in '$T/kg/cert.p7b' -print_certs | grep -q 'ops@acme.example'"
echo "signed by the browser's key" >"$T/msg.txt"
check "the browser's key signs S/MIME that verifies" sh -c \
    "openssl cms -sign -binary -in '$T/msg.txt' -signer '$T/kg/cert.pem' -inkey '$T/kg/key.pem' -certfile '$T/kg/chain.pem' -out '$T/msg.p7s' && openssl cms -verify -binary -in '$T/msg.p7s' -CAfile '$T/ca/root.pem' -purpose smimesign -out /dev/null"
sql "SELECT csr FROM recipient WHERE email = 'ops@acme.example'" >"$T/ops.csr"
check "the server holds the CSR" test -s "$T/ops.csr"
check_not "the server never held the private key" grep -q 'PRIVATE' "$T/ops.csr"
check_eq "the recipient is issued" issued "$(sql "SELECT state FROM recipient WHERE email = 'ops@acme.example'")"

# 3. the server-generated key: one pickup
wait_until 30 mail_link pickup kim@acme.example || bail "no pickup link"
P=$(mail_link pickup kim@acme.example)
out=$($FLOW pickup "$P" --out "$T/pk" --shot "$SHOTS/portal-pickup.png" 2>"$T/flow3.err")
check_eq "the browser picks the PKCS#12 up and confirms the import" picked_up "$out"
check "screenshot of the pickup page" test -s "$SHOTS/portal-pickup.png"
pm=$(grep -l "^To: kim@acme.example" "$S"/mail/p12pass-*.eml | head -n 1)
kpw=$(tr -d '\r' <"$pm" | sed -n 's/^    \([A-Za-z0-9-]*\)$/\1/p' | head -n 1)
check "the downloaded bundle.p12 opens with the mailed password" \
    openssl pkcs12 -in "$T/pk/bundle.p12" -passin "pass:$kpw" -nodes -out /dev/null
check_eq "the stored PKCS#12 is purged" 0 "$(sql "SELECT count(*) FROM certificate WHERE p12 IS NOT NULL")"
check_eq "the pickup link is spent" 410 "$(curl -s -o /dev/null -w '%{http_code}' "$P")"
kill "$DPID"
finish
