#!/bin/sh
# make install DESTDIR=... PREFIX=/usr: the files and their modes (binary,
# schema, portal assets, man pages, example config, units, sysusers.d,
# tmpfiles.d); the installed binary, run from DESTDIR with no environment
# at all, finds its schema and assets (the compiled path, else beside its
# sbin/), issues a batch and serves /assets/; CERTSPOOL_SCHEMA_DIR still
# overrides; the build tree's binary keeps the source tree's schemas/;
# systemd-sysusers and systemd-tmpfiles on DESTDIR make the user, the
# SFTP group and the spool tree with the modes that let the group write
# inbound/ACCOUNT/ and read outbound/ACCOUNT/ only; account add gives an
# account's directories that group; make uninstall removes it all.
. "$(dirname "$0")/../lib.sh"
need_tools make systemd-sysusers systemd-tmpfiles curl
R=$T/root
# A sanitizer build's objects link only with the sanitizer (make test's
# second pass): the install is built the same way.
san=""
ldd "$BIN" 2>/dev/null | grep -q libasan && san=address
ldd "$BIN" 2>/dev/null | grep -q libubsan && san=${san:+$san,}undefined
mk() {
	make -s -C "$ROOT" ${san:+SANITIZE=$san} INSTBUILD="$T/build" "$@" >>"$T/make.log" 2>&1
}
mk install DESTDIR="$R" PREFIX=/usr || { cat "$T/make.log"; bail "make install"; }

# mode PATH: octal mode (and type letter) of an installed file.
mode() {
	stat -c %a "$R$1" 2>/dev/null
}
check_eq "binary 0755" 755 "$(mode /usr/sbin/certspool)"
check_eq "schema 0644" 644 "$(mode /usr/share/certspool/schemas/batch-1.xsd)"
check_eq "portal asset 0644" 644 "$(mode /usr/share/certspool/web/keygen.js)"
check "every asset of web/assets" sh -c "cd '$ROOT/web/assets' && for f in *; do cmp -s \"\$f\" '$R/usr/share/certspool/web/'\"\$f\" || exit 1; done"
check_eq "example config 0644" 644 "$(mode /etc/certspool/certspool.conf.example)"
check_eq "no certspool.conf installed" "" "$(ls "$R/etc/certspool" | grep -v example)"
check_eq "daemon unit 0644" 644 "$(mode /usr/lib/systemd/system/certspool.service)"
check_eq "portal unit 0644" 644 "$(mode /usr/lib/systemd/system/certspool-web.service)"
check_eq "sysusers.d 0644" 644 "$(mode /usr/lib/sysusers.d/certspool.conf)"
check_eq "tmpfiles.d 0644" 644 "$(mode /usr/lib/tmpfiles.d/certspool.conf)"
for m in "$ROOT"/man/*.[58]; do
	[ -e "$m" ] || continue
	n=$(basename "$m")
	check_eq "man page $n" 644 "$(mode "/usr/share/man/man${n##*.}/$n")"
done
check_eq "no @placeholder@ left" "" "$(grep -rl '@[a-z]*dir@' "$R" 2>/dev/null)"
U=$R/usr/lib/systemd/system/certspool.service
check "unit: Type=notify" grep -qx 'Type=notify' "$U"
check "unit: ExecStart" grep -qx 'ExecStart=/usr/sbin/certspool --config /etc/certspool/certspool.conf daemon' "$U"
check "unit: ExecReload SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$U"
check "unit: ReadWritePaths" grep -qx 'ReadWritePaths=/var/spool/certspool /var/lib/certspool' "$U"
for k in 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' 'ProtectHome=yes' \
    'CapabilityBoundingSet=' 'User=certspool' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
	check "unit: $k" grep -qx "$k" "$U"
done
check "unit: watchdog" grep -q '^WatchdogSec=' "$U"
check "unit: @system-service" grep -q '^SystemCallFilter=@system-service' "$U"

# The example config: init's text (every key and its comment) with the
# installed paths; a valid config for the installed binary.
E=$R/etc/certspool/certspool.conf.example
init_dir "$T/ref" >/dev/null
check_eq "example: every key of init" "$(grep -c '^[a-z_0-9]* = ' "$T/ref/certspool.conf")" "$(grep -c '^[a-z_0-9]* = ' "$E")"
check_eq "example: every comment of init" "$(grep -c '^#' "$T/ref/certspool.conf")" "$(($(grep -c '^#' "$E") - 2))"
check "example: spool_dir" grep -qx 'spool_dir = /var/spool/certspool' "$E"
check "example: database" grep -qx 'database = /var/lib/certspool/certspool.db' "$E"
check "example: ca_dir" grep -qx 'ca_dir = /var/lib/certspool/ca' "$E"
check "example: log = journal" grep -qx 'log = journal' "$E"

# The installed binary from DESTDIR with no environment variable at all.
IB=$R/usr/sbin/certspool
check "compiled-in schema path is the installed one" grep -qa /usr/share/certspool/schemas "$IB"
check "build tree binary keeps the source tree's schemas" grep -qa "$ROOT/schemas" "$BIN"
check_not "build tree binary has no installed path" grep -qa /usr/share/certspool/schemas "$BIN"
BIN=$IB
unset CERTSPOOL_SCHEMA_DIR
setup_acme
csr_batch INST 2
drop acme "$T/INST.xml"
env -i PATH=/usr/bin:/bin "$IB" --config "$T/certspool.conf" daemon --once >"$T/once.log" 2>&1
check_eq "installed daemon --once, no environment: exit 0" 0 "$?"
check "no environment: batch archived" test -f "$S/archive/acme/INST.xml"
check "no environment: outbound archive" test -s "$S/outbound/acme/INST.1.tar.gz"
check "no environment: result" test -s "$S/outbound/acme/INST.1.result.xml"
check_eq "no environment: 2 certificates" 2 "$(sql "SELECT count(*) FROM certificate WHERE state = 'issued'")"
# CERTSPOOL_SCHEMA_DIR still wins.
mkdir -p "$T/noschema"
check_not "CERTSPOOL_SCHEMA_DIR overrides" env -i PATH=/usr/bin:/bin CERTSPOOL_SCHEMA_DIR="$T/noschema" "$IB" --config "$T/certspool.conf" daemon --once
# The portal serves its assets from the installed web/.
port=$((20000 + $$ % 20000))
sed -i "s/^web_listen = .*/web_listen = 127.0.0.1:$port/" "$T/certspool.conf"
env -i PATH=/usr/bin:/bin "$IB" --config "$T/certspool.conf" web >"$T/web.log" 2>&1 &
wpid=$!
trap 'kill "$wpid" 2>/dev/null; cleanup' EXIT
wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$port/assets/keygen.js"
curl -sf "http://127.0.0.1:$port/assets/keygen.js" -o "$T/keygen.js"
check "no environment: /assets/keygen.js served" cmp -s "$T/keygen.js" "$ROOT/web/assets/keygen.js"
kill "$wpid"
wait "$wpid"

