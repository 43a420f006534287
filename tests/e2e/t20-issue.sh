#!/bin/sh
# Issuance: every product with RSA, ECC and server-generated keys, through
# the real daemon; certificates checked with independent verifiers
# (OpenSSL, GnuTLS certtool, NSS certutil, gpgsm) and by parsing each
# profile rule; archives read back with bsdtar; mails and PKCS#12.
. "$(dirname "$0")/../lib.sh"
# CAKEY: init --ca-key (p384 by default, or rsa4096).  A P-384 CA signs
# with sha384 only (S/MIME BR 7.1.3.2.2); an RSA CA is asked for sha256.
CAKEY=${1:-p384}
setup "$CAKEY"
case $CAKEY in
p384) HASH=sha384 SIGALG=ecdsa-with-SHA384 ;;
*) HASH=sha256 SIGALG=sha256WithRSAEncryption ;;
esac
cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization and domain validated" test -n "$oid"

# expected policy OIDs, from the S/MIME BR 7.1.6.1 table (type.generation)
policy() {
	case $1 in
	secure_email_individual) echo 2.23.140.1.5.1.3 ;;
	client1_smime) echo 2.23.140.1.5.1.2 ;;
	secure_email_organization) echo 2.23.140.1.5.2.3 ;;
	secure_email_business) echo 2.23.140.1.5.3.3 ;;
	premium|email_security_plus|digital_signature_plus) echo 2.23.140.1.5.3.2 ;;
	esac
}
PRODUCTS="secure_email_individual client1_smime secure_email_organization secure_email_business premium email_security_plus digital_signature_plus"

B=$T/batch.xml
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="ISSUE-1" account="acme">'
	echo '  <attestation officer="Pat Lee" title="HR Director"/>'
	for p in $PRODUCTS; do
		echo "  <order id=\"O-$p\"><product>$p</product>"
		case $p in secure_email_individual|client1_smime) ;; *) echo "<organization>Acme Corp</organization>" ;; esac
		echo "<signatureHash>$HASH</signatureHash><validity><years>1</years></validity><autoRenew>0</autoRenew>"
		for k in rsa:2048 ec:P-256 keygen; do
			kn=$(echo "$k" | tr -d ':-' | tr 'A-Z' 'a-z')
			e="$kn.$p@acme.example"
			case $p in
			secure_email_individual|client1_smime|secure_email_organization)
				echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email>" ;;
			*)
				echo "<recipient><commonName type=\"name\">Jane $kn</commonName><givenName>Jane</givenName><surname>$kn</surname><email>$e</email>" ;;
			esac
			if [ "$k" = keygen ]; then
				echo '<keygen algorithm="ecc-p256"/></recipient>'
			else
				echo "<csr>$(csr "$k" "$e")</csr></recipient>"
			fi
		done
		echo "<additionalEmails>hr@acme.example</additionalEmails>"
		echo '<agreement accepted="true"/></order>'
	done
	echo '</batch>'
} >"$B"
check "generated batch is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
drop acme "$B"
run_once
# mailbox-validated products wait for mailbox control
check_eq "individual waits for mailbox control" waiting_dcv \
    "$(sql "SELECT state FROM orders WHERE ext_id = 'O-secure_email_individual'")"
for e in $(sql "SELECT r.email FROM recipient r JOIN orders o ON o.id = r.order_id WHERE o.state = 'waiting_dcv'"); do
	tok=$(mail_token "$e")
	check "mailbox token for $e" cs domain confirm "$tok"
done
run_once
R=$S/outbound/acme/ISSUE-1.2.result.xml
check "second pass result" test -f "$R"
check_eq "every order issued" 7 "$(xval "$R" 'count(//*[local-name()="order"][@state="issued"])')"
check_eq "every recipient issued" 21 "$(sql "SELECT count(*) FROM recipient WHERE state = 'issued'")"
check_eq "one certificate each" 21 "$(sql "SELECT count(DISTINCT recipient_id) FROM certificate WHERE state = 'issued'")"
check_eq "serials unique" 21 "$(sql "SELECT count(DISTINCT serial) FROM certificate")"
A1=$S/outbound/acme/ISSUE-1.1.tar.gz
A2=$S/outbound/acme/ISSUE-1.2.tar.gz
check "archive of pass 1" test -f "$A1"
check "archive of pass 2" test -f "$A2"
mkdir -p "$T/x"
(cd "$T/x" && bsdtar -xf "$A1" && bsdtar -xf "$A2")
check_eq "archive entries" $((21 * 3 + 7)) "$(cat "$A1" "$A2" >/dev/null; { bsdtar -tf "$A1"; bsdtar -tf "$A2"; } | wc -l)"
check "archive has only regular files 0644" sh -c "! { bsdtar -tvf '$A1'; bsdtar -tvf '$A2'; } | grep -v '^-rw-r--r--'"
check "no private key in archive except p12" sh -c "! grep -rl 'PRIVATE KEY' '$T/x'"

