#!/bin/sh
# Leavers end to end (SPEC 7): certificates issued through the daemon, a
# revocation document dropped in the inbound spool, and the CRL that the
# same daemon pass publishes checked by relying parties that share no
# code with certspool: OpenSSL (crl -verify, verify -crl_check with the
# file and with -crl_download from a static HTTP server on 127.0.0.1
# named by crl_url), NSS (crlutil -I, then certutil -V) and GnuTLS
# (certtool --crl-info, --verify-crl).  First with one shard (a full
# CRL, which NSS can use), then a second CA directory with crl_shards = 4
# (the certificate's CDP names its shard; that shard's CRL, with its
# critical IDP, is the one that lists it).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/netlib.sh"
need_tools openssl certutil crlutil certtool python3 xmllint
setup
PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$S" \
    >"$T/http.log" 2>&1 &
HTTPD=$!
trap 'kill $HTTPD 2>/dev/null; cleanup' EXIT
wait_port "$PORT"
sed -i "s|^crl_url = .*|crl_url = http://127.0.0.1:$PORT/crl/issuing.crl|" \
    "$T/certspool.conf"
CHAIN=$T/ca/chain.pem

cs account add acme --balance 1000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null || bail "acme org"
# batch ID EMAIL...: one organization order per mailbox
batch() {
	id=$1
	shift
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$id\" account=\"acme\">"
		for e in "$@"; do
			echo "<order id=\"O-${e%%@*}\"><product>secure_email_organization</product>"
			echo "<organization>Acme Corp</organization><validity><days>90</days></validity>"
			echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email>"
			echo "<csr>$(csr ec:P-256 "$e")</csr></recipient>"
			echo "<payment method=\"balance\"/><agreement accepted=\"true\"/></order>"
		done
		echo '</batch>'
	} >"$T/$id.xml"
	drop acme "$T/$id.xml"
}
# pem EMAIL: its certificate from the database, PEM
pem() {
	blob_to "$T/der.tmp" c.der "FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' AND c.state = 'issued'"
	openssl x509 -inform DER -in "$T/der.tmp"
}
serial_of() {
	sql "SELECT upper(c.serial) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' AND c.state = 'issued'"
}

batch B1 leaver@acme.example stayer@acme.example
run_once
pem leaver@acme.example >"$T/leaver.pem"
pem stayer@acme.example >"$T/stayer.pem"
check "both certificates issued" test -s "$T/leaver.pem" -a -s "$T/stayer.pem"
CRL=$S/crl/issuing.crl
check "the first pass published the CRL" test -s "$CRL"
check_eq "CDP is crl_url" "URI:http://127.0.0.1:$PORT/crl/issuing.crl" \
    "$(openssl x509 -in "$T/leaver.pem" -noout -ext crlDistributionPoints | sed -n 's/^ *//; s/^URI:/URI:/p')"
check "openssl verify -crl_check -crl_download: leaver good before" \
    openssl verify -crl_check -crl_download -CAfile "$CHAIN" "$T/leaver.pem"
n0=$(openssl crl -inform DER -in "$CRL" -noout -crlnumber | sed 's/^crlNumber=//; s/^0x//')

# The leaver document; the CRL is published in the pass that records it.
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<revocation xmlns="urn:certspool:batch:1" id="LEAVERS-1" account="acme" created="2026-12-04T22:00:00Z">'
	echo '  <revoke email="leaver@acme.example" reason="affiliationChanged"/>'
	echo '</revocation>'
} >"$T/leavers.xml"
drop acme "$T/leavers.xml"
run_once
R=$S/outbound/acme/LEAVERS-1.1.result.xml
check_eq "revocationResult: one revoked" 1 "$(xval "$R" 'count(//*[local-name()="revoked"])')"
check_eq "revocationResult names the serial" "$(serial_of leaver@acme.example)" \
    "$(xval "$R" 'string(//*[local-name()="revoked"]/@serial)' | tr a-f A-F)"
n1=$(openssl crl -inform DER -in "$CRL" -noout -crlnumber | sed 's/^crlNumber=//; s/^0x//')
check "CRL number increased ($n0 -> $n1)" test "$((0x$n1))" -gt "$((0x$n0))"
openssl crl -inform DER -in "$CRL" -out "$T/crl.pem"
check "openssl crl -verify" sh -c "openssl crl -in '$T/crl.pem' -noout -verify -CAfile '$CHAIN' 2>&1 | grep -q 'verify OK'"
check "the CRL lists the leaver with reason affiliationChanged" sh -c \
    "openssl crl -in '$T/crl.pem' -noout -text | grep -A4 'Serial Number: $(serial_of leaver@acme.example)' | grep -q 'Affiliation Changed'"
check "one shard: a full CRL without issuingDistributionPoint" sh -c \
    "! openssl crl -in '$T/crl.pem' -noout -text | grep -q 'Issuing Distribution Point'"
check "openssl verify -crl_check -CRLfile: leaver revoked" sh -c \
    "openssl verify -crl_check -CAfile '$CHAIN' -CRLfile '$T/crl.pem' '$T/leaver.pem' 2>&1 | grep -q 'certificate revoked'"
