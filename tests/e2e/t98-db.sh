#!/bin/sh
# certspool db migrate | check | copy: a populated SQLite installation
# (every table has rows: issuance by balance and by contract, a server-
# made key and its pickup token, an organization, domain and mailbox
# validated, a revocation document, a blocked key, CRLs, a node row) is
# copied to a PostgreSQL database of its own cluster (pg-unit.sh); with
# the config switched, status, account show of each account and the
# CRLs are the same, and a republish continues the CRL numbers.  db check
# passes on both engines and finds injected corruption on each (orphan
# rows, a balance off its ledger, unknown and inconsistent states, a
# serial twice in another case; the exact duplicate the schema refuses);
# the copy refuses a non-empty target and a running daemon; db migrate
# brings an older SQLite file to the current version, once.
if [ "${CERTSPOOL_TEST_ENGINE:-sqlite}" != sqlite ]; then
	# The source is an SQLite installation and the target a cluster of
	# the test's own: the run on SQLite is the whole test.
	echo "SKIP: t98-db: copies SQLite to PostgreSQL; runs with --engine sqlite"
	echo "0 passed, 0 failed"
	exit 0
fi
. "$(dirname "$0")/../lib.sh"
need_tools sqlite3 psql openssl flock
# sq SQL: a query on the SQLite file, whatever the config names
sq() {
	sqlite3 -batch -noheader "$T/certspool.db" "$1"
}
# Not in $T: the server runs as user postgres when the test runs as root.
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/certspool-pg.XXXXXX")
URI=$(sh "$ROOT/tests/unit/pg-unit.sh" start "$PGDIR") || bail "cannot start PostgreSQL"
trap 'sh "$ROOT/tests/unit/pg-unit.sh" stop "$PGDIR"; cleanup' EXIT
trap 'exit 1' INT TERM
# setdb CONF TARGET: the config's database setting
setdb() {
	grep -v '^database = ' "$1" >"$1.new" && printf 'database = %s\n' "$2" >>"$1.new" && mv "$1.new" "$1"
}
psq() {
	psql "$URI" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

# ---- a populated SQLite installation ----
setup
cs account add acme --balance 100000000 --contract K-1 --units 5 >/dev/null
cs account add beta --balance 500000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example) || bail "acme organization"
validated_org beta "Beta Corp" beta.example >/dev/null || bail "beta organization"

# order ID EMAIL PAYMENT [KEY]: an order of Acme Corp for EMAIL; KEY
# "keygen" for a server-made key, else a CSR
order() {
	echo "<order id=\"$1\"><product>secure_email_organization</product><organization>Acme Corp</organization>"
	echo "<signatureHash>sha384</signatureHash><validity><years>1</years></validity><autoRenew>0</autoRenew>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email>"
	if [ "${4:-}" = keygen ]; then
		echo '<keygen algorithm="rsa-2048"/></recipient>'
	else
		echo "<csr>$(csr ec:P-256 "$2")</csr></recipient>"
	fi
	echo "$3<agreement accepted=\"true\"/></order>"
}
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<batch xmlns="urn:certspool:batch:1" id="DB-1" account="acme">'
	echo '<attestation officer="Pat Lee" title="HR Director"/>'
	order O1 ann@acme.example '<payment method="balance"/>'
	order O2 bob@acme.example '<payment method="contract" ref="K-1"/>'
	order O3 cy@acme.example '<payment method="balance"/>' keygen
	order O4 dee@acme.example '<payment method="balance"/>'
	# an individual's mailbox, validated by its link
	echo '<order id="I1"><product>secure_email_individual</product><validity><days>365</days></validity>'
	echo "<recipient><commonName type=\"email\">eve@gmail.com</commonName><email>eve@gmail.com</email><csr>$(csr ec:P-256 eve@gmail.com)</csr></recipient>"
	echo '<payment method="balance"/><agreement accepted="true"/></order>'
	echo '</batch>'
} >"$T/DB-1.xml"
drop acme "$T/DB-1.xml"
run_once
tok=$(mail_token eve@gmail.com)
check "mailbox link confirmed" cs domain confirm "$tok"
run_once
check_eq "five certificates issued" 5 "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")"
# a revocation document, a blocked key, CRLs
cat >"$T/RV-1.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<revocation xmlns="urn:certspool:batch:1" id="RV-1" account="acme" created="2026-12-04T22:00:00Z">
  <revoke email="dee@acme.example" reason="affiliationChanged"/>
