/*
 * store_dcv.c: domain and mailbox control validation in the store: the
 * dcv, domain and mailbox tables and the reuse windows.  The stages and
 * commands (stage_dcv.c, dcv_net.c, confirm.c, cmd_domain.c,
 * cmd_validate.c) decide what to ask and say; whether a validation may
 * still be reused, which requests are open or lapsed, and what a
 * confirmation records is decided here.
 * Failure policy: a store error is logged (store.c) and returned as -1;
 * the caller rolls back and keeps its input.  Row loops stop quietly at
 * a step error, as a missing row would.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_dcv.h"

long long
dcv_reuse_until(enum reuse what, long long at)
{
	switch (what) {
	case REUSE_ORG:
		return at + ORG_REUSE;
	case REUSE_DOMAIN:
		return at + DOMAIN_REUSE;
	case REUSE_MAILBOX:
		return at + MAILBOX_REUSE;
	}
	abort();
}

/* 1 if the count query q counts more than none, 0 if not, -1 error. */
static int
any(struct store *st, struct dbstmt *q)
{
	long long	 v;

	if (store_int(st, &v, 0, q) == -1)
		return -1;
	return v > 0;
}

int
dcv_domain_reusable(struct store *st, long long org_id, const char *domain,
    long long now)
{
	return any(st, store_prep(st,
	    "SELECT COUNT(*) FROM domain WHERE org_id = ? AND name = ? AND"
	    " validated_at IS NOT NULL AND ? - validated_at < ?", "itii",
	    org_id, domain, now, DOMAIN_REUSE));
}

int
dcv_mailbox_reusable(struct store *st, long long account_id,
    const char *mailbox, long long now)
{
	return any(st, store_prep(st,
	    "SELECT COUNT(*) FROM mailbox WHERE account_id = ? AND"
	    " email = ? AND validated_at IS NOT NULL AND ? -"
	    " validated_at < ?", "itii", account_id, mailbox, now,
	    MAILBOX_REUSE));
}

long long
domain_find(struct store *st, long long org_id, const char *name)
{
	long long	 id;

	if (store_int(st, &id, 0, store_prep(st, "SELECT id FROM"
	    " domain WHERE org_id = ? AND name = ?", "it", org_id,
	    name)) == -1)
		return -1;
	return id;
}

long long
domain_add(struct store *st, long long org_id, const char *name,
    long long batch, long long order, const char *from)
{
	char		 detail[320];
	long long	 id;

	if (store_done(st, store_prep(st, "INSERT INTO domain"
	    " (org_id, name) VALUES (?, ?)", "it", org_id, name)) == -1)
		return -1;
	id = store_last_id(st);
	snprintf(detail, sizeof(detail), "domain %lld %s of organization "
	    "%lld%s%s", id, name, org_id, from ? ", " : "", from ? from : "");
	if (store_event(st, "domain_added", batch, order, 0, NULL, NULL, NULL,
	    detail) == -1)
		return -1;
	return id;
}

int
domain_by_name(struct store *st, const char *name, long long org_id,
    long long *n, long long *id)
{
	struct dbstmt	*q;

	*n = *id = 0;
	q = store_prep(st, "SELECT id FROM domain WHERE name = ? AND"
	    " (? = 0 OR org_id = ?)", "tii", name, org_id, org_id);
	if (q == NULL)
		return -1;
	while (db_step(q) == DB_ROW) {
		*id = db_int64(q, 0);
		(*n)++;
	}
	store_release(q);
	return 0;
}

long long
domain_count(struct store *st, const char *name, long long org_id)
{
	long long	 n;

	if (store_int(st, &n, 0, store_prep(st, "SELECT"
	    " COUNT(*) FROM domain WHERE name = ? AND (? = 0 OR"
	    " org_id = ?)", "tii", name, org_id, org_id)) == -1)
		return -1;
	return n;
}

