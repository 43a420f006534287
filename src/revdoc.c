/*
 * revdoc.c: revocation requests (SPEC 7.1, 7.2).  A request comes from
 * a <revoke> of a revocation document (stored by spool.c's parse
 * transaction through revdoc_head() and revdoc_revoke()) or from
 * certspool revoke / key block (cmd_revoke.c).  revoke_apply() selects
 * the certificates -- by mailbox, by order, by serial, only in the
 * request's account; by key in every account -- and revokes each with
 * cert_revoke(), with the consequences: the recipient's open rounds are
 * cancelled (no reissue, no renewal) unless the reason is superseded,
 * and a keyCompromise lists the key as compromised and revokes every
 * other certificate with it, in any account.  A request whose `at` is
 * in the future waits (pending) until revoke_due() applies it.  What a
 * request revoked is recorded (revoke_hit), so results and messages
 * are written from the database after the commit (revresult.c).
 * Failure policy: everything here runs inside the caller's transaction
 * and returns -1 on a database error, for the caller to roll back; a
 * crash therefore never half-applies a document.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "billing.h"
#include "store.h"

struct ids {
	long long	*v;
	size_t		 n, cap;
};

static void
ids_free(struct ids *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Every first column of q (released); 0 or -1. */
static int
ids_collect(sqlite3_stmt *q, struct ids *s)
{
	long long	*nv;

	if (q == NULL)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			if ((nv = reallocarray(s->v, s->cap,
			    sizeof(*nv))) == NULL) {
				log_err("out of memory");
				abort();
			}
			s->v = nv;
		}
		s->v[s->n++] = sqlite3_column_int64(q, 0);
	}
	return store_release(q) == SQLITE_OK ? 0 : -1;
}

int
revoke_time_parse(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*p;
	int		 oh = 0, om = 0, sign = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			continue;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 14 ||
		    om > 59 || strlen(p) != 6)
			return -1;
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}

/* The result sequence number a change of doc goes into: the one still
 * owed, or a new one when the last was written. */
static int
doc_seq(struct store *st, long long doc_id, long long *seq)
{
	sqlite3_stmt	*q;
	long long	 s = 0, w = 0;

	q = store_prep(st, "SELECT seq, written FROM revocation_doc WHERE"
	    " id = ?", "i", doc_id);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		s = sqlite3_column_int64(q, 0);
		w = sqlite3_column_int64(q, 1);
	}
	if (store_release(q) != SQLITE_OK || s == 0)
		return -1;
	if (w >= s) {
		s = w + 1;
		if (store_done(st, store_prep(st, "UPDATE revocation_doc SET"
		    " seq = ? WHERE id = ?", "ii", s, doc_id)) == -1)
			return -1;
	}
	*seq = s;
	return 0;
}

/*
 * No reissue and no renewal of a revoked recipient: its open round, or
 * its issued state, becomes cancelled (certificate_revoked).  A round
 * being signed (approved) is left to the signer and logged.
 */
static int
cancel_rounds(struct store *st, long long cert_id, const char *reason)
{
	sqlite3_stmt	*q;
	char		*from = NULL, *email = NULL;
	long long	 rid = 0, oid = 0, bid = 0;
	char		 msg[160];
	int		 rc = -1;

	q = store_prep(st, "SELECT r.id, r.state, o.id, o.batch_id, r.email"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id WHERE c.id = ?", "i",
	    cert_id);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		rid = sqlite3_column_int64(q, 0);
		from = store_col_text(q, 1);
		oid = sqlite3_column_int64(q, 2);
		bid = sqlite3_column_int64(q, 3);
		email = store_col_text(q, 4);
	}
	if (store_release(q) != SQLITE_OK || from == NULL)
		goto out;
	rc = 0;
	if (strcmp(from, "rejected") == 0 || strcmp(from, "cancelled") == 0)
		goto out;
	if (strcmp(from, "approved") == 0) {
		log_warn("%s: certificate revoked while its next round is "
		    "being signed; revoke that one too once issued", email);
		goto out;
	}
	snprintf(msg, sizeof(msg), "the certificate was revoked (%s): no "
	    "reissue or renewal", reason);
	rc = -1;
	if (store_done(st, store_prep(st, "UPDATE recipient SET state ="
	    " 'cancelled', reason = 'certificate_revoked', message = ?"
	    " WHERE id = ?", "ti", msg, rid)) == -1 ||
	    store_event(st, "recipient_state", bid, oid, rid, from,
	    "cancelled", "certificate_revoked", NULL) == -1)
		goto out;
	rc = 0;
