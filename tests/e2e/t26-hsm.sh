#!/bin/sh
# The daemon with its CA key in a SoftHSM2 token (a token initialized in
# $T): `init --hsm` for a P-384 and an RSA-4096 CA; batches issued by
# `daemon --once` and by a running daemon verify with openssl and
# certtool under chain.pem; CRLs signed in the token verify and list a
# revoked serial; `ca import` of a key made with pkcs11-tool issues too;
# the token behind p11-kit's client module over a unix socket (as a
# network HSM's library): issuance, the server stopped and restarted.
# A wrong PIN and a missing token: a clear error in the log, the orders
# kept and issued exactly once when the PIN is fixed or the token is
# back: at start the daemon refuses to run (exit 1, one line naming the
# token) and the batch waits in inbound/; while it runs, a token gone is
# an error line with the reason, the certificates wait in their
# write-ahead records, nothing is rejected, and they are signed once the
# token is back.
. "$(dirname "$0")/../lib.sh"
need_tools softhsm2-util pkcs11-tool p11-kit openssl certtool sqlite3 xxd
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -f "$MOD" ] || bail "missing $MOD (Debian softhsm2)"
H=$T/hsm
mkdir -p "$H/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$H" >"$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
softhsm2-util --init-token --free --label certspool-hsm --so-pin 87654321 \
    --pin 135791 >/dev/null 2>&1 || bail "softhsm2-util --init-token"
printf '135791\n' >"$H/pin"
printf '000000\n' >"$H/badpin"
chmod 600 "$H/pin" "$H/badpin"
T0=$T

# hsm_setup DIR [CAKEY]: setup (tests/lib.sh) with the CA key in the token;
# T, S and the config then point at DIR.
hsm_setup() {
	T=$1
	init_dir "$T" --hsm "$MOD" --token certspool-hsm --pin-file "$H/pin" \
	    ${2:+--ca-key "$2"} >"$T0/init.out" 2>&1 || bail "init --hsm: $(cat "$T0/init.out")"
	sed -i 's/^settle_seconds = .*/settle_seconds = 0/' "$T/certspool.conf"
	sed -i "s|^card_processor_command = .*|card_processor_command = \"$ROOT/scripts/demo-card-processor $T/card-ledger.json\"|" "$T/certspool.conf"
	S=$T/spool
}
# stop_daemon: SIGTERM to the running daemon; wait for it and its signer
stop_daemon() {
	sp=$(ps -o pid=,args= --ppid "$dpid" | awk '/signer-process/ { print $1 }')
	kill "$dpid"
	wait "$dpid" 2>/dev/null
	[ -z "$sp" ] || wait_until 30 sh -c "! kill -0 $sp 2>/dev/null"
}
issued() {	# issued [BATCH]: issued certificates (of one batch)
	sql "SELECT count(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id
	    JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id
	    WHERE c.state = 'issued' ${1:+AND b.ext_id = '$1'}"
}
# verify_batch ID: every certificate of batch ID, from its archive,
# verifies under the archive's chain.pem with openssl and certtool;
# prints the number that do not.
verify_batch() {
	rm -rf "$T/x"
	mkdir -p "$T/x"
	tgz=$(ls "$S"/outbound/acme/"$1".*.tar.gz 2>/dev/null | head -n 1)
	[ -n "$tgz" ] || { echo missing; return; }
	tar -xzf "$tgz" -C "$T/x" || { echo untar; return; }
	bad=0 n=0
	for c in $(find "$T/x" -name cert.pem); do
		ch=$(dirname "$c")/chain.pem
		n=$((n + 1))
		openssl verify -CAfile "$T/ca/root.pem" -untrusted "$ch" -purpose smimesign "$c" >/dev/null 2>&1 || bad=$((bad + 1))
		cat "$c" "$ch" >"$T/x/full.pem"
		certtool --verify --load-ca-certificate "$T/ca/root.pem" --infile "$T/x/full.pem" >/dev/null 2>&1 || bad=$((bad + 1))
	done
	[ "$n" -gt 0 ] || bad=none
	echo "$bad"
}
# crl_verifies: the CRL verifies under the issuing CA
crl_verifies() {
	openssl crl -inform DER -in "$S/crl/issuing.crl" -CAfile "$T/ca/chain.pem" -noout 2>&1 | grep -q "verify OK"
}
crl_lists() {	# crl_lists SERIAL: the CRL lists SERIAL (hex)
	openssl crl -inform DER -in "$S/crl/issuing.crl" -noout -text |
	    sed -n 's/^ *Serial Number: //p' | tr 'a-f' 'A-F' |
	    grep -qx "$(echo "$1" | tr 'a-f' 'A-F')"
}
once_per_recipient() {	# recipients of batch $1 with other than one certificate
	sql "SELECT count(*) FROM (SELECT r.id FROM recipient r JOIN orders o ON o.id = r.order_id
	    JOIN batch b ON b.id = o.batch_id LEFT JOIN certificate c ON c.recipient_id = r.id
	    WHERE b.ext_id = '$1' GROUP BY r.id HAVING count(c.id) <> 1) x"
}

