#!/bin/bash
# scripts/torture.sh: crash torture for certspool (make torture, make
# torture-smoke, tests/e2e/t64-torture-smoke.sh).
#
# A spool with two accounts, each with a validated organization and
# domain, receives TORTURE_ORDERS orders (distinct ECC P-256 keys, cached
# under tests/tmp/torture-csr): first one big batch, then small batches,
# csrSubmissions for <csrLater/> recipients and a few inputs that must be
# refused, dropped between daemon runs to keep work flowing.  The mix
# covers every product, server-generated keys (<keygen>), mailbox
# validation (confirmed from the mail spool between runs) and orders
# that must be rejected (no agreement, unknown organization, no
# attestation, a CSR with a bad signature).  Revocation documents go in
# too, built from what is issued at the time: leavers by mailbox, by
# order and by serial, a keyCompromise, requests with a future `at`
# (they must stay pending: the clock is never moved) and requests that
# select nothing (not_found); the CRLs are partitioned (crl_shards 2 or
# 4, from the seed).
#
# The daemon is killed TORTURE_KILLS times with SIGKILL: at each named
# crash point compiled into the binary (CERTSPOOL_CRASH_AT=name:N with
# varying N, so kills land after the N-th chunk / group / entry / mail),
# at random moments of `daemon --once` runs, and at random moments of a
# live `daemon` while files arrive.  After every run the invariants that
# must hold at any instant are checked (crash state); after every run
# that finished, the restart invariants too (recovery complete); after a
# final drain (daemon --once until nothing changes), the final ones.  The
# checks are in the Python program written out below (check.py); for
# revocation and CRLs: no revocation lost (every selector of an archived
# document revoked, pending or not_found as planned), results never
# contradicted, every CRL file whole and verifying under the chain, CRL
# numbers never going down nor reused for other content across all
# shards, and once a run finished each shard's CRL lists exactly the
# revoked certificates of that shard.
#
# Environment: TORTURE_ORDERS (500), TORTURE_KILLS (200), TORTURE_SEED
# (random; printed, rerun with it to replay the same plan),
# TORTURE_WORKERS (2), TORTURE_P12_ITERATIONS (2048), TORTURE_CACHE,
# CERTSPOOL_BIN (./certspool), CERTSPOOL_WRAP (e.g. valgrind ...), KEEP=1
# keeps the work directory.
# Output ends with "N passed, M failed"; exit 0 only if nothing failed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CERTSPOOL_BIN:-$ROOT/certspool}
ORDERS=${TORTURE_ORDERS:-500}
KILLS=${TORTURE_KILLS:-200}
WORKERS=${TORTURE_WORKERS:-2}
P12_ITER=${TORTURE_P12_ITERATIONS:-2048}
SEED=${TORTURE_SEED:-$(( ($(date +%s) ^ $$) % 32768 ))}
CACHE=${TORTURE_CACHE:-$ROOT/tests/tmp/torture-csr}
export CERTSPOOL_SCHEMA_DIR=${CERTSPOOL_SCHEMA_DIR:-$ROOT/schemas}
unset CERTSPOOL_CRASH_AT CERTSPOOL_NOW
RANDOM=$SEED

[ -x "$BIN" ] || { echo "torture: $BIN not built"; echo "0 passed, 1 failed"; exit 1; }
for tool in sqlite3 bsdtar xmllint openssl python3 sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "torture: $tool missing (make deps)"; echo "0 passed, 1 failed"; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/certspool-torture.XXXXXX")
S=$T/spool
LOG=$T/daemon.log
fail_total=0
cleanup() {
	if [ "$fail_total" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		[ -n "${KEPT_SAID:-}" ] || echo "work directory kept: $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

# CERTSPOOL_WRAP, if set, runs every invocation under a wrapper (make
# valgrind: CERTSPOOL_WRAP="valgrind ..."), as in tests/lib.sh.
# TORTURE_RUN tells the wrapper what a run is: "crashpoint" when it kills
# itself at a named point (valgrind then reports what was live as lost:
# not a leak), "run" otherwise.
WRAP=${CERTSPOOL_WRAP:-}
export TORTURE_RUN=run
cs() { $WRAP "$BIN" --config "$T/certspool.conf" "$@"; }
sql() { sqlite3 -batch -noheader "$T/certspool.db" "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---------------------------------------------------------------- setup
$WRAP "$BIN" init "$T" >/dev/null || { echo "torture: init failed"; echo "0 passed, 1 failed"; exit 1; }
sed -i -e 's/^settle_seconds = .*/settle_seconds = 0/' \
    -e 's/^poll_seconds = .*/poll_seconds = 1/' \
    -e "s/^workers = .*/workers = $WORKERS/" \
    -e "s/^p12_iterations = .*/p12_iterations = $P12_ITER/" "$T/certspool.conf"
# Partitioned CRLs: 2 or 4 shards, from the seed.
SHARDS=$(( SEED % 2 ? 4 : 2 ))
sed -i -e "s|^crl_url = .*|crl_url = http://crl.torture.invalid/torture-{shard}.crl|" \
    -e "s/^crl_shards = .*/crl_shards = $SHARDS/" "$T/certspool.conf"
grep -q "^crl_shards = $SHARDS\$" "$T/certspool.conf" || {
	echo "torture: cannot set crl_shards"; echo "0 passed, 1 failed"; exit 1; }

. "$ROOT/tests/org.sh"	# validated_org, mail_token
ACCTS=(acme beta)
declare -A ORGNAME=([acme]="Acme Corp" [beta]="Beta GmbH")
declare -A DOMAIN=([acme]=acme.example [beta]=beta.example)
for a in "${ACCTS[@]}"; do
	cs account add "$a" --contract "TORTURE-$a" --units 1000000 >/dev/null &&
	    validated_org "$a" "${ORGNAME[$a]}" "${DOMAIN[$a]}" >/dev/null || {
		echo "torture: setup of account $a failed"; echo "0 passed, 1 failed"; exit 1; }
done

# ---------------------------------------------------------------- the plan
# Order i (1..ORDERS) is derived from i alone:
#   i%100 ==  7  agreement accepted="false"        -> agreement_not_accepted
#   i%100 == 23  organization of no one            -> unknown_organization
#   i%100 == 41  sponsor product, no attestation   -> attestation_missing
#   i%100 == 77  CSR whose signature is bad        -> csr_bad_signature
#   i%31  == 11  secure_email_individual (mailbox validation by mail)
#   i%7          the product / commonName kind otherwise
#   i%17  ==  3  first recipient <csrLater/> (CSR sent in a csrSubmission)
#   i%13  ==  5  first recipient <keygen algorithm="ecc-p256"/>
#   i%9   ==  4  a second recipient
reject_reason() {
	case $(( $1 % 100 )) in
	7) echo agreement_not_accepted ;;
	23) echo unknown_organization ;;
	41) echo attestation_missing ;;
	77) echo csr_bad_signature ;;
	*) echo "" ;;
	esac
}
is_individual() { [ -z "$(reject_reason "$1")" ] && [ $(( $1 % 31 )) -eq 11 ]; }
is_later() { [ -z "$(reject_reason "$1")" ] && ! is_individual "$1" && [ $(( $1 % 17 )) -eq 3 ]; }
is_keygen() { [ -z "$(reject_reason "$1")" ] && ! is_later "$1" && [ $(( $1 % 13 )) -eq 5 ]; }
has_second() { [ $(( $1 % 9 )) -eq 4 ] && [ $(( $1 % 100 )) -ne 77 ]; }

# CSRs needed: every recipient with a key of its own.
need=0
for ((i = 1; i <= ORDERS; i++)); do
	if ! is_keygen "$i" && [ $(( i % 100 )) -ne 77 ]; then need=$((need + 1)); fi
	if has_second "$i"; then need=$((need + 1)); fi
done
mkdir -p "$CACHE"
have=$(ls "$CACHE" 2>/dev/null | grep -c '^csr-[0-9]*\.pem$')
if [ "$have" -lt "$need" ]; then
	t0=$(date +%s)
	seq 0 $((need - 1)) | while read -r n; do
		[ -s "$CACHE/csr-$n.pem" ] || echo "$n"
	done | xargs -r -P "$(nproc)" -n 16 sh -c 'for n; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout /dev/null -subj "/CN=torture-$n" \
		    -out "'"$CACHE"'/.csr-$n.tmp" 2>/dev/null &&
		    mv "'"$CACHE"'/.csr-$n.tmp" "'"$CACHE"'/csr-$n.pem"
	done' sh
	echo "torture: generated $((need - have)) P-256 CSRs in $(( $(date +%s) - t0 ))s (cached in $CACHE)"
fi
BADSIG=$ROOT/tests/data/csr/bad_signature.pem

GIVEN=(Ana Ben Cora Dev Eli Fay Gus Hana Ivo Jin Kai Lina)
SURN=(Lee Diaz Moro Novak Okafor Park Quinn Ruiz Sato Tran Ueda Vidal)
EXPECT=$T/expect.txt
: >"$EXPECT"
NEXT_CSR=0
declare -A SUB_BODY SUB_ACCT

