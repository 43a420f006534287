#!/bin/sh
# Key ceremonies with SoftHSM2 (a token initialized in $T): init --hsm
# makes the issuing CA key inside the token (P-384 and RSA-4096; pkcs11-tool
# lists it sensitive and never extractable; no ca.key; ca.pem holds the
# token's public key; the config names the key, module and PIN file); ca
# show, parsed and compared with openssl; ca import of a key generated
# with pkcs11-tool under a root made with openssl, a certificate for
# another key refused; a wrong PIN, a PIN file of mode 0644, an unknown
# token and an RSA-3072 key refused with clear errors and nothing written.
. "$(dirname "$0")/../lib.sh"
need_tools softhsm2-util pkcs11-tool openssl
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -f "$MOD" ] || bail "missing $MOD (Debian softhsm2)"
H=$T/hsm
mkdir -p "$H/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$H" >"$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
softhsm2-util --init-token --free --label certspool-test --so-pin 87654321 \
    --pin 246810 >/dev/null 2>&1 || bail "softhsm2-util --init-token"
printf '246810\n' >"$H/pin"
chmod 600 "$H/pin"
p11() {		# p11 ARGS...: pkcs11-tool logged in to the test token
	pkcs11-tool --module "$MOD" --token-label certspool-test --login \
	    --pin 246810 "$@" 2>/dev/null
}
nobj() {	# the number of objects in the token
	p11 --list-objects | grep -c 'Object;'
}
conf_value() {	# conf_value FILE KEY: the value, unquoted
	sed -n "s/^$2 = \"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$1"
}
# spki_of_cert PEM / spki_of_token ID: the DER SubjectPublicKeyInfo, hex
spki_of_cert() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | od -An -tx1 | tr -d ' \n'
}
# (pkcs11-tool --read-object exports an RSA public key; for an EC key this
# opensc cannot build the EVP_PKEY, so the SPKI is made from the token's
# CKA_EC_PARAMS, which must be P-384, and CKA_EC_POINT, as pkcs11-tool
# lists them)
spki_of_token() {
	if p11 --read-object --type pubkey --id "$1" -o "$T/tok.der" >/dev/null; then
		openssl pkey -pubin -inform DER -in "$T/tok.der" -outform DER | od -An -tx1 | tr -d ' \n'
		return
	fi
	p11 --list-objects --type pubkey | awk -v id="$1" '
	    /^Public Key Object/ { pt = ""; pa = "" }
	    $1 == "EC_POINT:" { pt = $2 } $1 == "EC_PARAMS:" { pa = $2 }
	    $1 == "ID:" && $2 == id && pa == "06052b81040022" && pt ~ /^046104/ {
		print "3076301006072a8648ce3d020106052b81040022036200" substr(pt, 5); exit }'
}

