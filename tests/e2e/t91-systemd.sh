#!/bin/sh
# systemd: systemd-analyze verify (offline) accepts both units as make
# install writes them, and reports a broken one; a real daemon under a
# stand-in service manager (tests/e2e/notify-listen.py: NOTIFY_SOCKET,
# WATCHDOG_USEC, WATCHDOG_PID) sends READY=1 after its recovery,
# RELOADING=1 and READY=1 around SIGHUP, STATUS= with the queue after a
# pass, WATCHDOG=1 again and again, STOPPING=1 on SIGTERM, in that order;
# certspool web sends READY=1 and STOPPING=1; log = journal sends each
# line as one native-protocol datagram with MESSAGE=, PRIORITY= and the
# context as fields (all five keys: tests/unit/t_journal.c), and no
# file name can forge a field; a journal
# socket that is not there stops the start; the daemon and the portal
# work under their units' SystemCallFilter= (and the daemon's needs
# "seccomp" for its signer).
. "$(dirname "$0")/../lib.sh"
need_tools make systemd-analyze python3 cc curl
LISTEN=$ROOT/tests/e2e/notify-listen.py

# Installed with every path under $T, so the units name a binary that
# exists.
san=""
ldd "$BIN" 2>/dev/null | grep -q libasan && san=address
ldd "$BIN" 2>/dev/null | grep -q libubsan && san=${san:+$san,}undefined
P=$T/inst
make -s -C "$ROOT" ${san:+SANITIZE=$san} INSTBUILD="$T/build" install PREFIX="$P/usr" \
    sysconfdir="$P/etc" localstatedir="$P/var" >"$T/make.log" 2>&1 ||
    { cat "$T/make.log"; bail "make install"; }
UD=$P/usr/lib/systemd/system
# verify UNIT...: systemd-analyze verify, its output in $T/verify.out;
# man pages checked when the tree has them.
verify() {
	if ls "$ROOT"/man/*.8 >/dev/null 2>&1; then
		MANPATH=$P/usr/share/man systemd-analyze verify "$@" >"$T/verify.out" 2>&1
	else
		systemd-analyze verify --man=no "$@" >"$T/verify.out" 2>&1
	fi
}
verify "$UD/certspool.service" "$UD/certspool-web.service"
check_eq "systemd-analyze verify: exit 0" 0 "$?"
check_eq "systemd-analyze verify: nothing to say" "" "$(cat "$T/verify.out")"
sed 's/^Type=notify/Type=notifyy/; s/^ProtectSystem=strict/ProtectSystm=strict/' \
    "$UD/certspool.service" >"$T/broken.service"
verify "$T/broken.service"
check "systemd-analyze verify reports a broken unit" grep -q "ProtectSystm" "$T/verify.out"
check "the daemon unit is Type=notify" grep -qx "Type=notify" "$UD/certspool.service"
check "the portal unit is Type=notify" grep -qx "Type=notify" "$UD/certspool-web.service"

# The units' SystemCallFilter=, as systemd would apply it (no new
# privileges, then an allow-list that kills on anything else;
# tests/e2e/sysfilter.c): the daemon, its signer with its own seccomp
# filter inside, issues a batch; without "seccomp" in the list the
# signer cannot start (why the unit names it).  Not under a sanitizer,
# whose runtime makes calls of its own.
# filter_list UNIT: the unit's SystemCallFilter= expanded to names.
expand() {
	systemd-analyze syscall-filter "$1" | sed -n 's/^    \([^ #][^ ]*\).*/\1/p' |
	while read -r w; do
		case $w in @*) expand "$w" ;; *) echo "$w" ;; esac
	done
}
filter_list() {
	for w in $(sed -n 's/^SystemCallFilter=//p' "$1"); do
		case $w in @*) expand "$w" ;; *) echo "$w" ;; esac
	done | sort -u
}
setup_acme
if [ -z "$san" ]; then
	cc -o "$T/sysfilter" "$ROOT/tests/e2e/sysfilter.c" -lseccomp || bail "cc sysfilter"
	filter_list "$UD/certspool.service" >"$T/daemon.filter"
	filter_list "$UD/certspool-web.service" >"$T/web.filter"
	check "the daemon's filter names seccomp" grep -qx seccomp "$T/daemon.filter"
	check "the filter is @system-service's (read, openat, ...)" grep -qx openat "$T/daemon.filter"
	csr_batch SCF 1
	drop acme "$T/SCF.xml"
	# The binary the unit names (installed under $P: its compiled data
	# path exists), with no environment.
	env -i PATH=/usr/bin:/bin "$T/sysfilter" "$T/daemon.filter" "$P/usr/sbin/certspool" --config "$T/certspool.conf" daemon --once >"$T/scf.log" 2>&1
	check_eq "daemon under the unit's SystemCallFilter: exit 0" 0 "$?"
	check "daemon under the unit's SystemCallFilter: issued" test -s "$S/outbound/acme/SCF.1.tar.gz"
	grep -vx seccomp "$T/daemon.filter" >"$T/noseccomp.filter"
	csr_batch SCF2 1
	drop acme "$T/SCF2.xml"
	"$T/sysfilter" "$T/noseccomp.filter" "$BIN" --config "$T/certspool.conf" daemon --once >"$T/scf2.log" 2>&1
	check_eq "without seccomp in the list: the signer cannot start" 1 "$?"
	check "without seccomp in the list: nothing issued" test ! -e "$S/outbound/acme/SCF2.1.tar.gz"
	wport=$((20000 + ($$ + 7) % 20000))
	sed "s/^web_listen = .*/web_listen = 127.0.0.1:$wport/" "$T/certspool.conf" >"$T/web.conf"
	env -i PATH=/usr/bin:/bin "$T/sysfilter" "$T/web.filter" "$P/usr/sbin/certspool" --config "$T/web.conf" web >"$T/scfweb.log" 2>&1 &
	wpid=$!
	trap 'kill "$wpid" 2>/dev/null; cleanup' EXIT
	check "web under its unit's SystemCallFilter: serves" wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$wport/assets/keygen.js"
	curl -sf "http://127.0.0.1:$wport/assets/keygen.js" -o "$T/k.js"
	check "web: the asset from $P/usr/share/certspool/web" cmp -s "$T/k.js" "$P/usr/share/certspool/web/keygen.js"
	check "the installed binary has $P's data path compiled in" grep -qa "$P/usr/share/certspool/schemas" "$P/usr/sbin/certspool"
	kill "$wpid"
	wait "$wpid"
	check_eq "web under its unit's SystemCallFilter: exit 0 on SIGTERM" 0 "$?"
