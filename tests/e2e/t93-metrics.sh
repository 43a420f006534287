#!/bin/sh
# Metrics (metrics_file): a mixed batch (issued, rejected, waiting)
# through daemon --once; promtool accepts the file; the counts equal
# the database (orders and recipients by account and state, certificates
# issued and revoked, queue, CRL number, DCV); histograms are cumulative
# and count the passes and the results; the file is replaced atomically;
# an unwritable path is one warning and the daemon still issues.
. "$(dirname "$0")/../lib.sh"
need_tools promtool sqlite3
setup_acme
cs account add beta --balance 100000000 >/dev/null
M=$T/metrics/certspool.prom
mkdir -p "$T/metrics"
sed -i "s|^metrics_file = .*|metrics_file = $M|" "$T/certspool.conf"

# m NAME{LABELS}: the value of one sample ("" if absent)
m() {
	awk -v k="$1" '$1 == k { print $2 }' "$M"
}
# order ID EMAIL PRODUCT ORG AGREEMENT(true|false) [later]
order() {
	echo "<order id=\"$1\"><product>$3</product>"
	[ "$4" = - ] || echo "<organization>$4</organization>"
	echo "<signatureHash>sha384</signatureHash><validity><years>1</years></validity>"
	echo "<recipient><commonName type=\"email\">$2</commonName><email>$2</email>"
	if [ "${6:-}" = later ]; then echo "<csrLater/>"; else echo "<csr>$(csr ec:P-256 "$2")</csr>"; fi
	echo "</recipient><payment method=\"balance\"/><agreement accepted=\"$5\"/></order>"
}
batch() {	# batch ACCOUNT ID: stdin's orders, dropped
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<batch xmlns=\"urn:certspool:batch:1\" id=\"$2\" account=\"$1\">"
		echo '<attestation officer="Pat Lee" title="HR Director"/>'
		cat
		echo '</batch>'
	} >"$T/$2.xml"
	drop "$1" "$T/$2.xml"
}
{
	order A1 a1@acme.example secure_email_organization "Acme Corp" true
	order A2 a2@acme.example secure_email_organization "Acme Corp" true
	order A3 a3@acme.example secure_email_organization "Acme Corp" false
	order A4 a4@acme.example secure_email_organization "Acme Corp" true later
	order A5 a5@acme.example secure_email_organization "Nobody Inc" true
} | batch acme M-1
{
	order B1 b1@beta.example secure_email_individual - true
	order B2 b2@beta.example secure_email_individual - false
} | batch beta M-2

: >"$T/metrics/.certspool.prom.0123456789abcdef.tmp"	# a crash's
: >"$T/metrics/.other.prom.0123456789abcdef.tmp"	# another exporter's
run_once
check "metrics file written" test -s "$M"
check "our crash temporary removed" test ! -e "$T/metrics/.certspool.prom.0123456789abcdef.tmp"
check "another's temporary kept" test -e "$T/metrics/.other.prom.0123456789abcdef.tmp"
rm -f "$T/metrics/.other.prom.0123456789abcdef.tmp"
check "promtool check metrics" sh -c "promtool check metrics <'$M'"
check_eq "no temporary left" "" "$(ls -A "$T/metrics" | grep -v '^certspool.prom$')"
check_eq "mode 0644" 644 "$(stat -c %a "$M")"

