#!/bin/sh
# The running daemon: inotify wake-up (not the poll interval), SIGHUP
# re-reads the config (a broken one is refused and the old one kept),
# SIGTERM ends it cleanly; temporaries a crash left are swept at start
# (not fresh ones, never inbound dot-files); with settle_seconds a file
# written in place is taken when it has settled, not at the next poll,
# and one renamed into inbound/ at once.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme >/dev/null
sed -i 's/^poll_seconds = .*/poll_seconds = 3600/' "$T/certspool.conf"
L=$T/daemon.log
mkdir -p "$S/mail"
echo partial >"$S/mail/.cert-01.eml.0123456789ab.tmp"
touch -d '-5 minutes' "$S/mail/.cert-01.eml.0123456789ab.tmp"
echo partial >"$S/outbound/acme/.B.1.result.xml.0123456789ab.tmp"
touch -d '-5 minutes' "$S/outbound/acme/.B.1.result.xml.0123456789ab.tmp"
echo writing >"$S/mail/.cert-02.eml.0123456789ab.tmp"
echo uploading >"$S/inbound/acme/.upload.xml.0123456789ab.tmp"
touch -d '-5 minutes' "$S/inbound/acme/.upload.xml.0123456789ab.tmp"
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; cleanup' EXIT
sleep 1
check "old mail temporary swept" test ! -e "$S/mail/.cert-01.eml.0123456789ab.tmp"
check "old outbound temporary swept" test ! -e "$S/outbound/acme/.B.1.result.xml.0123456789ab.tmp"
check "fresh temporary kept" test -e "$S/mail/.cert-02.eml.0123456789ab.tmp"
check "inbound dot-file never touched" test -e "$S/inbound/acme/.upload.xml.0123456789ab.tmp"
check "sweep logged" grep -q "removed 2 temporary files" "$L"
rm -f "$S/inbound/acme/.upload.xml.0123456789ab.tmp"
# wait_for FILE SECONDS
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ "$i" -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	test -e "$1"
}
sed 's/account="acme-hr"/account="acme"/' "$EXAMPLES/multi-order.xml" >"$T/m.xml"
drop acme "$T/m.xml"
check "inotify wakes the daemon (poll is an hour)" wait_for "$S/archive/acme/m.xml" 10
check "result written while running" wait_for "$S/outbound/acme/NIGHTLY.2026-11-25_01.1.result.xml" 10

echo "bogus_key = 1" >>"$T/certspool.conf"
kill -HUP "$dpid"
sleep 1
check "broken config on SIGHUP is refused" grep -q "keeping the old config" "$L"
check "daemon still running" kill -0 "$dpid"
sed -i '/^bogus_key/d; s/^log_level = .*/log_level = debug/' "$T/certspool.conf"
kill -HUP "$dpid"
sleep 1
check "config re-read on SIGHUP" grep -q "config re-read" "$L"
sed 's/account="acme-hr"/account="acme"/; s/NIGHTLY.2026-11-25_01/AFTER-HUP/' "$EXAMPLES/multi-order.xml" >"$T/m2.xml"
drop acme "$T/m2.xml"
check "still taking files after SIGHUP" wait_for "$S/archive/acme/m2.xml" 10
kill -TERM "$dpid"
wait "$dpid"
check_eq "SIGTERM: exit 0" 0 "$?"
check "stop logged" grep -q "daemon stopped" "$L"

# settle_seconds = 5, poll an hour: a file written in place is taken once
# it settled; one renamed into inbound/ (complete, SPEC 2) at once.
sed -i 's/^settle_seconds = .*/settle_seconds = 5/' "$T/certspool.conf"
grep -q '^settle_seconds = 5' "$T/certspool.conf" ||
	echo "settle_seconds = 5" >>"$T/certspool.conf"
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
dpid=$!
sleep 1
sed 's/account="acme-hr"/account="acme"/; s/NIGHTLY.2026-11-25_01/SETTLED/' "$EXAMPLES/multi-order.xml" >"$T/m3.xml"
cp "$T/m3.xml" "$S/inbound/acme/m3.xml"
sed 's/account="acme-hr"/account="acme"/; s/NIGHTLY.2026-11-25_01/RENAMED/' "$EXAMPLES/multi-order.xml" >"$S/inbound/acme/.m4.xml.part"
mv "$S/inbound/acme/.m4.xml.part" "$S/inbound/acme/m4.xml"
check "renamed in: taken at once" wait_for "$S/archive/acme/m4.xml" 2
check "written in place: not taken before it settled" test -e "$S/inbound/acme/m3.xml"
check "taken when settled (not at the hourly poll)" wait_for "$S/archive/acme/m3.xml" 8
kill -TERM "$dpid"
wait "$dpid"
finish