out:
	free(from);
	free(email);
	return rc;
}

/* Record what request req revoked, with its consequences. */
static int
hit(struct store *st, long long req, long long cert_id, int listed,
    const char *reason)
{
	if (store_done(st, store_prep(st, "INSERT OR IGNORE INTO revoke_hit"
	    " (request_id, certificate_id, listed) VALUES (?, ?, ?)", "iii",
	    req, cert_id, (long long)listed)) == -1)
		return -1;
	if (strcmp(reason, "superseded") == 0)
		return 0;
	return cancel_rounds(st, cert_id, reason);
}

int
revoke_key_block(struct store *st, const char *spki, const char *why)
{
	return store_done(st, store_prep(st, "INSERT OR IGNORE INTO"
	    " compromised_key (spki_sha256, reason, added) VALUES (?, ?, ?)",
	    "tti", spki, why, (long long)clock_now()));
}

/*
 * A compromised key: listed for every account, and every other issued
 * certificate with it revoked (keyCompromise), whatever its account;
 * only those of account_id (0: all) are listed for the requester, the
 * others are logged.
 */
static int
key_compromised(struct store *st, long long req, long long account_id,
    const char *spki, time_t now, time_t inval, const char *source,
    int *n)
{
	struct ids	 ids = { 0 };
	sqlite3_stmt	*q;
	size_t		 i;
	long long	 acct;
	int		 r, rc = -1;

	if (revoke_key_block(st, spki, "keyCompromise") == -1)
		return -1;
	if (ids_collect(store_prep(st, "SELECT id FROM certificate WHERE"
	    " spki_sha256 = ? AND state = 'issued' AND not_after > ? AND"
	    " (revoked_at IS NULL OR revoke_reason != 'keyCompromise')"
	    " ORDER BY id", "ti", spki, (long long)now), &ids) == -1)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((r = cert_revoke(st, ids.v[i], "keyCompromise", now, inval,
		    source)) == -1)
			goto out;
		if (r == 0)
			continue;
		q = store_prep(st, "SELECT b.account_id FROM certificate c"
		    " JOIN recipient r ON r.id = c.recipient_id"
		    " JOIN orders o ON o.id = r.order_id"
		    " JOIN batch b ON b.id = o.batch_id WHERE c.id = ?", "i",
		    ids.v[i]);
		if (store_int(st, &acct, 0, q) == -1)
			goto out;
		if (account_id != 0 && acct != account_id)
			log_info("certificate %lld of account %lld revoked: its "
			    "key %s is compromised (request %lld)", ids.v[i],
			    acct, spki, req);
		if (hit(st, req, ids.v[i], account_id == 0 ||
		    acct == account_id, "keyCompromise") == -1)
			goto out;
		(*n)++;
	}
	rc = 0;
out:
	ids_free(&ids);
	return rc;
}

