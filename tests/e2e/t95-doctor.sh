#!/bin/sh
# Start-up truth: the demo defaults of certspool init make the daemon log
# one warning per demo-only setting in force (and the portal those that
# concern it), none for a setting that is fixed; certspool doctor passes a
# healthy setup (CAA on, a mail command, a card processor, real URLs, no
# root key in ca_dir, a loopback resolver), passes the demo defaults with
# warnings (exit 0, --strict exit 1), and fails each check on a setup
# broken in that one way: an unknown config key, a world- or
# group-writable or missing spool directory, a world-readable database, a
# CA key of mode 0644 or another owner, a nearly full file system and one
# out of inodes (tmpfs mounts), a chain.pem of another CA, an expired and
# an expiring CA, another CA's key, a missing or non-executable mail
# program, a resolver on a closed port, one answering SERVFAIL and a
# silent one.  --json parses
# and its counts agree with its checks.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../netlib.sh"
need_tools python3 openssl sqlite3

MNT=""
unmount() {
	for m in $MNT; do umount "$m" 2>/dev/null; done
	MNT=""
}
trap 'unmount; stop_servers; cleanup' EXIT

# doc [ARGS...]: certspool doctor; output in $T/doc.out, status in $st.
doc() {
	cs doctor "$@" >"$T/doc.out" 2>"$T/doc.err"
	st=$?
}
# line NAME: the status of check NAME in $T/doc.out ("" if absent).
line() {
	sed -n "s/^\([a-z]*\) $1: .*/\1/p" "$T/doc.out"
}
# has NAME STATUS PATTERN: check NAME has STATUS and its detail PATTERN.
has() {
	grep -q -- "^$2 $1: .*$3" "$T/doc.out"
}
# count STATUS: lines of that status in $T/doc.out
count() {
	grep -c "^$1 " "$T/doc.out"
}
# broken DESCRIPTION NAME PATTERN: doctor exits 1, NAME is a problem
# whose detail matches PATTERN.
broken() {
	doc
	check_eq "$1: exit 1" 1 "$st"
	check "$1: problem $2 ($3)" has "$2" problem "$3"
	[ "$st" = 1 ] && has "$2" problem "$3" || sed 's/^/    /' "$T/doc.out"
}

init_dir "$T" >/dev/null || bail "init"
# On PostgreSQL the database is not a file: no disk_database check.
if [ "$ENGINE" = postgresql ]; then
	NCHECK=15 DBCHECKS=database
else
	NCHECK=16 DBCHECKS="database disk_database"
fi
sed -i -e 's/^settle_seconds = .*/settle_seconds = 0/' \
    -e 's/^poll_seconds = .*/poll_seconds = 1/' "$T/certspool.conf"
S=$T/spool
DNSPORT=$(free_port)
dns_start
setconf dns_resolver "127.0.0.1:$DNSPORT"
setconf dns_timeout_seconds 1

# ---- the demo defaults: warnings, not problems ----------------------------
doc
check_eq "demo defaults: exit 0" 0 "$st"
check_eq "demo defaults: no problem" 0 "$(count problem)"
for n in caa root_key mta card crl_url aia_url; do
	check_eq "demo defaults: $n is a warning" warning "$(line $n)"
done
check_eq "demo defaults: six warnings" 6 "$(count warning)"
check_eq "demo defaults: ocsp_url (empty) is fine" ok "$(line ocsp_url)"
check "each demo warning names its key" sh -c "grep -q '^warning caa: caa_check = off.*set caa_check = on' '$T/doc.out' &&
    grep -q '^warning mta: sendmail_command is empty.*set sendmail_command' '$T/doc.out' &&
    grep -q '^warning card: card_processor_command is empty.*set card_processor_command' '$T/doc.out' &&
    grep -q '^warning crl_url: crl_url http://crl.certspool.invalid/.*set crl_url' '$T/doc.out' &&
    grep -q '^warning aia_url: aia_ca_issuers_url .*set aia_ca_issuers_url' '$T/doc.out' &&
    grep -q '^warning root_key: $T/ca/root.key: the demo root' '$T/doc.out'"
for n in config spool $DBCHECKS ca_key_file disk_spool ca_chain ca_key resolver; do
	check_eq "demo defaults: $n ok" ok "$(line $n)"
done
if [ "$ENGINE" = postgresql ]; then
	check "demo defaults: the database connects, schema 9" has database ok "postgresql://.*: connects, schema version 9"
	check_not "demo defaults: no disk_database line" has disk_database ok ""
