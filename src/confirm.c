/*
 * confirm.c: confirming an Email DCV (S/MIME BR 3.2.2.1) or a mailbox
 * control (3.2.2.2) by the token mailed for it.  One implementation for
 * both ways in: the recipient's POST at the portal (portal_confirm.c)
 * and certspool domain confirm (cmd_domain.c).  The token is compared
 * as its SHA-256 (only the hash is stored); it works once and until its
 * expiry (30 days, 24 hours).  What a confirmation records is
 * store_dcv.c's dcv_confirm().
 * Failure policy: a refusal is an outcome with a sentence; a store error
 * rolls back and returns -1, nothing half-done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "dcv.h"

int
dcv_lookup(struct store *st, const char *token, struct dcv_info *d)
{
	char		 canon[TOKEN_MAX + 1], hash[65];

	memset(d, 0, sizeof(*d));
	if (token_norm(token, canon, sizeof(canon)) == -1 ||
	    strlen(canon) != DCV_TOKEN_CHARS)
		return 0;
	token_hash(canon, hash);
	return dcv_by_token(st, hash, d);
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
	struct dcv_use	 u;
	char		 detail[512];

	if (d->is_mailbox)
		snprintf(detail, sizeof(detail), "dcv %lld: mailbox %s "
		    "(S/MIME BR 3.2.2.2), confirmed by %s", d->id, d->mailbox,
		    by);
	else
		snprintf(detail, sizeof(detail), "dcv %lld: domain %s of "
		    "organization %lld \"%s\" by Email DCV (S/MIME BR "
		    "3.2.2.1), confirmed by %s", d->id, d->domain, d->org_id,
		    d->org ? d->org : "", by);
	memset(&u, 0, sizeof(u));
	u.id = d->id;
	u.method = d->is_mailbox ? "mailbox" : "email";
	u.domain_id = d->domain_id;
	u.account_id = d->account_id;
	u.mailbox = d->mailbox;
	u.at = now;
	u.detail = detail;
	return dcv_confirm(st, &u);
}

int
dcv_confirm_token(struct store *st, const char *token, const char *by,
    struct dcv_info *d, char *msg, size_t len)
{
	long long	 now = clock_now();
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
		if (dcv_expire(st, d->id) == -1 || store_commit(st) == -1)
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
