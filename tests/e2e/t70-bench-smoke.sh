#!/bin/sh
# The benchmark script works: N = 200, the P-384 demo CA, an imported
# RSA-2048 CA and a P-384 CA key in a SoftHSM2 token (with SoftHSM's own
# C_Sign rate and the certspool/SoftHSM ratio), no cfssl, a few
# latency drops, a revocation drill of 300 certificates (orders of 3, one
# document, 4 CRL shards), the fair-share runs (2,000 orders of one
# account alone, then with 3 one-order batches of another).  Only that it runs and prints every field is
# checked, the HSM run's certificates are checked against its chain and
# the token, and the drill's CRLs are read back with openssl; speed is
# never asserted in tests.
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
finish