int
dcv_domain(struct store *st, long long domain_id, char **name, char **org,
    long long *account_id)
{
	struct dbstmt	*q;
	int		 found;

	*name = NULL;
	if (org != NULL) {
		*org = NULL;
		q = store_prep(st, "SELECT d.name, o.name, o.account_id FROM"
		    " domain d JOIN organization o ON o.id = d.org_id WHERE"
		    " d.id = ?", "i", domain_id);
	} else
		q = store_prep(st, "SELECT d.name, o.account_id FROM domain d"
		    " JOIN organization o ON o.id = d.org_id WHERE d.id = ?",
		    "i", domain_id);
	if (q == NULL)
		return -1;
	if ((found = db_step(q) == DB_ROW)) {
		*name = store_col_text(q, 0);
		if (org != NULL)
			*org = store_col_text(q, 1);
		*account_id = db_int64(q, org != NULL ? 2 : 1);
	}
	store_release(q);
	return found;
}

/* How long a request of method stays open. */
static long long
request_ttl(const char *method)
{
	if (strcmp(method, "email") == 0)
		return DCV_EMAIL_TTL;
	if (strcmp(method, "mailbox") == 0)
		return DCV_MAILBOX_TTL;
	return DCV_NET_TTL;
}

int
dcv_request_new(struct store *st, struct dcv_new *n, long long now)
{
	struct dbstmt	*q;

	n->expires = now + request_ttl(n->method);
	if (strcmp(n->method, "email") == 0)
		q = store_prep(st, "INSERT INTO dcv (domain_id,"
		    " account_id, mailbox, method, token_hash, value, created,"
		    " expires, state) VALUES (?, ?, NULL, 'email', ?, NULL, ?, ?,"
		    " 'open')", "iitii", n->domain_id, n->account_id,
		    n->token_hash, now, n->expires);
	else if (strcmp(n->method, "mailbox") == 0)
		q = store_prep(st, "INSERT INTO dcv (domain_id,"
		    " account_id, mailbox, method, token_hash, value, created,"
		    " expires, state) VALUES (NULL, ?, ?, 'mailbox', ?, NULL, ?, ?,"
		    " 'open')", "ittii", n->account_id, n->mailbox,
		    n->token_hash, now, n->expires);
	else
		q = store_prep(st, "INSERT INTO dcv (domain_id,"
		    " account_id, mailbox, method, token_hash, value, created,"
		    " expires, state) VALUES (?, ?, NULL, ?, ?, NULLIF(?, ''), ?, ?,"
		    " 'open')", "iittti" "i", n->domain_id, n->account_id,
		    n->method, n->token_hash, n->value, now, n->expires);
	if (store_done(st, q) == -1)
		return -1;
	n->id = store_last_id(st);
	return 0;
}

int
dcv_started(struct store *st, long long batch, long long order,
    const char *detail)
{
	return store_event(st, "dcv_started", batch, order, 0, NULL, "open",
	    NULL, detail);
}

int
dcv_fail(struct store *st, long long id, long long batch, long long order,
    const char *detail)
{
	if (store_done(st, store_prep(st, "UPDATE dcv SET state = 'failed'"
	    " WHERE id = ?", "i", id)) == -1 ||
	    store_event(st, "dcv_mail_failed", batch, order, 0, "open",
	    "failed", NULL, detail) == -1)
		return -1;
	return 0;
}

int
dcv_expire(struct store *st, long long id)
{
	char	 detail[256];

	snprintf(detail, sizeof(detail), "dcv %lld expired", id);
	if (store_done(st, store_prep(st, "UPDATE dcv SET"
	    " state = 'expired' WHERE id = ?", "i", id)) == -1 ||
	    store_event(st, "dcv_expired", 0, 0, 0, "open", "expired",
	    NULL, detail) == -1)
		return -1;
	return 0;
}

int
dcv_expire_due_mailbox(struct store *st, long long account_id,
    const char *mailbox, long long now)
{
	return store_done(st, store_prep(st, "UPDATE dcv SET state ="
	    " 'expired' WHERE state = 'open' AND expires <= ? AND account_id"
	    " = ? AND mailbox = ? AND method = 'mailbox'", "iit", now,
	    account_id, mailbox));
}

int
dcv_expire_due_email(struct store *st, long long domain_id, long long now)
{
	return store_done(st, store_prep(st, "UPDATE dcv SET state ="
	    " 'expired' WHERE state = 'open' AND expires <= ? AND domain_id"
	    " = ? AND method = 'email'", "ii", now, domain_id));
}

int
dcv_expire_due_net(struct store *st, long long domain_id, long long now)
{
	return store_done(st, store_prep(st, "UPDATE dcv SET"
	    " state = 'expired' WHERE domain_id = ? AND state = 'open' AND"
	    " expires <= ? AND method IN (" DCV_NET_METHODS ")", "ii",
	    domain_id, now));
}