# ---- init --hsm, P-384 (default) and RSA-4096 ----
for alg in p384 rsa4096; do
	D=$T/$alg
	before=$(nobj)
	if [ $alg = p384 ]; then
		init_dir "$D" --hsm "$MOD" --token certspool-test --pin-file "$H/pin" >"$T/init-$alg.out" 2>"$T/init-$alg.err"
	else
		init_dir "$D" --hsm "$MOD" --token certspool-test --pin-file "$H/pin" --ca-key rsa4096 >"$T/init-$alg.out" 2>"$T/init-$alg.err"
	fi
	check_eq "$alg: init --hsm exit status" 0 "$?"
	check_eq "$alg: a key pair more in the token" $((before + 2)) "$(nobj)"
	check "$alg: no ca.key written" test ! -e "$D/ca/ca.key"
	check "$alg: ca.pem, chain.pem, root.pem, root.key written" test -s "$D/ca/ca.pem" -a -s "$D/ca/chain.pem" -a -s "$D/ca/root.pem" -a -s "$D/ca/root.key"
	uri=$(conf_value "$D/certspool.conf" ca_key)
	case $uri in pkcs11:*token=certspool-test*) ok=1 ;; *) ok=0 ;; esac
	check_eq "$alg: ca_key is the token key's URI" 1 "$ok"
	check "$alg: init printed that URI" grep -qF "$uri" "$T/init-$alg.out"
	check_eq "$alg: pkcs11_module" "$MOD" "$(conf_value "$D/certspool.conf" pkcs11_module)"
	check_eq "$alg: pkcs11_pin_file" "$H/pin" "$(conf_value "$D/certspool.conf" pkcs11_pin_file)"
	label=$(echo "$uri" | sed -n 's/.*object=\([^;]*\).*/\1/p')
	id=$(echo "$uri" | sed -n 's/.*id=\([^;]*\).*/\1/p' | tr -d '%' | tr 'A-F' 'a-f')
	case $label in certspool-issuing-20[0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ok=1 ;; *) ok=0 ;; esac
	check_eq "$alg: key label certspool-issuing-<date>" 1 "$ok"
	p11 --list-objects --type privkey >"$T/priv-$alg.txt"
	awk -v l="$label" '/^Private Key Object/ { blk = "" } { blk = blk $0 "\n" }
	    $1 == "label:" && $2 == l { found = 1 } found && /Access:/ { print blk; exit }' \
	    "$T/priv-$alg.txt" >"$T/key-$alg.txt"
	check "$alg: the private key is in the token" grep -q "ID: *$id" "$T/key-$alg.txt"
	check "$alg: sensitive, never extractable" grep -q 'Access:.*sensitive.*never extractable' "$T/key-$alg.txt"
	check_eq "$alg: ca.pem's public key is the token's" "$(spki_of_token "$id")" "$(spki_of_cert "$D/ca/ca.pem")"
	check "$alg: the demo root signed ca.pem" openssl verify -CAfile "$D/ca/root.pem" "$D/ca/ca.pem"
	check_eq "$alg: chain.pem is ca.pem then root.pem" "$(cat "$D/ca/ca.pem" "$D/ca/root.pem")" "$(cat "$D/ca/chain.pem")"
	check_eq "$alg: root.key mode" 600 "$(stat -c %a "$D/ca/root.key")"
	check "$alg: the config loads" "$BIN" --config "$D/certspool.conf" status
done
check "P-384 key in the token" sh -c "openssl x509 -in '$T/p384/ca/ca.pem' -noout -text | grep -q 'NIST CURVE: P-384'"
check "RSA-4096 key in the token" sh -c "openssl x509 -in '$T/rsa4096/ca/ca.pem' -noout -text | grep -q 'Public-Key: (4096 bit)'"

# ---- ca show ----
D=$T/p384
"$BIN" --config "$D/certspool.conf" ca show >"$T/show.txt" 2>"$T/show.err"
check_eq "ca show exit status" 0 "$?"
check_eq "ca show: the key is in a token" "key: in a PKCS#11 token" "$(sed -n 2p "$T/show.txt")"
check_eq "ca show: its URI" "$(conf_value "$D/certspool.conf" ca_key)" "$(sed -n 's/^  uri: //p' "$T/show.txt")"
check_eq "ca show: token label" certspool-test "$(sed -n 's/^  token: //p' "$T/show.txt")"
check_eq "ca show: module" "$MOD" "$(sed -n 's/^  module: //p' "$T/show.txt")"
check_eq "ca show: pin file and mode" "$H/pin (mode 0600)" "$(sed -n 's/^  pin file: //p' "$T/show.txt")"
check_eq "ca show: found in the token" "found, the public key of ca.pem" "$(sed -n 's/^  in the token: //p' "$T/show.txt")"
check_eq "ca show: key algorithm" "ECDSA P-384 (384 bits)" "$(sed -n 's/^key algorithm: //p' "$T/show.txt")"
check_eq "ca show: two chain certificates" 2 "$(grep -c '^  \[[0-9]\]$' "$T/show.txt")"
# each chain entry against openssl's view of chain.pem
awk '/BEGIN CERT/ { n++ } { print > (dir "/c" n ".pem") }' dir="$T" "$D/ca/chain.pem"
i=0
for c in "$T/c1.pem" "$T/c2.pem"; do
	blk=$(awk -v i="$i" '$0 == "  [" i "]" { p = 1; next } /^  \[/ { p = 0 } p' "$T/show.txt")
	fp=$(openssl x509 -in "$c" -noout -fingerprint -sha256 | sed 's/.*=//')
	check_eq "ca show [$i]: sha256 fingerprint" "$fp" "$(echo "$blk" | sed -n 's/^    sha256: //p')"
	check_eq "ca show [$i]: subject" "$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
	    "$(echo "$blk" | sed -n 's/^    subject: //p')"
	check_eq "ca show [$i]: issuer" "$(openssl x509 -in "$c" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" \
	    "$(echo "$blk" | sed -n 's/^    issuer: //p')"
	for f in notBefore notAfter; do
		case $f in notBefore) o=-startdate ;; *) o=-enddate ;; esac
		want=$(date -u -d "$(openssl x509 -in "$c" -noout $o | sed 's/^[^=]*=//')" +%Y-%m-%dT%H:%M:%SZ)
		check_eq "ca show [$i]: $f" "$want" "$(echo "$blk" | sed -n "s/^    $f: //p")"
	done
	i=$((i + 1))
