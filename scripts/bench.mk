# Benchmark (scripts/bench.sh), included by the top Makefile.
#   make bench                 N = 10,000 with the RSA-3072 and an RSA-2048
#                              issuing CA, cfssl serve comparison, RSS at
#                              N = 1,000 and 100,000, pickup latency;
#                              prints a markdown table at the end
#   make bench BENCH_ARGS='--n 20000 --rss-n "" --no-cfssl'   (see --help)
#   make bench-smoke           N = 200, no cfssl: checks that it all works
BENCH_ARGS ?=

bench: certspool
	sh scripts/bench.sh $(BENCH_ARGS)

bench-smoke: certspool
	sh scripts/bench.sh --smoke

.PHONY: bench bench-smoke
