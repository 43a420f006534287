#!/bin/sh
# Foundation: init, CLI, config, intake, parsing, duplicates, tenancy,
# the hostile XML and file-system corpus, result and error reports.
. "$(dirname "$0")/../lib.sh"
DATA=$ROOT/tests/data/xml

setup rsa4096	# the SPEC example asks sha256 and sha384: an RSA CA
check "init wrote the config" test -f "$T/certspool.conf"
check "init made the spool tree" test -d "$S/inbound" -a -d "$S/work" -a \
    -d "$S/archive" -a -d "$S/rejected" -a -d "$S/outbound" -a -d "$S/mail"
check "init made the CA key" test -f "$T/ca/ca.key"
check_eq "CA key mode" "600" "$(stat -c %a "$T/ca/ca.key")"
check_not "init refuses to overwrite" "$BIN" init "$T"
sqlite_only "journal mode" && check_eq "journal mode" "wal" "$(sql 'PRAGMA journal_mode')"
check_eq "schema version" "9" "$(schema_version)"
for k in spool_dir database ca_dir ready settle_seconds poll_seconds \
    max_batch_bytes workers archive_format crl_url log log_level caa_check \
    dns_resolver public_email_domains; do
	check "config has $k" grep -q "^$k = " "$T/certspool.conf"
done

# --help everywhere, errors are one line and non-zero.
for c in "init" "daemon" "account add" "account deposit" "org add" \
    "org request" "org verify" "domain add" "domain dcv" "domain confirm" \
    "status" "ca import" "validations"; do
	# shellcheck disable=SC2086
	check "$c --help" sh -c "'$BIN' --config '$T/certspool.conf' $c --help | grep -q usage"
done
check_not "unknown command" cs frobnicate
check_eq "unknown command: one line" 1 "$(cs frobnicate 2>&1 | wc -l)"
cp "$T/certspool.conf" "$T/bad.conf"
echo "no_such_key = 1" >>"$T/bad.conf"
check_not "unknown config key refused" "$BIN" --config "$T/bad.conf" status
check "unknown config key named" sh -c "'$BIN' --config '$T/bad.conf' status 2>&1 | grep -q 'unknown key \"no_such_key\"'"

check "account add acme" cs account add acme
check "account add other" cs account add other
check_not "account add twice" cs account add acme
check_not "bad account name" cs account add "../x"
check "account dirs" test -d "$S/inbound/acme" -a -d "$S/outbound/acme" -a -d "$S/rejected/acme" -a -d "$S/archive/acme"

# A valid batch whose organization is unknown: archived, answered.
drop acme "$EXAMPLES/batch-example.xml"
check "daemon --once exits 0" run_once
check "batch archived" test -f "$S/archive/acme/batch-example.xml"
check "inbound empty" test -z "$(ls -A "$S/inbound/acme")"
R=$S/outbound/acme/HR-2026-11-24-0001.1.result.xml
check "result.xml written" test -f "$R"
check_eq "result lists every order" 3 "$(xval "$R" 'count(//*[local-name()="order"])')"
check_eq "result seq" 1 "$(xval "$R" 'string(/*/@seq)')"
check_eq "unknown organization rejected" "rejected" \
    "$(xval "$R" 'string(//*[local-name()="order"][@id="EMP-1001"]/@state)')"
check_eq "reason unknown_organization" "unknown_organization" \
    "$(xval "$R" 'string(//*[local-name()="order"][@id="EMP-1001"]/@reason)')"
check_eq "no archive without issuance" "" "$(xval "$R" 'string(/*/@archive)')"
check_eq "orders stored" 3 "$(sql "SELECT count(*) FROM orders")"
check_eq "recipients stored" 5 "$(sql "SELECT count(*) FROM recipient")"
check_eq "batch sha256 stored" "$(sha256sum "$EXAMPLES/batch-example.xml" | cut -c1-64)" \
    "$(sql "SELECT sha256 FROM batch")"
check "events logged" test "$(sql "SELECT count(*) FROM event WHERE kind = 'order_state'")" -ge 3
check_not "event log is append-only" sql "DELETE FROM event"
check "status lists the batch" sh -c "'$BIN' --config '$T/certspool.conf' status | grep -q HR-2026-11-24-0001"
check "status of an order" sh -c "'$BIN' --config '$T/certspool.conf' status EMP-1002 | grep -q rejected"

# The same file again, under another name: rejected, pointing to the first.
drop acme "$EXAMPLES/batch-example.xml" again.xml
run_once
check "duplicate file rejected" test -f "$S/rejected/acme/again.xml"
check "duplicate report names the first" grep -q "batch-example.xml" "$S/rejected/acme/again.xml.error.xml"
# Same batch id, different bytes.
sed 's/EMP-1003/EMP-1004/' "$EXAMPLES/batch-example.xml" >"$T/sameid.xml"
drop acme "$T/sameid.xml"
run_once
check "duplicate batch id rejected" grep -q "already submitted" "$S/rejected/acme/sameid.xml.error.xml"
# Another account's batch id does not collide.
sed 's/account="acme"/account="other"/' "$EXAMPLES/batch-example.xml" >"$T/other.xml"
drop other "$T/other.xml"
run_once
check "same batch id in another account accepted" test -f "$S/archive/other/other.xml"
check "other account's result in its own outbound" test -f "$S/outbound/other/HR-2026-11-24-0001.1.result.xml"
# A batch naming another account.
drop acme "$T/other.xml" wrongacct.xml
run_once
check "batch naming another account rejected" grep -q 'names account &quot;other&quot;' "$S/rejected/acme/wrongacct.xml.error.xml"