int
dcv_expire_due_named(struct store *st, const char *name, long long org_id,
    long long now)
{
	return store_done(st, store_prep(st, "UPDATE dcv SET"
	    " state = 'expired' WHERE state = 'open' AND expires <= ? AND"
	    " method IN (" DCV_NET_METHODS ") AND domain_id IN (SELECT id FROM"
	    " domain WHERE name = ? AND (? = 0 OR org_id = ?))", "itii", now,
	    name, org_id, org_id));
}

long long
dcv_mailbox_pending(struct store *st, long long account_id,
    const char *mailbox, long long now)
{
	long long	 n;

	if (store_int(st, &n, 0, store_prep(st,
	    "SELECT COUNT(*) FROM dcv WHERE account_id = ? AND"
	    " mailbox = ? AND method = 'mailbox' AND state = 'open'"
	    " AND expires > ?", "iti", account_id, mailbox, now)) == -1)
		return -1;
	return n;
}

long long
dcv_domain_pending(struct store *st, long long domain_id, long long now)
{
	long long	 n;

	if (store_int(st, &n, 0, store_prep(st, "SELECT COUNT(*)"
	    " FROM dcv WHERE domain_id = ? AND method IN ('email', "
	    DCV_NET_METHODS ") AND state = 'open' AND expires > ?", "ii",
	    domain_id, now)) == -1)
		return -1;
	return n;
}

int
dcv_is_open(struct store *st, long long id)
{
	return any(st, store_prep(st, "SELECT"
	    " COUNT(*) FROM dcv WHERE id = ? AND state = 'open'", "i", id));
}

/* Step q, calling fn per row made by row(); q released.  0 or -1. */
static int
each(struct dbstmt *q, void (*row)(struct dbstmt *, struct dcv_row *),
    int (*fn)(void *, const struct dcv_row *), void *arg)
{
	struct dcv_row	 r;
	int		 rc = 0;

	if (q == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW) {
		memset(&r, 0, sizeof(r));
		row(q, &r);
		rc = fn(arg, &r);
	}
	store_release(q);
	return rc == -1 ? -1 : 0;
}

int
dcv_check_failed(struct store *st, const char *detail)
{
	return store_event(st, "dcv_check_failed", 0, 0, 0, "open", "open",
	    NULL, detail);
}

static void
net_row(struct dbstmt *q, struct dcv_row *r)
{
	r->id = db_int64(q, 0);
	r->method = (const char *)db_text(q, 1);
	r->token_hash = (const char *)db_text(q, 2);
	r->value = (const char *)db_text(q, 3);
	r->domain = (const char *)db_text(q, 4);
}

int
dcv_net_each(struct store *st, long long domain_id, long long now,
    int (*fn)(void *, const struct dcv_row *), void *arg)
{
	return each(store_prep(st, "SELECT v.id, v.method, v.token_hash,"
	    " v.value, d.name FROM dcv v JOIN domain d ON d.id = v.domain_id"
	    " WHERE v.domain_id = ? AND v.state = 'open' AND v.expires > ?"
	    " AND v.method IN (" DCV_NET_METHODS ") ORDER BY v.id DESC", "ii",
	    domain_id, now), net_row, fn, arg);
}

static void
named_row(struct dbstmt *q, struct dcv_row *r)
{
	r->id = db_int64(q, 0);
	r->domain_id = db_int64(q, 1);
	r->org_id = db_int64(q, 2);
	r->expires = db_int64(q, 3);
	r->method = (const char *)db_text(q, 4);
	r->token_hash = (const char *)db_text(q, 5);
	r->value = (const char *)db_text(q, 6);
	r->org = (const char *)db_text(q, 7);
}

int
dcv_net_each_named(struct store *st, const char *name, long long org_id,
    int (*fn)(void *, const struct dcv_row *), void *arg)
{
	return each(store_prep(st, "SELECT v.id, v.domain_id, d.org_id,"
	    " v.expires, v.method, v.token_hash, v.value, o.name FROM dcv v"
	    " JOIN domain d ON d.id = v.domain_id"
	    " JOIN organization o ON o.id = d.org_id"
	    " WHERE d.name = ? AND (? = 0 OR d.org_id = ?) AND"
	    " v.state = 'open' AND v.method IN (" DCV_NET_METHODS ")"
	    " ORDER BY v.id DESC", "tii", name, org_id, org_id), named_row,
	    fn, arg);
}