int
revoke_apply(struct store *st, long long req, time_t now, int *nrevoked)
{
	sqlite3_stmt	*q;
	struct ids	 ids = { 0 };
	char		*kind = NULL, *value = NULL, *batch = NULL;
	char		*reason = NULL, *state = NULL, *spki = NULL;
	char		 source[64];
	long long	 doc = 0, acct = 0, seq = 0;
	time_t		 at = 0, inval;
	size_t		 i;
	int		 n = 0, r, rc = -1;
	const char	*to;

	q = store_prep(st, "SELECT COALESCE(doc_id, 0),"
	    " COALESCE(account_id, 0), kind, value, batch_ext, reason,"
	    " COALESCE(at, 0), state FROM revoke_request WHERE id = ?", "i",
	    req);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		doc = sqlite3_column_int64(q, 0);
		acct = sqlite3_column_int64(q, 1);
		kind = store_col_text(q, 2);
		value = store_col_text(q, 3);
		batch = store_col_text(q, 4);
		reason = store_col_text(q, 5);
		at = (time_t)sqlite3_column_int64(q, 6);
		state = store_col_text(q, 7);
	}
	if (store_release(q) != SQLITE_OK || state == NULL)
		goto out;
	if (strcmp(state, "pending") != 0) {
		rc = 0;
		goto out;
	}
	if (revoke_reason_code(reason) == -1)
		abort();	/* checked when the request was stored */
	inval = at > 0 && at < now ? at : 0;
	snprintf(source, sizeof(source), "revoke request %lld", req);

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
	if (strcmp(kind, "key") == 0) {
		if (key_compromised(st, req, acct, value, now, inval, source,
		    &n) == -1)
			goto out;
	} else if (ids_collect(q, &ids) == -1)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((r = cert_revoke(st, ids.v[i], reason, now, inval,
		    source)) == -1)
			goto out;
		if (r == 1) {
			if (hit(st, req, ids.v[i], 1, reason) == -1)
				goto out;
			n++;
		}
		if (strcmp(reason, "keyCompromise") != 0)
			continue;
		free(spki);
		q = store_prep(st, "SELECT spki_sha256 FROM certificate WHERE"
		    " id = ?", "i", ids.v[i]);
		if (q == NULL)
			goto out;
		spki = sqlite3_step(q) == SQLITE_ROW ? store_col_text(q, 0) :
		    NULL;
		store_release(q);
		if (spki != NULL && key_compromised(st, req, acct, spki, now,
		    inval, source, &n) == -1)
			goto out;
	}
	/* A key request blocks the key even when nothing has it. */
	if (n > 0 || strcmp(kind, "key") == 0)
		to = "done";
	else
		to = ids.n > 0 ? "already_revoked" : "not_found";
	seq = 0;
	if (doc != 0 && doc_seq(st, doc, &seq) == -1)
		goto out;
	if (store_done(st, store_prep(st, "UPDATE revoke_request SET state = ?,"
	    " seq = NULLIF(?, 0), done_at = ? WHERE id = ?", "tiii", to, seq,
	    (long long)now, req)) == -1)
		goto out;
	log_info("revoke request %lld (%s %s, %s): %s, %d certificate%s "
	    "revoked", req, kind, value, reason, to, n, n == 1 ? "" : "s");
	if (nrevoked != NULL)
		*nrevoked = n;
	rc = 0;
out:
	ids_free(&ids);
	free(kind);
	free(value);
	free(batch);
	free(reason);
	free(state);
	free(spki);
	return rc;
}

long long
revoke_request_add(struct store *st, const struct revoke_req *r)
{
	if (revoke_reason_code(r->reason) == -1)
		abort();
	if (store_done(st, store_prep(st, "INSERT INTO revoke_request (doc_id,"
	    " account_id, line, kind, value, batch_ext, reason, at, state,"
	    " created) VALUES (NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), ?,"
	    " ?, ?, ?, NULLIF(?, 0), 'pending', ?)", "iiitttti" "i",
	    r->doc_id, r->account_id, (long long)r->line, r->kind, r->value,
	    r->batch_ext, r->reason, (long long)r->at,
	    (long long)clock_now())) == -1)
		return -1;
	return store_last_id(st);
}

int
revoke_withdraw(struct store *st, long long req)
{
	long long	 doc = 0, seq = 0;

	if (store_int(st, &doc, -1, store_prep(st, "SELECT"
	    " COALESCE(doc_id, 0) FROM revoke_request WHERE id = ? AND"
	    " state = 'pending'", "i", req)) == -1)
		return -1;
	if (doc == -1)
		return 0;
	if (doc != 0 && doc_seq(st, doc, &seq) == -1)
		return -1;
	if (store_done(st, store_prep(st, "UPDATE revoke_request SET state ="
	    " 'withdrawn', seq = NULLIF(?, 0), done_at = ? WHERE id = ?",
	    "iii", seq, (long long)clock_now(), req)) == -1)
		return -1;
	return 1;
}

/* ---- the document, inside spool.c's parse transaction ---- */

int
revdoc_head(struct store *st, long long account_id,
    const struct batch_head *h, const char *sha, const char *file,
    struct problems *pr, long long *doc_id)
{
	sqlite3_stmt	*q;
	char		 when[32];
	int		 dup = 0;

