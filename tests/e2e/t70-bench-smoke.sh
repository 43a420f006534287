#!/bin/sh
# The benchmark script works: N = 200, the P-384 demo CA, an imported
# RSA-2048 CA and a P-384 CA key in a SoftHSM2 token (with SoftHSM's own
# C_Sign rate and the certspool/SoftHSM ratio), no cfssl, a few
# latency drops, a revocation drill of 300 certificates (orders of 3, one
# document, 4 CRL shards), the fair-share runs (2,000 orders of one
# account alone, then with 3 one-order batches of another).  Only that it runs and prints every field is
# checked, the HSM run's certificates are checked against its chain and
# the token, and the drill's CRLs are read back with openssl; speed is
# never asserted in tests.  Then the PostgreSQL runs (--engine
# postgresql --smoke: 100 orders, 1 and 2 daemons): their figures are
# printed and positive, and their certificates are read back from the
# archives and results.
. "$(dirname "$0")/../lib.sh"
need_tools softhsm2-util openssl sqlite3
OUT=$T/bench.out
BENCH_DIR=$T/bench sh "$ROOT/scripts/bench.sh" --smoke --keep >"$OUT" 2>&1
st=$?
check_eq "bench.sh --smoke exit status" 0 "$st"
for field in "machine: " "certs/s: " "raw limit: " "ratio: " "peak RSS: " \
    "elapsed: " "pickup latency: p50 " "| machine | issuing CA | N | certs/s | raw limit | ratio | peak RSS | cfssl ratio | CPU share | SoftHSM signs/s | SoftHSM ratio | SoftHSM CPU ratio | load |"; do
	check "prints \"$field\"" grep -qF "$field" "$OUT"
done
check_eq "every run issued all 200" 3 "$(grep -c '^issued: 200/200 ' "$OUT")"
check_eq "three table rows" 3 "$(grep -c '^| .* | \(p384\|rsa2048\|hsm-p384\) | 200 | ' "$OUT")"
check "the P-384 demo CA run" grep -q '^| .* | p384 | 200 | ' "$OUT"
check "its batches asked sha384" grep -q '<signatureHash>sha384</signatureHash>' "$T/bench/run-p384-200/spool/archive/bench/BENCH-001.xml"
check "numeric certs/s" grep -qE '^certs/s: [0-9]+\.[0-9]$' "$OUT"
check "numeric ratio" grep -qE '^ratio: [0-9]+\.[0-9]{2} ' "$OUT"
check "numeric peak RSS" grep -qE '^peak RSS: [0-9]+\.[0-9] MiB$' "$OUT"
check "latency p50 and p99" grep -qE '^pickup latency: p50 [0-9.]+ ms, p99 [0-9.]+ ms' "$OUT"
# fair share: 2,000 orders of account bench, 3 one-order batches of
# account small; both runs issued everything, the figures are numeric
check "fair share: latency and throughput line" grep -qE '^fair share: one-order batches during a 2000-order batch: p50 [0-9.]+ ms, p99 [0-9.]+ ms \(max [0-9.]+, min [0-9.]+, 3 drops, [0-3] during it\) \(target p99 <= 2000 ms\); the big batch: [0-9.]+ s \([0-9.]+ certs/s\) alone, [0-9.]+ s \([0-9.]+ certs/s\) with the drops: -?[0-9.]+% slower \(target < 5%\); daemon CPU [0-9.]+ s alone, [0-9.]+ s with the drops \([-+][0-9.]+%\)$' "$OUT"
check_eq "fair share: the big batch alone, all issued" 2000 \
    "$(sqlite3 "$T/bench/run-fair-alone/certspool.db" "SELECT count(*) FROM certificate WHERE state = 'issued'")"
check_eq "fair share: with the drops, all issued, two accounts" "2000|3" \
    "$(sqlite3 "$T/bench/run-fair/certspool.db" "SELECT sum(a.name = 'bench'), sum(a.name = 'small') FROM certificate c JOIN recipient r ON r.id = c.recipient_id JOIN account a ON a.id = r.account_id WHERE c.state = 'issued'")"