void
dcv_info_free(struct dcv_info *d)
{
	free(d->mailbox);
	free(d->domain);
	free(d->org);
	free(d->account);
	memset(d, 0, sizeof(*d));
}

int
dcv_by_token(struct store *st, const char *hash, struct dcv_info *d)
{
	struct dbstmt	*q;
	int		 rc;

	memset(d, 0, sizeof(*d));
	q = store_prep(st, "SELECT v.id, v.method, v.domain_id, v.account_id,"
	    " v.mailbox, v.created, v.expires, v.state, d.name,"
	    " coalesce(o.id, 0), o.name, a.name FROM dcv v"
	    " LEFT JOIN domain d ON d.id = v.domain_id"
	    " LEFT JOIN organization o ON o.id = d.org_id"
	    " LEFT JOIN account a ON a.id = coalesce(v.account_id, o.account_id)"
	    " WHERE v.token_hash = ? ORDER BY v.id DESC LIMIT 1", "t", hash);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		d->id = db_int64(q, 0);
		strlcpy_(d->method, (const char *)db_text(q, 1),
		    sizeof(d->method));
		d->domain_id = db_int64(q, 2);
		d->account_id = db_int64(q, 3);
		d->mailbox = store_col_text(q, 4);
		d->created = db_int64(q, 5);
		d->expires = db_int64(q, 6);
		strlcpy_(d->state, (const char *)db_text(q, 7),
		    sizeof(d->state));
		d->domain = store_col_text(q, 8);
		d->org_id = db_int64(q, 9);
		d->org = store_col_text(q, 10);
		d->account = store_col_text(q, 11);
		d->is_mailbox = strcmp(d->method, "mailbox") == 0;
	}
	store_release(q);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : -1;
}

/* Record the validation u completes: the mailbox, or the domain. */
static int
validated(struct store *st, const struct dcv_use *u)
{
	if (strcmp(u->method, "mailbox") == 0)
		return store_done(st, store_prep(st, "INSERT INTO mailbox"
		    " (account_id, email, validated_at) VALUES (?, ?, ?)"
		    " ON CONFLICT (account_id, email) DO UPDATE SET"
		    " validated_at = excluded.validated_at", "iti",
		    u->account_id, u->mailbox, u->at));
	if (strcmp(u->method, "email") == 0)
		return store_done(st, store_prep(st, "UPDATE domain SET"
		    " validated_at = ?, method = 'email' WHERE id = ?", "ii",
		    u->at, u->domain_id));
	return store_done(st, store_prep(st, "UPDATE domain SET"
	    " validated_at = ?, method = ? WHERE id = ?", "iti", u->at,
	    u->method, u->domain_id));
}

int
dcv_confirm(struct store *st, const struct dcv_use *u)
{
	if (store_done(st, store_prep(st, "UPDATE dcv SET state = 'used'"
	    " WHERE id = ?", "i", u->id)) == -1 ||
	    validated(st, u) == -1)
		return -1;
	return store_event(st, strcmp(u->method, "mailbox") == 0 ?
	    "mailbox_validated" : "domain_validated", u->batch, u->order, 0,
	    "open", "used", NULL, u->detail);
}

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
token_new(char *out, size_t nchars)
{
	unsigned char	 r[TOKEN_MAX];
	size_t		 i;

	if (nchars > sizeof(r))
		abort();
	rnd_bytes(r, nchars);
	/* 256 is a multiple of 32: the low five bits are uniform. */
	for (i = 0; i < nchars; i++)
		out[i] = crockford[r[i] & 31];
	out[nchars] = '\0';
}

int
token_norm(const char *in, char *out, size_t outlen)
{
	size_t	 n = 0;
	int	 c;

	for (; *in != '\0'; in++) {
		if (*in == '-' || isspace((unsigned char)*in))
			continue;
		c = toupper((unsigned char)*in);
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		if (c == '\0' || strchr(crockford, c) == NULL)
			return -1;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	if (outlen == 0)
		return -1;
	out[n] = '\0';
	return n == 0 ? -1 : 0;
}

void
token_hash(const char *canon, char out[65])
{
	sha256_hex(canon, strlen(canon), out);
}
