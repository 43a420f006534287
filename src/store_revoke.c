/*
 * store_revoke.c: the revocation records of the store: a certificate's
 * CRL entry and shard, the certificates selectors and keys match,
 * compromised keys, revocation requests, their hits (what each revoked
 * and whether its message went out), revocation documents and the
 * bookkeeping of their results.  The queries that select certificates
 * start from the selective side; their text is tuned (see revoke_match),
 * keep it as it is.
 * Failure policy: a database error is logged by store.c and returned as
 * -1; the caller rolls back.  Nothing here begins or commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "extern.h"

#include "store.h"
#include "store_revoke.h"

void
revoke_ids_free(struct revoke_ids *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Append every first column of q (released) to s; 0 or -1. */
static int
ids_collect(struct dbstmt *q, struct revoke_ids *s)
{
	long long	*nv;

	if (q == NULL)
		return -1;
	while (db_step(q) == DB_ROW) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			if ((nv = reallocarray(s->v, s->cap,
			    sizeof(*nv))) == NULL) {
				log_err("out of memory");
				abort();
			}
			s->v = nv;
		}
		s->v[s->n++] = db_int64(q, 0);
	}
	return store_release(q) == DB_OK ? 0 : -1;
}

static const char *
col(struct dbstmt *q, int i)
{
	return (const char *)db_text(q, i);
}

/* ---- one certificate ---- */

int
revoke_cert_get(struct store *st, long long cert_id, struct revoke_cert *c)
{
	struct dbstmt	*q;
	int		 found = 0;

	memset(c, 0, sizeof(*c));
	c->issuer = 1;
	q = store_prep(st, "SELECT c.crl_shard, c.revoke_reason,"
	    " c.revoked_at IS NOT NULL, r.id, o.id, o.batch_id, c.issuer_id"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " WHERE c.id = ? AND c.state = 'issued'", "i", cert_id);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		found = 1;
		c->shard = db_int64(q, 0);
		c->reason = store_col_text(q, 1);
		c->revoked = db_int(q, 2);
		c->rcpt = db_int64(q, 3);
		c->order = db_int64(q, 4);
		c->batch = db_int64(q, 5);
		c->issuer = db_int64(q, 6);
	}
	if (store_release(q) != DB_OK) {
		revoke_cert_free(c);
		return -1;
	}
	return found;
}

void
revoke_cert_free(struct revoke_cert *c)
{
	free(c->reason);
	c->reason = NULL;
}

int
revoke_cert_mark(struct store *st, long long cert_id, time_t at,
    const char *reason, time_t invalidity)
{
	return store_done(st, store_prep(st, "UPDATE certificate SET"
	    " revoked_at = ?, revoke_reason = ?, invalidity_at = NULLIF(?, 0)"
	    " WHERE id = ?", "itii", (long long)at, reason,
	    (long long)invalidity, cert_id));
}

int
revoke_cert_rereason(struct store *st, long long cert_id, const char *reason)
{
	return store_done(st, store_prep(st, "UPDATE certificate SET"
	    " revoke_reason = ? WHERE id = ?", "ti", reason, cert_id));
}

int
revoke_shard_dirty(struct store *st, long long issuer, long long shard)
{
	if (store_done(st, store_prep(st, "INSERT INTO crl_shard_state"
	    " (issuer_id, shard, dirty) VALUES (?, ?, 1) ON CONFLICT DO NOTHING",
	    "ii", issuer, shard)) == -1 || store_done(st, store_prep(st,
	    "UPDATE crl_shard_state SET dirty = 1 WHERE issuer_id = ? AND"
	    " shard = ?", "ii", issuer, shard)) == -1)
		return -1;
	return 0;
}

/* ---- what a request selects ---- */

