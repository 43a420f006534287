#!/bin/sh
# Durability of everything the daemon publishes (SPEC 1: "written under a
# temporary name in the same directory, fsynced, renamed, directory
# fsynced"; README "Spool behaviour").
#
# One `certspool daemon --once` runs under
#   strace -f -y -e trace=openat,open,creat,write,pwrite64,writev,pwritev,
#                          pwritev2,fsync,fdatasync,rename,renameat,renameat2
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
#        before the rename started (and after the last write);
#     3. an fsync on an fd opened on the target directory started after the
#        rename returned;
#   moved inputs (work/ -> archive/ or rejected/, not written by the daemon):
#     3'. the target and the source directory are fsynced after the rename;
#   and nothing in those directories is created (O_CREAT) under a final,
#   non-dot name.  It prints every violation with the strace lines.
# The test asserts: publications checked > 0 (with archive, result, error
# report, mails and both moves among them), violations == 0, and that each
# result.xml was renamed after the archive and the mails of its pass.
. "$(dirname "$0")/../lib.sh"

bail() {
	echo "FAIL: $1"
	fail=$((fail + 1))
	finish
	exit 1
}
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
for tool in python3 sqlite3 xmllint bsdtar openssl; do
	command -v "$tool" >/dev/null 2>&1 || bail "missing tool: $tool"
done

setup
cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization and domain validated" test -n "$oid"

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
    -e trace=openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,rename,renameat,renameat2 \
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

writes, syncs, creates, renames = [], [], [], []
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
        if not fs:
            bad("no-file-fsync", e, "%s renamed to %s without fsync of the file after its last write" % (src, dst))
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
mkdir -p "$FS/outbound/a"
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
EOF
python3 "$T/check_publish.py" "$T/fake/strace.log" "$FS" "$T" "$T/fake/pubs.txt" >"$T/fake/parse.out" 2>&1
check_eq "parser self-test: two publications, two violations" \
    "RESULT checked=2 written=2 moved=0 violations=2" "$(grep '^RESULT' "$T/fake/parse.out")"
check "parser self-test: missing file fsync found" grep -q 'VIOLATION no-file-fsync: .*/\.f\.tmp renamed' "$T/fake/parse.out"
check "parser self-test: missing directory fsync found" grep -q 'VIOLATION no-dir-fsync: .* rename to g$' "$T/fake/parse.out"

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
finish
