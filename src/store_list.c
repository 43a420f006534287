/*
 * store_list.c: the queries behind the command line's read-only views
 * (store_list.h): what accounts, organizations and domains exist, where
 * their validations stand, and how batches and orders stand (status).
 * The rows are streamed to the caller's function, never collected.
 * Failure policy: nothing here writes; a database error is logged by
 * store.c and returned as -1, and the command says so and exits 1.
 */
#include <stdio.h>


#include "extern.h"
#include "store.h"
#include "store_list.h"

static const char *
col_text(struct dbstmt *q, int col)
{
	return (const char *)db_text(q, col);
}

/* The end of a walk: q given back; -1 if fn stopped it or a step
 * failed, else 0. */
static int
walk_end(struct dbstmt *q, int stopped)
{
	if (store_release(q) != DB_OK || stopped)
		return -1;
	return 0;
}

/* A validation's time (column at, NULL if never) and method. */
static void
validated_get(struct dbstmt *q, int at, int method, struct validated *v)
{
	v->present = !db_null(q, at);
	v->at = db_int64(q, at);
	v->method = col_text(q, method);
}

int
account_list(struct store *st, int (*fn)(void *, const struct account_row *),
    void *arg)
{
	struct account_row	 r;
	struct dbstmt		*q;
	int			 stop;

	if ((q = store_prep(st, "SELECT a.id, a.name, a.balance,"
	    " (SELECT count(*) FROM contract c WHERE c.account_id = a.id),"
	    " (SELECT count(*) FROM organization o WHERE o.account_id = a.id),"
	    " a.created FROM account a ORDER BY a.name", NULL)) == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.id = db_int64(q, 0);
		r.name = col_text(q, 1);
		r.balance = db_int64(q, 2);
		r.contracts = db_int(q, 3);
		r.organizations = db_int(q, 4);
		r.created = db_int64(q, 5);
		stop = fn(arg, &r) == -1;
	}
	return walk_end(q, stop);
}

int
org_list(struct store *st, long long now, long long aid,
    int (*fn)(void *, const struct org_list_row *), void *arg)
{
	struct org_list_row	 r;
	struct dbstmt	*q;
	int		 stop;

	if ((q = store_prep(st, "SELECT o.id, a.name, o.name, o.country,"
	    " o.org_identifier, o.validated_at, o.validation_method,"
	    " (SELECT r.id FROM org_request r WHERE r.org_id = o.id AND"
	    "  r.state = 'open' AND r.expires > ?1 ORDER BY r.id DESC LIMIT 1),"
	    " (SELECT r.expires FROM org_request r WHERE r.org_id = o.id AND"
	    "  r.state = 'open' AND r.expires > ?1 ORDER BY r.id DESC LIMIT 1)"
	    " FROM organization o JOIN account a ON a.id = o.account_id"
	    " WHERE ?2 = 0 OR a.id = ?2 ORDER BY a.name, o.id", "ii", now,
	    aid)) == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.id = db_int64(q, 0);
		r.account = col_text(q, 1);
		r.name = col_text(q, 2);
		r.country = col_text(q, 3);
		r.org_identifier = col_text(q, 4);
		validated_get(q, 5, 6, &r.v);
		r.request = db_null(q, 7) ? 0 :
		    db_int64(q, 7);
		r.request_expires = db_int64(q, 8);
		stop = fn(arg, &r) == -1;
	}
	return walk_end(q, stop);
}

int
domain_list(struct store *st, long long now, long long org, long long acct,
    int (*fn)(void *, const struct domain_row *), void *arg)
{
	struct domain_row	 r;
	struct dbstmt		*q;
	int			 stop;

	if ((q = store_prep(st, "SELECT d.id, d.name, o.id, o.name,"
	    " a.name, d.validated_at, d.method,"
	    " (SELECT v.method FROM dcv v WHERE v.domain_id = d.id AND"
	    "  v.state = 'open' AND v.expires > ?1 ORDER BY v.id DESC LIMIT 1),"
	    " (SELECT v.expires FROM dcv v WHERE v.domain_id = d.id AND"
	    "  v.state = 'open' AND v.expires > ?1 ORDER BY v.id DESC LIMIT 1)"
	    " FROM domain d JOIN organization o ON o.id = d.org_id"
	    " JOIN account a ON a.id = o.account_id"
	    " WHERE (?2 = 0 OR o.id = ?2) AND (?3 = 0 OR a.id = ?3)"
	    " ORDER BY a.name, o.id, d.name", "iii", now, org, acct)) == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.id = db_int64(q, 0);
		r.name = col_text(q, 1);
		r.org_id = db_int64(q, 2);
		r.org_name = col_text(q, 3);
		r.account = col_text(q, 4);
		validated_get(q, 5, 6, &r.v);
		r.dcv_method = col_text(q, 7);
		r.dcv_expires = db_int64(q, 8);
		stop = fn(arg, &r) == -1;
	}
	return walk_end(q, stop);
}