int
revoke_match(struct store *st, const char *kind, long long acct,
    const char *value, const char *batch, time_t now, struct revoke_ids *ids)
{
	struct dbstmt	*q;

#define SEL "SELECT c.id FROM certificate c" \
	" JOIN recipient r ON r.id = c.recipient_id" \
	" JOIN orders o ON o.id = r.order_id" \
	" JOIN batch b ON b.id = o.batch_id WHERE c.state = 'issued'" \
	" AND c.not_after > ?1 AND (?2 = 0 OR b.account_id = ?2) AND "
	/* Joined from the selective side (CROSS JOIN fixes SQLite's join
	 * order): scanning the certificates for ORDER BY c.id costs a pass
	 * over the whole table per selector. */
	if (strcmp(kind, "email") == 0)
		q = store_prep(st, "SELECT c.id FROM recipient r"
		    " CROSS JOIN certificate c ON c.recipient_id = r.id"
		    " JOIN orders o ON o.id = r.order_id"
		    " JOIN batch b ON b.id = o.batch_id WHERE c.state = 'issued'"
		    " AND c.not_after > ?1 AND (?2 = 0 OR b.account_id = ?2)"
		    " AND lower(r.email) = lower(?3) ORDER BY c.id", "iit",
		    (long long)now, acct, value);
	else if (strcmp(kind, "order") == 0)
		q = store_prep(st, "SELECT c.id FROM batch b"
		    " CROSS JOIN orders o ON o.batch_id = b.id"
		    " CROSS JOIN recipient r ON r.order_id = o.id"
		    " CROSS JOIN certificate c ON c.recipient_id = r.id"
		    " WHERE c.state = 'issued' AND c.not_after > ?1"
		    " AND (?2 = 0 OR b.account_id = ?2) AND b.ext_id = ?3"
		    " AND o.ext_id = ?4 ORDER BY c.id", "iitt", (long long)now,
		    acct, batch, value);
	else if (strcmp(kind, "serial") == 0)
		q = store_prep(st, SEL "c.serial = ?3", "iit", (long long)now,
		    acct, value);
	else
		q = NULL;
#undef SEL
	return ids_collect(q, ids);
}

int
revoke_key_match(struct store *st, const char *spki, time_t now,
    struct revoke_ids *ids)
{
	return ids_collect(store_prep(st, "SELECT id FROM certificate WHERE"
	    " spki_sha256 = ? AND state = 'issued' AND not_after > ? AND"
	    " (revoked_at IS NULL OR revoke_reason != 'keyCompromise')"
	    " ORDER BY id", "ti", spki, (long long)now), ids);
}

int
revoke_cert_account(struct store *st, long long cert_id, long long *acct)
{
	return store_int(st, acct, 0, store_prep(st, "SELECT b.account_id"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id WHERE c.id = ?", "i",
	    cert_id));
}

int
revoke_cert_spki(struct store *st, long long cert_id, char **spki)
{
	struct dbstmt	*q;

	*spki = NULL;
	q = store_prep(st, "SELECT spki_sha256 FROM certificate WHERE"
	    " id = ?", "i", cert_id);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW)
		*spki = store_col_text(q, 0);
	store_release(q);
	return 0;
}

int
revoke_cert_holder(struct store *st, long long cert_id,
    struct revoke_holder *h)
{
	struct dbstmt	*q;
	int		 found = 0;

	memset(h, 0, sizeof(*h));
	q = store_prep(st, "SELECT r.id, r.state, o.id, o.batch_id, r.email"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id WHERE c.id = ?", "i",
	    cert_id);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		h->rcpt = db_int64(q, 0);
		h->state = store_col_text(q, 1);
		h->order = db_int64(q, 2);
		h->batch = db_int64(q, 3);
		h->email = store_col_text(q, 4);
		found = h->state != NULL;
	}
	if (store_release(q) != DB_OK) {
		revoke_holder_free(h);
		return -1;
	}
	return found;
}

void
revoke_holder_free(struct revoke_holder *h)
{
	free(h->state);
	free(h->email);
	h->state = h->email = NULL;
}

