#!/bin/sh
# The issuing CA: key permissions enforced, ca import checks, an ECDSA
# P-384 issuing CA (signs with sha384 only), zip bundles, legacy PKCS#12;
# CA key sizes (S/MIME BR 6.1.5, ballot SMC017v2): no new RSA CA key
# under 4096 bits, an existing RSA-2048 CA imported with a warning and
# refused from 2027-09-15.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme --balance 100000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null
check "P-384 issuing CA" sh -c "openssl x509 -in '$T/ca/ca.pem' -noout -text | grep -q 'NIST CURVE: P-384'"

# The daemon refuses a CA key readable by group or others.
chmod 0640 "$T/ca/ca.key"
check_not "daemon refuses a group-readable CA key" cs daemon --once
check "refusal names the key mode" sh -c "'$BIN' --config '$T/certspool.conf' daemon --once 2>&1 | grep -q 'ca.key'"
chmod 0604 "$T/ca/ca.key"
check_not "daemon refuses a world-readable CA key" cs daemon --once
chmod 0600 "$T/ca/ca.key"

sed -i 's/^archive_format = .*/archive_format = zip/; s/^p12_profile = .*/p12_profile = legacy/' "$T/certspool.conf"
mk() {
	e1=$(csr ec:P-384 "a.$1@acme.example")
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<batch xmlns="urn:certspool:batch:1" id="$1" account="acme">
<order id="o1"><product>secure_email_organization</product><organization>Acme Corp</organization>
<signatureHash>$2</signatureHash><validity><days>30</days></validity>
<recipient><commonName type="email">a.$1@acme.example</commonName><email>a.$1@acme.example</email><csr>$e1</csr></recipient>
<recipient><commonName type="email">k.$1@acme.example</commonName><email>k.$1@acme.example</email><keygen algorithm="rsa-3072"/></recipient>
<agreement accepted="true"/></order></batch>
XML
}
mk H256 sha256 >"$T/h256.xml"
mk H384 sha384 >"$T/h384.xml"
mk HNONE sha384 | sed 's|<signatureHash>sha384</signatureHash>||' >"$T/hnone.xml"
drop acme "$T/h256.xml"
drop acme "$T/h384.xml"
drop acme "$T/hnone.xml"
run_once
check_eq "no signatureHash: issued by the P-384 CA" issued \
    "$(xval "$S/outbound/acme/HNONE.1.result.xml" 'string(//*[local-name()="order"]/@state)')"
check "no signatureHash: the CA's hash, ecdsa-with-SHA384" sh -c "bsdtar -xOf '$S/outbound/acme/HNONE.1.zip' 'o1/a.HNONE@acme.example/cert.pem' | openssl x509 -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384'"
check_eq "sha256 refused by a P-384 CA" signature_hash_unsupported \
    "$(xval "$S/outbound/acme/H256.1.result.xml" 'string(//*[local-name()="order"]/@reason)')"
check "the reason names the curve's hash" grep -q "sha384" "$S/outbound/acme/H256.1.result.xml"
check_eq "sha384 issued" issued "$(xval "$S/outbound/acme/H384.1.result.xml" 'string(//*[local-name()="order"]/@state)')"
Z=$S/outbound/acme/H384.1.zip
check "zip archive" test -f "$Z"
check_eq "zip lists the entries" 7 "$(bsdtar -tf "$Z" | wc -l)"
mkdir -p "$T/z" && (cd "$T/z" && bsdtar -xf "$Z")
c=$T/z/o1/a.H384@acme.example/cert.pem
check "ECDSA-with-SHA384 signature" sh -c "openssl x509 -in '$c' -noout -text | grep -q ecdsa-with-SHA384"
check "verifies under the P-384 chain" openssl verify -purpose smimesign -CAfile "$T/ca/root.pem" -untrusted "$T/ca/ca.pem" "$c"
check "gnutls verifies" sh -c "cat '$c' '$T/ca/ca.pem' | certtool --verify --load-ca-certificate '$T/ca/root.pem'"
p=$T/z/o1/k.H384@acme.example/bundle.p12
pm=$(grep -l "^To: k.H384@acme.example" "$S"/mail/p12pass-*.eml | head -n 1)
pw=$(tr -d '\r' <"$pm" | sed -n 's/^    \([A-Za-z0-9-]*\)$/\1/p' | head -n 1)
check "legacy p12 opens" sh -c "openssl pkcs12 -legacy -in '$p' -passin 'pass:$pw' -info -noout 2>&1 | grep -q 'MAC: sha1'"
check "legacy p12 is 3DES" sh -c "openssl pkcs12 -legacy -in '$p' -passin 'pass:$pw' -info -noout 2>&1 | grep -q 'pbeWithSHA1And3-KeyTripleDES-CBC'"
check "server RSA-3072 key in the p12" sh -c "openssl pkcs12 -legacy -in '$p' -passin 'pass:$pw' -nocerts -nodes | openssl pkey -noout -text | grep -q '3072 bit'"

