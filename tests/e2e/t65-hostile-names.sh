#!/bin/sh
# Hostile names and ids, beyond t10-foundation.sh: device nodes, a socket
# and non-UTF-8 / escape-laden / over-long file names in inbound; batch,
# order and account ids with "..", "/", NUL (&#0;, which XML forbids), 300
# bytes, Unicode look-alikes (Cyrillic, fullwidth solidus, RTL override);
# symlinks and hard links into a canary directory beside the spool; an
# account's inbound directory replaced by a symlink; an unknown account.
# Each input is refused with an error report, `daemon --once` exits 0
# within a timeout, and nothing outside the spool is touched (a canary
# tree beside the spool is unchanged, nothing but the spool and the
# database is newer than a marker, no file anywhere bears the payloads'
# token).  A valid batch whose ids merely contain ".." and whose mailbox
# contains "/" is processed without leaving its archive's directories.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme --contract C-T65 --units 100 >/dev/null
cs account add other >/dev/null
validated_org acme "Acme Corp" acme.example >/dev/null
IN=$S/inbound/acme
TOKEN=pwn$$x$(date +%s)

# batch ID ORDER-ID [ACCOUNT]: a schema-valid batch (but for the ids given).
batch() {
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
	    "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"${3:-acme}\">" \
	    "<order id=\"$2\"><product>secure_email_organization</product>" \
	    '<organization>Acme Corp</organization><validity><years>1</years></validity>' \
	    '<recipient><commonName type="email">pat@acme.example</commonName>' \
	    '<email>pat@acme.example</email><csrLater/></recipient>' \
	    '<agreement accepted="true"/></order></batch>'
}
# put NAME: a file arrives under NAME (content on stdin), as a client would.
put() {
	cat >"$IN/.upload.part" && mv "$IN/.upload.part" "$IN/$1"
}

# The canary: a tree beside the spool that nothing may touch.
C=$T/canary
mkdir -p "$C/sub" "$T/canary2"
echo "canary file" >"$C/file.xml"
echo "canary sub" >"$C/sub/keep.txt"
batch CANARY-1 C-1 >"$C/batch.xml"
batch CANARY-2 C-2 other >"$T/canary2/x.xml"
snap() {
	find "$1" -printf '%p %y %m %n %s %T@\n' | sort
	find "$1" -type f -exec sha256sum {} + | sort
}

# 1. ids and accounts in documents with valid file names
batch .. O-1 | put id-dotdot.xml
batch "../../../tmp/$TOKEN" O-1 | put id-traversal.xml
batch B-3 "a/../../$TOKEN" | put order-traversal.xml
batch "A&#0;B" O-1 | put id-nul.xml
batch B-5 "O&#0;../$TOKEN" | put order-nul.xml
batch "$(printf '%0300d' 0 | tr 0 A)" O-1 | put id-300.xml
batch "B-6" "$(printf '%0300d' 0 | tr 0 O)" | put order-300.xml
batch "HR-2026-0001-$(printf '\320\260')" O-1 | put id-cyrillic.xml
batch B-8 "$(printf '\320\236')-1" | put order-cyrillic.xml
batch "a$(printf '\357\274\217')b" O-1 | put id-fullwidth-solidus.xml
batch "B-9$(printf '\342\200\256')lmx.exe" O-1 | put id-rtl-override.xml
batch B-10 O-1 "../other" | put acct-traversal.xml
batch B-11 O-1 "acme/../acme" | put acct-dotdot.xml
batch B-12 O-1 "$(printf '\320\260')cme" | put acct-cyrillic.xml
batch B-13 O-1 "acme&#0;" | put acct-nul.xml
batch B-14 O-1 "/etc" | put acct-absolute.xml
CONTENT="id-dotdot id-traversal order-traversal id-nul order-nul id-300 order-300
id-cyrillic order-cyrillic id-fullwidth-solidus id-rtl-override acct-traversal
acct-dotdot acct-cyrillic acct-nul acct-absolute"

# 2. file-system objects under valid names
NODES=""
if mknod "$IN/dev-zero.xml" c 1 5 2>/dev/null; then
	mknod "$IN/dev-null.xml" c 1 3
	mknod "$IN/dev-loop.xml" b 7 0
	NODES="dev-zero dev-null dev-loop"
