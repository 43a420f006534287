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


#include "extern.h"
#include "store.h"
#include "store_org.h"

int
org_find(struct store *st, long long account_id, const char *name,
    struct org_row *out)
{
	struct dbstmt	*q;
	int		 rc;

	memset(out, 0, sizeof(*out));
	/* Only this account's organizations: the key is (account, name). */
	q = store_prep(st, "SELECT id, name, country, org_identifier,"
	    " validated_at FROM organization WHERE account_id = ? AND"
	    " name = ?", "it", account_id, name);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		out->id = db_int64(q, 0);
		out->name = store_col_text(q, 1);
		out->country = store_col_text(q, 2);
		out->identifier = store_col_text(q, 3);
		out->validated = !db_null(q, 4);
		out->validated_at = db_int64(q, 4);
	}
	store_release(q);
	if (rc != DB_ROW && rc != DB_DONE)
		return -1;
	return rc == DB_ROW;
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
	struct dbstmt	*q;
	long long	 now = clock_now();
	char		 detail[128];

	if ((q = store_prep(st, "SELECT id FROM org_request WHERE org_id = ?"
	    " AND state = 'open' AND expires <= ?", "ii", org_id, now)) == NULL)
		return -1;
	while (db_step(q) == DB_ROW) {
		snprintf(detail, sizeof(detail), "organization %lld request "
		    "%lld", org_id, (long long)db_int64(q, 0));
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
	struct dbstmt	*q;
	const char	*s;
	int		 rc, pending = 0;

	q = store_prep(st, "SELECT state FROM org_request WHERE org_id = ?"
	    " ORDER BY id DESC LIMIT 1", "i", org_id);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		s = (const char *)db_text(q, 0);
		pending = s != NULL && (strcmp(s, "open") == 0 ||
		    strcmp(s, "locked") == 0);
	}
	store_release(q);
	return rc == DB_ROW || rc == DB_DONE ? pending : -1;
}

int
org_exists(struct store *st, long long id)
{
	long long	 n;

	if (store_int(st, &n, 0, store_prep(st, "SELECT COUNT(*)"
	    " FROM organization WHERE id = ?", "i", id)) == -1)
		return -1;
	return n != 0;
}

long long
org_id_by_name(struct store *st, long long account_id, const char *name)
{
	long long	 id;

	if (store_int(st, &id, 0, store_prep(st, "SELECT id FROM"
	    " organization WHERE account_id = ? AND name = ?", "it",
	    account_id, name)) == -1)
		return -1;
	return id;
}

long long
org_add(struct store *st, long long account_id, const char *account,
    const char *name, const char *country, const char *org_identifier)
{
	char		 detail[320];
	long long	 id;

	if (store_done(st, store_prep(st, "INSERT INTO organization"
	    " (account_id, name, country, org_identifier, created)"
	    " VALUES (?, ?, ?, ?, ?)", "ittti",
	    account_id, name, country, org_identifier,
	    (long long)clock_now())) == -1)
		return -1;
	id = store_last_id(st);
	snprintf(detail, sizeof(detail), "organization %lld \"%s\" of account "
	    "%s, %s, %s", id, name, account, country, org_identifier);
	if (store_event(st, "org_added", 0, 0, 0, NULL, NULL, NULL,
	    detail) == -1)
		return -1;
	return id;
}

int
org_name(struct store *st, long long id, char **name)
{
	struct dbstmt	*q;

	*name = NULL;
	if ((q = store_prep(st, "SELECT name FROM organization WHERE"
	    " id = ?", "i", id)) == NULL)
		return -1;
	*name = db_step(q) == DB_ROW ? store_col_text(q, 0) : NULL;
	store_release(q);
	return *name != NULL;
}

void
org_req_free(struct org_req *r)
{
	free(r->code);
	free(r->code_hash);
	free(r->state);
	free(r->org);
	memset(r, 0, sizeof(*r));
}

long long
org_request_stale(struct store *st, long long now)
{
	long long	 org;

	if (store_int(st, &org, 0, store_prep(st, "SELECT org_id FROM"
	    " org_request WHERE state = 'open' AND expires <= ?"
	    " LIMIT 1", "i", now)) == -1)
		return -1;
	return org;
}

