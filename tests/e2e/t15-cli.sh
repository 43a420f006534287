#!/bin/sh
# The operator's CLI: account/org/domain list in text and JSON (states
# and expiry dates, escaping), org add and domain add sentences, org
# request showing the open code and --new replacing it, help on every
# group and command, tests/run.sh --help and PATTERN.
. "$(dirname "$0")/../lib.sh"

DAY=86400
# js PYTHON-EXPRESSION: evaluated with d = the JSON document on stdin.
js() {
	python3 -c 'import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}
# iso SECONDS: the UTC time as the JSON prints it.
iso() {
	date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}
contains() {	# contains TEXT PATTERN
	printf '%s\n' "$1" | grep -q -- "$2"
}
one_line_err() {	# one_line_err ARGS...: exit 1 and one line on stderr
	cs "$@" >/dev/null 2>"$T/err"
	[ $? -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ]
}

setup
cs account add acme --balance 123456 >/dev/null
cs account add beta >/dev/null

# ---- org add / domain add say what they added ----
out=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567)
check_eq "org add exits 0" 0 $?
oid=$(sql "SELECT id FROM organization WHERE name = 'Acme Corp'")
check_eq "org add sentence names the stored id" \
    "organization $oid \"Acme Corp\" added to account acme" "$out"
out=$(cs org add beta "Bêta Ünïcode 🔒" --country DE --org-id NTRDE-HRB12345)
bid=$(sql "SELECT id FROM organization WHERE account_id = (SELECT id FROM account WHERE name = 'beta')")
check_eq "org add sentence with a non-ASCII name" \
    "organization $bid \"Bêta Ünïcode 🔒\" added to account beta" "$out"
oid2=$(echo "$out" | awk '{print $2}')
out=$(cs domain add "$oid" acme.example)
check_eq "the printed organization id works in the next command" 0 $?
did=$(sql "SELECT id FROM domain WHERE name = 'acme.example'")
check_eq "domain add sentence" \
    "domain $did acme.example added to organization $oid \"Acme Corp\"" "$out"
out=$(cs domain add "$oid2" beta.example)
check "domain add on the id org add printed" contains "$out" "added to organization $bid "
cs domain add "$oid" old.example >/dev/null
cs org add acme "Old Corp" --country US --org-id NTRUS-777 >/dev/null
old=$(sql "SELECT id FROM organization WHERE name = 'Old Corp'")

# ---- org request shows the open code; --new replaces it ----
r1=$(cs org request "$oid")
c1=$(echo "$r1" | awk '{print $NF}')
c2=$(cs org request "$oid" | awk '{print $NF}')
check "org request prints a code XXXXX-XXXXX" sh -c "echo '$c1' | grep -Eq '^[0-9A-Z]{5}-[0-9A-Z]{5}$'"
check_eq "org request again: the same code" "$c1" "$c2"
check_eq "one request, kept open" 1 "$(sql "SELECT COUNT(*) FROM org_request WHERE org_id = $oid AND state = 'open'")"
check_eq "the open code is kept while open (schema 4)" "$c1" "$(sql "SELECT code FROM org_request WHERE org_id = $oid")"
c3=$(cs org request "$oid" --new | awk '{print $NF}')
check_not "--new: a different code" test "$c3" = "$c1"
check_eq "--new: still one request" 1 "$(sql "SELECT COUNT(*) FROM org_request WHERE org_id = $oid")"
cs org verify "$oid" "$c1" 2>"$T/err"
check_eq "the replaced code is refused" 1 $?
check "refusal says the code does not match" grep -q "does not match" "$T/err"
check "the new code is accepted" cs org verify "$oid" "$c3"
check_eq "the code is erased once used" "" "$(sql "SELECT code FROM org_request WHERE org_id = $oid")"
check_eq "schema version" 9 "$(schema_version)"