ROOTPEM=$T/ca/root.pem
ISSPEM=$T/ca/ca.pem
NSS=$T/nss
mkdir -p "$NSS"
certutil -N --empty-password -d "sql:$NSS" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n root -t "C,C,C" -i "$ROOTPEM" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n issuing -t ",," -i "$ISSPEM" >/dev/null 2>&1
export GNUPGHOME=$T/gnupg
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
echo "disable-crl-checks" >"$GNUPGHOME/gpgsm.conf"
gpgsm --batch --import "$ROOTPEM" "$ISSPEM" >/dev/null 2>&1
now=$(date +%s)
for p in $PRODUCTS; do
	for kn in rsa2048 ecp256 keygen; do
		e="$kn.$p@acme.example"
		d=$T/x/O-$p/$e
		c=$d/cert.pem
		check "$e cert.pem in archive" test -f "$c"
		[ -f "$c" ] || continue
		txt=$(openssl x509 -in "$c" -noout -text)
		check "$e signed $SIGALG" sh -c "openssl x509 -in '$c' -noout -text | grep -q 'Signature Algorithm: $SIGALG'"
		sha=$(sha256sum "$c" | cut -c1-64)
		check_eq "$e sha256 in result" "$sha" \
		    "$(xval "$R" "string(//*[local-name()='recipient'][@email='$e']/@sha256)")"
		check "$e chain.pem and cert.p7b" test -s "$d/chain.pem" -a -s "$d/cert.p7b"
		check "$e p7b holds 3 certificates" test "$(openssl pkcs7 -inform DER -in "$d/cert.p7b" -print_certs | grep -c BEGIN)" -eq 3
		check "$e openssl verify smimesign" openssl verify -purpose smimesign -CAfile "$ROOTPEM" -untrusted "$ISSPEM" "$c"
		check "$e gnutls certtool verify" sh -c "cat '$c' '$ISSPEM' | certtool --verify --load-ca-certificate '$ROOTPEM'"
		check "$e NSS certutil -u S" sh -c "certutil -A -d 'sql:$NSS' -n '$e' -t ',,' -i '$c' && certutil -V -d 'sql:$NSS' -n '$e' -u S | grep -q 'certificate is valid'"
		check "$e gpgsm import" gpgsm --batch --import "$c"
		check_eq "$e policy OID" "$(policy "$p")" "$(openssl x509 -in "$c" -noout -ext certificatePolicies | sed -n 's/.*Policy: \([0-9.]*\).*/\1/p' | tr -d ' \n')"
		check "$e keyUsage critical" sh -c "echo \"\$1\" | grep -q 'Key Usage: critical'" _ "$txt"
		ku=$(openssl x509 -in "$c" -noout -ext keyUsage | tail -n 1 | tr -d ' ')
		if [ "$p" = digital_signature_plus ]; then
			check_eq "$e signing-only key usage" "DigitalSignature" "$ku"
			check_not "$e not for encryption" openssl verify -purpose smimeencrypt -CAfile "$ROOTPEM" -untrusted "$ISSPEM" "$c"
		else
			case $kn in
			rsa2048) check_eq "$e RSA dual use" "DigitalSignature,KeyEncipherment" "$ku" ;;
			*) check_eq "$e ECC dual use" "DigitalSignature,KeyAgreement" "$ku" ;;
			esac
			# OpenSSL's smimeencrypt purpose demands keyEncipherment,
			# which only RSA certificates carry (ECC: keyAgreement).
			[ "$kn" = rsa2048 ] && check "$e openssl verify smimeencrypt" openssl verify -purpose smimeencrypt -CAfile "$ROOTPEM" -untrusted "$ISSPEM" "$c"
			check "$e NSS certutil -u R" sh -c "certutil -V -d 'sql:$NSS' -n '$e' -u R | grep -q 'certificate is valid'"
		fi
		eku=$(openssl x509 -in "$c" -noout -ext extendedKeyUsage | tail -n 1 | tr -d ' ')
		if [ "$p" = premium ]; then
			check_eq "$e EKU" "E-mailProtection,TLSWebClientAuthentication" "$eku"
		else
			check_eq "$e EKU" "E-mailProtection" "$eku"
		fi
		check_eq "$e SAN" "email:$e" "$(openssl x509 -in "$c" -noout -ext subjectAltName | tail -n 1 | tr -d ' ')"
		subj=$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253,oid,-esc_2253)
		case $p in
		secure_email_individual|client1_smime)
			check_eq "$e mailbox subject" "subject=2.5.4.3=$e" "$subj" ;;
		secure_email_organization)
			check "$e org subject has O, organizationIdentifier, C" sh -c "echo '$subj' | grep -q '2.5.4.97=NTRUS+CA-1234567' && echo '$subj' | grep -q '2.5.4.10=Acme Corp' && echo '$subj' | grep -q '2.5.4.6=US'"
			check_not "$e org subject has no givenName" sh -c "echo '$subj' | grep -q '2.5.4.42='" ;;
		*)
			check "$e sponsor subject has givenName, surname, O, orgId" sh -c "echo '$subj' | grep -q '2.5.4.42=Jane' && echo '$subj' | grep -q '2.5.4.4=$kn' && echo '$subj' | grep -q '2.5.4.97=NTRUS+CA-1234567' && echo '$subj' | grep -q '2.5.4.3=Jane $kn'" ;;
		esac
		check_not "$e CSR subject and extensions absent" sh -c "echo \"\$1\" | grep -Eq 'ignored|Ignored Inc|csr-only'" _ "$txt"
		check "$e AKI keyid only" sh -c "openssl x509 -in '$c' -noout -ext authorityKeyIdentifier | tail -n +2 | grep -vq 'DirName\\|serial'"
		check "$e CRL DP http" sh -c "echo \"\$1\" | grep -q 'URI:http://'" _ "$txt"
		check "$e AIA caIssuers" sh -c "echo \"\$1\" | grep -q 'CA Issuers - URI:http://'" _ "$txt"
		check "$e version 3" sh -c "echo \"\$1\" | grep -q 'Version: 3'" _ "$txt"
		nb=$(date -d "$(openssl x509 -in "$c" -noout -startdate | cut -d= -f2)" +%s)
		na=$(date -d "$(openssl x509 -in "$c" -noout -enddate | cut -d= -f2)" +%s)
		check "$e validity <= 825 days" test $((na - nb)) -le $((825 * 86400 - 1))
		check "$e validity about a year" test $((na - nb)) -ge $((364 * 86400))
		check "$e notBefore is now" test $((nb - now)) -le 3600 -a $((now - nb)) -le 3600
		ser=$(openssl x509 -in "$c" -noout -serial | cut -d= -f2)
		check "$e serial >= 64 bits and positive" test "${#ser}" -ge 16 -a "$(printf %s "$ser" | cut -c1 | tr '89ABCDEF' 'xxxxxxxx')" != x
		m=$(grep -l "^To: \(.* <\)\{0,1\}$e" "$S"/mail/cert-*.eml | head -n 1)
		check "$e issued mail" test -n "$m"
		[ -n "$m" ] && check "$e mail Cc additional emails" grep -q "^Cc: hr@acme.example" "$m"
		# CMS round trip with the certificate and its key
		if [ "$kn" = keygen ]; then
			check "$e bundle.p12 present" test -f "$d/bundle.p12"
			pm=$(grep -l "^To: $e" "$S"/mail/p12pass-*.eml | head -n 1)
			pw=$(tr -d '\r' <"$pm" | sed -n 's/^    \([A-Za-z0-9-]*\)$/\1/p' | head -n 1)
			check "$e p12 password mailed" test -n "$pw"
			check "$e p12 password never in the archive" sh -c "! grep -rq '$pw' '$T/x'"
			check "$e p12 password not kept in the database" test "$(sql "SELECT count(*) FROM certificate WHERE p12_password IS NOT NULL")" -eq 0
			check "$e p12 opens with the password" sh -c "openssl pkcs12 -in '$d/bundle.p12' -passin 'pass:$pw' -nodes -nocerts -out '$d/key.pem'"
			check "$e p12 uses AES-256-CBC, PBKDF2, SHA-256 MAC" sh -c "openssl pkcs12 -in '$d/bundle.p12' -passin 'pass:$pw' -info -noout 2>&1 | grep -q 'MAC: sha256' && openssl pkcs12 -in '$d/bundle.p12' -passin 'pass:$pw' -info -noout 2>&1 | grep -q 'PBES2, PBKDF2, AES-256-CBC'"
			key=$d/key.pem
		else
			key=$T/keys/$e.key
		fi
		echo "hello $e" >"$d/msg.txt"
		check "$e CMS sign/verify" sh -c "openssl cms -sign -binary -in '$d/msg.txt' -signer '$c' -inkey '$key' -certfile '$ISSPEM' -out '$d/msg.p7s' && openssl cms -verify -binary -in '$d/msg.p7s' -CAfile '$ROOTPEM' -purpose smimesign -out '$d/msg.out' && cmp -s '$d/msg.txt' '$d/msg.out'"
		if [ "$p" != digital_signature_plus ]; then
			check "$e CMS encrypt/decrypt" sh -c "openssl cms -encrypt -binary -aes256 -in '$d/msg.txt' -out '$d/msg.enc' '$c' && openssl cms -decrypt -binary -in '$d/msg.enc' -recip '$c' -inkey '$key' -out '$d/msg.dec' && cmp -s '$d/msg.txt' '$d/msg.dec'"
		fi
	done
