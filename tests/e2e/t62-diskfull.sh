#!/bin/sh
# I/O faults: the spool's file system runs out of space (SPEC 1 "Nothing
# is lost", "Everything the daemon writes appears atomically"; spool.c:
# "a broken environment (database busy, disk full) is KEEP").
#
# As root, a 2 MB tmpfs is mounted in the test directory and holds the
# whole spool (spool_dir points at it); the database and the CA stay
# outside.  A batch whose orders are all issued (CSR orders and a
# server-generated key: archive, result.xml, certificate and PKCS#12
# password mails) and a refused file are dropped, then the tmpfs is filled
# to the last block with a filler file and `daemon --once` runs:
#   - it must not die from a signal (exit status recorded; < 128, no
#     timeout) and must log the ENOSPC error;
#   - the batch is not lost: it is in inbound/, work/ or archive/ (with its
#     orders stored), byte-identical, and not rejected;
#   - no half-written output: no final-named (non-dot) file of size 0 in
#     outbound/, rejected/, mail/, archive/; every *.result.xml and
#     *.error.xml present is well-formed; every *.tar.gz present lists with
#     bsdtar; every *.eml has its headers; a result.xml only with the
#     archive it names; no temporary dot-files left behind; a file in
#     rejected/ only beside its error.xml.
# Then the filler is removed and `daemon --once` runs again: the batch ends
# in archive/ with result seq 1, every order issued, the archive it names,
# every mail, the refused file in rejected/ beside its report, nothing left
# in inbound/ or work/.  The tmpfs is unmounted by the EXIT trap.
# Without root or when mount is not permitted the test says why and counts
# a failure.
. "$(dirname "$0")/../lib.sh"

M=""
unmount() {
	if [ -n "$M" ] && mountpoint -q "$M" 2>/dev/null; then
		umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
	fi
}
trap 'unmount; cleanup' EXIT
trap 'exit 130' INT TERM
for tool in sqlite3 xmllint bsdtar openssl mountpoint; do
	command -v "$tool" >/dev/null 2>&1 || bail "missing tool: $tool"
done
[ "$(id -u)" -eq 0 ] || bail "not root: cannot mount a tmpfs for the spool (counted as a failure)"

setup
# run_once_t: one bounded daemon pass; prints its exit status.
run_once_t() {
	dead_nodes_wait
	timeout -k 5 120 "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
	echo $?
}

M=$T/tmpfs
mkdir -p "$M"
if ! merr=$(mount -t tmpfs -o size=2m,mode=0750 tmpfs "$M" 2>&1); then
	M=""
	bail "mount -t tmpfs not permitted here: $merr"
fi
check "2 MB tmpfs mounted" mountpoint -q "$M"
cp -a "$S/." "$M/"
sed -i "s|^spool_dir = .*|spool_dir = $M|" "$T/certspool.conf"
S=$M
cs account add acme --balance 100000000 >/dev/null
check "account directories on the tmpfs" test -d "$M/inbound/acme" -a -d "$M/outbound/acme"
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization and domain validated" test -n "$oid"

