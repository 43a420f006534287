#!/bin/sh
# Install what certspool needs to build and test, on Debian, if missing.
set -eu
PKGS="build-essential pkg-config libssl-dev libxml2-dev libarchive-dev
libsqlite3-dev libunistring-dev libidn2-dev libmicrohttpd-dev sqlite3 openssl libarchive-tools gnutls-bin libnss3-tools
gpgsm libxml2-utils python3 procps curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing >/dev/null
