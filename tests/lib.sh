# tests/lib.sh: shared helpers for the end-to-end scripts.  Each script
# sources this, drives the real ./certspool over a temporary directory,
# and ends with finish, which prints "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/certspool
EXAMPLES=$ROOT/tests/data/xml/valid
T=$(mktemp -d "${TMPDIR:-/tmp}/certspool-t.XXXXXX")
export CERTSPOOL_SCHEMA_DIR=$ROOT/schemas
pass=0
fail=0
# The database engine (tests/run.sh --engine): sqlite, the database a
# file in the test's directory, or postgresql, a database of its own in
# the run's cluster (CERTSPOOL_PG_DIR) for each directory set up.
ENGINE=${CERTSPOOL_TEST_ENGINE:-sqlite}
PGUNIT=$ROOT/tests/unit/pg-unit.sh
PGDBS=$T.pgdbs		# the databases made, one a line
if [ "$ENGINE" = postgresql ] && [ -z "${CERTSPOOL_PG_DIR:-}" ]; then
	echo "FAIL: engine postgresql without a cluster (run through" \
	    "tests/run.sh --engine postgresql)"
	echo "0 passed, 1 failed"
	exit 1
fi
cleanup() {
	if [ -f "$PGDBS" ]; then
		while read -r c_db; do
			sh "$PGUNIT" dropdb "$CERTSPOOL_PG_DIR" "$c_db" \
			    >/dev/null 2>&1
		done <"$PGDBS"
		rm -f "$PGDBS"
	fi
	if [ "$fail" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		echo "work directory kept: $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $desc"
	fi
}
# check_not DESCRIPTION COMMAND...: the command must fail.
check_not() {
	desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		fail=$((fail + 1))
		echo "FAIL: $desc"
	else
		pass=$((pass + 1))
	fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $1: expected \"$2\", got \"$3\""
	fi
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
# bail MESSAGE: count a failure, print the summary and stop the test.
bail() {
	echo "FAIL: $1"
	fail=$((fail + 1))
	finish
	exit 1
}
# need_tools TOOL...: bail unless every tool is on the PATH.
need_tools() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || bail "missing tool: $tool"
	done
}
# wait_until SECONDS COMMAND...: poll (0.2 s) until the command succeeds.
wait_until() {
	w_end=$(($(date +%s) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$w_end" ] && return 1
		sleep 0.2
	done
	return 0
}

# cs ARGS...: the binary with the test's config.  CERTSPOOL_WRAP, if set,
# runs it under a wrapper (make valgrind: CERTSPOOL_WRAP="valgrind ...").
cs() {
	[ "${1:-}" = daemon ] && dead_nodes_wait
	${CERTSPOOL_WRAP:-} "$BIN" --config "$T/certspool.conf" "$@"
}
# dead_nodes_wait: on PostgreSQL, wait until the leases of this host's
# daemons that are gone (killed by a crash point or SIGKILL) ran out, so
# that the next daemon gets their accounts, as a restarted one would
# after lease_seconds (setup sets 4).
dead_nodes_wait() {
	[ "$ENGINE" = postgresql ] && [ -f "$T/certspool.conf" ] || return 0
	d_now="CAST(extract(epoch FROM clock_timestamp()) AS BIGINT)"
	d_left=$(sql "SELECT name, expires - $d_now FROM node
	    WHERE expires >= $d_now" 2>/dev/null | while IFS='|' read -r n l; do
		case $n in "$(hostname)":*) ;; *) continue ;; esac
		kill -0 "${n##*:}" 2>/dev/null || echo "$l"
	done | sort -n | tail -n 1)
	[ -z "$d_left" ] || sleep $((d_left + 1))
}
# new_db: on PostgreSQL, a new empty database in the run's cluster,
# dropped when the test ends; its URI printed.  Nothing on SQLite.
new_db() {
	[ "$ENGINE" = postgresql ] || return 0
	n_name=t$$_$(($(cat "$PGDBS" 2>/dev/null | wc -l) + 1))
	echo "$n_name" >>"$PGDBS"
	sh "$PGUNIT" createdb "$CERTSPOOL_PG_DIR" "$n_name"
}
# init_dir DIR [INIT-ARGS...]: certspool init DIR on the test's engine
# (on PostgreSQL with --database, a new database); init's status.
init_dir() {
	i_dir=$1
	shift
	if [ "$ENGINE" = postgresql ]; then
		i_uri=$(new_db) || return 1
		"$BIN" init "$i_dir" --database "$i_uri" "$@"
	else
		"$BIN" init "$i_dir" "$@"
	fi
}
# db_target [DIR]: the database setting of DIR's config (default $T).
db_target() {
	d_t=$(sed -n 's/^database = //p' "${1:-$T}/certspool.conf" |
	    tail -n 1 | sed 's/^"\(.*\)"$/\1/')
	case $d_t in
	/*|postgresql:*|postgres:*) echo "$d_t" ;;
	*) echo "${1:-$T}/$d_t" ;;
	esac
}
# sqlite_only DESCRIPTION: true on SQLite; on PostgreSQL prints a skip
# line for a check that only means something for an SQLite file
# (PRAGMAs, user_version, the file's mode or owner) and is false.
sqlite_only() {
	[ "$ENGINE" = sqlite ] && return 0
	echo "SKIP: $1 (SQLite only; engine $ENGINE)"
	return 1
}
# schema_version [DIR]: the schema version of DIR's database (SQLite's
# user_version, PostgreSQL's meta row).
schema_version() {
	if [ "$ENGINE" = postgresql ]; then
		sql "SELECT value FROM meta WHERE key = 'schema_version'" "$@"
	else
		sql 'PRAGMA user_version' "$@"
	fi
}
# setup [CAKEY]: a fresh certspool directory in $T with settle_seconds = 0;
# CAKEY goes to init --ca-key (default: init's P-384 CA, which signs with
# sha384 only; rsa4096 for a test that needs an RSA CA or sha256).
setup() {
	init_dir "$T" ${1:+--ca-key "$1"} >/dev/null || {
		echo "FAIL: init"; fail=$((fail + 1)); finish; exit 1; }
	sed -i 's/^settle_seconds = .*/settle_seconds = 0/' "$T/certspool.conf"
	# Retention off: CERTSPOOL_NOW makes new files look years old, and
	# the daemon's daily purge would remove what a test checks.
	sed -i 's/^\(mail\|archive\|card_archive\|outbound\)_retention_days = .*/\1_retention_days = 0/' "$T/certspool.conf"
	# Card payments go to the demo processor, its ledger in $T.
	sed -i "s|^card_processor_command = .*|card_processor_command = \"$ROOT/scripts/demo-card-processor $T/card-ledger.json\"|" "$T/certspool.conf"
	# A killed daemon's accounts wait for its lease (dead_nodes_wait).
	sed -i 's/^lease_seconds = .*/lease_seconds = 4/' "$T/certspool.conf"
	S=$T/spool
}
# run_once: one daemon pass; its log goes to $T/daemon.log.
run_once() {
	cs daemon --once >>"$T/daemon.log" 2>&1
}
# check_once DESCRIPTION STATUS: one daemon pass must exit with STATUS;
# its exit status is left in $st.
check_once() {
	run_once
	st=$?
	check_eq "$1" "$2" "$st"
}
# sql QUERY [DIR]: one query (or several) on the database of DIR's
# config (default $T); rows as sqlite3 -batch -noheader prints them
# (columns joined by "|", NULL as nothing), on PostgreSQL through psql.
sql() {
	if [ "$ENGINE" = postgresql ]; then
		psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 \
		    -d "$(db_target "${2:-$T}")" -c "$1"
	else
		sqlite3 -batch -noheader -cmd ".timeout 10000" \
		    "$(db_target "${2:-$T}")" "$1"
	fi
}
# SQL fragments for the few things the two engines spell differently:
#   q_agg EXPR SEP   the values of EXPR joined by SEP (in input order)
#   q_hex EXPR       a blob in upper-case hex;  q_hextext EXPR  a text's
#                    UTF-8 bytes in upper-case hex
#   q_now            the current time in seconds since the epoch
q_agg() {
	if [ "$ENGINE" = postgresql ]; then
		echo "string_agg(CAST($1 AS TEXT), '$2')"
	else
		echo "group_concat($1, '$2')"
	fi
}
q_hex() {
	if [ "$ENGINE" = postgresql ]; then
		echo "upper(encode($1, 'hex'))"
	else
		echo "hex($1)"
	fi
}
q_hextext() {
	if [ "$ENGINE" = postgresql ]; then
		echo "upper(encode(convert_to($1, 'UTF8'), 'hex'))"
	else
		echo "hex($1)"
	fi
}
q_now() {
	if [ "$ENGINE" = postgresql ]; then
		echo "CAST(extract(epoch FROM now()) AS BIGINT)"
	else
		echo "CAST(strftime('%s', 'now') AS INTEGER)"
	fi
}
# blob_to FILE EXPR FROM...: the blob EXPR of the one row the rest of
# the query (FROM ...) selects, written to FILE (as sqlite3's writefile).
blob_to() {
	b_f=$1 b_e=$2
	shift 2
	sql "SELECT $(q_hex "$b_e") $*" | xxd -r -p >"$b_f"
}
# db_backup FILE, db_restore FILE: a copy of the test's database, and
# the database put back to it (as restoring an older backup would).
db_backup() {
	if [ "$ENGINE" = postgresql ]; then
		pg_dump -Fc -f "$1" -d "$(db_target)"
	else
		sql ".backup '$1'"
	fi
}
db_restore() {
	if [ "$ENGINE" = postgresql ]; then
		pg_restore --clean --if-exists --no-owner -d "$(db_target)" "$1"
	else
		cp "$1" "$(db_target)" &&
		    rm -f "$(db_target)-wal" "$(db_target)-shm"
	fi
}
# db_dump [DIR]: the whole database of DIR (default $T) as SQL text.
db_dump() {
	if [ "$ENGINE" = postgresql ]; then
		pg_dump --no-owner -d "$(db_target "${1:-$T}")"
	else
		sqlite3 "$(db_target "${1:-$T}")" .dump
	fi
}
# drop ACCOUNT FILE [NAME]: deliver a file as a client would (.part, rename).
drop() {
	n=${3:-$(basename "$2")}
	cp "$2" "$S/inbound/$1/$n.part" && mv "$S/inbound/$1/$n.part" "$S/inbound/$1/$n"
}
# xattr FILE XPATH: an XPath value from an XML file.
xval() {
	xmllint --xpath "$2" "$1" 2>/dev/null
}
. "$ROOT/tests/org.sh"	# validated_org, mail_token
# setup_acme: setup, then account acme (balance 100000000) with a
# validated organization "Acme Corp" and domain acme.example; its id in
# $oid.
setup_acme() {
	setup
	cs account add acme --balance 100000000 >/dev/null
	oid=$(validated_org acme "Acme Corp" acme.example)
	check "organization and domain validated" test -n "$oid"
}
# mail_link KIND ADDRESS: the newest portal link of KIND (confirm, keygen,
# pickup, cert) mailed to ADDRESS.
mail_link() {
	f=$(grep -l "^To: $2" "$S"/mail/*.eml 2>/dev/null | xargs -r grep -l "/$1/" | xargs -r ls -t | head -n 1)
	[ -n "$f" ] || return 1
	tr -d '\r' <"$f" | grep -o "https\?://[^ ]*/$1/[A-Z0-9]*" | head -n 1
}
# csr KEYSPEC EMAIL: a CSR (PEM) for a new key; KEYSPEC rsa:2048, ec:P-256...
csr() {
	k=$T/keys/$2.key
	mkdir -p "$T/keys"
	case $1 in
	rsa:*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${1#rsa:}" -out "$k" 2>/dev/null ;;
	ec:*) openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:${1#ec:}" -out "$k" 2>/dev/null ;;
	esac
	openssl req -new -key "$k" -subj "/CN=ignored@example.com/O=Ignored Inc" \
	    -addext "subjectAltName=email:csr-only@example.com" 2>/dev/null
}
# is N COMMAND...: the command prints N (for wait_until, which runs it
# again each time).
is() {
	want=$1
	shift
	test "$("$@")" -eq "$want"
}
# csr_batch ID N [HASH]: $T/ID.xml, batch ID of account acme with one
# order O-ID of N recipients ID-uK@acme.example, each with a new P-256
# CSR, signatureHash HASH (default sha384, a P-384 CA's).
csr_batch() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$1\" account=\"acme\">"
		echo '  <attestation officer="Pat Lee" title="HR Director"/>'
		echo "  <order id=\"O-$1\"><product>secure_email_organization</product>"
		echo "<organization>Acme Corp</organization><signatureHash>${3:-sha384}</signatureHash>"
		echo '<validity><years>1</years></validity><autoRenew>0</autoRenew>'
		i=1
		while [ "$i" -le "$2" ]; do
			e="$1-u$i@acme.example"
			echo "<recipient><commonName type=\"email\">$e</commonName><email>$e</email><csr>$(csr ec:P-256 "$e")</csr></recipient>"
			i=$((i + 1))
		done
		echo '<agreement accepted="true"/></order>'
		echo '</batch>'
	} >"$T/$1.xml"
}
# orders_batch ACCOUNT ID N ORG DOMAIN: $T/ID.xml, batch ID of ACCOUNT
# with N one-recipient orders O00001... of organization ORG, the
# recipients id-u00001@DOMAIN... (ID in lower case), each with a P-256
# key of its own (scripts/gencsr.c, built into $T once).
orders_batch() {
	if [ ! -x "$T/gencsr" ]; then
		cc -O2 -o "$T/gencsr" "$ROOT/scripts/gencsr.c" -lcrypto \
		    2>/dev/null || return 1
	fi
	"$T/gencsr" p256 "$3" "$T/$2.csr.pem" 2 || return 1
	awk -v acct="$1" -v id="$2" -v org="$4" -v dom="$5" '
BEGIN {
	print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	printf "<batch xmlns=\"urn:certspool:batch:1\" id=\"%s\" account=\"%s\">\n", id, acct
	lid = tolower(id)
}
/BEGIN CERTIFICATE REQUEST/ { pem = $0 "\n"; next }
/END CERTIFICATE REQUEST/ {
	pem = pem $0
	i++
	e = sprintf("%s-u%05d@%s", lid, i, dom)
	printf "<order id=\"O%05d\"><product>secure_email_organization</product>" \
	    "<organization>%s</organization><signatureHash>sha384</signatureHash>" \
	    "<validity><years>1</years></validity><autoRenew>0</autoRenew>" \
	    "<recipient><commonName type=\"email\">%s</commonName><email>%s</email>" \
	    "<csr>%s</csr></recipient><agreement accepted=\"true\"/></order>\n", \
	    i, org, e, e, pem
	next
}
{ pem = pem $0 "\n" }
END { print "</batch>" }' "$T/$2.csr.pem" >"$T/$2.xml"
}
# ext_root DIR ORG: an openssl-made P-384 root (DIR/root.pem, root.key)
# and DIR/ext.cnf, the extensions of an S/MIME issuing CA under it.
ext_root() {
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$1/root.key" \
	    -out "$1/root.pem" -subj "/C=US/O=$2/CN=$2 Root" -days 3650 -sha384 \
	    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	cat >"$1/ext.cnf" <<-EOF
	basicConstraints = critical,CA:TRUE,pathlen:0
	keyUsage = critical,keyCertSign,cRLSign
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid:always
	extendedKeyUsage = emailProtection,clientAuth
	certificatePolicies = 2.23.140.1.5.2.3
	crlDistributionPoints = URI:http://crl.$2.invalid/root.crl
	EOF
}
# ext_issue DIR SUBJECT PUBKEY OUT: an issuing CA certificate for PUBKEY
# (PEM) signed by DIR's root (ext_root).
ext_issue() {
	openssl x509 -new -subj "$2" -force_pubkey "$3" -CA "$1/root.pem" \
	    -CAkey "$1/root.key" -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha384 \
	    -extfile "$1/ext.cnf" -out "$4" 2>/dev/null
}
