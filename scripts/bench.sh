#!/bin/sh
# scripts/bench.sh: end-to-end issuance benchmark of certspool.
#
# For each issuing CA and each N: a fresh certspool directory, a validated
# organization and domain (CLI and mail spool only, as tests/lib.sh does),
# N orders of one recipient each with distinct keys in batch files of at
# most --per-file orders, then one `certspool daemon --once` under
# /usr/bin/time -v.  Printed per run: certificates/s end-to-end, peak RSS,
# the raw limit = cores / (CA signature time + CSR verification time) from
# `openssl speed` measured at the start of the same invocation, and their
# ratio; optionally cfssl `serve` signing the same CSRs with the same CA key
# (driven by wrk) and the certspool/cfssl ratio.  Then the pickup latency
# of a running daemon (inotify): p50/p99 over --drops one-order batches,
# from rename into inbound/ to result.xml.  Then the revocation drill:
# one tenant with --revoke-n issued certificates (orders of R recipients,
# R = N / 10,000 rounded up, so that ONE revocation document holds one
# <revoke order= batch=> per order: a department leaving), CRLs in 4
# shards, a running daemon; measured: time from the document's rename
# into inbound/ until the CRLs in crl_dir list all N (DER entries counted
# by a small parser, polled every 50 ms), each shard's CRL size, the time
# of `certspool crl --now` (re-signing every shard), and the daemon's peak
# RSS (VmHWM) during the drill against the same daemon idle.  Ends with
# markdown tables.
#
# Nothing here asserts speed; it measures and prints.  The exit status is
# non-zero only if the benchmark itself did not work (a run that did not
# issue all N certificates, a missing tool).  Also printed per run: CPU
# per certificate, the load average around the run (other work on the
# machine skews every timing), coarse phase times from the event log, and
# the "CPU share": of the daemon's CPU time, the part the signatures and
# CSR verifications alone need (1.00 = it did nothing else).
#
# HSM CAs (hsm-p384, hsm-rsa4096): each run initializes a SoftHSM2 token
# of its own in the run directory (SOFTHSM2_CONF, softhsm2-util
# --init-token), has `certspool init --hsm` generate the issuing key in it,
# and issues the same N orders.  Before and after the run,
# scripts/p11rate.c (built into BENCH_DIR like gencsr) measures SoftHSM's
# own rate on that key: it logs in once, opens one session per thread and
# loops C_SignInit + C_Sign (CKM_ECDSA over a SHA-384 digest, CKM_RSA_PKCS
# over a SHA-256 DigestInfo) for --p11-seconds, with as many threads as
# the daemon signs on (workers; 0 = one per online CPU; the signer process
# serves workers + 1 channels, issuance uses at most workers at once).  Printed: its
# signatures/s (measured before and after the run, the mean counts: the
# machine's load drifts) and the "SoftHSM ratio", certspool's certs/s
# over it (target >= 0.85); and, not moved by other load, the "SoftHSM
# CPU ratio": p11rate's CPU time per signature over the CPU time per
# certificate of the daemon and its signer (1.00 = they spent CPU on
# nothing but the token's signatures).  SoftHSM computes on the same
# cores as the daemon, so every CPU-second the daemon spends on anything
# but the signature (its own check of each returned signature, CSR
# verification, the database, the messages) lowers these ratios.
#
#   sh scripts/bench.sh [options]         (make bench / make bench-smoke)
#   --n "N ..."          orders per run (default 10000)
#   --ca "CA ..."        issuing CAs: p384 and/or rsa4096 (certspool
#                        init's demo CA, --ca-key; batches ask sha384 of a
#                        P-384 CA, sha256 of an RSA one) and/or rsa2048
#                        (made with openssl under a P-384 demo root and
#                        `ca import`ed: an existing CA, the cfssl
#                        comparison point) and/or hsm-p384, hsm-rsa4096
#                        (the key in a SoftHSM2 token, see above)
#                        (default "p384 rsa4096 rsa2048 hsm-p384
#                        hsm-rsa4096")
#   --rss-n "N ..."      extra runs (rsa2048 CA if listed, no cfssl) for the
#                        RSS flatness check (default "1000 100000"; "" for
#                        none; 100,000 P-256 CSRs take about a minute to
#                        generate once, the run itself several minutes)
#   --key p256|rsa2048   CSR key type (default p256)
#   --per-file N         orders per batch file (default 10000; a P-256
#                        order is ~0.75 KiB; max_batch_bytes is raised in
#                        the run's config if a file is larger than 64 MiB)
#   --workers N          the daemon's `workers` (default 0: one per core)
#   --drops N            pickup latency samples, 0 to skip (default 50)
#   --settle S           settle_seconds of the pickup-latency daemon
#                        (default 2, certspool's default: a batch renamed
#                        into inbound/ is taken at once all the same); the
#                        throughput runs use 0, their files are in place
#                        before `daemon --once` starts
#   --latency-dir DIR    measure the pickup latency on an existing run
#                        directory (e.g. a kept N = 100000 run: a populated
#                        database) instead of a fresh one
#   --no-cfssl           skip the cfssl comparison
#   --cfssl-seconds S    wrk duration per CA (default 10)
#   --speed-seconds S    `openssl speed` duration per algorithm (default 3)
#   --p11-seconds S      p11rate's C_Sign loop per HSM run (default 10)
#   --perf               also record each run with perf (a second run, in
#                        perf-<CA>-<N>/: perf.txt top symbols,
#                        perf-summary.txt CPU by step and cost class)
#   --keep               keep the run directories
#   --setup-only         prepare the run directories (batches in inbound/)
#                        and print them, without running: for profiling
#   --revoke-n N         certificates of the revocation drill, "" or 0 to
#                        skip (default 100000: issuing them takes a few
#                        minutes; the CSR cache is shared with the runs)
#   --revoke-timeout S   give the drill up after S s without all N in the
#                        CRLs (default 900); it then says how far the
#                        document got and at what rate
#   --revoke-per-order R recipients per order in the drill (default
#                        N / 10000 rounded up: a document holds at most
#                        10,000 <revoke>)
#   --fair-n N           fair share (scripts/bench-fair.sh): orders of
#                        the big batch, "" or 0 to skip (default 100000)
#   --fair-drops N       one-order batches of the second account during
#                        it (default 20)
#   --fair-rounds N      rounds of the two runs, alone then with the
#                        drops, alternating (default 2)
#   --smoke              N=200, CAs p384, rsa2048 and hsm-p384, no cfssl,
#                        5 drops, 1 s speed, 1 s C_Sign loop,
#                        drill with 300 certificates in orders of 3,
#                        fair share with 2000 orders and 3 drops, 1 round;
#                        with --engine postgresql: N=100, CA p384, 1 s
#                        speed, daemons 1 and 2
#   --engine sqlite|postgresql
#                        sqlite (default): everything above, with the
#                        embedded database.  postgresql: only the
#                        throughput runs (--n, --ca, default p384), on a
#                        throwaway PostgreSQL cluster, with running
#                        daemons sharing one spool and one database
#                        (scripts/bench-pg.sh: certs/s, transactions,
#                        statements, server and daemon CPU per
#                        certificate); the other measurements are skipped
#   --daemons "D ..."    with --engine postgresql: daemon counts, one run
#                        each (default "1 2")
#   --pg-accounts A      with --engine postgresql: accounts the orders are
#                        split among (default 2, or the largest D; the
#                        account is the unit the daemons share)
# Environment: BENCH_DIR (default tests/tmp/bench) holds the CSR cache
# (csr-<key>.pem, reused and extended across invocations) and the runs;
# BENCH_BIN (default ./certspool) the binary, e.g. to compare two builds.
# Needs for the HSM CAs: softhsm2 (/usr/lib/softhsm/libsofthsm2.so),
# libp11-kit-dev and pkg-config (installed if missing, like the rest).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BENCH_BIN:-$ROOT/certspool}
BD=${BENCH_DIR:-$ROOT/tests/tmp/bench}
export CERTSPOOL_SCHEMA_DIR=$ROOT/schemas

