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
#include "batch.h"
#include "revoke.h"
#include "billing.h"
#include "store_revoke.h"
#include "store_state.h"

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

/*
 * No reissue and no renewal of a revoked recipient: its open round, or
 * its issued state, becomes cancelled (certificate_revoked).  A round
 * being signed (approved) is left to the signer and logged.
 */
static int
cancel_rounds(struct store *st, long long cert_id, const char *reason)
{
	struct revoke_holder	 h;
	struct state_move	 m;
	char			 msg[160];
	int			 rc = 0;

	if (revoke_cert_holder(st, cert_id, &h) != 1) {
		revoke_holder_free(&h);
		return -1;
	}
	if (strcmp(h.state, S_REJECTED) == 0 ||
	    strcmp(h.state, S_CANCELLED) == 0)
		goto out;
	if (strcmp(h.state, S_APPROVED) == 0) {
		log_warn("%s: certificate revoked while its next round is "
		    "being signed; revoke that one too once issued", h.email);
		goto out;
	}
	snprintf(msg, sizeof(msg), "the certificate was revoked (%s): no "
	    "reissue or renewal", reason);
	memset(&m, 0, sizeof(m));
	m.kind = "recipient_state";
	m.batch = h.batch;
	m.order = h.order;
	m.rcpt = h.rcpt;
	m.from = h.state;
	m.to = S_CANCELLED;
	m.reason = "certificate_revoked";
	m.message = msg;
	if (rcpt_move(st, &m) == -1)
		rc = -1;
out:
	revoke_holder_free(&h);
	return rc;
}

/* Record what request req revoked, with its consequences. */
static int
hit(struct store *st, long long req, long long cert_id, int listed,
    const char *reason)
{
	if (revoke_hit_add(st, req, cert_id, listed) == -1)
		return -1;
	if (strcmp(reason, "superseded") == 0)
		return 0;
	return cancel_rounds(st, cert_id, reason);
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
	struct revoke_ids	 ids = { 0 };
	size_t			 i;
	long long		 acct;
	int			 r, rc = -1;

	if (revoke_key_block(st, spki, "keyCompromise") == -1)
		return -1;
	if (revoke_key_match(st, spki, now, &ids) == -1)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((r = cert_revoke(st, ids.v[i], "keyCompromise", now, inval,
		    source)) == -1)
			goto out;
		if (r == 0)
			continue;
		if (revoke_cert_account(st, ids.v[i], &acct) == -1)
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
	revoke_ids_free(&ids);
	return rc;
}

int
revoke_apply(struct store *st, long long req, time_t now, int *nrevoked)
{
	struct revoke_request	 q;
	struct revoke_ids	 ids = { 0 };
	char			*spki = NULL;
	char			 source[64];
	long long		 seq = 0;
	time_t			 inval;
	size_t			 i;
	int			 n = 0, r, rc = -1;
	const char		*to;

	if (revoke_request_get(st, req, &q) != 1)
		goto out;
	if (strcmp(q.state, "pending") != 0) {
		rc = 0;
		goto out;
	}
	if (revoke_reason_code(q.reason) == -1)
		abort();	/* checked when the request was stored */
	inval = q.at > 0 && q.at < now ? q.at : 0;
	snprintf(source, sizeof(source), "revoke request %lld", req);
	if (strcmp(q.kind, "key") == 0) {
		if (key_compromised(st, req, q.account, q.value, now, inval,
		    source, &n) == -1)
			goto out;
	} else if (revoke_match(st, q.kind, q.account, q.value, q.batch, now,
	    &ids) == -1)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((r = cert_revoke(st, ids.v[i], q.reason, now, inval,
		    source)) == -1)
			goto out;
		if (r == 1) {
			if (hit(st, req, ids.v[i], 1, q.reason) == -1)
				goto out;
			n++;
		}
		if (strcmp(q.reason, "keyCompromise") != 0)
			continue;
		free(spki);
		if (revoke_cert_spki(st, ids.v[i], &spki) == -1)
			goto out;
		if (spki != NULL && key_compromised(st, req, q.account, spki,
		    now, inval, source, &n) == -1)
			goto out;
	}
	/* A key request blocks the key even when nothing has it. */
	if (n > 0 || strcmp(q.kind, "key") == 0)
		to = "done";
	else
		to = ids.n > 0 ? "already_revoked" : "not_found";
	seq = 0;
	if (q.doc != 0 && revdoc_result_seq(st, q.doc, &seq) == -1)
		goto out;
	if (revoke_request_finish(st, req, to, seq, now) == -1)
		goto out;
	log_info("revoke request %lld (%s %s, %s): %s, %d certificate%s "
	    "revoked", req, q.kind, q.value, q.reason, to, n,
	    n == 1 ? "" : "s");
	if (nrevoked != NULL)
		*nrevoked = n;
	rc = 0;
out:
	revoke_ids_free(&ids);
	revoke_request_free(&q);
	free(spki);
	return rc;
}

long long
revoke_request_add(struct store *st, const struct revoke_req *r)
{
	if (revoke_reason_code(r->reason) == -1)
		abort();
	return revoke_request_insert(st, r, clock_now());
}

int
revoke_withdraw(struct store *st, long long req)
{
	long long	 doc = 0, seq = 0;
	int		 r;

	if ((r = revoke_request_pending(st, req, &doc)) != 1)
		return r;
	if (doc != 0 && revdoc_result_seq(st, doc, &seq) == -1)
		return -1;
	if (revoke_request_withdrawn(st, req, seq, clock_now()) == -1)
		return -1;
	return 1;
}

/* ---- the document, inside spool.c's parse transaction ---- */

int
revdoc_head(struct store *st, long long account_id,
    const struct batch_head *h, const char *sha, const char *file,
    struct problems *pr, long long *doc_id)
{
	char	*seen = NULL, when[32];
	time_t	 received = 0;
	int	 r;

	if ((r = revdoc_find(st, account_id, h->id, &seen, &received)) == -1)
		return -1;
	if (r == 1) {
		time_fmt(received, when, sizeof(when));
		problems_add(pr, 0, "revocation id \"%s\" was already "
		    "submitted in file \"%s\" received %s; not processed "
		    "twice", h->id, seen, when);
		free(seen);
		return 1;
	}
	/* Its result would take the name of the batch's. */
	if ((r = revdoc_batch_file(st, account_id, h->id, &seen)) == -1)
		return -1;
	if (r == 1) {
		problems_add(pr, 0, "revocation id \"%s\" is the id of batch "
		    "file \"%s\"; results are named by id: use another id",
		    h->id, seen);
		free(seen);
		return 1;
	}
	if (revdoc_add(st, account_id, h->id, sha, file, clock_now(),
	    h->created, doc_id) == -1)
		return -1;
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
	struct revoke_ids	 ids = { 0 };
	time_t			 now = clock_now();
	size_t			 i;
	int			 rc = 0, n = 0, k;

	if (revoke_requests_due(st, now, &ids) == -1) {
		revoke_ids_free(&ids);
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
	revoke_ids_free(&ids);
	/* Card authorizations of cancelled rounds are released. */
	if (n > 0 && billing_settle(st, c, 0) == -1)
		rc = -1;
	return rc;
}
