#!/bin/sh
# Install what certspool needs to build and test, on Debian, if missing.
# With the argument "test" (make test), also what only the tests need:
# Debian's chromium, SoftHSM2 with opensc's pkcs11-tool and xxd, p11-kit's
# server and client module (a token over a socket), systemd (its
# systemd-analyze, systemd-tmpfiles and systemd-sysusers, offline),
# prometheus (promtool), mandoc (the man pages' lint), dnsmasq (a loopback
# resolver), node and npm, and the npm packages of tests/web
# (playwright-core) -- the build and the demo need none of them.
set -eu
PKGS="build-essential pkg-config libssl-dev libxml2-dev libarchive-dev
libsqlite3-dev libunistring-dev libidn2-dev libmicrohttpd-dev libseccomp-dev libp11-kit-dev libsystemd-dev sqlite3 openssl libarchive-tools gnutls-bin libnss3-tools
gpgsm libxml2-utils python3 procps curl"
TESTS=""
[ "${1:-}" = test ] && TESTS=1
[ -n "$TESTS" ] && PKGS="$PKGS chromium softhsm2 opensc xxd p11-kit p11-kit-modules
systemd prometheus mandoc"
# dnsmasq: the loopback resolver of the DNS, CAA and doctor tests.
[ -n "$TESTS" ] && PKGS="$PKGS dnsmasq"
# node and npm: Debian's, unless a node with its own npm is there already.
[ -n "$TESTS" ] && ! command -v npm >/dev/null 2>&1 && PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq $missing >/dev/null
fi
# tests/web: the pinned npm packages, again when the lock file changed.
if [ -n "$TESTS" ]; then
	w=$(cd "$(dirname "$0")/../tests/web" && pwd)
	if [ ! -f "$w/node_modules/.package-lock.json" ] ||
	    [ "$w/package-lock.json" -nt "$w/node_modules/.package-lock.json" ]; then
		echo "npm ci in tests/web"
		(cd "$w" && npm ci --no-audit --no-fund >/dev/null)
	fi
fi
