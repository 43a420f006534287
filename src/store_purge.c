/*
 * store_purge.c: the queries of retention (store_purge.h).  An archived
 * file is matched to its input row by (account, SHA-256); the checks
 * that keep an input the database still works on read the batch's
 * orders and recipients, or the revocation document's requests.
 * Failure policy: a database error is returned as -1 and stops the
 * purge (purge.c removes nothing it did not check).
 */
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_purge.h"

int
purge_accounts_load(struct store *st, struct purge_accounts *a)
{
	struct dbstmt	*q;

	memset(a, 0, sizeof(*a));
	if ((q = store_prep(st, "SELECT id, name FROM account ORDER BY"
	    " name", NULL)) == NULL)
		return -1;
	while (db_step(q) == DB_ROW) {
		a->name = reallocarray(a->name, a->n + 1, sizeof(*a->name));
		a->id = reallocarray(a->id, a->n + 1, sizeof(*a->id));
		if (a->name == NULL || a->id == NULL)
			abort();
		a->id[a->n] = db_int64(q, 0);
		a->name[a->n++] = store_col_text(q, 1);
	}
	if (store_release(q) != DB_OK) {
		purge_accounts_free(a);
		return -1;
	}
	return 0;
}

void
purge_accounts_free(struct purge_accounts *a)
{
	size_t	 i;

	for (i = 0; i < a->n; i++)
		free(a->name[i]);
	free(a->name);
	free(a->id);
	memset(a, 0, sizeof(*a));
}

int
archived_input_find(struct store *st, long long account_id, const char *sha,
    struct archived_input *in)
{
	struct dbstmt	*q;
	long long	 v = 0;

	memset(in, 0, sizeof(*in));
	q = store_prep(st, "SELECT id, kind, batch_id FROM input WHERE"
	    " account_id = ? AND sha256 = ? AND outcome = 'accepted'"
	    " ORDER BY id LIMIT 1", "it", account_id, sha);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		in->id = db_int64(q, 0);
		if (db_text(q, 1) != NULL)
			strlcpy_(in->kind, (const char *)db_text(q,
			    1), sizeof(in->kind));
		in->batch_id = db_int64(q, 2);
	}
	if (store_release(q) != DB_OK)
		return -1;
	if (in->id == 0)
		return 0;
	if (strcmp(in->kind, "batch") == 0 && in->batch_id != 0) {
		if (store_int(st, &v, 0, store_prep(st, "SELECT EXISTS (SELECT"
		    " 1 FROM orders WHERE batch_id = ? AND card_flag = 1)", "i",
		    in->batch_id)) == -1)
			return -1;
		in->card = v != 0;
		if (store_int(st, &v, 0, store_prep(st, "SELECT EXISTS (SELECT"
		    " 1 FROM orders WHERE batch_id = ? AND state NOT IN"
		    " ('issued', 'rejected', 'cancelled')) OR EXISTS (SELECT 1"
		    " FROM recipient r JOIN orders o ON o.id = r.order_id"
		    " WHERE o.batch_id = ? AND r.state NOT IN ('issued',"
		    " 'rejected', 'cancelled'))", "ii", in->batch_id,
		    in->batch_id)) == -1)
			return -1;
		in->open = v != 0;
	} else if (strcmp(in->kind, "revocation") == 0) {
		if (store_int(st, &v, 0, store_prep(st, "SELECT EXISTS (SELECT"
		    " 1 FROM revocation_doc d WHERE d.account_id = ? AND"
		    " d.sha256 = ? AND (d.written < d.seq OR EXISTS (SELECT 1"
		    " FROM revoke_request r WHERE r.doc_id = d.id AND"
		    " r.state = 'pending')))", "it", account_id, sha)) == -1)
			return -1;
		in->open = v != 0;
	}
	return 0;
}

int
purge_last(struct store *st, long long *at)
{
	return store_int(st, at, 0, store_prep(st, "SELECT CAST(value AS"
	    " INTEGER) FROM meta WHERE key = 'purge_last'", NULL));
}

int
purge_mark_run(struct store *st, long long now, const char *detail)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_event(st, "purge", 0, 0, 0, NULL, NULL, "retention",
	    detail) == -1 ||
	    store_done(st, store_prep(st, "INSERT INTO meta (key, value)"
	    " VALUES ('purge_last', CAST(? AS TEXT)) ON CONFLICT (key)"
	    " DO UPDATE SET value = excluded.value", "i",
	    now)) == -1 || store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}
