#!/bin/sh
# Issuing CA rollover (ca rollover), with a file key and with a SoftHSM2
# token key: a certificate issued before and one after verify with their
# own archive's chain.pem and not with the other's; their CRL DP URLs
# differ per CA; issuer_id per certificate in the database; the old CA's
# files kept in ca_dir/issuer-1; both CAs' CRLs (issuing.crl,
# issuing-2.crl) published and verified with their own CA; a revoked old
# certificate on the old CA's CRL only, a revoked new one on the new
# CA's only; the daemon restarted after the rollover signs with both
# keys; ca show lists both issuers; refusals (the daemon running, no root
# key, a new CA that is the current one); ca_dir completed at the next
# start after a crash between the commit and the new files; the old CA's
# CRLs end one CRL after its last certificate expired (SPEC 7.3).
. "$(dirname "$0")/../lib.sh"
need_tools openssl tar softhsm2-util
MOD=/usr/lib/softhsm/libsofthsm2.so
[ -f "$MOD" ] || bail "missing $MOD (Debian softhsm2)"
BASE=$T

order() {	# order ID EMAIL
	echo "<order id=\"$1\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
	echo "<validity><days>40</days></validity><autoRenew>0</autoRenew>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email><csr>$(csr ec:P-256 "$2")</csr></recipient>"
	echo "<payment method=\"balance\"/><agreement accepted=\"true\"/></order>"
}
batch() {	# batch ID: the orders on stdin as acme's batch ID
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		cat
		echo '</batch>'
	} >"$T/$1.xml"
	drop acme "$T/$1.xml"
}
unpack() {	# unpack BATCH: the batch's archive into $T/x/BATCH; the dir of its one certificate
	mkdir -p "$T/x/$1"
	tar -xzf "$S/outbound/acme/$1.1.tar.gz" -C "$T/x/$1" 2>/dev/null
	dirname "$(find "$T/x/$1" -name cert.pem | head -n 1)"
}
crldp() {	# crldp CERT: its CRL distribution point URL
	openssl x509 -in "$1" -noout -ext crlDistributionPoints 2>/dev/null | sed -n 's/^ *URI://p'
}
serial() {	# serial CERT: upper-case hex
	openssl x509 -in "$1" -noout -serial | sed 's/serial=//'
}
crl_has() {	# crl_has FILE SERIAL
	openssl crl -inform DER -in "$1" -noout -text | tr -d ' ' | grep -qix "serialnumber:$2"
}
crl_ok() {	# crl_ok FILE CAFILE: the CRL's signature verifies with CAFILE
	openssl crl -inform DER -in "$1" -noout -CAfile "$2" 2>&1 | grep -q "verify OK"
}
cfg() {	# cfg KEY: a value of the config, unquoted
	sed -n "s/^$1 = \"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$T/certspool.conf"
}

# scenario NAME: everything above on the installation in $T
scenario() {
	n=$1
	CA=$T/ca
	CD=$(cfg crl_dir)
	[ -n "$CD" ] || CD=$S/crl
	cs account add acme --balance 100000000 >/dev/null
	validated_org acme "Acme Corp" acme.example >/dev/null || bail "$n: org"
	order O1 old1@acme.example | batch B1
	order O2 old2@acme.example | batch B2
	run_once
	d1=$(unpack B1)
	d2=$(unpack B2)
	check "$n: certificate before the rollover" test -s "$d1/cert.pem" -a -s "$d1/chain.pem"
	oldsubj=$(openssl x509 -in "$CA/ca.pem" -noout -subject)

	# the daemon holds the spool lock: no rollover while it runs
	dead_nodes_wait
	"$BIN" --config "$T/certspool.conf" daemon >"$T/d.log" 2>&1 &
	dpid=$!
	sleep 1
	check_not "$n: refused while the daemon runs" cs ca rollover
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null

	cs ca rollover >"$T/roll.out" 2>"$T/roll.err"
	check_eq "$n: ca rollover exit status" 0 "$?"
	check "$n: old CA kept in issuer-1" test -s "$CA/issuer-1/ca.pem" -a -s "$CA/issuer-1/chain.pem"
	check "$n: new CA in issuer-2" test -s "$CA/issuer-2/ca.pem"
	check "$n: issuer-1/ca.pem is the old CA" sh -c "[ \"\$(openssl x509 -in '$CA/issuer-1/ca.pem' -noout -subject)\" = '$oldsubj' ]"
	check "$n: ca.pem is issuer-2's" cmp -s "$CA/ca.pem" "$CA/issuer-2/ca.pem"
	newsubj=$(openssl x509 -in "$CA/ca.pem" -noout -subject)
	check_not "$n: the new CA's subject differs" test "$newsubj" = "$oldsubj"
	case $newsubj in *" G2") ok=1 ;; *) ok=0 ;; esac
	check_eq "$n: the new CA is named ... G2" 1 "$ok"
	check_eq "$n: issuer table" "1|retired
