#!/bin/sh
# Mail hand-over to a real MTA (SPEC 1 "mail/ ... for an MTA or sendmail -t",
# SPEC 4 "per recipient, a 'client certificate issued' message (certificate
# attached, additional emails in Cc)"; README "Mail", "Server-generated
# keys"; src/mail.c: every message is also piped to sendmail_command).
#
# The MTA is Postfix from Debian, as a private instance that lives wholly in
# the test directory: its own main.cf/master.cf (postfix -c), queue, data
# directory and log file (maillog_file via postlogd).  master.cf has no inet
# service at all (and inet_interfaces = loopback-only), so nothing listens on
# any network address: messages enter through Postfix's sendmail/postdrop
# into the private maildrop, pickup/cleanup/qmgr queue them and virtual(8)
# delivers every @acme.example address into a Maildir of its own under the
# test directory (virtual_mailbox_maps: an explicit texthash map plus an
# @acme.example catch-all "other/" that must stay empty); any other domain
# goes to the error transport (no delivery off the machine).  Started with
# `postfix -c DIR start` (no systemd needed), stopped by the EXIT trap with
# `postfix -c DIR stop` (and SIGKILL to the master's pid if it lingers).
# Postfix is installed with apt-get if missing (root, debconf "Local only";
# service start at install is denied through policy-rc.d).
#
# The daemon's certspool.conf has
#   sendmail_command = "/usr/sbin/sendmail -C $PF/etc -t -i -f "$CERTSPOOL_SENDER""
# (-t: the recipients come from To/Cc, as the SPEC's "sendmail -t" says).
#
# A. real issuance through Postfix: validated_org (Email DCV of acme.example
#    mails admin@, administrator@, webmaster@, hostmaster@, postmaster@), then
#    a batch of 2 orders: EMP-1001 jane.doe (RSA CSR, Cc hr@) and EMP-1002
#    raj.patel (<keygen>) + ops (ECC CSR), Cc "hr@, it@".  From the DELIVERED
#    Maildirs (not the spool) it asserts: exact message counts per mailbox,
#    nothing bounced/deferred, nothing to unexpected addresses; each DCV
#    mailbox got its confirmation with the token that validated the domain;
#    each recipient got exactly one "Client certificate issued for EMAIL"
#    with To = the recipient, Cc = the order's additional emails, Delivered-To,
#    the serial of result.xml, and cert.pem and cert.p7b attachments whose
#    base64 decodes byte for byte to the files in the outbound archive; every
#    Cc address got that same message (same Message-ID, same cert.pem); the
#    PKCS#12 password message reached raj.patel only (no Cc, nowhere else,
#    not hr@ nor it@) and its password opens bundle.p12 from the archive;
#    every delivered message is its spool .eml byte for byte (CRLF -> LF).
# B. sendmail_command = "false": a batch (kim.lee CSR, lee.kim <keygen>) is
#    still issued: certificates in the database, cert-/p12pass-<serial>.eml
#    kept in spool/mail, the failure logged ("sendmail command exited with
#    status 1"), nothing reached Postfix, the pass's archive AND result.xml
#    written (SPEC 4: the client's result must not hang on a notification
#    pipe), and the PKCS#12 password erased from the database (README: "kept
#    only until its message is in the mail spool, then erased").
# C. a transient failure: sendmail_command is a wrapper in front of the same
#    real Postfix sendmail that fails (exit 75, EX_TEMPFAIL) once, for the
#    message to flaky@; batch PARTIAL-1 = first.ok@ then flaky@.  Pass C1: the
#    failure is logged, first.ok's message is delivered, PARTIAL-1.1.result.xml
#    is written.  Pass C2 (wrapper no longer failing) and pass C3: every
#    message the wrapper let through is delivered exactly once and the one
#    it failed is delivered after the failure cleared: flaky@ gets its
#    message, first.ok@ no second copy, kim.lee@/lee.kim@ from B at most one
#    copy of each (whether B's messages are piped again once sendmail works
#    is left open), and no mailbox holds a Message-ID twice.
# D. UTF-8 mailboxes (RFC 6531/6532; main.cf has smtputf8_enable = yes):
#    batch INTL-1 mixes "Jörg Müller" <jörg@>, "Ana López" <ana.lopez@> and
#    müller@ (Cc hr@).  One daemon --once exits 0 with INTL-1.1.result.xml
#    written and the archive holding <order>/<mailbox>/ for each (names
#    read with python's tarfile); Postfix delivers each message: To of the
#    UTF-8 mailbox UTF-8 as is, byte for byte, Delivered-To the UTF-8
#    mailbox, the ASCII mailbox's display name as RFC 2047 words, cert.pem
#    and cert.p7b byte-identical to the archive's, the Cc copy to hr@.
. "$(dirname "$0")/../lib.sh"