check "fair share: each small batch has its result" test -f "$T/bench/run-fair/spool/outbound/small/FAIR-002.1.result.xml"
check "the RSA-2048 issuing CA was imported" grep -q '^| .* | rsa2048 | 200 | ' "$OUT"
check "CSR cache reused under BENCH_DIR" test -s "$T/bench/csr-p256.pem"
# the SoftHSM run: the key in the run's token, SoftHSM's rate with the
# daemon's signing threads (workers 0: one per online CPU), the ratio
H=$T/bench/run-hsm-p384-200
threads=$(getconf _NPROCESSORS_ONLN)
for when in before after; do
	check "SoftHSM rate $when the run, numeric, on $threads threads" grep -qE "^SoftHSM $when the run: signatures/s: [0-9]+\.[0-9] \([0-9]+ in [0-9.]+ s, $threads threads, CKM_ECDSA, SHA-384 digest; [0-9]+ us CPU each\), load average \(1 min\) after it [0-9.]+$" "$OUT"
done
check_eq "SoftHSM rate = the mean of before and after" \
    "$(sed -n 's/^SoftHSM \(before\|after\) the run: signatures\/s: \([0-9.]*\) .*/\2/p' "$OUT" | awk '{ s += $1 } END { printf "%.1f", s / 2 }')" \
    "$(sed -n "s/^SoftHSM signatures\/s: \([0-9.]*\) (mean of the loops before and after the run, $threads threads)\$/\1/p" "$OUT")"
check "SoftHSM ratio, numeric" grep -qE '^SoftHSM ratio: [0-9]+\.[0-9]{2} \(certspool [0-9.]+ certs/s / SoftHSM [0-9.]+ signatures/s; target >= 0\.85\)$' "$OUT"
check "hsm-p384 table row with the SoftHSM rate and ratio" grep -qE '^\| .* \| hsm-p384 \| 200 \| [0-9.]+ \| .* \| [0-9]+\.[0-9] \| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \| [0-9.]+/[0-9.]+ \|$' "$OUT"
check_eq "file-key rows have no SoftHSM figures" 2 "$(grep -cE '^\| .* \| (p384|rsa2048) \| 200 \| .* \| - \| - \| - \| [0-9.]+/[0-9.]+ \|$' "$OUT")"
# the ratio printed is certs/s over the SoftHSM rate printed
cps=$(sed -n '/^== run: CA hsm-p384,/,/^SoftHSM ratio/s/^certs\/s: //p' "$OUT")
p11r=$(sed -n 's/^SoftHSM signatures\/s: \([0-9.]*\) .*/\1/p' "$OUT")
check_eq "SoftHSM ratio = certs/s / signatures/s" \
    "$(awk -v a="$cps" -v b="$p11r" 'BEGIN { printf "%.2f", a / b }')" \
    "$(sed -n 's/^SoftHSM ratio: \([0-9.]*\) .*/\1/p' "$OUT")"
check "SoftHSM CPU ratio, numeric" grep -qE '^SoftHSM CPU ratio: [0-9]+\.[0-9]{2} \(SoftHSM.s CPU per signature / certspool.s [0-9]+ us CPU per certificate; ' "$OUT"
check "hsm-p384: ca_key is a PKCS#11 URI" grep -q '^ca_key = "\{0,1\}pkcs11:' "$H/certspool.conf"
check "hsm-p384: no ca.key file" test ! -e "$H/ca/ca.key"
check "hsm-p384: the token is the run's own" test -s "$H/hsm/softhsm2.conf"
sqlite3 "$H/certspool.db" "SELECT hex(der) FROM certificate WHERE state = 'issued' ORDER BY id LIMIT 1" |
    xxd -r -p | openssl x509 -inform DER -out "$T/hsm-cert.pem" 2>/dev/null
check "hsm-p384: an issued certificate verifies with the run's chain" sh -c "openssl verify -partial_chain -purpose any -CAfile '$H/ca/chain.pem' '$T/hsm-cert.pem' | grep -q ': OK\$'"
check_eq "hsm-p384: its issuer key is the token's (ca.pem)" \
    "$(openssl x509 -in "$H/ca/ca.pem" -noout -pubkey | openssl pkey -pubin -outform DER | od -An -tx1 | tr -d ' \n')" \
    "$(SOFTHSM2_CONF=$H/hsm/softhsm2.conf pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label certspool-bench --list-objects --type pubkey 2>/dev/null |
	awk '$1 == "EC_POINT:" { print "3076301006072a8648ce3d020106052b81040022036200" substr($2, 5); exit }')"
