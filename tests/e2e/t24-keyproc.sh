#!/bin/sh
# The signer process (README, CA key custody): a running daemon with a
# file key has one signer child, restricted (NoNewPrivs, a seccomp
# filter, only its channels and stderr open); the daemon's memory holds
# none of the key's secret material (PKCS#8 DER, private exponent) while
# the same scan finds it in the signer (the control: the scan works);
# certificates and CRLs verify with openssl; a signer killed with
# SIGKILL is started again and the next batch is issued; `certspool crl`
# signs through a signer of its own; a key that cannot be loaded holds
# the batch in its write-ahead records until it can, then it is issued
# once.  Run as root (reads /proc/PID/mem).
. "$(dirname "$0")/../lib.sh"
need_tools python3 openssl sqlite3 ps
setup
cs account add acme --balance 100000000 >/dev/null
oid=$(validated_org acme "Acme Corp" acme.example)
check "organization validated" test -n "$oid"
L=$T/daemon.log
CHAIN=$T/ca/chain.pem
KEY=$T/ca/ca.key

issued() {
	sql "SELECT count(*) FROM certificate WHERE state = 'issued'"
}
field() {	# field PID KEY: a value of /proc/PID/status
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}
signer_of() {	# the signer child of daemon $1
	ps -o pid=,args= --ppid "$1" | awk '/signer-process/ { print $1 }'
}
verify_all() {	# every issued certificate verifies with the chain
	bad=0
	mkdir -p "$T/c"
	for id in $(sql "SELECT id FROM certificate WHERE state = 'issued'"); do
		blob_to "$T/c/$id.der" der "FROM certificate WHERE id = $id"
		openssl x509 -inform DER -in "$T/c/$id.der" -out "$T/c/$id.pem"
		openssl verify -partial_chain -CAfile "$CHAIN" -purpose smimesign \
		    "$T/c/$id.pem" >/dev/null 2>&1 || bad=$((bad + 1))
	done
	echo $bad
}
crl_ok() {	# every CRL in crl_dir verifies with the issuing CA
	n=0
	for f in "$S"/crl/*.crl; do
		[ -e "$f" ] || return 1
		openssl crl -inform DER -in "$f" -CAfile "$CHAIN" -noout 2>&1 |
		    grep -q "verify OK" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$L" 2>&1 &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; cleanup' EXIT
wait_until 20 grep -q "daemon started" "$L" || bail "daemon did not start"
spid=$(signer_of "$dpid")
check "one signer child" test -n "$spid"
[ -n "$spid" ] || bail "no signer process"
check_eq "the signer's parent is the daemon" "$dpid" "$(field "$spid" PPid)"
check_eq "signer: NoNewPrivs" 1 "$(field "$spid" NoNewPrivs)"
check_eq "signer: seccomp filter" 2 "$(field "$spid" Seccomp)"
check_eq "signer: no signal blocked (PDEATHSIG SIGTERM reaches it)" 0000000000000000 "$(field "$spid" SigBlk)"
check_eq "daemon: no seccomp (it is not the signer)" 0 "$(field "$dpid" Seccomp)"
# The signer's descriptors: stderr and sockets only, no file.
files=$(ls -l "/proc/$spid/fd" | awk 'NR > 1 && $NF !~ /^socket:/ { print $(NF - 2) }' | grep -vx 2 | wc -l)
check_eq "signer: only stderr and its channels open" 0 "$files"
check_eq "signer: core files off" 0 "$(awk '/^Max core file size/ { print $5 }' "/proc/$spid/limits")"
check_eq "signer: no file growth" 0 "$(awk '/^Max file size/ { print $4 }' "/proc/$spid/limits")"

N=6
csr_batch K1 $N
drop acme "$T/K1.xml"
wait_until 60 is $N issued
check_eq "first batch issued" $N "$(issued)"
check_eq "every certificate verifies" 0 "$(verify_all)"
wait_until 20 crl_ok
check "the daemon's CRL verifies with the issuing CA" crl_ok

# No key in the daemon: not mapped, not open, not in its memory.
check_not "ca.key is not mapped in the daemon" grep -q "ca.key" "/proc/$dpid/maps"
check_not "ca.key is not open in the daemon" sh -c "ls -l /proc/$dpid/fd | grep -q ca.key"
scan=$(python3 "$ROOT/tests/e2e/memscan.py" "$KEY" "$dpid" "$spid" 2>"$T/memscan.log")
echo "$scan" >>"$T/memscan.log"
check_eq "the daemon's memory holds no key material" "$dpid found 0" "$(echo "$scan" | sed -n 1p)"
ctl=$(echo "$scan" | sed -n 2p)
case $ctl in
"$spid found 0"|*unreadable)
	# Control on a process of our own that holds the key.
	openssl s_server -accept 0 -naccept 1 -cert "$T/ca/ca.pem" -key "$KEY" -quiet >/dev/null 2>&1 &
	cpid=$!
	sleep 1
	ctl=$(python3 "$ROOT/tests/e2e/memscan.py" "$KEY" "$cpid" 2>/dev/null)
	kill "$cpid" 2>/dev/null
	check "control: the scan finds the key in openssl s_server ($ctl)" sh -c "echo '$ctl' | grep -q 'found [1-9]'"
	;;
*)
	check "control: the same scan finds the key in the signer ($ctl)" sh -c "echo '$ctl' | grep -q 'found [1-9]'"
	;;
esac

# A signer killed mid-run: the batch is issued all the same.
csr_batch K2 $N
drop acme "$T/K2.xml"
kill -9 "$spid"
wait_until 60 is $((2 * N)) issued
check_eq "batch after the kill issued" $((2 * N)) "$(issued)"
check "the restart is logged" grep -q "signer process $spid ended (signal 9); starting a new one" "$L"
spid2=$(signer_of "$dpid")
check "a new signer ($spid -> $spid2)" test -n "$spid2" -a "$spid2" != "$spid"
[ -n "$spid2" ] && check_eq "new signer: seccomp filter" 2 "$(field "$spid2" Seccomp)"
check_eq "every certificate verifies after the restart" 0 "$(verify_all)"
check_eq "no certificate left signing" 0 "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"

# A signer that cannot start again (its key now open to others): the
# batch waits in its write-ahead records, and is signed, once, in a
# later pass after the key file is fixed.
kill -9 "$spid2"
chmod 0644 "$KEY"
csr_batch K3 $N
drop acme "$T/K3.xml"
wait_until 60 is $N sql "SELECT count(*) FROM certificate WHERE state = 'signing'"
# a later pass's recovery (its lines carry the recipient) failed too
wait_until 60 grep -q "error: ca_sign_tbs: .*mode 0644 lets group or others read.* recipient=" "$L"
check_eq "key unavailable: the batch waits as write-ahead records" $N "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"
check "key unavailable: the signer's reason is logged" grep -q "ca.key: mode 0644 lets group or others read" "$L"
check_eq "key unavailable: nothing more issued" $((2 * N)) "$(issued)"
chmod 0600 "$KEY"
wait_until 60 is $((3 * N)) issued
check_eq "key back: the batch is issued" $((3 * N)) "$(issued)"
check_eq "key back: no write-ahead record left" 0 "$(sql "SELECT count(*) FROM certificate WHERE state = 'signing'")"
check_eq "key back: one certificate per recipient" 0 "$(sql "SELECT count(*) FROM (SELECT recipient_id FROM certificate WHERE state != 'void' GROUP BY recipient_id, round HAVING count(*) > 1) x")"
check "key back: signed from the write-ahead record" grep -q "signed again from its write-ahead record" "$L"
check_eq "every certificate verifies after the outage" 0 "$(verify_all)"
spid2=$(signer_of "$dpid")

kill -TERM "$dpid"
wait_until 20 sh -c "! kill -0 $dpid 2>/dev/null"
check "daemon stopped" sh -c "! kill -0 $dpid 2>/dev/null"
[ -n "$spid2" ] && check "its signer is gone too" wait_until 10 sh -c "! kill -0 $spid2 2>/dev/null"

# certspool crl --now: a signer of its own, CRLs that verify.
rm -f "$S"/crl/*.crl
check "crl --now" cs crl --now
check "crl --now: the CRLs verify with the issuing CA" crl_ok
check_not "no signer left behind" sh -c "ps -eo args= | grep -v grep | grep -q 'signer-process $T/'"
finish