PF=$T/postfix
MB=$PF/mail
PF_UP=""
stop_mta() {
	[ -n "$PF_UP" ] || return 0
	mp=$(head -n 1 "$PF/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
	timeout 30 postfix -c "$PF/etc" stop >/dev/null 2>&1
	i=0
	while timeout 10 postfix -c "$PF/etc" status >/dev/null 2>&1 && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	if [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null; then
		kill -KILL "$mp" 2>/dev/null
	fi
	# the master's children (its process group) end on their own
	i=0
	while [ -n "$mp" ] && [ $i -lt 25 ] &&
	    ps -e -o pgid=,stat= 2>/dev/null | awk -v g="$mp" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'; do
		sleep 0.2
		i=$((i + 1))
	done
	PF_UP=""
}
trap 'stop_mta; cleanup' EXIT
trap 'exit 130' INT TERM


# ---- prerequisites ----
pf_ok() {
	[ -x /usr/sbin/postfix ] && [ -x /usr/sbin/sendmail ] &&
	    [ -x /usr/sbin/postqueue ] &&
	    dpkg -S /usr/sbin/sendmail 2>/dev/null | grep -q '^postfix:'
}
if ! pf_ok; then
	if [ -e /usr/sbin/sendmail ] && ! dpkg -S /usr/sbin/sendmail 2>/dev/null | grep -q '^postfix:'; then
		bail "SKIPPED (counted as a failure): /usr/sbin/sendmail belongs to another MTA ($(dpkg -S /usr/sbin/sendmail 2>/dev/null)); not replacing it"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing postfix"
		printf '%s\n' "postfix postfix/main_mailer_type select Local only" \
		    "postfix postfix/mailname string certspool.test" |
		    debconf-set-selections >/dev/null 2>&1
		# no service start at install time (no init system anyway)
		made_policy=""
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
			    chmod 755 /usr/sbin/policy-rc.d && made_policy=1
		fi
		DEBIAN_FRONTEND=noninteractive timeout 600 \
		    apt-get install -y -qq postfix >/dev/null 2>&1 ||
		    { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null 2>&1;
		      DEBIAN_FRONTEND=noninteractive timeout 600 \
		      apt-get install -y -qq postfix >/dev/null 2>&1; }
		[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	fi
	pf_ok || bail "SKIPPED (counted as a failure): Postfix missing and cannot be installed (not root?)"
fi
[ "$(id -u)" -eq 0 ] ||
    bail "SKIPPED (counted as a failure): a private Postfix instance needs root"
need_tools sqlite3 xmllint python3 openssl bsdtar
if ! id postfix >/dev/null 2>&1 || ! getent group postdrop >/dev/null 2>&1; then
	bail "postfix user or postdrop group missing"
fi

setup
cs account add acme --balance 100000000 >/dev/null

# ---- the private Postfix instance ----
# virtual(8) delivers as nobody and postfix(8)'s processes run as postfix:
# both must traverse the test directory (mktemp -d makes it 0700).
chmod 711 "$T"
mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$MB"
chmod 755 "$PF"
chown postfix:postfix "$PF/data"
chown nobody:"$(id -gn nobody)" "$MB"
cat >"$PF/etc/master.cf" <<'EOF'
# service type  private unpriv  chroot  wakeup  maxproc command
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = certspool.test
mydomain = certspool.test
myorigin = certspool.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
master_service_disable = inet
relayhost =
default_transport = error:no delivery off this machine in the test
relay_transport = error:no relay in the test
virtual_mailbox_domains = acme.example
virtual_mailbox_base = $MB
virtual_mailbox_maps = texthash:$PF/etc/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 100
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
smtputf8_enable = yes
biff = no
EOF
# One Maildir per address (Postfix refuses \$1 substitution in this map).
for a in admin administrator webmaster hostmaster postmaster jane.doe \
    raj.patel ops hr it kim.lee lee.kim first.ok flaky jörg müller \
    ana.lopez; do
	echo "$a@acme.example $a/"
done >"$PF/etc/vmailbox"
echo "@acme.example other/" >>"$PF/etc/vmailbox"

timeout 60 postfix -c "$PF/etc" check >"$PF/check.log" 2>&1 ||
    bail "postfix check: $(tail -n 3 "$PF/check.log")"
PF_UP=1
timeout 60 postfix -c "$PF/etc" start >"$PF/start.log" 2>&1 ||
    bail "postfix start: $(tail -n 3 "$PF/start.log"; tail -n 3 "$PF/maillog" 2>/dev/null)"
wait_until 20 postfix -c "$PF/etc" status || bail "postfix master not running"
check "Postfix master running from the private config" \
    wait_until 20 grep -q "configuration $PF/etc" "$PF/maillog"
check_eq "Postfix instance has no inet service" "" \
    "$(postconf -c "$PF/etc" -M 2>/dev/null | awk '$2 == "inet"')"

# -f: the envelope sender is mail_from's address, which certspool gives
# the command as CERTSPOOL_SENDER.
SENDMAIL="/usr/sbin/sendmail -C $PF/etc -t -i"' -f "$CERTSPOOL_SENDER"'
sed -i "s|^sendmail_command = .*|sendmail_command = \"$SENDMAIL\"|" "$T/certspool.conf"
check_eq "config: sendmail_command" "sendmail_command = \"$SENDMAIL\"" \
    "$(grep '^sendmail_command = ' "$T/certspool.conf")"

# delivered LOCAL: messages in that Maildir.
delivered() {
	find "$MB/$1/new" "$MB/$1/cur" -type f 2>/dev/null | wc -l | tr -d ' '
}
total_delivered() {
	find "$MB" -path '*/new/*' -type f 2>/dev/null | wc -l | tr -d ' '
}
queue_empty() {
	timeout 10 postqueue -c "$PF/etc" -p 2>/dev/null | grep -q 'Mail queue is empty'
}
# settled N: N messages delivered in all and Postfix's queue empty.
settled() {
	[ "$(total_delivered)" -eq "$1" ] && queue_empty
}
# tally FILE: count the PASS/FAIL lines the checker printed.
tally() {
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass=$((pass + 1)) ;;
		"FAIL "*) fail=$((fail + 1)); echo "FAIL: ${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done <"$1"
}
# mbox CHECK ARGS...: run the Maildir checker below.
mbox() {
	if ! python3 "$T/mbox.py" "$@" >"$T/mbox.out" 2>&1; then
		fail=$((fail + 1))
		echo "FAIL: checker $1 crashed"
	fi
	tally "$T/mbox.out"
}
cat >"$T/mbox.py" <<'PYEOF'
import email, email.utils, glob, os, re, subprocess, sys
from email import policy

def ok(cond, desc, detail=''):
    print(('PASS ' if cond else 'FAIL ') + desc +
          ('' if cond or not detail else ': ' + detail))
    return cond

def msgs(mb, local):
    out = []
    for sub in ('new', 'cur'):
        for f in sorted(glob.glob(os.path.join(mb, local, sub, '*'))):
            raw = open(f, 'rb').read()
            out.append((f, raw, email.message_from_bytes(raw, policy=policy.default)))
    return out

def all_msgs(mb):
    for d in sorted(os.listdir(mb)):
        for m in msgs(mb, d):
            yield d, m

# 8-bit header bytes reach python as surrogates; they are UTF-8 (RFC 6532).
def u(s):
    return s.encode('utf-8', 'surrogateescape').decode('utf-8')

def hdr(msg, name):
    v = msg[name]
    return None if v is None else u(str(v).strip())

def addrs(msg, name):
    v = msg.get_all(name) or []
    return sorted(a.lower() for _, a in email.utils.getaddresses([u(str(x)) for x in v]))

def rawhdr(raw, name):
    for line in raw.split(b'\n'):
        if line in (b'', b'\r'):
            break
        if line.lower().startswith(name.lower().encode() + b':'):
            return line.rstrip(b'\r')
    return None

def cmd_intl(mb, addr, name):
    # The certificate message to addr, its To as delivered, byte for byte:
    # UTF-8 as is for a UTF-8 mailbox (RFC 6532), else an RFC 2047 name.
    local = addr.split('@')[0]
    mine = with_subject(mb, local, 'Client certificate issued for ' + addr)
    if not ok(len(mine) == 1, '%s: one certificate message delivered' % addr,
              '%d' % len(mine)):
        return
    f, raw, msg = mine[0]
    to = rawhdr(raw, 'To')
    a = msg['to'].addresses[0] if msg['to'] is not None else None
    ok(a is not None and u(a.display_name) == name,
       '%s: To display name reads %s' % (addr, name), str(a))
    if any(ord(c) > 127 for c in addr.split('@')[0]):
        want = ('To: "%s" <%s>' % (name, addr)).encode('utf-8')
        ok(to == want, '%s: To is UTF-8 as is (RFC 6532)' % addr, repr(to))
        dt = rawhdr(raw, 'Delivered-To')
        ok(dt == ('Delivered-To: ' + addr).encode('utf-8'),
           '%s: Delivered-To is the UTF-8 mailbox' % addr, repr(dt))
    else:
        ok(to is not None and to.startswith(b'To: =?UTF-8?B?') and
           to.endswith((' <%s>' % addr).encode()) and max(to) < 128,
           '%s: To is ASCII with an RFC 2047 display name' % addr, repr(to))

def text(msg):
    b = msg.get_body(('plain',))
    return b.get_content() if b is not None else ''

def spool_of(spool, mid):
    for f in sorted(glob.glob(os.path.join(spool, '*.eml'))):
        e = open(f, 'rb').read()
        m = re.search(rb'^Message-ID: (.*?)\r?$', e, re.M)
        if m and m.group(1).decode() == mid:
            return f, e
    return None, None

def same_as_spool(spool, raw, msg, desc, want_name=None):
    mid = hdr(msg, 'Message-ID')
    f, e = spool_of(spool, mid)
    if not ok(f is not None, desc + ': a spool .eml has its Message-ID', str(mid)):
        return
    if want_name is not None:
        ok(os.path.basename(f) == want_name, desc + ': spool file is ' + want_name,
           os.path.basename(f))
    lf = e.replace(b'\r\n', b'\n')
    ok(raw.endswith(lf), desc + ': delivered bytes end with ' + os.path.basename(f) +
       ' byte for byte (CRLF -> LF)')

def with_subject(mb, local, subj):
    return [m for m in msgs(mb, local) if hdr(m[2], 'Subject') == subj]

def cmd_dcv(mb, spool, addr, domain, token):
    local = addr.split('@')[0]
    subj = 'Confirm control of %s for S/MIME certificates' % domain
    mine = with_subject(mb, local, subj)
    if not ok(len(mine) == 1, '%s: exactly one DCV message delivered' % addr,
              '%d delivered' % len(mine)):
        return
    f, raw, msg = mine[0]
    ok(addrs(msg, 'To') == [addr], '%s: DCV To' % addr, str(addrs(msg, 'To')))
    ok(hdr(msg, 'Delivered-To') == addr, '%s: DCV Delivered-To' % addr,
       str(hdr(msg, 'Delivered-To')))
    ok(msg['Cc'] is None, '%s: DCV message has no Cc' % addr)
    ok('certspool domain confirm %s\n' % token in text(msg),
       '%s: DCV message carries the token that validated %s' % (addr, domain))
    same_as_spool(spool, raw, msg, '%s DCV' % addr)

def cmd_cert(mb, spool, xdir, addr, order, serial, ccs):
    ccs = [] if ccs == '-' else sorted(c.strip().lower() for c in ccs.split(','))
    local = addr.split('@')[0]
    subj = 'Client certificate issued for ' + addr
    mine = with_subject(mb, local, subj)
    if not ok(len(mine) == 1, '%s: exactly one "%s" delivered' % (addr, subj),
              '%d delivered' % len(mine)):
        if not mine:
            return
    f, raw, msg = mine[0]
    ok(addrs(msg, 'To') == [addr], '%s: To is the recipient' % addr, str(addrs(msg, 'To')))
    ok(addrs(msg, 'Cc') == ccs, '%s: Cc is the additional emails %s' % (addr, ccs),
       str(addrs(msg, 'Cc')))
    ok(hdr(msg, 'Delivered-To') == addr, '%s: Delivered-To' % addr, str(hdr(msg, 'Delivered-To')))
    body = text(msg)
    ok('Serial number: %s\n' % serial in body, '%s: body names serial %s' % (addr, serial))
    atts = {}
    for p in msg.iter_attachments():
        atts[p.get_filename()] = p
    ok(sorted(atts) == ['cert.p7b', 'cert.pem'], '%s: attachments cert.pem and cert.p7b' % addr,
       str(sorted(atts)))
    for name in ('cert.pem', 'cert.p7b'):
        path = os.path.join(xdir, order, addr, name)
        want = open(path, 'rb').read() if os.path.exists(path) else None
        p = atts.get(name)
        got = p.get_payload(decode=True) if p is not None else None
        ok(want is not None and p is not None and
           str(p.get('Content-Transfer-Encoding', '')).lower() == 'base64' and got == want,
           '%s: delivered %s (base64) is %s/%s/%s from the archive byte for byte' %
           (addr, name, order, addr, name),
           'missing in archive' if want is None else 'missing in mail' if p is None else
           '%s vs %s bytes' % (len(got or b''), len(want)))
    same_as_spool(spool, raw, msg, '%s certificate message' % addr, 'cert-%s.eml' % serial)
    mid = hdr(msg, 'Message-ID')
    pem = atts['cert.pem'].get_payload(decode=True) if 'cert.pem' in atts else None
    for cc in ccs:
        copies = [m for m in msgs(mb, cc.split('@')[0]) if hdr(m[2], 'Message-ID') == mid]
        if ok(len(copies) == 1, '%s: got its one Cc copy of the certificate message of %s' % (cc, addr),
              '%d copies' % len(copies)):
            cm = copies[0][2]
            ok(hdr(cm, 'Delivered-To') == cc and hdr(cm, 'Subject') == subj,
               '%s: Cc copy delivered to it with the subject' % cc)
            cp = [p for p in cm.iter_attachments() if p.get_filename() == 'cert.pem']
            ok(len(cp) == 1 and pem is not None and cp[0].get_payload(decode=True) == pem,
               '%s: Cc copy carries the same cert.pem' % cc)

def cmd_p12(mb, spool, xdir, addr, order, serial):
    local = addr.split('@')[0]
    subj = 'Password for your certificate bundle'
    mine = [m for m in with_subject(mb, local, subj) if '(serial %s)' % serial in text(m[2])]
    if not ok(len(mine) == 1, '%s: exactly one PKCS#12 password message for serial %s' % (addr, serial),
              '%d delivered' % len(mine)):
        if not mine:
            return
    f, raw, msg = mine[0]
    ok(addrs(msg, 'To') == [addr], '%s: password message To is the recipient alone' % addr,
       str(addrs(msg, 'To')))
    ok(msg['Cc'] is None and msg['Bcc'] is None, '%s: password message has no Cc/Bcc' % addr)
    ok(hdr(msg, 'Delivered-To') == addr, '%s: password message Delivered-To' % addr)
    ok(not list(msg.iter_attachments()), '%s: password message has no attachment' % addr)
    m = re.search(r'^    ([A-Za-z0-9-]+)$', text(msg), re.M)
    if not ok(m is not None, '%s: password in the delivered message' % addr):
        return
    pw = m.group(1)
    p12 = os.path.join(xdir, order, addr, 'bundle.p12')
    r = subprocess.run(['openssl', 'pkcs12', '-in', p12, '-passin', 'pass:' + pw,
                        '-noout'], capture_output=True)
    ok(r.returncode == 0, '%s: delivered password opens bundle.p12 from the archive' % addr,
       r.stderr.decode(errors='replace').strip()[:200])
    same_as_spool(spool, raw, msg, '%s password message' % addr, 'p12pass-%s.eml' % serial)
    mid = hdr(msg, 'Message-ID')
    leaks = []
    for d, (g, graw, gm) in all_msgs(mb):
        if d == local:
            continue
        if hdr(gm, 'Message-ID') == mid or pw.encode() in graw or pw in text(gm) or \
           hdr(gm, 'Subject') == subj and ('(serial %s)' % serial) in text(gm):
            leaks.append(d)
    ok(not leaks, '%s: the password message went to nobody else (not hr@, not it@)' % addr,
       'also in ' + ', '.join(sorted(set(leaks))))
    for cc in ('hr', 'it'):
        ok(not with_subject(mb, cc, subj), '%s@: no PKCS#12 password message at all' % cc)

def cmd_nodup(mb):
    dups = []
    for d in sorted(os.listdir(mb)):
        seen = {}
        for f, raw, m in msgs(mb, d):
            mid = hdr(m, 'Message-ID')
            seen[mid] = seen.get(mid, 0) + 1
        dups += ['%s@ %s x%d' % (d, k, v) for k, v in seen.items() if v > 1]
    ok(not dups, 'no message delivered twice to a mailbox', '; '.join(dups))

def cmd_allspool(mb, spool):
    bad = []
    n = 0
    for d, (f, raw, m) in all_msgs(mb):
        n += 1
        sf, e = spool_of(spool, hdr(m, 'Message-ID'))
        if sf is None or not raw.endswith(e.replace(b'\r\n', b'\n')):
            bad.append('%s/%s' % (d, os.path.basename(f)))
    ok(n > 0 and not bad, 'all %d delivered messages are spool messages byte for byte' % n,
       ', '.join(bad))

c = sys.argv[1]
if c == 'dcv':
    cmd_dcv(*sys.argv[2:7])
elif c == 'cert':
    cmd_cert(*sys.argv[2:9])
elif c == 'p12':
    cmd_p12(*sys.argv[2:8])
elif c == 'nodup':
    cmd_nodup(sys.argv[2])
elif c == 'intl':
    cmd_intl(*sys.argv[2:5])
elif c == 'allspool':
    cmd_allspool(sys.argv[2], sys.argv[3])
else:
    sys.exit('unknown check ' + c)
PYEOF

# serial EMAIL: the issued certificate's serial from the database.
serial() {
	sql "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = '$1' AND c.state = 'issued'"
}

# ---- A. issuance through Postfix ----
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization and domain validated (DCV mails piped to Postfix)" test -n "$oid"
tok=$(mail_token admin@acme.example)
check "DCV token in the spool" test -n "$tok"

B=$T/mta.xml
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="MTA-1" account="acme">'
	echo '  <attestation officer="Pat Lee" title="HR Director"/>'
	echo '  <order id="EMP-1001"><product>secure_email_business</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="name">Jane Doe</commonName><givenName>Jane</givenName><surname>Doe</surname>'
	echo "      <email>jane.doe@acme.example</email><csr>$(csr rsa:2048 jane.doe@acme.example)</csr></recipient>"
	echo '    <additionalEmails>hr@acme.example</additionalEmails>'
	echo '    <agreement accepted="true"/></order>'
	echo '  <order id="EMP-1002"><product>secure_email_organization</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="email">raj.patel@acme.example</commonName>'
	echo '      <email>raj.patel@acme.example</email><keygen algorithm="ecc-p256"/></recipient>'
	echo '    <recipient><commonName type="email">ops@acme.example</commonName>'
	echo "      <email>ops@acme.example</email><csr>$(csr ec:P-256 ops@acme.example)</csr></recipient>"
	echo '    <additionalEmails>hr@acme.example, it@acme.example</additionalEmails>'
	echo '    <agreement accepted="true"/></order>'
	echo '</batch>'
} >"$B"
check "batch MTA-1 is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
drop acme "$B"
run_once
R=$S/outbound/acme/MTA-1.1.result.xml
check "MTA-1 result.xml written" test -f "$R"
check_eq "MTA-1: 3 recipients issued" 3 "$(xval "$R" 'count(//*[local-name()="recipient"][@state="issued"])')"
check_eq "no sendmail failure logged in A" "" "$(grep 'sendmail command' "$T/daemon.log")"
mkdir -p "$T/x"
(cd "$T/x" && bsdtar -xf "$S/outbound/acme/MTA-1.1.tar.gz") 2>/dev/null
check "MTA-1 archive extracted" test -f "$T/x/EMP-1002/raj.patel@acme.example/bundle.p12"

# 5 DCV + jane 1 + raj 2 + ops 1 + hr 3 (Cc) + it 2 (Cc) = 14
check "Postfix delivered 14 messages within 30 s, queue empty" wait_until 30 settled 14
for l in admin administrator webmaster hostmaster postmaster jane.doe ops; do
	check_eq "$l@ Maildir holds 1 message" 1 "$(delivered "$l")"
done
check_eq "raj.patel@ Maildir holds 2 messages (certificate, password)" 2 "$(delivered raj.patel)"
check_eq "hr@ Maildir holds 3 messages (Cc of each certificate)" 3 "$(delivered hr)"
check_eq "it@ Maildir holds 2 messages (Cc of EMP-1002)" 2 "$(delivered it)"
check_eq "nothing delivered to an unexpected @acme.example address" 0 "$(delivered other)"
check_eq "Postfix bounced or deferred nothing" "" \
    "$(grep -E 'status=(bounced|deferred)' "$PF/maillog")"
check_eq "Postfix delivered 14 copies (maillog)" 14 \
    "$(grep -c 'relay=virtual.*status=sent (delivered to maildir)' "$PF/maillog")"

for l in admin administrator webmaster hostmaster postmaster; do
	mbox dcv "$MB" "$S/mail" "$l@acme.example" acme.example "$tok"
done
sj=$(serial jane.doe@acme.example)
sr=$(serial raj.patel@acme.example)
so=$(serial ops@acme.example)
check "serials of A known" test -n "$sj" -a -n "$sr" -a -n "$so"
for e in jane.doe raj.patel ops; do
	s=$(serial "$e@acme.example")
	check_eq "$e serial in result.xml" "$s" \
	    "$(xval "$R" "string(//*[local-name()='recipient'][@email='$e@acme.example']/@serial)")"
done
mbox cert "$MB" "$S/mail" "$T/x" jane.doe@acme.example EMP-1001 "$sj" hr@acme.example
mbox cert "$MB" "$S/mail" "$T/x" raj.patel@acme.example EMP-1002 "$sr" "hr@acme.example,it@acme.example"
mbox cert "$MB" "$S/mail" "$T/x" ops@acme.example EMP-1002 "$so" "hr@acme.example,it@acme.example"
mbox p12 "$MB" "$S/mail" "$T/x" raj.patel@acme.example EMP-1002 "$sr"
mbox allspool "$MB" "$S/mail"
mbox nodup "$MB"

# ---- B. sendmail_command = false ----
sed -i 's|^sendmail_command = .*|sendmail_command = "false"|' "$T/certspool.conf"
check_eq "config: sendmail_command false" 'sendmail_command = "false"' \
    "$(grep '^sendmail_command = ' "$T/certspool.conf")"
B=$T/fail.xml
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="FAIL-1" account="acme">'
	echo '  <order id="F-1"><product>secure_email_organization</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="email">kim.lee@acme.example</commonName>'
	echo "      <email>kim.lee@acme.example</email><csr>$(csr rsa:2048 kim.lee@acme.example)</csr></recipient>"
	echo '    <recipient><commonName type="email">lee.kim@acme.example</commonName>'
	echo '      <email>lee.kim@acme.example</email><keygen algorithm="ecc-p256"/></recipient>'
	echo '    <agreement accepted="true"/></order>'
	echo '</batch>'
} >"$B"
check "batch FAIL-1 is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
: >"$T/daemon.log"
drop acme "$B"
run_once
echo "B: daemon --once exit status $? with sendmail_command = false"
sk=$(serial kim.lee@acme.example)
sl=$(serial lee.kim@acme.example)
check "B: both certificates issued in the database" test -n "$sk" -a -n "$sl"
check_eq "B: recipients issued" 2 "$(sql "SELECT count(*) FROM recipient WHERE email IN ('kim.lee@acme.example','lee.kim@acme.example') AND state = 'issued'")"
check "B: cert-<serial>.eml kept for kim.lee" grep -q '^To: kim.lee@acme.example' "$S/mail/cert-$sk.eml"
check "B: cert-<serial>.eml kept for lee.kim" grep -q '^To: lee.kim@acme.example' "$S/mail/cert-$sl.eml"
check "B: p12pass-<serial>.eml kept for lee.kim" grep -q '^To: lee.kim@acme.example' "$S/mail/p12pass-$sl.eml"
check "B: failure logged with the message name" \
    grep -q "cert-$sk.eml: sendmail command exited with status 1" "$T/daemon.log"
check "B: archive FAIL-1.1.tar.gz written" test -f "$S/outbound/acme/FAIL-1.1.tar.gz"
RB=$S/outbound/acme/FAIL-1.1.result.xml
check "B: FAIL-1.1.result.xml written although sendmail failed" test -f "$RB"
[ -f "$RB" ] && check_eq "B: result lists both recipients issued" 2 \
    "$(xval "$RB" 'count(//*[local-name()="recipient"][@state="issued"])')"
check_eq "B: PKCS#12 password erased from the database (its message is in the spool)" 0 \
    "$(sql "SELECT count(*) FROM certificate WHERE p12_password IS NOT NULL")"
sleep 2
check "B: Postfix got nothing (queue empty)" queue_empty
check_eq "B: nothing delivered to kim.lee@ or lee.kim@" "0 0" "$(delivered kim.lee) $(delivered lee.kim)"
check_eq "B: nothing new delivered" 14 "$(total_delivered)"

# ---- C. a transient failure in front of the real sendmail ----
W=$T/flaky-sendmail
cat >"$W" <<EOF
#!/bin/sh
# Fails once (EX_TEMPFAIL) for the message to flaky@, else hands the
# message to the real Postfix sendmail.
m=\$(mktemp "$T/flaky.XXXXXX") || exit 75
cat >"\$m"
if [ -f "$T/flaky.once" ] && grep -q '^To: flaky@acme.example' "\$m"; then
	rm -f "$T/flaky.once" "\$m"
	exit 75
fi
$SENDMAIL <"\$m"
rc=\$?
rm -f "\$m"
exit \$rc
EOF
chmod 755 "$W"
sed -i "s|^sendmail_command = .*|sendmail_command = \"$W\"|" "$T/certspool.conf"
B=$T/partial.xml
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="PARTIAL-1" account="acme">'
	echo '  <order id="P-1"><product>secure_email_organization</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="email">first.ok@acme.example</commonName>'
	echo "      <email>first.ok@acme.example</email><csr>$(csr ec:P-256 first.ok@acme.example)</csr></recipient>"
	echo '    <recipient><commonName type="email">flaky@acme.example</commonName>'
	echo "      <email>flaky@acme.example</email><csr>$(csr ec:P-256 flaky@acme.example)</csr></recipient>"
	echo '    <agreement accepted="true"/></order>'
	echo '</batch>'
} >"$B"
check "batch PARTIAL-1 is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
: >"$T/flaky.once"
: >"$T/daemon.log"
drop acme "$B"
run_once
echo "C1: daemon --once exit status $?"
sfo=$(serial first.ok@acme.example)
sfl=$(serial flaky@acme.example)
check "C1: both certificates issued" test -n "$sfo" -a -n "$sfl"
check_not "C1: the transient failure happened" test -f "$T/flaky.once"
check "C1: failure logged for flaky's message" \
    grep -q "cert-$sfl.eml: sendmail command exited with status 75" "$T/daemon.log"
