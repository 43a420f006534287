#!/bin/sh
# Durability of everything the daemon publishes (SPEC 1: "written under a
# temporary name in the same directory, fsynced, renamed, directory
# fsynced"; README "Spool behaviour").
#
# One `certspool daemon --once` runs under
#   strace -f -y -e trace=openat,open,creat,write,pwrite64,writev,pwritev,
#                          pwritev2,fsync,fdatasync,syncfs,rename,renameat,
#                          renameat2
# over a pass that publishes every kind of output: a batch whose orders are
# issued (RSA and ECC CSRs and a server-generated key: tar.gz archive,
# result.xml, certificate and PKCS#12-password mails, archived input) and a
# refused file (moved to rejected/ beside its error.xml).  -y makes strace
# print the path behind every file descriptor, so "fsync of the directory"
# means an fsync whose fd was opened on that directory.
#
# The parser (python3, below) takes every successful rename whose target is
# in spool/outbound, spool/rejected, spool/mail or spool/archive and checks:
#   written files (the source was created/written in this run):
#     1. the temporary file is in the same directory and is a dot-name;
#     2. writes to it, then fsync/fdatasync on that file's fd, completed
#        before the rename started (and after the last write); or, the
#        group commit of the mail spool, a syncfs on an fd of the same
#        file system that started after the file's last write and
#        completed before its rename started;
#     3. an fsync on an fd opened on the target directory started after the
#        rename returned;
#   moved inputs (work/ -> archive/ or rejected/, not written by the daemon):
#     3'. the target and the source directory are fsynced after the rename;
#   and nothing in those directories is created (O_CREAT) under a final,
#   non-dot name.  It prints every violation with the strace lines.
# The test asserts: publications checked > 0 (with archive, result, error
# report, mails and both moves among them), violations == 0, and that each
# result.xml was renamed after the archive and the mails of its pass.
# It also checks what the pass published against the database: cert.pem is
# `openssl x509 -outform PEM` of the stored certificate, cert.p7b lists the
# certificate then the chain and is the DER OpenSSL's own PKCS#7 encoder
# writes, and the mails carry those files and the certificate's notAfter.
# Last, the daemon is killed inside the mail batch (after_mail:1,
# before_mail_commit, after_mail_commit): until the batch commit only
# dot-temporaries exist and no certificate is marked mailed (its PKCS#12
# password kept); the next pass publishes every message under its name,
# then marks them mailed and erases the password.
. "$(dirname "$0")/../lib.sh"

if ! command -v strace >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing strace"
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq strace >/dev/null 2>&1 ||
		    { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null 2>&1;
		      DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq strace >/dev/null 2>&1; }
	fi
	command -v strace >/dev/null 2>&1 ||
	    bail "SKIPPED (counted as a failure): strace missing and cannot be installed (not root?)"
fi
need_tools python3 sqlite3 xmllint bsdtar openssl

setup_acme

# A batch that is issued in one pass: CSR orders and a server-generated key.
B=$T/durable.xml
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="DURABLE-1" account="acme">'
	echo '  <attestation officer="Pat Lee" title="HR Director"/>'
	echo '  <order id="D-ORG"><product>secure_email_organization</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="email">rsa.org@acme.example</commonName><email>rsa.org@acme.example</email>'
	echo "      <csr>$(csr rsa:2048 rsa.org@acme.example)</csr></recipient>"
	echo '    <agreement accepted="true"/></order>'
	echo '  <order id="D-BIZ"><product>secure_email_business</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="name">Jane Doe</commonName><givenName>Jane</givenName><surname>Doe</surname>'
	echo '      <email>jane.doe@acme.example</email><csr>'"$(csr ec:P-256 jane.doe@acme.example)"'</csr></recipient>'
	echo '    <recipient><commonName type="name">Raj Patel</commonName><givenName>Raj</givenName><surname>Patel</surname>'
	echo '      <email>raj.patel@acme.example</email><keygen algorithm="ecc-p256"/></recipient>'
	echo '    <additionalEmails>hr@acme.example</additionalEmails>'
	echo '    <agreement accepted="true"/></order>'
	echo '</batch>'
} >"$B"
check "batch is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
drop acme "$B"
drop acme "$ROOT/tests/data/xml/hostile/not_xml.xml" refused.xml