# A request the daemon opened (code never shown) gets its first code, then keeps it.
cs account add gamma >/dev/null
cs org add gamma "Gamma Ltd" --country US --org-id NTRUS-42 >/dev/null
gid=$(sql "SELECT id FROM organization WHERE name = 'Gamma Ltd'")
sql "INSERT INTO org_request (org_id, code_hash, created, expires, tries, state) VALUES ($gid, 'x', $(q_now), $(q_now) + 86400, 0, 'open')"
g1=$(cs org request "$gid" | awk '{print $NF}')
g2=$(cs org request "$gid" | awk '{print $NF}')
check_eq "a request opened without a shown code: the code shown first is kept" "$g1" "$g2"
check "and works" cs org verify "$gid" "$g2"

# The old organization: a request that expires unused loses its code.
cs org request "$old" >/dev/null
check_not "open request holds its code" test -z "$(sql "SELECT code FROM org_request WHERE org_id = $old")"
CERTSPOOL_NOW=+$((31 * DAY)) cs org request "$gid" >/dev/null
check_eq "an expired request's code is erased (by the next org request)" \
    "expired|" "$(sql "SELECT state || '|' || COALESCE(CAST(code AS TEXT), '') FROM org_request WHERE org_id = $old")"
cs org request "$old" >/dev/null

# ---- validation states ----
cs domain dcv beta.example --org "$oid2" >/dev/null
cs domain dcv acme.example --org "$oid" >/dev/null
check "DCV token confirms" cs domain confirm "$(mail_token admin@acme.example)"
ova=$(sql "SELECT validated_at FROM organization WHERE id = $oid")
dva=$(sql "SELECT validated_at FROM domain WHERE id = $did")
now=$(date +%s)

cs org list --json >"$T/orgs.json"
check_eq "org list --json exits 0" 0 $?
check "org list --json is one JSON document" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/orgs.json"
check_eq "org list: ids in order" "$oid $old $bid $gid" "$(js '" ".join(str(o["id"]) for o in d["organizations"])' <"$T/orgs.json")"
check_eq "org list: ids are numbers" True "$(js 'all(type(o["id"]) is int for o in d["organizations"])' <"$T/orgs.json")"
check_eq "org list: names" "Acme Corp|Old Corp|Bêta Ünïcode 🔒|Gamma Ltd" "$(js '"|".join(o["name"] for o in d["organizations"])' <"$T/orgs.json")"
check_eq "org list: accounts" "acme acme beta gamma" "$(js '" ".join(o["account"] for o in d["organizations"])' <"$T/orgs.json")"
check_eq "org list: states" "valid pending not_validated valid" "$(js '" ".join(o["state"] for o in d["organizations"])' <"$T/orgs.json")"
check_eq "org list: valid until validated_at + 825 days" "$(iso $((ova + 825 * DAY)))" "$(js "d['organizations'][0]['valid_until']" <"$T/orgs.json")"
check_eq "org list: validated_at" "$(iso "$ova")" "$(js "d['organizations'][0]['validated_at']" <"$T/orgs.json")"
check_eq "org list: the pending request" "$(sql "SELECT id FROM org_request WHERE org_id = $old AND state = 'open'")" "$(js "d['organizations'][1]['request']['id']" <"$T/orgs.json")"
check_eq "org list: not validated has no dates" "None None" "$(js "str(d['organizations'][2]['validated_at']) + ' ' + str(d['organizations'][2]['valid_until'])" <"$T/orgs.json")"
check "org list --json is ASCII, non-ASCII escaped (a surrogate pair beyond U+FFFF)" python3 -c '
import sys
t = open(sys.argv[1], "rb").read()
sys.exit(not (max(t) < 0x7f and b"B\\u00eata" in t and b"\\ud83d\\udd12" in t))' "$T/orgs.json"
cs org list >"$T/orgs.txt"
check "org list text: valid until" grep -q "^$oid .*Acme Corp.*valid until $(iso $((ova + 825 * DAY)))$" "$T/orgs.txt"
check "org list text: pending" grep -q "^$old .*Old Corp.*pending (request" "$T/orgs.txt"
check "org list text: not validated" grep -q "^$bid .*not validated$" "$T/orgs.txt"
check_eq "org list ACCOUNT: only its organizations" "$bid" "$(cs org list beta --json | js '" ".join(str(o["id"]) for o in d["organizations"])')"
check "org list of an unknown account: one line, exit 1" one_line_err org list nosuch

