#!/bin/sh
# Regenerate the CSR corpus used by tests/unit/t_pki.c.  Run from anywhere:
#   sh tests/data/csr/make.sh
# Needs the openssl command and python3 (standard library only).  The keys
# are thrown away; only the CSRs are kept.  Every CSR carries the junk
# subject CN=ignored@example.com: certspool uses nothing but the key.
#
# Good:    rsa2048.pem (BEGIN NEW CERTIFICATE REQUEST), rsa3072.pem,
#          rsa4096.pem, p256.pem, p384.pem (BEGIN CERTIFICATE REQUEST),
#          p256.b64 and rsa2048.b64 (bare base64 DER, wrapped and not).
# Hostile (file: expected reason code):
#   rsa1024.pem            csr_key_too_small
#   rsa2047.pem            csr_key_size
#   rsa8192.pem            csr_key_size
#   rsa_e3.pem             csr_key_exponent   (e = 3)
#   rsa_even_exponent.pem  csr_key_exponent   (e = 65536, validly signed,
#                                              made by even_exponent.py)
#   p521.pem               csr_key_curve
#   secp256k1.pem          csr_key_curve
#   explicit_params.pem    csr_key_explicit_params (P-256 spelled out)
#   p256_compressed.pem    csr_key_encoding   (compressed point, 0x02/0x03)
#   ed25519.pem            csr_key_algorithm
#   dsa2048.pem            csr_key_algorithm
#   bad_signature.pem      csr_bad_signature  (last signature byte flipped)
#   trailing_garbage.b64   csr_trailing_data  (DER + 8 bytes, base64)
# The 1 MB CSR (csr_too_large) is made by the test itself.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
subj="/CN=ignored@example.com"

req() {	# req KEYFILE OUT [HEADER-STYLE]
	openssl req -new -key "$1" -subj "$subj" -sha256 \
	    -addext "subjectAltName=email:ignored@example.com" \
	    -out "$tmp/req.pem"
	if [ "${3:-}" = new ]; then
		sed -e 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' \
		    "$tmp/req.pem" > "$2"
	else
		cp "$tmp/req.pem" "$2"
	fi
}

rsa() {	# rsa BITS EXPONENT OUT [new]
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$1" \
	    -pkeyopt rsa_keygen_pubexp:"$2" -out "$tmp/k.pem" 2>/dev/null
	req "$tmp/k.pem" "$3" "${4:-}"
}

ec() {	# ec CURVE OUT [explicit]
	if [ "${3:-}" = explicit ]; then
		openssl ecparam -name "$1" -param_enc explicit -genkey \
		    -noout -out "$tmp/k.pem"
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$1" \
		    -out "$tmp/k.pem"
	fi
	req "$tmp/k.pem" "$2"
}

rsa 2048 65537 rsa2048.pem new
sed -e 's/NEW CERTIFICATE REQUEST/CERTIFICATE REQUEST/' rsa2048.pem |
    openssl req -outform DER -out "$tmp/rsa2048.der"
openssl base64 -A -in "$tmp/rsa2048.der" > rsa2048.b64
echo >> rsa2048.b64
rsa 3072 65537 rsa3072.pem
rsa 4096 65537 rsa4096.pem
ec P-256 p256.pem
openssl req -in p256.pem -outform DER -out "$tmp/p256.der"
openssl base64 -in "$tmp/p256.der" > p256.b64
ec P-384 p384.pem

rsa 1024 65537 rsa1024.pem
rsa 2047 65537 rsa2047.pem
rsa 8192 65537 rsa8192.pem
rsa 2048 3 rsa_e3.pem
python3 even_exponent.py > rsa_even_exponent.pem
ec P-521 p521.pem
ec secp256k1 secp256k1.pem
ec prime256v1 explicit_params.pem explicit
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/k.pem"
openssl ec -in "$tmp/k.pem" -conv_form compressed -out "$tmp/kc.pem" 2>/dev/null
req "$tmp/kc.pem" p256_compressed.pem

openssl genpkey -algorithm ED25519 -out "$tmp/k.pem"
openssl req -new -key "$tmp/k.pem" -subj "$subj" -out ed25519.pem
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 \
    -out "$tmp/dsap.pem"
openssl genpkey -paramfile "$tmp/dsap.pem" -out "$tmp/k.pem"
req "$tmp/k.pem" dsa2048.pem

# bad_signature: flip the last byte of the signature.
cp "$tmp/rsa2048.der" "$tmp/bad.der"
python3 - "$tmp/bad.der" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[-1] ^= 0x01
open(p, 'wb').write(bytes(b))
PY
{
	echo "-----BEGIN CERTIFICATE REQUEST-----"
	openssl base64 -in "$tmp/bad.der"
	echo "-----END CERTIFICATE REQUEST-----"
} > bad_signature.pem

# trailing_garbage: the DER followed by 8 bytes, as base64.
{ cat "$tmp/p256.der"; printf 'GARBAGE!'; } > "$tmp/tg.der"
openssl base64 -in "$tmp/tg.der" > trailing_garbage.b64