# rcpt I ACCT SUFFIX CNKIND KEYKIND: one <recipient>; KEYKIND csr|later|keygen|bad
rcpt() {
	local i=$1 a=$2 sfx=$3 cnk=$4 kk=$5 e g s
	e="u$i$sfx@${DOMAIN[$a]}"
	echo "<recipient>"
	case $cnk in
	email) echo "<commonName type=\"email\">$e</commonName>" ;;
	organization) echo "<commonName type=\"organization\">${ORGNAME[$a]}</commonName>" ;;
	name|email+name)
		g=${GIVEN[$(( i % ${#GIVEN[@]} ))]}
		s=${SURN[$(( (i / ${#GIVEN[@]} + ${#sfx}) % ${#SURN[@]} ))]}
		if [ "$cnk" = name ]; then
			echo "<commonName type=\"name\">$g $s</commonName>"
		else
			echo "<commonName type=\"email\">$e</commonName>"
		fi
		echo "<givenName>$g</givenName><surname>$s</surname>" ;;
	esac
	echo "<email>$e</email>"
	case $kk in
	csr) echo "<csr>$(cat "$CACHE/csr-$NEXT_CSR.pem")</csr>"; NEXT_CSR=$((NEXT_CSR + 1)) ;;
	bad) echo "<csr>$(cat "$BADSIG")</csr>" ;;
	keygen) echo '<keygen algorithm="ecc-p256"/>' ;;
	later)
		echo '<csrLater/>'
		SUB_BODY[$CUR_BATCH]+="<csr order=\"O$i\" email=\"$e\">$(cat "$CACHE/csr-$NEXT_CSR.pem")</csr>
"
		NEXT_CSR=$((NEXT_CSR + 1)) ;;
	esac
	echo "</recipient>"
	echo "rcpt $a O$i $e $kk" >>"$EXPECT"
}

# order I ACCT
order() {
	local i=$1 a=$2 why prod cnk attest=1 org=${ORGNAME[$a]} kk=csr agree=true
	why=$(reject_reason "$i")
	case $(( i % 7 )) in
	0) prod=secure_email_organization cnk=email attest=0 ;;
	1) prod=secure_email_business cnk=name ;;
	2) prod=premium cnk=name ;;
	3) prod=email_security_plus cnk=email+name ;;
	4) prod=digital_signature_plus cnk=name ;;
	5) prod=secure_email_organization cnk=organization attest=0 ;;
	6) prod=secure_email_business cnk=email+name ;;
	esac
	if is_individual "$i"; then prod=secure_email_individual cnk=email attest=0 org=""; fi
	case $why in
	agreement_not_accepted) agree=false ;;
	unknown_organization) org="Nobody Holdings" ;;
	attestation_missing) prod=secure_email_business cnk=email+name attest=0 ;;
	csr_bad_signature) prod=secure_email_organization cnk=email attest=0 kk=bad ;;
	esac
	is_later "$i" && kk=later
	is_keygen "$i" && kk=keygen
	echo "<order id=\"O$i\"><product>$prod</product>"
	[ -n "$org" ] && echo "<organization>$org</organization>"
	if [ $(( i % 11 )) -eq 0 ]; then echo "<validity><years>2</years></validity>"
	elif [ $(( i % 19 )) -eq 0 ]; then echo "<validity><days>397</days></validity>"
	else echo "<validity><years>1</years></validity>"; fi
	[ "$attest" -eq 1 ] && echo '<attestation officer="Pat Lee" title="HR Director"/>'
	rcpt "$i" "$a" "" "$cnk" "$kk"
	has_second "$i" && rcpt "$i" "$a" b "$cnk" csr
	echo "<agreement accepted=\"$agree\"/></order>"
	echo "order $a O$i ${why:-issued}" >>"$EXPECT"
}

# gen_batch B ACCT FIRST LAST: write $T/gen/TB<B>.xml (and its csrSubmission)
mkdir -p "$T/gen"
gen_batch() {
	local b=$1 a=$2 i
	CUR_BATCH=$b
	SUB_BODY[$b]=""
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"TB$b\" account=\"$a\" created=\"2026-11-24T22:00:00Z\">"
		for ((i = $3; i <= $4; i++)); do order "$i" "$a"; done
		echo '</batch>'
	} >"$T/gen/TB$b.xml.tmp"
	# rcpt() ran in this shell (no subshell for the loop body's output
	# redirect of a group), so SUB_BODY is filled.
	mv "$T/gen/TB$b.xml.tmp" "$T/gen/TB$b.xml"
	echo "batch $a TB$b $(( $4 - $3 + 1 ))" >>"$EXPECT"
	if [ -n "${SUB_BODY[$b]}" ]; then
		SUB_ACCT[$b]=$a
		{
			echo '<?xml version="1.0" encoding="UTF-8"?>'
			echo "<csrSubmission xmlns=\"urn:certspool:batch:1\" account=\"$a\">"
			printf '%s' "${SUB_BODY[$b]}"
			echo '</csrSubmission>'
		} >"$T/gen/SUB$b.xml"
	fi
}

# drop KIND ACCT FILE NAME: deliver as a client would (.part, rename);
# KIND valid (must end in archive/) or hostile (must end in rejected/).
NDROPS=0
drop() {
	cp "$3" "$S/inbound/$2/$4.part" && mv "$S/inbound/$2/$4.part" "$S/inbound/$2/$4"
	echo "drop $1 $2 $(sha256sum <"$3" | cut -c1-64) $4" >>"$EXPECT"
	NDROPS=$((NDROPS + 1))
}
NB=0
NEXT_ORDER=1
drop_batch() {	# drop_batch NORDERS
	local n=$1 a
	[ "$NEXT_ORDER" -le "$ORDERS" ] || return 1
	[ $((NEXT_ORDER + n - 1)) -le "$ORDERS" ] || n=$((ORDERS - NEXT_ORDER + 1))
	NB=$((NB + 1))
	a=${ACCTS[$(( NB % 2 ))]}
	gen_batch "$NB" "$a" "$NEXT_ORDER" $((NEXT_ORDER + n - 1))
	NEXT_ORDER=$((NEXT_ORDER + n))
	drop valid "$a" "$T/gen/TB$NB.xml" "TB$NB.xml"
}
# A csrSubmission goes out once its batch is stored (else it would name
# recipients that do not exist yet and be refused whole).
drop_ready_subs() {
	local b
	for b in "${!SUB_ACCT[@]}"; do
		[ "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'TB$b'")" = 1 ] || continue
		drop valid "${SUB_ACCT[$b]}" "$T/gen/SUB$b.xml" "SUB$b.xml"
		unset "SUB_ACCT[$b]"
	done
}
# Mailbox validation: confirm every token mailed to a mailbox, once per
# message content (a message written in a rolled-back transaction carries
# a token no row has; confirm refuses it, which is right).
: >"$T/confirmed"
DCV_OK=0
confirm_dcv() {
	local f key tok
	for f in "$S"/mail/dcv-*-mailbox.eml; do
		[ -f "$f" ] || continue
		key="$(basename "$f"):$(sha256sum <"$f" | cut -c1-16)"
		grep -qxF "$key" "$T/confirmed" && continue
		echo "$key" >>"$T/confirmed"
		tok=$(tr -d '\r' <"$f" | sed -n 's/.*certspool domain confirm \([A-Za-z0-9_-]*\).*/\1/p' | head -n 1)
		[ -n "$tok" ] && cs domain confirm "$tok" >/dev/null 2>&1 && DCV_OK=$((DCV_OK + 1))
	done
}
# Inputs that must be refused, dropped now and then in phase 2 (K makes
# each one's name and bytes new).
HOSTILE=(dup_bytes junk dup_id bad_sub badname)
NHOSTILE=0
drop_hostile() {
	local h=$1 k=$NHOSTILE a=${ACCTS[1]}
	NHOSTILE=$((NHOSTILE + 1))
	case $h in
	dup_bytes) drop hostile "$a" "$T/gen/TB1.xml" "again$k-TB1.xml" ;;
	dup_id)
		sed "s|</batch>|<!-- same id, other bytes $k --></batch>|" "$T/gen/TB1.xml" >"$T/gen/dupid$k.xml"
		drop hostile "$a" "$T/gen/dupid$k.xml" "dupid$k-TB1.xml" ;;
	junk)
		printf 'this is not XML %s %s\n' "$SEED" "$k" >"$T/gen/junk$k.xml"
		drop hostile acme "$T/gen/junk$k.xml" "junk$k.xml" ;;
	bad_sub)
		printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		    '<csrSubmission xmlns="urn:certspool:batch:1" account="acme">' \
		    "<csr order=\"O99999$k\" email=\"nobody@acme.example\">$(cat "$CACHE/csr-0.pem")</csr>" \
		    '</csrSubmission>' >"$T/gen/badsub$k.xml"
		drop hostile acme "$T/gen/badsub$k.xml" "badsub$k.xml" ;;
	badname)
		# a valid batch, but its file name is outside [A-Za-z0-9._-]:
		# README: claimed as badname-<hex> and rejected
		printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		    "<batch xmlns=\"urn:certspool:batch:1\" id=\"BADNAME-$SEED-$k\" account=\"$a\">" \
		    "<order id=\"BN$k\"><product>secure_email_organization</product><organization>${ORGNAME[$a]}</organization>" \
		    "<validity><years>1</years></validity><recipient><commonName type=\"email\">bn$k@${DOMAIN[$a]}</commonName>" \
		    "<email>bn$k@${DOMAIN[$a]}</email><keygen algorithm=\"ecc-p256\"/></recipient>" \
		    '<agreement accepted="true"/></order></batch>' >"$T/gen/badname$k.xml"
		drop hostile "$a" "$T/gen/badname$k.xml" "bad name;$k.xml" ;;
	esac
}