check "C1: PARTIAL-1.1.result.xml written" test -f "$S/outbound/acme/PARTIAL-1.1.result.xml"
check "C1: PARTIAL-1.1.tar.gz written" test -f "$S/outbound/acme/PARTIAL-1.1.tar.gz"
(cd "$T/x" && bsdtar -xf "$S/outbound/acme/PARTIAL-1.1.tar.gz") 2>/dev/null
check "C1: first.ok@ got its message" wait_until 30 sh -c "[ \"\$(find '$MB/first.ok/new' -type f 2>/dev/null | wc -l)\" -ge 1 ]"
wait_until 30 queue_empty
run_once
echo "C2: daemon --once exit status $?"
run_once
echo "C3: daemon --once exit status $?"
check "C: Postfix queue drained" wait_until 30 queue_empty
check "C: flaky@ got its message after the failure cleared" wait_until 30 sh -c "[ \"\$(find '$MB/flaky/new' -type f 2>/dev/null | wc -l)\" -ge 1 ]"
sleep 1
check_eq "C: first.ok@ holds exactly one message" 1 "$(delivered first.ok)"
check_eq "C: flaky@ holds exactly one message" 1 "$(delivered flaky)"
check_eq "C: kim.lee@ holds at most one message" 1 "$(($(delivered kim.lee) <= 1))"
check_eq "C: lee.kim@ holds at most two messages (certificate, password)" 1 "$(($(delivered lee.kim) <= 2))"
check_eq "C: nothing to an unexpected address" 0 "$(delivered other)"
for e in first.ok flaky; do
	[ "$(delivered "$e")" -ge 1 ] && mbox cert "$MB" "$S/mail" "$T/x" "$e@acme.example" P-1 "$(serial "$e@acme.example")" -
