#!/bin/sh
# Retention (certspool purge, the daemon's daily purge): over a spool
# with issued batches (mail, archive, outbound), an order still waiting
# for its CSR and an input that held a card number, files aged with
# touch -d.  The dry run lists exactly the files due and removes
# nothing; the real run removes only those: younger files, undelivered
# mail, the waiting order's input and a symlink's target outside stay; a
# card input goes after 7 days while another input of that age stays;
# the event has the counts; 0 keeps for ever; a second run removes
# nothing; the daemon purges once a day (meta purge_last).
. "$(dirname "$0")/../lib.sh"
need_tools sqlite3

setup_acme
A=$S/archive/acme
OB=$S/outbound/acme
conf() {	# conf KEY VALUE
	sed -i "s|^$1 = .*|$1 = $2|" "$T/certspool.conf"
}
age() {		# age DAYS FILE...: mtime DAYS days ago
	d=$1
	shift
	touch -h -d "$d days ago" "$@"
}
exists() {	# exists FILE: a file or a link, dangling or not
	test -e "$1" || test -L "$1"
}

# ---- the spool: B1, B2 issued; W1 waits for a CSR; C1 gave a card ----
csr_batch B1 1
csr_batch B2 1
cat >"$T/W1.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<batch xmlns="urn:certspool:batch:1" id="W1" account="acme">
  <attestation officer="Pat Lee" title="HR Director"/>
  <order id="O-W1"><product>secure_email_organization</product>
<organization>Acme Corp</organization><signatureHash>sha384</signatureHash>
<validity><years>1</years></validity><autoRenew>0</autoRenew>
<recipient><commonName type="email">w1@acme.example</commonName><email>w1@acme.example</email><csrLater/></recipient>
<agreement accepted="true"/></order>
</batch>
EOF
sed 's|<agreement |<payment method="card" ref="4111 1111 1111 1111"/><agreement |; s/B1/C1/g' \
    "$T/B1.xml" >"$T/C1.xml"
for b in B1 B2 W1 C1; do
	drop acme "$T/$b.xml"
	run_once
done
check_eq "B1 issued" issued "$(sql "SELECT o.state FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'B1'")"
check_eq "W1 waits for its CSR" waiting_csr "$(sql "SELECT o.state FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'W1'")"
check_eq "C1 refused: a card number" card_number_not_allowed "$(sql "SELECT o.reason FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'C1'")"
check_eq "C1 kept its card flag" 1 "$(sql "SELECT card_flag FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'C1'")"
for f in B1.xml B2.xml W1.xml C1.xml; do
	check "archive/acme/$f" test -f "$A/$f"
done
check "B1's result" test -f "$OB/B1.1.result.xml"
check "B1's certificate archive" test -f "$OB/B1.1.tar.gz"