	q = store_prep(st, "SELECT file_name, received FROM revocation_doc"
	    " WHERE account_id = ? AND ext_id = ?", "it", account_id, h->id);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		time_fmt((time_t)sqlite3_column_int64(q, 1), when, sizeof(when));
		problems_add(pr, 0, "revocation id \"%s\" was already "
		    "submitted in file \"%s\" received %s; not processed "
		    "twice", h->id, sqlite3_column_text(q, 0), when);
		dup = 1;
	}
	if (store_release(q) != SQLITE_OK)
		return -1;
	if (dup)
		return 1;
	/* Its result would take the name of the batch's. */
	q = store_prep(st, "SELECT file_name FROM batch WHERE account_id = ?"
	    " AND ext_id = ?", "it", account_id, h->id);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		problems_add(pr, 0, "revocation id \"%s\" is the id of batch "
		    "file \"%s\"; results are named by id: use another id",
		    h->id, sqlite3_column_text(q, 0));
		dup = 1;
	}
	if (store_release(q) != SQLITE_OK)
		return -1;
	if (dup)
		return 1;
	if (store_done(st, store_prep(st, "INSERT INTO revocation_doc"
	    " (account_id, ext_id, sha256, file_name, received, created)"
	    " VALUES (?, ?, ?, ?, ?, ?)", "ittti" "t", account_id, h->id, sha,
	    file, (long long)clock_now(), h->created)) == -1)
		return -1;
	*doc_id = store_last_id(st);
	return store_event(st, "revocation_received", 0, 0, 0, NULL, NULL,
	    NULL, file);
}

int
revdoc_revoke(struct store *st, long long account_id, long long doc_id,
    const struct revoke_in *v, struct problems *pr)
{
	struct revoke_req	 r;
	char			 serial[48];
	time_t			 now = clock_now();
	long long		 id;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	r.doc_id = doc_id;
	r.account_id = account_id;
	r.line = v->line;
	r.reason = v->reason;
	if (revoke_reason_code(v->reason) == -1) {
		problems_add(pr, v->line, "SPEC 7.1: revocation reason \"%s\" "
		    "is not allowed", v->reason ? v->reason : "");
		return 1;
	}
	if (v->at != NULL && revoke_time_parse(v->at, &r.at) == -1) {
		problems_add(pr, v->line, "SPEC 7.1: at=\"%s\" is not a time "
		    "with a zone", v->at);
		return 1;
	}
	if (v->email != NULL) {
		r.kind = "email";
		r.value = v->email;
	} else if (v->order != NULL) {
		r.kind = "order";
		r.value = v->order;
		r.batch_ext = v->batch;
	} else {
		r.kind = "serial";
		strlcpy_(serial, v->serial, sizeof(serial));
		for (i = 0; serial[i] != '\0'; i++)
			serial[i] = (char)tolower((unsigned char)serial[i]);
		r.value = serial;
	}
	if ((id = revoke_request_add(st, &r)) == -1)
		return -1;
	if (r.at > now)
		return 0;
	return revoke_apply(st, id, now, NULL);
}

/* ---- the daemon's step ---- */

int
revoke_due(struct store *st, const struct conf *c)
{
	struct ids	 ids = { 0 };
	time_t		 now = clock_now();
	size_t		 i;
	int		 rc = 0, n = 0, k;

	if (ids_collect(store_prep(st, "SELECT id FROM revoke_request WHERE"
	    " state = 'pending' AND at <= ? ORDER BY at, id", "i",
	    (long long)now), &ids) == -1) {
		ids_free(&ids);
		return -1;
	}
	for (i = 0; i < ids.n; i++) {
		k = 0;
		if (store_begin(st) == -1 ||
		    revoke_apply(st, ids.v[i], now, &k) == -1 ||
		    store_commit(st) == -1) {
			store_rollback(st);
			rc = -1;
			continue;
		}
		n += k;
	}
	ids_free(&ids);
	/* Card authorizations of cancelled rounds are released. */
	if (n > 0 && billing_settle(st, c, 0) == -1)
		rc = -1;
	return rc;
}