# issue_batch FILE BATCH-ID TAG: a batch whose orders are all issued in one
# pass (fresh CSR keys; mailboxes made distinct by TAG).
issue_batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$2\" account=\"acme\">"
		echo '  <attestation officer="Pat Lee" title="HR Director"/>'
		echo "  <order id=\"$3-ORG\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
		echo '    <validity><years>1</years></validity>'
		echo "    <recipient><commonName type=\"email\">rsa.$3@acme.example</commonName><email>rsa.$3@acme.example</email>"
		echo "      <csr>$(csr rsa:2048 "rsa.$3@acme.example")</csr></recipient>"
		echo '    <agreement accepted="true"/></order>'
		echo "  <order id=\"$3-BIZ\"><product>secure_email_business</product><organization>Acme Corp</organization>"
		echo '    <validity><years>1</years></validity>'
		echo '    <recipient><commonName type="name">Jane Doe</commonName><givenName>Jane</givenName><surname>Doe</surname>'
		echo "      <email>jane.$3@acme.example</email><csr>$(csr ec:P-256 "jane.$3@acme.example")</csr></recipient>"
		echo '    <recipient><commonName type="name">Raj Patel</commonName><givenName>Raj</givenName><surname>Patel</surname>'
		echo "      <email>raj.$3@acme.example</email><keygen algorithm=\"ecc-p256\"/></recipient>"
		echo '    <additionalEmails>hr@acme.example</additionalEmails>'
		echo '    <agreement accepted="true"/></order>'
		echo '</batch>'
	} >"$1"
}
B=$T/full.xml
issue_batch "$B" FULL-1 f1
check "batch is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
drop acme "$B"
drop acme "$ROOT/tests/data/xml/hostile/not_xml.xml" refused.xml
check "inputs on the tmpfs" test -f "$M/inbound/acme/full.xml" -a -f "$M/inbound/acme/refused.xml"

# Fill the file system to the last block.
timeout 60 dd if=/dev/zero of="$M/filler" bs=4096 >/dev/null 2>&1
sync
avail=$(df -B1 --output=avail "$M" | tail -n 1 | tr -d ' ')
echo "tmpfs filled: $(stat -c %s "$M/filler") bytes of filler, $avail bytes available"
check_eq "tmpfs is full" 0 "$avail"
check "writing one more byte fails" sh -c "! printf x >'$M/probe' 2>/dev/null || test ! -s '$M/probe'"
rm -f "$M/probe"

# audit LABEL: the no-half-written-output invariants over the spool.
SEEN_REJECTED=""
audit() {
	lbl=$1
	zero=$(find "$M/outbound" "$M/rejected" "$M/mail" "$M/archive" -type f -size 0 ! -name '.*' 2>/dev/null)
	check_eq "$lbl: no final-named empty file" "" "$zero"
	tmps=$(find "$M/outbound" "$M/rejected" "$M/mail" "$M/archive" -type f -name '.*' 2>/dev/null)
	check_eq "$lbl: no temporary file left behind" "" "$tmps"
	for f in $(find "$M/outbound" "$M/rejected" -type f \( -name '*.result.xml' -o -name '*.error.xml' \) ! -name '.*'); do
		check "$lbl: $(basename "$f") well-formed" xmllint --noout "$f"
	done
	for f in $(find "$M/outbound" -type f -name '*.tar.gz' ! -name '.*'); do
		check "$lbl: $(basename "$f") lists with bsdtar" sh -c "bsdtar -tf '$f' >/dev/null"
	done
	for f in $(find "$M/mail" -type f -name '*.eml' ! -name '.*'); do
		check "$lbl: $(basename "$f") has its headers" sh -c "grep -q '^To: ' '$f' && grep -q '^Subject: ' '$f'"
	done
	for f in $(find "$M/outbound" -type f -name '*.result.xml' ! -name '.*'); do
		a=$(xval "$f" 'string(/*/@archive)')
		[ -n "$a" ] && check "$lbl: $(basename "$f") only with its archive $a" test -f "$(dirname "$f")/$a"
	done
	# (each rejected file is judged once, when first seen)
	for f in $(find "$M/rejected" -type f ! -name '*.error.xml' ! -name '.*'); do
		case " $SEEN_REJECTED " in *" $f "*) continue ;; esac
		SEEN_REJECTED="$SEEN_REJECTED $f"
		check "$lbl: rejected $(basename "$f") sits beside its error.xml" test -f "$f.error.xml"
	done
}