# Revocation documents, built from what is issued when they are dropped,
# so that each selector's outcome is known: "rev ACCT ID KIND VALUE BATCH
# REASON EXPECT SERIALS" lines in expect.txt (EXPECT revoked, pending or
# not_found; SERIALS comma-separated, "-" for none).  A certificate is
# aimed at once (T/targeted), so no selector finds it already revoked;
# orders are taken only when all their recipients are issued.
: >"$T/targeted"
NRV=0
FUTURE=2099-01-01T00:00:00Z
drop_revocation() {
	local a=${ACCTS[$(( NRV % 2 ))]} k=$NRV id rows n i row serial email oext bext
	local body="" sers reason
	id="RV$k-$SEED"
	NRV=$((NRV + 1))
	# issued, not revoked, not aimed at, whole order issued
	mapfile -t rows < <(sql "SELECT lower(c.serial), r.email, o.ext_id, b.ext_id
	    FROM certificate c JOIN recipient r ON r.id = c.recipient_id
	    JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id
	    JOIN account ac ON ac.id = b.account_id
	    WHERE ac.name = '$a' AND c.state = 'issued' AND c.revoked_at IS NULL
	    AND NOT EXISTS (SELECT 1 FROM recipient r2 WHERE r2.order_id = o.id
	      AND r2.state != 'issued')
	    ORDER BY c.id" | awk -F'|' -v tf="$T/targeted" '
	    BEGIN { while ((getline l < tf) > 0) t[l] = 1 } !($1 in t)')
	n=${#rows[@]}
	# pick up to five distinct certificates: email, order, serial,
	# keyCompromise by serial, future at by email
	local picks=() used=" "
	for ((i = 0; i < 5 && n > 0; i++)); do
		row=${rows[$(( RANDOM % n ))]}
		case $used in *" ${row%%|*} "*) continue ;; esac
		used="$used${row%%|*} "
		picks+=("$row")
	done
	local kinds=(email order serial key future) j=0
	for row in "${picks[@]}"; do
		IFS='|' read -r serial email oext bext <<<"$row"
		# taken by an order selector of this document
		grep -qxF "$serial" "$T/targeted" && continue
		case ${kinds[$j]} in
		email) reason=affiliationChanged
			body+="<revoke email=\"$email\" reason=\"$reason\"/>
"
			echo "rev $a $id email $email - $reason revoked $serial" >>"$EXPECT"
			echo "$serial" >>"$T/targeted" ;;
		order)
			sers=$(sql "SELECT lower(c.serial) FROM certificate c
			    JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON o.id = r.order_id
			    JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = '$bext'
			    AND o.ext_id = '$oext' AND c.state = 'issued'" | sort)
			if [ -n "$(printf '%s\n' "$sers" | grep -xF -f "$T/targeted")" ]; then
				j=$((j + 1)); continue
			fi
			reason=cessationOfOperation
			body+="<revoke order=\"$oext\" batch=\"$bext\" reason=\"$reason\"/>
"
			echo "rev $a $id order $oext $bext $reason revoked $(echo $sers | tr ' ' ',')" >>"$EXPECT"
			printf '%s\n' "$sers" >>"$T/targeted" ;;
		serial|key)
			reason=privilegeWithdrawn
			[ "${kinds[$j]}" = key ] && reason=keyCompromise
			body+="<revoke serial=\"${serial^^}\" reason=\"$reason\"/>
"
			echo "rev $a $id serial $serial - $reason revoked $serial" >>"$EXPECT"
			echo "$serial" >>"$T/targeted" ;;
		future) reason=affiliationChanged
			body+="<revoke email=\"$email\" reason=\"$reason\" at=\"$FUTURE\"/>
"
			echo "rev $a $id email $email - $reason pending $serial" >>"$EXPECT"
			echo "$serial" >>"$T/targeted" ;;
		esac
		j=$((j + 1))
	done
	# one that selects nothing
	body+="<revoke email=\"gone$k@${DOMAIN[$a]}\" reason=\"affiliationChanged\"/>
"
	echo "rev $a $id email gone$k@${DOMAIN[$a]} - affiliationChanged not_found -" >>"$EXPECT"
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<revocation xmlns=\"urn:certspool:batch:1\" id=\"$id\" account=\"$a\" created=\"2026-12-04T22:00:00Z\">"
		printf '%s' "$body"
		echo '</revocation>'
	} >"$T/gen/$id.xml"
	echo "revdoc $a $id $(sha256sum <"$T/gen/$id.xml" | cut -c1-64)" >>"$EXPECT"
	drop valid "$a" "$T/gen/$id.xml" "$id.xml"
}

# ---------------------------------------------------------------- checks
STATS=$T/stats
: >"$STATS"
cat >"$T/check.py" <<'PYEOF'
# check.py T MODE LABEL: the torture invariants.  MODE: crash (must hold
# at any instant, even right after a SIGKILL), restart (also: recovery
# finished), final (also: everything done).  Appends "name ok|fail" to
# T/stats, prints each failure, and one summary line.
import collections, hashlib, json, os, re, sqlite3, subprocess, sys, tarfile
import xml.etree.ElementTree as ET

T, MODE, LABEL = sys.argv[1], sys.argv[2], sys.argv[3]
S = os.path.join(T, "spool")
CACHE = os.path.join(T, "check-cache.json")
NSR = "{urn:certspool:result:1}"
res = []

def record(name, ok, detail=""):
    res.append((name, ok, detail))

def check(name, bad):
    """bad: a list of problems (empty: passed)."""
    bad = list(bad)
    record(name, not bad, "; ".join(str(b) for b in bad[:5]) +
           (" (+%d more)" % (len(bad) - 5) if len(bad) > 5 else ""))

try:
    cache = json.load(open(CACHE))
except Exception:
    cache = {}

def fkey(p):
    st = os.stat(p)
    return "%d.%d.%d" % (st.st_ino, st.st_size, st.st_mtime_ns)

def listdir(d):
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []

# ---- expectations written by the driver
exp_orders, exp_rcpts, drops, exp_batches = {}, {}, [], {}
exp_rev, exp_revdoc = {}, {}
for line in open(os.path.join(T, "expect.txt")):
    f = line.split()
    if f[0] == "order":
        exp_orders[(f[1], f[2])] = f[3]
    elif f[0] == "rcpt":
        exp_rcpts[(f[1], f[2], f[3])] = f[4]
    elif f[0] == "drop":
        drops.append((f[1], f[2], f[3], " ".join(f[4:])))
    elif f[0] == "batch":
        exp_batches[(f[1], f[2])] = int(f[3])
    elif f[0] == "rev":
        # rev ACCT ID KIND VALUE BATCH REASON EXPECT SERIALS
        exp_rev.setdefault((f[1], f[2]), []).append(
            (f[3], f[4], None if f[5] == "-" else f[5], f[6], f[7],
             [] if f[8] == "-" else f[8].split(",")))
    elif f[0] == "revdoc":
        exp_revdoc[(f[1], f[2])] = f[3]

# ---- database
db = sqlite3.connect(os.path.join(T, "certspool.db"), timeout=30)
q = lambda sql, *a: db.execute(sql, a).fetchall()
accounts = {r[0]: r[1] for r in q("SELECT id, name FROM account")}

ic = q("PRAGMA integrity_check")
check("db_integrity_check_ok", [] if ic == [("ok",)] else [repr(ic[:3])])
check("db_foreign_keys_ok", ["%r" % (r,) for r in q("PRAGMA foreign_key_check")])

check("db_one_live_cert_per_recipient",
      ["recipient %d round %d has %d live certificates" % r for r in
       q("SELECT recipient_id, round, count(*) FROM certificate"
         " WHERE state != 'void' GROUP BY 1, 2 HAVING count(*) > 1")])
# (a revoked certificate's recipient is cancelled: no reissue, no renewal)
check("db_issued_recipient_has_issued_cert",
      ["recipient %d (%s) vs certificate %s" % r for r in
       q("SELECT r.id, r.state, c.serial FROM recipient r LEFT JOIN certificate c"
         " ON c.recipient_id = r.id AND c.state = 'issued'"
         " WHERE (r.state = 'issued' OR (r.state = 'cancelled' AND"
         " r.reason = 'certificate_revoked' AND c.revoked_at IS NOT NULL))"
         " != (c.id IS NOT NULL)")])
n, nd = q("SELECT count(*), count(DISTINCT serial) FROM certificate")[0]
check("db_serials_unique", [] if n == nd else ["%d certificates, %d serials" % (n, nd)])
check("db_issued_event_once",
      ["recipient %d: %d certificate_issued events, issued cert %s" % r for r in
       q("SELECT r.id, (SELECT count(*) FROM event e WHERE e.kind = 'certificate_issued'"
         " AND e.recipient_id = r.id) AS ne, (SELECT count(*) FROM certificate c"
         " WHERE c.recipient_id = r.id AND c.state = 'issued') AS nc"
         " FROM recipient r WHERE ne != nc")])
