#!/bin/sh
# SFTP pickup with a real OpenSSH server (SPEC 1 "a file is taken only when
# it is complete"; README "Spool behaviour").
#
# A private sshd runs as a non-daemon child on 127.0.0.1 at a free high
# port, with a host key, authorized_keys, pid file and log in the test
# directory, public-key authentication only, internal-sftp.  The real
# daemon runs in the background (ready = settle, settle_seconds = 2,
# poll_seconds = 1) while the OpenSSH sftp client uploads batches the way
# an HR system's SFTP integration would:
#
#   A. a batch of 3000 orders (several MB) uploaded slowly (sftp -l, so the
#      upload lasts >= 6 s) UNDER ITS FINAL NAME into inbound/acme/.  While
#      the upload runs the file must stay in inbound/ (not claimed into
#      work/, not archived, not rejected, no error report, no log line about
#      it).  After the upload and the settle time it must be in archive/,
#      byte-identical to what was sent, with all 3000 orders stored for its
#      batch and a result.xml listing all 3000 orders.
#   B. a batch uploaded as NAME.xml.part (slowly, the .part must be left
#      alone) and renamed to NAME.xml in the same sftp session: taken exactly
#      once (one archive entry, one batch row, one input row, no rejected
#      entry, one result pass).
#   C. a stalled upload under the final name: the sftp client is stopped
#      (SIGSTOP) part-way through, for three times settle_seconds, while
#      the connection stays open and the server holds the file open for
#      writing; the partial file's mtime is then older than settle_seconds
#      but it must not be taken.  The client resumes (SIGCONT) and
#      finishes: the batch is taken once, complete (archived byte-identical,
#      not rejected, one batch row, its result appears).
#
# Needs /usr/sbin/sshd: installed with apt-get when running as root (CI),
# otherwise the test reports a failure saying why.  Every wait is bounded;
# sshd and the daemon are stopped by the EXIT trap.
. "$(dirname "$0")/../lib.sh"

SSHD_PID=""
DAEMON_PID=""
SFTP_PID=""
CLIENT=""
stop_all() {
	# A client stopped by test C would not see the TERM.
	[ -n "$CLIENT" ] && kill -CONT "$CLIENT" 2>/dev/null
	for p in $SFTP_PID $DAEMON_PID $SSHD_PID; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $SFTP_PID $DAEMON_PID $SSHD_PID; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	SFTP_PID="" DAEMON_PID="" SSHD_PID=""
}
trap 'stop_all; cleanup' EXIT
trap 'exit 130' INT TERM


# ---- prerequisites ----
if [ ! -x /usr/sbin/sshd ] || ! command -v sftp >/dev/null 2>&1 ||
    ! command -v ssh-keygen >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing openssh-server openssh-client"
		DEBIAN_FRONTEND=noninteractive timeout 600 \
		    apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1 ||
		    { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null 2>&1;
		      DEBIAN_FRONTEND=noninteractive timeout 600 \
		      apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1; }
	fi
	[ -x /usr/sbin/sshd ] && command -v sftp >/dev/null 2>&1 ||
	    bail "SKIPPED (counted as a failure): /usr/sbin/sshd or sftp missing and cannot install openssh-server/openssh-client (not root?)"
fi
for tool in sqlite3 xmllint python3 ssh-keygen; do
	command -v "$tool" >/dev/null 2>&1 || bail "missing tool: $tool"
done

setup
sed -i 's/^settle_seconds = .*/settle_seconds = 2/; s/^poll_seconds = .*/poll_seconds = 1/; s/^ready = .*/ready = settle/' \
    "$T/certspool.conf"
check_eq "config: settle 2" "settle_seconds = 2" "$(grep '^settle_seconds = ' "$T/certspool.conf")"
check "account add acme" cs account add acme
IN=$S/inbound/acme