LOG=$T/strace.log
# LeakSanitizer cannot run under ptrace; leaks are checked elsewhere.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
(cd "$T" && timeout 600 strace -f -qq -y -s 512 -o "$LOG" \
    -e trace=openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,syncfs,rename,renameat,renameat2 \
    "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1)
st=$?
check_eq "daemon --once under strace exits 0" 0 "$st"
[ -s "$LOG" ] || bail "no strace log (ptrace not permitted?)"

# The outputs exist and are what they claim to be.
R=$S/outbound/acme/DURABLE-1.1.result.xml
A=$S/outbound/acme/DURABLE-1.1.tar.gz
check "batch archived" test -f "$S/archive/acme/durable.xml"
check "refused file in rejected/" test -f "$S/rejected/acme/refused.xml"
check "error report beside it" xmllint --noout "$S/rejected/acme/refused.xml.error.xml"
check "result.xml well-formed" xmllint --noout "$R"
check_eq "every order issued" 2 "$(xval "$R" 'count(//*[local-name()="order"][@state="issued"])')"
check "archive lists" bsdtar -tf "$A"
check_eq "archive has a cert.pem per recipient" 3 "$(bsdtar -tf "$A" | grep -c '/cert.pem$')"
check "certificate mails" test "$(ls "$S/mail" | grep -c '^cert-.*\.eml$')" -eq 3
check "PKCS#12 password mail" test "$(ls "$S/mail" | grep -c '^p12pass-.*\.eml$')" -eq 1

# ---- the parser ----
cat >"$T/check_publish.py" <<'PYEOF'
import os, re, sys

log, spool, cwd, pubs_out = sys.argv[1:5]
spool = os.path.realpath(spool)
roots = [os.path.join(spool, d) for d in ("outbound", "rejected", "mail", "archive")]

def under_roots(p):
    return any(p == r or p.startswith(r + "/") for r in roots)

LINE = re.compile(r'^(\d+)\s+(.*)$')
events = []            # dicts: start, end, pid, name, args, ret, text
pending = {}           # pid -> (start index, text before <unfinished ...>)
with open(log, encoding="utf-8", errors="replace") as f:
    lines = f.read().split("\n")
for i, raw in enumerate(lines):
    m = LINE.match(raw)
    if not m:
        continue
    pid, rest = m.group(1), m.group(2)
    if rest.startswith("---") or rest.startswith("+++"):
        continue
    if rest.endswith("<unfinished ...>"):
        pending[pid] = (i, rest[:-len("<unfinished ...>")].rstrip())
        continue
    start = i
    rm = re.match(r'^<\.\.\. (\w+) resumed>(.*)$', rest)
    if rm:
        if pid not in pending:
            continue
        start, head = pending.pop(pid)
        rest = head + rm.group(2)
    cm = re.match(r'^(\w+)\((.*)$', rest)
    if not cm:
        continue
    name, tail = cm.group(1), cm.group(2)
    k = tail.rfind(") = ")
    if k < 0:
        continue
    args, ret = tail[:k], tail[k + 4:]
    events.append(dict(start=start, end=i, pid=pid, name=name, args=args,
                       ret=ret, text=raw if start == i else lines[start] + " ... " + raw))

def split_args(s):
    out, cur, q, esc, ang = [], "", False, False, 0
    for ch in s:
        if q:
            cur += ch
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                q = False
            continue
        if ch == '"':
            q = True
        elif ch == "<":
            ang += 1
        elif ch == ">" and ang:
            ang -= 1
        elif ch == "," and not ang:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out

def unquote(s):
    s = s.strip()
    if s.endswith("..."):
        s = s[:-3]
    if not (s.startswith('"') and s.endswith('"')):
        return None
    s = s[1:-1]
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)