# the revocation drill
for field in "drill issued: 300/300 " "revoked in the database: 300/300" \
    "revocation document: 100 <revoke order= batch=> selectors" \
    "| machine | issuing CA | revoked | selectors | drop to all CRLs | CRL per shard | crl --now | idle RSS | drill peak RSS | difference |"; do
	check "prints \"$field\"" grep -qF "$field" "$OUT"
done
check "drop to all CRLs measured" grep -qE '^drop to all CRLs: [0-9]+\.[0-9]+ s \(all 300 listed; .*target <= 60 s: (met|NOT met)\)' "$OUT"
check "four CRL sizes" grep -qE '^CRL size per shard: bench-0\.crl [0-9.]+ KiB \([0-9]+\), bench-1\.crl .*, bench-2\.crl .*, bench-3\.crl [0-9.]+ KiB \([0-9]+\)$' "$OUT"
check "crl --now re-signed 4 shards with 300 entries" grep -qE '^re-sign all shards \(certspool crl --now\): [0-9.]+ s, 4 CRLs written with 300 entries' "$OUT"
check "peak RSS idle and drill" grep -qE '^daemon peak RSS: idle [0-9.]+ MiB .*during the drill [0-9.]+ MiB, difference -?[0-9.]+ MiB \(target <= 16 MiB: (met|NOT met)\)' "$OUT"
check "drill table row" grep -qE '^\| .* \| rsa2048 \| 300 \| 100 \| [0-9.]+ s \((met|NOT met)\) \| ' "$OUT"
# the drill's CRLs, read back: signed by the issuing CA, 300 serials,
# the database's revoked certificates exactly
D=$T/bench/run-revoke-rsa2048-300
n=0
for f in "$D"/spool/crl/bench-*.crl; do
	check "$(basename "$f") verifies" sh -c "openssl crl -inform DER -in '$f' -CAfile '$D/ca2048/chain.pem' -noout -verify 2>&1 | grep -q 'verify OK'"
	n=$((n + 1))
done
check_eq "four CRL files" 4 "$n"
openssl_serials() {
	for f in "$D"/spool/crl/bench-*.crl; do
		openssl crl -inform DER -in "$f" -noout -text
	done | sed -n 's/^ *Serial Number: *//p' | tr 'A-F' 'a-f' | sed 's/^0*//' | sort
}
openssl_serials >"$T/crl-serials"
sqlite3 "$D/certspool.db" "SELECT lower(serial) FROM certificate WHERE revoked_at IS NOT NULL" |
    sed 's/^0*//' | sort >"$T/db-serials"
check_eq "300 serials in the CRLs" 300 "$(wc -l <"$T/crl-serials")"
check "CRL serials are the revoked ones" cmp -s "$T/crl-serials" "$T/db-serials"
[ "$fail" -eq 0 ] || { echo "---- bench output"; cat "$OUT"; }

# PostgreSQL (--engine postgresql --smoke): 100 orders in 2 accounts, 1
# then 2 running daemons on a throwaway cluster; every figure printed,
# numeric and positive, and the certificates really issued (the kept
# runs' archives and results, read back here).
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || ! command -v psql >/dev/null; then
	bail "PostgreSQL 15 server and client are needed (postgresql, postgresql-client)"
fi
PGOUT=$T/bench-pg.out
BENCH_DIR=$T/bench sh "$ROOT/scripts/bench.sh" --engine postgresql --smoke \
    --keep >"$PGOUT" 2>&1