# ---- pass 1: disk full ----
st=$(run_once_t)
echo "daemon --once on a full spool exited with status $st"
check "disk full: daemon not killed by a signal nor timed out (status $st)" test "$st" -lt 124
check_eq "disk full: daemon --once exits 75 (EX_TEMPFAIL: work left undone)" 75 "$st"
check "disk full: the daemon logged an error" grep -q "Z certspool: error: " "$T/daemon.log"
check "disk full: a certspool log line names the cause (No space left on device)" \
    grep -q "Z certspool: .*No space left on device" "$T/daemon.log"
where=""
for d in inbound work archive rejected; do
	[ -f "$M/$d/acme/full.xml" ] && where="$where $d"
done
echo "after pass 1 the batch is in:${where:- (nowhere)}"
check "disk full: batch kept (inbound/, work/ or archive/)" \
    sh -c "case '$where' in ' inbound'|' work'|' archive') exit 0;; *) exit 1;; esac"
for d in inbound work archive; do
	[ -f "$M/$d/acme/full.xml" ] && check "disk full: kept batch is byte-identical" cmp -s "$B" "$M/$d/acme/full.xml"
done
check "disk full: batch not rejected" test ! -e "$M/rejected/acme/full.xml"
if [ "$where" = " archive" ]; then
	check_eq "disk full: archived batch has its orders stored" 2 \
	    "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'FULL-1'")"
fi
audit "disk full"
grep -E 'certspool: (error|warning):' "$T/daemon.log" | sed 's/^/    daemon: /' | head -n 20
echo "    outputs after pass 1: $(cd "$M" && find outbound rejected mail archive -type f ! -name '.*' | grep -v '/dcv-' | tr '\n' ' ')"

# ---- pass 2: space again ----
rm -f "$M/filler"
: >"$T/daemon.log.2"
cp "$T/daemon.log" "$T/daemon.log.1"
st=$(run_once_t)
check_eq "space again: daemon --once exits 0" 0 "$st"
check "space again: batch archived" test -f "$M/archive/acme/full.xml"
check "space again: archived batch is byte-identical" cmp -s "$B" "$M/archive/acme/full.xml"
check "space again: inbound empty" test -z "$(ls -A "$M/inbound/acme")"
check "space again: work empty" test -z "$(ls -A "$M/work/acme")"
R=$M/outbound/acme/FULL-1.1.result.xml
check "space again: result.xml seq 1" test -f "$R"
check "space again: result.xml well-formed" xmllint --noout "$R"
check_eq "space again: every order issued" 2 "$(xval "$R" 'count(//*[local-name()="order"][@state="issued"])')"
arch=$(xval "$R" 'string(/*/@archive)')
check_eq "space again: result names the archive" "FULL-1.1.tar.gz" "$arch"
check_eq "space again: archive has a cert.pem per recipient" 3 \
    "$(bsdtar -tf "$M/outbound/acme/FULL-1.1.tar.gz" 2>/dev/null | grep -c '/cert.pem$')"
check_eq "space again: one result pass" "FULL-1.1.result.xml" \
    "$(ls "$M/outbound/acme" | grep '^FULL-1\..*result.xml$' | tr '\n' ' ' | sed 's/ $//')"
check_eq "space again: a certificate mail per recipient" 3 "$(ls "$M/mail" | grep -c '^cert-.*\.eml$')"
check_eq "space again: the PKCS#12 password mail" 1 "$(ls "$M/mail" | grep -c '^p12pass-.*\.eml$')"
check_eq "space again: password erased once mailed" 0 \
    "$(sql "SELECT count(*) FROM certificate WHERE p12_password IS NOT NULL")"
check_eq "space again: recipients issued" 3 "$(sql "SELECT count(*) FROM recipient WHERE state = 'issued'")"
check "space again: refused file in rejected/" test -f "$M/rejected/acme/refused.xml"
check "space again: its error report" xmllint --noout "$M/rejected/acme/refused.xml.error.xml"
audit "space again"