# a batch is stored whole or not at all
stored = {(accounts[a], e): n for a, e, n in
          q("SELECT b.account_id, b.ext_id, (SELECT count(*) FROM orders o"
            " WHERE o.batch_id = b.id) FROM batch b")}
check("db_batches_stored_whole",
      ["%s/%s: %d of %d orders" % (a, e, stored[(a, e)], n)
       for (a, e), n in exp_batches.items() if (a, e) in stored and stored[(a, e)] != n] +
      ["%s/%s: unexpected batch stored" % k for k in stored if k not in exp_batches])

# recipients by archive path: account/order/email
rkeys = {}
for rid, acct, oext, email, keygen in q(
        "SELECT r.id, b.account_id, o.ext_id, r.email, r.keygen FROM recipient r"
        " JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id"):
    rkeys[rid] = ("%s/%s/%s" % (accounts[acct], oext, email), keygen is not None)
issued = {}	# path -> (serial, pass_id, keygen)
for rid, serial, pid in q("SELECT recipient_id, serial, pass_id FROM certificate"
                          " WHERE state = 'issued'"):
    issued[rkeys[rid][0]] = (serial.lower(), pid, rkeys[rid][1])

# ---- archives
def der_serial(der):
    """serialNumber of a DER certificate (Certificate > TBS > [0]? > INTEGER)."""
    def tl(b, i):
        t = b[i]; i += 1
        l = b[i]; i += 1
        if l & 0x80:
            n = l & 0x7f
            l = int.from_bytes(b[i:i + n], "big"); i += n
        return t, l, i
    t, l, i = tl(der, 0)	# Certificate
    t, l, i = tl(der, i)	# TBSCertificate
    t, l, j = tl(der, i)
    if t == 0xa0:		# [0] version
        i = j + l
        t, l, j = tl(der, i)
    assert t == 0x02
    v = der[j:j + l].hex()
    return v[2:] if v.startswith("00") and len(v) > 2 else v

def pem_der(pem):
    import base64
    m = re.search(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    return base64.b64decode(b"".join(m.group(1).split()))

def scan_archive(p):
    k = fkey(p)
    c = cache.get(p)
    if c and c["key"] == k:
        return c
    c = {"key": k, "ok": False, "err": "", "entries": [], "certs": {}}
    r = subprocess.run(["bsdtar", "-tf", p], capture_output=True)
    if r.returncode != 0:
        c["err"] = "bsdtar -t: exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace").strip()[:200])
    else:
        c["entries"] = r.stdout.decode().split()
        try:
            with tarfile.open(p, "r:*") as tf:
                for m in tf.getmembers():
                    if m.name.endswith("/cert.pem"):
                        pem = tf.extractfile(m).read()
                        c["certs"][m.name[:-len("/cert.pem")]] = [
                            der_serial(pem_der(pem)), hashlib.sha256(pem).hexdigest()]
            c["ok"] = True
        except Exception as e:
            c["err"] = "read: %s" % e
    cache[p] = c
    return c

archives = {}	# account/name -> scan
for a in accounts.values():
    d = os.path.join(S, "outbound", a)
    for n in listdir(d):
        if not n.startswith(".") and (n.endswith(".tar.gz") or n.endswith(".zip")):
            archives["%s/%s" % (a, n)] = scan_archive(os.path.join(d, n))
check("archives_readable", ["%s: %s" % (n, c["err"]) for n, c in archives.items() if not c["ok"]])
bad = []
for n, c in archives.items():
    a = n.split("/")[0]
    dirs = collections.defaultdict(set)
    for e in c["entries"]:
        parts = e.split("/")
        if len(parts) == 3:
            dirs["/".join(parts[:2])].add(parts[2])
    for d, files in dirs.items():
        want = {"cert.pem", "chain.pem", "cert.p7b"}
        path = "%s/%s" % (a, d)
        if path in issued and issued[path][2]:
            want.add("bundle.p12")
        if files != want:
            bad.append("%s: %s has %s" % (n, d, sorted(files)))
check("archive_entries_complete", bad)
# cert.pem per recipient path, counted from the bsdtar listings; serials
# and digests read from the members themselves
cert_paths = collections.Counter()
cert_lines = []
for n, c in archives.items():
    a = n.split("/")[0]
    for e in c["entries"]:
        if e.endswith("/cert.pem"):
            cert_paths["%s/%s" % (a, e[:-len("/cert.pem")])] += 1
    for d, (serial, sha) in c["certs"].items():
        cert_lines.append(("%s/%s" % (a, d), serial, sha, n))
check("archive_one_cert_pem_per_recipient",
      ["%s: cert.pem in %d archives" % (p, k) for p, k in cert_paths.items() if k > 1])
check("archive_certs_are_issued_in_db",
      ["%s serial %s in %s: db says %s" % (p, s, n, issued.get(p, ("not issued",))[0])
       for p, s, sha, n in cert_lines if p not in issued or issued[p][0] != s])
sc = collections.Counter(s for p, s, sha, n in cert_lines)
check("archive_serials_unique", ["serial %s %d times" % (s, k) for s, k in sc.items() if k > 1])

# ---- results
def scan_result(p):
    k = fkey(p)
    c = cache.get(p)
    if c and c["key"] == k:
        return c
    c = {"key": k, "wf": False, "internal": [], "archive": None, "orders": {}, "rcpts": {},
         "root": None, "sha": None}
    r = subprocess.run(["xmllint", "--noout", p], capture_output=True)
    c["wf"] = r.returncode == 0
    if c["wf"]:
        root = ET.parse(p).getroot()
        c["root"] = root.tag[len(NSR):]
        c["sha"] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    if c["wf"] and c["root"] == "revocationResult":
        # revoked: [serial, reason, at]; others: [kind, value, batch, problem]
        sel = lambda e: (["order", e.get("order"), e.get("batch")] if e.get("order") else
                         ["email", e.get("email"), None] if e.get("email") else
                         ["serial", (e.get("serial") or "").lower(), None])
        c["rv"] = {"revoked": [[(e.get("serial") or "").lower(), e.get("reason"), e.get("at")]
                               for e in root.iter(NSR + "revoked")],
                   "notrev": [sel(e) + [e.get("problem")] for e in root.iter(NSR + "notRevoked")],
                   "pending": [sel(e) + [None] for e in root.iter(NSR + "pending")]}
    elif c["wf"]:
        c["archive"] = root.get("archive")
        for o in root.iter(NSR + "order"):
            c["orders"][o.get("id")] = [o.get("state"), o.get("reason")]
            for rc in o.iter(NSR + "recipient"):
                c["rcpts"]["%s/%s" % (o.get("id"), rc.get("email"))] = [
                    rc.get("state"), rc.get("serial"), rc.get("sha256")]
        c["internal"] = sorted({s for s, _ in c["orders"].values() if s in ("new", "approved")} |
                               {v[0] for v in c["rcpts"].values() if v[0] in ("new", "approved")})
    cache[p] = c
    return c

results = {}	# (account, batch) -> {seq: scan}
revres = {}	# (account, revocation id) -> {seq: scan}
rx = re.compile(r"^(.*)\.([0-9]+)\.result\.xml$")
for a in accounts.values():
    d = os.path.join(S, "outbound", a)
    for n in listdir(d):
        m = rx.match(n)
        if m and not n.startswith("."):
            c = scan_result(os.path.join(d, n))
            (revres if c["root"] == "revocationResult" else results).setdefault(
                (a, m.group(1)), {})[int(m.group(2))] = c
allres = [("%s/%s.%d" % (a, b, s), c) for (a, b), v in results.items() for s, c in v.items()]
check("results_well_formed", [n for n, c in allres if not c["wf"]])
check("results_no_internal_state", ["%s: %s" % (n, c["internal"]) for n, c in allres if c["internal"]])
check("results_seq_contiguous",
      ["%s/%s: seqs %s" % (a, b, sorted(v)) for (a, b), v in results.items()
       if sorted(v) != list(range(1, len(v) + 1))])
passes = {}
for a, ext, seq, state, arch in q("SELECT b.account_id, b.ext_id, p.seq, p.state, p.archive"
                                  " FROM pass p JOIN batch b ON b.id = p.batch_id"):
    passes[(accounts[a], ext, seq)] = (state, arch)
bad = []
for (a, b), v in results.items():
    for s, c in v.items():
        p = passes.get((a, b, s))
        if p is None:
            bad.append("%s/%s.%d: result without a pass" % (a, b, s))
        elif p[0] == "written" and (p[1] or None) != c["archive"]:
            bad.append("%s/%s.%d: archive %s, pass says %s" % (a, b, s, c["archive"], p[1]))
        if c["archive"] and "%s/%s" % (a, c["archive"]) not in archives:
            bad.append("%s/%s.%d: names missing archive %s" % (a, b, s, c["archive"]))
for (a, b, s), (state, arch) in passes.items():
    if state == "written" and s not in results.get((a, b), {}):
        bad.append("%s/%s.%d: pass written, no result.xml" % (a, b, s))
check("results_match_passes", bad)