done
mbox nodup "$MB"
mbox allspool "$MB" "$S/mail"

# ---- D. UTF-8 mailboxes (SMTPUTF8) ----
# Batch INTL-1: I-1 (sponsor product) "Jörg Müller" <jörg@> and
# "Ana López" <ana.lopez@>; I-2 (organization product) müller@, Cc hr@.
# One daemon --once publishes all: result.xml, an archive with
# <order>/<mailbox>/ for each (python's tarfile), and Postfix (with
# smtputf8_enable = yes) delivers each message intact.
sed -i "s|^sendmail_command = .*|sendmail_command = \"$SENDMAIL\"|" "$T/certspool.conf"
J='jörg@acme.example'
U='müller@acme.example'
L='ana.lopez@acme.example'
B=$T/intl.xml
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="INTL-1" account="acme">'
	echo '  <attestation officer="Pat Lee" title="HR Director"/>'
	echo '  <order id="I-1"><product>secure_email_business</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo '    <recipient><commonName type="name">Jörg Müller</commonName><givenName>Jörg</givenName><surname>Müller</surname>'
	echo "      <email>$J</email><csr>$(csr rsa:2048 "$J")</csr></recipient>"
	echo '    <recipient><commonName type="name">Ana López</commonName><givenName>Ana</givenName><surname>López</surname>'
	echo "      <email>$L</email><csr>$(csr ec:P-256 "$L")</csr></recipient>"
	echo '    <agreement accepted="true"/></order>'
	echo '  <order id="I-2"><product>secure_email_organization</product><organization>Acme Corp</organization>'
	echo '    <validity><years>1</years></validity>'
	echo "    <recipient><commonName type=\"email\">$U</commonName>"
	echo "      <email>$U</email><csr>$(csr ec:P-256 "$U")</csr></recipient>"
	echo '    <additionalEmails>hr@acme.example</additionalEmails>'
	echo '    <agreement accepted="true"/></order>'
	echo '</batch>'
} >"$B"
check "batch INTL-1 is schema-valid" xmllint --noout --schema "$ROOT/schemas/batch-1.xsd" "$B"
before=$(total_delivered)
: >"$T/daemon.log"
drop acme "$B"
check_once "D: daemon --once exits 0" 0
RI=$S/outbound/acme/INTL-1.1.result.xml
check "D: INTL-1.1.result.xml after the first pass" test -f "$RI"
check_eq "D: 3 recipients issued" 3 "$(xval "$RI" 'count(//*[local-name()="recipient"][@state="issued"])')"
check_eq "D: no sendmail failure logged" "" "$(grep 'sendmail command' "$T/daemon.log")"
printf '%s\n' "I-1/$J/cert.pem" "I-1/$J/cert.p7b" "I-1/$J/chain.pem" \
    "I-1/$L/cert.pem" "I-1/$L/cert.p7b" "I-1/$L/chain.pem" \
    "I-2/$U/cert.pem" "I-2/$U/cert.p7b" "I-2/$U/chain.pem" | sort >"$T/want.names"