int
org_request_open(struct store *st, long long org, struct org_req *r)
{
	struct dbstmt	*q;

	memset(r, 0, sizeof(*r));
	if ((q = store_prep(st, "SELECT r.id, r.code, r.expires, o.name"
	    " FROM organization o LEFT JOIN org_request r ON r.org_id = o.id"
	    " AND r.state = 'open' WHERE o.id = ? ORDER BY r.id DESC LIMIT 1",
	    "i", org)) == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		r->id = db_int64(q, 0);
		r->code = store_col_text(q, 1);
		r->expires = db_int64(q, 2);
		r->org = store_col_text(q, 3);
	}
	store_release(q);
	return r->org != NULL;
}

int
org_request_latest(struct store *st, long long org, struct org_req *r)
{
	struct dbstmt	*q;

	memset(r, 0, sizeof(*r));
	q = store_prep(st, "SELECT r.id, r.code_hash, r.expires, r.tries,"
	    " r.state, o.name FROM org_request r JOIN organization o ON"
	    " o.id = r.org_id WHERE r.org_id = ? ORDER BY r.id DESC LIMIT 1",
	    "i", org);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		r->id = db_int64(q, 0);
		r->code_hash = store_col_text(q, 1);
		r->expires = db_int64(q, 2);
		r->tries = db_int64(q, 3);
		r->state = store_col_text(q, 4);
		r->org = store_col_text(q, 5);
	}
	store_release(q);
	return 0;
}

int
org_request_opened(struct store *st, long long org, long long rid,
    const char *code)
{
	char	 detail[256];

	snprintf(detail, sizeof(detail), "organization %lld request "
	    "%lld opened by the operator (S/MIME BR 3.2.3)", org, rid);
	if (store_done(st, store_prep(st, "UPDATE org_request"
	    " SET code = ? WHERE id = ?", "ti", code, rid)) == -1 ||
	    store_event(st, "org_validation_requested", 0, 0, 0,
	    NULL, "open", NULL, detail) == -1)
		return -1;
	return 0;
}

int
org_request_reissue(struct store *st, long long rid, const char *hash,
    const char *code, long long expires, const char *detail)
{
	if (store_done(st, store_prep(st, "UPDATE org_request"
	    " SET code_hash = ?, code = ?, tries = 0, expires = ?"
	    " WHERE id = ?", "ttii", hash, code, expires, rid)) == -1 ||
	    store_event(st, "org_request_reissued", 0, 0, 0,
	    "open", "open", NULL, detail) == -1)
		return -1;
	return 0;
}

long long
org_request_wrong_code(struct store *st, long long org, long long rid,
    long long tries)
{
	char	 detail[512];
	int	 locked;

	tries++;
	locked = tries >= ORG_MAX_TRIES;
	snprintf(detail, sizeof(detail), "organization %lld request "
	    "%lld: wrong code, try %lld of %d", org, rid, tries,
	    ORG_MAX_TRIES);
	if (store_done(st, store_prep(st, "UPDATE org_request"
	    " SET tries = ?, state = ? WHERE id = ?", "iti", tries,
	    locked ? "locked" : "open", rid)) == -1 ||
	    store_event(st, locked ? "org_request_locked" :
	    "org_verify_failed", 0, 0, 0, "open", locked ? "locked" : "open",
	    NULL, detail) == -1)
		return -1;
	return tries;
}

int
org_validate(struct store *st, long long org, long long rid, const char *by,
    long long now, const char *detail)
{
	if (store_done(st, store_prep(st, "UPDATE org_request SET"
	    " state = 'used' WHERE id = ?", "i", rid)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE organization SET"
	    " validated_at = ?, validated_by = ?, validation_method = ?"
	    " WHERE id = ?", "itti", now, by,
	    "phone verification code (S/MIME BR 3.2.3)", org)) == -1 ||
	    store_event(st, "org_validated", 0, 0, 0, "open", "used",
	    NULL, detail) == -1)
		return -1;
	return 0;
}