st=$?
check_eq "bench.sh --engine postgresql --smoke exit status" 0 "$st"
PGD=$(sed -n 's/^PostgreSQL: .* in \(.*certspool-benchpg\.[A-Za-z0-9]*\) (fsync .*/\1/p' "$PGOUT")
check "the cluster's directory is printed" test -n "$PGD"
check "the cluster was stopped and removed" test ! -e "${PGD:-/nonexistent}"
check_not "no server of the bench left" pgrep -f "${PGD:-/nonexistent}/data"
check "pg_stat_statements and fsync on" grep -qE '^PostgreSQL: 15\.[0-9.]+ .*\(fsync on, ' "$PGOUT"
# pgfield D LABEL: the number after "LABEL: " in the run with D daemons
pgfield() {
	sed -n "/^== run: postgresql, $1 daemon(s), CA p384, CSR p256, N 100 in 2 accounts\$/,/^top statements/s|^$2: \([0-9.]*\).*|\1|p" "$PGOUT"
}
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }
for d in 1 2; do
	W=$T/bench/run-pg-p384-100-${d}d
	check_eq "$d daemon(s): issued 100/100, counted in the database" 1 \
	    "$(sed -n "/^== run: postgresql, $d daemon(s),/,/^top statements/p" "$PGOUT" | grep -c '^issued: 100/100 (counted in the database)$')"
	for f in certs/s "transactions per certificate" "statements per certificate" \
	    "server CPU per certificate" "daemon CPU per certificate" \
	    "server core capacity" "node cores per server core" \
	    "nodes per server core"; do
		v=$(pgfield "$d" "$f")
		check "$d daemon(s): $f positive ($v)" positive "$v"
	done
	check "$d daemon(s): elapsed measured" grep -qE '^elapsed: [0-9]+\.[0-9]{3} s ' "$PGOUT"
	# statements include the transactions' BEGIN/COMMIT: more of them
	check "$d daemon(s): more statements than transactions" awk \
	    -v s="$(pgfield "$d" "statements per certificate")" \
	    -v x="$(pgfield "$d" "transactions per certificate")" 'BEGIN { exit !(s > x) }'
	check "$d daemon(s): statements.txt lists the INSERT of certificates" \
	    grep -q 'INSERT INTO certificate' "$W/statements.txt"
	check_eq "$d daemon(s): the config names the run's database" 1 \
	    "$(grep -c "^database = \"\{0,1\}postgresql:///bench_p384_100_${d}d?" "$W/certspool.conf")"
	check_eq "$d daemon(s): $d daemon log(s), each joined as a node" "$d" \
	    "$(grep -l ': joined, lease ' "$W"/daemon-*.log | wc -l)"
	# the certificates themselves: 100 cert.pem in the archives, 100
	# issued recipients in the results, one verifies under the chain
	n=0
	for a in "$W"/spool/outbound/*/*.tar.gz; do
		n=$(( n + $(tar -tzf "$a" | grep -c '/cert\.pem$') ))
	done
	check_eq "$d daemon(s): 100 certificates in the archives" 100 "$n"
	check_eq "$d daemon(s): 100 issued recipients in the results" 100 \
	    "$(cat "$W"/spool/outbound/*/*.result.xml | grep -o '<recipient [^>]*state="issued"' | wc -l)"
	a=$(ls "$W"/spool/outbound/bench2/*.tar.gz | head -n 1)
	c=$(tar -tzf "$a" | grep '/cert\.pem$' | head -n 1)
	tar -xzOf "$a" "$c" >"$T/pg-cert-$d.pem"
	check "$d daemon(s): a certificate of account bench2 verifies" sh -c \
	    "openssl verify -partial_chain -purpose any -CAfile '$W/ca/chain.pem' '$T/pg-cert-$d.pem' | grep -q ': OK\$'"
done
check "2 daemons: each took one account's batch" grep -q '^batch files: 2, result.xml files: 2, taken per daemon: 1 1$' "$PGOUT"
check_eq "two table rows" 2 "$(grep -cE '^\| .* \| [12] \| p384 \| 100 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ us \| [0-9]+ us \| [0-9.]+ certs/s \| [0-9.]+ \| [0-9.]+ \| [0-9.]+/[0-9.]+ \|$' "$PGOUT")"
# the table repeats the runs' figures
check_eq "table certs/s = the runs' certs/s" "$(pgfield 1 certs/s) $(pgfield 2 certs/s)" \
    "$(awk -F' [|] ' '/^\| .* \| [12] \| p384 \| 100 \| / { printf "%s%s", s, $5; s = " " }' "$PGOUT")"
[ "$fail" -eq 0 ] || { echo "---- bench output (postgresql)"; cat "$PGOUT"; }
finish
