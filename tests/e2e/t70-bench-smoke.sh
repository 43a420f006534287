#!/bin/sh
# The benchmark script works: N = 200, both issuing CAs, no cfssl, a few
# latency drops.  Only that it runs and prints every field is checked;
# speed is never asserted in tests.
. "$(dirname "$0")/../lib.sh"
OUT=$T/bench.out
BENCH_DIR=$T/bench sh "$ROOT/scripts/bench.sh" --smoke >"$OUT" 2>&1
st=$?
check_eq "bench.sh --smoke exit status" 0 "$st"
for field in "machine: " "certs/s: " "raw limit: " "ratio: " "peak RSS: " \
    "elapsed: " "pickup latency: p50 " "| machine | issuing CA | N | certs/s | raw limit | ratio | peak RSS | cfssl ratio | CPU share |"; do
	check "prints \"$field\"" grep -qF "$field" "$OUT"
done
check_eq "every run issued all 200" 2 "$(grep -c '^issued: 200/200 ' "$OUT")"
check_eq "two table rows" 2 "$(grep -c '^| .* | rsa[0-9]* | 200 | ' "$OUT")"
check "numeric certs/s" grep -qE '^certs/s: [0-9]+\.[0-9]$' "$OUT"
check "numeric ratio" grep -qE '^ratio: [0-9]+\.[0-9]{2} ' "$OUT"
check "numeric peak RSS" grep -qE '^peak RSS: [0-9]+\.[0-9] MiB$' "$OUT"
check "latency p50 and p99" grep -qE '^pickup latency: p50 [0-9.]+ ms, p99 [0-9.]+ ms' "$OUT"
check "the RSA-2048 issuing CA was imported" grep -q '^| .* | rsa2048 | 200 | ' "$OUT"
check "CSR cache reused under BENCH_DIR" test -s "$T/bench/csr-p256.pem"
[ "$fail" -eq 0 ] || { echo "---- bench output"; cat "$OUT"; }
finish