fi
sqlite_only "init's database file mode" &&
    check_eq "init's database is not world-readable" 640 "$(stat -c %a "$T/certspool.db")"
doc --strict
check_eq "demo defaults, --strict: exit 1" 1 "$st"
doc --json
check "--json parses" python3 -m json.tool "$T/doc.out"
check_eq "--json: counts agree with the checks" "6 0 6 0 $NCHECK" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["checks"]
print(d["warnings"], d["problems"], sum(x["status"] == "warning" for x in c),
    sum(x["status"] == "problem" for x in c), len(c))' "$T/doc.out")"

# The daemon's start log: one warning per demo setting, once per start.
cs daemon --once >"$T/once.log" 2>&1
check_eq "daemon --once: six demo warnings" 6 "$(grep -c 'warning: demo setting in force: ' "$T/once.log")"
for k in 'caa_check = off' 'root.key: the demo root' 'sendmail_command is empty' \
    'card_processor_command is empty' 'crl_url http://crl.certspool.invalid' \
    'aia_ca_issuers_url http://aia.certspool.invalid'; do
	check_eq "daemon --once: one line for $k" 1 "$(grep -c "warning: demo setting in force: .*$k" "$T/once.log")"
done
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >"$T/daemon.log" 2>&1 &
dpid=$!
PIDS="$PIDS $dpid"
wait_until 10 grep -q "daemon started" "$T/daemon.log" || bail "daemon did not start"
sleep 2.5	# a few passes at poll_seconds = 1
kill -TERM "$dpid"
wait "$dpid"
check_eq "daemon: six demo warnings, not one per pass" 6 "$(grep -c 'warning: demo setting in force: ' "$T/daemon.log")"
check_eq "daemon: each setting once" 6 "$(grep 'warning: demo setting in force: ' "$T/daemon.log" | sort -u | wc -l)"

# The portal: only the settings that concern it (the URLs it serves).
WPORT=$(free_port)
setconf web_listen "127.0.0.1:$WPORT"
"$BIN" --config "$T/certspool.conf" web >"$T/web.log" 2>&1 &
wpid=$!
PIDS="$PIDS $wpid"
wait_until 10 grep -q "web: serving" "$T/web.log" || bail "web did not start"
kill -TERM "$wpid"
wait "$wpid"
check_eq "web: two demo warnings (crl_url, aia_ca_issuers_url)" 2 "$(grep -c 'warning: demo setting in force: ' "$T/web.log")"
check_not "web: no CAA warning" grep -q 'caa_check = off' "$T/web.log"

# A setting fixed: its warning goes, the others stay.
setconf caa_check on
setconf caa_identities ca.test
cs daemon --once >"$T/once2.log" 2>&1
check_eq "caa_check = on: five demo warnings" 5 "$(grep -c 'warning: demo setting in force: ' "$T/once2.log")"
check_not "caa_check = on: no CAA warning" grep -q 'caa_check' "$T/once2.log"

# ---- a healthy setup --------------------------------------------------------
printf '#!/bin/sh\ncat >/dev/null\n' >"$T/sendmail.sh"
chmod 0755 "$T/sendmail.sh"
setconf sendmail_command "\"$T/sendmail.sh -t -i\""
setconf card_processor_command "\"$ROOT/scripts/demo-card-processor $T/card-ledger.json\""
setconf crl_url http://crl.ca.test/issuing.crl
setconf aia_ca_issuers_url http://crl.ca.test/issuing.cer
mv "$T/ca/root.key" "$T/offline-root.key"
doc
check_eq "healthy: exit 0" 0 "$st"
check_eq "healthy: no warning" 0 "$(count warning)"
check_eq "healthy: no problem" 0 "$(count problem)"
check_eq "healthy: every check ok" "$NCHECK" "$(count ok)"
check "healthy: the signer signed and it verified" has ca_key ok "signer process started.*verifies with $T/ca/ca.pem"
check "healthy: the chain verifies to the root" has ca_chain ok "verifies to the root of chain.pem (2 certificates)"
check "healthy: mta runs the script" has mta ok "runs $T/sendmail.sh"
check "healthy: the resolver answered" has resolver ok "127.0.0.1:$DNSPORT .*answered SOA ca.test"
check "healthy: the demo settings fixed are ok lines" has caa ok "caa_check = on"
[ "$st" = 0 ] && [ "$(count warning)" = 0 ] || sed 's/^/    /' "$T/doc.out"
doc --strict
check_eq "healthy, --strict: exit 0" 0 "$st"
doc --json --strict
check_eq "healthy --json: 0 problems, 0 warnings" "0 0" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); print(d["problems"], d["warnings"])' "$T/doc.out")"
cs daemon --once >"$T/once3.log" 2>&1
check_eq "healthy: no demo warning at start" 0 "$(grep -c 'demo setting' "$T/once3.log")"

