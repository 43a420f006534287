#!/bin/sh
# DNS TXT and DNS CNAME domain control validation against a loopback
# dnsmasq started (and killed) by this test: the ordering workflow from
# waiting_org to issued; wrong values, NXDOMAIN, SERVFAIL, a resolver
# that does not answer (stopped with SIGSTOP) and one that is not there;
# certspool domain check, and the daemon finding a CNAME by itself; a
# DNS DCV after its 30 days.
. "$(dirname "$0")/../lib.sh"

# ---- loopback servers (127.0.0.1 only, killed on exit) ----
. "$(dirname "$0")/../netlib.sh"

setup
DNSPORT=$(free_port)
BADPORT=$(free_port)
setconf dns_resolver "127.0.0.1:$DNSPORT"
setconf dns_timeout_seconds 2
cs account add acme --balance 100000 >/dev/null
oid=$(cs org add acme "Acme Corp" --country US --org-id NTRUS+CA-1234567 | awk '{print $2}')
cs domain add "$oid" acme.test >/dev/null

# ---- DNS TXT: the whole path from waiting_org ----
order_xml TXT-1 T1 jane@acme.test secure_email_organization >"$T/txt.xml"
drop acme "$T/txt.xml"
run_once
check_eq "TXT order waits for the organization" waiting_org "$(rstate "$(latest acme TXT-1)" T1)"
check_not "wrong phone code refused" cs org verify "$oid" AAAAA-BBBBB
code=$(cs org request "$oid" | awk '{print $NF}')
check "right phone code accepted" cs org verify "$oid" "$code"
run_once
check_eq "then it waits for domain control" waiting_dcv "$(rstate "$(latest acme TXT-1)" T1)"

cs domain dcv acme.test --method dns-txt >"$T/txt.out"
check "dns-txt dcv opened" test $? -eq 0
rec=$(grep ' IN TXT ' "$T/txt.out")
check_eq "record to publish is at _certspool-challenge" "_certspool-challenge.acme.test." "${rec%% *}"
TOK=$(echo "$rec" | sed -n 's/.* IN TXT "\([0-9A-Z]*\)"$/\1/p')
check_eq "value is 32 base32 characters (160 bits)" 32 "${#TOK}"
check_eq "dcv row open, method dns-txt, value hashed" "open|dns-txt|" \
    "$(sql "SELECT state || '|' || method || '|' || COALESCE(CAST(value AS TEXT), '') FROM dcv WHERE method = 'dns-txt'")"
check_eq "the value itself is not stored" 0 "$(sql "SELECT COUNT(*) FROM dcv WHERE token_hash = '$TOK' OR value = '$TOK'")"

# nothing listens at the resolver's address yet
cs domain check acme.test 2>"$T/err" >/dev/null
check_eq "no resolver: not validated" 1 $?
check "no resolver: says nothing answers" grep -q "nothing answers" "$T/err"

dns_start --txt-record=_certspool-challenge.acme.test,WRONGVALUE0123456789ABCDEFGHJKMN
cs domain check acme.test 2>"$T/err" >/dev/null
check_eq "wrong TXT value: not validated" 1 $?
check "wrong TXT value: says so" grep -q "none with the value" "$T/err"
check_eq "wrong value: dcv stays open" open "$(sql "SELECT state FROM dcv WHERE method = 'dns-txt'")"
check "a failed check is in the event log" test "$(sql "SELECT COUNT(*) FROM event WHERE kind = 'dcv_check_failed'")" -ge 1
run_once
check_eq "daemon: still waiting_dcv with the wrong value" waiting_dcv "$(rstate "$(latest acme TXT-1)" T1)"
check "daemon logs the DNS TXT finding" grep -q "domain acme.test: DNS TXT dcv [0-9]*: 1 TXT record at _certspool-challenge.acme.test, none with the value" "$T/daemon.log"

dns_start
cs domain check acme.test 2>"$T/err" >/dev/null
check_eq "no TXT record: not validated" 1 $?
check "NXDOMAIN reported" grep -q "NXDOMAIN" "$T/err"

kill -STOP "$DNSPID"
t0=$(date +%s)
cs domain check acme.test 2>"$T/err" >/dev/null
check_eq "resolver stopped: not validated" 1 $?
check "timeout reported" grep -q "no answer from resolver 127.0.0.1:$DNSPORT within 2 s" "$T/err"
check "timeout took about dns_timeout_seconds" test $(( $(date +%s) - t0 )) -le 5
kill -CONT "$DNSPID"

servfail_start "$BADPORT"
setconf dns_resolver "127.0.0.1:$BADPORT"
cs domain check acme.test 2>"$T/err" >/dev/null
check_eq "SERVFAIL: not validated" 1 $?
check "SERVFAIL reported" grep -q "SERVFAIL" "$T/err"
setconf dns_resolver "127.0.0.1:$DNSPORT"
check_eq "after all failures the dcv is still open" open "$(sql "SELECT state FROM dcv WHERE method = 'dns-txt'")"