# ---- sshd on 127.0.0.1 ----
U=$(id -un)
K=$T/ssh
mkdir -p "$K"
chmod 700 "$K"
ssh-keygen -q -t ed25519 -N '' -f "$K/host_ed25519" </dev/null >/dev/null 2>&1 ||
    bail "ssh-keygen (host key)"
ssh-keygen -q -t ed25519 -N '' -f "$K/client_ed25519" </dev/null >/dev/null 2>&1 ||
    bail "ssh-keygen (client key)"
cp "$K/client_ed25519.pub" "$K/authorized_keys"
chmod 600 "$K/authorized_keys"
# sshd wants its privilege-separation directory.
[ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd && chmod 755 /run/sshd
cat >"$K/sshd_config" <<EOF
ListenAddress 127.0.0.1
HostKey $K/host_ed25519
PidFile $K/sshd.pid
AuthorizedKeysFile $K/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $U
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
port_open() {
	python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.close()' "$1"
}
PORT=""
for attempt in 1 2 3 4 5; do
	p=$(free_port)
	[ "$p" -gt 1024 ] || continue
	timeout 900 /usr/sbin/sshd -D -e -f "$K/sshd_config" -p "$p" \
	    >>"$K/sshd.log" 2>&1 &
	SSHD_PID=$!
	if wait_until 10 port_open "$p"; then
		PORT=$p
		break
	fi
	kill -TERM "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=""
done
[ -n "$PORT" ] || { tail -n 20 "$K/sshd.log"; bail "sshd did not start on 127.0.0.1"; }
check "sshd listens on 127.0.0.1:$PORT" port_open "$PORT"

# sftp_batch BATCHFILE [EXTRA-OPTIONS...]: run sftp in the background
# (SFTP_PID), output in $K/sftp.out.
sftp_bg() {
	b=$1
	shift
	timeout 300 sftp -q -F /dev/null -b "$b" -P "$PORT" -i "$K/client_ed25519" \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=10 \
	    -o LogLevel=ERROR "$@" "$U@127.0.0.1" >>"$K/sftp.out" 2>&1 &
	SFTP_PID=$!
}
echo "pwd" >"$K/probe.batch"
sftp_bg "$K/probe.batch"
wait "$SFTP_PID"
st=$?
SFTP_PID=""
check_eq "sftp login with the client key" 0 "$st"
[ "$st" -eq 0 ] || { tail -n 20 "$K/sftp.out" "$K/sshd.log"; bail "sftp cannot log in"; }

# ---- the daemon ----
dead_nodes_wait
timeout 900 "$BIN" --config "$T/certspool.conf" daemon >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
check "daemon started" wait_until 10 grep -q "daemon started" "$T/daemon.log"

# gen_batch FILE ID NORDERS: a schema-valid batch with NORDERS orders in the
# example's structure (organization unknown to the account, so every order
# is decided at once: rejected unknown_organization).
CSR=$ROOT/tests/data/csr/rsa2048.pem
gen_batch() {
	awk -v id="$2" -v n="$3" -v csrfile="$CSR" '
	BEGIN {
		while ((getline l < csrfile) > 0) csr = csr l "\n"
		print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		printf "<batch xmlns=\"urn:certspool:batch:1\" id=\"%s\" account=\"acme\" created=\"2026-11-24T22:00:00Z\">\n", id
		print "  <attestation officer=\"Pat Lee\" title=\"HR Director\"/>"
		for (i = 1; i <= n; i++) {
			printf "  <order id=\"E-%06d\">\n", i
			print "    <product>secure_email_business</product>"
			print "    <organization>Acme Corp</organization>"
			print "    <signatureHash>sha384</signatureHash>"
			print "    <validity><years>1</years></validity>"
			print "    <autoRenew>0</autoRenew>"
			print "    <recipient>"
			printf "      <commonName type=\"name\">Employee %d</commonName>\n", i
			printf "      <givenName>Employee</givenName><surname>N%d</surname>\n", i
			printf "      <email>employee.%d@acme.example</email>\n", i
			printf "      <csr>%s</csr>\n", csr
			print "    </recipient>"
			print "    <payment method=\"contract\" ref=\"C-2026-01\"/>"
			print "    <agreement accepted=\"true\"/>"
			print "  </order>"
		}
		print "</batch>"
	}' >"$1"
}

# ================= Test A: slow upload under the final name =================
NA=3000
A=$T/bigA.xml
gen_batch "$A" SFTP-BIG-A "$NA"
size=$(stat -c %s "$A")
check "big batch is several MB ($size bytes)" test "$size" -ge 3000000
check "big batch is schema-valid" xmllint --noout --stream --schema "$ROOT/schemas/batch-1.xsd" "$A"
# Bandwidth so that the upload takes about 10 s (at least 6 s).
kbit=$((size * 8 / 1000 / 10))
[ "$kbit" -ge 8 ] || kbit=8
printf 'put %s %s/bigA.xml\n' "$A" "$IN" >"$K/a.batch"
t0=$(date +%s.%N)
sftp_bg "$K/a.batch" -l "$kbit"
polls=0 early="" seen=0 vanished=0
early_add() {
	case " $early " in *" $1 "*) ;; *) early="${early:+$early }$1" ;; esac
}
while kill -0 "$SFTP_PID" 2>/dev/null; do
	if [ -e "$IN/bigA.xml" ]; then
		seen=1
		polls=$((polls + 1))
	elif [ "$seen" -eq 1 ]; then
		vanished=$((vanished + 1))
	fi
	[ -e "$S/work/acme/bigA.xml" ] && early_add work
	ls "$S/archive/acme" 2>/dev/null | grep -q '^bigA' && early_add archive
	ls "$S/rejected/acme" 2>/dev/null | grep -q '^bigA' && early_add rejected
	grep -q 'bigA' "$T/daemon.log" && early_add log
	sleep 0.3