done

# Hostile CSRs: refused order by order with distinct reasons, nothing signed.
H=$ROOT/tests/data/csr
HOSTILE="rsa1024.pem:csr_key_too_small rsa2047.pem:csr_key_size
p521.pem:csr_key_curve ed25519.pem:csr_key_algorithm rsa_e3.pem:csr_key_exponent
bad_signature.pem:csr_bad_signature explicit_params.pem:csr_key_explicit_params
trailing_garbage.b64:csr_trailing_data reused:csr_key_reused
rsa8192.pem:csr_key_size secp256k1.pem:csr_key_curve dsa2048.pem:csr_key_algorithm
rsa_even_exponent.pem:csr_key_exponent"
before=$(sql "SELECT count(*) FROM certificate")
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="HOSTILE-CSR" account="acme">'
	for h in $HOSTILE; do
		f=${h%%:*}
		n=$(echo "$f" | tr '._' '--')
		echo "<order id=\"bad-$n\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
		echo "<validity><years>1</years></validity><recipient><commonName type=\"email\">$n@acme.example</commonName><email>$n@acme.example</email>"
		if [ "$f" = reused ]; then
			# a key already certified for another mailbox
			echo "<csr>$(openssl req -new -key "$T/keys/rsa2048.premium@acme.example.key" -subj /CN=x)</csr>"
		else
			echo "<csr>$(cat "$H/$f")</csr>"
		fi
		echo '</recipient><agreement accepted="true"/></order>'
	done
	echo '</batch>'
} >"$T/hostile-csr.xml"
drop acme "$T/hostile-csr.xml"
run_once
RH=$S/outbound/acme/HOSTILE-CSR.1.result.xml
check_eq "every hostile CSR order rejected" 13 "$(xval "$RH" 'count(//*[local-name()="order"][@state="rejected"])')"
check_eq "nothing signed for them" "$before" "$(sql "SELECT count(*) FROM certificate")"
for h in $HOSTILE; do
	f=${h%%:*}
	n=$(echo "$f" | tr '._' '--')
	check_eq "CSR $f refused with its reason" "${h#*:}" \
	    "$(sql "SELECT r.reason FROM recipient r JOIN orders o ON o.id = r.order_id WHERE o.ext_id = 'bad-$n'")"
done
check_eq "the issue's nine attacks have nine distinct reasons" 9 \
    "$(sql "SELECT count(DISTINCT r.reason) FROM recipient r JOIN orders o ON o.id = r.order_id WHERE o.ext_id IN ('bad-rsa1024-pem','bad-rsa2047-pem','bad-p521-pem','bad-ed25519-pem','bad-rsa-e3-pem','bad-bad-signature-pem','bad-explicit-params-pem','bad-trailing-garbage-b64','bad-reused')")"
finish
