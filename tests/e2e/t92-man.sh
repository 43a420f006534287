#!/bin/sh
# The man pages in man/ against mandoc and against the program: each page
# lints clean and renders; certspool.conf(5) documents exactly the keys
# certspool init writes, each with its default; certspool(8) documents
# every command of certspool --help with every option of its usage and
# help, its exit status where it differs, every CERTSPOOL_* variable the
# sources read, and the signals; certspool-spool(5) names the spool tree
# init makes and every element of the schema.
#
# Lint level: mandoc -T lint -W warning (errors and warnings) must print
# nothing.  The style level is checked too, less the messages that depend
# on the manuals installed on the host ("referenced manual not found",
# an outdated mandoc.db): before make install our own pages are not
# installed, so certspool(8)'s reference to certspool.conf(5) would fail.
. "$(dirname "$0")/../lib.sh"

need_tools mandoc python3
MAN=$ROOT/man
PAGES="certspool.8 certspool.conf.5 certspool-spool.5"

# text PAGE: the page rendered as plain text (no overstrike).
text() {
	mandoc -T ascii "$MAN/$1" | sed 's/.\x08//g'
}

# ---- mandoc: lint and render ----
for p in $PAGES; do
	check "man/$p exists" test -f "$MAN/$p"
	out=$(mandoc -T lint -W warning "$MAN/$p" 2>&1)
	check_eq "$p: mandoc -T lint -W warning exit status" 0 $?
	check_eq "$p: mandoc -T lint -W warning output" "" "$out"
	out=$(mandoc -T lint "$MAN/$p" 2>&1 |
	    grep -v 'referenced manual not found' | grep -v 'mandoc\.db')
	check_eq "$p: mandoc -T lint (style) output" "" "$out"
	mandoc -T utf8 -W warning "$MAN/$p" >"$T/$p.utf8" 2>"$T/$p.err"
	check_eq "$p: mandoc -T utf8 exit status" 0 $?
	check_eq "$p: mandoc -T utf8 messages" "" "$(cat "$T/$p.err")"
	check "$p: mandoc -T utf8 renders text" test -s "$T/$p.utf8"
done

# ---- certspool.conf(5) and the config init writes ----
# (init without --database on either engine: its defaults are documented)
"$BIN" init "$T/init" >/dev/null || bail "certspool init"
# keycheck: one line per finding, "ok KEY" or "FAIL TEXT".
python3 - "$T/init/certspool.conf" "$MAN/certspool.conf.5" >"$T/keys.out" <<'EOF'
import re, sys

conf, page = sys.argv[1], sys.argv[2]
init = {}
for line in open(conf, encoding="utf-8"):
    m = re.match(r'^#?\s*([a-z][a-z0-9_]*) = (.*)$', line.rstrip("\n"))
    if m and m.group(1) not in init:
        v = m.group(2).strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        init[m.group(1)] = v

lines = open(page, encoding="utf-8").read().split("\n")
items = {}
for i, l in enumerate(lines):
    m = re.match(r'^\.It Cm ([a-z][a-z0-9_]*)(\s|$)', l)
    if not m:
        continue
    # The item: up to the next .It or .El of its own list.
    depth, body = 0, []
    for l2 in lines[i + 1:]:
        if l2.startswith(".Bl"):
            depth += 1
        elif l2.startswith(".El"):
            if depth == 0:
                break
            depth -= 1
        elif l2.startswith(".It") and depth == 0:
            break
        body.append(l2)
    items.setdefault(m.group(1), []).append("\n".join(body))

def after_default(t):
    m = re.search(r'[Dd]efault', t)
    return t[m.end():] if m else None

for k, v in init.items():
    if k not in items:
        print("FAIL certspool.conf.5 has no item .It Cm %s" % k)
        continue
    if len(items[k]) > 1:
        print("FAIL certspool.conf.5 documents %s %d times" % (k, len(items[k])))
        continue
    rest = after_default(items[k][0])
    if rest is None:
        print("FAIL %s: its item names no default" % k)
        continue
    if v == "":
        if "empty" not in rest:
            print("FAIL %s: default is empty, the item does not say so" % k)
            continue
    else:
        missing = [p for p in v.split(",") if not re.search(
            r'(?<![A-Za-z0-9_.])' + re.escape(p) + r'(?![A-Za-z0-9_])', rest)]
        if missing:
            print("FAIL %s: default %s not in its item (missing %s)" %
                (k, v, ", ".join(missing)))
            continue
    print("ok %s" % k)
for k in items:
    if k not in init:
        print("FAIL certspool.conf.5 documents %s, which init does not write" % k)
    else:
        print("ok page %s" % k)
EOF
check_eq "init's config has keys" 1 "$([ "$(grep -c '^ok [a-z]' "$T/keys.out")" -gt 40 ] && echo 1)"
while read -r w rest; do
	case $w in
	ok) pass=$((pass + 1)) ;;
	*) fail=$((fail + 1)); echo "FAIL: $rest" ;;
	esac
done <"$T/keys.out"