# Mail goes through a sendmail command that refuses B1's recipient:
# that message is not delivered (no record in mail/.sent/).
cat >"$T/mta" <<'EOF'
#!/bin/sh
grep -q '^To: .*B1-u1@acme.example' && exit 1
exit 0
EOF
chmod +x "$T/mta"
conf sendmail_command "\"$T/mta\""
run_once
U=$(grep -l '^To: .*B1-u1@acme.example' "$S"/mail/*.eml | head -n 1)
check "B1's certificate message exists" test -n "$U"
Ub=$(basename "$U")
check_not "it was not handed over" test -f "$S/mail/.sent/$Ub"
nmail=$(ls "$S"/mail/*.eml | wc -l)
check "there are delivered messages" test "$nmail" -ge 3
Y=$(grep -L '^To: .*B1-u1@acme.example' "$S"/mail/*.eml | head -n 1)
Yb=$(basename "$Y")
check "a delivered message's record" test -f "$S/mail/.sent/$Yb"

# Ages: every message 40 days old but $Y (10); B1's and C1's outbound
# files 100 days, B2's 10; B1 and W1 inputs 4000 days, B2 and C1 10; a
# link in archive/ to an old file outside it.
age 40 "$S"/mail/*.eml
age 10 "$Y"
age 100 "$OB"/B1.* "$OB"/C1.*
age 10 "$OB"/B2.*
age 4000 "$A/B1.xml" "$A/W1.xml"
age 10 "$A/B2.xml" "$A/C1.xml"
mkdir -p "$T/outside"
echo '<batch/>' >"$T/outside/secret.xml"
cp "$A/B2.xml" "$T/outside/copy.xml"
ln -s "$T/outside/secret.xml" "$A/link.xml"
ln -s "$T/outside/copy.xml" "$A/link2.xml"
age 4000 "$T/outside/secret.xml" "$T/outside/copy.xml" "$A/link.xml" "$A/link2.xml"
conf mail_retention_days 30
conf archive_retention_days 3650
conf card_archive_retention_days 7
conf outbound_retention_days 90

# What is due: every message but $U (undelivered) and $Y (young), B1's
# input, C1's input (card, 10 days), B1's and C1's outbound files.
{
	for f in "$S"/mail/*.eml; do
		[ "$f" = "$U" ] || [ "$f" = "$Y" ] || echo "mail mail/$(basename "$f")"
	done
	echo "archive archive/acme/B1.xml"
	echo "card_archive archive/acme/C1.xml"
	for f in "$OB"/B1.* "$OB"/C1.*; do
		echo "outbound outbound/acme/$(basename "$f")"
	done
} | sort >"$T/want"
ndue_mail=$((nmail - 2))
ndue_out=$(ls "$OB"/B1.* "$OB"/C1.* | wc -l)
snapshot() {
	(cd "$S" && find mail archive outbound -print | sort)
}
snapshot >"$T/before"

# ---- dry run ----
cs purge --dry-run >"$T/dry" 2>"$T/dry.err"
check_eq "dry run exits 0" 0 $?
cut -f 1,2 "$T/dry" | tr '\t' ' ' | sort >"$T/dry.got"
check "dry run lists exactly the files due" cmp -s "$T/want" "$T/dry.got"
check_eq "dry run: B1's input is 4000 days old" 4000 "$(awk -F '\t' '$2 == "archive/acme/B1.xml" {print $3}' "$T/dry")"
check_eq "dry run: C1's input is 10 days old" 10 "$(awk -F '\t' '$2 == "archive/acme/C1.xml" {print $3}' "$T/dry")"
snapshot >"$T/after-dry"
check "dry run removes nothing" cmp -s "$T/before" "$T/after-dry"
check_eq "dry run records no event" 0 "$(sql "SELECT count(*) FROM event WHERE kind = 'purge'")"
check_eq "dry run sets no purge_last" 0 "$(sql "SELECT count(*) FROM meta WHERE key = 'purge_last'")"

# ---- the real run ----
cs purge >"$T/real" 2>"$T/real.err"
check_eq "purge exits 0" 0 $?
check_eq "purge prints nothing" "" "$(cat "$T/real")"
snapshot >"$T/after"
comm -23 "$T/before" "$T/after" | sed 's|^mail/\.sent/.*|sent|' | grep -v '^sent$' | sort >"$T/gone"
sed 's/^[a-z_]* //' "$T/want" | sort >"$T/want.paths"
check "exactly the files due are gone" cmp -s "$T/want.paths" "$T/gone"
check "undelivered mail stays" test -f "$U"
check "young delivered mail stays" test -f "$Y"
check "its record stays" test -f "$S/mail/.sent/$Yb"
check_eq "records of the removed messages went with them" 0 "$(for f in $(sed -n 's|^mail mail/||p' "$T/want"); do exists "$S/mail/.sent/$f" && echo "$f"; done | wc -l)"
check_not "B1's input is gone" exists "$A/B1.xml"
check "the waiting order's input stays (4000 days old)" test -f "$A/W1.xml"
check_not "the card input is gone after 7 days" exists "$A/C1.xml"
check "a non-card input of 10 days stays" test -f "$A/B2.xml"
check "B2's outbound files stay" test -f "$OB/B2.1.result.xml"
check "the symlink in archive/ stays" test -L "$A/link.xml"
check "its target outside survives" test -f "$T/outside/secret.xml"
check "a link to a copy of an input: target survives" test -f "$T/outside/copy.xml"
check_eq "one purge event" 1 "$(sql "SELECT count(*) FROM event WHERE kind = 'purge'")"
detail=$(sql "SELECT detail FROM event WHERE kind = 'purge'")
check_eq "event counts" "mail=$ndue_mail archive=1 card_archive=1 outbound=$ndue_out kept_undelivered=1 kept_open=1 failed=0" "$detail"
check "one info line with the counts" grep -q "purge: removed $ndue_mail delivered messages, 1 archived input, 1 archived input with a card number, $ndue_out outbound files; kept 1 undelivered message, 1 input with orders not final" "$T/real.err"
check "purge_last recorded" test -n "$(sql "SELECT value FROM meta WHERE key = 'purge_last'")"

# ---- a second run removes nothing ----
cs purge --dry-run >"$T/dry2"
check_eq "second dry run lists nothing" "" "$(cat "$T/dry2")"
cs purge 2>/dev/null
check_eq "second run exits 0" 0 $?
snapshot >"$T/after2"
check "second run removes nothing" cmp -s "$T/after" "$T/after2"
check_eq "second event: all zero" "mail=0 archive=0 card_archive=0 outbound=0 kept_undelivered=1 kept_open=1 failed=0" \
    "$(sql "SELECT detail FROM event WHERE kind = 'purge' ORDER BY id DESC LIMIT 1")"

# ---- 0 keeps for ever ----
age 400 "$Y" "$OB"/B2.* "$A/B2.xml"
for k in mail archive card_archive outbound; do
	conf ${k}_retention_days 0
done
cs purge --dry-run >"$T/dry3"
check_eq "0: nothing due" "" "$(cat "$T/dry3")"
cs purge 2>/dev/null
check "0: the old message stays" test -f "$Y"
check "0: the old input stays" test -f "$A/B2.xml"
check "0: the old result stays" test -f "$OB/B2.1.result.xml"
conf outbound_retention_days 90
check "outbound 90: the 400-day result is due" grep -q "outbound/acme/B2.1.result.xml" "$(cs purge --dry-run >"$T/dry4"; echo "$T/dry4")"
check_not "outbound 90: mail still kept for ever" grep -q '^mail' "$T/dry4"
conf outbound_retention_days 0

# ---- the daemon: once a day ----
conf mail_retention_days 30
once_at() {	# once_at SECONDS: a daemon pass that much later
	dead_nodes_wait
	CERTSPOOL_NOW=+$1 "$BIN" --config "$T/certspool.conf" daemon --once >>"$T/daemon.log" 2>&1
}
npurge() {
	sql "SELECT count(*) FROM event WHERE kind = 'purge'"
}
n0=$(npurge)
run_once
check "daemon within 24 h of the last purge: the message stays" test -f "$Y"
check_eq "daemon within 24 h: no purge" "$n0" "$(npurge)"
once_at $((25 * 3600))
check_not "daemon a day later: the message is gone" exists "$Y"
check_eq "daemon a day later: one purge" $((n0 + 1)) "$(npurge)"
check "the daemon logged the purge" grep -q "purge: removed 1 delivered message," "$T/daemon.log"
last=$(sql "SELECT value FROM meta WHERE key = 'purge_last'")
check "purge_last moved on" test "$last" -gt "$(date +%s)"
once_at $((40 * 3600))
check_eq "daemon 15 h after: no second purge" $((n0 + 1)) "$(npurge)"
once_at $((50 * 3600))
check_eq "daemon 25 h after: the next purge" $((n0 + 2)) "$(npurge)"
check "the undelivered message is still there" test -f "$U"
check "the waiting order's input is still there" test -f "$A/W1.xml"
check "the symlink's target is still there" test -f "$T/outside/secret.xml"

finish