int
revoke_key_block(struct store *st, const char *spki, const char *why)
{
	return store_done(st, store_prep(st, "INSERT INTO compromised_key"
	    " (spki_sha256, reason, added) VALUES (?, ?, ?)"
	    " ON CONFLICT DO NOTHING",
	    "tti", spki, why, (long long)clock_now()));
}

/* ---- requests ---- */

long long
revoke_request_insert(struct store *st, const struct revoke_req *r,
    time_t now)
{
	if (store_done(st, store_prep(st, "INSERT INTO revoke_request (doc_id,"
	    " account_id, line, kind, value, batch_ext, reason, at, state,"
	    " created) VALUES (NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?,"
	    " ?, ?, ?, NULLIF(?, 0), 'pending', ?)", "iiitttti" "i",
	    r->doc_id, r->account_id, (long long)r->line, r->kind, r->value,
	    r->batch_ext, r->reason, (long long)r->at, (long long)now)) == -1)
		return -1;
	return store_last_id(st);
}

int
revoke_request_get(struct store *st, long long id, struct revoke_request *r)
{
	struct dbstmt	*q;

	memset(r, 0, sizeof(*r));
	q = store_prep(st, "SELECT COALESCE(doc_id, 0),"
	    " COALESCE(account_id, 0), kind, value, batch_ext, reason,"
	    " COALESCE(at, 0), state FROM revoke_request WHERE id = ?", "i",
	    id);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		r->doc = db_int64(q, 0);
		r->account = db_int64(q, 1);
		r->kind = store_col_text(q, 2);
		r->value = store_col_text(q, 3);
		r->batch = store_col_text(q, 4);
		r->reason = store_col_text(q, 5);
		r->at = (time_t)db_int64(q, 6);
		r->state = store_col_text(q, 7);
	}
	if (store_release(q) != DB_OK) {
		revoke_request_free(r);
		return -1;
	}
	return r->state != NULL;
}

void
revoke_request_free(struct revoke_request *r)
{
	free(r->kind);
	free(r->value);
	free(r->batch);
	free(r->reason);
	free(r->state);
	memset(r, 0, sizeof(*r));
}

int
revoke_request_finish(struct store *st, long long id, const char *to,
    long long seq, time_t now)
{
	return store_done(st, store_prep(st, "UPDATE revoke_request SET"
	    " state = ?, seq = NULLIF(?, 0), done_at = ? WHERE id = ?", "tiii",
	    to, seq, (long long)now, id));
}

int
revoke_request_pending(struct store *st, long long id, long long *doc)
{
	long long	 d = -1;

	if (store_int(st, &d, -1, store_prep(st, "SELECT"
	    " COALESCE(doc_id, 0) FROM revoke_request WHERE id = ? AND"
	    " state = 'pending'", "i", id)) == -1)
		return -1;
	if (d == -1)
		return 0;
	*doc = d;
	return 1;
}

int
revoke_request_withdrawn(struct store *st, long long id, long long seq,
    time_t now)
{
	return store_done(st, store_prep(st, "UPDATE revoke_request SET state ="
	    " 'withdrawn', seq = NULLIF(?, 0), done_at = ? WHERE id = ?",
	    "iii", seq, (long long)now, id));
}

int
revoke_requests_due(struct store *st, time_t now, struct revoke_ids *ids)
{
	return ids_collect(store_prep(st, "SELECT id FROM revoke_request WHERE"
	    " state = 'pending' AND at <= ? ORDER BY at, id", "i",
	    (long long)now), ids);
}

int
revoke_request_state(struct store *st, long long id, char **state)
{
	struct dbstmt	*q;

	*state = NULL;
	q = store_prep(st, "SELECT state FROM revoke_request WHERE id = ?",
	    "i", id);
	if (q != NULL && db_step(q) == DB_ROW)
		*state = store_col_text(q, 0);
	store_release(q);
	return q == NULL ? -1 : 0;
}