NS="10000"
CAS="p384 rsa4096 rsa2048 hsm-p384 hsm-rsa4096"
RSSNS="1000 100000"
KEY=p256
PERFILE=10000
WORKERS=0
DROPS=50
CFSSL=1
CFSSL_SECONDS=10
SPEED_SECONDS=3
P11_SECONDS=10
PERF=0
KEEP=0
SETUP_ONLY=0
LATDIR=""
SETTLE=2
REVOKEN=100000
REVOKEPER=""
REVOKETIMEOUT=900
FAIRN=100000
FAIRDROPS=20
FAIRROUNDS=2
ENGINE=sqlite
DAEMONS="1 2"
PGACCOUNTS=""
CAS_SET=0
SMOKE=0
DBURI=""
while [ $# -gt 0 ]; do
	case $1 in
	--n) NS=$2; shift ;;
	--ca) CAS=$2; CAS_SET=1; shift ;;
	--rss-n) RSSNS=$2; shift ;;
	--key) KEY=$2; shift ;;
	--per-file) PERFILE=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--drops) DROPS=$2; shift ;;
	--no-cfssl) CFSSL=0 ;;
	--cfssl-seconds) CFSSL_SECONDS=$2; shift ;;
	--speed-seconds) SPEED_SECONDS=$2; shift ;;
	--p11-seconds) P11_SECONDS=$2; shift ;;
	--perf) PERF=1 ;;
	--keep) KEEP=1 ;;
	--latency-dir) LATDIR=$2; shift ;;
	--settle) SETTLE=$2; shift ;;
	--revoke-n) REVOKEN=$2; shift ;;
	--revoke-per-order) REVOKEPER=$2; shift ;;
	--revoke-timeout) REVOKETIMEOUT=$2; shift ;;
	--fair-n) FAIRN=$2; shift ;;
	--fair-drops) FAIRDROPS=$2; shift ;;
	--fair-rounds) FAIRROUNDS=$2; shift ;;
	--engine) ENGINE=$2; shift ;;
	--daemons) DAEMONS=$2; shift ;;
	--pg-accounts) PGACCOUNTS=$2; shift ;;
	--setup-only) SETUP_ONLY=1; KEEP=1; CFSSL=0; DROPS=0 ;;
	--smoke) SMOKE=1; NS=200; CAS="p384 rsa2048 hsm-p384"; RSSNS=""; CFSSL=0
		DROPS=5; SPEED_SECONDS=1; P11_SECONDS=1; PERFILE=10000
		REVOKEN=300; REVOKEPER=3; FAIRN=2000; FAIRDROPS=3
		FAIRROUNDS=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	*) echo "bench: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case $ENGINE in
sqlite) ;;
postgresql)
	# the throughput runs only
	[ "$CAS_SET" = 1 ] || CAS=p384
	[ "$SMOKE" = 1 ] && NS=100
	RSSNS="" CFSSL=0 DROPS=0 REVOKEN="" FAIRN="" PERF=0
	for d in $DAEMONS; do
		[ "$d" -ge 1 ] 2>/dev/null || { echo "bench: --daemons takes counts >= 1" >&2; exit 2; }
		[ -n "$PGACCOUNTS" ] && continue
		[ "$d" -gt "${maxd:-2}" ] && maxd=$d
	done
	PGACCOUNTS=${PGACCOUNTS:-${maxd:-2}}
	;;
*) echo "bench: --engine is sqlite or postgresql" >&2; exit 2 ;;
esac
case $KEY in
p256) SPEED_VERIFY=ecdsap256 ;;
rsa2048) SPEED_VERIFY=rsa2048 ;;
*) echo "bench: --key is p256 or rsa2048" >&2; exit 2 ;;
esac
HSM=0
for ca in $CAS; do
	case $ca in p384|rsa4096|rsa2048) ;;
	hsm-p384|hsm-rsa4096) HSM=1 ;;
	*)	echo "bench: --ca takes p384, rsa4096, rsa2048, hsm-p384 and/or" \
		    "hsm-rsa4096" >&2
		exit 2 ;;
	esac
done

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- tools -----------------------------------------------------------
need_pkgs=""
want() { command -v "$1" >/dev/null 2>&1 || need_pkgs="$need_pkgs $2"; }
want cc build-essential
want openssl openssl
want sqlite3 sqlite3
want pgrep procps
want python3 python3
[ -x /usr/bin/time ] || need_pkgs="$need_pkgs time"
[ -f /usr/include/openssl/evp.h ] || need_pkgs="$need_pkgs libssl-dev"
if [ "$CFSSL" = 1 ]; then
	want wrk wrk
	want cfssl golang-cfssl
fi
if [ "$PERF" = 1 ]; then
	want perf linux-perf
fi
P11MOD=/usr/lib/softhsm/libsofthsm2.so
if [ "$HSM" = 1 ]; then
	want softhsm2-util softhsm2
	want pkg-config pkg-config
	[ -f /usr/include/p11-kit-1/p11-kit/pkcs11.h ] ||
	    need_pkgs="$need_pkgs libp11-kit-dev"
fi
if [ -n "$need_pkgs" ]; then
	say "bench: installing:$need_pkgs"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq $need_pkgs >/dev/null
fi
[ -x "$BIN" ] || die "$BIN is missing: run make first"

mkdir -p "$BD"
GENCSR=$BD/gencsr
if [ ! -x "$GENCSR" ] || [ "$ROOT/scripts/gencsr.c" -nt "$GENCSR" ]; then
	cc -O2 -o "$GENCSR.tmp" "$ROOT/scripts/gencsr.c" -lcrypto &&
	    mv "$GENCSR.tmp" "$GENCSR" || die "cannot build gencsr"
fi
P11RATE=$BD/p11rate
if [ "$HSM" = 1 ]; then
	[ -f "$P11MOD" ] || die "$P11MOD is missing (Debian softhsm2)"
	if [ ! -x "$P11RATE" ] || [ "$ROOT/scripts/p11rate.c" -nt "$P11RATE" ]; then
		# shellcheck disable=SC2046
		cc -O2 -o "$P11RATE.tmp" "$ROOT/scripts/p11rate.c" \
		    $(pkg-config --cflags --libs p11-kit-1) -lcrypto -lpthread &&
		    mv "$P11RATE.tmp" "$P11RATE" || die "cannot build p11rate"
	fi
fi

CORES=$(nproc)
# the daemon's signing threads: workers, 0 = one per online CPU
SIGN_THREADS=$WORKERS
[ "$SIGN_THREADS" -gt 0 ] || SIGN_THREADS=$(getconf _NPROCESSORS_ONLN)
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MACHINE="${MODEL:-unknown CPU}, $CORES cores"