done
"$BIN" --config "$T/rsa4096/certspool.conf" ca show >"$T/show2.txt" 2>&1
check_eq "ca show (RSA): key algorithm" "RSA 4096 bits" "$(sed -n 's/^key algorithm: //p' "$T/show2.txt")"
# a file CA: where the file is and its mode
init_dir "$T/filed" >/dev/null 2>&1
"$BIN" --config "$T/filed/certspool.conf" ca show >"$T/show3.txt" 2>&1
check_eq "ca show (file key)" "key: file $T/filed/ca/ca.key (mode 0600)" "$(sed -n 2p "$T/show3.txt")"
# the token key gone from the config's view: a wrong PIN file
printf '999999\n' >"$H/badpin"
chmod 600 "$H/badpin"
sed "s|^pkcs11_pin_file = .*|pkcs11_pin_file = \"$H/badpin\"|" "$D/certspool.conf" >"$D/badpin.conf"
"$BIN" --config "$D/badpin.conf" ca show >"$T/show4.txt" 2>"$T/show4.err"
check_eq "ca show with a wrong PIN fails" 1 "$?"
check "and names CKR_PIN_INCORRECT" grep -q CKR_PIN_INCORRECT "$T/show4.err"
check "the chain is printed all the same" grep -q '^  \[1\]$' "$T/show4.txt"

# ---- refusals: nothing written, no key made ----
before=$(nobj)
init_dir "$T/wrongpin" --hsm "$MOD" --token certspool-test --pin-file "$H/badpin" >/dev/null 2>"$T/e1"
check_eq "wrong PIN: init fails" 1 "$?"
check "wrong PIN: a clear error" grep -q "CKR_PIN_INCORRECT" "$T/e1"
check_eq "wrong PIN: one line" 1 "$(wc -l <"$T/e1")"
check "wrong PIN: no config written" test ! -e "$T/wrongpin/certspool.conf"
cp "$H/pin" "$H/pin644"
chmod 644 "$H/pin644"
init_dir "$T/pin644" --hsm "$MOD" --token certspool-test --pin-file "$H/pin644" >/dev/null 2>"$T/e2"
check_eq "PIN file mode 0644 refused" 1 "$?"
check "the refusal names the mode" grep -q "0644" "$T/e2"
check "PIN file 0644: no config written" test ! -e "$T/pin644/certspool.conf"
init_dir "$T/notoken" --hsm "$MOD" --token no-such-token --pin-file "$H/pin" >/dev/null 2>"$T/e3"
check_eq "unknown token refused" 1 "$?"
check "the error names the token" grep -q "no-such-token" "$T/e3"
init_dir "$T/rsa3072" --hsm "$MOD" --token certspool-test --pin-file "$H/pin" --ca-key rsa3072 >/dev/null 2>"$T/e4"
check_eq "--ca-key rsa3072 refused with --hsm" 1 "$?"
check "the refusal names S/MIME BR 6.1.5 and SMC017v2" grep -q "6.1.5 (ballot SMC017v2" "$T/e4"
check_eq "no key made by any refused init" "$before" "$(nobj)"
check_not "--hsm without --token" init_dir "$T/x" --hsm "$MOD"

