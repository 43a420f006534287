# tests/fuzz/fuzz.mk: libFuzzer targets, included by the top Makefile.
#
#   make fuzz [FUZZ_SECONDS=60]   build, then fuzz each target that long
#   make fuzz-smoke               the same, 60 s per target (CI)
#   make fuzz-build               only build tests/fuzz/obj/fuzz_*
#   make fuzz-clean               remove the fuzz objects and binaries
#
# Targets: fuzz_batch (batch_parse with schemas/batch-1.xsd), fuzz_csr
# (csr_check), fuzz_conf (conf_load).  Each is built with clang, libFuzzer,
# ASan and UBSan against every src/*.c but src/main.c, compiled again into
# tests/fuzz/obj/ (the gcc objects in src/ are not reused).
#
# Failure policy: every target runs even if an earlier one failed; each
# prints its exec count and its result; the goal fails if any target
# crashed (crash, sanitizer report, leak, timeout or out-of-memory).
# Inputs that crashed are written to tests/fuzz/crashes/<target>-*; new
# corpus units go to tests/tmp/fuzz/corpus-<target>/ (not committed).
#
# Standalone, before the include exists:
#   make -C /work/main -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=120

# Keep the including Makefile's default goal.
FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)

PKGS		?= libcrypto libxml-2.0 libarchive sqlite3 libidn2
SCHEMA_DIR	?= $(CURDIR)/schemas
FUZZ_SECONDS	?= 60
FUZZ_CC		?= clang
# Extra libFuzzer options for every run, e.g. FUZZ_FLAGS=-jobs=2.
FUZZ_FLAGS	?=
FUZZ_TARGETS	?= batch csr conf

FUZZ_DIR	 = tests/fuzz
FUZZ_OBJDIR	 = $(FUZZ_DIR)/obj
FUZZ_CRASHDIR	 = $(FUZZ_DIR)/crashes
FUZZ_WORKDIR	 = tests/tmp/fuzz

# pkg-config runs once, when first needed (PKGS may be set after this file).
FUZZ_PKG_CFLAGS	 = $(eval FUZZ_PKG_CFLAGS := $$(shell pkg-config --cflags \
		   $$(PKGS)))$(FUZZ_PKG_CFLAGS)
FUZZ_PKG_LIBS	 = $(eval FUZZ_PKG_LIBS := $$(shell pkg-config --libs \
		   $$(PKGS)))$(FUZZ_PKG_LIBS)

FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	 = -g -O1 -std=c11 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 \
		   -DOPENSSL_NO_DEPRECATED -DSCHEMA_DIR='"$(SCHEMA_DIR)"' \
		   -Wall -Wextra -Wshadow -Wmissing-prototypes -Wvla \
		   -Wno-unused-parameter $(FUZZ_PKG_CFLAGS)
# Any other -l the top Makefile links with (LDLIBS) is kept.
FUZZ_LIBS	 = $(FUZZ_PKG_LIBS) -lunistring -lpthread $(filter -l%,$(LDLIBS))

FUZZ_SRCS	 = $(filter-out src/main.c,$(wildcard src/*.c))
FUZZ_OBJS	 = $(patsubst src/%.c,$(FUZZ_OBJDIR)/%.o,$(FUZZ_SRCS))
FUZZ_BINS	 = $(patsubst %,$(FUZZ_OBJDIR)/fuzz_%,$(FUZZ_TARGETS))

# Seed corpora (read only) and options, per target.
FUZZ_SEEDS_batch = tests/data/xml/valid tests/data/xml/hostile \
		   tests/data/xml/valid-other-account
FUZZ_SEEDS_csr	 = $(FUZZ_WORKDIR)/seed-csr
FUZZ_SEEDS_conf	 = $(FUZZ_DIR)/corpus/conf
FUZZ_OPTS_batch	 = -max_len=65536 -dict=$(FUZZ_DIR)/batch.dict
FUZZ_OPTS_csr	 = -max_len=8192
FUZZ_OPTS_conf	 = -max_len=8192

$(FUZZ_OBJDIR) $(FUZZ_CRASHDIR) $(FUZZ_WORKDIR):
	mkdir -p $@

$(FUZZ_OBJS): $(FUZZ_OBJDIR)/%.o: src/%.c $(wildcard src/*.h) | $(FUZZ_OBJDIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    -c -o $@ $<

$(FUZZ_BINS): $(FUZZ_OBJDIR)/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_OBJS) \
    $(wildcard src/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -Isrc \
	    -o $@ $< $(FUZZ_OBJS) $(FUZZ_LIBS)

# The CSR seeds: the PEM and base64 files of tests/data/csr/, not its
# scripts.
$(FUZZ_WORKDIR)/seed-csr: $(wildcard tests/data/csr/*.pem) \
    $(wildcard tests/data/csr/*.b64)
	rm -rf $@
	mkdir -p $@
	cp $^ $@/

# $(call FUZZ_RUN_ONE,target,seconds): one shell step of the run loop;
# adds the target to $failed if it did not end cleanly.
define FUZZ_RUN_ONE
mkdir -p $(FUZZ_WORKDIR)/corpus-$(1); \
log=$(FUZZ_WORKDIR)/fuzz_$(1).log; \
echo "fuzz_$(1): fuzzing for $(2) s (log: $$log)"; \
if $(FUZZ_OBJDIR)/fuzz_$(1) -max_total_time=$(2) -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 \
    -artifact_prefix=$(FUZZ_CRASHDIR)/$(1)- $(FUZZ_OPTS_$(1)) $(FUZZ_FLAGS) \
    $(FUZZ_WORKDIR)/corpus-$(1) $(FUZZ_SEEDS_$(1)) >$$log 2>&1; \
then res="no crash"; \
else res="CRASHED: $$(grep -m1 -E '^(==[0-9]+==)?ERROR:|runtime error:|contract broken' $$log)"; \
    failed="$$failed fuzz_$(1)"; \
fi; \
execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
units=$$(ls $(FUZZ_WORKDIR)/corpus-$(1) | wc -l); \
echo "fuzz_$(1): $${execs:-unknown} execs, corpus $$units units, $$res"; \
grep -h 'Test unit written to' $$log | sed 's/^/fuzz_$(1): /'; \

endef

# $(call FUZZ_RUN,seconds): every target, then the verdict.
FUZZ_RUN = failed=; \
	$(foreach t,$(FUZZ_TARGETS),$(call FUZZ_RUN_ONE,$(t),$(1))) \
	if [ -n "$$failed" ]; then \
	    echo "fuzz: crashed:$$failed; inputs in $(FUZZ_CRASHDIR)/"; \
	    exit 1; \
	fi; \
	echo "fuzz: no crash in $(FUZZ_TARGETS)"

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build $(FUZZ_WORKDIR)/seed-csr | $(FUZZ_CRASHDIR) $(FUZZ_WORKDIR)
	@$(call FUZZ_RUN,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build $(FUZZ_WORKDIR)/seed-csr | $(FUZZ_CRASHDIR) \
    $(FUZZ_WORKDIR)
	@$(call FUZZ_RUN,60)

fuzz-clean:
	rm -rf $(FUZZ_OBJDIR) $(FUZZ_WORKDIR)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean

.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
