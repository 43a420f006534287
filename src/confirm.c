/*
 * confirm.c: confirming an Email DCV (S/MIME BR 3.2.2.1) or a mailbox
 * control (3.2.2.2) by the token mailed for it.  One implementation for
 * both ways in: the recipient's POST at the portal (portal_confirm.c)
 * and certspool domain confirm (cmd_domain.c).  The token is compared
 * as its SHA-256 (only the hash is stored); it works once and until its
 * expiry (30 days, 24 hours).
 * Failure policy: a refusal is an outcome with a sentence; a store error
 * rolls back and returns -1, nothing half-done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "dcv.h"
#include "store.h"

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
dcv_lookup(struct store *st, const char *token, struct dcv_info *d)
{
	sqlite3_stmt	*q;
	char		 canon[TOKEN_MAX + 1], hash[65];
	int		 rc;

	memset(d, 0, sizeof(*d));
	if (token_norm(token, canon, sizeof(canon)) == -1 ||
	    strlen(canon) != DCV_TOKEN_CHARS)
		return 0;
	token_hash(canon, hash);
	q = store_prep(st, "SELECT v.id, v.method, v.domain_id, v.account_id,"
	    " v.mailbox, v.created, v.expires, v.state, d.name,"
	    " coalesce(o.id, 0), o.name, a.name FROM dcv v"
	    " LEFT JOIN domain d ON d.id = v.domain_id"
	    " LEFT JOIN organization o ON o.id = d.org_id"
	    " LEFT JOIN account a ON a.id = coalesce(v.account_id, o.account_id)"
	    " WHERE v.token_hash = ? ORDER BY v.id DESC LIMIT 1", "t", hash);
	if (q == NULL)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		d->id = sqlite3_column_int64(q, 0);
		strlcpy_(d->method, (const char *)sqlite3_column_text(q, 1),
		    sizeof(d->method));
		d->domain_id = sqlite3_column_int64(q, 2);
		d->account_id = sqlite3_column_int64(q, 3);
		d->mailbox = store_col_text(q, 4);
		d->created = sqlite3_column_int64(q, 5);
		d->expires = sqlite3_column_int64(q, 6);
		strlcpy_(d->state, (const char *)sqlite3_column_text(q, 7),
		    sizeof(d->state));
		d->domain = store_col_text(q, 8);
		d->org_id = sqlite3_column_int64(q, 9);
		d->org = store_col_text(q, 10);
		d->account = store_col_text(q, 11);
		d->is_mailbox = strcmp(d->method, "mailbox") == 0;
	}
	store_release(q);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Why the looked-up DCV d cannot be confirmed now, or DCV_CONFIRMED. */
static int
confirmable(const struct dcv_info *d, long long now, char *msg, size_t len)
{
	char	 when[32];

	if (!d->is_mailbox && (strcmp(d->method, "email") != 0 ||
	    d->domain == NULL)) {
		snprintf(msg, len, "dcv %lld is a %s DCV, not confirmed by a "
		    "token: certspool domain check %s looks it up", d->id,
		    d->method, d->domain ? d->domain : "DOMAIN");
		return DCV_NOT_TOKEN;
	}
	if (strcmp(d->state, "used") == 0) {
		snprintf(msg, len, "token already used (dcv %lld)", d->id);
		return DCV_USED;
	}
	if (strcmp(d->state, "open") != 0 && strcmp(d->state, "expired") != 0) {
		snprintf(msg, len, "token is void (dcv %lld is %s)", d->id,
		    d->state);
		return DCV_VOID;
	}
	if (strcmp(d->state, "expired") == 0 || d->expires <= now) {
		time_fmt((time_t)d->expires, when, sizeof(when));
		snprintf(msg, len, "token expired at %s (valid %s); %s", when,
		    d->is_mailbox ? "24 hours" : "30 days", d->is_mailbox ?
		    "the daemon sends a new one while the order waits" :
		    "certspool domain dcv starts a new one");
		return DCV_EXPIRED;
	}
	return DCV_CONFIRMED;
}

/* Record what d's confirmation validates; caller's transaction. */
static int
record(struct store *st, const struct dcv_info *d, long long now,
    const char *by)
{
	char	 detail[512];

	if (d->is_mailbox)
		snprintf(detail, sizeof(detail), "dcv %lld: mailbox %s "
		    "(S/MIME BR 3.2.2.2), confirmed by %s", d->id, d->mailbox,
		    by);
	else
		snprintf(detail, sizeof(detail), "dcv %lld: domain %s of "
		    "organization %lld \"%s\" by Email DCV (S/MIME BR "
		    "3.2.2.1), confirmed by %s", d->id, d->domain, d->org_id,
		    d->org ? d->org : "", by);
	if (store_done(st, store_prep(st, "UPDATE dcv SET state = 'used'"
	    " WHERE id = ?", "i", d->id)) == -1)
		return -1;
	if (d->is_mailbox) {
		if (store_done(st, store_prep(st, "INSERT INTO mailbox"
		    " (account_id, email, validated_at) VALUES (?, ?, ?)"
		    " ON CONFLICT (account_id, email) DO UPDATE SET"
		    " validated_at = excluded.validated_at", "iti",
		    d->account_id, d->mailbox, now)) == -1)
			return -1;
	} else if (store_done(st, store_prep(st, "UPDATE domain SET"
	    " validated_at = ?, method = 'email' WHERE id = ?", "ii", now,
	    d->domain_id)) == -1)
		return -1;
	return store_event(st, d->is_mailbox ? "mailbox_validated" :
	    "domain_validated", 0, 0, 0, "open", "used", NULL, detail);
}

int
dcv_confirm(struct store *st, const char *token, const char *by,
    struct dcv_info *d, char *msg, size_t len)
{
	long long	 now = clock_now();
	char		 detail[256];
	int		 rc;

	if (store_begin(st) == -1)
		return -1;
	if ((rc = dcv_lookup(st, token, d)) != 1) {
		store_rollback(st);
		if (rc == 0)
			snprintf(msg, len, "unknown token");
		return rc == 0 ? DCV_UNKNOWN : -1;
	}
	rc = confirmable(d, now, msg, len);
	if (rc == DCV_EXPIRED && strcmp(d->state, "open") == 0) {
		snprintf(detail, sizeof(detail), "dcv %lld expired", d->id);
		if (store_done(st, store_prep(st, "UPDATE dcv SET"
		    " state = 'expired' WHERE id = ?", "i", d->id)) == -1 ||
		    store_event(st, "dcv_expired", 0, 0, 0, "open", "expired",
		    NULL, detail) == -1 || store_commit(st) == -1)
			goto fail;
		return rc;
	}
	if (rc != DCV_CONFIRMED) {
		store_rollback(st);
		return rc;
	}
	if (record(st, d, now, by) == -1 || store_commit(st) == -1)
		goto fail;
	strlcpy_(d->state, "used", sizeof(d->state));
	return DCV_CONFIRMED;
fail:
	store_rollback(st);
	return -1;
}