# ---- CSR cache -------------------------------------------------------
# csr_cache COUNT: at least COUNT distinct CSRs in $CACHE.
CACHE=$BD/csr-$KEY.pem
csr_cache() {
	have=0
	[ -f "$CACHE" ] && have=$(grep -c 'BEGIN CERTIFICATE REQUEST' "$CACHE")
	[ "$have" -ge "$1" ] && return 0
	more=$(( $1 - have ))
	say "generating $more $KEY CSRs (cache $CACHE has $have)"
	t0=$(date +%s)
	"$GENCSR" "$KEY" "$more" "$CACHE.new.$$" "$CORES" || die "gencsr failed"
	if [ -f "$CACHE" ]; then
		cat "$CACHE" "$CACHE.new.$$" >"$CACHE.tmp.$$"
		rm -f "$CACHE.new.$$"
	else
		mv "$CACHE.new.$$" "$CACHE.tmp.$$"
	fi
	mv "$CACHE.tmp.$$" "$CACHE"
	say "  done in $(( $(date +%s) - t0 )) s"
}

# ---- raw limit from openssl speed -----------------------------------
# Per-second rates on one core; "-multi 1" runs the timing in a child.
# speed_alg CA: its openssl speed algorithm.
speed_alg() {
	case ${1#hsm-} in p384) echo ecdsap384 ;; *) echo "${1#hsm-}" ;; esac
}
SPEED_ALGS=$SPEED_VERIFY
for ca in $CAS; do
	a=$(speed_alg "$ca")
	case " $SPEED_ALGS " in *" $a "*) ;; *) SPEED_ALGS="$SPEED_ALGS $a" ;; esac
done
say "machine: $MACHINE"
say "openssl speed -seconds $SPEED_SECONDS -multi 1 $SPEED_ALGS"
SPEED_OUT=$BD/speed.txt
# shellcheck disable=SC2086
openssl speed -seconds "$SPEED_SECONDS" -multi 1 $SPEED_ALGS >"$SPEED_OUT" 2>/dev/null ||
    die "openssl speed failed"
# rate ALG sign|verify: operations per second on one core.
rate() {
	case ${1#hsm-} in
	rsa*) bits=${1#hsm-}; bits=${bits#rsa}
		awk -v b="$bits" -v w="$2" '$1 == "rsa" && $2 == b && $3 ~ /^bits/ {
		    print (w == "sign" ? $(NF-1) : $NF); exit }' "$SPEED_OUT" ;;
	ecdsap256) awk -v w="$2" '/ecdsa \(nistp256\)/ {
		    print (w == "sign" ? $(NF-1) : $NF); exit }' "$SPEED_OUT" ;;
	p384|ecdsap384) awk -v w="$2" '/ecdsa \(nistp384\)/ {
		    print (w == "sign" ? $(NF-1) : $NF); exit }' "$SPEED_OUT" ;;
	esac
}
VERIFY_RATE=$(rate "$SPEED_VERIFY" verify)
[ -n "$VERIFY_RATE" ] || die "cannot read $SPEED_VERIFY verify/s from openssl speed"
say "  $SPEED_VERIFY verify: $VERIFY_RATE/s per core"
for ca in $CAS; do
	r=$(rate "$ca" sign)
	[ -n "$r" ] || die "cannot read $ca sign/s from openssl speed"
	say "  $ca sign: $r/s per core"
done
# limit CA: certificates/s if every core did nothing but sign and verify.
limit() {
	awk -v c="$CORES" -v s="$(rate "$1" sign)" -v v="$VERIFY_RATE" \
	    'BEGIN { printf "%.1f", c / (1 / s + 1 / v) }'
}

# ---- one certspool directory -----------------------------------------
# setup_dir DIR CA: init, CA, account "bench", validated org + domain;
# HASH: the signatureHash its batches ask (a P-384 CA signs with sha384
# only, S/MIME BR 7.1.3.2.2).
# Directories to delete when the benchmark ends, not before a run: on an
# ext4 without a journal, creating a file skips every inode freed in the
# last minute or more, and deleting a previous run's 10,000+ files right
# before a run made its file creations several times slower.
TRASH=$BD/trash.$$
discard() {
	[ -e "$1" ] || return 0
	mkdir -p "$TRASH"
	mv "$1" "$TRASH/$(basename "$1").$(date +%s%N)"
}
trap 'rm -rf "$TRASH"' EXIT

setup_dir() {
	W=$1
	discard "$W"
	mkdir -p "$W"
	HASH=sha256
	case $2 in
	p384|hsm-p384) HASH=sha384; initkey=p384 ;;
	rsa4096|hsm-rsa4096) initkey=rsa4096 ;;
	*) initkey=p384 ;;	# the demo root under the imported RSA-2048 CA
	esac
	case $2 in
	hsm-*)	# a SoftHSM2 token of the run's own; init makes the key in it
		H=$W/hsm
		mkdir -p "$H/tokens"
		printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		    "$H" >"$H/softhsm2.conf"
		export SOFTHSM2_CONF=$H/softhsm2.conf
		softhsm2-util --init-token --free --label certspool-bench \
		    --so-pin 87654321 --pin 246810 >/dev/null 2>&1 ||
		    die "softhsm2-util --init-token failed"
		printf '246810\n' >"$H/pin"
		chmod 600 "$H/pin"
		"$BIN" init "$W" ${DBURI:+--database "$DBURI"} \
		    --hsm "$P11MOD" --token certspool-bench \
		    --pin-file "$H/pin" --ca-key "$initkey" >/dev/null ||
		    die "certspool init --hsm failed"
		;;
	*)	"$BIN" init "$W" ${DBURI:+--database "$DBURI"} \
		    --ca-key "$initkey" >/dev/null ||
		    die "certspool init failed" ;;
	esac
	sed -i -e "s/^settle_seconds = .*/settle_seconds = 0/" \
	    -e "s/^workers = .*/workers = $WORKERS/" "$W/certspool.conf"
	if [ "$2" = rsa2048 ]; then
		make_ca2048 "$W" || die "cannot make the RSA-2048 issuing CA"
	fi
	add_account bench "Bench Corp" bench.example
}

