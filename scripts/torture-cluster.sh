#!/bin/bash
# scripts/torture-cluster.sh: several daemons on one PostgreSQL database
# and one spool, under kills and pauses (make torture-cluster; the short
# run is tests/e2e/t97-cluster.sh).
#
# A throwaway PostgreSQL (tests/unit/pg-unit.sh) holds the installation
# (certspool init --database); ACCOUNTS accounts, each with a validated
# organization and domain, receive ORDERS one-recipient orders (a fresh
# P-256 key each, scripts/gencsr.c) in batches of at most BATCH orders,
# dropped while three daemons run (the account is the unit of sharing
# among them).  Node 1 is killed with SIGKILL at random moments and
# started again; node 2 is stopped with SIGSTOP for longer than
# lease_seconds, so that its accounts are taken over while it is
# frozen, then continued (it must find its lease lost and commit
# nothing it did meanwhile); node 3 runs throughout.  Certificates are
# revoked with the CLI while this goes on, so that CRLs are published;
# crl_dir is read every half second to follow each CRL's number.
#
# At the end (every order final, every batch's last pass written), the
# checks, on the real outputs: every order issued exactly once (one
# certificate row per recipient, and every recipient's cert.pem in
# exactly one archive, its serial and sha256 those of the database and
# of the result), serials unique, every archive whole (bsdtar reads it)
# and listed by its result, every batch's last result present,
# well-formed and reporting every order of the batch as issued, no
# temporary file left in outbound/, the ledger charged once per
# certificate (and balances equal to deposits less debits), CRL numbers
# strictly increasing per issuer and shard (a number never reused for
# other content, never going down in crl_dir) and the last CRL listing
# exactly the revoked serials; the frozen node did lose its lease.
#
# Options: --orders N (3000), --seed S (random, printed; the same seed
# gives the same kill and pause plan), --accounts N (6), --batch N (250),
# --lease S (4), --kills N (8), --pauses N (2), --timeout S (900),
# --keep (keep the work directory).  Environment: CERTSPOOL_BIN.
# Output ends with "N passed, M failed"; exit 0 only if nothing failed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CERTSPOOL_BIN:-$ROOT/certspool}
ORDERS=3000
SEED=$(( ($(date +%s) ^ $$) % 32768 ))
ACCOUNTS=6
BATCH=250
LEASE=4
KILLS=8
PAUSES=2
TIMEOUT=900
KEEP=${KEEP:-}
while [ $# -gt 0 ]; do
	case $1 in
	--orders) ORDERS=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--accounts) ACCOUNTS=$2; shift ;;
	--batch) BATCH=$2; shift ;;
	--lease) LEASE=$2; shift ;;
	--kills) KILLS=$2; shift ;;
	--pauses) PAUSES=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "usage: torture-cluster.sh [--orders N] [--seed S]" \
	    "[--accounts N] [--batch N] [--lease S] [--kills N]" \
	    "[--pauses N] [--timeout S] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
RANDOM=$SEED
export CERTSPOOL_SCHEMA_DIR=${CERTSPOOL_SCHEMA_DIR:-$ROOT/schemas}
unset CERTSPOOL_CRASH_AT CERTSPOOL_NOW
echo "torture-cluster: seed $SEED, $ORDERS orders, $ACCOUNTS accounts," \
    "lease $LEASE s (replay: --seed $SEED --orders $ORDERS)"

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected \"$2\", got \"$3\""; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
die() { bad "$1"; finish; exit 1; }

[ -x "$BIN" ] || die "$BIN not built"
for tool in psql bsdtar xmllint openssl python3 cc; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool missing (make deps)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/certspool-cluster.XXXXXX")
chmod 755 "$T"
S=$T/spool
PGDIR=$T/pg
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		[ -n "$p" ] || continue
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	sh "$ROOT/tests/unit/pg-unit.sh" stop "$PGDIR" >/dev/null 2>&1
	if [ "$fail" -ne 0 ] || [ -n "$KEEP" ]; then
		echo "work directory kept: $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