def fd_path(a):
    m = re.match(r'^-?\d+<(.*)>$', a.strip())
    return m.group(1) if m else None

def resolve(dirarg, name):
    if name.startswith("/"):
        p = name
    elif dirarg is None or dirarg.strip().startswith("AT_FDCWD"):
        # with -y strace prints AT_FDCWD</current/dir>
        m = re.match(r'^AT_FDCWD<(.*)>$', (dirarg or "").strip())
        p = os.path.join(m.group(1) if m else cwd, name)
    else:
        d = fd_path(dirarg)
        if d is None:
            return None
        p = os.path.join(d, name)
    return os.path.normpath(p)

def retval(ret):
    m = re.match(r'^(-?\d+)', ret)
    return int(m.group(1)) if m else None

def dev_of(p):
    # st_dev of p, or of its nearest existing parent (a temporary is gone)
    while True:
        try:
            return os.stat(p).st_dev
        except OSError:
            if p in ("/", ""):
                return None
            p = os.path.dirname(p)

writes, syncs, fssyncs, creates, renames = [], [], [], [], []
for e in events:
    a = split_args(e["args"])
    rv = retval(e["ret"])
    n = e["name"]
    if n in ("write", "pwrite64", "writev", "pwritev", "pwritev2"):
        p = fd_path(a[0]) if a else None
        if p and rv is not None and rv >= 0:
            writes.append((os.path.normpath(p), e))
    elif n in ("fsync", "fdatasync"):
        p = fd_path(a[0]) if a else None
        if p and rv == 0:
            syncs.append((os.path.normpath(p), e))
    elif n == "syncfs":
        p = fd_path(a[0]) if a else None
        if p and rv == 0:
            fssyncs.append((dev_of(os.path.normpath(p)), e))
    elif n in ("openat", "open", "creat"):
        if rv is None or rv < 0:
            continue
        flags = a[2] if n == "openat" and len(a) > 2 else (a[1] if len(a) > 1 else "")
        if n == "creat" or "O_CREAT" in flags:
            p = fd_path(e["ret"].split()[0] if e["ret"] else "")
            if p is None:
                nm = unquote(a[1] if n == "openat" else a[0])
                p = resolve(a[0] if n == "openat" else None, nm) if nm else None
            if p:
                creates.append((os.path.normpath(p), e))
    elif n in ("rename", "renameat", "renameat2"):
        if rv != 0:
            continue
        if n == "rename":
            src, dst = resolve(None, unquote(a[0])), resolve(None, unquote(a[1]))
        else:
            src, dst = resolve(a[0], unquote(a[1])), resolve(a[2], unquote(a[3]))
        if src and dst:
            renames.append((src, dst, e))

violations = []
def bad(kind, ev, msg):
    violations.append("VIOLATION %s: %s\n    %s" % (kind, msg, ev["text"][:400]))

checked = written = moved = 0
pubs = []
for src, dst, e in renames:
    if not under_roots(dst):
        continue
    checked += 1
    ddir, sdir = os.path.dirname(dst), os.path.dirname(src)
    w = [x for p, x in writes if p == src and x["end"] < e["start"]]
    c = [x for p, x in creates if p == src and x["end"] < e["start"]]
    if w or c:
        written += 1
        kind = "written"
        if sdir != ddir:
            bad("temp-elsewhere", e, "%s written as %s in another directory" % (dst, src))
        if not os.path.basename(src).startswith("."):
            bad("temp-not-hidden", e, "temporary name %s is not a dot-name" % src)
        last_w = max([x["end"] for x in w] + [x["end"] for x in c])
        fs = [x for p, x in syncs if p == src and x["start"] > last_w and x["end"] < e["start"]]
        dev = dev_of(src)
        fs += [x for d, x in fssyncs if d is not None and d == dev and
               x["start"] > last_w and x["end"] < e["start"]]
        if not fs:
            bad("no-file-fsync", e, "%s renamed to %s without fsync (or syncfs) after its last write" % (src, dst))
    else:
        moved += 1
        kind = "moved"
        if not [x for p, x in syncs if p in (src, dst) and x["end"] < e["start"]]:
            print("NOTE: %s moved to %s; its contents were never fsynced by the daemon" % (src, dst))
        if sdir != ddir and not [x for p, x in syncs if p == sdir and x["start"] > e["end"]]:
            bad("no-source-dir-fsync", e, "source directory %s not fsynced after moving %s" % (sdir, os.path.basename(src)))
    ds = [x for p, x in syncs if p == ddir and x["start"] > e["end"]]
    if not ds:
        bad("no-dir-fsync", e, "directory %s not fsynced after rename to %s" % (ddir, os.path.basename(dst)))
    pubs.append("%d %s %s" % (e["start"], kind, dst))
    print("checked %-7s %s -> %s" % (kind, os.path.relpath(src, spool), os.path.relpath(dst, spool)))

