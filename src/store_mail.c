/*
 * store_mail.c: the certificate messages in the store (store_mail.h).
 * A piece of messages is read at most a few hundred rows at a time, in
 * id order, so a batch of any size is gone through in flat memory.
 * Failure policy: a database error is logged and returned (-1); the
 * caller rolls back and the same messages are written again next time.
 */
#include <stdio.h>
#include <string.h>

#include "extern.h"
#include "store.h"
#include "store_mail.h"

/* mail_certs_load's selections, over certificate c. */
static const struct {
	const char	*cond;
	int		 nparam;
} sels[] = {
	[MAIL_OF_PASS] = { "c.pass_id = ?", 1 },
	[MAIL_STUCK] = { "c.stuck IS NOT NULL AND c.recipient_id IN (SELECT"
	    " r.id FROM recipient r WHERE r.id > 0"
	    STORE_HELD("r.account_id") ")", 2 },
	[MAIL_ID_RANGE] = { "c.id >= ? AND c.id <= ?", 2 },
};

struct load {
	struct cert_row	*rows;
	size_t		 max, *n;
};

/* Keep the row: its allocations move to the array. */
static int
load_row(void *arg, struct cert_row *r)
{
	struct load	*l = arg;

	if (*l->n >= l->max)
		return -1;
	l->rows[(*l->n)++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

int
mail_certs_load(struct store *st, enum mail_sel sel, long long a,
    long long b, long long after, struct cert_row *rows, size_t max,
    size_t *n)
{
	struct load	 l = { rows, max, n };
	long long	 bind[3];
	char		 sql[1536];
	int		 np = sels[sel].nparam;

	*n = 0;
	snprintf(sql, sizeof(sql), "%s WHERE %s AND c.id > ? AND c.state IN"
	    " ('issued', 'superseded') AND c.mailed = 0 ORDER BY c.id"
	    " LIMIT %d", cert_cols, sels[sel].cond, (int)max);
	bind[0] = a;
	bind[1] = b;
	if (sel == MAIL_STUCK)
		bind[0] = bind[1] = st->node;
	bind[np] = after;
	return cert_rows_query(st, sql, np + 1, bind, load_row, &l);
}

int
mail_stuck_count(struct store *st, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM"
	    " certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " WHERE c.stuck IS NOT NULL AND c.mailed = 0"
	    STORE_HELD("r.account_id"), "ii", st->node, st->node));
}

int
cert_created(struct store *st, long long cid, long long def,
    long long *created)
{
	return store_int(st, created, def, store_prep(st, "SELECT created"
	    " FROM certificate WHERE id = ?", "i", cid));
}

int
mail_link_add(struct store *st, const char *kind, const char *hash,
    const struct cert_row *r, long long created, long long expires)
{
	return store_done(st, store_prep(st, "INSERT INTO portal_token (kind,"
	    " token_hash, recipient_id, certificate_id, created, expires)"
	    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING",
	    "ttiiii", kind, hash, r->rid, r->cid, created, expires));
}

int
cert_mark_stuck(struct store *st, const struct cert_row *r, const char *why,
    const char *detail)
{
	if (store_done(st, store_prep(st, "UPDATE certificate"
	    " SET stuck = ?, stuck_detail = ?, stuck_since ="
	    " COALESCE(stuck_since, ?) WHERE id = ?", "ttii",
	    why, detail, (long long)clock_now(), r->cid)) == -1)
		return -1;
	return store_event(st, "publish_failed", r->bid, r->oid, r->rid, NULL,
	    NULL, why, detail);
}

int
cert_mark_mailed(struct store *st, const struct cert_row *r)
{
	if (store_done(st, store_prep(st, "UPDATE certificate SET"
	    " mailed = 1, p12_password = NULL, stuck = NULL,"
	    " stuck_detail = NULL, stuck_since = NULL WHERE id = ?",
	    "i", r->cid)) == -1)
		return -1;
	if (r->stuck == NULL)
		return 0;
	if (store_event(st, "publish_recovered", r->bid, r->oid, r->rid,
	    NULL, NULL, r->stuck, NULL) == -1)
		return -1;
	return store_done(st, store_prep(st, "UPDATE batch SET dirty = 1"
	    " WHERE id = ?", "i", r->bid));
}