# Orders and recipients by account and state equal the database.
db_orders=$(sql "SELECT 'certspool_orders{account=\"' || a.name || '\",state=\"' || o.state || '\"} ' || count(*)
    FROM orders o JOIN batch b ON b.id = o.batch_id JOIN account a ON a.id = b.account_id
    GROUP BY a.name, o.state ORDER BY 1")
check_eq "orders by account and state" "$db_orders" "$(grep '^certspool_orders{' "$M" | sort)"
db_rcpt=$(sql "SELECT 'certspool_recipients{account=\"' || a.name || '\",state=\"' || r.state || '\"} ' || count(*)
    FROM recipient r JOIN orders o ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id
    JOIN account a ON a.id = b.account_id GROUP BY a.name, r.state ORDER BY 1")
check_eq "recipients by account and state" "$db_rcpt" "$(grep '^certspool_recipients{' "$M" | sort)"
# The mix is really mixed: issued, rejected and waiting orders.
check "some issued" test -n "$(m 'certspool_orders{account="acme",state="issued"}')"
check "some rejected" test -n "$(m 'certspool_orders{account="acme",state="rejected"}')"
check "some waiting" test -n "$(m 'certspool_orders{account="acme",state="waiting_csr"}')"
check_eq "beta waits for mailbox control" 1 "$(m 'certspool_orders{account="beta",state="waiting_dcv"}')"

issued=$(sql "SELECT count(*) FROM certificate WHERE state IN ('issued','superseded')")
check_eq "certificates issued total" "$issued" "$(m certspool_certificates_issued_total)"
check_eq "two certificates" 2 "$issued"
check_eq "signatures counted" "$issued" "$(m certspool_signatures_total)"
queue=$(sql "SELECT count(*) FROM orders WHERE state NOT IN ('issued','rejected','cancelled')")
check_eq "queue depth" "$queue" "$(m certspool_queue_depth)"
check "oldest waiting_csr order has an age" test -n "$(m 'certspool_oldest_order_age_seconds{state="waiting_csr"}')"
check_eq "rejections by reason (agreement)" 2 "$(m 'certspool_rejections_total{level="order",reason="agreement_not_accepted"}')"
check_eq "rejections by reason (organization)" 1 "$(m 'certspool_rejections_total{level="order",reason="unknown_organization"}')"
crlnum=$(sql "SELECT number FROM crl_shard_state WHERE issuer_id = 1 AND shard = 0")
check_eq "CRL number" "$crlnum" "$(m 'certspool_crl_number{issuer="1",shard="0"}')"
check "CRL age" test -n "$(m 'certspool_crl_age_seconds{issuer="1",shard="0"}')"
db_dcv=$(sql "SELECT 'certspool_dcv{method=\"' || method || '\",state=\"' || state || '\"} ' || count(*)
    FROM dcv GROUP BY method, state ORDER BY 1")
check_eq "DCV by method and state" "$db_dcv" "$(grep '^certspool_dcv{' "$M" | sort)"
check_eq "mail spool count" "$(ls "$S/mail" | grep -c '\.eml$')" "$(m certspool_mail_spool_messages)"
check_eq "log warnings counted" "$(grep -c ': warning: ' "$T/daemon.log")" \
    "$(m 'certspool_log_messages_total{level="warning"}')"

# Histograms: one pass, two results; buckets cumulative, +Inf = _count.
check_eq "pass count" 1 "$(m certspool_pass_duration_seconds_count)"
check_eq "pass +Inf" 1 "$(m 'certspool_pass_duration_seconds_bucket{le="+Inf"}')"
results=$(ls "$S/outbound/acme" "$S/outbound/beta" | grep -c 'result\.xml$')
check_eq "two results" 2 "$results"
check_eq "result count" "$results" "$(m certspool_result_latency_seconds_count)"
check_eq "results total" "$results" "$(m certspool_results_total)"
cumulative() {	# every histogram's buckets never decrease
	awk '/_bucket\{/ { split($1, a, "_bucket"); n = a[1];
	    if (n == last && $2 < prev) bad = 1; last = n; prev = $2 }
	    END { exit bad }' "$M"
}
check "buckets cumulative" cumulative

# A revocation: revoked by reason equals the database.
serial=$(sql "SELECT serial FROM certificate WHERE state = 'issued' LIMIT 1")
check "revoke" cs revoke --serial "$serial" --reason keyCompromise
CERTSPOOL_NOW=+5 run_once
check "promtool after revocation" sh -c "promtool check metrics <'$M'"
db_rev=$(sql "SELECT 'certspool_certificates_revoked_total{reason=\"' || revoke_reason || '\"} ' || count(*)
    FROM certificate WHERE revoked_at IS NOT NULL GROUP BY revoke_reason ORDER BY 1")
check_eq "revoked by reason" "$db_rev" "$(grep '^certspool_certificates_revoked_total{' "$M" | sort)"
check_eq "one keyCompromise" 1 "$(m 'certspool_certificates_revoked_total{reason="keyCompromise"}')"
check_eq "new CRL number" "$(sql "SELECT number FROM crl_shard_state WHERE issuer_id = 1 AND shard = 0")" \
    "$(m 'certspool_crl_number{issuer="1",shard="0"}')"
check_eq "each --once starts anew: one pass" 1 "$(m certspool_pass_duration_seconds_count)"
check_eq "no temporary after the second write" "" "$(ls -A "$T/metrics" | grep -v '^certspool.prom$')"

# A running daemon: every pass is counted in the same file
# (metrics_interval_seconds = 0: written after each pass).
sed -i "s/^metrics_interval_seconds = .*/metrics_interval_seconds = 0/" "$T/certspool.conf"
sed -i 's/^poll_seconds = .*/poll_seconds = 1/' "$T/certspool.conf"
dead_nodes_wait
"$BIN" --config "$T/certspool.conf" daemon >>"$T/daemon2.log" 2>&1 &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; cleanup' EXIT
passes_ge() {	# passes_ge N: the file counts N passes or more
	v=$(m certspool_pass_duration_seconds_count)
	[ "${v:-0}" -ge "$1" ]
}
check "passes accumulate" wait_until 20 passes_ge 3
check "promtool on a running daemon's file" sh -c "promtool check metrics <'$M'"
check "buckets cumulative (running)" cumulative
kill "$dpid"
wait "$dpid" 2>/dev/null
check_eq "no temporary left by the daemon" "" "$(ls -A "$T/metrics" | grep -v '^certspool.prom$')"

# An unwritable path: one warning, the daemon still issues.
sed -i "s|^metrics_file = .*|metrics_file = $T/no-such-dir/certspool.prom|" "$T/certspool.conf"
order C1 c1@acme.example secure_email_organization "Acme Corp" true | batch acme M-3
: >"$T/daemon3.log"
cs daemon --once >>"$T/daemon3.log" 2>&1
check_eq "one metrics warning" 1 "$(grep -c 'warning: metrics: ' "$T/daemon3.log")"
check_eq "still issued" issued "$(sql "SELECT o.state FROM orders o JOIN batch b ON b.id = o.batch_id WHERE b.ext_id = 'M-3'")"
check "no file in the missing directory" test ! -e "$T/no-such-dir"
finish
