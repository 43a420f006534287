/*
 * store_account.c: accounts, and the cancellation of an order by the
 * operator (certspool order cancel).  State changes go through
 * store_state.c, which checks them against SPEC 4 and writes their
 * events.
 * Failure policy: a database error is logged by store.c and returned as
 * -1; the command rolls back.
 */
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_account.h"
#include "store_state.h"

long long
account_lookup(struct store *st, const char *name)
{
	return store_account_id(st, name);
}

long long
account_insert(struct store *st, const char *name)
{
	if (store_done(st, store_prep(st, "INSERT INTO account (name,"
	    " balance, created) VALUES (?, 0, ?)", "ti", name,
	    (long long)clock_now())) == -1)
		return -1;
	return store_last_id(st);
}

int
account_name(struct store *st, long long id, char **name)
{
	struct dbstmt	*q;
	int		 rc;

	*name = NULL;
	if ((q = store_prep(st, "SELECT name FROM account WHERE id = ?",
	    "i", id)) == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW)
		*name = store_col_text(q, 0);
	store_release(q);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int
order_find_ext(struct store *st, const char *batch_ext,
    const char *order_ext, const char *account, struct order_ref *out)
{
	struct dbstmt	*q;
	int		 rc, n = 0;

	memset(out, 0, sizeof(*out));
	if ((q = store_prep(st, "SELECT o.id, o.batch_id, o.state FROM"
	    " orders o JOIN batch b ON b.id = o.batch_id JOIN account a ON"
	    " a.id = b.account_id WHERE b.ext_id = ? AND o.ext_id = ? AND"
	    " (CAST(? AS TEXT) IS NULL OR a.name = ?)", "tttt", batch_ext,
	    order_ext, account, account)) == NULL)
		return -1;
	while ((rc = db_step(q)) == DB_ROW) {
		out->id = db_int64(q, 0);
		out->batch_id = db_int64(q, 1);
		free(out->state);
		out->state = store_col_text(q, 2);
		n++;
	}
	store_release(q);
	if (rc != DB_DONE) {
		free(out->state);
		out->state = NULL;
		return -1;
	}
	return n;
}

int
order_signing(struct store *st, long long order_id)
{
	long long	 n;

	if (store_int(st, &n, 0, store_prep(st, "SELECT count(*)"
	    " FROM recipient WHERE order_id = ? AND state = 'approved'", "i",
	    order_id)) == -1)
		return -1;
	return n > 0;
}

struct open_rcpt {
	long long	 id;
	char		 state[24];
};

/* The order's recipients still open, read before any is moved. */
static int
open_rcpts(struct store *st, long long order_id, struct open_rcpt **v,
    size_t *n)
{
	struct dbstmt	*q;
	struct open_rcpt *t;
	const char	*s;
	int		 rc;

	*v = NULL;
	*n = 0;
	if ((q = store_prep(st, "SELECT id, state FROM recipient WHERE"
	    " order_id = ? AND state NOT IN ('issued', 'rejected',"
	    " 'cancelled')", "i", order_id)) == NULL)
		return -1;
	while ((rc = db_step(q)) == DB_ROW) {
		if ((t = reallocarray(*v, *n + 1, sizeof(**v))) == NULL) {
			log_err("out of memory");
			abort();
		}
		*v = t;
		t[*n].id = db_int64(q, 0);
		s = (const char *)db_text(q, 1);
		strlcpy_(t[*n].state, s ? s : "", sizeof(t[*n].state));
		(*n)++;
	}
	store_release(q);
	return rc == DB_DONE ? 0 : -1;
}

int
order_cancel(struct store *st, long long batch_id, long long order_id)
{
	struct state_move	 m;
	struct open_rcpt	*r = NULL;
	char			*from = NULL;
	struct dbstmt		*q;
	size_t			 n = 0, i;
	int			 rc = -1;

	if (open_rcpts(st, order_id, &r, &n) == -1)
		goto out;
	memset(&m, 0, sizeof(m));
	m.batch = batch_id;
	m.order = order_id;
	m.to = S_CANCELLED;
	m.reason = "order_cancelled";
	m.message = "the order was cancelled";
	for (i = 0; i < n; i++) {
		m.rcpt = r[i].id;
		m.from = r[i].state;
		if (rcpt_move(st, &m) == -1)
			goto out;
	}

	/* The order's state now, in this transaction. */
	if ((q = store_prep(st, "SELECT state FROM orders WHERE id = ?", "i",
	    order_id)) == NULL)
		goto out;
	if (db_step(q) == DB_ROW)
		from = store_col_text(q, 0);
	store_release(q);
	if (from == NULL)
		goto out;
	m.rcpt = 0;
	m.from = from;
	m.kind = "order_state";
	m.message = "the order was cancelled: no further certificates,"
	    " reissues or renewals";
	if (order_move(st, &m) == -1 ||
	    store_done(st, store_prep(st, "UPDATE orders SET cancelled_at = ?"
	    " WHERE id = ?", "ii", (long long)clock_now(), order_id)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE batch SET dirty = 1"
	    " WHERE id = ?", "i", batch_id)) == -1)
		goto out;
	rc = 0;
out:
	free(from);
	free(r);
	return rc;
}
