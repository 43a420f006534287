/*
 * store_org.c: organizations and their validation requests, as the
 * organization stage (stage_org.c) and the operator's commands
 * (cmd_validate.c) read and open them.  A request's code is stored only
 * as its hash (dcv.h token_hash); the code itself is shown once.
 * Failure policy: a database error is logged by store.c and returned as
 * -1; the caller rolls back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "extern.h"
#include "dcv.h"
#include "store.h"
#include "store_org.h"

int
org_find(struct store *st, long long account_id, const char *name,
    struct org_row *out)
{
	sqlite3_stmt	*q;
	int		 rc;

	memset(out, 0, sizeof(*out));
	/* Only this account's organizations: the key is (account, name). */
	q = store_prep(st, "SELECT id, name, country, org_identifier,"
	    " validated_at FROM organization WHERE account_id = ? AND"
	    " name = ?", "it", account_id, name);
	if (q == NULL)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		out->id = sqlite3_column_int64(q, 0);
		out->name = store_col_text(q, 1);
		out->country = store_col_text(q, 2);
		out->identifier = store_col_text(q, 3);
		out->validated = sqlite3_column_type(q, 4) != SQLITE_NULL;
		out->validated_at = sqlite3_column_int64(q, 4);
	}
	store_release(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW;
}

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

int
org_request_pending(struct store *st, long long org_id)
{
	sqlite3_stmt	*q;
	const char	*s;
	int		 rc, pending = 0;

	q = store_prep(st, "SELECT state FROM org_request WHERE org_id = ?"
	    " ORDER BY id DESC LIMIT 1", "i", org_id);
	if (q == NULL)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(q, 0);
		pending = s != NULL && (strcmp(s, "open") == 0 ||
		    strcmp(s, "locked") == 0);
	}
	store_release(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? pending : -1;
}