fi

# The daemon under the stand-in, log = journal on a socket of the test.
csr_batch NTF 1
sed -i "s|^log_level = .*|log_level = debug|; s|^log = .*|log = journal|; s|^journal_socket = .*|journal_socket = $T/journal.sock|; s|^poll_seconds = .*|poll_seconds = 3600|" "$T/certspool.conf"
# A file name that tries to start a field of its own.
printf x >"$S/inbound/acme/evil
MESSAGE=forged.xml"
python3 "$LISTEN" "$T" --hup --drop "$T/NTF.xml" "$S/inbound/acme/NTF.xml" \
    --wait "$S/outbound/acme/NTF.1.result.xml" -- "$BIN" --config "$T/certspool.conf" daemon
check_eq "daemon under NOTIFY_SOCKET: exit 0 on SIGTERM" 0 "$?"
N=$T/notify.out
check "READY=1" grep -qx "READY=1" "$N"
check "RELOADING=1 on SIGHUP" grep -qx "RELOADING=1" "$N"
check "STATUS= with the queue" grep -q "^STATUS=[0-9]* orders open, [0-9]* waiting" "$N"
check "STOPPING=1" grep -qx "STOPPING=1" "$N"
check "several WATCHDOG=1" test "$(grep -cx WATCHDOG=1 "$N")" -ge 3
# order: first READY, RELOADING, READY, ..., a STATUS, WATCHDOG, last STOPPING
first_ready=$(grep -nx "READY=1" "$N" | head -n 1 | cut -d: -f1)
reload=$(grep -nx "RELOADING=1" "$N" | head -n 1 | cut -d: -f1)
second_ready=$(grep -nx "READY=1" "$N" | sed -n 2p | cut -d: -f1)
status=$(grep -n "^STATUS=" "$N" | tail -n 1 | cut -d: -f1)
stopping=$(grep -nx "STOPPING=1" "$N" | cut -d: -f1)
last=$(wc -l <"$N")
check "READY=1 comes first" test "${first_ready:-0}" -eq 1
check "RELOADING=1 after READY=1" test "${reload:-0}" -gt "${first_ready:-99}"
check "READY=1 again after the reload" test "${second_ready:-0}" -gt "${reload:-99}"
check "STATUS= before STOPPING=1" test "${status:-99}" -lt "${stopping:-0}"
check "WATCHDOG=1 between READY and STOPPING" sh -c "sed -n '2,$((${stopping:-1} - 1))p' '$N' | grep -qx WATCHDOG=1"
check_eq "STOPPING=1 is the last" "$last" "${stopping:-}"
check "the batch was issued" test -s "$S/outbound/acme/NTF.1.tar.gz"
check "the result shows 0 open after the pass" grep -q "^STATUS=0 orders open" "$N"

