#!/bin/sh
# The browser asset web/assets/keygen.js on its own: a stand-in keygen page
# (tests/web/keygen-server.py, with the portal's Content-Security-Policy)
# signs the posted request with a throwaway CA made here; Debian's chromium,
# driven by tests/web/portal-flow.mjs, generates the key, submits, waits
# and downloads cert.pem, chain.pem, cert.p7b and a certificate.p12 built
# in the browser.  OpenSSL checks every file (algorithms, key against
# certificate, passwords), the requests the server received (only a CSR,
# no private key), the key kept in IndexedDB across a reload, the refusals
# (CSP, CSRF, short password), the asset's header and license file, and
# that make web-assets rebuilds the committed bytes.
. "$(dirname "$0")/../lib.sh"
need_tools node openssl python3
[ -x /usr/bin/chromium ] || bail "missing /usr/bin/chromium (make deps: sh scripts/install-deps.sh test)"
W=$ROOT/tests/web
ASSETS=$ROOT/web/assets
if [ ! -d "$W/node_modules/playwright-core" ]; then
	(cd "$W" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
	    bail "npm ci in tests/web failed (playwright-core)"
fi
flow() {
	node "$W/portal-flow.mjs" "$@"
}

# --- the committed asset: header, no eval, licenses -----------------------
lockver() {	# lockver PACKAGE: its version in web/package-lock.json
	node -e 'const l = require(process.argv[1]);
	    const p = l.packages["node_modules/" + process.argv[2]];
	    console.log(p ? p.version : "")' "$ROOT/web/package-lock.json" "$1"
}
head -n 4 "$ASSETS/keygen.js" >"$T/header"
check "asset header names its version" grep -q '^/\*! certspool keygen.js [0-9][0-9.]*:' "$T/header"
for p in pkijs asn1js des.js esbuild; do
	v=$(lockver "$p")
	check "lock file pins $p" test -n "$v"
	check "asset header names $p $v" grep -qF "$p $v" "$T/header"
done
check_not "asset has no eval" grep -qE '(^|[^.A-Za-z0-9_$])eval\(' "$ASSETS/keygen.js"
check_not "asset has no new Function" grep -qE 'new Function\(|[^A-Za-z0-9_$.]Function\(' "$ASSETS/keygen.js"
check_not "asset loads nothing from another origin" grep -qE 'https?://[a-z]' "$ASSETS/keygen.js"
for p in $(sed -n 's/^ \* Bundles: //p' "$T/header" | tr ',' '\n' | awk '{ print $1 }'); do
	check "license text of $p" grep -q "^$p [0-9]" "$ASSETS/THIRD-PARTY-LICENSES.txt"
done
check "BSD license of pkijs included" grep -q "Redistribution and use in source and binary forms" "$ASSETS/THIRD-PARTY-LICENSES.txt"

# --- a throwaway CA and the stand-in server -------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
    -subj "/O=Test/CN=Test Issuing CA" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
    bail "test CA"
cat >"$T/leaf.ext" <<'EOF'
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = emailProtection
subjectAltName = email:pat@acme.example
EOF
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$W/keygen-server.py" "$PORT" "$ASSETS" "$T" >"$T/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; cleanup' EXIT
trap 'exit 1' INT TERM
wait_until 10 test -f "$T/server.ready" || bail "server did not start: $(cat "$T/server.log")"
BASE=http://127.0.0.1:$PORT

pub_of_cert() {
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null
}
pub_of_p12() {	# pub_of_p12 P12 PASSWORD
	openssl pkcs12 -in "$1" -passin "pass:$2" -nocerts -nodes 2>/dev/null |
	    openssl pkey -pubout 2>/dev/null
}
der_of() {	# the DER of a PEM certificate on stdin, hex
	openssl x509 -outform DER 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

# run TOKEN ALG P12ALG PASSWORD: the whole flow in the browser, then checks
run() {
	tok=$1 alg=$2 p12alg=$3 pw=$4
	o=$T/out-$tok
	if ! flow keygen "$BASE/keygen/$tok" --alg "$alg" --p12pass "$pw" \
	    --p12alg "$p12alg" --out "$o" --shot "$T/$tok.png" \
	    >"$T/$tok.json" 2>"$T/$tok.err"; then
		check_eq "$tok: browser flow" "ok" "$(cat "$T/$tok.err")"
		return
	fi
	pass=$((pass + 1))
	check "$tok: screenshot" test -s "$T/$tok.png"
	check "$tok: driver lists the four files" grep -q '"files":\["cert.pem","chain.pem","cert.p7b","certificate.p12"\]' "$T/$tok.json"
	p12=$o/certificate.p12
	# the certificate and chain are the server's
	check_eq "$tok: cert.pem is the issued certificate" "$(der_of <"$T/$tok.crt")" "$(der_of <"$o/cert.pem")"
	check_eq "$tok: chain.pem is the CA" "$(der_of <"$T/ca.pem")" "$(der_of <"$o/chain.pem")"
	check "$tok: certificate verifies" openssl verify -CAfile "$T/ca.pem" -purpose smimesign "$o/cert.pem"
	# PKCS#12
	check "$tok: P12 opens with its password" openssl pkcs12 -in "$p12" -passin "pass:$pw" -noout
	check_not "$tok: P12 refuses a wrong password" openssl pkcs12 -in "$p12" -passin "pass:${pw}x" -noout
	openssl pkcs12 -in "$p12" -passin "pass:$pw" -info -noout >"$T/$tok.info" 2>&1
	if [ "$p12alg" = aes256 ]; then
		check "$tok: MAC sha256" grep -q '^MAC: sha256, Iteration 2048' "$T/$tok.info"
		check_eq "$tok: key and certs PBES2/PBKDF2/AES-256-CBC/SHA-256, 600000" 2 \
		    "$(grep -c 'PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256' "$T/$tok.info")"
		check_not "$tok: no 3DES" grep -q 'TripleDES' "$T/$tok.info"
	else
		check "$tok: MAC sha1" grep -q '^MAC: sha1, Iteration 2048' "$T/$tok.info"
		check_eq "$tok: key and certs 3DES/SHA-1, 2048" 2 \
		    "$(grep -c 'pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048' "$T/$tok.info")"
		check_not "$tok: no AES" grep -q 'AES' "$T/$tok.info"
	fi
	check "$tok: shrouded key bag" grep -q '^Shrouded Keybag' "$T/$tok.info"
	openssl pkcs12 -in "$p12" -passin "pass:$pw" -nodes >"$T/$tok.all" 2>/dev/null
	check "$tok: friendlyName" grep -q 'friendlyName: pat@acme.example' "$T/$tok.all"
	check_eq "$tok: localKeyID on key and certificate" 2 "$(grep -c 'localKeyID:' "$T/$tok.all")"
	check_eq "$tok: P12 key is the certificate's" "$(pub_of_cert "$o/cert.pem")" "$(pub_of_p12 "$p12" "$pw")"
	check "$tok: P12 has a key" test -n "$(pub_of_p12 "$p12" "$pw")"
	check_eq "$tok: P12 certificate is the issued one" "$(der_of <"$o/cert.pem")" \
	    "$(openssl pkcs12 -in "$p12" -passin "pass:$pw" -clcerts -nokeys 2>/dev/null | der_of)"
	check_eq "$tok: P12 carries the chain" "$(der_of <"$T/ca.pem")" \
	    "$(openssl pkcs12 -in "$p12" -passin "pass:$pw" -cacerts -nokeys 2>/dev/null | der_of)"
	# PKCS#7
	check_eq "$tok: cert.p7b holds certificate and chain" 2 \
	    "$(openssl pkcs7 -inform DER -in "$o/cert.p7b" -print_certs 2>/dev/null | grep -c '^subject=')"
	check_eq "$tok: cert.p7b first certificate is the issued one" "$(der_of <"$o/cert.pem")" \
	    "$(openssl pkcs7 -inform DER -in "$o/cert.p7b" -print_certs 2>/dev/null | der_of)"
	# the request the server received
	csr=$T/$tok.csr
	check "$tok: CSR signature verifies" openssl req -in "$csr" -verify -noout
	openssl req -in "$csr" -noout -text >"$T/$tok.csrtext" 2>/dev/null
	if [ "$alg" = rsa2048 ]; then
		check "$tok: CSR RSA 2048" grep -q 'Public-Key: (2048 bit)' "$T/$tok.csrtext"
		check "$tok: CSR rsaEncryption" grep -q 'Public Key Algorithm: rsaEncryption' "$T/$tok.csrtext"
		check "$tok: CSR exponent 65537" grep -q 'Exponent: 65537' "$T/$tok.csrtext"
		check "$tok: CSR sha256WithRSAEncryption" grep -q 'Signature Algorithm: sha256WithRSAEncryption' "$T/$tok.csrtext"
	else
		check "$tok: CSR EC P-256" grep -q 'NIST CURVE: P-256' "$T/$tok.csrtext"
		check "$tok: CSR ecdsa-with-SHA256" grep -q 'Signature Algorithm: ecdsa-with-SHA256' "$T/$tok.csrtext"
	fi
}

# bodies TOKEN: what the server received for it: POSTs, and their checks
posts() {
	python3 - "$T/requests.log" "$1" <<'EOF'
import json, sys, urllib.parse
log, tok = sys.argv[1], sys.argv[2]
n = 0
for line in open(log):
    r = json.loads(line)
    if r["method"] != "POST":
        continue
    if r["path"] != "/keygen/" + tok:
        if r["path"].endswith("/" + tok):
            print("POST to", r["path"]); sys.exit(1)
        continue
    f = urllib.parse.parse_qs(r["body"], strict_parsing=True)
    if set(f) != {"csrf", "csr"} or len(f["csr"]) != 1:
        print("fields", sorted(f)); sys.exit(1)
    c = f["csr"][0].strip()
    if not (c.startswith("-----BEGIN CERTIFICATE REQUEST-----") and
            c.endswith("-----END CERTIFICATE REQUEST-----") and
            c.count("-----BEGIN") == 1):
        print("not a lone CSR"); sys.exit(1)
    n += 1
print(n)
EOF
}

run rsa-aes rsa2048 aes256 'Correct horse 1'
run rsa-compat rsa2048 compat 'Battery staple 2'
run ec-aes p256 aes256 'Pässwörd €3 long'
for tok in rsa-aes rsa-compat ec-aes; do
	check_eq "$tok: one POST, only the CSR" 1 "$(posts "$tok")"
done
check_not "no private key was ever sent" grep -qiE 'PRIVATE(\+|%20| )KEY' "$T/requests.log"
check_eq "every POST was a keygen submission" 0 \
    "$(grep '"method": "POST"' "$T/requests.log" | grep -vc '"path": "/keygen/')"

# --- the key stays in the browser (IndexedDB) across a reload -------------
P=$T/profile
if flow keygen "$BASE/keygen/keep" --p12pass 'first password' --out "$T/keep1" \
    --profile "$P" >"$T/keep1.json" 2>"$T/keep1.err"; then
	pass=$((pass + 1))
else
	check_eq "keep: first visit" ok "$(cat "$T/keep1.err")"
fi
check_eq "keep: server says issued" issued \
    "$(python3 -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]))["state"])' "$BASE/keygen/keep/status")"
if flow keygen "$BASE/keygen/keep" --p12pass 'second password' --p12alg compat \
    --out "$T/keep2" --profile "$P" --shot "$T/keep2.png" >"$T/keep2.json" 2>"$T/keep2.err"; then
	pass=$((pass + 1))
else
	check_eq "keep: coming back, the key is found" ok "$(cat "$T/keep2.err")"
fi
check_eq "keep: P12 made on the second visit holds the certificate's key" \
    "$(pub_of_cert "$T/keep.crt")" "$(pub_of_p12 "$T/keep2/certificate.p12" 'second password')"
check_eq "keep: still a single POST" 1 "$(posts keep)"
flow keygen "$BASE/keygen/keep" --p12pass 'third password' --out "$T/keep3" 2>"$T/keep3.err" >/dev/null
check_eq "keep: another browser cannot make a P12" 1 $?
check "keep: another browser is told the key is not here" grep -q 'private key is not in this browser' "$T/keep3.err"

# --- leaving while the request is pending, coming back: polling resumes ---
flow keygen "$BASE/keygen/slow" --p12pass 'slow password' --out "$T/slow1" \
    --profile "$T/profile2" --timeout 2 >/dev/null 2>"$T/slow1.err"
check_eq "slow: the first visit leaves before issuance" 1 $?
check_eq "slow: the request was sent" 1 "$(posts slow)"
check_not "slow: not issued yet" test -s "$T/slow.crt"
if flow keygen "$BASE/keygen/slow" --p12pass 'slow password' --out "$T/slow2" \
    --profile "$T/profile2" >"$T/slow2.json" 2>"$T/slow2.err"; then
	pass=$((pass + 1))
else
	check_eq "slow: coming back while submitted, the page waits and finishes" ok "$(cat "$T/slow2.err")"
fi
check_eq "slow: P12 key is the certificate's" "$(pub_of_cert "$T/slow.crt")" \
    "$(pub_of_p12 "$T/slow2/certificate.p12" 'slow password')"
check_eq "slow: still a single POST" 1 "$(posts slow)"

# --- refusals -------------------------------------------------------------
flow keygen "$BASE/inline/csp" --p12pass 'long enough' --out "$T/csp" >/dev/null 2>"$T/csp.err"
check_eq "inline script on the page: the run fails" 1 $?
check "inline script blocked by the CSP and reported" grep -q 'CSP violation' "$T/csp.err"
flow keygen "$BASE/badcsrf/csrf" --p12pass 'long enough' --out "$T/csrf" >/dev/null 2>"$T/csrf.err"
check "wrong csrf: the server's refusal is shown" grep -q 'The form has expired' "$T/csrf.err"
check_eq "wrong csrf: nothing kept" 0 "$(ls "$T"/csrf.csr 2>/dev/null | wc -l)"
flow keygen "$BASE/keygen/short" --p12pass 'short' --out "$T/short" >/dev/null 2>"$T/short.err"
check "short P12 password refused" grep -q 'at least 8 characters' "$T/short.err"
check_not "short P12 password: no file" test -e "$T/short/certificate.p12"

# --- the driver's other pages (stand-ins of the page contract) -----------
mkdir -p "$T/pub"
cp "$T/rsa-aes.crt" "$T/pub/cert.pem"
cp "$T/ca.pem" "$T/pub/chain.pem"
openssl crl2pkcs7 -nocrl -certfile "$T/rsa-aes.crt" -certfile "$T/ca.pem" \
    -outform DER -out "$T/pub/cert.p7b" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/pk.key" -subj /CN=pickup \
    -out "$T/pk.crt" 2>/dev/null
openssl pkcs12 -export -inkey "$T/pk.key" -in "$T/pk.crt" -passout pass:bundle-pw \
    -out "$T/pub/bundle.p12" 2>/dev/null
check_eq "driver: confirm" confirmed "$(flow confirm "$BASE/confirm/c1" "$T/confirm.png" 2>"$T/confirm.err")"
check "driver: confirm screenshot" test -s "$T/confirm.png"
check_eq "driver: confirm posted the csrf field" 1 \
    "$(grep -c '"method": "POST", "path": "/confirm/c1", "body": "csrf=csrf-7f3a9c"' "$T/requests.log")"
check_eq "driver: pickup" picked_up "$(flow pickup "$BASE/pickup/p1" --out "$T/pick" --shot "$T/pickup.png" 2>"$T/pickup.err")"
check "driver: pickup saved bundle.p12" cmp "$T/pick/bundle.p12" "$T/pub/bundle.p12"
check "driver: pickup screenshot" test -s "$T/pickup.png"
flow cert "$BASE/cert/k1" --out "$T/cert" >"$T/cert.json" 2>"$T/cert.err"
check_eq "driver: cert" 0 $?
for f in cert.pem chain.pem cert.p7b; do
	check "driver: cert saved $f" cmp "$T/cert/$f" "$T/pub/$f"
done

# --- make web-assets rebuilds the committed bytes ---------------------------
if (cd "$ROOT/web" && timeout 60 npm ping >/dev/null 2>&1); then
	if make -s -C "$ROOT" web-assets WEB_ASSETS="$T/rebuild" >"$T/rebuild.log" 2>&1; then
		check "rebuilt keygen.js is byte-identical to the committed one" \
		    cmp "$T/rebuild/keygen.js" "$ASSETS/keygen.js"
		check "rebuilt license file is identical" \
		    cmp "$T/rebuild/THIRD-PARTY-LICENSES.txt" "$ASSETS/THIRD-PARTY-LICENSES.txt"
	else
		check_eq "make web-assets" ok "$(tail -n 5 "$T/rebuild.log")"
	fi
else
	echo "SKIP: npm registry unreachable: make web-assets reproducibility not checked"
fi
finish