int
validations_lapsing(struct store *st, long long org_reuse,
    long long domain_reuse, long long from, long long until,
    int (*fn)(void *, const struct lapse_row *), void *arg)
{
	struct lapse_row	 r;
	struct dbstmt		*q;
	int			 stop;

	q = store_prep(st, "SELECT kind, account, org, domain, at, lapse"
	    " FROM ("
	    " SELECT 'organization' AS kind, a.name AS account, o.name AS org,"
	    "  '-' AS domain, o.validated_at AS at, o.validated_at + ? AS lapse"
	    "  FROM organization o JOIN account a ON a.id = o.account_id"
	    "  WHERE o.validated_at IS NOT NULL"
	    " UNION ALL"
	    " SELECT 'domain', a.name, o.name, d.name, d.validated_at,"
	    "  d.validated_at + ?"
	    "  FROM domain d JOIN organization o ON o.id = d.org_id"
	    "  JOIN account a ON a.id = o.account_id"
	    "  WHERE d.validated_at IS NOT NULL) v"
	    " WHERE lapse > ? AND lapse <= ?"
	    " ORDER BY lapse, kind, account, org, domain", "iiii", org_reuse,
	    domain_reuse, from, until);
	if (q == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.kind = col_text(q, 0);
		r.account = col_text(q, 1);
		r.org = col_text(q, 2);
		r.domain = col_text(q, 3);
		r.at = db_int64(q, 4);
		r.lapse = db_int64(q, 5);
		stop = fn(arg, &r) == -1;
	}
	return walk_end(q, stop);
}

int
status_batches(struct store *st,
    int (*fn)(void *, const struct batch_state_row *), void *arg)
{
	struct batch_state_row	 r;
	struct dbstmt		*q;
	int			 stop;

	q = store_prep(st, "SELECT a.name, b.ext_id, o.state,"
	    " count(*) FROM orders o JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " GROUP BY b.id, a.name, b.ext_id, o.state"
	    " ORDER BY b.id, o.state", NULL);
	if (q == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.account = col_text(q, 0);
		r.batch = col_text(q, 1);
		r.state = col_text(q, 2);
		r.orders = db_int(q, 3);
		stop = fn(arg, &r) == -1;
	}
	store_release(q);
	return stop ? -1 : 0;
}

int
status_recipients(struct store *st, const char *id,
    int (*fn)(void *, const struct status_row *), void *arg)
{
	struct status_row	 r;
	struct dbstmt		*q;
	int			 n = 0, stop;

	q = store_prep(st, "SELECT a.name, b.ext_id, o.ext_id, o.state,"
	    " COALESCE(o.reason, ''), r.email, r.state, COALESCE(r.reason, ''),"
	    " COALESCE(c.serial, '') FROM orders o"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " JOIN recipient r ON r.order_id = o.id"
	    " LEFT JOIN certificate c ON c.recipient_id = r.id AND"
	    " c.state = 'issued'"
	    " WHERE b.ext_id = ?1 OR o.ext_id = ?1 ORDER BY o.id, r.idx", "t",
	    id);
	if (q == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.account = col_text(q, 0);
		r.batch = col_text(q, 1);
		r.order = col_text(q, 2);
		r.order_state = col_text(q, 3);
		r.order_reason = col_text(q, 4);
		r.email = col_text(q, 5);
		r.rcpt_state = col_text(q, 6);
		r.rcpt_reason = col_text(q, 7);
		r.serial = col_text(q, 8);
		stop = fn(arg, &r) == -1;
		n++;
	}
	store_release(q);
	return stop ? -1 : n;
}

int
certs_stuck(struct store *st, const char *id,
    int (*fn)(void *, const struct stuck_row *), void *arg)
{
	struct stuck_row	 r;
	struct dbstmt		*q;
	int			 n = 0, stop;

	q = store_prep(st, "SELECT a.name, b.ext_id, o.ext_id, r.email,"
	    " c.stuck, c.stuck_since, COALESCE(c.stuck_detail, '')"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id JOIN batch b ON"
	    " b.id = o.batch_id JOIN account a ON a.id = b.account_id"
	    " WHERE c.stuck IS NOT NULL AND c.mailed = 0 AND (CAST(?1 AS TEXT) IS NULL OR"
	    " b.ext_id = ?1 OR o.ext_id = ?1) ORDER BY c.id", "t", id);
	if (q == NULL)
		return -1;
	stop = fn(arg, NULL) == -1;
	while (!stop && db_step(q) == DB_ROW) {
		r.account = col_text(q, 0);
		r.batch = col_text(q, 1);
		r.order = col_text(q, 2);
		r.email = col_text(q, 3);
		r.stuck = col_text(q, 4);
		r.since = db_int64(q, 5);
		r.detail = col_text(q, 6);
		stop = fn(arg, &r) == -1;
		n++;
	}
	store_release(q);
	return stop ? -1 : n;
}