# The hostile corpus: each one rejected with a report; daemon keeps going.
for f in "$DATA"/hostile/*.xml; do
	n=$(basename "$f")
	drop acme "$f" "h-$n"
done
sh "$DATA/gen-big.sh" "$T/big" >/dev/null 2>&1
for f in "$T"/big/*.xml; do
	[ -f "$f" ] && drop acme "$f" "h-$(basename "$f")"
done
ln -s /etc/passwd "$S/inbound/acme/h-symlink-passwd.xml"
ln -s "$T/certspool.db" "$S/inbound/acme/h-symlink-db.xml"
mkfifo "$S/inbound/acme/h-fifo.xml"
mkdir "$S/inbound/acme/h-dir.xml"
: >"$S/inbound/acme/h-zero.xml"
cp "$EXAMPLES/multi-order.xml" "$T/hl.xml"
ln "$T/hl.xml" "$S/inbound/acme/h-hardlink.xml"
printf 'x' >"$S/inbound/acme/$(printf 'h-new\nline.xml')"
check "daemon survives the corpus" timeout 120 sh -c "'$BIN' --config '$T/certspool.conf' daemon --once >>'$T/daemon.log' 2>&1"
check "inbound drained" test -z "$(ls -A "$S/inbound/acme")"
for f in "$DATA"/hostile/*.xml "$T"/big/*.xml; do
	[ -f "$f" ] || continue
	n=h-$(basename "$f")
	check "$n rejected with a report" test -e "$S/rejected/acme/$n" -a -f "$S/rejected/acme/$n.error.xml"
	check "$n report has a problem" grep -q "<problem line=" "$S/rejected/acme/$n.error.xml"
	check "$n report is well-formed" xmllint --noout "$S/rejected/acme/$n.error.xml"
done
for n in h-symlink-passwd.xml h-symlink-db.xml h-fifo.xml h-dir.xml h-zero.xml h-hardlink.xml; do
	check "$n rejected with a report" test -f "$S/rejected/acme/$n.error.xml"
done
check "symlink report says why" grep -q "symbolic link" "$S/rejected/acme/h-symlink-passwd.xml.error.xml"
check "hard link report says why" grep -q "hard links" "$S/rejected/acme/h-hardlink.xml.error.xml"
check "/etc/passwd untouched" test -f /etc/passwd -a ! -L /etc/passwd
sqlite_only "database file untouched" &&
    check "database untouched" test -f "$T/certspool.db" -a ! -L "$T/certspool.db"
check "badly named file gets a generated name" sh -c "ls '$S/rejected/acme' | grep -q '^badname-[0-9a-f]*.error.xml$'"
check "XXE content never leaked" sh -c "! grep -rq 'root:x:0:0' '$S/outbound' '$S/rejected' '$S/mail'"
check "line numbers in reports" grep -q '<problem line="[1-9]' "$S/rejected/acme/h-wrong_ns.xml.error.xml"
check "work/ is empty" test -z "$(ls -A "$S/work/acme")"
check_eq "no orders from hostile files" 6 "$(sql "SELECT count(*) FROM orders")"
# (other tests' directories aside: a run on the other engine may be going on)
check "nothing written outside the test directory" sh -c "! find / -xdev -newer '$T/certspool.conf' -name 'h-*' -not -path '${T%.*}.*/*' 2>/dev/null | grep -q ."

# marker mode: a file waits for its .done marker.
sed -i 's/^ready = .*/ready = marker/' "$T/certspool.conf"
sed 's/account="acme-hr"/account="acme"/' "$EXAMPLES/multi-order.xml" >"$S/inbound/acme/m.xml"
run_once
check "marker mode waits" test -f "$S/inbound/acme/m.xml"
touch "$S/inbound/acme/m.xml.done"
run_once
check "marker mode takes it" test -f "$S/archive/acme/m.xml"
check "marker removed" test ! -e "$S/inbound/acme/m.xml.done"
# settle mode: a fresh file waits.
sed -i 's/^ready = .*/ready = settle/; s/^settle_seconds = .*/settle_seconds = 30/' "$T/certspool.conf"
sed 's/account="acme-hr"/account="acme"/; s/id="NIGHTLY.2026-11-25_01"/id="B-SETTLE"/' "$EXAMPLES/multi-order.xml" >"$S/inbound/acme/s.xml"
run_once
check "settle mode waits for a fresh file" test -f "$S/inbound/acme/s.xml"
touch -d '1 minute ago' "$S/inbound/acme/s.xml"
run_once
check "settled file taken" test ! -f "$S/inbound/acme/s.xml"
check ".part never taken" sh -c "cp '$EXAMPLES/multi-order.xml' '$S/inbound/acme/p.xml.part' && touch -d '1 hour ago' '$S/inbound/acme/p.xml.part' && '$BIN' --config '$T/certspool.conf' daemon --once 2>/dev/null; test -f '$S/inbound/acme/p.xml.part'"

# One daemon per spool.
sed -i 's/^poll_seconds = .*/poll_seconds = 1/' "$T/certspool.conf"
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$T/daemon.log" 2>&1 &
dpid=$!
sleep 1
if [ "$ENGINE" = sqlite ]; then
	check_not "second daemon refused" cs daemon --once
else
	# Several daemons share a PostgreSQL database.
	check "second daemon runs beside the first" cs daemon --once
fi
kill -TERM "$dpid"
wait "$dpid"
check_eq "SIGTERM: clean exit" 0 "$?"
finish