# ---- P-384 CA in the token ----
mkdir -p "$T0/p384"
hsm_setup "$T0/p384"
check "P-384 CA key: no ca.key" test ! -e "$T/ca/ca.key"
cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization validated" test -n "$oid"
csr_batch H1 3 sha384
drop acme "$T/H1.xml"
check_once "P-384: daemon --once" 0
check_eq "P-384: three certificates issued" 3 "$(issued H1)"
check_eq "P-384: they verify (openssl, certtool)" 0 "$(verify_batch H1)"
check "P-384: signed ECDSA with SHA-384" sh -c "openssl x509 -in '$(find "$T/x" -name cert.pem | head -n 1)' -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384'"
cs crl --now >/dev/null 2>"$T0/crl.err"
check "P-384: the CRL signed in the token verifies" crl_verifies
ser=$(sql "SELECT serial FROM certificate WHERE state = 'issued' LIMIT 1")
cs revoke --serial "$ser" --reason cessationOfOperation >/dev/null 2>&1
check "P-384: revoked" test "$(sql "SELECT count(*) FROM certificate WHERE serial = '$ser' AND revoked_at IS NOT NULL")" = 1
cs crl >/dev/null 2>>"$T0/crl.err"
check "P-384: the new CRL verifies" crl_verifies
check "P-384: it lists the revoked serial" crl_lists "$ser"

# ---- a wrong PIN: the daemon does not start, the batch waits ----
sed -i "s|^pkcs11_pin_file = .*|pkcs11_pin_file = \"$H/badpin\"|" "$T/certspool.conf"
csr_batch H2 3 sha384
drop acme "$T/H2.xml"
cs daemon --once >"$T0/pin.out" 2>"$T0/pin.err"
check_eq "wrong PIN: daemon --once exits 1" 1 "$?"
check "wrong PIN: one line naming the token and CKR_PIN_INCORRECT" grep -q 'token "certspool-hsm".*CKR_PIN_INCORRECT' "$T0/pin.err"
check_eq "wrong PIN: one line" 1 "$(wc -l <"$T0/pin.err")"
check "wrong PIN: the batch is still in inbound/" test -f "$S/inbound/acme/H2.xml"
check_eq "wrong PIN: nothing of it in the database" 0 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'H2'")"
sed -i "s|^pkcs11_pin_file = .*|pkcs11_pin_file = \"$H/pin\"|" "$T/certspool.conf"
check_once "PIN fixed: daemon --once" 0
check_eq "PIN fixed: the three are issued" 3 "$(issued H2)"
check_eq "PIN fixed: one certificate per recipient" 0 "$(once_per_recipient H2)"
check_eq "PIN fixed: they verify" 0 "$(verify_batch H2)"
check_eq "PIN fixed: one debit per recipient" 3 "$(sql "SELECT count(*) FROM ledger l JOIN batch b ON b.id = l.batch_id WHERE b.ext_id = 'H2' AND l.kind = 'debit'")"