check "openssl verify -crl_check -CRLfile: stayer good" \
    openssl verify -crl_check -CAfile "$CHAIN" -CRLfile "$T/crl.pem" "$T/stayer.pem"
check "openssl verify -crl_download: leaver revoked" sh -c \
    "openssl verify -crl_check -crl_download -CAfile '$CHAIN' '$T/leaver.pem' 2>&1 | grep -q 'certificate revoked'"
check "openssl verify -crl_download: stayer good" \
    openssl verify -crl_check -crl_download -CAfile "$CHAIN" "$T/stayer.pem"
check "the static server served the CRL" grep -q 'GET /crl/issuing.crl .* 200' "$T/http.log"
check "certtool --crl-info lists the leaver" sh -c "certtool --crl-info --inder --infile '$CRL' | grep -q 'Serial Number (hex): $(serial_of leaver@acme.example | tr A-F a-f)'"
check "certtool --verify-crl" sh -c "certtool --verify-crl --load-ca-certificate '$T/ca/ca.pem' --infile '$T/crl.pem' | grep -q 'Verification output: Verified'"
# NSS: trust the root, import the CRL, verify.
NSS=$T/nss
mkdir -p "$NSS"
certutil -N --empty-password -d "sql:$NSS" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n root -t "C,C,C" -i "$T/ca/root.pem" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n issuing -t ",," -i "$T/ca/ca.pem" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n leaver -t ",," -i "$T/leaver.pem" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n stayer -t ",," -i "$T/stayer.pem" >/dev/null 2>&1
check "NSS: leaver valid before the CRL is imported" sh -c \
    "certutil -V -d 'sql:$NSS' -n leaver -u S | grep -q 'certificate is valid'"
check "NSS crlutil -I imports the CRL" crlutil -I -d "sql:$NSS" -t 1 -i "$CRL"
check "NSS certutil -V: leaver revoked" sh -c \
    "certutil -V -d 'sql:$NSS' -n leaver -u S 2>&1 | grep -qi 'revoked'"
check "NSS certutil -V: stayer valid" sh -c \
    "certutil -V -d 'sql:$NSS' -n stayer -u S | grep -q 'certificate is valid'"

# ---- crl_shards = 4: a second certspool directory, its own CA ----
T0=$T
T=$T0/s4
mkdir -p "$T"
setup
sed -i "s|^crl_url = .*|crl_url = http://127.0.0.1:$PORT/s4/crl/part-{shard}.crl|; s|^crl_shards = .*|crl_shards = 4|" "$T/certspool.conf"
mkdir -p "$T0/spool/s4"
ln -s "$S/crl" "$T0/spool/s4/crl"
cs account add acme --balance 1000000 >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null || bail "s4: acme org"
batch S4-1 s1@acme.example s2@acme.example s3@acme.example s4@acme.example \
    s5@acme.example s6@acme.example s7@acme.example s8@acme.example
run_once
check_eq "s4: 8 certificates issued" 8 "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")"
check_eq "s4: 4 CRLs published" 4 "$(ls "$S/crl" | grep -c '^part-[0-3]\.crl$')"
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<revocation xmlns="urn:certspool:batch:1" id="S4-LEAVERS" account="acme">'
	echo '  <revoke email="s3@acme.example" reason="cessationOfOperation"/>'
	echo '</revocation>'
} >"$T/s4-leavers.xml"
drop acme "$T/s4-leavers.xml"
run_once
shard=$(sql "SELECT c.crl_shard FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 's3@acme.example'")
ser=$(serial_of s3@acme.example)
pem s3@acme.example >"$T/s3.pem"
check_eq "s4: the certificate's CDP names its shard" \
    "http://127.0.0.1:$PORT/s4/crl/part-$shard.crl" \
    "$(openssl x509 -in "$T/s3.pem" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p')"
k=0
while [ $k -lt 4 ]; do
	F=$S/crl/part-$k.crl
	txt=$(openssl crl -inform DER -in "$F" -noout -text 2>/dev/null)
	check "s4: shard $k IDP critical with its URL" sh -c \
	    "echo \"\$1\" | grep -A3 'Issuing Distribution Point: critical' | grep -q 'URI:http://127.0.0.1:$PORT/s4/crl/part-$k.crl'" _ "$txt"
	if [ "$k" -eq "$shard" ]; then
		check "s4: shard $k's CRL lists the revoked certificate" sh -c "echo \"\$1\" | grep -q 'Serial Number: $ser\$'" _ "$txt"
	else
		check "s4: shard $k's CRL does not list it" sh -c "! echo \"\$1\" | grep -q 'Serial Number: $ser\$'" _ "$txt"
	fi
	k=$((k + 1))
done
check "s4: openssl verify -crl_download finds it revoked through its shard" sh -c \
    "openssl verify -crl_check -crl_download -CAfile '$T/ca/chain.pem' '$T/s3.pem' 2>&1 | grep -q 'certificate revoked'"
check "s4: certtool --verify-crl on its shard" sh -c \
    "openssl crl -inform DER -in '$S/crl/part-$shard.crl' -out '$T/s4.pem' && certtool --verify-crl --load-ca-certificate '$T/ca/ca.pem' --infile '$T/s4.pem' | grep -q 'Verification output: Verified'"
T=$T0
finish
