#!/bin/sh
# certspool web, the recipient portal's HTTP layer: security headers and
# the CSP on every kind of answer, the anti-CSRF cookie and its check
# (and the Origin check) on POSTs, the body limit (413 and the
# connection closed), the whole-request deadline against a client that
# trickles its headers or its body, the connection caps (total and per
# address), the per-address rate limit of the token pages and its log
# line, path traversal and symbolic links, the CRL and issuing.cer
# served from crl_dir (openssl verify -crl_download against the portal,
# before and after a revocation), HTTPS with a self-signed certificate,
# a busy port, and a clean stop on SIGTERM.  Requests come from
# different 127.0.0.X addresses so that the sections' rate and
# connection counts stay apart.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/netlib.sh"
need_tools curl openssl python3
setup
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
setconf web_listen "127.0.0.1:$PORT"
setconf web_timeout_seconds 3
setconf web_rate_limit 5
setconf web_max_connections 8
setconf web_max_body_bytes 1024
setconf crl_url "$URL/crl/issuing.crl"
# web_base_url: host and port only (the pages are at the root)
for u in "http://portal.example/certs" "https://portal.example/" "https://" "ftp://portal.example"; do
	setconf web_base_url "\"$u\""
	"$BIN" --config "$T/certspool.conf" web >"$T/badurl.out" 2>&1
	check_eq "web_base_url $u refused at start" 1 $?
	check "the refusal names web_base_url ($u)" grep -q "web_base_url \"$u\" is not" "$T/badurl.out"
done
setconf web_base_url '"https://portal.example:8443"'
check "web_base_url with a port is accepted" "$BIN" --config "$T/certspool.conf" status
setconf web_base_url '""'
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
LOG=$T/web.log
WEBPID=""
start_web() {
	${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" web >>"$LOG" 2>&1 &
	WEBPID=$!
	PIDS="$PIDS $WEBPID"
	wait_port "$PORT" || echo "certspool web did not start: $(tail -n 3 "$LOG")"
}
stop_web() {	# the exit status in $webrc
	kill "$WEBPID" 2>/dev/null
	wait "$WEBPID"
	webrc=$?
	WEBPID=""
}
# hdr FILE NAME: the value of header NAME in a curl -D dump
hdr() {
	tr -d '\r' <"$1" | awk -v n="$2" 'BEGIN { n = tolower(n) }
	    { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { print substr($0, i + 2); exit } }'
}
# get FROM PATH ARGS...: curl from 127.0.0.FROM; headers in $T/h, body
# in $T/b; prints the status
get() {
	from=$1 path=$2
	shift 2
	curl -s --path-as-is --interface "127.0.0.$from" -D "$T/h" -o "$T/b" \
	    -w '%{http_code}' "$@" "$URL$path"
}
logcount() {
	grep -c "$1" "$LOG"
}

check_eq "web --help" "usage: certspool [--config FILE] web" "$(cs web --help | head -n 1)"

# A certificate whose CDP is the portal, and its CRL (as t73 does).
cs account add acme --balance 1000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null || bail "acme org"
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="W-1" account="acme">'
	for e in alice bob; do
		echo "<order id=\"O-$e\"><product>secure_email_organization</product>"
		echo "<organization>Acme Corp</organization><validity><days>90</days></validity>"
		echo "<recipient><commonName type=\"email\">$e@acme.example</commonName><email>$e@acme.example</email>"
		echo "<csr>$(csr ec:P-256 "$e@acme.example")</csr></recipient>"
		echo "<payment method=\"balance\"/><agreement accepted=\"true\"/></order>"
	done
	echo '</batch>'
} >"$T/w1.xml"
drop acme "$T/w1.xml"
run_once
cs crl >/dev/null 2>>"$T/crl.log"
for e in alice bob; do
	blob_to "$T/der.tmp" c.der "FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$e@acme.example'"
	openssl x509 -inform DER -in "$T/der.tmp" -out "$T/$e.pem" 2>/dev/null
