# Benchmark (scripts/bench.sh), included by the top Makefile.
#   make bench                 N = 10,000 with the RSA-3072 and an RSA-2048
#                              issuing CA, cfssl serve comparison, RSS at
#                              N = 1,000 and 100,000, pickup latency;
#                              then the revocation drill (100,000
#                              certificates revoked by one document, 4 CRL
#                              shards: drop to all CRLs, CRL sizes, crl
#                              --now, peak RSS vs idle);
#                              prints markdown tables at the end
#   make bench BENCH_ARGS='--n "" --rss-n "" --drops 0 --no-cfssl --ca rsa2048'
#                              the revocation drill alone
#   make bench BENCH_ARGS='--n 20000 --rss-n "" --no-cfssl'   (see --help)
#   make bench-smoke           N = 200, no cfssl, a drill of 300: checks
#                              that it all works
BENCH_ARGS ?=

bench: certspool
	sh scripts/bench.sh $(BENCH_ARGS)

bench-smoke: certspool
	sh scripts/bench.sh --smoke

.PHONY: bench bench-smoke