# ---- ca import of a key made with pkcs11-tool ----
p11 --keypairgen --key-type EC:secp384r1 --label imported-ca --id 0a0b0c >/dev/null || bail "pkcs11-tool --keypairgen"
spki_of_token 0a0b0c | xxd -r -p >"$T/imp.der"
openssl pkey -pubin -inform DER -in "$T/imp.der" -out "$T/imp-pub.pem" 2>/dev/null || bail "the token key's public part"
R=$T/oroot
ext_root "$R" t25 || bail "openssl root"
issue() {	# issue CN PUBKEY OUT
	ext_issue "$R" "/C=US/O=t25/CN=$1" "$2" "$3"
}
issue "t25 HSM Issuing CA" "$T/imp-pub.pem" "$T/imp.pem" || bail "issue the token key's certificate"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/other.key" 2>/dev/null
openssl pkey -in "$T/other.key" -pubout -out "$T/other-pub.pem"
issue "t25 Other CA" "$T/other-pub.pem" "$T/other.pem" || bail "issue the other certificate"
# the target: a fresh certspool directory without a CA
init_dir "$T/imp" >/dev/null 2>&1
mv "$T/imp/ca" "$T/imp/ca.demo"
IURI="pkcs11:token=certspool-test;object=imported-ca;type=private"
"$BIN" --config "$T/imp/certspool.conf" ca import "$T/other.pem" "$IURI" "$R/root.pem" \
    --module "$MOD" --pin-file "$H/pin" >/dev/null 2>"$T/e5"
check_eq "a certificate for another key refused" 1 "$?"
check "the refusal says it is not the token key" grep -q "is not the token key" "$T/e5"
check "nothing installed" test ! -e "$T/imp/ca/ca.pem"
check_eq "the config untouched" "" "$(conf_value "$T/imp/certspool.conf" ca_key)"
"$BIN" --config "$T/imp/certspool.conf" ca import "$T/imp.pem" "$IURI" "$R/root.pem" \
    --module "$MOD" --pin-file "$H/badpin" >/dev/null 2>"$T/e6"
check_eq "ca import with a wrong PIN fails" 1 "$?"
check "with CKR_PIN_INCORRECT" grep -q CKR_PIN_INCORRECT "$T/e6"
"$BIN" --config "$T/imp/certspool.conf" ca import "$T/imp.pem" "$IURI" "$R/root.pem" \
    --module "$MOD" --pin-file "$H/pin" >"$T/o7" 2>"$T/e7"
check_eq "the matching certificate imported" 0 "$?"
check "no ca.key" test ! -e "$T/imp/ca/ca.key"
check "ca.pem is the certificate" cmp -s "$T/imp/ca/ca.pem" "$T/imp.pem"
check_eq "chain.pem: the CA, then the root" "$(cat "$T/imp.pem" "$R/root.pem")" "$(cat "$T/imp/ca/chain.pem")"
check_eq "ca_key set" "$IURI" "$(conf_value "$T/imp/certspool.conf" ca_key)"
check_eq "pkcs11_module set" "$MOD" "$(conf_value "$T/imp/certspool.conf" pkcs11_module)"
check_eq "pkcs11_pin_file set" "$H/pin" "$(conf_value "$T/imp/certspool.conf" pkcs11_pin_file)"
check_eq "each key once in the config" 3 "$(grep -cE '^(ca_key|pkcs11_module|pkcs11_pin_file) = ' "$T/imp/certspool.conf")"
"$BIN" --config "$T/imp/certspool.conf" ca show >"$T/show5.txt" 2>&1
check_eq "ca show finds the imported key" "found, the public key of ca.pem" "$(sed -n 's/^  in the token: //p' "$T/show5.txt")"
# again: the module and PIN file now come from the config; refused as
# the CA files exist
"$BIN" --config "$T/imp/certspool.conf" ca import "$T/imp.pem" "$IURI" "$R/root.pem" >/dev/null 2>"$T/e8"
check_eq "a second import refused" 1 "$?"
check "because ca.pem exists" grep -q "ca.pem exists" "$T/e8"
finish
