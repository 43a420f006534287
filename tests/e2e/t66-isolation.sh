#!/bin/sh
# No pass stalls on one recipient (README "Mail", "Exit status"; SPEC 4).
#
# A. A batch mixing ASCII and UTF-8 mailboxes (RFC 6531 local parts, a
#    UTF-8 display name) is issued and published in ONE daemon --once:
#    result.xml written, exit 0, the archive holds <order>/<mailbox>/ for
#    every recipient (listed with python's tarfile, names compared with the
#    batch's mailboxes), each message is in spool/mail with its mailbox in
#    To (UTF-8 as is for the UTF-8 mailboxes, read back with python's email
#    parser).
# B. One recipient's message cannot be published: the daemon is killed
#    right after the certificates are stored (crash point
#    after_issue_commit), then the name its message takes,
#    spool/mail/cert-<serial>.eml, is occupied by a non-empty directory.
#    The next --once: result.xml written with the other recipients issued
#    and their messages published; the stuck one recorded (event
#    publish_failed with batch, order, recipient, reason; <stuck> in the
#    result; a "stuck" line in certspool status; the log names the batch);
#    exit 75.  Again with the cause still there: 75, no second event, no
#    new result.  Cause removed: its message is published, exit 0, an
#    event publish_recovered, a second result (seq 2) shows it without
#    <stuck>, status is clean; one more pass writes nothing new.
. "$(dirname "$0")/../lib.sh"

need_tools sqlite3 xmllint python3
setup_acme

J='jörg@acme.example'
M='müller@acme.example'
A='ana.lopez@acme.example'
P='plain@acme.example'

# batch ID ORDER1 ORDER2: Jörg Müller <J> and Ana López <A> on a sponsor
# product, M and P (commonName = the mailbox) on an organization product.
batch() {
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
	echo '  <attestation officer="Pat Lee" title="HR Director"/>'
	echo "  <order id=\"$2\"><product>secure_email_business</product><organization>Acme Corp</organization>"
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="name">Jörg Müller</commonName><givenName>Jörg</givenName><surname>Müller</surname>'
	echo "      <email>$J</email><csr>$(csr ec:P-256 "$1-$J")</csr></recipient>"
	echo '    <recipient><commonName type="name">Ana López</commonName><givenName>Ana</givenName><surname>López</surname>'
	echo "      <email>$A</email><csr>$(csr ec:P-256 "$1-$A")</csr></recipient>"
	echo '    <agreement accepted="true"/></order>'
	echo "  <order id=\"$3\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
	echo '    <validity><years>1</years></validity>'
	echo "    <recipient><commonName type=\"email\">$M</commonName>"
	echo "      <email>$M</email><csr>$(csr ec:P-256 "$1-$M")</csr></recipient>"
	echo "    <recipient><commonName type=\"email\">$P</commonName>"
	echo "      <email>$P</email><csr>$(csr ec:P-256 "$1-$P")</csr></recipient>"
	echo '    <agreement accepted="true"/></order>'
	echo '</batch>'
}
# serial BATCH EMAIL: the issued certificate's serial.
serial() {
	sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$1' AND r.email = '$2' AND c.state = 'issued'"
}
# names ARCHIVE: the entry names, one a line, as python's tarfile reads them.
names() {
	python3 -c 'import sys, tarfile
for m in tarfile.open(sys.argv[1]).getmembers():
    sys.stdout.buffer.write(m.name.encode("utf-8") + b"\n")' "$1" | sort
}
# mailto FILE: "display name|address" of To, as python's email parser reads
# it (it keeps 8-bit header bytes as surrogates: RFC 6532 UTF-8).
mailto() {
	python3 -c 'import sys, email
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
a = m["to"].addresses[0]
s = "%s|%s@%s" % (a.display_name, a.username, a.domain)
sys.stdout.buffer.write(s.encode("utf-8", "surrogateescape"))' "$1"
}
# rawto FILE: the To line of the file as it is (bytes), CR dropped.
rawto() {
	tr -d '\r' <"$1" | sed -n '/^$/q;/^To:/p'
}
# xval with the result namespace
rcount() {
	xval "$1" "count(//*[local-name()='recipient'][@state='$2'])"
}

