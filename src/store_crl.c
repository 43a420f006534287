/*
 * store_crl.c: the CRL shards' publication state, the CRL numbers, the
 * revoked entries of a shard and the end of a retired issuer's CRLs
 * (store_crl.h).  crl.c and crl_publish.c say what these mean.
 *
 * Failure policy: a database error is logged and returned as -1; the
 * functions that are transaction boundaries roll back first.
 */
#include <stdio.h>


#include "extern.h"
#include "store.h"
#include "store_crl.h"

int
crl_snapshot_begin(struct store *st)
{
	return store_exec(st, "BEGIN");
}

void
crl_snapshot_end(struct store *st)
{
	store_exec(st, "COMMIT");
}

void
crl_snapshot_abort(struct store *st)
{
	store_exec(st, "ROLLBACK");
}

int
crl_entries_each(struct store *st, int issuer, int shard, time_t cutoff,
    int (*fn)(void *, const struct crl_entry_row *), void *arg)
{
	struct crl_entry_row	 row;
	struct dbstmt		*q;
	int			 r, rc = -1;

	q = store_prep(st, "SELECT serial, revoked_at, revoke_reason,"
	    " invalidity_at FROM certificate INDEXED BY certificate_revoked"
	    " WHERE issuer_id = ? AND crl_shard = ? AND revoked_at IS NOT"
	    " NULL AND not_after >= ? ORDER BY issuer_id, crl_shard, id",
	    "iii", (long long)issuer, (long long)shard, (long long)cutoff);
	if (q == NULL)
		return -1;
	while ((r = db_step(q)) == DB_ROW) {
		row.serial = (const char *)db_text(q, 0);
		row.revoked_at = (time_t)db_int64(q, 1);
		row.reason = (const char *)db_text(q, 2);
		row.invalidity_at = (time_t)db_int64(q, 3);
		if (fn(arg, &row) == -1)
			goto out;
	}
	if (r != DB_DONE) {
		log_err("crl: shard %d: db: %s", shard,
		    db_errmsg(st));
		goto out;
	}
	rc = 0;
out:
	store_release(q);
	return rc;
}

int
crl_shard_status(struct store *st, int iss, int shard,
    struct crl_shard_status *s)
{
	struct dbstmt	*q;
	int		 r;

	s->dirty = 1;
	s->number = -1;
	s->this_update = 0;
	q = store_prep(st, "SELECT dirty, number, this_update FROM"
	    " crl_shard_state WHERE issuer_id = ? AND shard = ?", "ii",
	    (long long)iss, (long long)shard);
	if (q == NULL)
		return -1;
	if ((r = db_step(q)) == DB_ROW) {
		s->dirty = db_int64(q, 0);
		if (!db_null(q, 1))
			s->number = db_int64(q, 1);
		s->this_update = (time_t)db_int64(q, 2);
	}
	store_release(q);
	if (r != DB_ROW && r != DB_DONE)
		return -1;
	return 0;
}

int
crl_number_allocate(struct store *st, int iss, int shard, long long fmax,
    long long *number, time_t *cutoff)
{
	long long	 a = 0, b = 0, c = 0;

	if (store_begin(st) == -1)
		return -1;
	if (store_int(st, &a, 0, store_prep(st, "SELECT CAST(value AS"
	    " INTEGER) FROM meta WHERE key = 'crl_number'", NULL)) == -1 ||
	    store_int(st, &b, 0, store_prep(st, "SELECT max(number) FROM"
	    " crl_shard_state", NULL)) == -1 ||
	    store_int(st, &c, 0, store_prep(st, "SELECT this_update FROM"
	    " crl_shard_state WHERE issuer_id = ? AND shard = ?", "ii",
	    (long long)iss, (long long)shard)) == -1)
		goto fail;
	if (b > a)
		a = b;
	if (fmax > a)
		a = fmax;
	*number = a + 1;
	*cutoff = (time_t)c;
	if (store_done(st, store_prep(st, "INSERT INTO meta (key, value)"
	    " VALUES ('crl_number', CAST(? AS TEXT)) ON CONFLICT (key)"
	    " DO UPDATE SET value = excluded.value", "i",
	    *number)) == -1 ||
	    store_done(st, store_prep(st, "INSERT INTO crl_shard_state"
	    " (issuer_id, shard, dirty) VALUES (?, ?, 2) ON CONFLICT DO NOTHING",
	    "ii", (long long)iss, (long long)shard)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE crl_shard_state SET"
	    " dirty = 2 WHERE issuer_id = ? AND shard = ?", "ii",
	    (long long)iss, (long long)shard)) == -1)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return -1;
}

int
crl_shard_published(struct store *st, int iss, int shard, long long number,
    time_t tu, time_t nu)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "UPDATE crl_shard_state SET"
	    " number = ?, prev_this_update = this_update, this_update = ?,"
	    " next_update = ?, dirty = CASE dirty WHEN 2 THEN 0 ELSE dirty"
	    " END WHERE issuer_id = ? AND shard = ?", "iiiii", number,
	    (long long)tu, (long long)nu, (long long)iss,
	    (long long)shard)) == -1) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st);
}

int
crl_issuer_progress(struct store *st, int iss,
    struct crl_issuer_progress *p)
{
	long long	 ended = 0, n = 0;

	p->ended = p->retired = 0;
	p->last_not_after = p->shards_done = p->oldest_this_update = 0;
	if (store_int(st, &ended, 0, store_prep(st, "SELECT crl_ended FROM"
	    " issuer WHERE id = ? AND state = 'retired'", "i",
	    (long long)iss)) == -1)
		return -1;
	if (ended > 0) {
		p->ended = 1;
		return 0;
	}
	if (store_int(st, &n, 0, store_prep(st, "SELECT count(*) FROM issuer"
	    " WHERE id = ? AND state = 'retired'", "i", (long long)iss)) == -1)
		return -1;
	if (n == 0)
		return 0;
	p->retired = 1;
	if (store_int(st, &p->last_not_after, 0, store_prep(st, "SELECT"
	    " max(not_after) FROM certificate WHERE issuer_id = ?", "i",
	    (long long)iss)) == -1 ||
	    store_int(st, &p->shards_done, 0, store_prep(st, "SELECT count(*)"
	    " FROM crl_shard_state WHERE issuer_id = ? AND number IS NOT NULL"
	    " AND dirty = 0", "i", (long long)iss)) == -1 ||
	    store_int(st, &p->oldest_this_update, 0, store_prep(st, "SELECT"
	    " min(this_update) FROM crl_shard_state WHERE issuer_id = ? AND"
	    " number IS NOT NULL", "i", (long long)iss)) == -1)
		return -1;
	return 0;
}

int
crl_issuer_end(struct store *st, int iss, long long at)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "UPDATE issuer SET crl_ended = ?"
	    " WHERE id = ?", "ii", at, (long long)iss)) == -1) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st);
}