# ---- inputs: every drop is in exactly one place, whatever the instant
def files_of(sub):
    out = []
    for a in accounts.values():
        d = os.path.join(S, sub, a)
        for n in listdir(d):
            p = os.path.join(d, n)
            if n.startswith(".") or n.endswith(".part") or not os.path.isfile(p):
                continue
            if sub == "rejected" and n.endswith(".error.xml"):
                continue
            out.append((a, n, p))
    return out

def sha_file(p):
    k = fkey(p)
    c = cache.get(p)
    if c and c.get("key") == k and "sha" in c:
        return c["sha"]
    h = hashlib.sha256(open(p, "rb").read()).hexdigest()
    cache[p] = {"key": k, "sha": h}
    return h

where = {}
seen = collections.Counter()
for sub in ("inbound", "work", "archive", "rejected"):
    for a, n, p in files_of(sub):
        h = sha_file(p)
        seen[(a, h)] += 1
        where.setdefault((a, h), []).append("%s/%s/%s" % (sub, a, n))
want = collections.Counter((a, h) for kind, a, h, n in drops)
check("inputs_each_in_one_place",
      ["%s %s... (%s): dropped %d, found %d %s" % (a, h[:12], [n for k, aa, hh, n in drops if (aa, hh) == (a, h)][:1],
                                                   want[(a, h)], seen[(a, h)], where.get((a, h), []))
       for (a, h) in set(want) | set(seen) if want[(a, h)] != seen[(a, h)]])
bad, orphan = [], []
for a in accounts.values():
    d = os.path.join(S, "rejected", a)
    names = set(n for n in listdir(d) if not n.startswith("."))
    for n in names:
        if n.endswith(".error.xml"):
            # right after a kill, a refusal may stand between its report
            # and the move: its input is then still in work/
            if n[:-len(".error.xml")] not in names and not (
                    MODE == "crash" and os.path.exists(os.path.join(S, "work", a, n[:-len(".error.xml")]))):
                orphan.append("%s/%s" % (a, n))
            elif subprocess.run(["xmllint", "--noout", os.path.join(d, n)], capture_output=True).returncode:
                bad.append("%s/%s: not well-formed" % (a, n))
        elif n + ".error.xml" not in names:
            bad.append("%s/%s: no error report" % (a, n))
check("rejected_input_has_report", bad)
check("no_error_report_without_input", orphan)

# ---- billing (each certificate charged once, from the ledger)
def check_ledger_no_double_charge():
    """Nothing is charged twice.  Without a `ledger` table (billing not
    there yet) this check is skipped, not counted; once the table exists
    it is live.  It follows src/billing.h: one row per entry with kind,
    recipient_id (or rcpt_id) and round (a reissue within paid coverage
    is no new charge; a renewal is a new round).  Charges are debit,
    unit_debit and card_authorize (a card_capture completes its
    authorization); refund, unit_credit and card_release give back.  It
    fails if a recipient's round carries the same charge kind twice, or
    more charges than give-backs plus one.  A ledger without the columns
    it needs fails loudly: adapt this function to the real schema then,
    never silence it."""
    if not q("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger'"):
        return
    cols = [r[1] for r in q("PRAGMA table_info(ledger)")]
    ref = next((c for c in ("recipient_id", "rcpt_id") if c in cols), None)
    if ref is None or "kind" not in cols:
        record("ledger_no_double_charge", False,
               "ledger table has columns %s: update check_ledger_no_double_charge" % cols)
        return
    rnd = "coalesce(round, 0)" if "round" in cols else "0"
    charge = ("debit", "unit_debit", "card_authorize", "card_capture")
    back = ("refund", "unit_credit", "card_release")
    rows = q('SELECT "%s", %s, kind, count(*) FROM ledger WHERE "%s" IS NOT NULL'
             ' AND "%s" != 0 GROUP BY 1, 2, 3' % (ref, rnd, ref, ref))
    per = collections.defaultdict(lambda: [0, 0])
    bad = []
    for r, rd, kind, n in rows:
        if kind in charge:
            if n > 1:
                bad.append("recipient %s round %s: %s %d times" % (r, rd, kind, n))
            if kind != "card_capture":
                per[(r, rd)][0] += n
        elif kind in back:
            per[(r, rd)][1] += n
    bad += ["recipient %s round %s: %d charges, %d given back" % (k + tuple(v))
            for k, v in per.items() if v[0] > v[1] + 1]
    global ledger_rows
    ledger_rows = sum(n for r, rd, kind, n in rows)
    check("ledger_no_double_charge", bad)
ledger_rows = None
check_ledger_no_double_charge()

# ---- revocation: nothing lost, results never contradicted
def norm_serial(x):
    return (x or "").lower().lstrip("0") or "0"

certs = {}	# serial -> (revoked_at, reason, shard, recipient state, recipient reason)
for serial, rat, rr, shard, rst, rrs in q(
        "SELECT c.serial, c.revoked_at, c.revoke_reason, c.crl_shard, r.state, r.reason"
        " FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE c.state = 'issued'"):
    certs[norm_serial(serial)] = (rat, rr, shard, rst, rrs)
reqstate = {}	# (account, doc, kind, value, batch) -> request state
for a, ext, kind, value, bext, state in q(
        "SELECT d.account_id, d.ext_id, r.kind, r.value, r.batch_ext, r.state FROM revoke_request r"
        " JOIN revocation_doc d ON d.id = r.doc_id"):
    v = norm_serial(value) if kind == "serial" else value
    reqstate[(accounts[a], ext, kind, v, bext)] = state
archived_rv = {k for k, h in exp_revdoc.items()
               if any(w.startswith("archive/") for w in where.get((k[0], h), []))}
bad = []
for k in sorted(archived_rv):
    for kind, value, bext, reason, expect, sers in exp_rev.get(k, []):
        key = k + (kind, norm_serial(value) if kind == "serial" else value, bext)
        st = reqstate.get(key)
        name = "%s/%s %s=%s" % (k[0], k[1], kind, value)
        if expect == "revoked":
            for x in sers:
                c = certs.get(norm_serial(x))
                if c is None or c[0] is None:
                    bad.append("%s: certificate %s not revoked (request %s)" % (name, x, st))
                elif c[1] != reason:
                    bad.append("%s: certificate %s revoked for %s, asked %s" % (name, x, c[1], reason))
            if st != "done":
                bad.append("%s: request %s, expected done" % (name, st))
        elif expect == "pending":
            for x in sers:
                c = certs.get(norm_serial(x))
                if c is None or c[0] is not None:
                    bad.append("%s: certificate %s revoked before its time" % (name, x))
            if st != "pending":
                bad.append("%s: request %s, expected pending" % (name, st))
        elif st != "not_found":
            bad.append("%s: request %s, expected not_found" % (name, st))
check("revocation_not_lost", bad)
# every result written agrees with the database, and a result file
# never changes once seen (cache: path -> sha of its first sight)
seenres = cache.setdefault("revres_seen", {})
bad = []
for (a, ext), v in revres.items():
    for s, c in v.items():
        n = "%s/%s.%d" % (a, ext, s)
        if not c["wf"]:
            bad.append("%s: not well-formed" % n)
            continue
        if seenres.setdefault(n, c["sha"]) != c["sha"]:
            bad.append("%s: rewritten with other content" % n)
        for serial, reason, at in c["rv"]["revoked"]:
            x = certs.get(norm_serial(serial))
            if x is None or x[0] is None or x[1] != reason:
                bad.append("%s: says %s revoked (%s), db says %s" % (n, serial, reason, x and x[:2]))
        for kind, value, bext, problem in c["rv"]["notrev"]:
            st = reqstate.get((a, ext, kind, norm_serial(value) if kind == "serial" else value, bext))
            if st != problem:
                bad.append("%s: %s=%s reported %s, db says %s" % (n, kind, value, problem, st))
for n in seenres:
    a, rest = n.split("/", 1)
    ext, s = rest.rsplit(".", 1)
    if int(s) not in revres.get((a, ext), {}):
        bad.append("%s: result gone" % n)
check("revocation_results_agree_and_stay", bad)
check("revocation_results_seq_contiguous",
      ["%s/%s: seqs %s" % (a, b, sorted(v)) for (a, b), v in revres.items()
       if sorted(v) != list(range(1, len(v) + 1))])
if MODE in ("restart", "final"):
    bad = []
    for k in sorted(archived_rv):
        v = revres.get(k)
        if not v:
            bad.append("%s/%s: archived, no result" % k)
            continue
        revd = {norm_serial(x[0]) for c in v.values() for x in c["rv"]["revoked"]}
        notr = {(x[0], norm_serial(x[1]) if x[0] == "serial" else x[1], x[2], x[3])
                for c in v.values() for x in c["rv"]["notrev"]}
        pend = {(x[0], norm_serial(x[1]) if x[0] == "serial" else x[1], x[2])
                for x in v[max(v)]["rv"]["pending"]}
        for kind, value, bext, reason, expect, sers in exp_rev.get(k, []):
            val = norm_serial(value) if kind == "serial" else value
            name = "%s/%s %s=%s" % (k[0], k[1], kind, value)
            if expect == "revoked":
                bad += ["%s: %s not listed as revoked" % (name, x) for x in sers
                        if norm_serial(x) not in revd]
            elif expect == "pending" and (kind, val, bext) not in pend:
                bad.append("%s: not listed as pending in the last result" % name)
            elif expect == "not_found" and (kind, val, bext, "not_found") not in notr:
                bad.append("%s: not reported not_found" % name)
    check("revocation_results_complete", bad)
    check("revoked_recipient_cancelled",
          ["certificate %s revoked (%s), recipient %s %s" % ((s,) + c[1:2] + c[3:5])
           for s, c in certs.items() if c[0] is not None and c[1] != "superseded"
           and (c[3], c[4]) != ("cancelled", "certificate_revoked")])

