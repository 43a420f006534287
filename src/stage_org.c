/*
 * stage_org.c: the organization stage (SPEC 3.3).  An order of an
 * organization- or sponsor-validated product names an organization of
 * its own account that completed S/MIME organization validation less
 * than 825 days ago (S/MIME BR 3.2.3, reuse per 4.2.1).  Mailbox-validated
 * products need none.  When the validation is missing or too old the
 * order waits in waiting_org and a validation request is opened, which
 * an operator completes with the code from the phone call
 * (certspool org verify).
 * Failure policy: a missing or foreign organization rejects the order; a
 * store error makes the order wait (it is evaluated again next pass)
 * and is logged.  Nothing is written in a dry run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "pipeline.h"
#include "store.h"
#include "dcv.h"

long long
org_request_insert(struct store *st, long long org_id, char *code,
    size_t codelen)
{
	char		 raw[ORG_CODE_CHARS + 1], hash[65];
	long long	 now = clock_now();

	token_new(raw, ORG_CODE_CHARS);
	token_hash(raw, hash);
	if (store_done(st, store_prep(st, "INSERT INTO org_request"
	    " (org_id, code_hash, created, expires, tries, state)"
	    " VALUES (?, ?, ?, ?, 0, 'open')", "itii", org_id, hash, now,
	    now + ORG_REQUEST_TTL)) == -1)
		return -1;
	if (code != NULL)
		snprintf(code, codelen, "%.5s-%s", raw, raw + 5);
	return store_last_id(st);
}

int
org_request_expire(struct store *st, long long org_id, long long batch,
    long long order)
{
	sqlite3_stmt	*q;
	long long	 now = clock_now();
	char		 detail[128];

	if ((q = store_prep(st, "SELECT id FROM org_request WHERE org_id = ?"
	    " AND state = 'open' AND expires <= ?", "ii", org_id, now)) == NULL)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(detail, sizeof(detail), "organization %lld request "
		    "%lld", org_id, (long long)sqlite3_column_int64(q, 0));
		if (store_event(st, "org_request_expired", batch, order, 0,
		    "open", "expired", NULL, detail) == -1) {
			store_release(q);
			return -1;
		}
	}
	store_release(q);
	return store_done(st, store_prep(st, "UPDATE org_request SET"
	    " state = 'expired' WHERE org_id = ? AND state = 'open' AND"
	    " expires <= ?", "ii", org_id, now));
}

/*
 * Make sure the organization has a request an operator can complete:
 * expire the lapsed ones, then open one unless one is open or the last
 * one was locked (a locked request wants an operator's decision:
 * certspool org request).  0 or -1 (store).
 */
static int
org_request_ensure(struct eval *e)
{
	struct order	*o = e->o;
	sqlite3_stmt	*q = NULL;
	long long	 id;
	char		 detail[256];
	int		 rc = -1, open = 0, locked = 0;

	if (org_request_expire(e->st, o->org_id, o->batch_id, o->id) == -1)
		goto out;
	q = store_prep(e->st, "SELECT state FROM org_request WHERE org_id = ?"
	    " ORDER BY id DESC LIMIT 1", "i", o->org_id);
	if (q == NULL)
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(q, 0);

		open = s != NULL && strcmp(s, "open") == 0;
		locked = s != NULL && strcmp(s, "locked") == 0;
	}
	store_release(q);
	q = NULL;
	if (open || locked) {
		rc = 0;
		goto out;
	}

	if ((id = org_request_insert(e->st, o->org_id, NULL, 0)) == -1)
		goto out;
	snprintf(detail, sizeof(detail), "organization %lld \"%s\" request "
	    "%lld (S/MIME BR 3.2.3)", o->org_id, o->org_name, id);
	if (store_event(e->st, "org_validation_requested", o->batch_id, o->id,
	    0, NULL, "open", NULL, detail) == -1)
		goto out;
	rc = 0;
out:
	store_release(q);
	return rc;
}

enum stage_rc
stage_org(struct eval *e)
{
	struct order	*o = e->o;
	sqlite3_stmt	*q = NULL;
	long long	 validated = 0;
	int		 found = 0, has_validation = 0;

	if (o->prod == NULL)
		abort();	/* stage_terms runs first */
	if (o->prod->vtype == VT_MAILBOX)
		return STAGE_PASS;

	if (o->organization == NULL || o->organization[0] == '\0') {
		eval_reject(e, "organization_missing", "product %s is "
		    "%s-validated and needs an organization (S/MIME BR "
		    "3.2.3); the order names none", o->prod->name,
		    o->prod->vtype == VT_SPONSOR ? "sponsor" : "organization");
		return STAGE_REJECT;
	}

	/* Only this account's organizations: the key is (account, name). */
	q = store_prep(e->st, "SELECT id, name, country, org_identifier,"
	    " validated_at FROM organization WHERE account_id = ? AND"
	    " name = ?", "it", o->account_id, o->organization);
	if (q == NULL)
		goto fail;
	if (sqlite3_step(q) == SQLITE_ROW) {
		found = 1;
		o->org_id = sqlite3_column_int64(q, 0);
		free(o->org_name);
		free(o->org_country);
		free(o->org_identifier);
		o->org_name = store_col_text(q, 1);
		o->org_country = store_col_text(q, 2);
		o->org_identifier = store_col_text(q, 3);
		has_validation = sqlite3_column_type(q, 4) != SQLITE_NULL;
		validated = sqlite3_column_int64(q, 4);
	}
	store_release(q);
	q = NULL;
	if (!found) {
		eval_reject(e, "unknown_organization", "organization \"%s\" is "
		    "not an organization of this account; an operator adds it "
		    "with certspool org add", o->organization);
		return STAGE_REJECT;
	}

	if (has_validation && (long long)clock_now() - validated < ORG_REUSE)
		return STAGE_PASS;

	if (!e->dry_run && org_request_ensure(e) == -1)
		goto fail;
	eval_wait(e, S_WAIT_ORG, "organization \"%s\" needs S/MIME "
	    "organization validation (S/MIME BR 3.2.3)%s: certspool org "
	    "request %lld", o->org_name, has_validation ? ", the last one is "
	    "older than 825 days" : "", o->org_id);
	return STAGE_WAIT;

fail:
	store_release(q);
	log_err("order %lld: organization stage: store error; retried on "
	    "the next pass", o->id);
	return STAGE_ERROR;
}
