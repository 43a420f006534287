/*
 * store_issuer.c: the issuer table (the current and the retired issuing
 * CAs, the rollover's commit point) and the kept PKCS#12 of
 * server-generated keys (store_issuer.h).  issuer.c, ca_rollover.c and
 * p12keep.c say what these mean.
 *
 * Failure policy: a database error is logged and returned as -1; the
 * functions that are transaction boundaries roll back first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_issuer.h"

int
issuer_count(struct store *st, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM issuer",
	    NULL));
}

int
issuer_max_id(struct store *st, long long *id)
{
	return store_int(st, id, 0, store_prep(st, "SELECT"
	    " max(id) FROM issuer", NULL));
}

int
issuer_live_daemons(struct store *st, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM node"
	    " WHERE expires >= CAST(extract(epoch FROM clock_timestamp())"
	    " AS BIGINT)", NULL));
}

int
issuer_record_first(struct store *st, const struct issuer_new *n)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "INSERT INTO issuer (id, cert,"
	    " key_location, chain, crl_url, aia_url, state, not_after,"
	    " created) SELECT 1, ?, ?, ?, '', '', 'current', ?, ? WHERE NOT"
	    " EXISTS (SELECT 1 FROM issuer)", "bttii", n->cert, n->certlen,
	    n->key, n->chain, n->not_after, n->created)) == -1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
issuer_current(struct store *st, int *id, unsigned char **der, size_t *len)
{
	struct dbstmt	*q;
	int		 r;

	*id = 0;
	*der = NULL;
	if ((q = store_prep(st, "SELECT id, cert, crl_url, aia_url FROM"
	    " issuer WHERE state = 'current'", NULL)) == NULL)
		return -1;
	if ((r = db_step(q)) == DB_ROW) {
		*id = db_int(q, 0);
		*len = (size_t)db_bytes(q, 1);
		*der = xcalloc(1, *len + 1);
		memcpy(*der, db_blob(q, 1), *len);
	}
	store_release(q);
	return r == DB_ROW ? 0 : -1;
}

int
issuer_urls(struct store *st, int id, char **crl_url, char **aia_url)
{
	struct dbstmt	*q;
	int		 found = 0;

	*crl_url = *aia_url = NULL;
	if ((q = store_prep(st, "SELECT crl_url, aia_url FROM issuer WHERE"
	    " id = ?", "i", (long long)id)) == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		*crl_url = store_col_text(q, 0);
		*aia_url = store_col_text(q, 1);
		found = 1;
	}
	store_release(q);
	return found;
}

/* Run q (from store_prep) to its end, fn on each row read by get. */
static int
each_row(struct dbstmt *q, void (*get)(struct dbstmt *, struct issuer_row *),
    int (*fn)(void *, const struct issuer_row *), void *arg)
{
	struct issuer_row	 row;
	int			 s, rc = -1;

	if (q == NULL)
		return -1;
	while ((s = db_step(q)) == DB_ROW) {
		memset(&row, 0, sizeof(row));
		get(q, &row);
		if (fn(arg, &row) == -1)
			goto out;
	}
	if (s == DB_DONE)
		rc = 0;
out:
	store_release(q);
	return rc;
}

static void
get_retired(struct dbstmt *q, struct issuer_row *r)
{
	r->id = db_int(q, 0);
	r->crl_url = (const char *)db_text(q, 1);
	r->aia_url = (const char *)db_text(q, 2);
	r->crl_ended = !db_null(q, 3);
}

int
issuer_retired_each(struct store *st, long long now,
    int (*fn)(void *, const struct issuer_row *), void *arg)
{
	return each_row(store_prep(st, "SELECT id, crl_url, aia_url,"
	    " crl_ended FROM issuer WHERE state = 'retired' AND not_after > ?"
	    " ORDER BY id DESC", "i", now), get_retired, fn, arg);
}

static void
get_signer(struct dbstmt *q, struct issuer_row *r)
{
	r->id = db_int(q, 0);
	r->key = (const char *)db_text(q, 1);
}

int
issuer_signer_each(struct store *st, long long now,
    int (*fn)(void *, const struct issuer_row *), void *arg)
{
	return each_row(store_prep(st, "SELECT id, key_location FROM issuer"
	    " WHERE state = 'retired' AND not_after > ? AND crl_ended IS NULL"
	    " ORDER BY id", "i", now), get_signer, fn, arg);
}

static void
get_show(struct dbstmt *q, struct issuer_row *r)
{
	r->cert = db_blob(q, 5);
	r->certlen = (size_t)db_bytes(q, 5);
	r->not_after = db_int64(q, 3);
	r->id = db_int(q, 0);
	r->state = (const char *)db_text(q, 1);
	r->crl_ended = !db_null(q, 4);
	r->key = (const char *)db_text(q, 2);
	r->crl_url = (const char *)db_text(q, 6);
}

int
issuer_each(struct store *st, int (*fn)(void *, const struct issuer_row *),
    void *arg)
{
	return each_row(store_prep(st, "SELECT id, state, key_location,"
	    " not_after, crl_ended, cert, crl_url FROM issuer ORDER BY id",
	    NULL), get_show, fn, arg);
}

int
issuer_rollover_commit(struct store *st, int cur, const char *oldkey,
    const struct issuer_new *n)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "UPDATE issuer SET state ="
	    " 'retired', key_location = ? WHERE id = ?", "ti", oldkey,
	    (long long)cur)) == -1 ||
	    store_done(st, store_prep(st, "INSERT INTO issuer (id, cert,"
	    " key_location, chain, crl_url, aia_url, state, not_after,"
	    " created) VALUES (?, ?, ?, ?, ?, ?, 'current', ?, ?)",
	    "ibttttii", (long long)n->id, n->cert, n->certlen, n->key,
	    n->chain, n->crl_url, n->aia_url, n->not_after,
	    n->created)) == -1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
p12keep_due(struct store *st, long long cutoff, int max,
    struct p12keep_due *k)
{
	struct dbstmt	*q;
	int		 n = 0;

	q = store_prep(st, "SELECT c.id, c.recipient_id, o.id, o.batch_id,"
	    " c.serial FROM certificate c INDEXED BY certificate_p12_kept"
	    " JOIN recipient r ON r.id = c.recipient_id JOIN orders o ON"
	    " o.id = r.order_id WHERE c.p12 IS NOT NULL AND c.created <= ?"
	    " ORDER BY c.created LIMIT ?", "ii", cutoff, (long long)max);
	if (q == NULL)
		return -1;
	while (n < max && db_step(q) == DB_ROW) {
		k[n].cid = db_int64(q, 0);
		k[n].rid = db_int64(q, 1);
		k[n].oid = db_int64(q, 2);
		k[n].bid = db_int64(q, 3);
		k[n].serial = store_col_text(q, 4);
		n++;
	}
	if (store_release(q) != DB_OK) {
		while (n > 0)
			free(k[--n].serial);
		return -1;
	}
	return n;
}

int
p12keep_purge(struct store *st, long long cid, long long now)
{
	return store_done(st, store_prep(st, "UPDATE certificate SET"
	    " p12 = NULL, p12_password = NULL, p12_purged_at = ?"
	    " WHERE id = ?", "ii", now, cid));
}