# ---- CRLs: whole, verifying, numbers only going up, complete after a run
conf = {}
for line in open(os.path.join(T, "certspool.conf")):
    m = re.match(r"^\s*([a-z_0-9]+)\s*=\s*(.*?)\s*$", line)
    if m:
        conf[m.group(1)] = m.group(2).strip('"')
nshards = int(conf.get("crl_shards", "1"))
url = conf.get("crl_url", "")
shard_url = {i: url.replace("{shard}", str(i)) for i in range(nshards)}
shard_of = {u.rsplit("/", 1)[1]: i for i, u in shard_url.items()}
CRLD = conf.get("crl_dir") or os.path.join(S, "crl")
CHAIN = os.path.join(T, "ca", "chain.pem")

def scan_crl(p):
    k = fkey(p)
    c = cache.get(p)
    if c and c["key"] == k:
        return c
    c = {"key": k, "ok": False, "err": "", "num": None, "serials": [], "idp": None,
         "sha": hashlib.sha256(open(p, "rb").read()).hexdigest()}
    r = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", p, "-noout", "-text",
                        "-CAfile", CHAIN, "-verify"], capture_output=True)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    if r.returncode != 0 or "verify OK" not in out + err:
        c["err"] = "openssl crl: exit %d: %s" % (r.returncode, (err or out).strip()[:200])
    else:
        m = re.search(r"CRL Number:\s*\n\s*(\S+)", out)
        if m:
            x = m.group(1)
            c["num"] = int(x, 16) if x.lower().startswith("0x") else int(x)
        m = re.search(r"Issuing Distribution Point:.*?URI:(\S+)", out, re.S)
        c["idp"] = m.group(1) if m else None
        c["serials"] = [norm_serial(x) for x in re.findall(r"Serial Number:\s*([0-9A-Fa-f]+)", out)]
        c["ok"] = c["num"] is not None
        if not c["ok"]:
            c["err"] = "no CRL number"
    cache[p] = c
    return c

# a partitioned CRL names its shard's URL; one shard: a full CRL
want_idp = lambda n: shard_url[shard_of[n]] if nshards > 1 else None
crls = {}
for n in listdir(CRLD):
    if n.startswith(".") or n == "issuing.cer":
        continue
    crls[n] = scan_crl(os.path.join(CRLD, n))
check("crl_files_whole_and_verify",
      ["%s: %s" % (n, c["err"]) for n, c in crls.items() if not c["ok"]] +
      ["%s: not a shard's file name (%s)" % (n, sorted(shard_of)) for n in crls if n not in shard_of] +
      ["%s: issuingDistributionPoint %s, expected %s" % (n, c["idp"], want_idp(n))
       for n, c in crls.items() if c["ok"] and n in shard_of and c["idp"] != want_idp(n)])
lastnum = cache.setdefault("crl_last", {})	# file -> [number, sha]
numsha = cache.setdefault("crl_numsha", {})	# number -> [sha, file]
bad = []
for n, c in sorted(crls.items()):
    if not c["ok"]:
        continue
    last = lastnum.get(n)
    if last and (c["num"] < last[0] or (c["num"] == last[0] and c["sha"] != last[1])):
        bad.append("%s: number %d after %d (%s)" % (n, c["num"], last[0],
                   "other content" if c["num"] == last[0] else "went down"))
    lastnum[n] = [c["num"], c["sha"]]
    was = numsha.setdefault(str(c["num"]), [c["sha"], n])
    if was[0] != c["sha"]:
        bad.append("number %d on two different CRLs (%s, %s)" % (c["num"], was[1], n))
for n in lastnum:
    if n not in crls:
        bad.append("%s: published once, gone now" % n)
check("crl_numbers_increase_never_reused", bad)
if MODE in ("restart", "final"):
    bad = []
    want = collections.defaultdict(set)
    for s, c in certs.items():
        if c[0] is not None:
            if c[2] is None or not 0 <= c[2] < nshards:
                bad.append("revoked certificate %s has shard %s" % (s, c[2]))
            else:
                want[c[2]].add(s)
    for i in range(nshards):
        n = shard_url[i].rsplit("/", 1)[1]
        c = crls.get(n)
        if c is None or not c["ok"]:
            bad.append("shard %d: no CRL %s" % (i, n))
            continue
        got = set(c["serials"])
        bad += ["shard %d: revoked %s missing from %s" % (i, s, n) for s in sorted(want[i] - got)]
        bad += ["shard %d: %s lists %s, %s" % (i, n, s, "not revoked" if s in certs and certs[s][0] is None
                else "of another shard" if s in certs else "unknown") for s in sorted(got - want[i])]
    if not os.path.isfile(os.path.join(CRLD, "issuing.cer")) or subprocess.run(
            ["openssl", "x509", "-inform", "DER", "-in", os.path.join(CRLD, "issuing.cer"), "-noout"],
            capture_output=True).returncode:
        bad.append("issuing.cer missing or not a DER certificate")
    check("crl_shows_exactly_the_revoked", bad)
    if MODE == "final":
        print("INFO: CRLs: %s" % ", ".join("%s #%d %d entries" % (n, c["num"], len(c["serials"]))
                                          for n, c in sorted(crls.items()) if c["ok"]))

# ---- restart: recovery finished
if MODE in ("restart", "final"):
    left = ["%s/%s/%s" % (sub, a, n) for sub in ("inbound", "work")
            for a in accounts.values() for n in listdir(os.path.join(S, sub, a))]
    check("spool_inbound_and_work_empty", left)
    fl = []
    for what, sql in (("orders new", "SELECT count(*) FROM orders WHERE state = 'new'"),
                      ("recipients new/approved", "SELECT count(*) FROM recipient WHERE state IN ('new', 'approved')"),
                      ("certificates signing", "SELECT count(*) FROM certificate WHERE state = 'signing'"),
                      ("passes open", "SELECT count(*) FROM pass WHERE state = 'open'"),
                      ("batches dirty", "SELECT count(*) FROM batch WHERE dirty = 1")):
        n = q(sql)[0][0]
        if n:
            fl.append("%d %s" % (n, what))
    check("nothing_left_in_flight", fl)
    inarch = {p: (s, n) for p, s, sha, n in cert_lines}
    bad = []
    for p, (serial, pid, kg) in issued.items():
        if p not in inarch:
            bad.append("%s (serial %s) in no archive" % (p, serial))
        elif inarch[p][0] != serial:
            bad.append("%s: archive serial %s, db %s" % (p, inarch[p][0], serial))
    if len(cert_lines) != len(issued) or sum(cert_paths.values()) != len(issued):
        bad.append("%d cert.pem listed in archives, %d issued certificates"
                   % (sum(cert_paths.values()), len(issued)))
    check("every_issued_cert_in_one_archive", bad)
    mails = set(listdir(os.path.join(S, "mail")))
    got = {m[5:-4] for m in mails if m.startswith("cert-") and m.endswith(".eml")}
    gotp = {m[8:-4] for m in mails if m.startswith("p12pass-") and m.endswith(".eml")}
    ser = {v[0] for v in issued.values()}
    serk = {v[0] for v in issued.values() if v[2]}
    check("one_mail_per_issued_cert",
          ["no mail for %s" % s for s in ser - got] + ["mail for unissued %s" % s for s in got - ser] +
          ["no password mail for %s" % s for s in serk - gotp] + ["password mail for %s" % s for s in gotp - serk])
    check("p12_passwords_erased",
          ["%d certificates keep their password" % n for (n,) in
           q("SELECT count(*) FROM certificate WHERE p12_password IS NOT NULL") if n])