# ---- the token missing at start: same ----
mv "$H/tokens" "$H/tokens.away"
mkdir "$H/tokens"
csr_batch H3 2 sha384
drop acme "$T/H3.xml"
cs daemon --once >"$T0/tok.out" 2>"$T0/tok.err"
check_eq "token missing: daemon --once exits 1" 1 "$?"
check "token missing: the error names the token" grep -q 'no initialized token "certspool-hsm"' "$T0/tok.err"
check "token missing: the batch waits in inbound/" test -f "$S/inbound/acme/H3.xml"
rmdir "$H/tokens"
mv "$H/tokens.away" "$H/tokens"
check_once "token back: daemon --once" 0
check_eq "token back: issued" 2 "$(issued H3)"
check_eq "token back: one certificate per recipient" 0 "$(once_per_recipient H3)"

# ---- a running daemon whose token goes away and comes back ----
L=$T/running.log
sed -i 's/^poll_seconds = .*/poll_seconds = 1/' "$T/certspool.conf"
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; T=$T0; cleanup' EXIT
wait_until 20 grep -q "daemon started" "$L" || bail "daemon did not start"
csr_batch H4 2 sha384
drop acme "$T/H4.xml"
wait_until 60 is 2 issued H4
check_eq "running: issued with the token" 2 "$(issued H4)"
mv "$H/tokens" "$H/tokens.away"
mkdir "$H/tokens"
csr_batch H5 3 sha384
drop acme "$T/H5.xml"
wait_until 30 grep -q "token is unavailable" "$L"
sleep 3
check_eq "running, token gone: nothing issued" 0 "$(issued H5)"
check "running, token gone: logged with the reason" grep -q "error: .*the CA key's token is unavailable: .*certspool-hsm" "$L"
check_eq "running, token gone: the certificates wait signing" 3 "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"
check_eq "running, token gone: nothing rejected" 0 "$(sql "SELECT count(*) FROM recipient WHERE state = 'rejected'")"
rmdir "$H/tokens"
mv "$H/tokens.away" "$H/tokens"
wait_until 60 is 3 issued H5
check_eq "running, token back: issued" 3 "$(issued H5)"
check_eq "running, token back: one certificate per recipient" 0 "$(once_per_recipient H5)"
check_eq "running, token back: they verify" 0 "$(verify_batch H5)"
check_eq "no certificate left signing" 0 "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"
stop_daemon

# ---- the token behind p11-kit's remote module (a socket, as a network
# HSM's client library would be): issuance, the server gone, back ----
CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -f "$CLIENT" ] || bail "missing $CLIENT (Debian p11-kit-modules)"
serve() {	# p11-kit server exporting the test token on $H/p11.sock
	p11-kit server -f --provider "$MOD" -n "$H/p11.sock" "pkcs11:token=certspool-hsm" >>"$T0/p11srv.log" 2>&1 &
	srv=$!
	wait_until 10 test -S "$H/p11.sock"
}
serve
export P11_KIT_SERVER_ADDRESS="unix:path=$H/p11.sock"
sed -i "s|^pkcs11_module = .*|pkcs11_module = \"$CLIENT\"|" "$T/certspool.conf"
L=$T/remote.log
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; pkill -P "$srv"; kill "$srv" 2>/dev/null; T=$T0; cleanup' EXIT
wait_until 20 grep -q "daemon started" "$L"
check "remote module: the daemon started" grep -q "daemon started" "$L"
csr_batch N1 2 sha384
drop acme "$T/N1.xml"
wait_until 60 is 2 issued N1
check_eq "remote module: issued" 2 "$(issued N1)"
check_eq "remote module: they verify" 0 "$(verify_batch N1)"
pkill -P "$srv"		# the server's p11-kit-remote child: the connection
kill "$srv"
wait "$srv" 2>/dev/null
rm -f "$H/p11.sock"
csr_batch N2 2 sha384
drop acme "$T/N2.xml"
wait_until 30 is 2 sql "SELECT count(*) FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'N2' AND c.state = 'signing'"
check_eq "remote module, server gone: nothing issued" 0 "$(issued N2)"
check "remote module, server gone: logged" grep -q "token is unavailable" "$L"
serve
wait_until 60 is 2 issued N2
check_eq "remote module, server back: issued (the signer reconnected)" 2 "$(issued N2)"
check_eq "remote module, server back: one certificate per recipient" 0 "$(once_per_recipient N2)"
check_eq "remote module: the signer still has its seccomp filter" 2 "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$(ps -o pid=,args= --ppid "$dpid" | awk '/signer-process/ { print $1 }')/status")"
stop_daemon
pkill -P "$srv"
kill "$srv"
unset P11_KIT_SERVER_ADDRESS

