#!/bin/sh
# The benchmark script works: N = 200, the P-384 demo CA and an imported
# RSA-2048 CA, no cfssl, a few
# latency drops, a revocation drill of 300 certificates (orders of 3, one
# document, 4 CRL shards).  Only that it runs and prints every field is
# checked, and the drill's CRLs are read back with openssl; speed is
# never asserted in tests.
. "$(dirname "$0")/../lib.sh"
OUT=$T/bench.out
BENCH_DIR=$T/bench sh "$ROOT/scripts/bench.sh" --smoke --keep >"$OUT" 2>&1
st=$?
check_eq "bench.sh --smoke exit status" 0 "$st"
for field in "machine: " "certs/s: " "raw limit: " "ratio: " "peak RSS: " \
    "elapsed: " "pickup latency: p50 " "| machine | issuing CA | N | certs/s | raw limit | ratio | peak RSS | cfssl ratio | CPU share |"; do
	check "prints \"$field\"" grep -qF "$field" "$OUT"
done
check_eq "every run issued all 200" 2 "$(grep -c '^issued: 200/200 ' "$OUT")"
check_eq "two table rows" 2 "$(grep -c '^| .* | \(p384\|rsa2048\) | 200 | ' "$OUT")"
check "the P-384 demo CA run" grep -q '^| .* | p384 | 200 | ' "$OUT"
check "its batches asked sha384" grep -q '<signatureHash>sha384</signatureHash>' "$T/bench/run-p384-200/spool/archive/bench/BENCH-001.xml"
check "numeric certs/s" grep -qE '^certs/s: [0-9]+\.[0-9]$' "$OUT"
check "numeric ratio" grep -qE '^ratio: [0-9]+\.[0-9]{2} ' "$OUT"
check "numeric peak RSS" grep -qE '^peak RSS: [0-9]+\.[0-9] MiB$' "$OUT"
check "latency p50 and p99" grep -qE '^pickup latency: p50 [0-9.]+ ms, p99 [0-9.]+ ms' "$OUT"
check "the RSA-2048 issuing CA was imported" grep -q '^| .* | rsa2048 | 200 | ' "$OUT"
check "CSR cache reused under BENCH_DIR" test -s "$T/bench/csr-p256.pem"
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