# The journal: one datagram per line, fields of their own.
J=$T/journal.out
check_eq "journal: every datagram well formed, MESSAGE once" "" "$(grep '^BAD' "$J")"
acc=$(grep "	MESSAGE=acme/NTF.xml: accepted" "$J" 2>/dev/null; grep "^MESSAGE=acme/NTF.xml: accepted" "$J")
check "journal: the accepted line" test -n "$acc"
check "journal: ACCOUNT=" sh -c "printf '%s\n' \"\$1\" | tr '\t' '\n' | grep -qx ACCOUNT=acme" - "$acc"
check "journal: FILE=" sh -c "printf '%s\n' \"\$1\" | tr '\t' '\n' | grep -qx FILE=NTF.xml" - "$acc"
check "journal: BATCH=" sh -c "printf '%s\n' \"\$1\" | tr '\t' '\n' | grep -qx BATCH=NTF" - "$acc"
check "journal: PRIORITY=6 (info)" sh -c "printf '%s\n' \"\$1\" | tr '\t' '\n' | grep -qx PRIORITY=6" - "$acc"
check "journal: SYSLOG_IDENTIFIER" sh -c "printf '%s\n' \"\$1\" | tr '\t' '\n' | grep -qx SYSLOG_IDENTIFIER=certspool" - "$acc"
check "journal: MESSAGE has the context too" sh -c "printf '%s\n' \"\$1\" | tr '\t' '\n' | grep -q '^MESSAGE=.* account=acme file=NTF.xml batch=NTF'" - "$acc"
check "journal: the result line has ACCOUNT= and BATCH=" grep -q "^MESSAGE=acme/NTF.1.result.xml written.*	ACCOUNT=acme	BATCH=NTF$" "$J"
check "journal: a debug line is PRIORITY=7" grep -q "PRIORITY=7" "$J"
check "journal: a warning is PRIORITY=4" grep -q "PRIORITY=4" "$J"
check "journal: the stop line" grep -q "^MESSAGE=daemon stopped" "$J"
check_not "journal: no forged field" grep -q "	MESSAGE=forged" "$J"
check "journal: the hostile name escaped" grep -q 'evil\\x0aMESSAGE=forged.xml' "$J"
check_eq "journal: nothing on stderr" "" "$(grep -v '^$' "$T/run.log" | grep certspool: | head -n 1)"

# No journal socket: the daemon does not start.
sed -i "s|^journal_socket = .*|journal_socket = $T/no-such.sock|" "$T/certspool.conf"
cs daemon --once >"$T/nojournal.log" 2>&1
check_eq "journal socket missing: exit 1" 1 "$?"
check "journal socket missing: said so" grep -q "log = journal: cannot connect to the journal socket $T/no-such.sock" "$T/nojournal.log"
check "journal accepted by the config" grep -q "stderr, syslog or journal" "$T/certspool.conf"

# certspool web: READY=1 once listening, STOPPING=1 on SIGTERM.
sed -i "s|^log = .*|log = stderr|; s|^web_listen = .*|web_listen = 127.0.0.1:$((20000 + $$ % 20000))|" "$T/certspool.conf"
mkdir "$T/w"
python3 "$LISTEN" "$T/w" -- "$BIN" --config "$T/certspool.conf" web
check_eq "web under NOTIFY_SOCKET: exit 0 on SIGTERM" 0 "$?"
N=$T/w/notify.out
check_eq "web: READY=1 first" "READY=1" "$(head -n 1 "$N")"
check_eq "web: STOPPING=1 last" "STOPPING=1" "$(tail -n 1 "$N")"
check "web: WATCHDOG=1 while idle" grep -qx "WATCHDOG=1" "$N"
check "web: listening logged" grep -q "web: serving" "$T/w/run.log"
finish
