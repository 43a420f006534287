# org.sh: an account's organization and domain validated through the CLI
# and the mail spool, for tests/lib.sh and the torture scripts.  The
# caller defines cs (certspool with the run's config) and S (the spool).

# mail_token ADDRESS: the newest DCV token mailed to ADDRESS.
mail_token() {
	f=$(grep -l "^To: $1" "$S"/mail/*.eml 2>/dev/null | xargs -r ls -t | head -n 1)
	[ -n "$f" ] || return 1
	tr -d '\r' <"$f" | sed -n 's/.*certspool domain confirm \([A-Za-z0-9_-]*\).*/\1/p' | head -n 1
}
# validated_org ACCOUNT NAME DOMAIN: a validated organization NAME with
# the validated DOMAIN for ACCOUNT; prints the organization id.
validated_org() {
	acct=$1 name=$2 domain=$3
	oid=$(cs org add "$acct" "$name" --country US --org-id NTRUS+CA-1234567) || return 1
	oid=${oid#organization }; oid=${oid%% *}	# "organization ID ..."
	code=$(cs org request "$oid" | tail -n 1 | awk '{print $NF}')
	cs org verify "$oid" "$code" >/dev/null || return 1
	cs domain add "$oid" "$domain" >/dev/null || return 1
	cs domain dcv "$domain" --org "$oid" >/dev/null || return 1
	tok=$(mail_token "admin@$domain") || return 1
	cs domain confirm "$tok" >/dev/null || return 1
	echo "$oid"
}