int
revoke_order_accounts(struct store *st, const char *batch_ext,
    const char *order_ext, long long *n)
{
	return store_int(st, n, 0, store_prep(st,
	    "SELECT count(DISTINCT b.account_id) FROM batch b"
	    " JOIN orders o ON o.batch_id = b.id WHERE"
	    " b.ext_id = ? AND o.ext_id = ?", "tt", batch_ext, order_ext));
}

int
revoke_requests_pending(struct store *st,
    int (*fn)(void *, const struct revoke_request_row *), void *arg)
{
	struct revoke_request_row	 r;
	struct dbstmt			*q;
	int				 rc = 0;

	q = store_prep(st, "SELECT q.id, COALESCE(a.name, '*'),"
	    " q.kind, q.value, COALESCE(q.batch_ext, ''), q.reason,"
	    " q.at, COALESCE(d.ext_id, 'certspool revoke')"
	    " FROM revoke_request q"
	    " LEFT JOIN account a ON a.id = q.account_id"
	    " LEFT JOIN revocation_doc d ON d.id = q.doc_id"
	    " WHERE q.state = 'pending' ORDER BY q.at, q.id", NULL);
	if (q == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = db_int64(q, 0);
		r.account = col(q, 1);
		r.kind = col(q, 2);
		r.value = col(q, 3);
		r.batch = col(q, 4);
		r.reason = col(q, 5);
		r.at = (time_t)db_int64(q, 6);
		r.from = col(q, 7);
		r.state = "pending";
		rc = fn(arg, &r) != 0 ? -1 : 0;
	}
	if (store_release(q) != DB_OK)
		rc = -1;
	return rc;
}

/* ---- what a request revoked ---- */

int
revoke_hit_add(struct store *st, long long req, long long cert_id,
    int listed)
{
	return store_done(st, store_prep(st, "INSERT INTO revoke_hit"
	    " (request_id, certificate_id, listed) VALUES (?, ?, ?)"
	    " ON CONFLICT DO NOTHING", "iii",
	    req, cert_id, (long long)listed));
}

int
revoke_hit_count(struct store *st, long long req, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*)"
	    " FROM revoke_hit WHERE request_id = ?", "i", req));
}

/* Call fn for each row of q (released), as row() reads it. */
static int
hit_rows(struct dbstmt *q, void (*row)(struct dbstmt *,
    struct revoke_hit_row *), int (*fn)(void *, const struct revoke_hit_row *),
    void *arg)
{
	struct revoke_hit_row	 h;
	int			 rc = 0;

	if (q == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW) {
		memset(&h, 0, sizeof(h));
		row(q, &h);
		rc = fn(arg, &h) != 0 ? -1 : 0;
	}
	if (store_release(q) != DB_OK)
		rc = -1;
	return rc;
}

static void
row_hits(struct dbstmt *q, struct revoke_hit_row *h)
{
	h->serial = col(q, 0);
	h->email = col(q, 1);
	h->account = col(q, 2);
	h->reason = col(q, 3);
	h->at = (time_t)db_int64(q, 4);
}