cs domain list --json >"$T/doms.json"
check_eq "domain list: names" "acme.example old.example beta.example" "$(js '" ".join(x["name"] for x in d["domains"])' <"$T/doms.json")"
check_eq "domain list: ids" "$did" "$(js 'd["domains"][0]["id"]' <"$T/doms.json")"
check_eq "domain list: states" "valid not_validated pending" "$(js '" ".join(x["state"] for x in d["domains"])' <"$T/doms.json")"
check_eq "domain list: valid until validated_at + 398 days" "$(iso $((dva + 398 * DAY)))" "$(js "d['domains'][0]['valid_until']" <"$T/doms.json")"
check_eq "domain list: method" "email" "$(js "d['domains'][0]['method']" <"$T/doms.json")"
check_eq "domain list: the open DCV" "email" "$(js "d['domains'][2]['dcv']['method']" <"$T/doms.json")"
check_eq "domain list: org ids are numbers" "$oid" "$(js "d['domains'][0]['org_id'] + 0" <"$T/doms.json")"
check_eq "domain list ORG" "acme.example old.example" "$(cs domain list "$oid" --json | js '" ".join(x["name"] for x in d["domains"])')"
check_eq "domain list ACCOUNT" "beta.example" "$(cs domain list beta --json | js '" ".join(x["name"] for x in d["domains"])')"
cs domain list >"$T/doms.txt"
check "domain list text: valid until" grep -q "^$did .*acme.example.*valid until $(iso $((dva + 398 * DAY)))$" "$T/doms.txt"
check "domain list text: pending" grep -q "beta.example.*pending (email DCV open until" "$T/doms.txt"
check "domain list text: not validated" grep -q "old.example.*not validated$" "$T/doms.txt"
check "domain list of nothing known: one line, exit 1" one_line_err domain list nosuch

# Expiry: the domain after 398 days, the organization after 825.
export CERTSPOOL_NOW=+$((400 * DAY))
check_eq "day 400: organization still valid, domain expired" "valid expired" \
    "$(echo "$(cs org list acme --json | js 'd["organizations"][0]["state"]')" "$(cs domain list "$oid" --json | js 'd["domains"][0]["state"]')")"
check "day 400: text says expired" sh -c "'$BIN' --config '$T/certspool.conf' domain list '$oid' | grep -q 'acme.example.*expired $(iso $((dva + 398 * DAY)))$'"
export CERTSPOOL_NOW=+$((826 * DAY))
check_eq "day 826: organization expired" expired "$(cs org list acme --json | js 'd["organizations"][0]["state"]')"
check "day 826: text says expired" sh -c "'$BIN' --config '$T/certspool.conf' org list acme | grep -q 'Acme Corp.*expired $(iso $((ova + 825 * DAY)))$'"
check_eq "day 826: as_of follows the clock" "$(iso $((now + 826 * DAY)) | cut -c1-10)" "$(cs org list acme --json | js 'd["as_of"][:10]')"
unset CERTSPOOL_NOW

# Escaping: names with quotes, backslashes and control characters (as an
# older program might have stored them).
if [ "$ENGINE" = postgresql ]; then chr=chr; else chr=char; fi
sql "UPDATE organization SET name = 'Q\"' || $chr(92) || $chr(10) || $chr(9) || $chr(1) || $chr(127) || 'é' WHERE id = $gid"
check_eq "control characters and quotes escaped" True \
    "$(cs org list gamma --json | js 'd["organizations"][0]["name"] == "Q\"\\\n\t\x01\x7fé"')"
check_eq "text output keeps one line per organization" 2 "$(cs org list gamma | wc -l)"

