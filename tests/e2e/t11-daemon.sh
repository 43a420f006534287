#!/bin/sh
# The running daemon: inotify wake-up (not the poll interval), SIGHUP
# re-reads the config (a broken one is refused and the old one kept),
# SIGTERM ends it cleanly.
. "$(dirname "$0")/../lib.sh"
setup
cs account add acme >/dev/null
sed -i 's/^poll_seconds = .*/poll_seconds = 3600/' "$T/certspool.conf"
L=$T/daemon.log
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; cleanup' EXIT
sleep 1
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
finish