int
revoke_hits(struct store *st, long long req,
    int (*fn)(void *, const struct revoke_hit_row *), void *arg)
{
	return hit_rows(store_prep(st, "SELECT c.serial, r.email, a.name,"
	    " c.revoke_reason, c.revoked_at FROM revoke_hit h"
	    " JOIN certificate c ON c.id = h.certificate_id"
	    " JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " WHERE h.request_id = ? ORDER BY c.id", "i", req), row_hits, fn,
	    arg);
}

static void
row_listed(struct dbstmt *q, struct revoke_hit_row *h)
{
	h->serial = col(q, 0);
	h->email = col(q, 1);
	h->reason = col(q, 2);
	h->at = (time_t)db_int64(q, 3);
	h->invalidity = (time_t)db_int64(q, 4);
}

int
revoke_hits_listed(struct store *st, long long req,
    int (*fn)(void *, const struct revoke_hit_row *), void *arg)
{
	return hit_rows(store_prep(st, "SELECT c.serial, r.email,"
	    " c.revoke_reason, c.revoked_at, COALESCE(c.invalidity_at, 0)"
	    " FROM revoke_hit h"
	    " JOIN certificate c ON c.id = h.certificate_id"
	    " JOIN recipient r ON r.id = c.recipient_id"
	    " WHERE h.request_id = ? AND h.listed = 1 ORDER BY c.id", "i",
	    req), row_listed, fn, arg);
}

static void
row_unmailed(struct dbstmt *q, struct revoke_hit_row *h)
{
	h->req = db_int64(q, 0);
	h->cert = db_int64(q, 1);
	h->serial = col(q, 2);
	h->email = col(q, 3);
	h->add_emails = col(q, 4);
	h->order = col(q, 5);
	h->batch = col(q, 6);
	h->account = col(q, 7);
	h->reason = col(q, 8);
	h->at = (time_t)db_int64(q, 9);
}

int
revoke_hits_unmailed(struct store *st, long long req, long long cert,
    int limit, int (*fn)(void *, const struct revoke_hit_row *), void *arg)
{
	return hit_rows(store_prep(st, "SELECT h.request_id,"
	    " h.certificate_id, c.serial, r.email, o.add_emails, o.ext_id,"
	    " b.ext_id, a.name, c.revoke_reason, c.revoked_at"
	    " FROM revoke_hit h"
	    " JOIN certificate c ON c.id = h.certificate_id"
	    " JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " WHERE h.mailed = 0 AND (h.request_id, h.certificate_id)"
	    " > (?, ?) ORDER BY h.request_id, h.certificate_id LIMIT ?",
	    "iii", req, cert, (long long)limit), row_unmailed, fn, arg);
}

int
revoke_hit_mailed(struct store *st, long long req, long long cert_id)
{
	return store_done(st, store_prep(st, "UPDATE revoke_hit SET"
	    " mailed = 1 WHERE request_id = ? AND certificate_id = ?",
	    "ii", req, cert_id));
}

static void
row_revoked_of(struct dbstmt *q, struct revoke_hit_row *h)
{
	h->serial = col(q, 0);
	h->email = col(q, 1);
	h->reason = col(q, 2);
	h->at = (time_t)db_int64(q, 3);
	h->order = col(q, 4);
}

int
revoke_revoked_of(struct store *st, const char *ext,
    int (*fn)(void *, const struct revoke_hit_row *), void *arg)
{
	return hit_rows(store_prep(st, "SELECT c.serial, r.email,"
	    " c.revoke_reason, c.revoked_at, o.ext_id FROM certificate c"
	    " JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " WHERE (b.ext_id = ?1 OR o.ext_id = ?1) AND"
	    " c.revoked_at IS NOT NULL ORDER BY c.id", "t", ext),
	    row_revoked_of, fn, arg);
}

/* ---- revocation documents and their results ---- */

int
revdoc_find(struct store *st, long long account, const char *ext,
    char **file, time_t *received)
{
	struct dbstmt	*q;
	int		 found = 0;

	*file = NULL;
	q = store_prep(st, "SELECT file_name, received FROM revocation_doc"
	    " WHERE account_id = ? AND ext_id = ?", "it", account, ext);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		*received = (time_t)db_int64(q, 1);
		*file = store_col_text(q, 0);
		found = 1;
	}
	if (store_release(q) != DB_OK) {
		free(*file);
		*file = NULL;
		return -1;
	}
	return found;
}