# several TXT records, one of them right (lower case is fine too)
LTOK=$(echo "$TOK" | tr 'A-Z' 'a-z')
dns_start --txt-record=_certspool-challenge.acme.test,other-record \
    --txt-record=_certspool-challenge.acme.test,"$LTOK"
cs domain check acme.test >"$T/out" 2>"$T/err"
check_eq "right TXT value: validated" 0 $?
check "says validated by DNS TXT" grep -q "validated by DNS TXT" "$T/out"
check_eq "domain method recorded" dns-txt "$(sql "SELECT method FROM domain WHERE name = 'acme.test'")"
check_eq "dcv used" used "$(sql "SELECT state FROM dcv WHERE method = 'dns-txt'")"
check_not "checking again: nothing open" cs domain check acme.test
run_once
check_eq "TXT order issued" issued "$(rstate "$(latest acme TXT-1)" T1)"
check "certificate for jane@acme.test in the archive" sh -c "bsdtar -tf '$(latest acme TXT-1 | sed 's/result.xml$/tar.gz/')' | grep -q 'T1/jane@acme.test/cert.pem'"

# ---- DNS CNAME: the daemon finds it by itself ----
cs domain add "$oid" beta.test >/dev/null
order_xml CNAME-1 C1 bob@beta.test secure_email_organization >"$T/cname.xml"
drop acme "$T/cname.xml"
run_once
check_eq "CNAME order waits for domain control" waiting_dcv "$(rstate "$(latest acme CNAME-1)" C1)"
cs domain dcv beta.test --method dns-cname --org "$oid" >"$T/cname.out"
rec=$(grep ' IN CNAME ' "$T/cname.out")
LABEL=$(echo "$rec" | sed -n 's/^\([0-9a-z]*\)\.beta\.test\. IN CNAME dcv\.certspool\.invalid\.$/\1/p')
check_eq "CNAME record: random label under the domain to dcv.certspool.invalid" 32 "${#LABEL}"
check_eq "CNAME label stored (the CA must ask for it)" "$LABEL" "$(sql "SELECT value FROM dcv WHERE method = 'dns-cname'")"

dns_start --host-record=elsewhere.test,127.0.0.8 --cname="$LABEL.beta.test,elsewhere.test"
run_once
check_eq "CNAME to the wrong target: still waiting" waiting_dcv "$(rstate "$(latest acme CNAME-1)" C1)"
check "daemon logs where the CNAME points" grep -q "$LABEL.beta.test is a CNAME for elsewhere.test, not dcv.certspool.invalid" "$T/daemon.log"
check_eq "no further Email DCV while the DNS DCV is open" 1 \
    "$(sql "SELECT COUNT(*) FROM dcv d JOIN domain m ON m.id = d.domain_id WHERE m.name = 'beta.test' AND d.method = 'email'")"

dns_start --host-record=dcv.certspool.invalid,127.0.0.9 --cname="$LABEL.beta.test,dcv.certspool.invalid"
run_once
check_eq "daemon found the CNAME: issued without domain check" issued "$(rstate "$(latest acme CNAME-1)" C1)"
check_eq "domain validated by dns-cname" dns-cname "$(sql "SELECT method FROM domain WHERE name = 'beta.test'")"
check "event says the daemon checked it" test "$(sql "SELECT COUNT(*) FROM event WHERE kind = 'domain_validated' AND detail LIKE '%checked by the daemon%'")" -eq 1

# ---- a DNS DCV lapses after 30 days ----
cs domain add "$oid" gamma.test >/dev/null
cs domain dcv gamma.test --method dns-txt >"$T/g.out"
GTOK=$(sed -n 's/.* IN TXT "\([0-9A-Z]*\)"$/\1/p' "$T/g.out")
dns_start --txt-record=_certspool-challenge.gamma.test,"$GTOK"
CERTSPOOL_NOW=+$((31 * 86400)) cs domain check gamma.test 2>"$T/err" >/dev/null
check_eq "31 days later the DNS DCV is refused" 1 $?
check "says no open DCV" grep -q "no open DNS or HTTP DCV" "$T/err"
check_eq "and it is marked expired" expired "$(sql "SELECT d.state FROM dcv d JOIN domain m ON m.id = d.domain_id WHERE m.name = 'gamma.test'")"
check_eq "gamma.test not validated" "" "$(sql "SELECT COALESCE(CAST(validated_at AS TEXT), '') FROM domain WHERE name = 'gamma.test'")"

# ---- bad input ----
check_not "unknown method refused" cs domain dcv acme.test --method smoke-signal
check_not "dcv for a domain nobody has refused" cs domain dcv nobody.test --method dns-txt
check_not "domain check of a bad name refused" cs domain check 'bad_name..test'
cs domain add "$oid" delta.test >/dev/null
cs domain dcv delta.test --method dns-txt >/dev/null
setconf dns_resolver "resolver.example:53"
cs domain check delta.test 2>"$T/err" >/dev/null
check_eq "a resolver given by name: not validated" 1 $?
check "a resolver given by name is refused" grep -q "numeric addresses only" "$T/err"
setconf dns_resolver "127.0.0.1:$DNSPORT"

stop_servers
finish