# ---- one thing broken at a time ------------------------------------------
cp "$T/certspool.conf" "$T/good.conf"

# The config.
echo "bogus_key = 1" >>"$T/certspool.conf"
broken "unknown key" config "unknown key \"bogus_key\""
check_eq "unknown key: the config line is the only line" 1 "$(wc -l <"$T/doc.out")"
doc --json
check_eq "unknown key, --json: one problem" "1 config problem" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); print(d["problems"], d["checks"][0]["name"], d["checks"][0]["status"])' "$T/doc.out")"
cp "$T/good.conf" "$T/certspool.conf"

# Permissions (root writes anywhere: the modes are checked).
chmod 0777 "$S/outbound"
broken "world-writable outbound/" spool "$S/outbound: mode 0777: writable by everyone"
chmod 0750 "$S/outbound"
chmod 0770 "$S/work"
broken "group-writable work/" spool "$S/work: mode 0770: group-writable"
chmod 0750 "$S/work"
mkdir -p "$S/inbound/acme"
chmod 0770 "$S/inbound/acme"
doc
check_eq "group-writable inbound/acme (SFTP uploads): fine" ok "$(line spool)"
chmod 0777 "$S/inbound/acme"
broken "world-writable inbound/acme" spool "$S/inbound/acme: mode 0777"
chmod 0750 "$S/inbound/acme"
mv "$S/mail" "$S/mail.away"
broken "missing spool/mail" spool "$S/mail: No such file"
mv "$S/mail.away" "$S/mail"
if [ "$ENGINE" = sqlite ]; then
	chmod 0644 "$T/certspool.db"
	broken "world-readable database" database "mode 0644: readable by everyone"
	chmod 0640 "$T/certspool.db"
else
	# A server that does not answer, a database without the schema,
	# one of an older schema.
	# set_db URI: the config's database setting (the URI has '&').
	set_db() {
		grep -v '^database = ' "$T/good.conf" >"$T/certspool.conf"
		echo "database = $1" >>"$T/certspool.conf"
	}
	set_db "postgresql:///nosuchdb?host=$CERTSPOOL_PG_DIR/sock&user=postgres"
	broken "a database that does not exist" database "nosuchdb.*does not exist"
	set_db "$(new_db)"
	broken "an empty database" database "no certspool schema"
	cp "$T/good.conf" "$T/certspool.conf"
	sql "UPDATE meta SET value = '8' WHERE key = 'schema_version'"
	broken "an older schema" database "schema version 8, this program's is 9"
	sql "UPDATE meta SET value = '9' WHERE key = 'schema_version'"
	check_eq "the database again: ok" ok "$(doc; line database)"
fi
chmod 0644 "$T/ca/ca.key"
broken "CA key mode 0644" ca_key_file "CA key $T/ca/ca.key: mode 0644: must be 0600"
chmod 0600 "$T/ca/ca.key"
chown 1 "$T/ca/ca.key"
if [ "$ENGINE" = sqlite ]; then
	broken "CA key of another user" ca_key_file "owned by uid 1, not by uid 0 (the database.s owner)"
	chown 1 "$T/certspool.db"
	doc
	check_eq "run as root: the key is to be the database owner's" ok "$(line ca_key_file)"
	chown 0 "$T/certspool.db"
else
	broken "CA key of another user" ca_key_file "owned by uid 1, not by uid 0 (the user running certspool doctor)"
fi
chown 0 "$T/ca/ca.key"
doc
check_eq "permissions restored: exit 0" 0 "$st"

# Free disk: the spool on a 2 MiB tmpfs; then a roomy one out of inodes.
mkdir -p "$T/small" "$T/fewinodes"
if mount -t tmpfs -o size=2m,mode=0750 tmpfs "$T/small"; then
	MNT="$T/small"
	cp -a "$S/." "$T/small/"
	setconf spool_dir "$T/small"
	broken "spool on a 2 MiB file system" disk_spool "$T/small: 0.00 GiB free.*needs at least 1 GiB"
	sqlite_only "disk_database beside a small spool" &&
	    check_eq "2 MiB: the database's file system is fine" ok "$(line disk_database)"
	cp "$T/good.conf" "$T/certspool.conf"
	unmount
