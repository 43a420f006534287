# Benchmark (scripts/bench.sh), included by the top Makefile.
#   make bench                 N = 10,000 with the P-384 and RSA-4096 demo
#                              CAs, an imported RSA-2048 CA, and P-384 and
#                              RSA-4096 CA keys in a SoftHSM2 token of the
#                              run (hsm-p384, hsm-rsa4096: each followed by
#                              SoftHSM's own C_Sign rate on that key with
#                              the daemon's signing threads, scripts/
#                              p11rate.c, and the certspool/SoftHSM ratio);
#                              cfssl serve comparison, RSS at
#                              N = 1,000 and 100,000, pickup latency;
#                              then the revocation drill (100,000
#                              certificates revoked by one document, 4 CRL
#                              shards: drop to all CRLs, CRL sizes, crl
#                              --now, peak RSS vs idle); then fair share
#                              (scripts/bench-fair.sh: a 100,000-order
#                              batch of one account alone, then with 20
#                              one-order batches of another: their p50/p99
#                              and the big batch's slowdown);
#                              prints markdown tables at the end; then
#                              make bench-pg
#   make bench BENCH_ARGS='--n "" --rss-n "" --drops 0 --no-cfssl --revoke-n 0 --ca p384'
#                              fair share alone
#   make bench BENCH_ARGS='--n "" --rss-n "" --drops 0 --no-cfssl --ca rsa2048'
#                              the revocation drill alone
#   make bench BENCH_ARGS='--n 20000 --rss-n "" --no-cfssl'   (see --help)
#   make bench BENCH_ARGS='--ca "hsm-p384 hsm-rsa4096" --rss-n "" --drops 0 --revoke-n 0 --no-cfssl'
#                              the HSM runs and their SoftHSM ratios alone
#   make bench-smoke           N = 200 (P-384, RSA-2048 and hsm-p384 CAs),
#                              no cfssl, a drill of 300: checks that it all
#                              works (needs softhsm2, a test dependency)
#   make bench-pg              PostgreSQL (scripts/bench-pg.sh): N = 10,000
#                              with the P-384 demo CA split among 2
#                              accounts, 1 then 2 running daemons on one
#                              spool and a throwaway PostgreSQL cluster
#                              (pg_stat_statements, fsync on): certs/s,
#                              transactions, statements, server and daemon
#                              CPU per certificate; a markdown table
#   make bench-pg BENCH_PG_ARGS='--n 2000 --daemons "1 2 3"'
#   make bench-smoke           also the PostgreSQL smoke (N = 100, 1 and 2
#                              daemons)
BENCH_ARGS ?=
BENCH_PG_ARGS ?=

bench: certspool
	sh scripts/bench.sh $(BENCH_ARGS)
	sh scripts/bench.sh --engine postgresql $(BENCH_PG_ARGS)

bench-pg: certspool
	sh scripts/bench.sh --engine postgresql $(BENCH_PG_ARGS)

bench-smoke: certspool
	sh scripts/bench.sh --smoke
	sh scripts/bench.sh --engine postgresql --smoke

.PHONY: bench bench-pg bench-smoke
