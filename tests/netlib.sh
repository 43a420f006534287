# tests/netlib.sh: what the DNS, HTTP and CAA tests (t41, t42, t43) share,
# sourced after lib.sh: loopback servers (dnsmasq and a SERVFAIL resolver
# on free 127.0.0.1 ports, started and killed by the test; every server is
# stopped on exit), config and result helpers, a one-order batch.

PIDS=""
stop_servers() {
	for p in $PIDS; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	PIDS=""
}
trap 'stop_servers; cleanup' EXIT
trap 'exit 1' INT TERM
need() {	# need COMMAND PACKAGE: install it on Debian when root
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && apt-get install -y -qq "$2" >/dev/null 2>&1
	command -v "$1" >/dev/null 2>&1 || {
		echo "FAIL: $1 missing (apt-get install $2)"; fail=$((fail + 1)); finish; exit 1; }
}
need dnsmasq dnsmasq
need python3 python3
free_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
t = socket.socket(); t.bind(("127.0.0.1", s.getsockname()[1])); print(s.getsockname()[1])'
}
wait_port() {	# wait_port PORT: until something accepts TCP there
	python3 -c 'import socket, sys, time
for i in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$1"
}
DNSPID=""
# dns_start ARGS...: (re)start the loopback dnsmasq on $DNSPORT with records
dns_start() {
	dns_stop
	dnsmasq --no-daemon --conf-file=/dev/null --port="$DNSPORT" \
	    --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
	    --pid-file="$T/dnsmasq.pid" --local=/test/ --local=/invalid/ "$@" \
	    >>"$T/dnsmasq.log" 2>&1 &
	DNSPID=$!
	PIDS="$PIDS $DNSPID"
	wait_port "$DNSPORT" || echo "dnsmasq did not start: $(tail -n 3 "$T/dnsmasq.log")"
}
dns_stop() {
	[ -n "$DNSPID" ] || return 0
	kill -CONT "$DNSPID" 2>/dev/null
	kill "$DNSPID" 2>/dev/null
	wait "$DNSPID" 2>/dev/null
	DNSPID=""
}
# A resolver that answers every question with SERVFAIL.
servfail_start() {	# servfail_start PORT, until it listens
	rm -f "$T/servfail.ready"
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
while True:
    q, a = s.recvfrom(512)
    s.sendto(q[:2] + bytes([0x81, 0x82]) + q[4:6] + b"\0\0\0\0\0\0" + q[12:], a)' "$1" "$T/servfail.ready" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -e "$T/servfail.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
setconf() {	# setconf KEY VALUE
	sed -i "s|^$1 = .*|$1 = $2|" "$T/certspool.conf"
}
rstate() {	# rstate RESULT ORDER: the order's state in a result.xml
	xval "$1" "string(//*[local-name()=\"order\"][@id=\"$2\"]/@state)"
}
latest() {	# latest ACCOUNT BATCH: newest result.xml of the batch
	ls -v "$S/outbound/$1/$2".*.result.xml 2>/dev/null | tail -n 1
}
order_xml() {	# order_xml BATCH-ID ORDER-ID EMAIL PRODUCT: one-order batch
	cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<batch xmlns="urn:certspool:batch:1" id="$1" account="acme">
  <attestation officer="Pat Lee" title="HR Director"/>
  <order id="$2">
    <product>$4</product>
    <organization>Acme Corp</organization>
    <validity><days>365</days></validity>
    <recipient>
      <commonName type="email">$3</commonName>
      <email>$3</email>
      <csr>$(csr ec:P-256 "$3")</csr>
    </recipient>
    <payment method="balance"/>
    <agreement accepted="true"/>
  </order>
</batch>
EOF
}