done
check "certificates issued" test -s "$T/alice.pem" -a -s "$T/bob.pem"
check "the CRL is in crl_dir" test -s "$S/crl/issuing.crl"

start_web
check "the start is logged with the URL" grep -q "web: serving $URL on 127.0.0.1:$PORT" "$LOG"

# ---- security headers ----
for p in / /assets/portal.css /no/such/page; do
	st=$(get 2 "$p")
	check_eq "$p: CSP" "$CSP" "$(hdr "$T/h" Content-Security-Policy)"
	check_eq "$p: nosniff" nosniff "$(hdr "$T/h" X-Content-Type-Options)"
	check_eq "$p: Referrer-Policy" no-referrer "$(hdr "$T/h" Referrer-Policy)"
	check_eq "$p: X-Frame-Options" DENY "$(hdr "$T/h" X-Frame-Options)"
	check_eq "$p: COOP" same-origin "$(hdr "$T/h" Cross-Origin-Opener-Policy)"
	check "$p: a new anti-CSRF cookie, HttpOnly, SameSite=Strict, not Secure over http" sh -c \
	    "echo '$(hdr "$T/h" Set-Cookie)' | grep -Eq '^certspool_csrf=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Strict\$'"
	check_eq "$p: no HSTS over http" "" "$(hdr "$T/h" Strict-Transport-Security)"
	case $p in
	/) check_eq "/: 200" 200 "$st"
	   check_eq "/: not cached" no-store "$(hdr "$T/h" Cache-Control)"
	   check "/: the layout" sh -c "grep -q '^<!doctype html>' '$T/b' && grep -q '<html lang=\"en\">' '$T/b' && grep -q 'href=\"/assets/portal.css\"' '$T/b' && grep -q 'certspool — certificate portal' '$T/b'" ;;
	/assets/*) check_eq "asset: 200" 200 "$st"
	   check "asset: the file's bytes" cmp -s "$T/b" "$ROOT/web/assets/portal.css"
	   check_eq "asset: text/css" "text/css; charset=utf-8" "$(hdr "$T/h" Content-Type)"
	   check_eq "asset: cached briefly" max-age=300 "$(hdr "$T/h" Cache-Control)" ;;
	*) check_eq "unknown path: 404" 404 "$st"
	   check_eq "404: not cached" no-store "$(hdr "$T/h" Cache-Control)" ;;
	esac
done
check_eq "PUT /: 405" 405 "$(get 2 / -X PUT)"
check_eq "405: Allow" "GET, HEAD" "$(hdr "$T/h" Allow)"
check "405: the CSP too" test "$(hdr "$T/h" Content-Security-Policy)" = "$CSP"
check_eq "DELETE on a token page: 405" 405 "$(get 2 /confirm/abcdef -X DELETE)"
get 2 / -b "certspool_csrf=0123456789abcdef0123456789abcdef" >/dev/null
check_eq "a valid cookie is not replaced" "" "$(hdr "$T/h" Set-Cookie)"
get 2 / -b "certspool_csrf=nothex" >/dev/null
check "a malformed cookie is replaced" sh -c "echo '$(hdr "$T/h" Set-Cookie)' | grep -Eq '^certspool_csrf=[0-9a-f]{32};'"
check "the request log line" grep -Eq "web: GET / 200 127\.0\.0\.2 [0-9]+ ms" "$LOG"
get 2 /cert/ABCDEFGHIJKLMNOPQRST/cert.pem >/dev/null
check "the log shows only 6 characters of a token" sh -c \
    "grep -q 'web: GET /cert/ABCDEF/cert.pem ' '$LOG' && ! grep -q ABCDEFG '$LOG'"

# ---- anti-CSRF ----
n0=$(logcount "refused POST")
check_eq "POST without cookie or field: 403" 403 "$(get 3 /confirm/x -d a=b)"
check "a refusal without cookie is logged with peer and path" grep -q \
    "warning: web: refused POST /confirm/x from 127.0.0.3: no anti-CSRF cookie" "$LOG"
check_eq "POST with the cookie but no field: 403" 403 \
    "$(get 3 /confirm/x -b certspool_csrf=0123456789abcdef0123456789abcdef -d a=b)"
check_eq "POST with a mismatching field: 403" 403 \
    "$(get 3 /confirm/x -b certspool_csrf=0123456789abcdef0123456789abcdef -d csrf=0123456789abcdef0123456789abcdee)"
check "the mismatch is logged" grep -q "refused POST /confirm/x from 127.0.0.3: csrf field does not match" "$LOG"
check_eq "POST with a matching field from another Origin: 403" 403 \
    "$(get 3 /confirm/x -b certspool_csrf=0123456789abcdef0123456789abcdef -H 'Origin: https://evil.example' -d csrf=0123456789abcdef0123456789abcdef)"
check "the Origin refusal is logged" grep -q "refused POST /confirm/x from 127.0.0.3: Origin" "$LOG"
check_eq "POST with Origin: null and another csrf field: 403" 403 \
    "$(get 12 /confirm/x -b certspool_csrf=0123456789abcdef0123456789abcdef -H 'Origin: null' -d csrf=fedcba9876543210fedcba9876543210)"
st=$(get 12 /confirm/x -b certspool_csrf=0123456789abcdef0123456789abcdef -H 'Origin: null' -d csrf=0123456789abcdef0123456789abcdef)
check "POST with Origin: null (what no-referrer makes a browser send) and the matching field reaches the page" test "$st" != 403 -a "$st" != 429
check_eq "five refusals logged" 5 $(($(logcount "refused POST") - n0))
st=$(get 4 /confirm/x -b certspool_csrf=0123456789abcdef0123456789abcdef -H "Origin: $URL" -d "a=1&csrf=0123456789abcdef0123456789abcdef")
check "POST with a matching field and our Origin reaches the page" test "$st" != 403 -a "$st" != 429
check_eq "and is not refused" 5 $(($(logcount "refused POST") - n0))

# ---- body limit ----
head -c 5000 /dev/zero | tr '\0' a >"$T/big"
check_eq "body over web_max_body_bytes (Content-Length): 413" 413 \
    "$(get 5 /confirm/x --data-binary @"$T/big")"
check_eq "413: Connection: close" close "$(hdr "$T/h" Connection)"
check_eq "a chunked body (no length): 411" 411 \
    "$(get 5 /confirm/x -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")"
cat >"$T/big.py" <<'EOF'
import socket, sys, time
# Headers announcing a large body, then 4 KiB of it: the answer must be
# 413 and the server must close, not go on reading.
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"POST /confirm/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n")
try:
    s.sendall(b"a" * 4096)
except OSError:
    pass
data = b""
t = time.time()
while time.time() - t < 5:
    try:
        d = s.recv(65536)
    except OSError:
        break
    if not d:
        break
    data += d
print(data.split(b"\r\n", 1)[0].decode(), "closed" if time.time() - t < 5 else "open")
EOF
check_eq "a large body: 413 and closed" "HTTP/1.1 413 Content Too Large closed" \
    "$(python3 "$T/big.py" "$PORT" 2>&1 | sed 's/Payload Too Large/Content Too Large/')"

# ---- whole-request deadline (web_timeout_seconds = 3) ----
cat >"$T/slow.py" <<'EOF'
import socket, sys, time
# mode head: the request line, then one header byte a second;
# mode body: whole headers, then one body byte a second.
# Prints the seconds until the server closed (or 99).
s = socket.socket()
s.bind((sys.argv[3], 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
t = time.time()
if sys.argv[2] == "head":
    s.sendall(b"GET / HTTP/1.1\r\n")
    drip = b"X-Slow: " + b"a" * 60
else:
    s.sendall(b"POST /confirm/x HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n")
    drip = b"a" * 60
for c in drip:
    try:
        s.sendall(bytes([c]))
        d = s.recv(4096)
        if not d:
            break
    except socket.timeout:
        continue
    except OSError:
        break
print(int(time.time() - t))
EOF
n0=$(logcount "cut: request time limit")
secs=$(python3 "$T/slow.py" "$PORT" head 127.0.0.6)
check "slow headers: cut after 3 s, within 5 ($secs)" test "$secs" -ge 2 -a "$secs" -le 5
secs=$(python3 "$T/slow.py" "$PORT" body 127.0.0.6)
check "slow body: cut after 3 s, within 5 ($secs)" test "$secs" -ge 2 -a "$secs" -le 5
check "a cut is logged with the peer" grep -q "web: connection from 127.0.0.6 cut: request time limit of 3 s" "$LOG"
check "the cuts are logged" test $(($(logcount "cut: request time limit") - n0)) -ge 2

# ---- connection caps: 8 in all, 4 per address ----
cat >"$T/conns.py" <<'EOF'
import socket, sys, time
# Open N idle connections from each of the given source addresses;
# print how many the server kept open and how many it closed.
port, n, srcs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
socks = []
for a in srcs:
    for i in range(n):
        s = socket.socket()
        s.bind((a, 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
        time.sleep(0.02)
time.sleep(0.7)
alive = closed = 0
for s in socks:
    s.settimeout(0.05)
    try:
        d = s.recv(1)
        closed += 1 if not d else 0
        alive += 1 if d else 0
    except socket.timeout:
        alive += 1
    except OSError:
        closed += 1
print(alive, closed)
for s in socks:
    s.close()
EOF
sleep 1
check_eq "12 connections from 4 addresses: 8 kept, 4 refused" "8 4" \
    "$(python3 "$T/conns.py" "$PORT" 3 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14)"
sleep 1
check_eq "6 connections from one address: 4 kept, 2 refused" "4 2" \
    "$(python3 "$T/conns.py" "$PORT" 6 127.0.0.15)"
check_eq "the refusals are logged once a minute" 1 "$(logcount 'warning: web: connection caps: refused 1 connections')"
sleep 0.5
check_eq "served again afterwards" 200 "$(get 16 /)"

# ---- rate limit on token pages (web_rate_limit = 5) ----
sts=""
i=0
while [ $i -lt 6 ]; do
	sts="$sts $(get 20 /cert/RATE$i)"
	i=$((i + 1))
done
check "the first 5 token requests are answered" sh -c "! echo '$sts' | cut -d' ' -f2-6 | grep -q 429"
check_eq "the 6th token request in a minute: 429" 429 "$(echo "$sts" | awk '{print $6}')"
ra=$(hdr "$T/h" Retry-After)
check "429: Retry-After within the minute ($ra)" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 60
check "429: security headers" test "$(hdr "$T/h" Content-Security-Policy)" = "$CSP"
check_eq "the refusal is logged once" 1 "$(logcount 'rate limit: 127.0.0.20 refused 1 requests')"
check_eq "a 7th: 429 too" 429 "$(get 20 /keygen/RATE7)"
check_eq "no second line in the same minute" 0 "$(logcount 'rate limit: 127.0.0.20 refused 2 requests')"
check "static files are not limited" test "$(get 20 /assets/portal.css)" = 200
check "another address is not limited" test "$(get 21 /cert/RATE0)" != 429

# ---- path traversal, symbolic and hard links ----
cp "$T/certspool.conf" "$S/crl/copy.txt"
ln -s "$T/certspool.conf" "$S/crl/link.crl"
ln "$S/crl/copy.txt" "$S/crl/hard.crl"
for p in /assets/../certspool.conf /assets/%2e%2e/certspool.conf \
    /assets/..%2f..%2fMakefile /assets/.%2e/.%2e/Makefile \
    /crl/../certspool.conf /crl/%2e%2e%2fcertspool.conf /crl/%2e%2e/certspool.db \
    /crl/link.crl /crl/hard.crl /crl/copy.txt \
    /crl/ /crl/.issuing.crl /issuing.cer/x; do
	st=$(get 30 "$p")
	check_eq "$p: 404" 404 "$st"
	check "$p: no file content" sh -c "! grep -q 'web_listen\|^PKGS' '$T/b'"
done

# ---- the CRL and issuing.cer from crl_dir ----
check_eq "GET /crl/issuing.crl: 200" 200 "$(get 31 /crl/issuing.crl)"
check "the CRL downloaded equals the file" cmp -s "$T/b" "$S/crl/issuing.crl"
check_eq "CRL content type" application/pkix-crl "$(hdr "$T/h" Content-Type)"
check_eq "GET /issuing.cer: 200" 200 "$(get 31 /issuing.cer)"
check "issuing.cer equals the file" cmp -s "$T/b" "$S/crl/issuing.cer"
check_eq "issuing.cer content type" application/pkix-cert "$(hdr "$T/h" Content-Type)"
check_eq "HEAD /crl/issuing.crl: 200" 200 "$(get 31 /crl/issuing.crl -I)"
check_eq "POST /crl/issuing.crl: 405" 405 "$(get 31 /crl/issuing.crl -d a=b)"
CHAIN=$T/ca/chain.pem
n0=$(logcount "web: GET /crl/issuing.crl 200 127.0.0.1 ")
check "openssl verify -crl_check -crl_download against the portal: alice good" \
    openssl verify -crl_check -crl_download -CAfile "$CHAIN" "$T/alice.pem"
check "the portal served openssl's download" test $(($(logcount "web: GET /crl/issuing.crl 200 127.0.0.1 ") - n0)) -ge 1
serial=$(openssl x509 -in "$T/alice.pem" -noout -serial | sed 's/^serial=//')
cs revoke --serial "$serial" --reason keyCompromise >/dev/null 2>>"$T/revoke.log"
cs crl >/dev/null 2>>"$T/crl.log"
check "after revocation and crl: alice revoked through the portal" sh -c \
    "openssl verify -crl_check -crl_download -CAfile '$CHAIN' '$T/alice.pem' 2>&1 | grep -q 'certificate revoked'"
check "bob still good" openssl verify -crl_check -crl_download -CAfile "$CHAIN" "$T/bob.pem"

# ---- a busy port; SIGTERM ----
cs web >"$T/busy.out" 2>&1
check_eq "a second server on the same port: exit 1" 1 "$?"
check "it says the port is in use" grep -q "cannot listen on 127.0.0.1:$PORT: Address already in use" "$T/busy.out"
stop_web
check_eq "SIGTERM: exit 0" 0 "$webrc"
check "the stop is logged" grep -q "web: stopping" "$LOG"

# ---- HTTPS ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/tls.key" -out "$T/tls.pem" 2>/dev/null
PORT=$(free_port)
URL=https://127.0.0.1:$PORT
setconf web_listen "127.0.0.1:$PORT"
setconf web_tls_cert "$T/tls.pem"
setconf web_tls_key "$T/tls.key"
start_web
check "the start names the https URL" grep -q "web: serving $URL on 127.0.0.1:$PORT with TLS" "$LOG"
check_eq "HTTPS: / 200 with the CA file" 200 "$(get 40 / --cacert "$T/tls.pem")"
check_eq "HTTPS: HSTS" max-age=31536000 "$(hdr "$T/h" Strict-Transport-Security)"
check "HTTPS: the cookie is Secure" sh -c "echo '$(hdr "$T/h" Set-Cookie)' | grep -q '; Secure\$'"
check "HTTPS: the CSP" test "$(hdr "$T/h" Content-Security-Policy)" = "$CSP"
check_eq "HTTPS: the CRL" 200 "$(get 40 /crl/issuing.crl --cacert "$T/tls.pem")"
check_not "HTTPS: an unknown certificate is not trusted" curl -s -o /dev/null "$URL/"
check_not "HTTPS: plain http is not answered" curl -s -m 3 -o /dev/null "http://127.0.0.1:$PORT/"
check_not "HTTPS: TLS 1.1 refused" curl -s -o /dev/null --cacert "$T/tls.pem" --tls-max 1.1 "$URL/"
stop_web
check_eq "HTTPS: SIGTERM exit 0" 0 "$webrc"
finish