done
wait "$SFTP_PID"
st=$?
SFTP_PID=""
t1=$(date +%s.%N)
dur=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1")
echo "upload A: $size bytes at $kbit Kbit/s took $dur s, $polls polls saw it in inbound"
check_eq "sftp upload A succeeded" 0 "$st"
check "upload A lasted >= 6 s (took $dur s)" python3 -c "import sys; sys.exit(float(sys.argv[1]) < 6)" "$dur"
check "file seen in inbound during the upload" test "$polls" -ge 10
check_eq "file stayed in inbound for the whole upload" 0 "$vanished"
check_eq "daemon did not touch the file during the upload (work/archive/rejected/log)" "" "$early"
check "no error report for it during the upload" test ! -e "$S/rejected/acme/bigA.xml.error.xml"

RA=$S/outbound/acme/SFTP-BIG-A.1.result.xml
check "archived after settle" wait_until 120 test -f "$S/archive/acme/bigA.xml"
check "result.xml for A" wait_until 180 test -f "$RA"
check "archived copy is byte-identical to the upload" cmp -s "$A" "$S/archive/acme/bigA.xml"
check "nothing of A in rejected/" sh -c "! ls '$S/rejected/acme' | grep -q '^bigA'"
check "inbound and work empty" test -z "$(ls -A "$IN")" -a -z "$(ls -A "$S/work/acme")"
check_eq "one batch row for A" 1 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'SFTP-BIG-A'")"
check_eq "every order of A stored" "$NA" \
    "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'SFTP-BIG-A'")"
check_eq "every recipient of A stored" "$NA" \
    "$(sql "SELECT count(*) FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'SFTP-BIG-A'")"
check_eq "stored sha256 is the uploaded file's" "$(sha256sum "$A" | cut -c1-64)" \
    "$(sql "SELECT sha256 FROM batch WHERE ext_id = 'SFTP-BIG-A'")"
check_eq "one input row, accepted" "1 accepted" \
    "$(sql "SELECT count(*) || ' ' || $(q_agg outcome ,) FROM input WHERE work_name = 'bigA.xml'")"
