/*
 * store_metrics.c: the queries of the metrics file (store_metrics.h).
 * The event log is read by rowid after the last event observed, row by
 * row; the counts by account scan orders and recipients (about 0.5 s
 * each per million rows), the rest uses indexes or small tables.
 * Failure policy: a database error is returned as -1; the single-number
 * queries log it (store_int), the row loops leave it to the caller,
 * whose warning is rate-limited.
 */
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_metrics.h"

/* Rows of q (labels: the nlabels columns before the last, an integer)
 * streamed to fn. */
static int
each_row(struct dbstmt *q, int nlabels, metrics_row_fn fn, void *arg)
{
	struct metrics_row	 row;
	int			 i, r, stop = 0;

	if (q == NULL)
		return -1;
	while (!stop && (r = db_step(q)) == DB_ROW) {
		memset(&row, 0, sizeof(row));
		for (i = 0; i < nlabels; i++)
			row.label[i] = (const char *)db_text(q, i);
		row.n = db_int64(q, nlabels);
		stop = fn(arg, &row) == -1;
	}
	store_release(q);
	return !stop && r == DB_DONE ? 0 : -1;
}

int
metrics_event_last(struct store *st, long long *id)
{
	return store_int(st, id, 0, store_prep(st,
	    "SELECT max(id) FROM event", NULL));
}

int
metrics_events_after(struct store *st, long long after,
    int (*fn)(void *, const struct metrics_event *), void *arg)
{
	struct metrics_event	 e;
	struct dbstmt		*q;
	int			 r, stop = 0;

	q = store_prep(st, "SELECT e.id, e.kind, e.to_state, e.reason,"
	    " CASE WHEN e.kind = 'result_written' THEN e.at - (SELECT"
	    " b.received FROM batch b WHERE b.id = e.batch_id) END"
	    " FROM event e WHERE e.id > ? ORDER BY e.id", "i", after);
	if (q == NULL)
		return -1;
	while (!stop && (r = db_step(q)) == DB_ROW) {
		e.id = db_int64(q, 0);
		e.kind = (const char *)db_text(q, 1);
		e.to_state = (const char *)db_text(q, 2);
		e.reason = (const char *)db_text(q, 3);
		e.has_latency = !db_null(q, 4);
		e.latency = e.has_latency ? db_int64(q, 4) : 0;
		stop = fn(arg, &e) == -1;
	}
	store_release(q);
	return !stop && r == DB_DONE ? 0 : -1;
}

int
metrics_orders_by_account(struct store *st, metrics_row_fn fn, void *arg)
{
	return each_row(store_prep(st,
	    "SELECT a.name, x.state, x.n FROM (SELECT b.account_id AS aid,"
	    " o.state AS state, count(*) AS n FROM orders o JOIN batch b"
	    " ON b.id = o.batch_id GROUP BY 1, 2) x JOIN account a"
	    " ON a.id = x.aid ORDER BY 1, 2", NULL), 2, fn, arg);
}

int
metrics_recipients_by_account(struct store *st, metrics_row_fn fn,
    void *arg)
{
	return each_row(store_prep(st,
	    "SELECT a.name, x.state, x.n FROM (SELECT b.account_id AS aid,"
	    " r.state AS state, count(*) AS n FROM recipient r JOIN orders o"
	    " ON o.id = r.order_id JOIN batch b ON b.id = o.batch_id"
	    " GROUP BY 1, 2) x JOIN account a ON a.id = x.aid"
	    " ORDER BY 1, 2", NULL), 2, fn, arg);
}

int
metrics_queue_depth(struct store *st, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM"
	    " orders WHERE state IN ('new', 'approved', 'waiting_org',"
	    " 'waiting_dcv', 'waiting_csr', 'waiting_funds')", NULL));
}

int
metrics_oldest_received(struct store *st, const char *state,
    long long *received)
{
	/* orders_state holds the rowid: min(id) is one seek. */
	return store_int(st, received, -1, store_prep(st, "SELECT"
	    " b.received FROM orders o JOIN batch b ON b.id ="
	    " o.batch_id WHERE o.id = (SELECT min(id) FROM orders"
	    " WHERE state = ?)", "t", state));
}

int
metrics_certs_by_state(struct store *st, metrics_row_fn fn, void *arg)
{
	return each_row(store_prep(st,
	    "SELECT state, count(*) FROM certificate GROUP BY state",
	    NULL), 1, fn, arg);
}

int
metrics_certs_issued(struct store *st, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM"
	    " certificate WHERE state IN ('issued', 'superseded')", NULL));
}

int
metrics_certs_revoked(struct store *st, metrics_row_fn fn, void *arg)
{
	return each_row(store_prep(st,
	    "SELECT coalesce(revoke_reason, 'unspecified'),"
	    " count(*) FROM certificate WHERE revoked_at IS NOT NULL"
	    " GROUP BY 1", NULL), 1, fn, arg);
}

int
metrics_certs_stuck(struct store *st, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM"
	    " certificate WHERE stuck IS NOT NULL", NULL));
}

int
metrics_crl_age(struct store *st, long long now, metrics_row_fn fn,
    void *arg)
{
	return each_row(store_prep(st,
	    "SELECT issuer_id, shard, ? - this_update FROM crl_shard_state"
	    " WHERE this_update IS NOT NULL ORDER BY 1, 2", "i", now), 2, fn,
	    arg);
}

int
metrics_crl_number(struct store *st, metrics_row_fn fn, void *arg)
{
	return each_row(store_prep(st,
	    "SELECT issuer_id, shard, number FROM crl_shard_state"
	    " WHERE number IS NOT NULL ORDER BY 1, 2", NULL), 2, fn, arg);
}

int
metrics_crl_next_update(struct store *st, metrics_row_fn fn, void *arg)
{
	return each_row(store_prep(st, "SELECT issuer_id, shard, next_update"
	    " FROM crl_shard_state WHERE next_update IS NOT NULL ORDER BY 1, 2",
	    NULL), 2, fn, arg);
}

int
metrics_dcv_by_method(struct store *st, metrics_row_fn fn, void *arg)
{
	return each_row(store_prep(st, "SELECT"
	    " method, state, count(*) FROM dcv GROUP BY 1, 2 ORDER BY 1, 2",
	    NULL), 2, fn, arg);
}
