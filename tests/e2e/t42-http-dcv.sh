#!/bin/sh
# HTTP practical-demonstration domain control validation against a
# loopback dnsmasq and a small Python HTTP server, both started (and
# killed) by this test: the value served under /.well-known/pki-validation/
# at http_dcv_port; 404, a wrong body, redirects to another host or port,
# too many redirects, a body over 64 KiB, a server that stalls past 10 s,
# NXDOMAIN, a refused connection; a chunked body; answers taken when
# complete though the server keeps the connection; the daemon finding
# the file by itself behind two same-host redirects.
. "$(dirname "$0")/../lib.sh"

# ---- loopback servers (127.0.0.1 only, killed on exit) ----
. "$(dirname "$0")/../netlib.sh"

# http_start: the loopback web server on $HTTPPORT serving $T/www by
# file name; NAME.redirect holds a Location, NAME.slow stalls 15 s,
# NAME.chunked sends NAME chunked, NAME.keepopen keeps the connection
# 15 s after the answer; every request is logged with its Host.
http_start() {
	mkdir -p "$T/www"
	cat >"$T/www.py" <<'PY'
import http.server, os, sys, time
port, root = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def empty(self, code, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        with open(os.path.join(root, "..", "access.log"), "a") as f:
            f.write("%s Host=%s\n" % (self.path, self.headers.get("Host")))
        p = os.path.join(root, os.path.basename(self.path))
        if os.path.exists(p + ".slow"):
            time.sleep(15)
        if os.path.exists(p + ".redirect"):
            return self.empty(302, [("Location", open(p + ".redirect").read().strip())])
        if not os.path.isfile(p):
            return self.empty(404)
        body = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if os.path.exists(p + ".chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                c = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        if os.path.exists(p + ".keepopen"):
            self.wfile.flush()
            time.sleep(15)
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
	python3 "$T/www.py" "$HTTPPORT" "$T/www" >>"$T/www.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$HTTPPORT" || echo "web server did not start"
}
# hcheck DOMAIN: domain check, stderr in $T/err; prints the exit status
hcheck() {
	cs domain check "$1" >"$T/out" 2>"$T/err"
	echo $?
}
# http_dcv DOMAIN: open an HTTP DCV; sets URL, FILE and HTOK
http_dcv() {
	cs domain dcv "$1" --method http >"$T/http.out"
	URL=$(grep '^http://' "$T/http.out")
	HTOK=$(sed -n '/^http:\/\//{n;p;}' "$T/http.out")
	FILE=${URL##*/}
}

setup
DNSPORT=$(free_port)
HTTPPORT=$(free_port)
setconf dns_resolver "127.0.0.1:$DNSPORT"
setconf dns_timeout_seconds 2
setconf http_dcv_port "$HTTPPORT"
cs account add acme --balance 100000 >/dev/null
oid=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')
code=$(cs org request "$oid" | awk '{print $NF}')
cs org verify "$oid" "$code" >/dev/null
for d in web.test nohost.test closed.test chunk.test; do cs domain add "$oid" "$d" >/dev/null; done
dns_start --address=/web.test/127.0.0.1 --address=/other.test/127.0.0.1 \
    --address=/closed.test/127.0.0.2 --address=/chunk.test/127.0.0.1
http_start

order_xml HTTP-1 H1 ann@web.test secure_email_organization >"$T/h.xml"
drop acme "$T/h.xml"
run_once
check_eq "order waits for domain control" waiting_dcv "$(rstate "$(latest acme HTTP-1)" H1)"

http_dcv web.test
check "URL under /.well-known/pki-validation/ at http_dcv_port" sh -c "echo '$URL' | grep -Eq '^http://web\.test:$HTTPPORT/\.well-known/pki-validation/certspool-[0-9a-z]{16}\.txt$'"
check_eq "value to serve: 32 characters" 32 "${#HTOK}"
check_eq "file name stored, value only hashed" "$FILE|0" \
    "$(sql "SELECT value || '|' || (CASE WHEN token_hash = '$HTOK' THEN 1 ELSE 0 END) FROM dcv WHERE method = 'http'")"
W=$T/www

check_eq "no file: not validated" 1 "$(hcheck web.test)"
check "404 reported" grep -q "HTTP status 404" "$T/err"
check "request carried Host web.test:PORT" grep -q "^/.well-known/pki-validation/$FILE Host=web.test:$HTTPPORT$" "$T/access.log"

echo "not the value" >"$W/$FILE"
check_eq "wrong body: not validated" 1 "$(hcheck web.test)"
check "wrong body reported" grep -q "does not hold the value" "$T/err"

echo "$HTOK" >"$W/elsewhere"
echo "http://other.test:$HTTPPORT/.well-known/pki-validation/elsewhere" >"$W/$FILE.redirect"
check_eq "redirect to another host: not validated" 1 "$(hcheck web.test)"
check "other host refused" grep -q 'redirect to "http://other.test:.*" refused: only the same host and port' "$T/err"
check_not "the other host was never asked" grep -q "Host=other.test" "$T/access.log"

echo "http://web.test:1/.well-known/pki-validation/elsewhere" >"$W/$FILE.redirect"
check_eq "redirect to another port: not validated" 1 "$(hcheck web.test)"
check "other port refused" grep -q "refused: only the same host and port" "$T/err"

echo "/.well-known/pki-validation/hop1" >"$W/$FILE.redirect"
echo "http://web.test:$HTTPPORT/.well-known/pki-validation/hop2" >"$W/hop1.redirect"
echo "/.well-known/pki-validation/hop3" >"$W/hop2.redirect"
echo "$HTOK" >"$W/hop3"
check_eq "three redirects: not validated" 1 "$(hcheck web.test)"
check "too many redirects reported" grep -q "more than 2 redirects" "$T/err"
check_not "the third redirect was not followed" grep -q "/hop3 " "$T/access.log"

rm -f "$W/$FILE.redirect"
python3 -c 'import sys; sys.stdout.write("x" * 70000 + "\n" + sys.argv[1] + "\n")' "$HTOK" >"$W/$FILE"
check_eq "body over 64 KiB: not validated" 1 "$(hcheck web.test)"
check "size limit reported" grep -q "larger than 64 KiB" "$T/err"

echo "$HTOK" >"$W/$FILE"
touch "$W/$FILE.slow"
t0=$(date +%s)
check_eq "stalling server: not validated" 1 "$(hcheck web.test)"
t1=$(date +%s)
check "time limit reported" grep -q "no complete answer within 10 s" "$T/err"
check "gave up after about 10 s" test $((t1 - t0)) -ge 9 -a $((t1 - t0)) -le 13
rm -f "$W/$FILE.slow"
check_eq "after all failures the dcv is still open" open "$(sql "SELECT state FROM dcv WHERE method = 'http' AND value = '$FILE'")"

http_dcv nohost.test
check_eq "NXDOMAIN host: not validated" 1 "$(hcheck nohost.test)"
check "NXDOMAIN reported" grep -q "nohost.test does not exist (NXDOMAIN)" "$T/err"

http_dcv closed.test
check_eq "nothing listening: not validated" 1 "$(hcheck closed.test)"
check "refused connection reported" grep -q "connect to 127.0.0.2:$HTTPPORT: Connection refused" "$T/err"

http_dcv chunk.test
printf 'certspool validation\n%s\n' "$HTOK" >"$W/$FILE"
touch "$W/$FILE.chunked" "$W/$FILE.keepopen"
t0=$(date +%s)
check_eq "chunked body with the value: validated" 0 "$(hcheck chunk.test)"
check "complete chunked answer taken without waiting for the close" test $(( $(date +%s) - t0 )) -le 5
check "says validated by HTTP" grep -q "domain chunk.test of organization $oid \"Acme Corp\" validated by HTTP" "$T/out"

# web.test: two same-host redirects, then the value; the daemon looks itself
WFILE=$(sql "SELECT value FROM dcv d JOIN domain m ON m.id = d.domain_id WHERE m.name = 'web.test' AND d.method = 'http'")
echo "/.well-known/pki-validation/r1" >"$W/$WFILE.redirect"
echo "/.well-known/pki-validation/hop3" >"$W/r1.redirect"
rm -f "$W/hop2.redirect"
touch "$W/hop3.keepopen"
t0=$(date +%s)
run_once
check "complete answer (Content-Length) taken without waiting for the close" test $(( $(date +%s) - t0 )) -le 8
check_eq "daemon fetched it through two redirects: issued" issued "$(rstate "$(latest acme HTTP-1)" H1)"
check_eq "web.test validated by http" http "$(sql "SELECT method FROM domain WHERE name = 'web.test'")"

stop_servers
finish