# ---- final: everything done, as planned
if MODE == "final":
    dbo = {}
    for a, ext, state, reason in q("SELECT b.account_id, o.ext_id, o.state, o.reason FROM orders o"
                                   " JOIN batch b ON b.id = o.batch_id"):
        dbo[(accounts[a], ext)] = (state, reason)
    bad = []
    for k, e in exp_orders.items():
        got = dbo.get(k)
        if got is None:
            bad.append("%s/%s: not stored" % k)
        elif e == "issued" and got[0] != "issued":
            bad.append("%s/%s: %s %s, expected issued" % (k + got))
        elif e != "issued" and got != ("rejected", e):
            bad.append("%s/%s: %s %s, expected rejected %s" % (k + got + (e,)))
    check("orders_final_as_planned", bad)
    want_paths = {"%s/%s/%s" % k for k, kind in exp_rcpts.items()
                  if exp_orders[(k[0], k[1])] == "issued"}
    check("issued_recipients_exactly_as_planned",
          ["%s: planned, not issued" % p for p in want_paths - set(issued)] +
          ["%s: issued, not planned" % p for p in set(issued) - want_paths] +
          ["%s: cert.pem %d times in archives" % (p, cert_paths[p]) for p in want_paths if cert_paths[p] != 1])
    bad = []
    for kind, a, h, n in drops:
        sub = "archive" if kind == "valid" else "rejected"
        w = where.get((a, h), [])
        if not any(x.startswith(sub + "/") for x in w):
            bad.append("%s %s/%s: in %s, expected %s/" % (kind, a, n, w, sub))
    check("inputs_archived_or_rejected_as_planned", bad)
    # the last result of each batch says what the database says, and its
    # sha256 attributes are those of cert.pem in the archives
    shas = {p: sha for p, s, sha, n in cert_lines}
    bad = []
    for (a, b), v in results.items():
        last = v[max(v)]
        for oid, (st, rsn) in last["orders"].items():
            if dbo.get((a, oid), ("?",))[0] != st:
                bad.append("%s/%s %s: result %s, db %s" % (a, b, oid, st, dbo.get((a, oid))))
        for key, (st, serial, sha) in last["rcpts"].items():
            p = "%s/%s" % (a, key)
            if st == "issued" and (p not in issued or (serial or "").lower() != issued[p][0]
                                   or sha != shas.get(p)):
                bad.append("%s/%s %s: serial %s sha %s" % (a, b, key, serial, (sha or "")[:12]))
    if {k for k in stored} != {k for k in results}:
        bad.append("batches without a result: %s" % sorted(set(stored) - set(results))[:5])
    check("last_result_matches_db_and_archives", bad)
    tmp = []
    for root, dirs, files in os.walk(S):
        tmp += [os.path.join(root, f)[len(S) + 1:] for f in files if f.startswith(".") and f.endswith(".tmp")]
    print("INFO: stale temporary files left in the spool by kills: %d%s" %
          (len(tmp), (" e.g. " + ", ".join(tmp[:3])) if tmp else ""))
    st = dict(q("SELECT state, count(*) FROM certificate GROUP BY 1"))
    print("INFO: certificates: %s; passes: %d; results: %d; archives: %d; inputs dropped: %d"
          % (st, len(passes), len(allres), len(archives), len(drops)))
    print("INFO: ledger: %s" % ("no ledger table (billing not there yet): charge check skipped"
                                 if ledger_rows is None else
                                 "%d recipient entries checked" % ledger_rows))

json.dump(cache, open(CACHE + ".tmp", "w"))
os.replace(CACHE + ".tmp", CACHE)
with open(os.path.join(T, "stats"), "a") as f:
    for n, ok, d in res:
        f.write("%s %s\n" % (n, "ok" if ok else "fail"))
nf = 0
for n, ok, d in res:
    if not ok:
        nf += 1
        print("    FAIL %s [%s]: %s" % (n, LABEL, d))
print("    %s invariants: %d/%d ok" % (MODE, len(res) - nf, len(res)))
sys.exit(1 if nf else 0)
PYEOF

run_check() {	# run_check MODE LABEL: prints the summary on the caller's line
	python3 "$T/check.py" "$T" "$1" "$2" >"$T/check.out" 2>&1
	st=$?
	if [ "$st" -ne 0 ] && ! grep -q "invariants:" "$T/check.out"; then
		echo "$1 fail" >>"$STATS"
		echo "checker_crashed fail" >>"$STATS"
	fi
	tail -n 1 "$T/check.out" | sed 's/^ *//'
	grep -v "invariants:" "$T/check.out" | grep -v '^INFO' | sed 's/^/  /'
	grep '^INFO' "$T/check.out" || true
}

# ---------------------------------------------------------------- runs
# Crash points compiled into this binary.
POINTS=()
for p in after_claim after_error_report after_reject_move after_parse_commit \
    eval_order before_eval_commit after_eval_commit before_writeahead_commit \
    after_writeahead after_sign before_issue_commit after_issue_commit \
    after_recover_commit after_pass_open before_archive archive_entry \
    after_mail before_result after_result before_revocation_result \
    crl_after_number crl_before_rename crl_after_write; do
	grep -aqF "$p" "$BIN" && POINTS+=("$p")
done
declare -A KILLED_AT
EST_MS=200
kills=0 attempts=0 restarts=0 notreached=0 badexit=0 random_kills=0 live_kills=0
maxattempts=$((KILLS * 4 + 20))

# run_daemon LABEL [ENV...]: one --once run; sets RC and DUR (ms)
run_daemon() {
	local t0
	t0=$(now_ms)
	echo "=== $1" >>"$LOG"
	{ env "${@:2}" TORTURE_RUN="$([ $# -gt 1 ] && echo crashpoint || echo run)" \
	    $WRAP "$BIN" --config "$T/certspool.conf" daemon --once >>"$LOG" 2>&1; } 2>/dev/null
	RC=$?
	DUR=$(( $(now_ms) - t0 ))
}
# after_run LABEL: checks after a run according to its exit status
after_run() {
	local mode=crash
	case $RC in
	137) ;;
	0) mode=restart; restarts=$((restarts + 1)); EST_MS=$((DUR + 20)) ;;
	*) badexit=$((badexit + 1)); echo "daemon_exit_status fail" >>"$STATS"
	   echo "  FAIL daemon_exit_status [$1]: exit $RC (expected 0 or 137); see $LOG" ;;
	esac
	[ "$RC" -eq 0 ] || [ "$RC" -eq 137 ] && echo "daemon_exit_status ok" >>"$STATS"
	printf '%-44s rc=%-3s %5sms  %s\n' "$1" "$RC" "$DUR" "$(run_check "$mode" "$1" | head -n 1)"
	[ -s "$T/check.out" ] && grep -q FAIL "$T/check.out" && grep FAIL "$T/check.out" | sed 's/^ */  /'
}

echo "torture: seed $SEED, $ORDERS orders, $KILLS kills, workers $WORKERS, binary $BIN"
echo "torture: crash points: ${POINTS[*]}"
echo "torture: work directory $T"
START=$(date +%s)

# How much work is pending, to aim CERTSPOOL_CRASH_AT=name:N at a
# passage that will happen: sets F (files waiting), W (orders to
# evaluate), R (recipients to sign), G (signing records), P (passes).
estimate() {
	local files
	files=$(find "$S/inbound" "$S/work" -mindepth 2 -maxdepth 2 -type f ! -name '.*' 2>/dev/null)
	F=$(printf '%s' "$files" | grep -c .)
	W=0
	[ "$F" -gt 0 ] && W=$(printf '%s\n' "$files" | xargs -r -d '\n' grep -ho '<order \|<csr ' 2>/dev/null | wc -l)
	set -- $(sql "SELECT (SELECT count(*) FROM orders WHERE state = 'new'),
	    (SELECT count(*) FROM recipient WHERE state IN ('new', 'approved')),
	    (SELECT count(*) FROM certificate WHERE state = 'signing'),
	    (SELECT count(*) FROM batch WHERE dirty = 1) + (SELECT count(*) FROM pass WHERE state = 'open')" | tr '|' ' ')
	W=$((W + $1))
	R=$((W + W / 8 + $2))
	G=$3
	P=$((F + $4))
	# revocation documents waiting, results owed, CRL shards to publish
	RV=0
	[ "$F" -gt 0 ] && RV=$(printf '%s\n' "$files" | grep -c '/RV[^/]*$')
	set -- $(sql "SELECT (SELECT count(*) FROM revocation_doc WHERE written < seq),
	    (SELECT count(*) FROM crl_shard_state WHERE dirty = 1)" | tr '|' ' ')
	RO=$((RV + ${1:-0}))
	D=${2:-0}
	[ "$RV" -gt 0 ] && D=$SHARDS
	[ -n "$(ls "$S/crl" 2>/dev/null | grep -v issuing.cer)" ] || D=$SHARDS
}
nmax_of() {	# nmax_of POINT: how many passages the next run should make
	case $1 in
	after_claim|after_parse_commit) echo "$F" ;;
	after_error_report|after_reject_move) echo "$HOSTILE_PENDING" ;;
	eval_order) echo "$W" ;;
	before_eval_commit|after_eval_commit) echo $(( (W + 255) / 256 )) ;;
	before_writeahead_commit|after_writeahead|after_sign|before_issue_commit|after_issue_commit)
		echo $(( (R + WORKERS * 64 - 1) / (WORKERS * 64) )) ;;
	after_recover_commit) echo "$G" ;;
	after_pass_open|before_archive|before_result|after_result) echo "$P" ;;
	archive_entry|after_mail) echo "$R" ;;
	before_revocation_result) echo "$RO" ;;
	crl_after_number|crl_before_rename|crl_after_write) echo "$D" ;;
	*) echo 1 ;;
	esac
}