# add_account ACCOUNT ORG DOMAIN: in $W, an account with prepaid units
# and a balance (issuance never waits for funds), a validated
# organization and domain (CLI and mail spool only).
add_account() {
	cs() { "$BIN" --config "$W/certspool.conf" "$@"; }
	cs account add "$1" --contract "C-$1" --units 100000000 \
	    --balance 100000000000 >/dev/null || die "account add failed"
	oid=$(cs org add "$1" "$2" --country US --org-id NTRUS+CA-1234567) ||
	    die "org add failed"
	oid=${oid#organization }; oid=${oid%% *}	# "organization ID ..."
	code=$(cs org request "$oid" | tail -n 1 | awk '{print $NF}')
	cs org verify "$oid" "$code" >/dev/null || die "org verify failed"
	cs domain add "$oid" "$3" >/dev/null || die "domain add failed"
	cs domain dcv "$3" --org "$oid" >/dev/null || die "dcv failed"
	f=$(grep -l "^To: admin@$3" "$W"/spool/mail/*.eml | head -n 1)
	tok=$(tr -d '\r' <"$f" |
	    sed -n 's/.*certspool domain confirm \([A-Za-z0-9_-]*\).*/\1/p' |
	    head -n 1)
	cs domain confirm "$tok" >/dev/null || die "domain confirm failed"
	rm -f "$W"/spool/mail/*.eml
}

# An RSA-2048 issuing CA under the demo root, imported with `ca import`.
make_ca2048() {
	d=$1/ca2048
	mkdir -p "$d"
	cat >"$d/ext.cnf" <<-EOF
	basicConstraints = critical,CA:TRUE,pathlen:0
	keyUsage = critical,keyCertSign,cRLSign
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid:always
	extendedKeyUsage = emailProtection,clientAuth
	certificatePolicies = 2.23.140.1.5.1.2,2.23.140.1.5.1.3,2.23.140.1.5.2.2,2.23.140.1.5.2.3,2.23.140.1.5.3.2,2.23.140.1.5.3.3
	crlDistributionPoints = URI:http://crl.certspool.invalid/root.crl
	authorityInfoAccess = caIssuers;URI:http://aia.certspool.invalid/root.cer
	EOF
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$d/ca.key" 2>/dev/null &&
	openssl req -new -key "$d/ca.key" -out "$d/ca.csr" \
	    -subj "/C=US/O=certspool bench/CN=certspool Bench RSA-2048 Issuing CA" &&
	openssl x509 -req -in "$d/ca.csr" -CA "$1/ca/root.pem" \
	    -CAkey "$1/ca/root.key" -set_serial "0x$(openssl rand -hex 16)" \
	    -days 3650 -sha384 -extfile "$d/ext.cnf" -out "$d/ca.pem" \
	    2>/dev/null &&
	cat "$d/ca.pem" "$1/ca/root.pem" >"$d/chain.pem" &&
	mkdir "$1/ca.demo" && mv "$1/ca/ca.pem" "$1/ca/ca.key" \
	    "$1/ca/chain.pem" "$1/ca.demo/" &&
	"$BIN" --config "$1/certspool.conf" ca import "$d/ca.pem" \
	    "$d/ca.key" "$d/chain.pem" >/dev/null
}

# make_batches OUTDIR N FIRST TAG [R]: batch files of orders of R
# recipients (default 1) with CSRs FIRST..FIRST+N-1 of the cache (at most
# $PERFILE recipients a file).
make_batches() {
	mkdir -p "$1"
	awk -v n="$2" -v first="$3" -v per="$PERFILE" -v dir="$1" -v tag="$4" \
	    -v r="${5:-1}" -v hash="$HASH" '
	function open_file() {
		if (out != "") { print "</batch>" > out; close(out) }
		k++
		out = sprintf("%s/%s-%03d.xml", dir, tag, k)
		print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" > out
		printf "<batch xmlns=\"urn:certspool:batch:1\" id=\"%s-%03d\" account=\"bench\">\n", tag, k > out
	}
	/BEGIN CERTIFICATE REQUEST/ { pem = $0 "\n"; next }
	/END CERTIFICATE REQUEST/ {
		pem = pem $0
		if (idx++ < first) next
		if (i >= n) exit
		if (i % r == 0) {
			if (i > 0) print "<agreement accepted=\"true\"/></order>" > out
			if (per < r || i % (per - per % r) == 0) open_file()
			printf "<order id=\"O%06d\"><product>secure_email_organization</product>" \
			    "<organization>Bench Corp</organization><signatureHash>%s</signatureHash>" \
			    "<validity><years>1</years></validity><autoRenew>0</autoRenew>\n", \
			    i / r + 1, hash > out
		}
		i++
		e = sprintf("u%06d@bench.example", i)
		printf "<recipient><commonName type=\"email\">%s</commonName><email>%s</email>" \
		    "<csr>%s</csr></recipient>\n", e, e, pem > out
		next
	}
	{ pem = pem $0 "\n" }
	END {
		if (out != "") {
			print "<agreement accepted=\"true\"/></order>" > out
			print "</batch>" > out; close(out)
		}
		if (i < n) { print "bench: only " i " CSRs in the cache" > "/dev/stderr"; exit 1 }
	}' "$CACHE"
}

# Peak RSS in KiB and elapsed seconds from a /usr/bin/time -v file.
rss_kib() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }

RESULTS=$BD/results.$$
: >"$RESULTS"
FAILED=0

# p11rate_run DIR WHEN: SoftHSM's own rate on the run's key with as many
# threads as the daemon signs on (workers: the signer serves workers + 1
# channels, issuance uses at most workers at once); the rate alone in
# DIR/p11rate-WHEN.txt.  Measured before and after the run: the machine
# is shared and its load drifts.
p11rate_run() {
	uri=$(sed -n 's/^ca_key = "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1/certspool.conf")
	: >"$1/p11rate-$2.txt"
	if "$P11RATE" "$P11MOD" "$uri" "$1/hsm/pin" "$SIGN_THREADS" \
	    "$P11_SECONDS" >"$1/p11rate-$2.log" 2>&1; then
		say "SoftHSM $2 the run: $(cat "$1/p11rate-$2.log"), load average (1 min) after it $(cut -d' ' -f1 /proc/loadavg)"
		awk '/^signatures\/s: / { c = $0; sub(/.*; /, "", c)
		    print $2, c + 0 }' "$1/p11rate-$2.log" >"$1/p11rate-$2.txt"
	else
		say "SoftHSM rate $2 the run: failed: $(cat "$1/p11rate-$2.log")"
		FAILED=1
	fi
}

# run_one CA N: the throughput run; appends a line to $RESULTS.
run_one() {
	ca=$1 n=$2
	W=$BD/run-$ca-$n
	say ""
	say "== run: CA $ca, CSR $KEY, N $n"
	setup_dir "$W" "$ca"
	make_batches "$W/stage" "$n" 0 BENCH || die "cannot make batches"
	nfiles=$(ls "$W/stage" | wc -l)
	bytes=$(cat "$W"/stage/*.xml | wc -c)
	for f in "$W"/stage/*.xml; do
		b=$(basename "$f")
		mv "$f" "$W/spool/inbound/bench/$b.part"
		mv "$W/spool/inbound/bench/$b.part" "$W/spool/inbound/bench/$b"
	done
	big=$(ls -l "$W"/spool/inbound/bench/*.xml | awk '$5 > m { m = $5 } END { print m + 0 }')
	if [ "$big" -gt 67108864 ]; then
		sed -i "s/^max_batch_bytes = .*/max_batch_bytes = $big/" "$W/certspool.conf"
		say "note: max_batch_bytes raised to $big for this run"
	fi
	sync
	if [ "$SETUP_ONLY" = 1 ]; then
		say "prepared: $W ($nfiles files); run: $BIN --config $W/certspool.conf daemon --once"
		return 0
	fi
	case $ca in hsm-*) p11rate_run "$W" before ;; esac
	load0=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(date +%s%N)
	/usr/bin/time -v -o "$W/time.txt" "$BIN" --config "$W/certspool.conf" \
	    daemon --once >"$W/daemon.log" 2>&1 || true
	t1=$(date +%s%N)
	issued=$(sqlite3 "$W/certspool.db" "SELECT count(*) FROM certificate WHERE state = 'issued'")
	results=$(ls "$W"/spool/outbound/bench/*.result.xml 2>/dev/null | wc -l)
	mails=$(ls "$W"/spool/mail 2>/dev/null | wc -l)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	cps=$(awk -v n="$issued" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
	lim=$(limit "$ca")
	ratio=$(awk -v a="$cps" -v b="$lim" 'BEGIN { printf "%.2f", a / b }')
	rss=$(rss_kib "$W/time.txt")
	rssm=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
	cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 }
	    END { printf "%.2f user + %.2f sys", u, s }' "$W/time.txt")
	cpc=$(awk -F': ' -v n="$issued" '/User time/ { u = $2 } /System time/ { s = $2 }
	    END { printf "%.0f", n ? (u + s) * 1e6 / n : 0 }' "$W/time.txt")
	load1=$(cut -d' ' -f1 /proc/loadavg)
	say "batch files: $nfiles ($bytes bytes)"
	say "issued: $issued/$n (result.xml files: $results, mails: $mails)"
	say "elapsed: $secs s ($cpu s CPU, $cpc us CPU per certificate)"
	say "load average (1 min) before/after: $load0/$load1 (other work on the machine skews timings)"
	say "certs/s: $cps"
	say "raw limit: $lim certs/s ($CORES cores / ($ca sign + $KEY verify))"
	say "ratio: $ratio (target >= 0.85)"
	# Load-independent view: of the CPU the daemon used, the share that
	# the signatures and CSR verifications alone need (openssl speed).
	share=$(awk -F': ' -v n="$issued" -v s="$(rate "$ca" sign)" -v v="$VERIFY_RATE" \
	    '/User time/ { u = $2 } /System time/ { t = $2 }
	    END { printf "%.2f", ((u + t) > 0 ? n * (1 / s + 1 / v) / (u + t) : 0) }' "$W/time.txt")
	say "CPU share of signing + CSR verification: $share (1.00 = the daemon did nothing else)"
	say "peak RSS: $rssm MiB"
	phases "$W/certspool.db"
	p11r="-" p11ratio="-" p11cpu="-"
	case $ca in hsm-*)
		p11rate_run "$W" after
		if [ -s "$W/p11rate-before.txt" ] && [ -s "$W/p11rate-after.txt" ]; then
			p11r=$(cat "$W/p11rate-before.txt" "$W/p11rate-after.txt" |
			    awk '{ s += $1 } END { printf "%.1f", s / 2 }')
			p11ratio=$(awk -v a="$cps" -v b="$p11r" 'BEGIN { printf "%.2f", a / b }')
			say "SoftHSM signatures/s: $p11r (mean of the loops before and after the run, $SIGN_THREADS threads)"
			say "SoftHSM ratio: $p11ratio (certspool $cps certs/s / SoftHSM $p11r signatures/s; target >= 0.85)"
			# load-independent: CPU per token signature over the
			# daemon's (and signer's) CPU per certificate
			p11cpu=$(cat "$W/p11rate-before.txt" "$W/p11rate-after.txt" |
			    awk -v c="$cpc" '{ s += $2 } END { printf "%.2f", (c > 0 ? s / 2 / c : 0) }')
			say "SoftHSM CPU ratio: $p11cpu (SoftHSM's CPU per signature / certspool's $cpc us CPU per certificate; 1.00 = nothing but the token's signature)"
		else
			FAILED=1
		fi
		;;
	esac
	[ "$issued" -eq "$n" ] || {
		say "bench: run $ca/$n issued $issued of $n; see $W/daemon.log"
		FAILED=1
	}
	cfr="-"
	if [ "$CFSSL" = 1 ] && [ "$3" = cfssl ]; then
		cfssl_run "$W" "$n" && cfr=$(awk -v a="$cps" -v b="$CFSSL_RPS" \
		    'BEGIN { printf "%.2f", a / b }')
		say "cfssl ratio: $cfr (certspool $cps / cfssl $CFSSL_RPS certs/s; target >= 4)"
	fi
	if [ "$PERF" = 1 ]; then
		perf_run "$ca" "$n"
	fi
	printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$ca" "$KEY" "$n" \
	    "$cps" "$lim" "$ratio" "$rssm" "$cfr" "$secs" "$share" "$p11r" \
	    "$p11ratio" "$load0/$load1" "$p11cpu" >>"$RESULTS"
	[ "$KEEP" = 1 ] || [ "$PERF" = 1 ] || discard "$W"
}

# Coarse phase times from the event log (clock_now, 1 s resolution).
phases() {
	sqlite3 -batch -noheader -separator ' ' "$1" "
	    SELECT 'phases (s, from event times, +-1 s): intake',
	      (SELECT max(at) - min(at) FROM event WHERE kind IN ('batch_received', 'input_accepted')),
	      ', evaluate', (SELECT max(at) - min(at) FROM event WHERE kind IN ('recipient_state', 'order_state') AND to_state = 'approved'),
	      ', sign', (SELECT max(at) - min(at) FROM event WHERE kind = 'certificate_issued'),
	      ', publish', (SELECT max(at) FROM event WHERE kind = 'result_written') -
	        (SELECT max(at) FROM event WHERE kind = 'certificate_issued');" |
	    sed 's/ , /, /g'
}

# A second, identical run under perf record.  perf.txt: top symbols;
# perf-summary.txt: CPU by daemon step (outermost certspool function) and
# by cost class (innermost library call of interest).  For exact
# attribution build without inlining first:
#   CFLAGS="-O2 -g -fno-omit-frame-pointer -fno-inline-functions \
#     -fno-inline-small-functions -fno-inline-functions-called-once" make
perf_run() {
	P=$BD/perf-$1-$2
	say "perf: recording a second run into $P"
	setup_dir "$P" "$1"
	make_batches "$P/stage" "$2" 0 BENCH
	for f in "$P"/stage/*.xml; do
		mv "$f" "$P/spool/inbound/bench/$(basename "$f")"
	done
	perf record -F 199 --call-graph dwarf,16384 -o "$P/perf.data" -- \
	    "$BIN" --config "$P/certspool.conf" daemon --once \
	    >"$P/daemon.log" 2>&1 || true
	perf report -i "$P/perf.data" --no-children --sort dso,symbol \
	    --stdio -g none 2>/dev/null | grep '%' | head -n 60 >"$P/perf.txt" || true
	perf script -i "$P/perf.data" -F tid,ip,sym 2>/dev/null |
	    python3 -c "$PERF_FOLD" >"$P/perf-summary.txt" || true
	say "perf: $P/perf.txt, $P/perf-summary.txt"
	cat "$P/perf-summary.txt"
}
PERF_FOLD='
import sys, collections
STEPS = ["spool_intake", "pipeline_evaluate", "phase_build", "phase_sign",
    "signer_run", "report_publish"]
CLASSES = [("RSA_sign", "RSA signature"), ("ossl_ecdsa_sign_sig", "ECDSA signature"),
    ("OSSL_DECODER_CTX_new_for_pkey", "OpenSSL 3.0 key decoder setup (d2i of a public key)"),
    ("OSSL_ENCODER_CTX_new_for_pkey", "OpenSSL 3.0 key encoder setup (i2d_PUBKEY)"),
    ("sqlite3_prepare_v2", "SQLite statement preparation"), ("sqlite3_step", "SQLite execution"),
    ("__GI_fsync", "fsync (kernel CPU only; waiting is not sampled)"),
    ("fsync", "fsync (kernel CPU only; waiting is not sampled)"),
    ("EC_GROUP_new_by_curve_name_ex", "EC_GROUP_new"),
    ("EC_POINT_mul", "EC scalar multiplication (CSR verify, key check)"),
    ("deflate", "gzip"), ("xmlTextReaderRead", "XML parse")]
cls_of = dict(CLASSES)
tot = 0
by_step = collections.Counter(); by_cls = collections.Counter(); both = collections.Counter()
def flush(stack):
    global tot
    if not stack:
        return
    tot += 1
    step = "other (start-up, libc, kernel)"
    for s in reversed(stack):
        if s in STEPS:
            step = s
            if s in ("phase_build", "phase_sign"):
                break
    cls = "other"
    for s in stack:
        if s in cls_of:
            cls = cls_of[s]
            break
    by_step[step] += 1; by_cls[cls] += 1; both[(step, cls)] += 1
stack = []
for line in sys.stdin:
    if not line.strip():
        flush(stack); stack = []
    elif line[0] == "\t":
        f = line.split(None, 1)
        if len(f) == 2:
            stack.append(f[1].strip().replace(" (inlined)", ""))
flush(stack)
if not tot:
    sys.exit("no samples")
p = lambda n: "%5.1f%%" % (100.0 * n / tot)
print("samples: %d" % tot)
print("by step (outermost certspool function):")
for k, v in by_step.most_common(): print("  " + p(v), k)
print("by cost class (innermost match):")
for k, v in by_cls.most_common(): print("  " + p(v), k)
print("step x class (>= 1%):")
for (a, b), v in both.most_common():
    if v * 100 >= tot: print("  " + p(v), a, "/", b)
'

# cfssl serve with the run's issuing CA, wrk POSTing the same CSRs.
CFSSL_RPS=0
cfssl_run() {
	W=$1
	C=$W/cfssl
	mkdir -p "$C"
	cat >"$C/config.json" <<-'EOF'
	{"signing": {"default": {"expiry": "8760h",
	  "usages": ["digital signature", "key encipherment", "email protection"]}}}
	EOF
	awk -v n="$2" '
	/BEGIN CERTIFICATE REQUEST/ { pem = $0 "\\n"; next }
	/END CERTIFICATE REQUEST/ {
		printf "{\"certificate_request\": \"%s%s\\n\"}\n", pem, $0
		if (++i >= n) exit
		next
	}
	{ pem = pem $0 "\\n" }' "$CACHE" >"$C/bodies.jsonl"
	cat >"$C/sign.lua" <<-'EOF'
	local bodies, i = {}, 0
	function init(args)
	  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
	  i = math.random(#bodies)
	end
	function request()
	  i = i % #bodies + 1
	  return wrk.format("POST", "/api/v1/cfssl/sign",
	    {["Content-Type"] = "application/json"}, bodies[i])
	end
	EOF
	port=$(( 20000 + $$ % 20000 ))
	cfssl serve -address 127.0.0.1 -port "$port" -ca "$W/ca/ca.pem" \
	    -ca-key "$W/ca/ca.key" -config "$C/config.json" -loglevel 4 \
	    >"$C/cfssl.log" 2>&1 &
	cpid=$!
	ok=0
	for _ in $(seq 1 100); do
		if python3 - "$port" "$C/bodies.jsonl" >"$C/probe.txt" 2>&1 <<-'EOF'
		import json, sys, urllib.request
		body = open(sys.argv[2], "rb").readline()
		req = urllib.request.Request("http://127.0.0.1:%s/api/v1/cfssl/sign" % sys.argv[1],
		    data=body, headers={"Content-Type": "application/json"})
		r = json.load(urllib.request.urlopen(req, timeout=5))
		assert r["success"] and "BEGIN CERTIFICATE" in r["result"]["certificate"], r
		EOF
		then ok=1; break; fi
		sleep 0.1
	done
	if [ "$ok" != 1 ]; then
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" 2>/dev/null || true
		say "cfssl: no signed certificate from cfssl serve; see $C"
		FAILED=1
		return 1
	fi
	wrk -t "$CORES" -c $(( CORES * 4 )) -d "${CFSSL_SECONDS}s" \
	    -s "$C/sign.lua" "http://127.0.0.1:$port" -- "$C/bodies.jsonl" \
	    >"$C/wrk.txt" 2>&1 || true
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	CFSSL_RPS=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$C/wrk.txt")
	bad=$(awk '/Non-2xx/ { print $NF }' "$C/wrk.txt")
	say "cfssl serve: $CFSSL_RPS certs/s (wrk -t $CORES -c $(( CORES * 4 )) -d ${CFSSL_SECONDS}s${bad:+, $bad non-2xx})"
	[ -n "$CFSSL_RPS" ] && [ -z "$bad" ]
}

# Pickup latency: a running daemon, one-order batches renamed into
# inbound/ one at a time; time until the pass's result.xml exists.
LAT="-"
latency_run() {
	W=$BD/run-latency
	say ""
	if [ -n "$LATDIR" ]; then
		W=$LATDIR
		say "== pickup latency: $DROPS one-order batches into $W ($(sqlite3 "$W/certspool.db" "SELECT count(*) FROM certificate") certificates in its database), daemon running (inotify)"
	else
		say "== pickup latency: $DROPS one-order batches, daemon running (inotify, ready = settle, settle_seconds = $SETTLE)"
		setup_dir "$W" "$1"
		sed -i "s/^settle_seconds = .*/settle_seconds = $SETTLE/" \
		    "$W/certspool.conf"
	fi
	"$BIN" --config "$W/certspool.conf" daemon >"$W/daemon.log" 2>&1 &
	dpid=$!
	python3 "$ROOT/scripts/benchdrop.py" latency "$W/spool" "$CACHE" \
	    "$DROPS" "$LATSKIP" "$HASH" >"$W/latency.txt" 2>&1 || true
	kill -TERM "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	if grep -q '^samples' "$W/latency.txt"; then
		LAT=$(awk '/^samples/ { printf "p50 %s ms, p99 %s ms (max %s, min %s, %s drops)", $4, $6, $8, $10, $2 }' "$W/latency.txt")
		say "pickup latency: $LAT (target p99 <= 250 ms)"
	else
		say "pickup latency: failed: $(cat "$W/latency.txt"); see $W/daemon.log"
		FAILED=1
	fi
	[ "$KEEP" = 1 ] || [ -n "$LATDIR" ] || discard "$W"
}

# ---- revocation drill ------------------------------------------------
# entries(der): the number of entries of a DER CRL, counted as the
# children of tbsCertList's revokedCertificates (absent: 0); Python, run
# by the drill's poller.
CRL_COUNT='
import sys
def hdr(b, i):
    t = b[i]; l = b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f
        l = int.from_bytes(b[i:i + n], "big"); i += n
    return t, l, i
def entries(b):
    t, l, i = hdr(b, 0)          # CertificateList
    t, l, i = hdr(b, i)          # tbsCertList
    end = i + l
    t, l, j = hdr(b, i)
    if t == 0x02:                # version
        i = j + l
    for _ in range(3):           # signature, issuer, thisUpdate
        t, l, j = hdr(b, i); i = j + l
    t, l, j = hdr(b, i)
    if t in (0x17, 0x18):        # nextUpdate
        i = j + l
        t, l, j = hdr(b, i)
    if i >= end or t != 0x30:
        return 0
    n, k, stop = 0, j, j + l
    while k < stop:
        t, l2, m = hdr(b, k); k = m + l2; n += 1
    return n
'
REVRES=""
revoke_run() {
	ca=$1 n=$2
	per=$REVOKEPER
	[ -n "$per" ] || per=$(( (n + 9999) / 10000 ))
	norders=$(( (n + per - 1) / per ))
	W=$BD/run-revoke-$ca-$n
	say ""
	say "== revocation drill: CA $ca, $n certificates in $norders orders of $per, 4 CRL shards"
	setup_dir "$W" "$ca"
	sed -i -e "s|^crl_url = .*|crl_url = http://crl.bench.invalid/bench-{shard}.crl|" \
	    -e "s/^crl_shards = .*/crl_shards = 4/" "$W/certspool.conf"
	make_batches "$W/stage" "$n" 0 DRILL "$per" || die "cannot make batches"
	for f in "$W"/stage/*.xml; do
		mv "$f" "$W/spool/inbound/bench/$(basename "$f")"
	done
	big=$(ls -l "$W"/spool/inbound/bench/*.xml | awk '$5 > m { m = $5 } END { print m + 0 }')
	[ "$big" -gt 67108864 ] &&
	    sed -i "s/^max_batch_bytes = .*/max_batch_bytes = $big/" "$W/certspool.conf"
	t0=$(date +%s)
	"$BIN" --config "$W/certspool.conf" daemon --once >"$W/issue.log" 2>&1 || true
	issued=$(sqlite3 "$W/certspool.db" "SELECT count(*) FROM certificate WHERE state = 'issued'")
	say "drill issued: $issued/$n in $(( $(date +%s) - t0 )) s"
	if [ "$issued" -ne "$n" ]; then
		say "bench: the drill issued $issued of $n; see $W/issue.log"
		FAILED=1
		return 0
	fi
	# the messages of the issuance are not the drill's
	discard "$W/spool/mail" && mkdir "$W/spool/mail"
	# ONE document: a <revoke> per order
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<revocation xmlns="urn:certspool:batch:1" id="DRILL-LEAVERS" account="bench" created="2026-12-04T22:00:00Z">'
		sqlite3 -batch -noheader -separator ' ' "$W/certspool.db" \
		    "SELECT o.ext_id, b.ext_id FROM orders o JOIN batch b ON b.id = o.batch_id ORDER BY o.id" |
		    awk '{ printf "<revoke order=\"%s\" batch=\"%s\" reason=\"affiliationChanged\"/>\n", $1, $2 }'
		echo '</revocation>'
	} >"$W/DRILL-LEAVERS.xml"
	nsel=$(grep -c '<revoke ' "$W/DRILL-LEAVERS.xml")
	# a running daemon, idle: its peak so far (start-up pass included)
	"$BIN" --config "$W/certspool.conf" daemon >"$W/daemon.log" 2>&1 &
	dpid=$!
	for _ in $(seq 1 600); do
		grep -q 'daemon started' "$W/daemon.log" && break
		sleep 0.1
	done
	sleep 3
	idle=$(awk '/^VmHWM:/ { print $2 }' "/proc/$dpid/status" 2>/dev/null || echo 0)
	idlerss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status" 2>/dev/null || echo 0)
	# drop, then poll the CRLs until they list all n
	python3 - "$W" "$n" "$dpid" "$REVOKETIMEOUT" >"$W/drill.txt" <<-'EOF' || true
	import os, subprocess, sys, time
	W, n, pid, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
	crld = os.path.join(W, "spool", "crl")
	inb = os.path.join(W, "spool", "inbound", "bench")
	exec(compile(os.environ["CRL_COUNT_FN"], "crl_count", "exec"), globals())
	def count():
	    tot, per = 0, {}
	    for f in sorted(os.listdir(crld)):
	        if f.startswith("bench-") and f.endswith(".crl"):
	            b = open(os.path.join(crld, f), "rb").read()
	            k = entries(b)
	            per[f] = (k, len(b))
	            tot += k
	    return tot, per
	def hwm():
	    for line in open("/proc/%s/status" % pid):
	        if line.startswith("VmHWM:"):
	            return int(line.split()[1])
	    return 0
	tot0, _ = count()
	part = os.path.join(inb, "DRILL-LEAVERS.xml.part")
	with open(os.path.join(W, "DRILL-LEAVERS.xml"), "rb") as f, open(part, "wb") as g:
	    g.write(f.read()); g.flush(); os.fsync(g.fileno())
	t0 = time.monotonic()
	os.rename(part, os.path.join(inb, "DRILL-LEAVERS.xml"))
	res = os.path.join(W, "spool", "outbound", "bench", "DRILL-LEAVERS.1.result.xml")
	tres = None
	while True:
	    tot, per = count()
	    if tres is None and os.path.exists(res):
	        tres = time.monotonic() - t0
	    if tot >= n:
	        break
	    if time.monotonic() - t0 > limit:
	        print("timeout %d %.1f" % (tot, limit))
	        print("hwm %d" % hwm())
	        sys.exit(1)
	    time.sleep(0.05)
	t = time.monotonic() - t0
	while tres is None and time.monotonic() - t0 < t + 60:
	    if os.path.exists(res):
	        tres = time.monotonic() - t0
	    time.sleep(0.05)
	print("crls %.2f" % t)
	print("result %s" % ("%.2f" % tres if tres is not None else "-"))
	print("before %d" % tot0)
	for f, (k, size) in sorted(per.items()):
	    print("shard %s %d %d" % (f, k, size))
	print("hwm %d" % hwm())
	EOF
	# a daemon inside a long transaction answers SIGTERM only after it
	kill -TERM "$dpid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	revoked=$(sqlite3 "$W/certspool.db" "SELECT count(*) FROM certificate WHERE revoked_at IS NOT NULL")
	say "revocation document: $nsel <revoke order= batch=> selectors ($(wc -c <"$W/DRILL-LEAVERS.xml") bytes)"
	say "revoked in the database: $revoked/$n"
	if ! grep -q '^crls ' "$W/drill.txt"; then
		if grep -q '^timeout ' "$W/drill.txt"; then
			# how far the document got: its requests as the log lists them
			k=$(grep -c 'revoke request [0-9]* (' "$W/daemon.log" || true)
			lim=$(awk '/^timeout / { print $3 }' "$W/drill.txt")
			seen=$(awk '/^timeout / { print $2 }' "$W/drill.txt")
			rate=$(awk -v k="$k" -v s="$lim" 'BEGIN { printf "%.1f", (s > 0 ? k / s : 0) }')
			eta=$(awk -v k="$k" -v s="$lim" -v m="$nsel" 'BEGIN { printf "%.0f", k ? m * s / k : 0 }')
			say "drop to all CRLs: NOT met: $seen of $n in the CRLs after $lim s; $k of $nsel requests applied ($rate/s: all would take about $eta s); see $W/daemon.log"
			drill=$(awk '/^hwm / { print $2 }' "$W/drill.txt")
			idlem=$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')
			drillm=$(awk -v k="$drill" 'BEGIN { printf "%.1f", k / 1024 }')
			diffm=$(awk -v a="$drill" -v b="$idle" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
			rmet=$(awk -v d="$diffm" 'BEGIN { print (d <= 16 ? "met" : "NOT met") }')
			say "daemon peak RSS: idle $idlem MiB, until given up $drillm MiB, difference $diffm MiB (target <= 16 MiB: $rmet)"
			REVRES="| $MACHINE | $ca | $n | $nsel | NOT met: $seen in the CRLs after $lim s ($rate requests/s, about $eta s for all) | - | - | $idlem MiB | $drillm MiB | $diffm MiB ($rmet) |"
		else
			say "revocation drill: failed: $(cat "$W/drill.txt"); see $W/daemon.log"
		fi
		FAILED=1
		return 0
	fi
	secs=$(awk '/^crls / { print $2 }' "$W/drill.txt")
	rsecs=$(awk '/^result / { print $2 }' "$W/drill.txt")
	drill=$(awk '/^hwm / { print $2 }' "$W/drill.txt")
	sizes=$(awk '/^shard / { printf "%s%s %.1f KiB (%d)", s, $2, $4 / 1024, $3; s = ", " }' "$W/drill.txt")
	sizeshort=$(awk '/^shard / { printf "%s%.0f", s, $4 / 1024; s = "/" } END { print " KiB" }' "$W/drill.txt")
	met=$(awk -v s="$secs" 'BEGIN { print (s <= 60 ? "met" : "NOT met") }')
	say "drop to all CRLs: $secs s (all $n listed; revocationResult after $rsecs s; target <= 60 s: $met)"
	say "CRL size per shard: $sizes"
	/usr/bin/time -v -o "$W/crl-time.txt" "$BIN" --config "$W/certspool.conf" \
	    crl --now >"$W/crl-now.txt" 2>"$W/crl-now.log" || true
	resign=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0
	    for (i = 1; i <= n; i++) s = s * 60 + a[i]; printf "%.2f", s }' "$W/crl-time.txt")
	crlrss=$(awk -v k="$(rss_kib "$W/crl-time.txt")" 'BEGIN { printf "%.1f", k / 1024 }')
	nw=$(grep -c ' shard [0-9]* number ' "$W/crl-now.txt" || true)
	ne=$(awk '/ shard [0-9]* number / { for (i = 1; i < NF; i++) if ($i == "entries") s += $(i + 1) }
	    END { print s + 0 }' "$W/crl-now.txt")
	say "re-sign all shards (certspool crl --now): $resign s, $nw CRLs written with $ne entries, peak RSS $crlrss MiB"
	idlem=$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')
	drillm=$(awk -v k="$drill" 'BEGIN { printf "%.1f", k / 1024 }')
	diffm=$(awk -v a="$drill" -v b="$idle" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
	rmet=$(awk -v d="$diffm" 'BEGIN { print (d <= 16 ? "met" : "NOT met") }')
	say "daemon peak RSS: idle $idlem MiB (VmRSS $(awk -v k="$idlerss" 'BEGIN { printf "%.1f", k / 1024 }') MiB), during the drill $drillm MiB, difference $diffm MiB (target <= 16 MiB: $rmet)"
	[ "$revoked" -eq "$n" ] && [ "$nw" -eq 4 ] && [ "$ne" -eq "$n" ] || {
		say "bench: the drill revoked $revoked of $n, crl --now wrote $nw of 4 CRLs with $ne entries; see $W"
		FAILED=1
	}
	REVRES="| $MACHINE | $ca | $n | $nsel | $secs s ($met) | $sizeshort | $resign s | $idlem MiB | $drillm MiB | $diffm MiB ($rmet) |"
	[ "$KEEP" = 1 ] || discard "$W"
}
export CRL_COUNT_FN="$CRL_COUNT"

# ---- fair share (scripts/bench-fair.sh) ----------------------------
. "$ROOT/scripts/bench-fair.sh"

# ---- PostgreSQL (scripts/bench-pg.sh) ------------------------------
. "$ROOT/scripts/bench-pg.sh"

# ---- main ------------------------------------------------------------
if [ "$ENGINE" = postgresql ]; then
	pg_main
	exit 0
fi
[ "$REVOKEN" = 0 ] && REVOKEN=""
[ "$FAIRN" = 0 ] && FAIRN=""
maxn=$DROPS
if [ -n "$FAIRN" ] && [ $(( FAIRN + FAIRDROPS )) -gt "$maxn" ]; then
	maxn=$(( FAIRN + FAIRDROPS ))
fi
for n in $NS $RSSNS $REVOKEN; do [ "$n" -gt "$maxn" ] && maxn=$n; done
# The latency drops use keys no run of the directory has certified.
LATSKIP=0
if [ -n "$LATDIR" ]; then
	LATSKIP=$(sqlite3 "$LATDIR/certspool.db" "SELECT count(*) FROM certificate") ||
	    die "$LATDIR: no certspool database"
	[ $(( LATSKIP + DROPS )) -gt "$maxn" ] && maxn=$(( LATSKIP + DROPS ))
fi
csr_cache "$maxn"
FIRSTCA=${CAS%% *}
RSSCA=$FIRSTCA
case " $CAS " in *" rsa2048 "*) RSSCA=rsa2048 ;; esac
for ca in $CAS; do
	for n in $NS; do
		run_one "$ca" "$n" cfssl
	done
done
for n in $RSSNS; do
	case " $NS " in *" $n "*) continue ;; esac
	run_one "$RSSCA" "$n" nocfssl