python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
for m in t.getmembers():
    sys.stdout.buffer.write(m.name.encode("utf-8") + b"\n")
t.extractall(sys.argv[2])' "$S/outbound/acme/INTL-1.1.tar.gz" "$T/xi" | sort >"$T/got.names"
check "D: archive holds <order>/<mailbox>/ for each recipient" cmp "$T/want.names" "$T/got.names"
# jörg 1, müller 1, ana.lopez 1, hr 1 (Cc of müller's message)
check "D: Postfix delivered 4 more messages within 30 s, queue empty" \
    wait_until 30 settled $((before + 4))
check_eq "D: $J Maildir holds 1 message" 1 "$(delivered jörg)"
check_eq "D: $U Maildir holds 1 message" 1 "$(delivered müller)"
check_eq "D: $L Maildir holds 1 message" 1 "$(delivered ana.lopez)"
check_eq "D: Postfix delivered to $J (maillog)" 1 \
    "$(grep -c "to=<$J>.*status=sent" "$PF/maillog")"
mbox cert "$MB" "$S/mail" "$T/xi" "$J" I-1 "$(serial "$J")" -
mbox cert "$MB" "$S/mail" "$T/xi" "$L" I-1 "$(serial "$L")" -
mbox cert "$MB" "$S/mail" "$T/xi" "$U" I-2 "$(serial "$U")" hr@acme.example
mbox intl "$MB" "$J" "Jörg Müller"
mbox intl "$MB" "$L" "Ana López"
mf=$(sed -n 's/^mail_from = "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$T/certspool.conf")
check "D: mail_from known" test -n "$mf"
for l in jörg müller ana.lopez; do
	f=$(find "$MB/$l/new" -type f | head -n 1)
	check_eq "D: $l@: envelope sender (Return-Path) is mail_from" "Return-Path: <$mf>" \
	    "$(sed -n '/^Return-Path:/p' "$f")"
done
check_eq "D: nothing to an unexpected address" 0 "$(delivered other)"
mbox nodup "$MB"
mbox allspool "$MB" "$S/mail"
check_eq "Postfix bounced or deferred nothing in the end" "" \
    "$(grep -E 'status=(bounced|deferred)' "$PF/maillog")"
finish
