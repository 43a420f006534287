#!/bin/sh
# The issuing CA: key permissions enforced, ca import checks, an ECDSA
# P-384 issuing CA (signs with sha384 only), zip bundles, legacy PKCS#12.
. "$(dirname "$0")/../lib.sh"
setup p384
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
drop acme "$T/h256.xml"
drop acme "$T/h384.xml"
run_once
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
"$BIN" init "$T/other" >/dev/null
mkdir -p "$T/imp"
cp "$T/certspool.conf" "$T/imp.conf"
sed -i "s|^ca_dir = .*|ca_dir = $T/imp/ca|" "$T/imp.conf"
check_not "import refuses a key that does not match" "$BIN" --config "$T/imp.conf" ca import "$T/other/ca/ca.pem" "$T/ca/ca.key" "$T/other/ca/chain.pem"
check_not "import refuses a certificate that is not a CA" "$BIN" --config "$T/imp.conf" ca import "$c" "$T/other/ca/ca.key" "$T/other/ca/chain.pem"
check "import of a matching CA" "$BIN" --config "$T/imp.conf" ca import "$T/other/ca/ca.pem" "$T/other/ca/ca.key" "$T/other/ca/chain.pem"
check_eq "imported key mode" 600 "$(stat -c %a "$T/imp/ca/ca.key")"
check "imported certificate is the same" cmp -s "$T/imp/ca/ca.pem" "$T/other/ca/ca.pem"
finish