for p, e in creates:
    if under_roots(p) and not os.path.basename(p).startswith("."):
        bad("created-in-place", e, "%s created under its final name" % p)

with open(pubs_out, "w") as f:
    f.write("\n".join(pubs) + "\n")
for v in violations:
    print(v)
print("RESULT checked=%d written=%d moved=%d violations=%d" % (checked, written, moved, len(violations)))
PYEOF

# Self-test: the parser must see a rename whose file was never fsynced (and
# cope with strace's <unfinished ...> / <... resumed> split lines).
FS=$T/fake/spool
mkdir -p "$FS/outbound/a" "$FS/mail"
cat >"$T/fake/strace.log" <<EOF
7 openat(AT_FDCWD<$T>, "$FS/outbound/a/.f.tmp", O_WRONLY|O_CREAT|O_EXCL, 0644) = 3<$FS/outbound/a/.f.tmp>
7 write(3<$FS/outbound/a/.f.tmp>, "x", 1 <unfinished ...>
8 fsync(9<$FS/outbound/a>) = 0
7 <... write resumed>) = 1
7 renameat(4<$FS/outbound/a>, ".f.tmp", 4<$FS/outbound/a>, "f") = 0
7 fsync(4<$FS/outbound/a>) = 0
7 openat(AT_FDCWD<$T>, "$FS/outbound/a/.g.tmp", O_WRONLY|O_CREAT|O_EXCL, 0644) = 3<$FS/outbound/a/.g.tmp>
7 write(3<$FS/outbound/a/.g.tmp>, "x", 1) = 1
7 fsync(3<$FS/outbound/a/.g.tmp>) = 0
7 renameat(AT_FDCWD<$T>, "$FS/outbound/a/.g.tmp", AT_FDCWD<$T>, "$FS/outbound/a/g") = 0
7 openat(AT_FDCWD<$T>, "$FS/mail/.h.tmp", O_WRONLY|O_CREAT|O_EXCL, 0640) = 3<$FS/mail/.h.tmp>
7 write(3<$FS/mail/.h.tmp>, "x", 1) = 1
7 openat(AT_FDCWD<$T>, "$FS/mail/.i.tmp", O_WRONLY|O_CREAT|O_EXCL, 0640) = 5<$FS/mail/.i.tmp>
7 syncfs(6<$FS/mail>) = 0
7 write(5<$FS/mail/.i.tmp>, "x", 1) = 1
7 renameat(6<$FS/mail>, ".h.tmp", 6<$FS/mail>, "h") = 0
7 renameat(6<$FS/mail>, ".i.tmp", 6<$FS/mail>, "i") = 0
7 fsync(6<$FS/mail>) = 0
7 openat(AT_FDCWD<$T>, "$FS/mail/.j.tmp", O_WRONLY|O_CREAT|O_EXCL, 0640) = 3<$FS/mail/.j.tmp>
7 write(3<$FS/mail/.j.tmp>, "x", 1) = 1
7 syncfs(8</proc>) = 0
7 renameat(6<$FS/mail>, ".j.tmp", 6<$FS/mail>, "j") = 0
7 fsync(6<$FS/mail>) = 0
EOF
python3 "$T/check_publish.py" "$T/fake/strace.log" "$FS" "$T" "$T/fake/pubs.txt" >"$T/fake/parse.out" 2>&1
check_eq "parser self-test: five publications, four violations" \
    "RESULT checked=5 written=5 moved=0 violations=4" "$(grep '^RESULT' "$T/fake/parse.out")"