check "result.xml A well-formed" xmllint --noout "$RA"
check_eq "result.xml A lists every order" "$NA" "$(xval "$RA" 'count(/*/*[local-name()="order"])')"
check_eq "result.xml A batch id" "SFTP-BIG-A" "$(xval "$RA" 'string(/*/@batch)')"
check_eq "no order of A left undecided" 0 \
    "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'SFTP-BIG-A' AND o.state IN ('new', 'approved')")"

# ============ Test B: upload as .part, then rename in sftp ============
NB=300
B=$T/b.xml
gen_batch "$B" SFTP-PART-B "$NB"
bsize=$(stat -c %s "$B")
bkbit=$((bsize * 8 / 1000 / 4))
[ "$bkbit" -ge 8 ] || bkbit=8
printf 'put %s %s/partB.xml.part\nrename %s/partB.xml.part %s/partB.xml\n' \
    "$B" "$IN" "$IN" "$IN" >"$K/b.batch"
sftp_bg "$K/b.batch" -l "$bkbit"
ptouched="" ppolls=0
while kill -0 "$SFTP_PID" 2>/dev/null; do
	[ -e "$IN/partB.xml.part" ] && ppolls=$((ppolls + 1))
	ls "$S/work/acme" "$S/archive/acme" "$S/rejected/acme" 2>/dev/null |
	    grep -q '^partB' && ptouched="$ptouched taken"
	sleep 0.2
done
wait "$SFTP_PID"
st=$?
SFTP_PID=""
check_eq "sftp upload B (.part + rename) succeeded" 0 "$st"
check "the .part was seen in inbound during the upload" test "$ppolls" -ge 3
check_eq ".part never taken while uploading" "" "$ptouched"
RB=$S/outbound/acme/SFTP-PART-B.1.result.xml
check "B archived" wait_until 60 test -f "$S/archive/acme/partB.xml"
check "result.xml for B" wait_until 60 test -f "$RB"
# Give the daemon a few more polls to take it a second time, if it would.
sleep 4
check_eq "exactly one archive entry for B" "partB.xml" "$(ls "$S/archive/acme" | grep '^partB' | tr '\n' ' ' | sed 's/ $//')"
check_eq "no rejected entry for B" "" "$(ls "$S/rejected/acme" | grep '^partB')"
check "no .part left behind" test ! -e "$IN/partB.xml.part"
check "inbound and work empty after B" test -z "$(ls -A "$IN")" -a -z "$(ls -A "$S/work/acme")"
check "archived B is byte-identical" cmp -s "$B" "$S/archive/acme/partB.xml"
check_eq "one batch row for B" 1 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'SFTP-PART-B'")"
check_eq "one input row for B (sha256)" 1 \
    "$(sql "SELECT count(*) FROM input WHERE sha256 = '$(sha256sum "$B" | cut -c1-64)'")"
check_eq "no input ever recorded under the .part name" 0 \
    "$(sql "SELECT count(*) FROM input WHERE work_name LIKE '%.part'")"
check_eq "every order of B stored" "$NB" \
    "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'SFTP-PART-B'")"
check_eq "one result pass for B" "SFTP-PART-B.1.result.xml" \
    "$(ls "$S/outbound/acme" | grep '^SFTP-PART-B.*result.xml$' | tr '\n' ' ' | sed 's/ $//')"
check_eq "result.xml B lists every order" "$NB" "$(xval "$RB" 'count(/*/*[local-name()="order"])')"
check_eq "no rejected inputs at all" 0 "$(sql "SELECT count(*) FROM input WHERE outcome <> 'accepted'")"