# ---- RSA-4096 CA in the token ----
mkdir -p "$T0/rsa"
hsm_setup "$T0/rsa" rsa4096
cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
csr_batch R1 2 sha256
drop acme "$T/R1.xml"
check_once "RSA-4096: daemon --once" 0
check_eq "RSA-4096: issued" 2 "$(issued R1)"
check_eq "RSA-4096: they verify (openssl, certtool)" 0 "$(verify_batch R1)"
check "RSA-4096: signed sha256WithRSAEncryption" sh -c "openssl x509 -in '$(find "$T/x" -name cert.pem | head -n 1)' -noout -text | grep -q 'Signature Algorithm: sha256WithRSAEncryption'"
cs crl --now >/dev/null 2>>"$T0/crl.err"
check "RSA-4096: the CRL signed in the token verifies" crl_verifies
check "RSA-4096: the CRL is signed with the token's RSA key" sh -c "openssl crl -inform DER -in '$S/crl/issuing.crl' -noout -text | grep -q 'sha256WithRSAEncryption'"

# ---- ca import of a key made with pkcs11-tool, then issuance ----
T=$T0
p11() {
	pkcs11-tool --module "$MOD" --token-label certspool-hsm --login --pin 135791 "$@" 2>/dev/null
}
p11 --keypairgen --key-type rsa:4096 --label imported --id 0c0d0e >/dev/null || bail "pkcs11-tool --keypairgen"
p11 --read-object --type pubkey --id 0c0d0e -o "$T0/imp.der" >/dev/null || bail "read the token's public key"
openssl pkey -pubin -inform DER -in "$T0/imp.der" -out "$T0/imp-pub.pem" 2>/dev/null || bail "public key"
R=$T0/oroot
ext_root "$R" t26 || bail "openssl root"
ext_issue "$R" "/C=US/O=Acme Corp/CN=t26 Imported Issuing CA" "$T0/imp-pub.pem" "$T0/imp.pem" ||
    bail "the imported CA's certificate"
mkdir -p "$T0/imp"
T=$T0/imp
init_dir "$T" >/dev/null 2>&1 || bail "init"
sed -i 's/^settle_seconds = .*/settle_seconds = 0/' "$T/certspool.conf"
sed -i "s|^card_processor_command = .*|card_processor_command = \"$ROOT/scripts/demo-card-processor $T/card-ledger.json\"|" "$T/certspool.conf"
S=$T/spool
mv "$T/ca" "$T/ca.demo"
cs ca import "$T0/imp.pem" "pkcs11:token=certspool-hsm;object=imported;type=private" "$R/root.pem" \
    --module "$MOD" --pin-file "$H/pin" >"$T0/imp.out" 2>&1
check_eq "ca import of the token key" 0 "$?"
check "ca import: no key file" test ! -e "$T/ca/ca.key"
cp "$R/root.pem" "$T/ca/root.pem"
cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
csr_batch I1 2 sha256
drop acme "$T/I1.xml"
check_once "imported token CA: daemon --once" 0
check_eq "imported token CA: issued" 2 "$(issued I1)"
check_eq "imported token CA: they verify" 0 "$(verify_batch I1)"
cs crl --now >/dev/null 2>>"$T0/crl.err"
check "imported token CA: its CRL verifies" crl_verifies
T=$T0
trap 'cleanup' EXIT
finish