check "parser self-test: missing file fsync found" grep -q 'VIOLATION no-file-fsync: .*/\.f\.tmp renamed' "$T/fake/parse.out"
check "parser self-test: missing directory fsync found" grep -q 'VIOLATION no-dir-fsync: .* rename to g$' "$T/fake/parse.out"
check "parser self-test: a syncfs after the last write counts as the file's fsync" \
    sh -c "! grep -q 'VIOLATION.*/\.h\.tmp' '$T/fake/parse.out'"
check "parser self-test: a syncfs before the last write does not count" \
    grep -q 'VIOLATION no-file-fsync: .*/\.i\.tmp renamed' "$T/fake/parse.out"
check "parser self-test: a syncfs of another file system does not count" \
    grep -q 'VIOLATION no-file-fsync: .*/\.j\.tmp renamed' "$T/fake/parse.out"

python3 "$T/check_publish.py" "$LOG" "$S" "$T" "$T/pubs.txt" >"$T/parse.out" 2>&1
check "parser ran" grep -q '^RESULT ' "$T/parse.out"
grep -E '^(VIOLATION|    |NOTE)' "$T/parse.out"
res=$(grep '^RESULT ' "$T/parse.out")
echo "$res"
num() { echo "$res" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
checked=$(num checked)
check "publications were checked ($checked)" test "${checked:-0}" -gt 0
check_eq "durability violations" 0 "$(num violations)"
check "written publications include archive, result, error report, mails" test "$(num written)" -ge 7
check "moved inputs checked (archive + rejected)" test "$(num moved)" -ge 2
for pat in "/outbound/acme/DURABLE-1.1.tar.gz\$" "/outbound/acme/DURABLE-1.1.result.xml\$" \
    "/rejected/acme/refused.xml.error.xml\$" "/rejected/acme/refused.xml\$" \
    "/archive/acme/durable.xml\$" "/mail/cert-.*\\.eml\$" "/mail/p12pass-.*\\.eml\$"; do
	check "publication checked: $pat" grep -q "$pat" "$T/pubs.txt"
done
# result.xml last: after the archive and every mail of the pass.
ri=$(grep '/DURABLE-1.1.result.xml$' "$T/pubs.txt" | awk '{print $1}' | head -n 1)
ai=$(grep '/DURABLE-1.1.tar.gz$' "$T/pubs.txt" | awk '{print $1}' | head -n 1)
mi=$(grep -E '/mail/(cert|p12pass)-.*\.eml$' "$T/pubs.txt" | awk '{print $1}' | sort -n | tail -n 1)
check "result.xml renamed after the archive" test "${ri:-0}" -gt "${ai:-999999999}"
check "result.xml renamed after the pass's mails" test "${ri:-0}" -gt "${mi:-999999999}"
# Every publication happened exactly once (nothing re-published over itself).
check_eq "each target published once" "$(wc -l <"$T/pubs.txt")" \
    "$(awk '{print $3}' "$T/pubs.txt" | sort -u | wc -l)"
# The pass's mails went out as one group commit: a syncfs, no fsync per file
# (unless the kernel has no syncfs: then an fsync of each, checked above).
if grep -Eq '^[0-9]+ +syncfs\(.*= -1 ENOSYS' "$LOG"; then
	echo "NOTE: syncfs(2) is not implemented here; the mails were fsynced one by one"
else
	check "mail batch made durable by syncfs" grep -Eq '^[0-9]+ +syncfs\(.*/mail>\) += 0' "$LOG"
	check_eq "no mail temporary fsynced on its own" 0 \
	    "$(grep -Ec '^[0-9]+ +f(data)?sync\([0-9]+<[^>]*/mail/\.[^>]*>' "$LOG")"
fi

# ---- what the pass published, against the database and OpenSSL
# p7b_shape FILE: the certs-only SignedData outline from openssl asn1parse
# (depth:type, /length for the empty ones), certificates' insides left out.
p7b_shape() {
	openssl asn1parse -inform DER -in "$1" 2>/dev/null | python3 -c '
import re, sys
out = []
for ln in sys.stdin:
    m = re.match(r"\s*\d+:d=(\d+)\s+hl=\d+\s+l=\s*(\d+)\s+(?:prim|cons):\s*(.*?)\s*$", ln)
    if not m:
        continue
    d, l, t = int(m.group(1)), int(m.group(2)), re.sub(r"\s+", "", m.group(3))
    if d <= 4 or (d == 5 and t.startswith("OCTETSTRING")):
        out.append("%d:%s%s" % (d, t, "/0" if l == 0 else ""))
print(" ".join(out))'
}
X=$T/extract
mkdir -p "$X"
check "archive extracts" bsdtar -xf "$A" -C "$X"
n=0
for e in rsa.org@acme.example jane.doe@acme.example raj.patel@acme.example; do
	d=$(find "$X" -type d -name "$e" | head -n 1)
	[ -n "$d" ] || { check "$e: in the archive" false; continue; }
	serial=$(sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$e' AND c.state = 'issued'")
	rm -f "$T/c.der"
	blob_to "$T/c.der" der "FROM certificate WHERE serial = '$serial'"
	openssl x509 -inform DER -in "$T/c.der" -outform PEM -out "$T/c.pem" 2>/dev/null
	check "$e: cert.pem is openssl x509 -outform PEM of the stored DER" cmp -s "$T/c.pem" "$d/cert.pem"
	check "$e: chain.pem is the CA's chain" cmp -s "$T/ca/chain.pem" "$d/chain.pem"
	openssl pkcs7 -inform DER -in "$d/cert.p7b" -print_certs 2>/dev/null |
	    sed -n '/^-----BEGIN/,/^-----END/p' >"$T/p7.pem"
	cat "$d/cert.pem" "$d/chain.pem" >"$T/want.pem"
	check "$e: cert.p7b lists the certificate, then the chain" cmp -s "$T/want.pem" "$T/p7.pem"
	check_eq "$e: cert.p7b holds 3 certificates" 3 "$(grep -c '^-----BEGIN CERTIFICATE' "$T/p7.pem")"
	openssl pkcs7 -inform DER -in "$d/cert.p7b" -outform DER -out "$T/re.p7b" 2>/dev/null
	check "$e: cert.p7b is the DER OpenSSL's PKCS#7 encoder writes" cmp -s "$T/re.p7b" "$d/cert.p7b"
	check_eq "$e: cert.p7b is a certs-only SignedData" \
	    "0:SEQUENCE 1:OBJECT:pkcs7-signedData 1:cont[0] 2:SEQUENCE 3:INTEGER:01 3:SET/0 3:SEQUENCE 4:OBJECT:pkcs7-data 4:cont[0] 5:OCTETSTRING/0 3:cont[0] 4:SEQUENCE 4:SEQUENCE 4:SEQUENCE 3:SET/0" \
	    "$(p7b_shape "$d/cert.p7b")"
	check_eq "$e: result.xml sha256 is that of cert.pem" \
	    "$(sha256sum "$d/cert.pem" | cut -d' ' -f1)" \
	    "$(xval "$R" "string(//*[local-name()='recipient'][@email='$e']/@sha256)")"
	m=$S/mail/cert-$serial.eml
	check "$e: certificate mail" test -f "$m"
	na=$(openssl x509 -inform DER -in "$T/c.der" -noout -enddate -dateopt iso_8601 2>/dev/null |
	    sed 's/^notAfter=//; s/ /T/')
	check "$e: the mail carries cert.pem, cert.p7b and Valid until $na" python3 -c '
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
att = {p.get_filename(): p.get_payload(decode=True) for p in m.walk() if p.get_filename()}
text = [p.get_payload(decode=True).decode() for p in m.walk()
        if p.get_content_type() == "text/plain" and not p.get_filename()][0]
ok = (att.get("cert.pem") == open(sys.argv[2], "rb").read() and
      att.get("cert.p7b") == open(sys.argv[3], "rb").read() and
      ("Valid until:   %s\r\n" % sys.argv[4]) in text.replace("\r\n", "\n").replace("\n", "\r\n"))
sys.exit(0 if ok else 1)' "$m" "$d/cert.pem" "$d/cert.p7b" "$na"
	n=$((n + 1))
done
check_eq "three recipients compared" 3 "$n"

# ---- a kill inside the mail batch: before its commit only dot-temporaries
# exist and nothing is marked mailed (the password stays for the retry);
# the next pass publishes the same names and then erases the password.
# crashbatch ID: one order, a CSR recipient and a server-generated key.
crashbatch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		echo "  <order id=\"$1-O\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
		echo '    <validity><years>1</years></validity>'
		echo "    <recipient><commonName type=\"email\">c.$1@acme.example</commonName><email>c.$1@acme.example</email>"
		echo "      <csr>$(csr ec:P-256 "c.$1@acme.example")</csr></recipient>"
		echo "    <recipient><commonName type=\"email\">k.$1@acme.example</commonName><email>k.$1@acme.example</email>"
		echo '      <keygen algorithm="ecc-p256"/></recipient>'
		echo '    <agreement accepted="true"/></order>'
		echo '</batch>'
	} >"$T/$1.xml"
	drop acme "$T/$1.xml"
}
# of ID COLUMN-EXPR: one value per certificate of batch ID (in serial
# order), or an aggregate (count(...), sum(...)) over them
of() {
	case $2 in
	*"("*) o_order= ;;
	*) o_order=" ORDER BY c.serial" ;;
	esac
	sql "SELECT $2 FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$1' AND c.state = 'issued'$o_order"
}
# names ID: the final mail names of batch ID that exist
names() {
	for s in $(of "$1" c.serial); do
		for f in "cert-$s.eml" "p12pass-$s.eml"; do
			[ -e "$S/mail/$f" ] && echo "$f"
		done
	done
}
for point in after_mail:1 before_mail_commit after_mail_commit; do
	id=CRASH-$(echo "$point" | tr -c 'a-z0-9\n' '-' | tr a-z A-Z)
	crashbatch "$id"
	dead_nodes_wait
	CERTSPOOL_CRASH_AT=$point "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
	check_eq "$point: killed" 137 "$?"
	check_eq "$point: two certificates issued" 2 "$(of "$id" 'count(*)')"
	check_eq "$point: none marked mailed" 0 "$(of "$id" 'sum(c.mailed)')"
	check_eq "$point: the password kept for the retry" 1 "$(of "$id" 'count(c.p12_password)')"
	ntmp=0
	for s in $(of "$id" c.serial); do
		ntmp=$((ntmp + $(ls -A "$S/mail" | grep -c "^\.\(cert\|p12pass\)-$s\.eml\..*\.tmp$")))
	done
	case $point in
	after_mail_commit)
		check_eq "$point: every message published" 3 "$(names "$id" | wc -l)"
		check_eq "$point: no temporaries" 0 "$ntmp" ;;
	*)
		check_eq "$point: nothing under a final name" "" "$(names "$id")"
		check "$point: temporaries written ($ntmp)" test "$ntmp" -ge 1 ;;
	esac
	run_once
	check_eq "$point: both marked mailed after the restart" 2 "$(of "$id" 'sum(c.mailed)')"
	check_eq "$point: password erased after the restart" 0 "$(of "$id" 'count(c.p12_password)')"
	check_eq "$point: every message published after the restart" 3 "$(names "$id" | wc -l)"
	check "$point: result written" test -f "$S/outbound/acme/$id.1.result.xml"
done
check "no mail spool name other than dot-temporaries, .eml and .sent" \
    sh -c "! ls -A '$S/mail' | grep -Ev '^(\.[A-Za-z0-9._-]+\.tmp|[A-Za-z0-9._-]+\.eml|\.sent)$'"
finish
