#!/bin/sh
# Runs every test program and script; each ends with "N passed, M failed".
# Prints the total last.  Exit status: 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
mkdir -p tests/tmp
total_p=0
total_f=0
run() {
	name=$1
	shift
	out=tests/tmp/$name.log
	"$@" >"$out" 2>&1
	st=$?
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	p=$(echo "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed.*/\1/p')
	[ -n "$p" ] || p=$(echo "$line" | sed -n 's/^\([0-9][0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
	[ -n "$p" ] || p=0
	[ -n "$f" ] || f=0
	if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "$name: exit status $st without a failure count"
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	printf '%-28s %s passed, %s failed\n' "$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		echo "---- $out (last 40 lines)"
		tail -n 40 "$out"
		echo "----"
	fi
}
for t in tests/unit/t_*; do
	case $t in *.c|*.h) continue ;; esac
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
for t in tests/e2e/t*.sh; do
	[ -f "$t" ] || continue
	run "$(basename "$t" .sh)" sh "$t"
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
