/*
 * store_dbcheck.c: certspool db check: the integrity of the data as the
 * rest of the data layer defines it, in portable SQL (the same queries
 * on SQLite and PostgreSQL).  Each check is one query that lists the
 * rows it finds wrong as one line of text each; none: the check passes.
 *  - orphans: every reference from one table to another, declared
 *    (REFERENCES) or not (event, ledger, account.lease_node,
 *    certificate.issuer_id), points at an existing row;
 *  - ledger: an account's balance is the sum of its deposit, debit and
 *    refund rows, a contract's units the sum of its unit_credit and
 *    unit_debit rows (ledger.c writes both in one transaction);
 *  - serials: unique per issuer, compared without regard to case (the
 *    schema's UNIQUE compares them as written);
 *  - states: every order, recipient, certificate, pass, DCV and
 *    organization request state is a known one; an issued recipient has
 *    an issued certificate with its DER; a revoked certificate has its
 *    reason and was issued; every revocation hit names a revoked
 *    certificate; orders and recipients belong to their batch's account;
 *  - CRLs: one counter numbers every issuer's and shard's CRLs: numbers
 *    are distinct, the counter (meta crl_number) is at least the highest
 *    (the next CRL of any shard gets a greater number), thisUpdate does
 *    not go back (two CRLs in one second share it) and nextUpdate is
 *    after it.
 * Failure policy: read only; a database error ends the run (-1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "db.h"
#include "store.h"
#include "store_dbcheck.h"

#define SHOWN	5		/* rows described per failed check */

/* child.col refers to parent.id; label: how a child row is named. */
static const struct {
	const char	*child, *col, *parent, *label;
} refs[] = {
	{ "contract", "account_id", "account", NULL },
	{ "organization", "account_id", "account", NULL },
	{ "org_request", "org_id", "organization", NULL },
	{ "domain", "org_id", "organization", NULL },
	{ "dcv", "domain_id", "domain", NULL },
	{ "dcv", "account_id", "account", NULL },
	{ "mailbox", "account_id", "account", NULL },
	{ "batch", "account_id", "account", NULL },
	{ "input", "account_id", "account", NULL },
	{ "input", "batch_id", "batch", NULL },
	{ "orders", "batch_id", "batch", NULL },
	{ "orders", "org_id", "organization", NULL },
	{ "orders", "contract_id", "contract", NULL },
	{ "orders", "account_id", "account", NULL },
	{ "recipient", "order_id", "orders", NULL },
	{ "recipient", "account_id", "account", NULL },
	{ "pass", "batch_id", "batch", NULL },
	{ "certificate", "recipient_id", "recipient", NULL },
	{ "certificate", "pass_id", "pass", NULL },
	{ "certificate", "issuer_id", "issuer", NULL },
	{ "event", "batch_id", "batch", NULL },
	{ "event", "order_id", "orders", NULL },
	{ "event", "recipient_id", "recipient", NULL },
	{ "ledger", "account_id", "account", NULL },
	{ "ledger", "contract_id", "contract", NULL },
	{ "ledger", "batch_id", "batch", NULL },
	{ "ledger", "order_id", "orders", NULL },
	{ "ledger", "recipient_id", "recipient", NULL },
	{ "revocation_doc", "account_id", "account", NULL },
	{ "revoke_request", "doc_id", "revocation_doc", NULL },
	{ "revoke_request", "account_id", "account", NULL },
	{ "revoke_hit", "request_id", "revoke_request",
	    "c.request_id || '/' || c.certificate_id" },
	{ "revoke_hit", "certificate_id", "certificate",
	    "c.request_id || '/' || c.certificate_id" },
	{ "portal_token", "recipient_id", "recipient", NULL },
	{ "portal_token", "certificate_id", "certificate", NULL },
	{ "crl_shard_state", "issuer_id", "issuer",
	    "c.issuer_id || '/' || c.shard" },
	{ "account", "lease_node", "node", NULL },
};

#define ORDER_STATES	"('new', 'approved', 'issued', 'waiting_org'," \
			" 'waiting_dcv', 'waiting_csr', 'waiting_funds'," \
			" 'rejected', 'cancelled')"