done
[ "$DROPS" -gt 0 ] && latency_run "$FIRSTCA"
[ "$SETUP_ONLY" = 1 ] && exit 0
[ -n "$REVOKEN" ] && revoke_run "$RSSCA" "$REVOKEN"
[ -n "$FAIRN" ] && fair_run "$FIRSTCA"

say ""
say "## certspool benchmark ($(date -u +%Y-%m-%d), $(openssl version | awk '{print $1, $2}'), CSR key $KEY, workers $WORKERS)"
say ""
say "| machine | issuing CA | N | certs/s | raw limit | ratio | peak RSS | cfssl ratio | CPU share | SoftHSM signs/s | SoftHSM ratio | SoftHSM CPU ratio | load |"
say "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
sort -t'|' -k1,1r -k3,3n "$RESULTS" | while IFS='|' read -r ca key n cps lim ratio rssm cfr secs share p11r p11ratio load p11cpu; do
	say "| $MACHINE | $ca | $n | $cps | $lim | $ratio | $rssm MiB | $cfr | $share | $p11r | $p11ratio | $p11cpu | $load |"
done
say ""
say "pickup latency: $LAT"
[ -n "$FAIRN" ] && say "fair share: ${FAIRRES:-failed}"
# RSS flatness: smallest vs largest N with the same CA.
awk -F'|' '{ if (!($1 in lo) || $3 < lon[$1]) { lon[$1] = $3; lo[$1] = $7 }
	if (!($1 in hi) || $3 > hin[$1]) { hin[$1] = $3; hi[$1] = $7 } }
	END { for (c in lo) if (lon[c] != hin[c])
	printf "RSS flatness (%s): N=%d %.1f MiB vs N=%d %.1f MiB, difference %.1f MiB (target <= 8)\n",
	    c, lon[c], lo[c], hin[c], hi[c], hi[c] - lo[c] }' "$RESULTS"
say "CPU share: of the daemon's CPU time, the part signatures + CSR verifications need; independent of other load"
say "SoftHSM ratio: certspool's certs/s over SoftHSM's own C_Sign rate on the same key with $SIGN_THREADS threads (mean of a loop before and one after the run); SoftHSM CPU ratio: SoftHSM's CPU per signature over certspool's CPU per certificate (independent of other load)"
say "targets: ratio >= 0.85 at N = 10000; SoftHSM ratio >= 0.85; cfssl ratio >= 4 (RSA-2048 CA); peak RSS <= 64 MiB; p99 <= 250 ms"
if [ -n "$REVOKEN" ]; then
	say ""
	say "revocation drill (one document, 4 CRL shards; targets: all in the CRLs within 60 s of the drop, peak RSS within 16 MiB of idle):"
	say ""
	say "| machine | issuing CA | revoked | selectors | drop to all CRLs | CRL per shard | crl --now | idle RSS | drill peak RSS | difference |"
	say "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	say "${REVRES:-| $MACHINE | $RSSCA | $REVOKEN | - | failed | - | - | - | - | - |}"
fi
rm -f "$RESULTS"
if [ "$FAILED" -ne 0 ]; then
	say "bench: some runs did not complete (see above)"
	exit 1
fi