# ---- nearly full: room for the archive, not for every mail ----
# The first publication of a pass is the archive, then the mails, then
# result.xml.  Leave one page more than the first pass's archive took, so
# that the pass is cut off part-way; result.xml must then not appear, and
# the next pass must complete the same pass (seq 1) without duplicates.
B2=$T/full2.xml
issue_batch "$B2" FULL-2 f2
check "second batch is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B2"
drop acme "$B2"
mails_before=$(ls "$M/mail" | grep -c '^cert-')
asize=$(stat -c %s "$M/outbound/acme/FULL-1.1.tar.gz" 2>/dev/null || echo 16384)
pages=$(((asize + 4095) / 4096 + 1))
timeout 60 dd if=/dev/zero of="$M/filler" bs=4096 >/dev/null 2>&1
truncate -s "-$((pages * 4096))" "$M/filler"
sync
avail=$(df -B1 --output=avail "$M" | tail -n 1 | tr -d ' ')
echo "tmpfs nearly full: $avail bytes available (previous archive: $asize bytes)"
check "nearly full: a few pages free" test "$avail" -ge 4096 -a "$avail" -le 65536
: >"$T/daemon.log"
st=$(run_once_t)
echo "daemon --once on a nearly full spool exited with status $st"
check "nearly full: daemon not killed by a signal nor timed out (status $st)" test "$st" -lt 124
echo "    published: $(ls "$M/outbound/acme" | grep '^FULL-2' | tr '\n' ' ')and $(($(ls "$M/mail" | grep -c '^cert-') - mails_before)) of 3 certificate mails"
grep -E 'certspool: (error|warning):' "$T/daemon.log" | sed 's/^/    daemon: /' | head -n 10
check "nearly full: batch kept" sh -c "test -f '$M/archive/acme/full2.xml' || test -f '$M/work/acme/full2.xml' || test -f '$M/inbound/acme/full2.xml'"
n2=$(($(ls "$M/mail" | grep -c '^cert-') - mails_before))
if [ -f "$M/outbound/acme/FULL-2.1.result.xml" ]; then
	check_eq "nearly full: result.xml only after every certificate mail" 3 "$n2"
fi
audit "nearly full"
rm -f "$M/filler"
st=$(run_once_t)
check_eq "recovered: daemon --once exits 0" 0 "$st"
R2=$M/outbound/acme/FULL-2.1.result.xml
check "recovered: result.xml seq 1 of the second batch" test -f "$R2"
check_eq "recovered: one result pass" "FULL-2.1.result.xml" \
    "$(ls "$M/outbound/acme" | grep '^FULL-2\..*result.xml$' | tr '\n' ' ' | sed 's/ $//')"
check_eq "recovered: every order issued" 2 "$(xval "$R2" 'count(//*[local-name()="order"][@state="issued"])')"
check_eq "recovered: archive has a cert.pem per recipient" 3 \
    "$(bsdtar -tf "$M/outbound/acme/FULL-2.1.tar.gz" 2>/dev/null | grep -c '/cert.pem$')"
check_eq "recovered: exactly one certificate mail per new recipient" 3 \
    "$(($(ls "$M/mail" | grep -c '^cert-') - mails_before))"
check_eq "recovered: one PKCS#12 password mail per server key" 2 "$(ls "$M/mail" | grep -c '^p12pass-')"
# The sha256 in result.xml is the cert.pem that is in the archive.
mkdir -p "$T/x2"
(cd "$T/x2" && bsdtar -xf "$M/outbound/acme/FULL-2.1.tar.gz" 2>/dev/null)
for e in rsa.f2@acme.example jane.f2@acme.example raj.f2@acme.example; do
	c=$(find "$T/x2" -path "*/$e/cert.pem" | head -n 1)
	check_eq "recovered: result sha256 of $e matches the archive" \
	    "$(xval "$R2" "string(//*[local-name()='recipient'][@email='$e']/@sha256)")" \
	    "$( [ -n "$c" ] && sha256sum "$c" | cut -c1-64)"
done
audit "recovered"
finish