else
	echo "skip: mknod not permitted (device nodes need root)"
fi
python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$IN/sock.xml"
ln -s "$C" "$IN/link-canary-dir.xml"
ln -s "$C/file.xml" "$IN/link-canary-file.xml"
ln "$C/batch.xml" "$IN/hardlink-canary.xml"
echo junk | put -n.xml
OBJECTS="$NODES sock link-canary-dir link-canary-file hardlink-canary -n"

# 3. names that are not [A-Za-z0-9._-]: each holds a valid batch, and is
#    still refused (claimed as badname-<hex>, never read)
batch BN-1 O-1 | put "$(printf '\377\376.xml')"
batch BN-2 O-1 | put "$(printf 'caf\351.xml')"
batch BN-3 O-1 | put "$(printf 'a\300\257b.xml')"
batch BN-4 O-1 | put "$(printf '\033[31mred\033[0m.xml')"
batch BN-5 O-1 | put "$(printf '%0251d' 0 | tr 0 a).xml"
batch BN-6 O-1 | put "x y.xml"
batch BN-7 O-1 | put "$(printf 'r\342\200\256lmx.xml')"
NBAD=7

# 4. an account whose inbound directory is a symlink; an unknown account
rm -rf "$S/inbound/other"
ln -s "$T/canary2" "$S/inbound/other"
mkdir -p "$S/inbound/evil"
batch EVIL-1 O-1 evil >"$S/inbound/evil/e.xml"

# 5. a valid batch whose ids contain ".." and whose mailbox has a "/"
E="$TOKEN/x@acme.example"
{
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
	    '<batch xmlns="urn:certspool:batch:1" id="A..B" account="acme">' \
	    '<order id="O..1"><product>secure_email_organization</product>' \
	    '<organization>Acme Corp</organization><validity><years>1</years></validity>' \
	    "<recipient><commonName type=\"email\">$E</commonName><email>$E</email>"
	printf '<csr>%s</csr></recipient>\n' "$(csr ec:P-256 t65)"
	echo '<agreement accepted="true"/></order></batch>'
} | put dots.xml

snap "$C" >"$T/canary.before"
snap "$T/canary2" >"$T/canary2.before"
sleep 1
touch "$T/marker"
sleep 1
# Exit 75 (EX_TEMPFAIL): the symlinked inbound/other cannot be read, work
# left undone (README, exit status of daemon --once); never a hang.
dead_nodes_wait
timeout 60 "$BIN" --config "$T/certspool.conf" daemon --once >/dev/null 2>&1
check_eq "daemon --once exits 75 within 60 s" 75 "$?"
cs daemon --once >>"$T/daemon.log" 2>&1
dead_nodes_wait
timeout 60 "$BIN" --config "$T/certspool.conf" daemon --once >/dev/null 2>&1
check_eq "second --once exits 75 within 60 s" 75 "$?"
check "the unreadable account directory is named in the log" grep -q 'inbound/other: Not a directory' "$T/daemon.log"
dead_nodes_wait
timeout 60 "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1

R=$S/rejected/acme
check_eq "inbound/acme drained" "" "$(ls -A "$IN")"
check_eq "work/acme empty" "" "$(ls -A "$S/work/acme")"
for n in $CONTENT; do
	check "$n.xml refused" test -f "$R/$n.xml"
	check "$n.xml has a report" test -f "$R/$n.xml.error.xml"
	check "$n.xml report well-formed" xmllint --noout "$R/$n.xml.error.xml"
	check "$n.xml report has a problem with its line" grep -q '<problem line="[1-9]' "$R/$n.xml.error.xml"
done
check "NUL reference refused by the parser" grep -qi "char\|0x0\|#0" "$R/id-nul.xml.error.xml"
check "account traversal reported" grep -q "names account\|'account'" "$R/acct-dotdot.xml.error.xml"
check "look-alike account refused" grep -q "names account\|'account'" "$R/acct-cyrillic.xml.error.xml"
check "Cyrillic id refused by the ASCII id pattern" grep -q "pattern" "$R/id-cyrillic.xml.error.xml"
for n in $OBJECTS; do
	check "$n.xml moved to rejected/ (not followed)" test -e "$R/$n.xml" -o -L "$R/$n.xml"
	check "$n.xml has a report" test -f "$R/$n.xml.error.xml"
	check "$n.xml report well-formed" xmllint --noout "$R/$n.xml.error.xml"