cs account list --json >"$T/acc.json"
check_eq "account list: names" "acme beta gamma" "$(js '" ".join(a["name"] for a in d["accounts"])' <"$T/acc.json")"
check_eq "account list: ids" "$(sql "SELECT $(q_agg id ' ') FROM (SELECT id FROM account ORDER BY name) a")" "$(js '" ".join(str(a["id"]) for a in d["accounts"])' <"$T/acc.json")"
check_eq "account list: balance as a number" 123456 "$(js 'd["accounts"][0]["balance_cents"] + 0' <"$T/acc.json")"
check_eq "account list: organizations" "2 1 1" "$(js '" ".join(str(a["organizations"]) for a in d["accounts"])' <"$T/acc.json")"
cs account list >"$T/acc.txt"
check "account list text" grep -q "^[0-9]* *acme .*1234.56 USD" "$T/acc.txt"

# ---- help everywhere ----
mkdir "$T/empty" && cd "$T/empty" || bail "cd"
"$BIN" --help >"$T/help" 2>&1
check_eq "certspool --help exits 0" 0 $?
sed -n 's/^  \([a-z][a-z ]*[a-z]\)\( [^a-z].*\)*$/\1/p' "$T/help" | sed 's/ [A-Z].*//' >"$T/cmds"
check "--help lists the commands" test "$(wc -l <"$T/cmds")" -ge 20
for w in "account list" "org list" "domain list" "org request"; do
	check "--help lists $w" grep -qx "$w" "$T/cmds"
done
while read -r c; do
	# shellcheck disable=SC2086
	"$BIN" $c --help >"$T/h" 2>&1
	check_eq "$c --help exits 0 without a config" 0 $?
	syn=$(grep "^  $c\( \|$\)" "$T/help" | sed 's/^  //')
	check_eq "$c --help: synopsis as in certspool --help" "usage: certspool [--config FILE] $syn" "$(head -n 1 "$T/h")"
	check "$c --help: says what it does" test "$(wc -l <"$T/h")" -ge 3
	check "$c --help: exit status" grep -q "^Exit status" "$T/h"
	for o in $(echo "$syn" | grep -o -- '--[a-z-]*' | sort -u); do
		check "$c --help describes $o" sh -c "tail -n +2 '$T/h' | grep -q -- '^ *$o'"
	done
done <"$T/cmds"
for g in $(awk 'NF == 2 {print $1}' "$T/cmds" | sort -u); do
	"$BIN" "$g" --help >"$T/h" 2>&1
	check_eq "$g --help exits 0" 0 $?
	for c in $(awk -v g="$g" '$1 == g {print $2}' "$T/cmds"); do
		check "$g --help lists $g $c" grep -q "^  $g $c" "$T/h"
	done
	check "help $g works too" sh -c "'$BIN' help $g | cmp -s - '$T/h'"
	check "$g without a command: one line, exit 1" one_line_err "$g"
	check "$g frob: one line, exit 1" one_line_err "$g" frob
done
for g in account org domain order ca; do
	check "group $g has help" grep -q "^$g " "$T/cmds"
done
check "unknown command: one line, exit 1" one_line_err frobnicate
cd "$ROOT" || bail "cd"

# ---- tests/run.sh ----
sh tests/run.sh --help >"$T/run" 2>&1
check_eq "run.sh --help exits 0" 0 $?
check "run.sh --help prints usage" grep -q "^usage: sh tests/run.sh \[--engine sqlite|postgresql\] \[PATTERN" "$T/run"
check_not "run.sh --help runs no test" grep -Eq '^t[_0-9]' "$T/run"
if [ -x tests/unit/t_dns ]; then
	# (on SQLite whatever this run's engine: no second cluster)
	sh tests/run.sh --engine sqlite t_dns >"$T/run" 2>&1
	check_eq "run.sh t_dns exits 0" 0 $?
	check_eq "run.sh t_dns ran t_dns alone" "t_dns" "$(grep -E ' passed, ' "$T/run" | sed '$d' | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
	check "run.sh t_dns: the total line last" sh -c "tail -n 1 '$T/run' | grep -Eq '^[1-9][0-9]* passed, 0 failed \\(sqlite\\)$'"
else
	bail "tests/unit/t_dns is not built (make units)"
fi
check_not "run.sh with a pattern nothing matches fails" sh tests/run.sh no-such-test
check_not "run.sh refuses an unknown engine" sh tests/run.sh --engine mysql t_dns

finish