URI=$(sh "$ROOT/tests/unit/pg-unit.sh" start "$PGDIR") || die "PostgreSQL did not start"
cs() { "$BIN" --config "$T/certspool.conf" "$@"; }
sql() { psql -X -q -At -F '|' "$URI" -c "$1"; }

# ---------------------------------------------------------------- setup
"$BIN" init "$T" --database "$URI" >/dev/null || die "init --database failed"
sed -i -e 's/^settle_seconds = .*/settle_seconds = 0/' \
    -e 's/^poll_seconds = .*/poll_seconds = 1/' \
    -e "s/^lease_seconds = .*/lease_seconds = $LEASE/" \
    -e 's/^\(mail\|archive\|card_archive\|outbound\)_retention_days = .*/\1_retention_days = 0/' \
    "$T/certspool.conf"
grep -q "^lease_seconds = $LEASE\$" "$T/certspool.conf" || die "cannot set lease_seconds"
CRLDIR=$(sed -n 's/^crl_dir = "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$T/certspool.conf")
[ -n "$CRLDIR" ] || CRLDIR=$S/crl

. "$ROOT/tests/org.sh"	# validated_org, mail_token
for ((a = 1; a <= ACCOUNTS; a++)); do
	cs account add "acct$a" --balance 100000000000 >/dev/null &&
	    validated_org "acct$a" "Org $a Inc" "a$a.example" >/dev/null ||
	    die "setup of account acct$a failed"
done

# ---------------------------------------------------------------- batches
# Order k (1..ORDERS) goes to account 1 + (k-1) % ACCOUNTS; each
# account's orders are cut into batches of at most BATCH.
cc -O2 -o "$T/gencsr" "$ROOT/scripts/gencsr.c" -lcrypto 2>/dev/null || die "gencsr does not build"
"$T/gencsr" p256 "$ORDERS" "$T/csr.pem" 2 || die "gencsr failed"
mkdir -p "$T/batches"
awk -v n="$ORDERS" -v na="$ACCOUNTS" -v bs="$BATCH" -v dir="$T/batches" '
function close_batch() {
	if (file != "") { print "</batch>" >file; close(file); file = "" }
}
/BEGIN CERTIFICATE REQUEST/ { pem = $0 "\n"; next }
/END CERTIFICATE REQUEST/ {
	pem = pem $0
	k++
	a = 1 + (k - 1) % na
	cnt[a]++
	b = int((cnt[a] - 1) / bs) + 1
	if (cur[a] != b) {
		cur[a] = b
		f = sprintf("%s/A%d-B%03d.xml", dir, a, b)
		print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" >f
		printf "<batch xmlns=\"urn:certspool:batch:1\" id=\"A%d-B%03d\" account=\"acct%d\">\n", a, b, a >f
		print "<attestation officer=\"Pat Lee\" title=\"HR Director\"/>" >f
		files[a] = f
	}
	f = files[a]
	e = sprintf("u%05d@a%d.example", k, a)
	printf "<order id=\"O%05d\"><product>secure_email_organization</product>" \
	    "<organization>Org %d Inc</organization><signatureHash>sha384</signatureHash>" \
	    "<validity><years>1</years></validity><autoRenew>0</autoRenew>" \
	    "<recipient><commonName type=\"email\">%s</commonName><email>%s</email>" \
	    "<csr>%s</csr></recipient><agreement accepted=\"true\"/></order>\n", \
	    k, a, e, e, pem >f
	next
}
{ pem = pem $0 "\n" }
END { for (a in files) print "</batch>" >files[a] }' "$T/csr.pem"
# (awk closes every batch but the last of each account only at exit:
# the batches of one account are written in order, so the last line
# above ends exactly the open ones.)
for f in "$T"/batches/*.xml; do
	tail -n 1 "$f" | grep -q '^</batch>$' || echo "</batch>" >>"$f"
done
NBATCH=$(ls "$T"/batches/*.xml | wc -l)
mapfile -t BATCHES < <(ls "$T"/batches/*.xml | awk -v s="$SEED" 'BEGIN{srand(s)} {print rand() "\t" $0}' | sort -n | cut -f2)
for f in "${BATCHES[@]}"; do
	xmllint --noout "$f" 2>/dev/null || die "batch $f is not well-formed"
done

drop() {	# drop FILE: into its account's inbound directory (.part, rename)
	b=$(basename "$1" .xml)
	a=acct${b%%-*}; a=acct${a#acctA}
	cp "$1" "$S/inbound/$a/$b.xml.part" && mv "$S/inbound/$a/$b.xml.part" "$S/inbound/$a/$b.xml"
}

# ---------------------------------------------------------------- nodes
declare -a NODEPID
start_node() {	# start_node N
	# Not through cs(): $! must be the daemon, not a subshell.
	"$BIN" --config "$T/certspool.conf" daemon >>"$T/node$1.log" 2>&1 &
	NODEPID[$1]=$!
	PIDS+=("$!")
}
for n in 1 2 3; do start_node "$n"; done

# The plan: at which seconds node 1 is killed, node 2 paused (and for
# how long, always past the lease), and certificates revoked.
now() { date +%s; }
T0=$(now)
PLAN_KILL=()
# (in order, at least 3 s apart: a node killed again before it joined
# tests nothing more)
for ((i = 0, k = 0; i < KILLS; i++)); do k=$(( k + 3 + RANDOM % 10 )); PLAN_KILL+=("$k"); done
PLAN_PAUSE=()
for ((i = 0; i < PAUSES; i++)); do PLAN_PAUSE+=($(( 4 + RANDOM % 10 + i * 25 ))); done
echo "plan: kills at ${PLAN_KILL[*]} s, pauses at ${PLAN_PAUSE[*]} s (node 1, node 2)"

touch "$T/crl-seen"
watch_crls() {	# one line per CRL file seen: name|number|sha256
	for f in "$CRLDIR"/*.crl; do
		# one read: the number and the hash of the same content
		cp "$f" "$T/crl-copy" 2>/dev/null || continue
		num=$(openssl crl -inform DER -in "$T/crl-copy" -noout -crlnumber 2>/dev/null | sed 's/.*=//')
		h=$(sha256sum <"$T/crl-copy" | cut -c1-64)
		echo "$(basename "$f")|${num:-unreadable}|$h"
	done >>"$T/crl-seen"
}

revoked_plan=0
revoke_some() {	# revoke one issued certificate (cessationOfOperation)
	s=$(sql "SELECT serial FROM certificate WHERE state = 'issued' AND revoked_at IS NULL AND der IS NOT NULL ORDER BY random() LIMIT 1")
	[ -n "$s" ] || return 0
	if cs revoke --serial "$s" --reason cessationOfOperation >/dev/null 2>>"$T/revoke.err"; then
		revoked_plan=$((revoked_plan + 1))
	fi
}

final() {	# every order final and every batch's last pass written
	n=$(sql "SELECT count(*) FROM orders WHERE state IN ('issued', 'rejected', 'cancelled')")
	[ "$n" = "$ORDERS" ] || return 1
	d=$(sql "SELECT count(*) FROM batch WHERE dirty = 1")
	[ "$d" = 0 ] || return 1
	o=$(sql "SELECT count(*) FROM pass WHERE state <> 'written'")
	[ "$o" = 0 ] || return 1
	c=$(sql "SELECT count(*) FROM crl_shard_state WHERE dirty = 1")
	[ "$c" = 0 ] || return 1
	# every certificate is in a pass (its archive)
	p=$(sql "SELECT count(*) FROM certificate WHERE pass_id IS NULL")
	[ "$p" = 0 ]
}

dropped=0
kill_i=0
pause_i=0
paused_until=0
kills_done=0
pauses_done=0
lost_seen=0
last_revoke=0
while :; do
	t=$(( $(now) - T0 ))
	# batches: a few every second, in the seed's order
	for ((j = 0; j < 2 && dropped < NBATCH; j++)); do
		drop "${BATCHES[$dropped]}" || bad "drop ${BATCHES[$dropped]}"
		dropped=$((dropped + 1))
	done
	if [ "$kill_i" -lt "${#PLAN_KILL[@]}" ] && [ "$t" -ge "${PLAN_KILL[$kill_i]}" ]; then
		kill -KILL "${NODEPID[1]}" 2>/dev/null
		wait "${NODEPID[1]}" 2>/dev/null
		echo "--- SIGKILL at ${t}s" >>"$T/node1.log"
		kills_done=$((kills_done + 1))
		kill_i=$((kill_i + 1))
		sleep 0.$((RANDOM % 10))
		start_node 1
	fi
	if [ "$pause_i" -lt "${#PLAN_PAUSE[@]}" ] && [ "$paused_until" -eq 0 ] &&
	    [ "$t" -ge "${PLAN_PAUSE[$pause_i]}" ]; then
		kill -STOP "${NODEPID[2]}"
		paused_until=$(( $(now) + LEASE * 2 + 1 + RANDOM % 3 ))
		echo "--- SIGSTOP at ${t}s until $((paused_until - T0))s" >>"$T/node2.log"
		pause_i=$((pause_i + 1))
	fi
	if [ "$paused_until" -ne 0 ] && [ "$(now)" -ge "$paused_until" ]; then
		kill -CONT "${NODEPID[2]}"
		echo "--- SIGCONT at ${t}s" >>"$T/node2.log"
		paused_until=0
		pauses_done=$((pauses_done + 1))
	fi
	if [ "$t" -ge $((last_revoke + 3)) ] && [ "$revoked_plan" -lt 12 ]; then
		revoke_some
		last_revoke=$t
	fi
	watch_crls
	if [ "$dropped" -ge "$NBATCH" ] && [ "$kill_i" -ge "${#PLAN_KILL[@]}" ] &&
	    [ "$paused_until" -eq 0 ] &&
	    [ "$pauses_done" -ge "$PAUSES" ] && [ "$revoked_plan" -ge 3 ] && final; then
		break
	fi
	if [ "$t" -ge "$TIMEOUT" ]; then
		bad "not finished after ${TIMEOUT}s (orders final: $(sql "SELECT count(*) FROM orders WHERE state IN ('issued','rejected','cancelled')")/$ORDERS, open passes: $(sql "SELECT count(*) FROM pass WHERE state <> 'written'"), dirty batches: $(sql "SELECT count(*) FROM batch WHERE dirty = 1"))"
		break
	fi
	sleep 0.5
done
# Let the duty node publish what the last revocations changed.
sleep 2
watch_crls
echo "run: $(( $(now) - T0 ))s, $kills_done SIGKILLs, $pauses_done pauses, $revoked_plan revocations"

# Every node ends cleanly; each must exit 0 on SIGTERM.
for n in 1 2 3; do
	kill -CONT "${NODEPID[$n]}" 2>/dev/null
	kill -TERM "${NODEPID[$n]}" 2>/dev/null
done
for n in 1 2 3; do
	wait "${NODEPID[$n]}"
	check_eq "node $n stops with status 0 on SIGTERM" 0 $?
done
PIDS=()
watch_crls

# ---------------------------------------------------------------- checks
check_eq "SIGKILLs done" "$KILLS" "$kills_done"
check_eq "pauses done" "$PAUSES" "$pauses_done"
if [ "$PAUSES" -gt 0 ]; then
	n=$(grep -c 'lease lost' "$T/node2.log")
	[ "$n" -ge 1 ] && ok || bad "the paused node never found its lease lost"
fi
check_eq "node rows (one per join in the logs)" "$(cat "$T"/node*.log | grep -c ': joined, lease')" \
    "$(sql "SELECT count(*) FROM node")"
# (a node SIGKILLed just before is alive until its lease runs out)
sleep $((LEASE + 1))
check_eq "nodes alive after the clean stops and one lease" 0 \
    "$(sql "SELECT count(*) FROM node WHERE expires >= extract(epoch FROM now())")"
check_eq "accounts held by a node that stopped cleanly" 0 \
    "$(sql "SELECT count(*) FROM account a JOIN node n ON n.id = a.lease_node WHERE n.id IN ($(cat "$T"/node*.log | sed -n 's/.*info: node \([0-9]*\): left; its accounts are free.*/\1/p' | tr '\n' ',')0)")"
check_eq "nodes that left on SIGTERM" 3 "$(cat "$T"/node*.log | grep -c 'left; its accounts are free')"
# One "certificate issued" message per certificate (mail/cert-SERIAL.eml:
# a retry replaces it, a node that lost its lease leaves no other).
check_eq "certificate messages" "$(sql "SELECT count(*) FROM certificate")" \
    "$(ls "$S/mail" | grep -c '^cert-.*\.eml$')"
check_eq "certificate messages of serials the database does not have" "" \
    "$(comm -13 <(sql "SELECT lower(serial) FROM certificate" | sort) \
    <(ls "$S/mail" | sed -n 's/^cert-\(.*\)\.eml$/\1/p' | tr 'A-F' 'a-f' | sort) | head -n 3)"
check_eq "orders issued" "$ORDERS" "$(sql "SELECT count(*) FROM orders WHERE state = 'issued'")"
check_eq "certificate rows" "$ORDERS" "$(sql "SELECT count(*) FROM certificate")"
check_eq "recipients with more than one certificate" 0 \
    "$(sql "SELECT count(*) FROM (SELECT recipient_id FROM certificate GROUP BY recipient_id HAVING count(*) > 1) x")"
check_eq "recipients without a certificate" 0 \
    "$(sql "SELECT count(*) FROM recipient r WHERE NOT EXISTS (SELECT 1 FROM certificate c WHERE c.recipient_id = r.id)")"
check_eq "distinct serials" "$ORDERS" "$(sql "SELECT count(DISTINCT serial) FROM certificate")"
check_eq "certificates not issued or revoked" 0 \
    "$(sql "SELECT count(*) FROM certificate WHERE state NOT IN ('issued', 'revoked') OR der IS NULL")"
check_eq "debits per certificate (certificates without exactly one)" 0 \
    "$(sql "SELECT count(*) FROM certificate c WHERE (SELECT count(*) FROM ledger l WHERE l.recipient_id = c.recipient_id AND l.kind = 'debit') <> 1")"
check_eq "debit rows" "$ORDERS" "$(sql "SELECT count(*) FROM ledger WHERE kind = 'debit'")"
check_eq "refunds" 0 "$(sql "SELECT count(*) FROM ledger WHERE kind = 'refund'")"
check_eq "balances equal the ledger" 0 \
    "$(sql "SELECT count(*) FROM account a WHERE a.balance <> (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.account_id = a.id AND kind IN ('deposit', 'debit', 'refund'))" 2>&1)"
check_eq "revocations in the database" "$revoked_plan" "$(sql "SELECT count(*) FROM certificate WHERE revoked_at IS NOT NULL")"

# The database's view, for the file checks.
sql "SELECT a.name, b.ext_id, o.ext_id, r.email, c.serial, c.state
     FROM certificate c JOIN recipient r ON r.id = c.recipient_id
     JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id
     JOIN account a ON a.id = b.account_id" >"$T/db-certs.txt"
sql "SELECT a.name, b.ext_id, (SELECT max(seq) FROM pass p WHERE p.batch_id = b.id),
     (SELECT count(*) FROM orders o WHERE o.batch_id = b.id)
     FROM batch b JOIN account a ON a.id = b.account_id" >"$T/db-batches.txt"
sql "SELECT serial FROM certificate WHERE revoked_at IS NOT NULL" >"$T/db-revoked.txt"
sql "SELECT issuer_id, shard, number FROM crl_shard_state" >"$T/db-crl.txt"
check_eq "batches in the database" "$NBATCH" "$(wc -l <"$T/db-batches.txt")"

# Every archive listed and extracted; every cert.pem's serial read.
mkdir -p "$T/x"
arch_bad=0
for f in "$S"/outbound/*/*.tar.gz; do
	[ -f "$f" ] || continue
	d=$T/x/$(basename "$(dirname "$f")")/$(basename "$f" .tar.gz)
	mkdir -p "$d"
	bsdtar -xf "$f" -C "$d" 2>/dev/null || { arch_bad=$((arch_bad + 1)); echo "unreadable archive: $f"; }
done
check_eq "archives readable" 0 "$arch_bad"
check_eq "temporary files left in outbound/" "" \
    "$(find "$S/outbound" -name '.*' -type f | head -n 3)"
check_eq "error documents in outbound/" "" "$(find "$S/outbound" -name '*.error.xml' | head -n 3)"

cat >"$T/check.py" <<'EOF'
import glob, hashlib, os, subprocess, sys
import xml.etree.ElementTree as ET

T, S = sys.argv[1], sys.argv[2]
NS = "{urn:certspool:result:1}"
fails = []
passes = 0
def check(ok, what):
    global passes
    if ok:
        passes += 1
    else:
        fails.append(what)

db = {}  # email -> (account, batch, order, serial, state)
for line in open(os.path.join(T, "db-certs.txt")):
    acct, batch, order, email, serial, state = line.rstrip("\n").split("|")
    db[email] = (acct, batch, order, serial.upper(), state)
batches = {}
for line in open(os.path.join(T, "db-batches.txt")):
    acct, batch, seq, norders = line.rstrip("\n").split("|")
    batches[(acct, batch)] = (int(seq or 0), int(norders))

# Archives: every cert.pem, its serial and hash.
seen = {}  # email -> list of (archive, serial, sha256)
pems = []
for path in glob.glob(os.path.join(T, "x", "*", "*", "*", "*", "cert.pem")):
    parts = path.split(os.sep)
    acct, arch, order, email = parts[-5], parts[-4], parts[-3], parts[-2]
    pems.append((acct, arch, order, email, path))
# One openssl run for all of them (storeutl reads concatenated PEM).
allpem = os.path.join(T, "all-certs.pem")
with open(allpem, "wb") as out:
    for p in pems:
        out.write(open(p[4], "rb").read())
txt = subprocess.run(["openssl", "storeutl", "-noout", "-text", "-certs", allpem],
                     capture_output=True, text=True).stdout
serials = []
lines = txt.splitlines()
for i, l in enumerate(lines):
    if l.strip() == "Serial Number:":
        serials.append(lines[i + 1].strip().replace(":", "").upper())
    elif l.strip().startswith("Serial Number:") and "(" in l:
        serials.append(format(int(l.split(":")[1].split("(")[0]), "X"))
check(len(serials) == len(pems), "openssl read %d of %d cert.pem" % (len(serials), len(pems)))
for (acct, arch, order, email, path), serial in zip(pems, serials):
    h = hashlib.sha256(open(path, "rb").read()).hexdigest()
    seen.setdefault(email, []).append((acct, arch, order, serial.lstrip("0"), h))

dup = [e for e, v in seen.items() if len(v) != 1]
check(not dup, "recipients in more than one archive: %s" % dup[:5])
missing = [e for e in db if e not in seen]
check(not missing, "%d issued recipients in no archive: %s" % (len(missing), missing[:5]))
extra = [e for e in seen if e not in db]
check(not extra, "archived recipients unknown to the database: %s" % extra[:5])
wrong = [e for e, v in seen.items() if e in db and
         (v[0][3] != db[e][3].lstrip("0") or v[0][0] != db[e][0] or v[0][2] != db[e][2])]
check(not wrong, "archived certificate differs from the database (serial, account, order): %s" % wrong[:5])

# Results: every result parses; each batch's last one reports every
# order issued; every issued recipient in a result matches its archive.
in_result = {}  # email -> (serial, sha256, archive)
bad_xml = []
for path in glob.glob(os.path.join(S, "outbound", "*", "*.result.xml")):
    acct = path.split(os.sep)[-2]
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        bad_xml.append("%s: %s" % (path, e))
        continue
    if root.tag != NS + "result":
        continue
    arch = root.get("archive")
    if arch:
        check(os.path.exists(os.path.join(S, "outbound", acct, arch)),
              "%s names a missing archive %s" % (path, arch))
    for o in root.iter(NS + "order"):
        for r in o.iter(NS + "recipient"):
            # issued, or already revoked when the result was written
            # ("cancelled" with the serial and hash of its certificate)
            if r.get("serial") and r.get("sha256"):
                e = r.get("email")
                prev = in_result.get(e)
                cur = (r.get("serial", "").upper().lstrip("0"), r.get("sha256"), arch)
                if prev and prev[0] != cur[0]:
                    bad_xml.append("%s: two serials in results (%s, %s)" % (e, prev[0], cur[0]))
                if not prev or arch:
                    in_result[e] = cur
check(not bad_xml, "results: %s" % bad_xml[:5])
for (acct, batch), (seq, norders) in batches.items():
    path = os.path.join(S, "outbound", acct, "%s.%d.result.xml" % (batch, seq))
    if not os.path.exists(path):
        check(False, "last result of %s/%s missing (%s)" % (acct, batch, path))
        continue
    root = ET.parse(path).getroot()
    orders = list(root.iter(NS + "order"))
    states = [o.get("state") for o in orders]
    check(len(orders) == norders and all(s == "issued" for s in states),
          "%s: %d orders reported of %d, states %s" % (path, len(orders), norders, sorted(set(states))))
mism = []
for e, v in seen.items():
    r = in_result.get(e)
    if r is None:
        mism.append("%s: in no result" % e)
    elif r[0] != v[0][3] or r[1] != v[0][4] or r[2] != v[0][1] + ".tar.gz":
        mism.append("%s: result says %s, archive %s has %s" % (e, r, v[0][1], v[0][3:]))
check(not mism, "archive and result disagree: %d, e.g. %s" % (len(mism), mism[:3]))

# CRLs: numbers per file never going down, one content per number
# across the files of one issuer; the last CRLs list exactly the
# revoked serials.
bynum = {}
lastnum = {}
bad_crl = []
for line in open(os.path.join(T, "crl-seen")):
    name, num, h = line.rstrip("\n").split("|")
    if num == "unreadable":
        bad_crl.append("%s unreadable" % name)
        continue
    n = int(num, 16)
    if name in lastnum and n < lastnum[name][0]:
        bad_crl.append("%s: number %d after %d" % (name, n, lastnum[name][0]))
    if name in lastnum and n == lastnum[name][0] and h != lastnum[name][1]:
        bad_crl.append("%s: number %d with two contents" % (name, n))
    lastnum[name] = (n, h)
    key = n
    if key in bynum and bynum[key] != (name, h):
        bad_crl.append("number %d on %s and %s" % (n, bynum[key][0], name))
    bynum[key] = (name, h)
check(not bad_crl, "CRLs: %s" % bad_crl[:5])
check(len(lastnum) > 0, "no CRL published")
listed = set()
for name in lastnum:
    out = subprocess.run(["openssl", "crl", "-inform", "DER", "-in",
                          os.path.join(sys.argv[3], name), "-noout", "-text"],
                         capture_output=True, text=True).stdout
    for l in out.splitlines():
        l = l.strip()
        if l.startswith("Serial Number:"):
            listed.add(l.split(":", 1)[1].strip().upper().lstrip("0"))
revoked = set(l.strip().upper().lstrip("0") for l in open(os.path.join(T, "db-revoked.txt")) if l.strip())
check(listed == revoked, "last CRLs list %d serials, the database has %d revoked (missing %s, extra %s)"
      % (len(listed), len(revoked), sorted(revoked - listed)[:3], sorted(listed - revoked)[:3]))
for f in fails:
    print("FAIL: " + f)
print("check.py: %d passed, %d failed" % (passes, len(fails)))
EOF
out=$(python3 "$T/check.py" "$T" "$S" "$CRLDIR" 2>&1)
echo "$out" | grep -v '^check.py:'
p=$(echo "$out" | sed -n 's/^check.py: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^check.py: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
if [ -z "$p" ]; then bad "check.py did not finish"; else pass=$((pass + p)); fail=$((fail + f)); fi

# Each node's log: no fatal line, and the takeovers happened.
check_eq "error lines in the nodes' logs (other than the lost leases)" "" \
    "$(grep -h ' error ' "$T"/node*.log | grep -v 'lease' | head -n 5)"
finish
