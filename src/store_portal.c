/*
 * store_portal.c: the recipient portal's queries (store_portal.h).
 * Tokens are found by (token_hash, kind): a pickup token is not a cert
 * token.  A token's certificate is read only together with its
 * recipient (c.recipient_id = the token's), so a token never reaches
 * another recipient's certificate.  A keygen token is used at most once
 * (used_at IS NULL in the update).
 * Failure policy: a database error is returned as -1 (web.c answers 503
 * and rolls back); nothing here commits.
 */
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_portal.h"

long long
portal_token_add(struct store *st, const char *kind, const char *hash,
    long long recipient_id, long long certificate_id, long long created,
    long long expires)
{
	if (store_done(st, store_prep(st, "INSERT INTO portal_token (kind,"
	    " token_hash, recipient_id, certificate_id, created, expires)"
	    " VALUES (?, ?, ?, nullif(?, 0), ?, ?)", "ttiiii", kind, hash,
	    recipient_id, certificate_id, created, expires)) == -1)
		return -1;
	return store_last_id(st);
}

int
portal_token_by_hash(struct store *st, const char *kind, const char *hash,
    struct portal_tok *t)
{
	struct dbstmt	*q;
	int		 rc;

	memset(t, 0, sizeof(*t));
	q = store_prep(st, "SELECT id, recipient_id,"
	    " coalesce(certificate_id, 0), created, expires,"
	    " coalesce(used_at, 0) FROM portal_token"
	    " WHERE token_hash = ? AND kind = ?", "tt", hash, kind);
	if (q == NULL)
		return -1;
	rc = db_step(q);
	if (rc == DB_ROW) {
		t->id = db_int64(q, 0);
		t->recipient_id = db_int64(q, 1);
		t->certificate_id = db_int64(q, 2);
		t->created = db_int64(q, 3);
		t->expires = db_int64(q, 4);
		t->used_at = db_int64(q, 5);
	}
	store_release(q);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : -1;
}

int
pickup_token_use(struct store *st, long long id, long long now,
    const char *peer)
{
	return store_done(st, store_prep(st, "UPDATE portal_token SET"
	    " used_at = ?, used_from = ? WHERE id = ?", "iti", now, peer, id));
}

int
keygen_token_use(struct store *st, long long id, long long now,
    const char *peer)
{
	return store_done(st, store_prep(st, "UPDATE portal_token SET"
	    " used_at = ?, used_from = ? WHERE id = ? AND used_at IS NULL",
	    "iti", now, peer, id));
}

int
pickup_load(struct store *st, const struct portal_tok *t, struct pickup *pk)
{
	struct dbstmt	*q;
	int		 rc;

	memset(pk, 0, sizeof(*pk));
	q = store_prep(st, "SELECT c.id, c.recipient_id, o.id, o.batch_id,"
	    " c.not_before, c.not_after, coalesce(c.p12_purged_at, 0),"
	    " coalesce(c.revoked_at, 0), c.p12 IS NOT NULL, c.serial, r.email,"
	    " coalesce((SELECT name FROM organization WHERE id = o.org_id),"
	    " o.organization) FROM certificate c JOIN recipient r ON r.id ="
	    " c.recipient_id JOIN orders o ON o.id = r.order_id"
	    " WHERE c.id = ? AND c.recipient_id = ?", "ii", t->certificate_id,
	    t->recipient_id);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		pk->cid = db_int64(q, 0);
		pk->rid = db_int64(q, 1);
		pk->oid = db_int64(q, 2);
		pk->bid = db_int64(q, 3);
		pk->not_before = db_int64(q, 4);
		pk->not_after = db_int64(q, 5);
		pk->purged_at = db_int64(q, 6);
		pk->revoked_at = db_int64(q, 7);
		pk->has_p12 = db_int(q, 8);
		pk->serial = store_col_text(q, 9);
		pk->email = store_col_text(q, 10);
		pk->org = store_col_text(q, 11);
	}
	store_release(q);
	if (rc == DB_ROW)
		return pk->serial != NULL && pk->email != NULL ? 1 : -1;
	return rc == DB_DONE ? 0 : -1;
}

void
pickup_free(struct pickup *pk)
{
	free(pk->serial);
	free(pk->email);
	free(pk->org);
	memset(pk, 0, sizeof(*pk));
}

int
pickup_p12(struct store *st, long long cid, unsigned char **p12,
    size_t *len)
{
	struct dbstmt	*q;
	int		 found = 0;

	*p12 = NULL;
	*len = 0;
	if ((q = store_prep(st, "SELECT p12 FROM certificate WHERE id = ? AND"
	    " p12 IS NOT NULL", "i", cid)) == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		*len = (size_t)db_bytes(q, 0);
		if (*len > 0) {
			*p12 = xcalloc(1, *len);
			memcpy(*p12, db_blob(q, 0), *len);
		}
		found = 1;
	}
	if (store_release(q) != DB_OK) {
		free(*p12);
		*p12 = NULL;
		*len = 0;
		return -1;
	}
	return found;
}

int
pickup_p12_erase(struct store *st, long long cid, long long now)
{
	return store_done(st, store_prep(st, "UPDATE certificate SET p12 = NULL,"
	    " p12_password = NULL, p12_purged_at = ? WHERE id = ?", "ii", now,
	    cid));
}

int
keygen_rcpt_load(struct store *st, long long rid, struct keygen_rcpt *r)
{
	struct dbstmt	*q;
	int		 rc;

	memset(r, 0, sizeof(*r));
	q = store_prep(st, "SELECT r.email, r.state, coalesce(r.message,"
	    " o.message), o.organization, r.csr IS NOT NULL, o.id, o.batch_id"
	    " FROM recipient r JOIN orders o ON o.id = r.order_id"
	    " WHERE r.id = ?", "i", rid);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		r->email = store_col_text(q, 0);
		strlcpy_(r->rstate, (const char *)db_text(q, 1),
		    sizeof(r->rstate));
		r->message = store_col_text(q, 2);
		r->org = store_col_text(q, 3);
		r->has_csr = db_int(q, 4);
		r->order_id = db_int64(q, 5);
		r->batch_id = db_int64(q, 6);
	}
	store_release(q);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : -1;
}

void
keygen_rcpt_free(struct keygen_rcpt *r)
{
	free(r->email);
	free(r->message);
	free(r->org);
	memset(r, 0, sizeof(*r));
}

int
keygen_issued_der(struct store *st, long long rid, unsigned char **der,
    size_t *len)
{
	struct dbstmt	*q;
	int		 rc;

	*der = NULL;
	*len = 0;
	q = store_prep(st, "SELECT der FROM certificate WHERE"
	    " recipient_id = ? AND state = 'issued' AND der IS NOT NULL"
	    " ORDER BY round DESC LIMIT 1", "i", rid);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		*len = (size_t)db_bytes(q, 0);
		*der = xcalloc(1, *len + 1);
		if (*len > 0)
			memcpy(*der, db_blob(q, 0), *len);
	}
	store_release(q);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : -1;
}

int
portal_tx_left_open(struct store *st)
{
	if (!db_in_tx(st))
		return 0;
	st->in_tx = 1;
	store_rollback(st);
	return 1;
}