# Phase 1: one big batch (about 40% of the orders) taken apart by kills,
# until it is through or 15% of the kills are spent.
BIG=$(( ORDERS * 40 / 100 )); [ "$BIG" -ge 1 ] || BIG=1
P1=$(( KILLS * 15 / 100 )); [ "$P1" -ge 3 ] || P1=3
drop_batch "$BIG"
phase=1
np=0
HOSTILE_PENDING=0
PRIO=""
while [ "$kills" -lt "$KILLS" ] && [ "$attempts" -lt "$maxattempts" ]; do
	attempts=$((attempts + 1))
	live=0
	estimate
	if [ "$phase" -eq 1 ] && { [ "$kills" -ge "$P1" ] || [ $((W + G + P)) -eq 0 ]; }; then
		phase=2
		echo "--- phase 2 after $kills kills: small batches, csrSubmissions, refused inputs, live daemon"
	fi
	if [ "$phase" -eq 2 ]; then
		# keep work flowing until the last kill
		remo=$((ORDERS - NEXT_ORDER + 1)) remk=$((KILLS - kills))
		if [ "$remo" -gt 0 ]; then
			sz=$(( (remo + remk - 1) / remk ))
			sz=$(( sz + RANDOM % (sz + 1) ))
			[ $((attempts % 6)) -eq 0 ] && live=1
			[ "$live" -eq 1 ] || drop_batch "$sz"
		fi
		if [ $((attempts % 5)) -eq 1 ] && [ "$live" -eq 0 ] &&
		    [ "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'TB1'")" = 1 ]; then
			drop_hostile "${HOSTILE[$(( NHOSTILE % ${#HOSTILE[@]} ))]}"
			HOSTILE_PENDING=1
			# aim at the refusal's own crash points now and then
			case $(( NHOSTILE % 3 )) in
			1) PRIO=after_error_report ;;
			2) PRIO=after_reject_move ;;
			esac
		fi
	fi
	# leavers now and then, with a kill aimed at their processing or at
	# the CRLs they make dirty
	if [ "$phase" -eq 2 ] && [ "$live" -eq 0 ] && [ $((attempts % 4)) -eq 2 ]; then
		drop_revocation
		case $(( NRV % 3 )) in
		0) PRIO=before_revocation_result ;;
		1) PRIO=crl_after_number ;;
		2) PRIO=crl_before_rename ;;
		esac
		[ $((NRV % 5)) -eq 4 ] && PRIO=crl_after_write
	fi
	drop_ready_subs
	confirm_dcv
	estimate
	if [ "$live" -eq 1 ]; then
		# a live daemon, a file arriving while it runs, killed at random
		t0=$(now_ms)
		echo "=== live daemon" >>"$LOG"
		$WRAP "$BIN" --config "$T/certspool.conf" daemon >>"$LOG" 2>&1 &
		pid=$!
		sleep "0.0$(( RANDOM % 9 + 1 ))"
		drop_batch "$sz"
		d=$(( RANDOM % (EST_MS + 300) + 1 ))
		sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
		kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		RC=$?
		DUR=$(( $(now_ms) - t0 ))
		label="live daemon, kill -9 after ${d}ms"
		[ "$RC" -eq 137 ] && live_kills=$((live_kills + 1))
	else
		# a named point with passages to come, else a random moment
		p="" n=0
		if [ -n "$PRIO" ] && printf '%s\n' "${POINTS[@]}" | grep -qx "$PRIO"; then
			p=$PRIO n=1
		fi
		PRIO=""
		tries=0
		while [ -z "$p" ] && [ $((attempts % 4)) -ne 0 ] && [ "$tries" -lt "${#POINTS[@]}" ]; do
			p=${POINTS[$(( np % ${#POINTS[@]} ))]}
			np=$((np + 1)) tries=$((tries + 1))
			n=$(nmax_of "$p")
			[ "$n" -gt 0 ] || p=""
		done
		if [ -n "$p" ]; then
			[ "$n" -gt 1 ] && n=$(( RANDOM % n + 1 ))
			run_daemon "crash at $p:$n" CERTSPOOL_CRASH_AT="$p:$n"
			label="--once, CERTSPOOL_CRASH_AT=$p:$n"
			[ "$RC" -eq 137 ] && KILLED_AT[$p]=$(( ${KILLED_AT[$p]:-0} + 1 ))
		else
			d=$(( RANDOM % (EST_MS * 3 / 4 + 1) + 1 ))
			t0=$(now_ms)
			echo "=== random kill after ${d}ms" >>"$LOG"
			$WRAP "$BIN" --config "$T/certspool.conf" daemon --once >>"$LOG" 2>&1 &
			pid=$!
			sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
			kill -KILL "$pid" 2>/dev/null
			{ wait "$pid"; } 2>/dev/null
			RC=$?
			DUR=$(( $(now_ms) - t0 ))
			label="--once, kill -9 after ${d}ms"
			[ "$RC" -eq 137 ] && random_kills=$((random_kills + 1))
		fi
	fi
	if [ "$RC" -eq 137 ]; then
		kills=$((kills + 1))
		label="kill $kills: $label"
	else
		[ "$RC" -eq 0 ] && notreached=$((notreached + 1))
		label="run: $label (finished)"
		HOSTILE_PENDING=0
	fi
	after_run "$label"
	# A crash between the write-ahead record and the issue commit leaves
	# signing records: aim at their recovery next, now and then.
	if [ "$RC" -eq 137 ] && [ $((RANDOM % 2)) -eq 0 ] &&
	    [ "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")" -gt 0 ]; then
		PRIO=after_recover_commit
	fi
	# Now and then a plain restart, checked as such (not in phase 1:
	# there each run is the restart of the one killed before it).
	if [ "$RC" -eq 137 ] && [ "$phase" -eq 2 ] && [ $((RANDOM % 3)) -eq 0 ]; then
		run_daemon "restart"
		after_run "restart after kill $kills"
		HOSTILE_PENDING=0
	fi
done

# Final drain: deliver what is left, run --once until nothing changes;
# a last revocation document once everything is issued.
while [ "$NEXT_ORDER" -le "$ORDERS" ]; do drop_batch 50; done
for i in 1 2 3; do drop_ready_subs; confirm_dcv; run_daemon "drain before the last revocation $i"; done
drop_revocation
prev=""
for i in $(seq 1 30); do
	drop_ready_subs
	confirm_dcv
	run_daemon "drain $i"
	sig=$(sql "SELECT (SELECT group_concat(state || count) FROM (SELECT state, count(*) AS count FROM orders GROUP BY state)), (SELECT count(*) FROM pass), (SELECT count(*) FROM certificate)")
	sig="$sig $(ls -A "$S"/inbound/* "$S"/work/* "$S"/outbound/* | md5sum)"
	if [ "$RC" -ne 0 ]; then
		echo "  FAIL daemon_exit_status [drain $i]: exit $RC"
		echo "daemon_exit_status fail" >>"$STATS"
	fi
	[ "$sig" = "$prev" ] && [ "${#SUB_ACCT[@]}" -eq 0 ] && break
	prev=$sig
done
echo "drain: $i runs until nothing changed"
echo "final invariants:"
run_check final "final"

# ---------------------------------------------------------------- report
echo
echo "torture summary (seed $SEED, $(( $(date +%s) - START ))s):"
echo "  orders $((NEXT_ORDER - 1)) in $NB batches, $NDROPS inputs dropped, mailbox validations confirmed $DCV_OK"
echo "  revocation documents $NRV ($(grep -c '^rev ' "$EXPECT") selectors: $(awk '$1 == "rev" { n[$8]++ } END { for (k in n) printf "%s %d ", k, n[k] }' "$EXPECT")); CRL shards $SHARDS; revoked: $(sql "SELECT group_concat(revoke_reason || ' ' || n, ', ') FROM (SELECT revoke_reason, count(*) AS n FROM certificate WHERE revoked_at IS NOT NULL GROUP BY 1)")"
echo "  kill points $kills (named $((kills - random_kills - live_kills)), random --once $random_kills, live daemon $live_kills) in $attempts attempts; $notreached runs finished before their point; $restarts clean restarts"
for p in "${POINTS[@]}"; do printf '    %-26s %s\n' "$p" "${KILLED_AT[$p]:-0}"; done
echo "  orders: $(sql "SELECT group_concat(state || ' ' || n, ', ') FROM (SELECT state, count(*) AS n FROM orders GROUP BY state)")"
echo "  invariants checked (times ok / failed):"
sort "$STATS" | uniq -c | awk '{ n[$2] = n[$2]; if ($3 == "ok") ok[$2] += $1; else bad[$2] += $1 }
    END { for (k in n) printf "    %-40s %6d %6d\n", k, ok[k], bad[k] }' | sort
[ "$kills" -ge "$KILLS" ] || { echo "  FAIL: only $kills of $KILLS kill points reached"; echo "kill_points_reached fail" >>"$STATS"; }
# the revocation invariants must have had something to check
nrevoked=$(sql "SELECT count(*) FROM certificate WHERE revoked_at IS NOT NULL")
if [ "$NRV" -ge 1 ] && [ "$nrevoked" -ge 1 ]; then
	echo "revocations_exercised ok" >>"$STATS"
else
	echo "  FAIL: $NRV revocation documents, $nrevoked certificates revoked"
	echo "revocations_exercised fail" >>"$STATS"
fi
passed=$(grep -c ' ok$' "$STATS")
fail_total=$(grep -c ' fail$' "$STATS")
if [ "$fail_total" -ne 0 ] || [ -n "${KEEP:-}" ]; then
	echo "work directory kept: $T (daemon.log, check.out, expect.txt)"
	KEPT_SAID=1
fi
echo "$passed passed, $fail_total failed"
[ "$fail_total" -eq 0 ]
