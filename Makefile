# certspool — build, test, demo.
#   make                 build ./certspool
#   make test            every test, on SQLite then on PostgreSQL (installs
#                        its tools on Debian if missing)
#   make test-pg         every test on PostgreSQL only
#   make demo            init a demo directory, drop a sample batch, run once
#   make SANITIZE=address,undefined test
#   make install / make uninstall   PREFIX, DESTDIR, ... (install.mk)

PKGS	 = libcrypto libxml-2.0 libarchive sqlite3 libidn2 libmicrohttpd \
	   libseccomp p11-kit-1 libsystemd libpq
CC	?= cc
PREFIX	?= /usr/local
SCHEMA_DIR ?= $(CURDIR)/schemas
# The portal's static files (certspool web serves /assets/ from here).
WEB_ASSET_DIR ?= $(CURDIR)/web/assets

WARN	 = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wvla -Wpointer-arith \
	   -Wformat=2 -Wstrict-prototypes -Wno-unused-parameter
ifdef WERROR
WARN	+= -Werror
endif
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 \
	   -DOPENSSL_NO_DEPRECATED $(WARN) \
	   -DSCHEMA_DIR='"$(SCHEMA_DIR)"' \
	   -DWEB_ASSET_DIR='"$(WEB_ASSET_DIR)"' \
	   $(shell pkg-config --cflags $(PKGS))
# libunistring (order_check.c) has no pkg-config file.
LDLIBS	+= $(shell pkg-config --libs $(PKGS)) -lunistring -lpthread
ifdef SANITIZE
CFLAGS	+= -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=$(SANITIZE)
endif

SRCS	 = $(wildcard src/*.c)
OBJS	 = $(SRCS:.c=.o)
LIBOBJS	 = $(filter-out src/main.o,$(OBJS))
UNITS	 = $(patsubst %.c,%,$(wildcard tests/unit/t_*.c))

all: certspool

certspool: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(OBJS): $(wildcard src/*.h)

# Each unit test links only the sources it needs, listed in
# tests/unit/unit.mk (t_NAME_SRCS): a new dependency shows in its diff.
# make unit-deps rewrites the lists from the objects (scripts/unit-deps.py).
include tests/unit/unit.mk
unit_objs = $(addprefix src/,$(patsubst %.c,%.o,$($(1)_SRCS)))

.SECONDEXPANSION:
tests/unit/t_%: tests/unit/t_%.c tests/unit/t.h $$(call unit_objs,t_$$*)
	$(CC) $(CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(call unit_objs,t_$*) \
	    $(LDLIBS)

units: $(UNITS)

# t_dbpg against a throwaway PostgreSQL cluster (PostgreSQL 15 server).
unit-pg: tests/unit/t_dbpg
	sh tests/unit/pg-unit.sh run "$$(mktemp -d /tmp/certspool-pg.XXXXXX)" \
	    tests/unit/t_dbpg

unit-deps: $(LIBOBJS)
	mkdir -p tests/tmp/unit-deps
	for t in $(UNITS); do \
		$(CC) $(CFLAGS) -Isrc -c -o tests/tmp/unit-deps/$${t##*/}.o \
		    $$t.c || exit 1; \
	done
	python3 scripts/unit-deps.py tests/tmp/unit-deps/t_*.o \
	    >tests/unit/unit.mk

deps:
	sh scripts/install-deps.sh $(DEPS_FOR)

# make test also installs what only the tests need (chromium, npm packages,
# PostgreSQL) and runs the suite on SQLite, then on PostgreSQL (a
# throwaway cluster, tests/unit/pg-unit.sh); it fails if either failed.
# make test-sqlite, make test-pg: the suite on one engine only.
test: DEPS_FOR = test
test: deps
	$(MAKE) certspool units
	rc=0; sh tests/run.sh --engine sqlite || rc=1; \
	sh tests/run.sh --engine postgresql || rc=1; exit $$rc

test-sqlite: DEPS_FOR = test
test-sqlite: deps
	$(MAKE) certspool units
	sh tests/run.sh --engine sqlite

test-pg: DEPS_FOR = test
test-pg: deps
	$(MAKE) certspool units
	sh tests/run.sh --engine postgresql

demo: deps
	$(MAKE) certspool
	sh scripts/demo.sh

clean: fuzz-clean
	rm -f certspool src/*.o $(UNITS)
	rm -rf tests/tmp

.PHONY: all units unit-pg unit-deps deps test test-sqlite test-pg demo clean

# The browser asset web/assets/keygen.js and its THIRD-PARTY-LICENSES.txt,
# rebuilt from web/src with the npm packages pinned in web/package-lock.json
# (needs npm; the committed files serve the portal without it).
# make web-assets WEB_ASSETS=DIR writes them into DIR instead.
WEB_ASSETS ?= $(CURDIR)/web/assets

web-assets:
	cd web && npm ci --no-audit --no-fund
	cd web && node build.mjs $(abspath $(WEB_ASSETS))

.PHONY: web-assets

# libFuzzer targets: make fuzz [FUZZ_SECONDS=N], make fuzz-smoke
include tests/fuzz/fuzz.mk

# make install, make uninstall (PREFIX, DESTDIR, sbindir, sysconfdir, ...)
include install.mk

# crash torture, valgrind (tests/torture.mk); benchmark (scripts/bench.mk)
-include tests/torture.mk
-include scripts/bench.mk

# Several daemons on one PostgreSQL and one spool, under SIGKILL and
# SIGSTOP (scripts/torture-cluster.sh; README "Several daemons"):
#   make torture-cluster [CLUSTER_ORDERS=3000] [CLUSTER_SEED=N]
torture-cluster: deps
	$(MAKE) certspool
	bash scripts/torture-cluster.sh --orders $${CLUSTER_ORDERS:-3000} \
	    $${CLUSTER_SEED:+--seed $$CLUSTER_SEED}

.PHONY: torture-cluster
