#!/bin/sh
# The one pickup of a server-generated key and copies later (README,
# Pickup, PKCS#12 retention, Copies): the issued message's links, the
# pickup page and download through the real `certspool web`, the purge on
# the confirmed import (read from the database), the anti-CSRF refusal,
# retention by the daemon's pass, p12_in_archive = off, the cert page's
# files checked with openssl, and a re-written message after a crash
# carrying the same links.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../netlib.sh"
need curl curl
need_tools openssl sqlite3 tar
setup_acme
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
setconf web_listen "\"127.0.0.1:$PORT\""

# batch NAME RECIPIENT...: one order, a server-generated key for each.
batch() {
	id=$1
	shift
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$id\" account=\"acme\">"
		echo '  <attestation officer="Pat Lee" title="HR Director"/>'
		echo "  <order id=\"O-$id\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
		echo '  <signatureHash>sha384</signatureHash><validity><years>1</years></validity><autoRenew>0</autoRenew>'
		for e in "$@"; do
			echo "  <recipient><commonName type=\"email\">$e</commonName><email>$e</email><keygen algorithm=\"rsa-2048\"/></recipient>"
		done
		echo '  <agreement accepted="true"/></order>'
		echo '</batch>'
	} >"$T/$id.xml"
	drop acme "$T/$id.xml"
}
# msg KIND ADDRESS: the newest message of KIND (cert, p12pass) to ADDRESS.
msg() {
	grep -l "^To: $2" "$S"/mail/"$1"-*.eml 2>/dev/null | xargs -r ls -t | head -n 1
}
# link KIND ADDRESS: the /KIND/ link in ADDRESS's certificate message.
link() {
	m=$(msg cert "$2")
	[ -n "$m" ] && tr -d '\r' <"$m" | sed -n "s|^    \\($BASE/$1/[0-9A-Z]*\\)\$|\\1|p" | head -n 1
}
password() {
	tr -d '\r' <"$(msg p12pass "$1")" | sed -n 's/^    \([A-Za-z0-9-]*\)$/\1/p' | head -n 1
}
# status URL [FILE [CURL ARGS...]]: the HTTP status of a GET, the body
# into FILE (default: dropped).
status() {
	u=$1
	o=${2:-/dev/null}
	[ $# -ge 2 ] && shift
	shift
	curl -s -o "$o" -w '%{http_code}' "$@" "$u"
}
# csrf FILE: the csrf field of the page in FILE.
csrf() {
	sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$1" | head -n 1
}
cid() {
	sql "SELECT c.id FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' AND c.state = 'issued'"
}

# ---- issued messages carry the links; a crash re-writes the same ones
batch PICK-1 ann@acme.example bob@acme.example carl@acme.example
dead_nodes_wait
CERTSPOOL_CRASH_AT=after_mail_commit "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
check_eq "killed after the messages were published" 137 "$?"
first=$(link pickup ann@acme.example)
check "a pickup link before the crash" test -n "$first"
check_eq "not marked mailed" 0 "$(sql "SELECT sum(mailed) FROM certificate")"
run_once
check_eq "marked mailed after the restart" 3 "$(sql "SELECT sum(mailed) FROM certificate WHERE mailed = 1")"
check_eq "the re-written message has the same pickup link" "$first" "$(link pickup ann@acme.example)"
check_eq "one cert and one pickup token per certificate" "3 3" \
    "$(sql "SELECT count(*) FROM portal_token WHERE kind = 'cert'") $(sql "SELECT count(*) FROM portal_token WHERE kind = 'pickup'")"
check_eq "each token of its certificate's recipient" 0 \
    "$(sql "SELECT count(*) FROM portal_token t JOIN certificate c ON c.id = t.certificate_id WHERE c.recipient_id != t.recipient_id")"
check "the link key beside the database, mode 0600" test "$(stat -c %a "$T/portal-link.key")" = 600
db_dump >"$T/db.dump"
check "the database dumped" test -s "$T/db.dump"
check_not "no token in the database" grep -q "${first##*/}" "$T/db.dump"
for e in ann bob carl; do
	check "$e: a pickup link" test -n "$(link pickup $e@acme.example)"
	check "$e: a cert link" test -n "$(link cert $e@acme.example)"
done
check "the message says the archive also carries bundle.p12" grep -q "also in the certificate archive" "$(msg cert ann@acme.example)"
check_eq "the pickup token lives p12_retention_days" $((30 * 86400)) \
    "$(sql "SELECT t.expires - c.created FROM portal_token t JOIN certificate c ON c.id = t.certificate_id WHERE t.kind = 'pickup' AND c.id = $(cid ann@acme.example)")"
check_eq "the cert token lives until notAfter" 0 \
    "$(sql "SELECT t.expires - c.not_after FROM portal_token t JOIN certificate c ON c.id = t.certificate_id WHERE t.kind = 'cert' AND c.id = $(cid ann@acme.example)")"
A1=$S/outbound/acme/PICK-1.1.tar.gz
check "archive of PICK-1 carries bundle.p12" sh -c "tar -tzf '$A1' | grep -q 'ann@acme.example/bundle.p12'"

# ---- the portal
${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" web >>"$T/web.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PORT" || bail "certspool web does not listen (see $T/web.log)"

PA=$(link pickup ann@acme.example)
PB=$(link pickup bob@acme.example)
CA=$(link cert ann@acme.example)
J=$T/jar
curl -s -c "$J" -b "$J" -o "$T/pa.html" "$PA"
check "pickup page names ann" grep -q "ann@acme.example" "$T/pa.html"
check "pickup page names her serial" grep -q "$(sql "SELECT serial FROM certificate WHERE id = $(cid ann@acme.example)")" "$T/pa.html"
check "pickup page names the organization" grep -q "Acme Corp" "$T/pa.html"
check "pickup page has nothing of bob" sh -c "! grep -q 'bob@acme.example' '$T/pa.html'"
check "pickup page has the download link" grep -q "id=\"download\" href=\"/pickup/${PA##*/}/bundle.p12\"" "$T/pa.html"
check "pickup page has the confirm button" grep -q 'id="confirm-import"' "$T/pa.html"
curl -s -o "$T/pb.html" "$PB"
check "bob's page has nothing of ann" sh -c "! grep -q 'ann@acme.example' '$T/pb.html'"
check_eq "bundle.p12 downloads" 200 "$(status "$PA/bundle.p12" "$T/ann.p12" -c "$J" -b "$J")"
check_eq "the download is the stored PKCS#12" "$(sql "SELECT $(q_hex p12) FROM certificate WHERE id = $(cid ann@acme.example)")" \
    "$(od -An -v -tx1 "$T/ann.p12" | tr -d ' \n' | tr a-f A-F)"
check "the download is recorded with the address" test "$(sql "SELECT count(*) FROM event WHERE kind = 'p12_downloaded' AND detail LIKE '%127.0.0.1%'")" -ge 1
pw=$(password ann@acme.example)
check "password mailed separately" test -n "$pw"
check "bundle.p12 opens with the mailed password" openssl pkcs12 -in "$T/ann.p12" -passin "pass:$pw" -nodes -nocerts -out "$T/ann.key"
check "and holds the certificate" openssl pkcs12 -in "$T/ann.p12" -passin "pass:$pw" -nokeys -clcerts -out "$T/ann.crt"
check_eq "its key matches the certificate" "$(openssl pkey -in "$T/ann.key" -pubout 2>/dev/null | sha256sum)" \
    "$(openssl x509 -in "$T/ann.crt" -noout -pubkey 2>/dev/null | sha256sum)"
check_eq "the download purges nothing" 1 "$(sql "SELECT count(*) FROM certificate WHERE id = $(cid ann@acme.example) AND p12 IS NOT NULL")"

tok=$(csrf "$T/pa.html")
check "the form carries a csrf field" test -n "$tok"
check_eq "a POST without the csrf cookie is refused" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "csrf=$tok" "$PA")"
check_eq "a POST without the csrf field is refused" 403 \
    "$(curl -s -o /dev/null -w '%{http_code}' -c "$J" -b "$J" --data "x=1" "$PA")"
check_eq "a refused POST purges nothing" "1|0" \
    "$(sql "SELECT count(p12), count(p12_purged_at) FROM certificate WHERE id = $(cid ann@acme.example)")"
curl -s -c "$J" -b "$J" -o "$T/done.html" --data-urlencode "csrf=$tok" "$PA"
check "the confirmation answers picked_up" grep -q 'id="result" data-state="picked_up"' "$T/done.html"
check_eq "the PKCS#12 and its password are purged" "0|0|1" \
    "$(sql "SELECT count(p12), count(p12_password), count(p12_purged_at) FROM certificate WHERE id = $(cid ann@acme.example)")"
check_eq "the token is used, from the client's address" 127.0.0.1 \
    "$(sql "SELECT used_from FROM portal_token WHERE kind = 'pickup' AND certificate_id = $(cid ann@acme.example) AND used_at IS NOT NULL")"
check "an event records who and from where" test "$(sql "SELECT count(*) FROM event WHERE kind = 'p12_picked_up' AND detail LIKE '%ann@acme.example%127.0.0.1%' AND recipient_id = (SELECT recipient_id FROM certificate WHERE id = $(cid ann@acme.example))")" -eq 1
check_eq "bob's PKCS#12 is still there" 1 "$(sql "SELECT count(p12) FROM certificate WHERE id = $(cid bob@acme.example)")"
check_eq "the link then answers 410" 410 "$(status "$PA")"
curl -s -o "$T/used.html" "$PA"
check "saying when it was picked up" grep -q "picked up on" "$T/used.html"
check "and nothing of the recipient" sh -c "! grep -q 'ann@acme.example' '$T/used.html'"
check_eq "bundle.p12 then answers 410" 410 "$(status "$PA/bundle.p12")"
check_eq "a second confirmation answers 410" 410 \
    "$(curl -s -o /dev/null -w '%{http_code}' -c "$J" -b "$J" --data-urlencode "csrf=$tok" "$PA")"
check_eq "an unknown pickup token is 404" 404 "$(status "$BASE/pickup/0000000000000000000000000000ZZZZ")"
check_eq "a pickup token on the cert route is 404" 404 "$(status "$BASE/cert/${PB##*/}")"
check_eq "a cert token on the pickup route is 404" 404 "$(status "$BASE/pickup/${CA##*/}")"

# ---- copies later
curl -s -o "$T/ca.html" "$CA"
check "cert page names ann" grep -q "ann@acme.example" "$T/ca.html"
check "cert page has nothing of bob" sh -c "! grep -q 'bob@acme.example' '$T/ca.html'"
for id in dl-cert dl-chain dl-p7b; do
	check "cert page has #$id" grep -q "id=\"$id\"" "$T/ca.html"
done
mkdir -p "$T/x1"
(cd "$T/x1" && tar -xzf "$A1")
check_eq "cert.pem is the archive's" 200 "$(status "$CA/cert.pem" "$T/c.pem")"
check "cert.pem equals the archive's" cmp "$T/c.pem" "$T/x1/O-PICK-1/ann@acme.example/cert.pem"
check_eq "chain.pem downloads" 200 "$(status "$CA/chain.pem" "$T/chain.pem")"
check "chain.pem starts with the certificate" sh -c "openssl x509 -in '$T/chain.pem' -noout -serial | grep -qi '$(sql "SELECT serial FROM certificate WHERE id = $(cid ann@acme.example)")'"
check "chain.pem holds no private key" sh -c "! grep -q 'PRIVATE KEY' '$T/chain.pem'"
check "chain.pem verifies to the root" openssl verify -purpose smimesign -CAfile "$T/ca/root.pem" -untrusted "$T/chain.pem" "$T/c.pem"
check_eq "cert.p7b downloads" 200 "$(status "$CA/cert.p7b" "$T/c.p7b")"
check_eq "cert.p7b parses: the certificate and the chain" 3 "$(openssl pkcs7 -inform DER -in "$T/c.p7b" -print_certs 2>/dev/null | grep -c 'BEGIN CERTIFICATE')"
check "cert.p7b equals the archive's" cmp "$T/c.p7b" "$T/x1/O-PICK-1/ann@acme.example/cert.p7b"
check_eq "an unknown cert token is 404" 404 "$(status "$BASE/cert/0000000000000000000000000000ZZZZ")"

# ---- retention: a daemon pass past p12_retention_days purges carl's
CERTSPOOL_NOW=+$((31 * 86400)) run_once
check_eq "carl's unpicked PKCS#12 purged by retention" "0|0|1" \
    "$(sql "SELECT count(p12), count(p12_password), count(p12_purged_at) FROM certificate WHERE id = $(cid carl@acme.example)")"
check_eq "with an event, reason retention" 1 \
    "$(sql "SELECT count(*) FROM event WHERE kind = 'p12_purged' AND reason = 'retention' AND recipient_id = (SELECT recipient_id FROM certificate WHERE id = $(cid carl@acme.example))")"
check_eq "bob's too (not picked up either)" 0 "$(sql "SELECT count(p12) FROM certificate WHERE id = $(cid bob@acme.example)")"
check_eq "carl's pickup link then answers 410" 410 "$(status "$(link pickup carl@acme.example)")"
check_eq "and its bundle.p12 410" 410 "$(status "$(link pickup carl@acme.example)/bundle.p12")"
check_eq "carl's cert link still works" 200 "$(status "$(link cert carl@acme.example)")"

# ---- p12_in_archive = off: no bundle.p12 in the archive, the pickup works
sed -i 's/^p12_in_archive = .*/p12_in_archive = off/' "$T/certspool.conf"
batch PICK-2 dana@acme.example
run_once
A2=$S/outbound/acme/PICK-2.1.tar.gz
check "archive of PICK-2 written" test -f "$A2"
check "it has dana's cert.pem" sh -c "tar -tzf '$A2' | grep -q 'dana@acme.example/cert.pem'"
check "and no bundle.p12" sh -c "! tar -tzf '$A2' | grep -q 'bundle.p12'"
check "the message does not promise it in the archive" sh -c "! grep -q 'also in the certificate archive' '$(msg cert dana@acme.example)'"
PD=$(link pickup dana@acme.example)
check_eq "dana's pickup link works" 200 "$(status "$PD")"
check_eq "dana's bundle.p12 downloads" 200 "$(status "$PD/bundle.p12" "$T/dana.p12")"
check "and opens with her password" openssl pkcs12 -in "$T/dana.p12" -passin "pass:$(password dana@acme.example)" -nodes -nokeys -out /dev/null

# ---- a pass whose archive is written after the pickup: no bundle.p12,
# no stall (a crash before the archive, the pickup, then the restart)
sed -i 's/^p12_in_archive = .*/p12_in_archive = on/' "$T/certspool.conf"
batch PICK-3 erin@acme.example
dead_nodes_wait
CERTSPOOL_CRASH_AT=before_archive "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
check_eq "killed before the archive" 137 "$?"
PE=$(link pickup erin@acme.example)
check "erin's message went out before the archive" test -n "$PE"
curl -s -c "$J" -b "$J" -o "$T/pe.html" "$PE"
curl -s -c "$J" -b "$J" -o "$T/pe-done.html" --data-urlencode "csrf=$(csrf "$T/pe.html")" "$PE"
check "erin picked up" grep -q 'data-state="picked_up"' "$T/pe-done.html"
run_once
A3=$S/outbound/acme/PICK-3.1.tar.gz
R3=$S/outbound/acme/PICK-3.1.result.xml
check "the archive is written after the restart" test -f "$A3"
check "with erin's cert.pem" sh -c "tar -tzf '$A3' | grep -q 'erin@acme.example/cert.pem'"
check "without the purged bundle.p12" sh -c "! tar -tzf '$A3' | grep -q 'bundle.p12'"
check_eq "the result shows erin issued" issued "$(xval "$R3" "string(//*[local-name()='recipient'][@email='erin@acme.example']/@state)")"

stop_servers
finish
