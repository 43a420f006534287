#!/bin/sh
# CRLs (SPEC 7.3): certificates issued through the daemon with crl_shards
# = 4, revoked with the SQL that cert_revoke() runs, CRLs published by the
# daemon's pass and by `certspool crl`, then checked with independent
# tools: OpenSSL (crl -text/-verify, verify -crl_check with -CRLfile and
# with -crl_download from a static HTTP server), NSS (crlutil, certutil
# -V) and GnuTLS certtool.  Shards, CRL numbers across republishes,
# crashes and a restored database, refresh and validity, the expiry of
# an entry, and a P-384 CA.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/netlib.sh"
setup
PORT=$(free_port)
URL="http://127.0.0.1:$PORT/crl/shard-{shard}.crl"
sed -i "s|^crl_url = .*|crl_url = $URL|; s|^crl_shards = .*|crl_shards = 4|" "$T/certspool.conf"
CHAIN=$T/ca/chain.pem
CD=$S/crl
OFF=0
# csat ARGS...: the binary with the clock OFF seconds ahead.
csat() {
	CERTSPOOL_NOW=+$OFF cs "$@"
}
crlf() {	# crlf SHARD: the shard's CRL file
	echo "$CD/shard-$1.crl"
}
crltext() {
	openssl crl -inform DER -in "$(crlf "$1")" -noout -text 2>/dev/null
}
crlnum() {	# the CRL number of shard $1's file, decimal
	n=$(openssl crl -inform DER -in "$(crlf "$1")" -noout -crlnumber 2>/dev/null | sed 's/^crlNumber=//; s/^0x//')
	[ -n "$n" ] && echo $((0x$n))
}
url_of() {	# the URL of shard $1
	echo "$URL" | sed "s/{shard}/$1/"
}
shard_of() {
	sql "SELECT crl_shard FROM certificate WHERE id = $1"
}
serial_of() {	# as OpenSSL prints it
	sql "SELECT upper(serial) FROM certificate WHERE id = $1"
}
listed() {	# listed ID SHARD: the certificate is an entry of that CRL
	crltext "$2" | grep -q "Serial Number: $(serial_of "$1")\$"
}
entry() {	# entry ID: its entry in its shard's CRL
	crltext "$(shard_of "$1")" | awk -v s="$(serial_of "$1")" \
	    '/Serial Number:/ { p = ($3 == s) } /Signature Algorithm/ { p = 0 } p'
}
# revoke ID REASON [INVALIDITY]: what cert_revoke() records.
revoke() {
	sql "BEGIN; UPDATE certificate SET revoked_at = $(date +%s) + $OFF - 10,
	    revoke_reason = '$2', invalidity_at = ${3:-NULL} WHERE id = $1;
	    INSERT INTO crl_shard_state (shard, dirty)
	    SELECT crl_shard, 1 FROM certificate WHERE id = $1
	    ON CONFLICT DO NOTHING;
	    UPDATE crl_shard_state SET dirty = 1
	    WHERE shard = (SELECT crl_shard FROM certificate WHERE id = $1);
	    COMMIT;"
}
NUMS=""
# nums TEXT: append the CRL numbers of `crl` output lines to NUMS
nums() {
	NUMS="$NUMS $(echo "$1" | awk '{ for (i = 1; i < NF; i++) if ($i == "number") print $(i + 1) }' | tr '\n' ' ')"
}
increasing() {
	echo "$NUMS" | tr ' ' '\n' | grep -v '^$' | awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }'
}

cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization validated" test -n "$oid"
B=$T/batch.xml
N=16
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="CRL-1" account="acme">'
	echo '  <attestation officer="Pat Lee" title="HR Director"/>'
	echo '  <order id="O-1"><product>secure_email_organization</product>'
	echo '<organization>Acme Corp</organization><signatureHash>sha384</signatureHash>'
	echo '<validity><years>1</years></validity><autoRenew>0</autoRenew>'
	i=1
	while [ $i -le $N ]; do
		e="u$i@acme.example"
		echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email><csr>$(csr ec:P-256 "$e")</csr></recipient>"
		i=$((i + 1))
	done
	echo '<agreement accepted="true"/></order>'
	echo '</batch>'
} >"$B"
drop acme "$B"
run_once
check_eq "every certificate issued" $N "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")"
check_eq "4 CRLs published at the first pass" 4 "$(grep -c 'crl: published shard' "$T/daemon.log")"
check "issuing.cer is the issuing CA" sh -c "openssl x509 -in '$T/ca/ca.pem' -outform DER | cmp -s - '$CD/issuing.cer'"
nums "$(grep 'crl: published shard' "$T/daemon.log")"

# Each certificate names its own shard in its CDP; shards are spread.
mkdir -p "$T/c"
bad=0
for id in $(sql "SELECT id FROM certificate ORDER BY id"); do
	blob_to "$T/c/$id.der" der "FROM certificate WHERE id = $id"
	openssl x509 -inform DER -in "$T/c/$id.der" -out "$T/c/$id.pem"
	cdp=$(openssl x509 -in "$T/c/$id.pem" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p')
	[ "$cdp" = "$(url_of "$(shard_of "$id")")" ] || bad=$((bad + 1))
done
check_eq "every CDP names the certificate's shard URL" 0 "$bad"
check "certificates in more than one shard" test "$(sql "SELECT count(DISTINCT crl_shard) FROM certificate")" -gt 1

# Pick certificates: A, B, C revoked; D stays good, in A's shard if any.
A=1 B=2 C=3
SA=$(shard_of $A)
D=$(sql "SELECT id FROM certificate WHERE crl_shard = $SA AND id > 6 ORDER BY id LIMIT 1")
[ -n "$D" ] || D=$(sql "SELECT max(id) FROM certificate")
revoke $A keyCompromise $(($(date +%s) - 86400))
revoke $B unspecified
revoke $C affiliationChanged
out=$(cs crl 2>>"$T/crl.log")
nums "$out"
check_eq "crl publishes only the dirty shards" \
    "$(sql "SELECT count(DISTINCT crl_shard) FROM certificate WHERE id IN ($A, $B, $C)")" \
    "$(echo "$out" | grep -c ' shard ')"
check_eq "no shard left dirty" 0 "$(sql "SELECT count(*) FROM crl_shard_state WHERE dirty != 0")"
check "crl line names file, entries, thisUpdate, nextUpdate" sh -c \
    "echo \"\$1\" | grep -q '^$CD/shard-$SA.crl shard $SA number [0-9]* entries [0-9]* thisUpdate 20.*Z nextUpdate 20.*Z\$'" _ "$out"

for s in 0 1 2 3; do
	F=$(crlf $s)
	txt=$(crltext $s)
	check "shard $s: v2" sh -c "echo \"\$1\" | grep -q 'Version 2 (0x1)'" _ "$txt"
	check "shard $s: CRL number" sh -c "echo \"\$1\" | grep -q 'X509v3 CRL Number'" _ "$txt"
	check_eq "shard $s: AKI = issuing CA SKI" \
	    "$(openssl x509 -in "$T/ca/ca.pem" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')" \
	    "$(echo "$txt" | grep -A1 'Authority Key Identifier' | tail -n 1 | tr -d ' ')"
	check "shard $s: IDP critical" sh -c "echo \"\$1\" | grep -q 'Issuing Distribution Point: critical'" _ "$txt"
	check "shard $s: IDP URL and user certificates" sh -c \
	    "echo \"\$1\" | grep -q 'URI:$(url_of $s) *Only User Certificates'" _ "$txt"
	check "shard $s: openssl crl -verify" sh -c "openssl crl -inform DER -in '$F' -noout -verify -CAfile '$CHAIN' 2>&1 | grep -q 'verify OK'"
	check "shard $s: certtool --crl-info" certtool --crl-info --inder --infile "$F"
	openssl crl -inform DER -in "$F" -out "$T/shard-$s.pem"
	check "shard $s: certtool --verify-crl" sh -c "certtool --verify-crl --load-ca-certificate '$T/ca/ca.pem' --infile '$T/shard-$s.pem' | grep -q 'Verification output: Verified'"
	check "shard $s: NSS decodes it" sh -c "nss-pp -t crl -i '$F' | grep -q 'Version: 2'"
	for id in $A $B $C; do
		if [ "$(shard_of $id)" = $s ]; then
			check "certificate $id listed in its shard $s" listed $id $s
		else
			check_not "certificate $id not listed in shard $s" listed $id $s
		fi
	done
done
ea=$(entry $A)
check "A: reason Key Compromise" sh -c "echo \"\$1\" | grep -q 'Key Compromise'" _ "$ea"
check "A: invalidity date" sh -c "echo \"\$1\" | grep -q 'Invalidity Date'" _ "$ea"
eb=$(entry $B)
check "B listed" test -n "$eb"
check_not "B (unspecified): no reasonCode" sh -c "echo \"\$1\" | grep -q 'CRL Reason Code'" _ "$eb"
ec=$(entry $C)
check "C: reason Affiliation Changed" sh -c "echo \"\$1\" | grep -q 'Affiliation Changed'" _ "$ec"
check_not "C: no invalidity date" sh -c "echo \"\$1\" | grep -q 'Invalidity Date'" _ "$ec"

# Relying parties: OpenSSL with the file and over HTTP, NSS.
SD=$(shard_of $D)
check "openssl verify -crl_check: A revoked" sh -c "openssl verify -crl_check -CAfile '$CHAIN' -CRLfile '$T/shard-$SA.pem' '$T/c/$A.pem' 2>&1 | grep -q 'certificate revoked'"
check "openssl verify -crl_check: D OK" openssl verify -crl_check -CAfile "$CHAIN" -CRLfile "$T/shard-$SD.pem" "$T/c/$D.pem"
# Another shard's CRL does not cover a certificate (its IDP differs).
O=$(sql "SELECT id FROM certificate WHERE crl_shard != $SA AND revoked_at IS NULL ORDER BY id LIMIT 1")
SO=$(shard_of "$O")
check "openssl verify: O OK with its own shard's CRL" openssl verify -crl_check -CAfile "$CHAIN" -CRLfile "$T/shard-$SO.pem" "$T/c/$O.pem"
check_not "openssl verify: another shard's CRL does not cover O" openssl verify -crl_check -CAfile "$CHAIN" -CRLfile "$T/shard-$SA.pem" "$T/c/$O.pem"
python3 -m http.server --bind 127.0.0.1 --directory "$S" "$PORT" >"$T/http.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PORT"
check "openssl verify -crl_download: A revoked" sh -c "openssl verify -crl_check -crl_download -CAfile '$CHAIN' '$T/c/$A.pem' 2>&1 | grep -q 'certificate revoked'"
check "openssl verify -crl_download: D OK" openssl verify -crl_check -crl_download -CAfile "$CHAIN" "$T/c/$D.pem"
check "openssl verify -crl_download: C revoked" sh -c "openssl verify -crl_check -crl_download -CAfile '$CHAIN' '$T/c/$C.pem' 2>&1 | grep -q 'certificate revoked'"
check "the HTTP server served the CRLs" grep -q 'GET /crl/shard-.*\.crl .* 200' "$T/http.log"
NSS=$T/nss
mkdir -p "$NSS"
certutil -N --empty-password -d "sql:$NSS" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n root -t "C,C,C" -i "$T/ca/root.pem" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n issuing -t ",," -i "$T/ca/ca.pem" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n A -t ",," -i "$T/c/$A.pem" >/dev/null 2>&1
certutil -A -d "sql:$NSS" -n D -t ",," -i "$T/c/$D.pem" >/dev/null 2>&1
check "NSS: D valid before the CRL" sh -c "certutil -V -d 'sql:$NSS' -n D -u S | grep -q 'certificate is valid'"
check "NSS: A's entry with reason code 1 and invalidity date" sh -c \
    "nss-pp -t crl -i '$(crlf $SA)' | grep -A8 \"\$(echo '$(serial_of $A)' | sed 's/../&:/g' | tr A-F a-f | cut -c1-47)\" | grep -q 'Invalid Date'"
# NSS does not implement issuingDistributionPoint, so it refuses every
# CRL where it is critical, as RFC 5280 5.2.5 lets it; the extension
# must be critical (RFC 5280 5.2.5), so NSS cannot use these CRLs.
check "NSS crlutil refuses the critical IDP (not implemented by NSS)" sh -c \
    "crlutil -I -d 'sql:$NSS' -t 1 -i '$(crlf $SA)' 2>&1 | grep -q SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION"

# Revocation seen by the daemon's own pass.
E=4
revoke $E superseded
run_once
check "daemon pass publishes the revocation" listed $E "$(shard_of $E)"
nums "$(grep 'crl: published shard' "$T/daemon.log" | tail -n 1)"

# Refresh: nothing new is not re-signed before crl_refresh_hours.
out=$(cs crl 2>>"$T/crl.log")
check_eq "nothing due: nothing written" "" "$out"
OFF=$((24 * 3600 - 600))
out=$(csat crl 2>>"$T/crl.log")
check_eq "not before crl_refresh_hours" "" "$out"
OFF=$((24 * 3600 + 60))
out=$(csat crl 2>>"$T/crl.log")
nums "$out"
check_eq "every shard re-signed after crl_refresh_hours" 4 "$(echo "$out" | grep -c ' shard ')"
lu=$(openssl crl -inform DER -in "$(crlf 0)" -noout -lastupdate | cut -d= -f2)
nu=$(openssl crl -inform DER -in "$(crlf 0)" -noout -nextupdate | cut -d= -f2)
check_eq "nextUpdate - thisUpdate = crl_validity_hours" $((168 * 3600)) $(($(date -d "$nu" +%s) - $(date -d "$lu" +%s)))
check "thisUpdate is the moved clock" test $(($(date -d "$lu" +%s) - $(date +%s) - OFF)) -le 5

# An expired certificate's entry stays for one more CRL, then goes.
SE=$(shard_of $E)
sql "UPDATE certificate SET not_after = $(date +%s) + $OFF + 3600 WHERE id = $E"
OFF=$((OFF + 7200))
out=$(csat crl --now 2>>"$T/crl.log")
nums "$out"
check_eq "crl --now writes every shard" 4 "$(echo "$out" | grep -c ' shard ')"
check "expired E still listed in the first CRL after expiry" listed $E $SE
OFF=$((OFF + 3600))
out=$(csat crl --now 2>>"$T/crl.log")
nums "$out"
check_not "E gone from the next CRL" listed $E $SE
check "A (unexpired) still listed" listed $A $SA

# Crash after the number is allocated: the number is skipped.
G=5
SG=$(shard_of $G)
before=$(crlnum $SG)
revoke $G cessationOfOperation
CERTSPOOL_CRASH_AT=crl_after_number csat crl >/dev/null 2>&1
check_eq "crash point crl_after_number killed it" 137 $?
alloc=$(sql "SELECT value FROM meta WHERE key = 'crl_number'")
check "the allocated number is recorded" test "$alloc" -gt "$(echo "$NUMS" | tr ' ' '\n' | sort -n | tail -n 1)"
check_eq "the file still has its old number" "$before" "$(crlnum $SG)"
csat crl >/dev/null 2>&1
check "shard republished after the crash" listed $G $SG
check "its number is above the allocated one" test "$(crlnum $SG)" -gt "$alloc"
NUMS="$NUMS $alloc $(crlnum $SG)"
# Crash after the file is written, before it is recorded.
H=6
SH=$(shard_of $H)
revoke $H privilegeWithdrawn
CERTSPOOL_CRASH_AT=crl_after_write csat crl >/dev/null 2>&1
check_eq "crash point crl_after_write killed it" 137 $?
written=$(crlnum $SH)
check "crashed after writing: H listed" listed $H $SH
check "not recorded" test "$(sql "SELECT number FROM crl_shard_state WHERE shard = $SH")" -lt "$written"
check "still dirty" test "$(sql "SELECT dirty FROM crl_shard_state WHERE shard = $SH")" -ne 0
NUMS="$NUMS $written"
out=$(csat crl 2>>"$T/crl.log")
nums "$out"
check "republished on the next run" sh -c "echo \"\$1\" | grep -q ' shard $SH '" _ "$out"
check "with a higher number" test "$(crlnum $SH)" -gt "$written"
check "CRL numbers strictly increase across runs and shards" increasing
[ -n "${KEEP:-}" ] && echo "CRL numbers: $NUMS"

# A restored older database never lowers a number.
db_backup "$T/old.db"
OFF=$((OFF + 60))
out=$(csat crl --now 2>>"$T/crl.log")
top=0
for s in 0 1 2 3; do n=$(crlnum $s); [ "$n" -gt "$top" ] && top=$n; done
db_restore "$T/old.db"
OFF=$((OFF + 60))
out=$(csat crl --now 2>>"$T/crl.log")
low=999999999
for s in 0 1 2 3; do n=$(crlnum $s); [ "$n" -lt "$low" ] && low=$n; done
check "after a restore every number is above the files' ($top)" test "$low" -gt "$top"
check "the restored database's counter caught up" test "$(sql "SELECT value FROM meta WHERE key = 'crl_number'")" -gt "$top"

# A temporary left in crl_dir by a crash is swept at the daemon's start
# (crl_dir is served as it is); a fresh one (another publisher's) is not.
: >"$CD/.shard-0.crl.0123456789ab.tmp"
touch -d '2 minutes ago' "$CD/.shard-0.crl.0123456789ab.tmp"
: >"$CD/.shard-1.crl.ba9876543210.tmp"
run_once
check "crash temporary in crl_dir swept at start" test ! -e "$CD/.shard-0.crl.0123456789ab.tmp"
check "fresh temporary in crl_dir left alone" test -e "$CD/.shard-1.crl.ba9876543210.tmp"
rm -f "$CD/.shard-1.crl.ba9876543210.tmp"

# The CA above is init's P-384 one; an RSA-4096 issuing CA signs its CRL
# with sha256WithRSAEncryption.
check "the CA above is P-384" sh -c "openssl x509 -in '$T/ca/ca.pem' -noout -text | grep -q 'NIST CURVE: P-384'"
check "its CRLs: ecdsa-with-SHA384" sh -c "openssl crl -inform DER -in '$CD/shard-0.crl' -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA384'"
init_dir "$T/rsa" --ca-key rsa4096 >/dev/null 2>&1
out=$("$BIN" --config "$T/rsa/certspool.conf" crl --now 2>/dev/null)
P=$(echo "$out" | awk '{ print $1 }')
check "RSA-4096 CA: CRL written" test -s "$P"
check "RSA-4096 CA, one shard: a full CRL without issuingDistributionPoint" sh -c "! openssl crl -inform DER -in '$P' -noout -text | grep -q 'Issuing Distribution Point'"
check "RSA-4096 CA: sha256WithRSAEncryption" sh -c "openssl crl -inform DER -in '$P' -noout -text | grep -q 'Signature Algorithm: sha256WithRSAEncryption'"
check "RSA-4096 CA: openssl crl -verify" sh -c "openssl crl -inform DER -in '$P' -noout -verify -CAfile '$T/rsa/ca/chain.pem' 2>&1 | grep -q 'verify OK'"
openssl crl -inform DER -in "$P" -out "$T/rsa.pem" 2>/dev/null
check "RSA-4096 CA: certtool --verify-crl" sh -c "certtool --verify-crl --load-ca-certificate '$T/rsa/ca/ca.pem' --infile '$T/rsa.pem' | grep -q 'Verification output: Verified'"
check "crl --help" sh -c "echo \"\$1\" | grep -q 'usage: certspool .*crl \[--now\]'" _ "$(cs crl --help)"
check_not "crl with a bad argument" cs crl --later
finish
