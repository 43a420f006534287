#!/bin/sh
# Install what certspool needs to build and test, on Debian, if missing.
# With the argument "test" (make test), also what only the tests need:
# Debian's chromium, SoftHSM2 with opensc's pkcs11-tool and xxd, p11-kit's
# server and client module (a token over a socket), systemd (its
# systemd-analyze, systemd-tmpfiles and systemd-sysusers, offline),
# prometheus (promtool), mandoc (the man pages' lint), dnsmasq (a loopback
# resolver), node and npm, the npm packages of tests/web
# (playwright-core), and PostgreSQL 15's server and client (the suite's
# second engine: tests/unit/pg-unit.sh starts a throwaway cluster with
# initdb and pg_ctl; Debian's "main" cluster and its service are not
# made) -- the build and the demo need none of them.
set -eu
PKGS="build-essential pkg-config libssl-dev libxml2-dev libarchive-dev
libsqlite3-dev libunistring-dev libidn2-dev libmicrohttpd-dev libseccomp-dev libp11-kit-dev libsystemd-dev libpq-dev sqlite3 openssl libarchive-tools gnutls-bin libnss3-tools
gpgsm libxml2-utils python3 procps curl"
TESTS=""
[ "${1:-}" = test ] && TESTS=1
[ -n "$TESTS" ] && PKGS="$PKGS chromium softhsm2 opensc xxd p11-kit p11-kit-modules
systemd prometheus mandoc"
# dnsmasq: the loopback resolver of the DNS, CAA and doctor tests.
[ -n "$TESTS" ] && PKGS="$PKGS dnsmasq"
# PostgreSQL: the binaries only (initdb, pg_ctl, psql, pg_dump).
[ -n "$TESTS" ] && PKGS="$PKGS postgresql-15 postgresql-client-15"
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
	# No cluster "main" (and so no service running it) when the server
	# package comes in: the tests start their own.
	case " $missing " in
	*" postgresql-15 "*)
		$SUDO mkdir -p /etc/postgresql-common/createcluster.d
		echo "create_main_cluster = false" | $SUDO tee \
		    /etc/postgresql-common/createcluster.d/certspool-tests.conf \
		    >/dev/null
		;;
	esac
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