/* The other checks: name and the query listing what is wrong. */
static const struct {
	const char	*name, *sql;
} checks[] = {
	{ "ledger_balance",
	  "SELECT 'account ' || a.id || ' (' || a.name || '): balance ' ||"
	  " a.balance || ', ledger sum ' || COALESCE(s.total, 0)"
	  " FROM account a LEFT JOIN (SELECT account_id, sum(amount) AS total"
	  " FROM ledger WHERE kind IN ('deposit', 'debit', 'refund')"
	  " GROUP BY account_id) s ON s.account_id = a.id"
	  " WHERE a.balance <> COALESCE(s.total, 0) ORDER BY a.id" },
	{ "ledger_units",
	  "SELECT 'contract ' || c.id || ' (' || c.ref || '): units ' ||"
	  " c.units || ', ledger sum ' || COALESCE(s.total, 0)"
	  " FROM contract c LEFT JOIN (SELECT contract_id, sum(amount) AS total"
	  " FROM ledger WHERE kind IN ('unit_credit', 'unit_debit')"
	  " GROUP BY contract_id) s ON s.contract_id = c.id"
	  " WHERE c.units <> COALESCE(s.total, 0) ORDER BY c.id" },
	{ "ledger_accounts",
	  "SELECT 'ledger ' || l.id || ': contract ' || l.contract_id ||"
	  " ' is account ' || c.account_id || '''s, the row account ' ||"
	  " l.account_id || '''s' FROM ledger l JOIN contract c"
	  " ON c.id = l.contract_id WHERE c.account_id <> l.account_id"
	  " ORDER BY l.id" },
	{ "serial_unique",
	  "SELECT 'issuer ' || issuer_id || ' serial ' || upper(serial) ||"
	  " ': ' || count(*) || ' certificates' FROM certificate"
	  " GROUP BY issuer_id, upper(serial) HAVING count(*) > 1"
	  " ORDER BY issuer_id, upper(serial)" },
	{ "order_state",
	  "SELECT 'order ' || id || ': ' || state FROM orders"
	  " WHERE state NOT IN " ORDER_STATES " ORDER BY id" },
	{ "recipient_state",
	  "SELECT 'recipient ' || id || ': ' || state FROM recipient"
	  " WHERE state NOT IN " ORDER_STATES " ORDER BY id" },
	{ "certificate_state",
	  "SELECT 'certificate ' || id || ': ' || state FROM certificate"
	  " WHERE state NOT IN ('signing', 'issued', 'superseded', 'void')"
	  " ORDER BY id" },
	{ "other_states",
	  "SELECT 'pass ' || id || ': ' || state FROM pass"
	  " WHERE state NOT IN ('open', 'written')"
	  " UNION ALL SELECT 'dcv ' || id || ': ' || state FROM dcv"
	  " WHERE state NOT IN ('open', 'used', 'expired', 'failed')"
	  " UNION ALL SELECT 'org_request ' || id || ': ' || state"
	  " FROM org_request WHERE state NOT IN ('open', 'used', 'locked',"
	  " 'expired')" },
	{ "order_recipients",
	  "SELECT 'order ' || o.id || ': no recipient' FROM orders o"
	  " WHERE NOT EXISTS (SELECT 1 FROM recipient r"
	  " WHERE r.order_id = o.id) ORDER BY o.id" },
	{ "issued_certificate",
	  "SELECT 'recipient ' || r.id || ': issued without an issued"
	  " certificate' FROM recipient r WHERE r.state = 'issued'"
	  " AND NOT EXISTS (SELECT 1 FROM certificate c WHERE"
	  " c.recipient_id = r.id AND c.state = 'issued' AND c.der IS NOT"
	  " NULL) ORDER BY r.id" },
	{ "certificate_der",
	  "SELECT 'certificate ' || id || ': ' || state || ' without DER'"
	  " FROM certificate WHERE state IN ('issued', 'superseded')"
	  " AND der IS NULL ORDER BY id" },
	{ "revoked_certificate",
	  "SELECT 'certificate ' || id || ': revoked while ' || state ||"
	  " CASE WHEN revoke_reason IS NULL THEN ', without a reason'"
	  " ELSE '' END FROM certificate WHERE revoked_at IS NOT NULL AND"
	  " (revoke_reason IS NULL OR state NOT IN ('issued', 'superseded'))"
	  " ORDER BY id" },
	{ "revocation_hits",
	  "SELECT 'revoke_hit ' || h.request_id || '/' || h.certificate_id ||"
	  " ': certificate not revoked' FROM revoke_hit h JOIN certificate c"
	  " ON c.id = h.certificate_id WHERE c.revoked_at IS NULL"
	  " ORDER BY h.request_id, h.certificate_id" },
	{ "account_of_rows",
	  "SELECT 'order ' || o.id || ': account ' || o.account_id ||"
	  " ', its batch''s ' || b.account_id FROM orders o JOIN batch b"
	  " ON b.id = o.batch_id WHERE o.account_id <> b.account_id"
	  " UNION ALL SELECT 'recipient ' || r.id || ': account ' ||"
	  " r.account_id || ', its order''s ' || o.account_id FROM recipient r"
	  " JOIN orders o ON o.id = r.order_id"
	  " WHERE r.account_id <> o.account_id" },
	{ "crl_numbers",
	  "SELECT 'crl number ' || number || ': shards ' || count(*)"
	  " FROM crl_shard_state WHERE number IS NOT NULL GROUP BY number"
	  " HAVING count(*) > 1"
	  " UNION ALL SELECT 'crl_number counter ' || COALESCE((SELECT value"
	  " FROM meta WHERE key = 'crl_number'), 'missing') ||"
	  " ' is behind the highest published number ' || x.top FROM"
	  " (SELECT max(number) AS top FROM crl_shard_state) x"
	  " WHERE x.top > COALESCE((SELECT CAST(value AS BIGINT) FROM meta"
	  " WHERE key = 'crl_number'), 0)" },
	{ "crl_times",
	  "SELECT 'crl issuer ' || issuer_id || ' shard ' || shard ||"
	  " CASE WHEN number IS NULL THEN ': thisUpdate without a number'"
	  " WHEN this_update < prev_this_update THEN ': thisUpdate ' ||"
	  " this_update || ' before the previous ' || prev_this_update"
	  " ELSE ': nextUpdate ' || COALESCE(next_update, 0) ||"
	  " ' not after thisUpdate ' || this_update END"
	  " FROM crl_shard_state WHERE this_update IS NOT NULL AND"
	  " (number IS NULL OR this_update < prev_this_update OR"
	  " next_update IS NULL OR next_update <= this_update)"
	  " ORDER BY issuer_id, shard" },
};

