# tests/torture.mk: crash torture and valgrind (included by the Makefile).
#
#   make torture         scripts/torture.sh: 500 orders and revocation
#                        documents, CRLs in 2 or 4 shards, 200 SIGKILLs at
#                        the named crash points (CRL publishing and
#                        revocation results included) and at random
#                        moments, the invariants checked after every run
#                        (~10 min on 2 cores)
#   make torture-smoke   the same with 60 orders and 25 kills (what
#                        tests/e2e/t64-torture-smoke.sh runs in CI)
#   make valgrind        unit tests and the e2e suite with the binary under
#                        valgrind (memcheck, definite and indirect leaks are
#                        errors); exit 1 if valgrind reported anything
#
# From the environment or the command line: TORTURE_ORDERS, TORTURE_KILLS,
# TORTURE_SEED (replays a run's plan), TORTURE_WORKERS, KEEP=1;
# VALGRIND_TESTS="t_core t10-foundation ..." runs only those programs;
# VALGRIND_STRICT=1 also fails on test failures under valgrind (the unit
# tests' timing and peak-RSS limits do not hold under valgrind).

torture: deps
	$(MAKE) certspool
	TORTURE_ORDERS=$${TORTURE_ORDERS:-500} TORTURE_KILLS=$${TORTURE_KILLS:-200} \
	    bash scripts/torture.sh

torture-smoke: deps
	$(MAKE) certspool
	TORTURE_ORDERS=$${TORTURE_ORDERS:-60} TORTURE_KILLS=$${TORTURE_KILLS:-25} \
	    bash scripts/torture.sh

# The valgrind runner, handed to sh unexpanded (see the recipe).
define certspool_valgrind_sh
set -u
L=tests/tmp/valgrind
rm -rf "$L"
mkdir -p "$L"
VG="valgrind -q --error-exitcode=1 --leak-check=full"
VG="$VG --errors-for-leak-kinds=definite,indirect"
VG="$VG --show-leak-kinds=definite,indirect --num-callers=30"
want() { [ -z "${VALGRIND_TESTS:-}" ] || echo " $VALGRIND_TESTS " | grep -q " $1 "; }
progs=0 dirty=0 tfail=0
# finding LOG: valgrind reported something.  A process that killed itself
# at a crash point (vg.crashpoint.*) has what was live reported as lost:
# only its memory errors count.
finding() {
	grep -v '^==[0-9]*== Warning: ' "$1" | grep -q . || return 1
	case $1 in
	*/vg.crashpoint.*) grep -Eq 'Invalid|uninitialised|Mismatched|overlap|Syscall param|Jump to|unaddressable' "$1" ;;
	esac
}
# note NAME: what valgrind and the test said about one program
note() {
	progs=$((progs + 1))
	found=$(find "$L/$1" -type f -name 'vg.*.log' -size +0 2>/dev/null |
	    while read -r f; do finding "$f" && echo "$f"; done | wc -l)
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$L/$1.out" | tail -n 1)
	f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
	[ -n "$f" ] || f=1
	[ "$2" -eq 0 ] || [ "$f" -ne 0 ] || f=1
	tfail=$((tfail + f))
	[ "$found" -eq 0 ] || dirty=$((dirty + 1))
	printf '%-26s valgrind: %s  tests: %s\n' "$1" \
	    "$([ "$found" -eq 0 ] && echo clean || echo "$found process(es) with errors")" \
	    "${line:-no count (exit $2)}"
	[ "$f" -eq 0 ] || grep -E '^(FAIL|not ok)' "$L/$1.out" | head -n 5 | sed 's/^/    /'
}
for t in tests/unit/t_*; do
	case $t in *.c|*.h) continue ;; esac
	[ -x "$t" ] || continue
	n=$(basename "$t")
	want "$n" || continue
	mkdir -p "$L/$n"
	$VG --log-file="$L/$n/vg.%p.log" "$t" >"$L/$n.out" 2>&1
	note "$n" $?
done
for t in tests/e2e/t*.sh; do
	n=$(basename "$t" .sh)
	# the torture wraps the binary itself (below, smaller)
	case $n in *torture*) continue ;; esac
	want "$n" || continue
	mkdir -p "$L/$n"
	CERTSPOOL_WRAP="$VG --log-file=$PWD/$L/$n/vg.%p.log" sh "$t" >"$L/$n.out" 2>&1
	note "$n" $?
done
# the crash torture, small, every run under valgrind: recovery paths too
if want torture-smoke; then
	mkdir -p "$L/torture-smoke"
	CERTSPOOL_WRAP="$VG --log-file=$PWD/$L/torture-smoke/vg.%q{TORTURE_RUN}.%p.log" \
	    TORTURE_ORDERS=30 TORTURE_KILLS=12 bash scripts/torture.sh \
	    >"$L/torture-smoke.out" 2>&1
	note torture-smoke $?
fi
if [ "$dirty" -ne 0 ]; then
	echo
	echo "valgrind findings (logs in $L/*/vg.*.log):"
	find "$L" -type f -name 'vg.*.log' -size +0 | sort | while read -r f; do
		finding "$f" || continue
		echo "---- $f"
		grep -v '^==[0-9]*== Warning: ' "$f" | head -n 40
	done
fi
echo
echo "valgrind: $((progs - dirty)) of $progs programs clean; $tfail test failures under valgrind"
echo "$((progs - dirty)) passed, $dirty failed"
[ "$dirty" -eq 0 ] || exit 1
[ -z "${VALGRIND_STRICT:-}" ] || [ "$tfail" -eq 0 ]
endef

valgrind: export CERTSPOOL_VALGRIND_SH = $(value certspool_valgrind_sh)
valgrind: deps
	@command -v valgrind >/dev/null 2>&1 || { echo "installing valgrind"; \
	    SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq valgrind >/dev/null; }
	$(MAKE) certspool units
	@sh -c "$$CERTSPOOL_VALGRIND_SH"

.PHONY: torture torture-smoke valgrind