# ============ Test C: a stalled upload under the final name ============
NC=600
C=$T/c.xml
gen_batch "$C" SFTP-STALL-C "$NC"
csize=$(stat -c %s "$C")
ckbit=$((csize * 8 / 1000 / 4))
[ "$ckbit" -ge 8 ] || ckbit=8
printf 'put %s %s/stallC.xml\n' "$C" "$IN" >"$K/c.batch"
sftp_bg "$K/c.batch" -l "$ckbit"
# SFTP_PID is timeout(1); the sftp client is its child.
wait_until 10 pgrep -P "$SFTP_PID" -x sftp
CLIENT=$(pgrep -P "$SFTP_PID" -x sftp)
check "sftp client found" test -n "$CLIENT"
partial() {
	s=$(stat -c %s "$IN/stallC.xml" 2>/dev/null) || return 1
	[ "$s" -ge $((csize / 4)) ]
}
check "a quarter of C arrived" wait_until 30 partial
kill -STOP "$CLIENT"
s0=$(stat -c %s "$IN/stallC.xml")
stall=$(($(sed -n 's/^settle_seconds = //p' "$T/certspool.conf") * 3))
ctaken=""
end=$(($(date +%s) + stall))
while [ "$(date +%s)" -lt "$end" ]; do
	ls "$S/work/acme" "$S/archive/acme" "$S/rejected/acme" 2>/dev/null |
	    grep -q '^stallC' && ctaken=taken
	grep -q 'stallC' "$T/daemon.log" && ctaken="$ctaken logged"
	sleep 0.3
done
s1=$(stat -c %s "$IN/stallC.xml" 2>/dev/null)
echo "upload C stalled ${stall} s at $s0 of $csize bytes"
check "C was partial when stalled ($s0 < $csize)" test "$s0" -lt "$csize"
check_eq "nothing written during the stall" "$s0" "$s1"
age=$(($(date +%s) - $(stat -c %Y "$IN/stallC.xml" 2>/dev/null || date +%s)))
check "the stalled file's mtime is older than settle_seconds ($age s)" test "$age" -ge 3
check_eq "stalled upload not taken (work/archive/rejected/log)" "" "$ctaken"
check "stalled upload still in inbound" test -f "$IN/stallC.xml"
kill -CONT "$CLIENT"
CLIENT=""
wait "$SFTP_PID"
st=$?
SFTP_PID=""
check_eq "sftp upload C resumed and succeeded" 0 "$st"
RC=$S/outbound/acme/SFTP-STALL-C.1.result.xml
check "C archived" wait_until 60 test -f "$S/archive/acme/stallC.xml"
check "result.xml for C" wait_until 60 test -f "$RC"
check "archived C is byte-identical (complete)" cmp -s "$C" "$S/archive/acme/stallC.xml"
check_eq "no rejected entry for C" "" "$(ls "$S/rejected/acme" | grep '^stallC')"
check_eq "one batch row for C" 1 "$(sql "SELECT count(*) FROM batch WHERE ext_id = 'SFTP-STALL-C'")"
check_eq "one input row for C, accepted" "1 accepted" \
    "$(sql "SELECT count(*) || ' ' || $(q_agg outcome ,) FROM input WHERE work_name = 'stallC.xml'")"
check_eq "every order of C stored" "$NC" \
    "$(sql "SELECT count(*) FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'SFTP-STALL-C'")"
check_eq "result.xml C lists every order" "$NC" "$(xval "$RC" 'count(/*/*[local-name()="order"])')"
check_eq "still no rejected inputs at all" 0 "$(sql "SELECT count(*) FROM input WHERE outcome <> 'accepted'")"
check "sshd served our sessions" grep -q "Accepted publickey for $U" "$K/sshd.log"

# ---- stop: the daemon exits cleanly on SIGTERM ----
kill -TERM "$DAEMON_PID"
i=0
while kill -0 "$DAEMON_PID" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait "$DAEMON_PID"
check_eq "daemon: clean exit on SIGTERM" 0 "$?"
DAEMON_PID=""
check "daemon log has no error lines" sh -c "! grep -Eq 'certspool: error:|Sanitizer|runtime error' '$T/daemon.log'"
finish