/* Run sql, report its rows as check name; 1 failed, 0 passed, -1. */
static int
run_check(struct store *st, const char *name, const char *sql,
    dbcheck_fn fn, void *arg)
{
	struct dbstmt	*q;
	struct buf	 b = { 0 };
	const char	*t;
	long long	 n = 0;
	int		 step;

	if ((q = store_prep(st, sql, NULL)) == NULL)
		return -1;
	while ((step = db_step(q)) == DB_ROW) {
		if (n++ >= SHOWN)
			continue;
		t = (const char *)db_text(q, 0);
		buf_addf(&b, "%s%s", n > 1 ? "; " : "", t ? t : "?");
	}
	store_release(q);
	if (step != DB_DONE) {
		log_err("db check %s: %s", name, db_errmsg(st));
		buf_free(&b);
		return -1;
	}
	if (n > SHOWN)
		buf_addf(&b, "; and %lld more", n - SHOWN);
	buf_add(&b, "", 1);
	if (fn(arg, name, n, (const char *)b.p) == -1)
		n = -1;
	buf_free(&b);
	return n < 0 ? -1 : n > 0;
}

int
store_dbcheck(struct store *st, dbcheck_fn fn, void *arg)
{
	struct buf	 sql = { 0 };
	char		 name[128];
	size_t		 i;
	int		 r, failed = 0;

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		sql.len = 0;
		buf_addf(&sql, "SELECT '%s ' || %s || ': %s ' || c.%s"
		    " FROM %s c WHERE c.%s IS NOT NULL AND NOT EXISTS"
		    " (SELECT 1 FROM %s p WHERE p.id = c.%s)",
		    refs[i].child, refs[i].label ? refs[i].label : "c.id",
		    refs[i].col, refs[i].col, refs[i].child, refs[i].col,
		    refs[i].parent, refs[i].col);
		buf_add(&sql, "", 1);
		snprintf(name, sizeof(name), "orphans %s.%s -> %s",
		    refs[i].child, refs[i].col, refs[i].parent);
		if ((r = run_check(st, name, (char *)sql.p, fn, arg)) == -1)
			goto bad;
		failed += r;
	}
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if ((r = run_check(st, checks[i].name, checks[i].sql, fn,
		    arg)) == -1)
			goto bad;
		failed += r;
	}
	buf_free(&sql);
	return failed;
bad:
	buf_free(&sql);
	return -1;
}

int
store_db_version(const char *target, int *version, const char **engine,
    char *err, size_t errlen)
{
	struct store	*s;
	int		 rc = 0;

	s = xcalloc(1, sizeof(*s));
	s->drv = db_driver_for(target);
	*engine = s->drv->name;
	*version = 0;
	if (s->drv->open(s, target, err, errlen) == -1)
		rc = -1;
	else if (s->drv->version(s, version) == -1) {
		snprintf(err, errlen, "%s: schema version: %s", s->drv->name,
		    db_errmsg(s));
		rc = -1;
	}
	store_close(s);
	return rc;
}