int
revdoc_batch_file(struct store *st, long long account, const char *ext,
    char **file)
{
	struct dbstmt	*q;
	int		 found = 0;

	*file = NULL;
	q = store_prep(st, "SELECT file_name FROM batch WHERE account_id = ?"
	    " AND ext_id = ?", "it", account, ext);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		*file = store_col_text(q, 0);
		found = 1;
	}
	if (store_release(q) != DB_OK) {
		free(*file);
		*file = NULL;
		return -1;
	}
	return found;
}

int
revdoc_add(struct store *st, long long account, const char *ext,
    const char *sha, const char *file, time_t now, const char *created,
    long long *doc_id)
{
	if (store_done(st, store_prep(st, "INSERT INTO revocation_doc"
	    " (account_id, ext_id, sha256, file_name, received, created)"
	    " VALUES (?, ?, ?, ?, ?, ?)", "ittti" "t", account, ext, sha,
	    file, (long long)now, created)) == -1)
		return -1;
	*doc_id = store_last_id(st);
	return 0;
}

int
revdoc_result_seq(struct store *st, long long doc, long long *seq)
{
	struct dbstmt	*q;
	long long	 s = 0, w = 0;

	q = store_prep(st, "SELECT seq, written FROM revocation_doc WHERE"
	    " id = ?", "i", doc);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		s = db_int64(q, 0);
		w = db_int64(q, 1);
	}
	if (store_release(q) != DB_OK || s == 0)
		return -1;
	if (w >= s) {
		s = w + 1;
		if (store_done(st, store_prep(st, "UPDATE revocation_doc SET"
		    " seq = ? WHERE id = ?", "ii", s, doc)) == -1)
			return -1;
	}
	*seq = s;
	return 0;
}

int
revdoc_items(struct store *st, long long doc, long long seq,
    int (*fn)(void *, const struct revoke_request_row *), void *arg)
{
	struct revoke_request_row	 r;
	struct dbstmt			*q;
	int				 rc = 0;

	/* Resolved in this seq, or still pending then. */
	q = store_prep(st, "SELECT id, kind, value, batch_ext, reason, state,"
	    " COALESCE(line, 0), COALESCE(at, 0), COALESCE(seq, 0)"
	    " FROM revoke_request WHERE doc_id = ?1 AND (seq = ?2 OR"
	    " state = 'pending' OR seq > ?2) ORDER BY id", "ii", doc, seq);
	if (q == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = db_int64(q, 0);
		r.kind = col(q, 1);
		r.value = col(q, 2);
		r.batch = col(q, 3);
		r.reason = col(q, 4);
		r.state = col(q, 5);
		r.line = db_int64(q, 6);
		r.at = (time_t)db_int64(q, 7);
		r.seq = db_int64(q, 8);
		rc = fn(arg, &r) != 0 ? -1 : 0;
	}
	if (store_release(q) != DB_OK)
		rc = -1;
	return rc;
}

int
revdoc_owed_next(struct store *st, long long after, struct revdoc_owed *d)
{
	struct dbstmt	*q;
	int		 got;

	memset(d, 0, sizeof(*d));
	q = store_prep(st, "SELECT d.id, d.ext_id, a.name, d.seq FROM"
	    " revocation_doc d JOIN account a ON a.id = d.account_id"
	    " WHERE d.written < d.seq AND d.id > ? ORDER BY d.id"
	    " LIMIT 1", "i", after);
	if (q == NULL)
		return -1;
	if ((got = db_step(q) == DB_ROW)) {
		d->doc = db_int64(q, 0);
		d->ext = store_col_text(q, 1);
		d->account = store_col_text(q, 2);
		d->seq = db_int64(q, 3);
	}
	store_release(q);
	return got;
}

void
revdoc_owed_free(struct revdoc_owed *d)
{
	free(d->ext);
	free(d->account);
	d->ext = d->account = NULL;
}

int
revdoc_result_written(struct store *st, long long doc, long long seq)
{
	return store_done(st, store_prep(st, "UPDATE revocation_doc SET"
	    " written = ? WHERE id = ? AND seq = ?", "iii", seq, doc, seq));
}