else
	bail "cannot mount a tmpfs (the test needs root)"
fi
# 100 inodes, 2 GiB (nothing is allocated): files until 6 inodes are left.
if mount -t tmpfs -o size=2g,nr_inodes=100,mode=0750 tmpfs "$T/fewinodes"; then
	MNT="$T/fewinodes"
	cp -a "$S/." "$T/fewinodes/"
	setconf spool_dir "$T/fewinodes"
	i=$(($(stat -f -c %d "$T/fewinodes") - 6))
	while [ $i -gt 0 ]; do touch "$T/fewinodes/mail/f$i"; i=$((i - 1)); done
	doc
	check_eq "6% of inodes free: a warning, exit 0" "warning 0" "$(line disk_spool) $st"
	has disk_spool warning "6.0% of inodes free" || sed 's/^/    /' "$T/doc.out"
	touch "$T/fewinodes/mail/g1" "$T/fewinodes/mail/g2" "$T/fewinodes/mail/g3"
	broken "3% of inodes free" disk_spool "3.0% of inodes free"
	cp "$T/good.conf" "$T/certspool.conf"
	unmount
else
	bail "cannot mount a tmpfs (the test needs root)"
fi

# The CA chain and key: another CA's files.
init_dir "$T/other" >/dev/null || bail "init other"
cp "$T/ca/chain.pem" "$T/chain.good"
cp "$T/other/ca/chain.pem" "$T/ca/chain.pem"
broken "chain.pem of another CA" ca_chain "does not verify to the root of chain.pem"
cp "$T/chain.good" "$T/ca/chain.pem"
end=$(date -u -d "$(openssl x509 -in "$T/ca/ca.pem" -noout -enddate | cut -d= -f2)" +%s)
CERTSPOOL_NOW=$((end + 86400)) doc
check_eq "expired CA: exit 1" 1 "$st"
check "expired CA: problem ca_chain" has ca_chain problem "has expired"
CERTSPOOL_NOW=$((end - 10 * 86400)) doc
check_eq "CA expiring in 10 days: exit 0" 0 "$st"
check "CA expiring in 10 days: warning ca_chain" has ca_chain warning "expires on .*within 30 days"
cp "$T/ca/ca.key" "$T/ca.key.good"
cp "$T/other/ca/ca.key" "$T/ca/ca.key"
chmod 0600 "$T/ca/ca.key"
broken "another CA's key" ca_key "does not match"
check_eq "another CA's key: the file itself is fine" ok "$(line ca_key_file)"
cp "$T/ca.key.good" "$T/ca/ca.key"
chmod 0600 "$T/ca/ca.key"

# The mail command.
setconf sendmail_command "\"$T/no-such-sendmail -t -i\""
broken "missing mail program" mta "$T/no-such-sendmail: No such file"
chmod 0644 "$T/sendmail.sh"
setconf sendmail_command "\"exec $T/sendmail.sh -t -i\""
broken "mail program not executable" mta "$T/sendmail.sh"
chmod 0755 "$T/sendmail.sh"
setconf sendmail_command "\"nosuchmailer-xyz -t\""
broken "mail program not in PATH" mta "nosuchmailer-xyz"
cp "$T/good.conf" "$T/certspool.conf"

# The resolver: a closed port, one that fails every question, one that
# does not answer in time.
setconf dns_resolver "127.0.0.1:$(free_port)"
broken "resolver on a closed port" resolver "SOA ca.test failed"
SFPORT=$(free_port)
servfail_start "$SFPORT"
setconf dns_resolver "127.0.0.1:$SFPORT"
broken "resolver answering SERVFAIL" resolver "SOA ca.test failed: SERVFAIL"
cp "$T/good.conf" "$T/certspool.conf"
kill -STOP "$DNSPID"
t0=$(date +%s)
broken "silent resolver" resolver "127.0.0.1:$DNSPORT .*no answer to SOA ca.test within 1 s"
check "silent resolver: given up after dns_timeout_seconds" test $(($(date +%s) - t0)) -le 4
kill -CONT "$DNSPID"

doc --strict
check_eq "all restored: --strict exit 0" 0 "$st"
[ "$st" = 0 ] || sed 's/^/    /' "$T/doc.out"
finish