2|current" "$(sql "SELECT id, state FROM issuer ORDER BY id")"

	order N1 new1@acme.example | batch C1
	order N2 new2@acme.example | batch C2
	run_once
	e1=$(unpack C1)
	e2=$(unpack C2)
	check "$n: certificate after the rollover" test -s "$e1/cert.pem" -a -s "$e1/chain.pem"
	check_eq "$n: issuer_id per certificate" "old1@acme.example|1
old2@acme.example|1
new1@acme.example|2
new2@acme.example|2" "$(sql "SELECT r.email, c.issuer_id FROM certificate c JOIN recipient r ON r.id = c.recipient_id ORDER BY c.issuer_id, r.email")"
	check "$n: old certificate verifies with its chain" openssl verify -CAfile "$d1/chain.pem" "$d1/cert.pem"
	check "$n: new certificate verifies with its chain" openssl verify -CAfile "$e1/chain.pem" "$e1/cert.pem"
	check_not "$n: old certificate fails with the new chain" openssl verify -CAfile "$e1/chain.pem" "$d1/cert.pem"
	check_not "$n: new certificate fails with the old chain" openssl verify -CAfile "$d1/chain.pem" "$e1/cert.pem"
	check_not "$n: the chains differ" cmp -s "$d1/chain.pem" "$e1/chain.pem"
	u1=$(crldp "$d1/cert.pem")
	u2=$(crldp "$e1/cert.pem")
	check_eq "$n: old CRL DP" "$(cfg crl_url)" "$u1"
	check_eq "$n: new CRL DP (issuing-2)" "$(echo "$u1" | sed 's/\.crl$/-2.crl/')" "$u2"

	# revoke one certificate of each CA; the CRLs come from the next pass
	s1=$(serial "$d1/cert.pem")
	s3=$(serial "$e1/cert.pem")
	cs revoke --serial "$s1" --reason superseded >/dev/null
	check_eq "$n: revoke of the old certificate" 0 "$?"
	cs revoke --serial "$s3" --reason superseded >/dev/null
	run_once
	f1=$CD/$(basename "$u1")
	f2=$CD/$(basename "$u2")
	check "$n: both CRLs published" test -s "$f1" -a -s "$f2"
	check "$n: old CRL verifies with the old CA" crl_ok "$f1" "$d1/chain.pem"
	check "$n: new CRL verifies with the new CA" crl_ok "$f2" "$e1/chain.pem"
	check_not "$n: old CRL does not verify with the new CA" crl_ok "$f1" "$e1/chain.pem"
	check "$n: revoked old certificate on the old CRL" crl_has "$f1" "$s1"
	check_not "$n: revoked old certificate not on the new CRL" crl_has "$f2" "$s1"
	check "$n: revoked new certificate on the new CRL" crl_has "$f2" "$s3"
	check_not "$n: revoked new certificate not on the old CRL" crl_has "$f1" "$s3"
	check_eq "$n: old CRL issuer" "$(openssl x509 -in "$CA/issuer-1/ca.pem" -noout -subject | sed 's/^subject=//')" \
	    "$(openssl crl -inform DER -in "$f1" -noout -issuer | sed 's/^issuer=//')"
	check "$n: issuing.cer is the old CA" sh -c "openssl x509 -in '$CA/issuer-1/ca.pem' -outform DER | cmp -s - '$CD/issuing.cer'"
	check "$n: issuing-2.cer is the new CA" sh -c "openssl x509 -in '$CA/ca.pem' -outform DER | cmp -s - '$CD/issuing-2.cer'"
	n1=$(openssl crl -inform DER -in "$f1" -noout -crlnumber | sed 's/.*=//')
	n2=$(openssl crl -inform DER -in "$f2" -noout -crlnumber | sed 's/.*=//')
	check_not "$n: CRL numbers not reused" test "$n1" = "$n2"

	# ca show
	cs ca show >"$T/show.out" 2>&1
	check "$n: ca show lists issuer 1 retired" grep -q "issuer 1: retired" "$T/show.out"
	check "$n: ca show lists issuer 2 current" grep -q "issuer 2: current" "$T/show.out"

	# the same CA again is refused
	if [ -s "$CA/ca.key" ]; then
		check_not "$n: a new CA equal to the current one refused" cs ca rollover --import "$CA/ca.pem" "$CA/chain.pem" "$CA/ca.key"
		check "$n: ... with the reason" sh -c "'$BIN' --config '$T/certspool.conf' ca rollover --import '$CA/ca.pem' '$CA/chain.pem' '$CA/ca.key' 2>&1 | grep -q 'issuer 2.s key'"
	fi
	# no root key: the new CA cannot be signed here
	mv "$CA/root.key" "$T/root.key.aside"
	cs ca rollover >/dev/null 2>"$T/noroot.err"
	check_eq "$n: no root key refused" 1 "$?"
	check "$n: ... naming --import" grep -q -- "--import" "$T/noroot.err"
	mv "$T/root.key.aside" "$CA/root.key"
	check_eq "$n: nothing recorded by the refusals" 2 "$(sql "SELECT count(*) FROM issuer")"
	check_eq "$n: no staging directory left by the refusals" "" "$(ls -A "$CA" | grep '^\.issuer')"
}