</revocation>
EOF
drop acme "$T/RV-1.xml"
run_once
openssl req -new -key "$T/keys/bob@acme.example.key" -subj /CN=x -out "$T/bob.csr" 2>/dev/null
check "key block" cs key block --csr "$T/bob.csr" --reason test
run_once
cs crl --now >"$T/crl1.out" || bail "crl --now on SQLite"
# SQLite never writes a node row (one daemon): one as a PostgreSQL
# daemon would leave it.
sql "INSERT INTO node (name, started, expires) VALUES ('host-a', 1700000000, 1700000030)"
for t in $(sql "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
	check_eq "SQLite table $t has rows" 1 "$(sql "SELECT count(*) > 0 FROM $t")"
done
check_eq "24 tables" 24 "$(sql "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")"

# ---- db check on SQLite ----
cs db check >"$T/check-sq.out"
check_eq "db check passes on SQLite" 0 $?
check_eq "db check: no problem line" 0 "$(grep -c '^problem' "$T/check-sq.out")"
check "db check: orphan lines" grep -q '^ok orphans ledger.account_id -> account$' "$T/check-sq.out"
check "db check: summary" grep -q '^[0-9]* checks, 0 problems$' "$T/check-sq.out"

# what the comparison uses, from SQLite
cs status >"$T/status-sq.out" 2>&1
cs status DB-1 >"$T/status1-sq.out" 2>&1
for a in acme beta; do cs account show "$a" --limit 100 >"$T/show-$a-sq.out" 2>&1; done
cs account list >"$T/list-sq.out"
crl_entries() {	# the entries of every CRL file, without the dates of the CRL itself
	for f in "$S"/crl/*.crl; do
		echo "== ${f##*/}"
		openssl crl -inform DER -in "$f" -noout -text | sed -n '/Revoked Certificates:/,/Signature Algorithm/p' | grep -v 'Signature Algorithm'
	done
}
crl_numbers() {
	for f in "$S"/crl/*.crl; do
		openssl crl -inform DER -in "$f" -noout -crlnumber | sed 's/crlNumber=//; s/^0x//'
	done | sort -u
}
crl_entries >"$T/crl-sq.out"
check "the CRL lists the revoked serial" grep -q "Serial Number: $(sql "SELECT upper(c.serial) FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'dee@acme.example'")" "$T/crl-sq.out"
maxnum=$(crl_numbers | while read -r n; do printf '%d\n' "0x$n"; done | sort -n | tail -n 1)
cs crl >"$T/crl-due-sq.out"

# ---- copy refused while a daemon holds the spool lock ----
flock "$S/.certspool.lock" "$BIN" --config "$T/certspool.conf" db copy --to "$URI" >/dev/null 2>"$T/err"
check_eq "copy refused while the spool is locked" 1 $?
check "it says a daemon runs" grep -q "a daemon is running" "$T/err"
check_eq "nothing in the target" 0 "$(psq "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")"

# ---- a copy that fails leaves nothing ----
# SQLite keeps text in an integer column; the copy must not change it
sql "UPDATE node SET started = 'yesterday'"
cs db copy --to "$URI" >/dev/null 2>"$T/err"
check_eq "copy of a value of the wrong type refused" 1 $?
check "it names the table" grep -q "node: 1 rows hold a value of another type" "$T/err"
check_eq "the failed copy left nothing, not even the schema" 0 "$(psq "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")"
sql "UPDATE node SET started = 1700000000"

# ---- the copy ----
cs db copy --to "$URI" >"$T/copy.out" 2>"$T/copy.err"
check_eq "db copy succeeds" 0 $?
check "copy prints the account row count" grep -q "^account  *2  " "$T/copy.out"
check "copy prints a total" grep -q "^total  *[0-9]" "$T/copy.out"
for t in $(sql "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
	n=$(sql "SELECT count(*) FROM $t")
	m=$(psq "SELECT count(*) FROM $t")
	# PostgreSQL's meta also has schema_version and copied_from
	[ "$t" = meta ] && m=$((m - 2))
	check_eq "$t: rows in PostgreSQL" "$n" "$m"
	check "$t: the copy's line" grep -q "^$t  *$n  " "$T/copy.out"
done
check_eq "certificates: serial and DER alike" \
    "$(sql "SELECT group_concat(serial || ':' || hex(der), ',') FROM (SELECT serial, der FROM certificate ORDER BY id)")" \
    "$(psq "SELECT string_agg(serial || ':' || upper(encode(der, 'hex')), ',' ORDER BY id) FROM certificate")"
check_eq "ledger alike" \
    "$(sql "SELECT group_concat(id || kind || amount || at, ',') FROM (SELECT * FROM ledger ORDER BY id)")" \
    "$(psq "SELECT string_agg(id || kind || amount || at, ',' ORDER BY id) FROM ledger")"
check "meta records the source" test -n "$(psq "SELECT value FROM meta WHERE key = 'copied_from'" | grep -F "$T/certspool.db")"
check_eq "schema version in PostgreSQL" 9 "$(psq "SELECT value FROM meta WHERE key = 'schema_version'")"
check_eq "identity sequences follow the copied ids" \
    "$(($(sql "SELECT max(id) FROM event") + 1))" "$(psq "SELECT nextval(pg_get_serial_sequence('event', 'id'))")"

# a non-empty target is refused, and left as it was
cs db copy --to "$URI" >/dev/null 2>"$T/err"
check_eq "copy to a non-empty target refused" 1 $?
check "it says not empty" grep -q "not empty" "$T/err"
check_eq "the target kept its rows" "$(sql "SELECT count(*) FROM certificate")" "$(psq "SELECT count(*) FROM certificate")"

# ---- the config switched ----
cp "$T/certspool.conf" "$T/sqlite.conf"
setdb "$T/certspool.conf" "$URI"
cs db check >"$T/check-pg.out" 2>&1
check_eq "db check passes on PostgreSQL" 0 $?
check "db check names the engine" grep -q '^ok schema: postgresql schema version 9$' "$T/check-pg.out"
check_eq "db check: same checks on both" "$(sed 's/sqlite/E/' "$T/check-sq.out")" "$(sed 's/postgresql/E/' "$T/check-pg.out")"
cs status >"$T/status-pg.out" 2>&1
check_eq "status alike" "$(cat "$T/status-sq.out")" "$(cat "$T/status-pg.out")"
cs status DB-1 >"$T/status1-pg.out" 2>&1
check_eq "status DB-1 alike" "$(cat "$T/status1-sq.out")" "$(cat "$T/status1-pg.out")"
for a in acme beta; do
	cs account show "$a" --limit 100 >"$T/show-$a-pg.out" 2>&1
	check_eq "account show $a alike" "$(cat "$T/show-$a-sq.out")" "$(cat "$T/show-$a-pg.out")"
done
cs account list >"$T/list-pg.out"
check_eq "account list alike" "$(cat "$T/list-sq.out")" "$(cat "$T/list-pg.out")"
cs crl >"$T/crl-due-pg.out"
check_eq "no CRL due after the copy, as before it" "$(cat "$T/crl-due-sq.out")" "$(cat "$T/crl-due-pg.out")"
cs crl --now >"$T/crl2.out" || fail=$((fail + 1))
check_eq "the republished CRLs list the same entries" "$(cat "$T/crl-sq.out")" "$(crl_entries)"
minnew=$(crl_numbers | while read -r n; do printf '%d\n' "0x$n"; done | sort -n | head -n 1)
check "the republished CRL numbers continue ($maxnum -> $minnew)" test "$minnew" -gt "$maxnum"
check_eq "db check after the republish" 0 "$(cs db check | grep -c '^problem')"

# ---- db check finds corruption (PostgreSQL) ----
# probe ENGINE CHECK SQL UNDO: SQL (run by psq on postgresql, by sql on
# sqlite) breaks the database, db check names CHECK; UNDO mends it
probe() {
	engine=$1 name=$2 run=psq
	[ "$engine" = sqlite ] && run=sql
	$run "$3" || { fail=$((fail + 1)); echo "FAIL: $name: cannot inject"; return; }
	cs db check >"$T/probe.out" 2>&1
	check_eq "$engine: $name: exit 1" 1 $?
	check "$engine: $name: named" grep -q "^problem $name: " "$T/probe.out"
	$run "$4" || { fail=$((fail + 1)); echo "FAIL: $name: cannot undo"; }
}
probe postgresql "orphans portal_token.recipient_id -> recipient" \
    "SET session_replication_role = replica; INSERT INTO portal_token (kind, token_hash, recipient_id, created, expires) VALUES ('cert', 'orphan', 999999, 0, 1)" \
    "DELETE FROM portal_token WHERE token_hash = 'orphan'"
probe postgresql "orphans account.lease_node -> node" \
    "UPDATE account SET lease_node = 999999 WHERE name = 'beta'" \
    "UPDATE account SET lease_node = NULL WHERE name = 'beta'"
probe postgresql "ledger_balance" "UPDATE account SET balance = balance + 1 WHERE name = 'acme'" \
    "UPDATE account SET balance = balance - 1 WHERE name = 'acme'"
probe postgresql "order_state" "UPDATE orders SET state = 'shipped' WHERE ext_id = 'O1'" \
    "UPDATE orders SET state = 'issued' WHERE ext_id = 'O1'"
probe postgresql "issued_certificate" \
    "UPDATE certificate SET state = 'void' WHERE serial = '$(sq "SELECT c.serial FROM certificate c JOIN recipient r ON r.id = c.recipient_id WHERE r.email = 'ann@acme.example'")'" \
    "UPDATE certificate SET state = 'issued' WHERE state = 'void'"
SER=$(sq "SELECT serial FROM certificate WHERE serial <> upper(serial) ORDER BY id LIMIT 1")
DUP="INSERT INTO certificate (recipient_id, round, serial, state, tbs, not_before, not_after, spki_sha256, created, issuer_id) SELECT recipient_id, round, SERIAL, 'void', tbs, not_before, not_after, spki_sha256, created, issuer_id FROM certificate WHERE serial = '$SER'"
check_not "postgresql refuses the same serial twice" psq "$(echo "$DUP" | sed "s/SERIAL/'$SER'/")"
probe postgresql "serial_unique" "$(echo "$DUP" | sed "s/SERIAL/upper('$SER')/")" \
    "DELETE FROM certificate WHERE serial = upper('$SER')"
check_eq "PostgreSQL passes again" 0 "$(cs db check | grep -c '^problem')"

# ---- db check finds corruption (SQLite) ----
cp "$T/certspool.conf" "$T/pg.conf"
cp "$T/sqlite.conf" "$T/certspool.conf"
probe sqlite "orphans portal_token.recipient_id -> recipient" \
    "PRAGMA foreign_keys = OFF; INSERT INTO portal_token (kind, token_hash, recipient_id, created, expires) VALUES ('cert', 'orphan', 999999, 0, 1)" \
    "DELETE FROM portal_token WHERE token_hash = 'orphan'"
probe sqlite "orphans certificate.recipient_id -> recipient" \
    "PRAGMA foreign_keys = OFF; UPDATE certificate SET recipient_id = 999999 WHERE serial = '$SER'" \
    "UPDATE certificate SET recipient_id = $(sql "SELECT recipient_id FROM certificate WHERE serial = '$SER'") WHERE serial = '$SER'"
probe sqlite "ledger_units" "UPDATE contract SET units = units + 3" "UPDATE contract SET units = units - 3"
probe sqlite "recipient_state" "UPDATE recipient SET state = 'lost' WHERE email = 'bob@acme.example'" \
    "UPDATE recipient SET state = 'issued' WHERE email = 'bob@acme.example'"
probe sqlite "revocation_hits" "UPDATE certificate SET revoked_at = NULL, revoke_reason = NULL WHERE id = (SELECT certificate_id FROM revoke_hit LIMIT 1)" \
    "$(sql "SELECT 'UPDATE certificate SET revoked_at = ' || revoked_at || ', revoke_reason = ''' || revoke_reason || ''' WHERE id = ' || id FROM certificate WHERE id = (SELECT certificate_id FROM revoke_hit LIMIT 1)")"
check_not "sqlite refuses the same serial twice" sql "$(echo "$DUP" | sed "s/SERIAL/'$SER'/")"
probe sqlite "serial_unique" "$(echo "$DUP" | sed "s/SERIAL/upper('$SER')/")" \
    "DELETE FROM certificate WHERE serial = upper('$SER')"
probe sqlite "crl_numbers" "UPDATE meta SET value = '1' WHERE key = 'crl_number'" \
    "UPDATE meta SET value = '$(sql "SELECT value FROM meta WHERE key = 'crl_number'")' WHERE key = 'crl_number'"
check_eq "SQLite passes again" 0 "$(cs db check | grep -c '^problem')"

# ---- db migrate on an older SQLite file ----
cp "$T/certspool.db" "$T/old.db"
sqlite3 "$T/old.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
sqlite3 "$T/old.db" "DROP TABLE node; DROP INDEX account_lease; ALTER TABLE account DROP COLUMN lease_node; PRAGMA user_version = 8" || bail "an old database"
setdb "$T/certspool.conf" "$T/old.db"
cs db check >"$T/check-old.out" 2>&1
check_eq "db check refuses an old schema" 1 $?
check "and says to migrate" grep -q "^problem schema: sqlite schema version 8, this program's 9: run certspool db migrate" "$T/check-old.out"
check_eq "db check did not migrate" 8 "$(sqlite3 "$T/old.db" "PRAGMA user_version")"
check_eq "db migrate 8 -> 9" "sqlite: schema version 8 -> 9: migrated" "$(cs db migrate 2>&1)"
check_eq "version 9" 9 "$(sqlite3 "$T/old.db" "PRAGMA user_version")"
check_eq "node table and lease column back" "0|1" "$(sqlite3 "$T/old.db" "SELECT (SELECT count(*) FROM node), (SELECT count(*) FROM pragma_table_info('account') WHERE name = 'lease_node')")"
check_eq "db migrate again changes nothing" "sqlite: schema version 9: already current" "$(cs db migrate 2>&1)"
check_eq "db check on the migrated file" 0 "$(cs db check | grep -c '^problem')"
check_eq "db migrate on PostgreSQL" "postgresql: schema version 9: already current" "$("$BIN" --config "$T/pg.conf" db migrate 2>&1)"
check "db migrate --help" cs db migrate --help
check "db --help lists copy" sh -c "'$BIN' db --help | grep -q 'db copy --to URI'"
check_not "db copy without --to" cs db copy

# ---- hostile targets (a path, an unknown host, a missing socket, bidi
# and control characters, a 5,000-character name): one line, exit 1,
# nothing written anywhere ----
before=$(psq "SELECT count(*) FROM certificate")
PGSOCK=$(echo "$URI" | sed -n 's/.*host=\([^&]*\).*/\1/p')
for to in "$T/other.db" "postgresql://nohost.invalid/certspool" \
    "postgresql:///certspool?host=$T/nowhere" \
    "$(printf 'postgresql:///cert\342\200\256spool\001?host=%s' "$PGSOCK")" \
    "postgresql:///$(head -c 5000 /dev/zero | tr '\0' x)?host=$PGSOCK"; do
	i=$((${i:-0} + 1))
	cs db copy --to "$to" >"$T/out" 2>"$T/err"
	check_eq "copy to bad target $i: exit 1" 1 $?
	check_eq "copy to bad target $i: one line on stderr" 1 "$(wc -l <"$T/err")"
	check_eq "copy to bad target $i: nothing on stdout" 0 "$(wc -c <"$T/out")"
done
cs db copy --to "$T/other.db" 2>"$T/err"
check "a path is refused as not a URI" grep -q "needs a postgresql:// URI" "$T/err"
check "no file made for a path target" test ! -e "$T/other.db"
check_eq "the copied database kept its rows" "$before" "$(psq "SELECT count(*) FROM certificate")"
check_eq "the source still passes db check" 0 "$(cs db check | grep -c '^problem')"

finish