# ca import: another directory's CA, checked before it is taken.
init_dir "$T/other" >/dev/null
mkdir -p "$T/imp"
cp "$T/certspool.conf" "$T/imp.conf"
sed -i "s|^ca_dir = .*|ca_dir = $T/imp/ca|" "$T/imp.conf"
check_not "import refuses a key that does not match" "$BIN" --config "$T/imp.conf" ca import "$T/other/ca/ca.pem" "$T/ca/ca.key" "$T/other/ca/chain.pem"
check_not "import refuses a certificate that is not a CA" "$BIN" --config "$T/imp.conf" ca import "$c" "$T/other/ca/ca.key" "$T/other/ca/chain.pem"
check "import of a matching CA" "$BIN" --config "$T/imp.conf" ca import "$T/other/ca/ca.pem" "$T/other/ca/ca.key" "$T/other/ca/chain.pem"
check_eq "imported key mode" 600 "$(stat -c %a "$T/imp/ca/ca.key")"
check "imported certificate is the same" cmp -s "$T/imp/ca/ca.pem" "$T/other/ca/ca.pem"
check_eq "init's default CA key is P-384" "P-384" \
    "$(openssl x509 -in "$T/other/ca/ca.pem" -noout -text | sed -n 's/.*NIST CURVE: //p')"

# S/MIME BR 6.1.5 (ballot SMC017v2): a new RSA CA key needs 4096 bits.
for k in rsa3072 rsa2048; do
	init_dir "$T/new-$k" --ca-key "$k" >"$T/init-$k.out" 2>"$T/init-$k.err"
	check_eq "init --ca-key $k refused" 1 "$?"
	check "the refusal names the rule" grep -q "S/MIME BR 6.1.5 (ballot SMC017v2.*at least 4096 bits" "$T/init-$k.err"
	check_eq "one line" 1 "$(wc -l <"$T/init-$k.err")"
	check "nothing created for $k" test ! -e "$T/new-$k"
done

# An existing RSA CA under 3072 bits: imported with a warning until
# 2027-09-15; from then on refused, and the daemon issues nothing.
mkca() {	# mkca BITS: an RSA issuing CA under the test's root, in $T/rsaBITS
	d=$T/rsa$1
	mkdir -p "$d"
	cat >"$d/ext.cnf" <<-EOF
	basicConstraints = critical,CA:TRUE,pathlen:0
	keyUsage = critical,keyCertSign,cRLSign
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid:always
	extendedKeyUsage = emailProtection,clientAuth
	certificatePolicies = 2.23.140.1.5.2.3
	crlDistributionPoints = URI:http://crl.certspool.invalid/root.crl
	EOF
	openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$1" -out "$d/ca.key" 2>/dev/null &&
	openssl req -new -key "$d/ca.key" -subj "/C=US/O=t23/CN=t23 RSA-$1 CA" -out "$d/ca.csr" &&
	openssl x509 -req -in "$d/ca.csr" -CA "$T/ca/root.pem" -CAkey "$T/ca/root.key" \
	    -set_serial 0x$(openssl rand -hex 16) -days 365 -sha384 -extfile "$d/ext.cnf" \
	    -out "$d/ca.pem" 2>/dev/null &&
	cat "$d/ca.pem" "$T/ca/root.pem" >"$d/chain.pem"
}
mkca 2048 || bail "cannot make the RSA-2048 CA"
mkca 3072 || bail "cannot make the RSA-3072 CA"
imp() {		# imp NAME BITS [NOW]: ca import of $T/rsaBITS into a fresh ca_dir
	sed "s|^ca_dir = .*|ca_dir = $T/$1/ca|" "$T/certspool.conf" >"$T/$1.conf"
	CERTSPOOL_NOW=${3:-} "$BIN" --config "$T/$1.conf" ca import "$T/rsa$2/ca.pem" \
	    "$T/rsa$2/ca.key" "$T/rsa$2/chain.pem" >"$T/$1.out" 2>"$T/$1.err"
}
imp i2048 2048
check_eq "RSA-2048 CA imported" 0 "$?"
check "with a warning naming the rule and the date" grep -q "warning: S/MIME BR 6.1.5 (ballot SMC017v2).*2048 bits.*2027-09-15" "$T/i2048.err"
imp i3072 3072
check_eq "RSA-3072 CA imported" 0 "$?"
check_eq "without a warning" "" "$(cat "$T/i3072.err")"
imp late2048 2048 2027-09-15T00:00:00Z
check_eq "RSA-2048 CA refused from 2027-09-15" 1 "$?"
check "the refusal names the rule" grep -q "since 2027-09-15 no certificate may be issued from an RSA CA key under 3072 bits" "$T/late2048.err"
check "nothing installed" test ! -e "$T/late2048/ca/ca.pem"
imp late3072 3072 2027-09-15T00:00:00Z
check_eq "RSA-3072 CA still imported then" 0 "$?"
# The CA imported before the date into a certspool directory: the day
# before, the daemon runs with it; from the date on, it does not start.
init_dir "$T/d2048" >/dev/null || bail "init d2048"
mv "$T/d2048/ca" "$T/d2048/ca.p384"
"$BIN" --config "$T/d2048/certspool.conf" ca import "$T/rsa2048/ca.pem" \
    "$T/rsa2048/ca.key" "$T/rsa2048/chain.pem" >/dev/null 2>&1 || bail "import d2048"
dead_nodes_wait
CERTSPOOL_NOW=2027-09-14T00:00:00Z "$BIN" --config "$T/d2048/certspool.conf" daemon --once >"$T/d1.log" 2>&1
check_eq "the RSA-2048 CA works on 2027-09-14" 0 "$?"
dead_nodes_wait
CERTSPOOL_NOW=2027-09-15T00:00:01Z "$BIN" --config "$T/d2048/certspool.conf" daemon --once >"$T/d2.log" 2>&1
check_eq "the daemon refuses it on 2027-09-15" 1 "$?"
check "and says why" grep -q "S/MIME BR 6.1.5 (ballot SMC017v2).*under 3072 bits" "$T/d2.log"
finish