# ---- A. one pass publishes everything ----
batch INTL-1 I-1 I-2 >"$T/intl.xml"
check "batch INTL-1 is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$T/intl.xml"
drop acme "$T/intl.xml"
check_once "A: daemon --once exits 0" 0
R=$S/outbound/acme/INTL-1.1.result.xml
check "A: INTL-1.1.result.xml after one pass" test -f "$R"
check_eq "A: 4 recipients issued in the result" 4 "$(rcount "$R" issued)"
check_eq "A: no <stuck> in the result" 0 "$(xval "$R" "count(//*[local-name()='stuck'])")"
for e in "$J" "$M"; do
	check_eq "A: $e named in the result" 1 \
	    "$(xval "$R" "count(//*[local-name()='recipient'][@email='$e'][@state='issued'])")"
done
printf '%s\n' "I-1/$J/cert.pem" "I-1/$J/cert.p7b" "I-1/$J/chain.pem" \
    "I-1/$A/cert.pem" "I-1/$A/cert.p7b" "I-1/$A/chain.pem" \
    "I-2/$M/cert.pem" "I-2/$M/cert.p7b" "I-2/$M/chain.pem" \
    "I-2/$P/cert.pem" "I-2/$P/cert.p7b" "I-2/$P/chain.pem" | sort >"$T/want.names"
names "$S/outbound/acme/INTL-1.1.tar.gz" >"$T/got.names"
check "A: archive entries are <order>/<mailbox>/ for every recipient" cmp "$T/want.names" "$T/got.names"
check_eq "A: no recipient-N directory" "" "$(grep recipient- "$T/got.names")"
# cert.pem in the archive is the one whose hash the result gives
mkdir -p "$T/x"
python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$S/outbound/acme/INTL-1.1.tar.gz" "$T/x"
check_eq "A: $J cert.pem hash is the result's" \
    "$(xval "$R" "string(//*[local-name()='recipient'][@email='$J']/@sha256)")" \
    "$(sha256sum "$T/x/I-1/$J/cert.pem" | cut -d' ' -f1)"
sj=$(serial INTL-1 "$J")
sa=$(serial INTL-1 "$A")
sm=$(serial INTL-1 "$M")
check "A: serials known" test -n "$sj" -a -n "$sa" -a -n "$sm"
check_eq "A: $J message To (python)" "Jörg Müller|$J" "$(mailto "$S/mail/cert-$sj.eml")"
check_eq "A: $J message To is UTF-8 as is (RFC 6532)" "To: \"Jörg Müller\" <$J>" "$(rawto "$S/mail/cert-$sj.eml")"
check_eq "A: $M message To (python)" "|$M" "$(mailto "$S/mail/cert-$sm.eml")"
check_eq "A: $A message To (python)" "Ana López|$A" "$(mailto "$S/mail/cert-$sa.eml")"
check "A: $A message (ASCII mailbox) has an RFC 2047 display name" \
    sh -c "rawto() { tr -d '\r' <\"\$1\" | sed -n '/^\$/q;/^To:/p'; }; rawto '$S/mail/cert-$sa.eml' | grep -q '^To: =?UTF-8?B?[A-Za-z0-9+/=]*?= <$A>\$'"
check_eq "A: the ASCII mailbox's message has 7-bit headers only" "" \
    "$(tr -d '\r' <"$S/mail/cert-$sa.eml" | sed -n '/^$/q;p' | LC_ALL=C grep -n '[^ -~	]')"

# ---- B. one recipient's message cannot be published ----
batch ISO-1 O-1 O-2 >"$T/iso.xml"
drop acme "$T/iso.xml"
: >"$T/daemon.log"
dead_nodes_wait
CERTSPOOL_CRASH_AT=after_issue_commit "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
check_eq "B0: killed at after_issue_commit" 137 "$?"
sj=$(serial ISO-1 "$J")
sa=$(serial ISO-1 "$A")
sm=$(serial ISO-1 "$M")
sp=$(serial ISO-1 "$P")
check "B0: four certificates stored" test -n "$sj" -a -n "$sa" -a -n "$sm" -a -n "$sp"
check_eq "B0: no message yet" 0 "$(ls "$S/mail" | grep -c "^cert-\($sj\|$sa\|$sm\|$sp\)\.eml\$")"
mkdir -p "$S/mail/cert-$sj.eml/in-the-way"

check_once "B1: daemon --once exits 75 (EX_TEMPFAIL)" 75
R1=$S/outbound/acme/ISO-1.1.result.xml
check "B1: ISO-1.1.result.xml written" test -f "$R1"
check "B1: ISO-1.1.tar.gz written" test -f "$S/outbound/acme/ISO-1.1.tar.gz"
check_eq "B1: all 4 recipients issued in the result" 4 "$(rcount "$R1" issued)"
check_eq "B1: <stuck> on $J alone" "1 mail_not_published" \
    "$(xval "$R1" "count(//*[local-name()='stuck'])") $(xval "$R1" "string(//*[local-name()='recipient'][@email='$J']/*[local-name()='stuck']/@reason)")"
for s in "$sa" "$sm" "$sp"; do
	check "B1: cert-$s.eml published" test -f "$S/mail/cert-$s.eml"
done
check "B1: the stuck name is still the directory" test -d "$S/mail/cert-$sj.eml"
rid=$(sql "SELECT r.id FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'ISO-1' AND r.email = '$J'")
row="$(sql "SELECT b.ext_id || ' ' || o.ext_id || ' ' || r.email || ' ' || e.reason FROM event e JOIN batch b ON b.id = e.batch_id JOIN orders o ON o.id = e.order_id JOIN recipient r ON r.id = e.recipient_id WHERE e.kind = 'publish_failed'")"
check_eq "B1: one publish_failed event: batch, order, recipient, reason" \
    "ISO-1 O-1 $J mail_not_published" "$row"
check "B1: the event says what failed" \
    test -n "$(sql "SELECT detail FROM event WHERE kind = 'publish_failed' AND recipient_id = $rid AND detail LIKE 'cert-$sj.eml: %'")"
check "B1: status lists the stuck recipient" \
    sh -c "'$BIN' --config '$T/certspool.conf' status | grep -q '^stuck acme ISO-1 O-1 $J mail_not_published since '"
check "B1: status ISO-1 lists it" \
    sh -c "'$BIN' --config '$T/certspool.conf' status ISO-1 | grep -q '^stuck acme ISO-1 O-1 $J '"
check_eq "B1: status INTL-1 lists nothing stuck" "" \
    "$("$BIN" --config "$T/certspool.conf" status INTL-1 | grep '^stuck')"
check "B1: the log names batch, order and recipient" \
    grep -q "batch ISO-1 order O-1 recipient $J: message not published" "$T/daemon.log"

check_once "B2: cause still there: exit 75 again" 75
check_eq "B2: no second publish_failed event" 1 \
    "$(sql "SELECT count(*) FROM event WHERE kind = 'publish_failed'")"
check_not "B2: no new result" test -e "$S/outbound/acme/ISO-1.2.result.xml"

rm -rf "$S/mail/cert-$sj.eml"
check_once "B3: cause removed: exit 0" 0
check "B3: cert-$sj.eml published" test -f "$S/mail/cert-$sj.eml"
check_eq "B3: its To is the recipient" "Jörg Müller|$J" "$(mailto "$S/mail/cert-$sj.eml")"
check_eq "B3: one publish_recovered event for the recipient" 1 \
    "$(sql "SELECT count(*) FROM event WHERE kind = 'publish_recovered' AND recipient_id = $rid")"
R2=$S/outbound/acme/ISO-1.2.result.xml
check "B3: ISO-1.2.result.xml shows the batch again" test -f "$R2"
check_eq "B3: all 4 issued, nothing stuck" "4 0" "$(rcount "$R2" issued) $(xval "$R2" "count(//*[local-name()='stuck'])")"
check_eq "B3: $J serial in the new result" "$sj" \
    "$(xval "$R2" "string(//*[local-name()='recipient'][@email='$J']/@serial)")"
check_not "B3: no archive for a pass without new certificates" test -e "$S/outbound/acme/ISO-1.2.tar.gz"
check_eq "B3: status shows nothing stuck" "" \
    "$("$BIN" --config "$T/certspool.conf" status | grep '^stuck')"
check_eq "B3: the certificate is marked mailed" 1 \
    "$(sql "SELECT mailed FROM certificate WHERE serial = '$sj'")"

check_once "B4: a quiet pass exits 0" 0
check_not "B4: no third result" test -e "$S/outbound/acme/ISO-1.3.result.xml"
finish