# sysusers.d and tmpfiles.d, offline on a copy of DESTDIR.
cp -a "$R" "$T/sys"
R0=$R
R=$T/sys
check "systemd-sysusers --root" systemd-sysusers --root="$R"
uid=$(awk -F: '$1 == "certspool" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "certspool" { print $3 }' "$R/etc/group")
sg=$(awk -F: '$1 == "certspool-sftp" { print $3 }' "$R/etc/group")
check "user certspool" test -n "$uid"
check "group certspool-sftp" test -n "$sg"
check_eq "certspool is in certspool-sftp" certspool "$(awk -F: '$1 == "certspool-sftp" { print $4 }' "$R/etc/group")"
check_eq "certspool has no login shell" /usr/sbin/nologin "$(awk -F: '$1 == "certspool" { print $7 }' "$R/etc/passwd")"
check "systemd-tmpfiles --root --create" systemd-tmpfiles --root="$R" --create
# st PATH: mode uid gid
st() {
	stat -c '%a %u %g' "$R$1" 2>/dev/null
}
V=/var/spool/certspool
check_eq "spool root: group may pass only" "710 $uid $sg" "$(st $V)"
check_eq "inbound: pass only, set-group-ID" "2710 $uid $sg" "$(st $V/inbound)"
check_eq "outbound: pass only, set-group-ID" "2710 $uid $sg" "$(st $V/outbound)"
for d in work archive rejected mail portal crl; do
	check_eq "$d: not the SFTP group's" "750 $uid $gid" "$(st $V/$d)"
done
check_eq "state dir" "750 $uid $gid" "$(st /var/lib/certspool)"
check_eq "CA dir" "700 $uid $gid" "$(st /var/lib/certspool/ca)"

# account add on such a tree: inbound/NAME group-writable, outbound/NAME
# group-readable, both the SFTP group's; the rest stays private.  (Run
# here as whoever runs the test, with a group of ours.)
S=$T/spool
chmod 2710 "$S/inbound" "$S/outbound"
cs account add beta >/dev/null
check_eq "account inbound: 2770" 2770 "$(stat -c %a "$S/inbound/beta")"
check_eq "account outbound: 2750" 2750 "$(stat -c %a "$S/outbound/beta")"
check_eq "account archive: 750" 750 "$(stat -c %a "$S/archive/beta")"
check_eq "account inbound: the parent's group" "$(stat -c %g "$S/inbound")" "$(stat -c %g "$S/inbound/beta")"
check_eq "without set-group-ID: 750" 750 "$(stat -c %a "$S/inbound/acme")"

# make uninstall removes every file install wrote.
R=$R0
mk uninstall DESTDIR="$R" PREFIX=/usr || bail "make uninstall"
check_eq "uninstall: no file left" "" "$(find "$R" -type f)"
check_eq "uninstall: no certspool directory left" "" "$(find "$R" -name '*certspool*')"
finish