# ---- certspool(8) and the commands ----
text certspool.8 >"$T/man8.txt"
# item WORDS...: the text of the page's items whose tag starts with WORDS
# (tags stand at column 5, their text deeper).
item() {
	awk -v w="$*" '
	    /^     [^ ]/ { on = (substr($0, 6, length(w)) == w &&
		(length($0) == 5 + length(w) ||
		substr($0, 6 + length(w), 1) == " ")) }
	    /^[^ ]/ || /^   [^ ]/ { on = 0 }
	    on { print }' "$T/man8.txt"
}
"$BIN" --help >"$T/help.txt" || bail "certspool --help"
sed -n '/^commands:/,/^certspool GROUP/p' "$T/help.txt" | sed '1d;$d' \
    >"$T/usages.txt"
check "certspool --help lists commands" test -s "$T/usages.txt"
default_exit=$(tail -n 1 "$T/help.txt")
while read -r line; do
	words=""
	for w in $line; do
		case $w in
		*[!a-z]*) break ;;
		*) words="${words:+$words }$w" ;;
		esac
	done
	# shellcheck disable=SC2086
	item $words >"$T/item.txt"
	check "certspool.8 has an item for \"$words\"" test -s "$T/item.txt"
	# shellcheck disable=SC2086
	"$BIN" $words --help >"$T/chelp.txt" 2>&1
	opts=$( (echo "$line"; sed -n 's/^ *\(--[a-z0-9-]*\).*/\1/p' \
	    "$T/chelp.txt") | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u)
	for o in $opts; do
		check "certspool.8: \"$words\" documents $o" \
		    grep -q -- "$o\\b" "$T/item.txt"
	done
	if [ "$(grep '^Exit status' "$T/chelp.txt")" != "$default_exit" ]; then
		check "certspool.8: \"$words\" says its exit status" \
		    grep -q 'xit status' "$T/item.txt"
	fi
done <"$T/usages.txt"
# purge and doctor, whether or not this build has them yet.
item purge >"$T/item.txt"
check "certspool.8 documents purge --dry-run" grep -q -- '--dry-run' "$T/item.txt"
item doctor >"$T/item.txt"
check "certspool.8 documents doctor --json" grep -q -- '--json' "$T/item.txt"
check "certspool.8 documents doctor --strict" grep -q -- '--strict' "$T/item.txt"
synopsis=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$T/man8.txt")
for o in --config --version --help help; do
	check "certspool.8 synopsis has $o" sh -c \
	    'printf "%s\n" "$1" | grep -q -- "$2"' sh "$synopsis" "$o"
done
item daemon >"$T/item.txt"
check "certspool.8: daemon --once exit 75" grep -q '75 (EX_TEMPFAIL)' "$T/item.txt"
sect() {	# sect NAME: a section of the rendered page
	sed -n "/^$1\$/,/^[A-Z][A-Z ]*\$/p" "$T/man8.txt" | sed '$d'
}
sect ENVIRONMENT >"$T/env.txt"
for v in $(grep -oh 'getenv("CERTSPOOL_[A-Z0-9_]*")' "$ROOT"/src/*.c |
    sed 's/getenv("\(.*\)")/\1/' | sort -u); do
	check "certspool.8 ENVIRONMENT has $v" grep -q "^     $v\$" "$T/env.txt"
done
check "certspool.8 ENVIRONMENT has CERTSPOOL_PKCS11_PIN" \
    grep -q CERTSPOOL_PKCS11_PIN "$T/env.txt"
# and no variable the sources do not know (CERTSPOOL_SENDER is one they set)
for v in $(sed -n 's/^     \(CERTSPOOL_[A-Z0-9_]*\)$/\1/p' "$T/env.txt"); do
	check "certspool.8 ENVIRONMENT: $v is in the sources" \
	    grep -q "\"$v" "$ROOT"/src/*.c
done
sect SIGNALS >"$T/sig.txt"
for s in SIGHUP SIGTERM SIGINT; do
	check "certspool.8 SIGNALS has $s" grep -q "$s" "$T/sig.txt"
done
sect FILES >"$T/files.txt"
for f in certspool.conf .certspool.lock ca.key chain.pem crl_dir; do
	check "certspool.8 FILES has $f" grep -q -- "$f" "$T/files.txt"
done
check "certspool.8 has EXIT STATUS" grep -q '^EXIT STATUS$' "$T/man8.txt"

# ---- certspool-spool(5): the tree init makes, the schema's elements ----
text certspool-spool.5 >"$T/spool.txt"
for d in "$T"/init/spool/*/; do
	d=$(basename "$d")
	check "certspool-spool.5 names $d/" grep -q "$d/" "$T/spool.txt"
done
for e in $(sed -n 's/.*<xs:element name="\([A-Za-z]*\)".*/\1/p' \
    "$ROOT/schemas/batch-1.xsd" | sort -u); do
	check "certspool-spool.5 names <$e" grep -q "<${e}[ >/]" "$T/spool.txt"
done
for f in result.xml error.xml .done .part; do
	check "certspool-spool.5 names $f" grep -q -- "$f" "$T/spool.txt"
done

finish
