#!/bin/sh
# The demo: the embedded defaults (./certspool.conf, ./spool, ./certspool.db,
# demo CA in ./ca), one account, the spec's example batch, and the
# operator's steps of the ordering workflow, ending in issued certificates.
set -eu
cd "$(dirname "$0")/.."
export CERTSPOOL_SCHEMA_DIR="$PWD/schemas"
B=./certspool
EX=tests/data/xml/valid

# The SPEC example asks sha256 and sha384 signatures; a P-384 CA (init's
# default) signs with sha384 only (S/MIME BR 7.1.3.2.2), so the demo CA is
# RSA-4096 and every order of the example is issued.
[ -f certspool.conf ] || $B init . --ca-key rsa4096
# Card payments go to the demo processor (scripts/demo-card-processor).
grep -q '^card_processor_command = "[^"]' certspool.conf || {
	sed -i '/^card_processor_command = /d' certspool.conf
	echo "card_processor_command = \"$PWD/scripts/demo-card-processor $PWD/certspool.db-card-ledger.json\"" >>certspool.conf
}
$B status >/dev/null 2>&1 || true
if ! $B account add acme >/dev/null 2>&1; then
	echo "account acme exists; reusing it"
fi
# The example pays by contract C-2026-01, by balance and by card.
$B account contract acme C-2026-01 --units 10 >/dev/null
$B account deposit acme 100000 >/dev/null
oid=$($B org list acme --json | python3 -c 'import json, sys
print(*[o["id"] for o in json.load(sys.stdin)["organizations"] if o["name"] == "Acme Corp"])')
[ -n "$oid" ] || oid=$($B org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')

# A fresh batch id each run, so a second demo is not a duplicate.
id="DEMO-$(date +%Y%m%d%H%M%S)"
# The SPEC example unchanged but for its id.
sed "s/id=\"HR-2026-11-24-0001\"/id=\"$id\"/" \
    "$EX/batch-example.xml" >spool/inbound/acme/.demo.part
mv spool/inbound/acme/.demo.part "spool/inbound/acme/$id.xml"
touch -d '1 minute ago' "spool/inbound/acme/$id.xml"	# settled

step() { echo; echo "== $*"; }
step "pass 1: the batch is taken; the organization needs validation"
$B daemon --once
$B status "$id"

step "operator: organization validation by phone code"
code=$($B org request "$oid" | tail -n 1 | awk '{print $NF}')
$B org verify "$oid" "$code"

step "pass 2: domain control validation mails go out"
$B daemon --once
$B status "$id"

step "the recipient portal starts"
# the keys as certspool init writes them, quoted or not
conf_value() {
	sed -n "s/^$1 = \"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" certspool.conf
}
base=$(conf_value web_base_url)
[ -n "$base" ] || base="http://$(conf_value web_listen)"
if curl -s -o /dev/null "$base/"; then
	echo "a portal already answers at $base; reusing it"
else
	setsid $B web >>portal.log 2>&1 </dev/null &
	echo "certspool web started (pid $!, log portal.log)"
	i=0
	until curl -s -o /dev/null "$base/" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
fi

step "recipients of the DCV and mailbox mails confirm at their links"
jar=$(mktemp)
for f in $(grep -l "/confirm/" spool/mail/*.eml); do
	link=$(tr -d '\r' <"$f" | grep -o "https\?://[^ ]*/confirm/[A-Z0-9]*" | head -n 1)
	csrf=$(curl -s -c "$jar" "$link" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
	[ -n "$csrf" ] || continue	# used already (an earlier demo)
	curl -s -b "$jar" --data "csrf=$csrf" "$link" | grep -q 'data-state="confirmed"' &&
	    echo "confirmed: $link"
done
rm -f "$jar"

step "pass 3: certificates are issued"
$B daemon --once
$B status "$id"

step "the CSR for the csrLater recipient arrives"
{ cat "$EX/csr-submission-example.xml"; echo "<!-- $id -->"; } >"spool/inbound/acme/$id-csr.xml"
touch -d '1 minute ago' "spool/inbound/acme/$id-csr.xml"
$B daemon --once
$B status "$id"

echo
echo "results: $(ls spool/outbound/acme/$id.* | tr '\n' ' ')"
echo "mail:    spool/mail/ ($(ls spool/mail | wc -l) messages)"
echo "billing: $B account show acme"
$B account show acme --limit 8
echo "portal:  $base (certspool web; the links in spool/mail/ open there)"
echo "latest result:"
cat "$(ls -t spool/outbound/acme/$id.*.result.xml | head -n 1)"