# ---- a file key ----
T=$BASE/file
mkdir -p "$T"
setup
scenario file
check "file: issuer-1 keeps the old key" test -s "$CA/issuer-1/ca.key"
check_not "file: the new key is another" cmp -s "$CA/issuer-1/ca.key" "$CA/ca.key"
check "file: key files stay 0600" sh -c "[ \"\$(stat -c %a '$CA/ca.key')\" = 600 ] && [ \"\$(stat -c %a '$CA/issuer-1/ca.key')\" = 600 ]"
# A crash after the rollover's commit, before ca_dir got the new files:
# ca_dir still holds the old CA; the next start completes it.
for f in ca.pem chain.pem ca.key; do
	cp -p "$CA/issuer-1/$f" "$CA/.$f.crash" && mv "$CA/.$f.crash" "$CA/$f"
done
order N3 new3@acme.example | batch C3
run_once
check "file: ca_dir completed from issuer-2 at the start" cmp -s "$CA/ca.pem" "$CA/issuer-2/ca.pem"
check "file: ... and ca.key" cmp -s "$CA/ca.key" "$CA/issuer-2/ca.key"
check "file: ... logged" grep -q "issuer 2: ca_dir completed from issuer-2" "$T/daemon.log"
g=$(unpack C3)
check "file: the certificate after it comes from the new CA" openssl verify -CAfile "$e1/chain.pem" "$g/cert.pem"
check_eq "file: ... issuer 2" 2 "$(sql "SELECT c.issuer_id FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'new3@acme.example'")"
# SPEC 7.3: once every certificate of the old CA has expired (40 days)
# it publishes one more CRL, still listing its revoked one, and stops.
oldn=$(openssl crl -inform DER -in "$f1" -noout -crlnumber | sed 's/.*=//')
CERTSPOOL_NOW=+$((50 * 86400)) run_once
lastn=$(openssl crl -inform DER -in "$f1" -noout -crlnumber | sed 's/.*=//')
check_not "file: one more old CRL after the expiry" test "$lastn" = "$oldn"
check "file: ... it still lists the revoked old certificate" crl_has "$f1" "$s1"
check "file: ... verifies with the old CA" crl_ok "$f1" "$d1/chain.pem"
check_eq "file: the old CA's CRLs ended" 1 "$(sql "SELECT CASE WHEN crl_ended IS NOT NULL THEN 1 ELSE 0 END FROM issuer WHERE id = 1")"
newn=$(openssl crl -inform DER -in "$f2" -noout -crlnumber | sed 's/.*=//')
CERTSPOOL_NOW=+$((52 * 86400)) run_once
check_eq "file: no old CRL after that" "$lastn" "$(openssl crl -inform DER -in "$f1" -noout -crlnumber | sed 's/.*=//')"
check_not "file: the new CA's CRL is still re-signed" test "$newn" = "$(openssl crl -inform DER -in "$f2" -noout -crlnumber | sed 's/.*=//')"
CERTSPOOL_NOW=+$((52 * 86400)) cs ca show >"$T/show2.out" 2>&1
check "file: ca show: its CRLs ended" grep -q "issuer 1: retired (its CRLs ended)" "$T/show2.out"

# ---- a SoftHSM2 token key ----
T=$BASE/hsm
H=$T/softhsm
mkdir -p "$H/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$H" >"$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
softhsm2-util --init-token --free --label certspool-roll --so-pin 87654321 \
    --pin 246810 >/dev/null 2>&1 || bail "softhsm2-util --init-token"
printf '246810\n' >"$H/pin"
chmod 600 "$H/pin"
init_dir "$T" --hsm "$MOD" --token certspool-roll --pin-file "$H/pin" >/dev/null 2>&1 || bail "init --hsm"
sed -i 's/^settle_seconds = .*/settle_seconds = 0/' "$T/certspool.conf"
S=$T/spool
olduri=$(cfg ca_key)
scenario hsm
newuri=$(cfg ca_key)
case $newuri in pkcs11:*token=certspool-roll*) ok=1 ;; *) ok=0 ;; esac
check_eq "hsm: ca_key is a key of the same token" 1 "$ok"
check_not "hsm: ca_key is the new key" test "$newuri" = "$olduri"
check "hsm: no ca.key in ca_dir" test ! -e "$CA/ca.key"
check_eq "hsm: issuer 1's key stays in the token" "$olduri" "$(sql "SELECT key_location FROM issuer WHERE id = 1")"

T=$BASE
finish