done
for n in $NODES; do
	check "$n.xml is still the device node" test -c "$R/$n.xml" -o -b "$R/$n.xml"
	check "$n.xml: not a regular file" grep -q "not a regular file" "$R/$n.xml.error.xml"
done
check "socket refused" grep -q "cannot open\|not a regular file" "$R/sock.xml.error.xml"
check "symlink to a directory: report says why" grep -q "symbolic link" "$R/link-canary-dir.xml.error.xml"
check "symlink stays a symlink" test -L "$R/link-canary-dir.xml"
check "hard link: report says why" grep -q "hard links" "$R/hardlink-canary.xml.error.xml"
check_eq "every bad name claimed under a generated name and refused" "$NBAD" \
    "$(ls "$R" | grep -c '^badname-[0-9a-f]*\.error\.xml$')"
check_eq "bad names refused unread (nothing of BN-* stored)" 0 \
    "$(sql "SELECT count(*) FROM batch WHERE ext_id LIKE 'BN-%'")"
for f in "$R"/badname-*.error.xml; do
	[ -f "$f" ] || continue
	check "$(basename "$f") well-formed" xmllint --noout "$f"
done
check_eq "no raw escape or non-UTF-8 byte in the log" 0 \
    "$(LC_ALL=C grep -c "$(printf '[\033\377\351\300]')" "$T/daemon.log")"
check_eq "no raw bad byte in any report" 0 \
    "$(cat "$R"/*.error.xml | LC_ALL=C grep -c "$(printf '[\033\377\351\300]')")"
check_eq "only the valid batch stored" "A..B" "$(sql "SELECT $(q_agg ext_id ,) FROM batch")"
check "valid batch archived" test -f "$S/archive/acme/dots.xml"
check "its result written under its id" test -f "$S/outbound/acme/A..B.1.result.xml"
check "its result well-formed" xmllint --noout "$S/outbound/acme/A..B.1.result.xml"
check_eq "its order issued" issued "$(xval "$S/outbound/acme/A..B.1.result.xml" 'string(//*[local-name()="order"]/@state)')"
check "its archive lists" bsdtar -tf "$S/outbound/acme/A..B.1.tar.gz"
check_eq "archive entries stay three levels, no .. component" "" \
    "$(bsdtar -tf "$S/outbound/acme/A..B.1.tar.gz" 2>&1 | grep -E '(^|/)\.\.(/|$)|^/|^[^/]*/[^/]*/[^/]*/|Error')"
check "mailbox with / gets a generated directory" sh -c "bsdtar -tf '$S/outbound/acme/A..B.1.tar.gz' | grep -q '^O..1/recipient-0/cert.pem$'"
check_eq "only the valid batch's files in outbound/acme" "" \
    "$(ls "$S/outbound/acme" | grep -v '^A\.\.B\.1\.')"

# Nothing outside the spool was touched.
snap "$C" >"$T/canary.after"
snap "$T/canary2" >"$T/canary2.after"
check "canary tree unchanged" cmp -s "$T/canary.before" "$T/canary.after"
check "symlinked account directory unchanged" cmp -s "$T/canary2.before" "$T/canary2.after"
check "symlinked account directory still a symlink" test -L "$S/inbound/other"
check "unknown account not read" test -f "$S/inbound/evil/e.xml"
# beside the database: the portal link key, made at the first message
check_eq "portal-link.key beside the database, a regular file of mode 600" "600 regular file" \
    "$(stat -c '%a %F' "$T/portal-link.key" 2>&1)"
check_eq "nothing newer than the marker outside the spool and database" "" \
    "$(find "$T" -newer "$T/marker" ! -path "$S" ! -path "$S/*" ! -name 'certspool.db*' \
    ! -path "$T/portal-link.key" ! -name daemon.log ! -path "$T/keys*" ! -path "$T/canary.after" ! -path "$T/canary2.after" \
    ! -path "$T" 2>/dev/null)"
check_eq "no file anywhere named after the payload token" "" \
    "$(find / -xdev -name "*$TOKEN*" 2>/dev/null | head -n 3)"
finish
