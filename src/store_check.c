/*
 * store_check.c: the statements of certspool check's dry run
 * (store_check.h).  They run inside the transaction cmd_check.c begins
 * and always rolls back, so that nothing they write outlives the check.
 * Recipient states move through rcpt_move() (store_state.c) like any
 * other; a move the machine refuses is not forced but returned.
 * Failure policy: a database error is logged (store.c) and returned;
 * the check then rolls back and says so.
 */
#include <string.h>


#include "extern.h"
#include "batch.h"
#include "store.h"
#include "store_check.h"
#include "store_state.h"

/* count(*) from q > 0: 1, 0 if not, -1 on error. */
static int
any(struct store *st, struct dbstmt *q)
{
	long long	 n = 0;

	if (store_int(st, &n, 0, q) == -1)
		return -1;
	return n > 0;
}

int
check_file_seen(struct store *st, long long aid, const char *sha)
{
	return any(st, store_prep(st, "SELECT COUNT(*) FROM"
	    " input WHERE account_id = ? AND sha256 = ? AND"
	    " outcome = 'accepted'", "it", aid, sha));
}

int
check_batch_seen(struct store *st, long long aid, const char *ext_id)
{
	return any(st, store_prep(st, "SELECT COUNT(*) FROM"
	    " batch WHERE account_id = ? AND ext_id = ?", "it", aid, ext_id));
}

long long
check_batch_store(struct store *st, long long aid, const struct batch_head *h,
    const char *sha, const char *name)
{
	if (store_done(st, store_prep(st,
	    "INSERT INTO batch (account_id, ext_id, sha256, file_name,"
	    " received, created, att_officer, att_title)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ittti" "ttt",
	    aid, h->id, sha, name, (long long)clock_now(),
	    h->created, h->att_officer, h->att_title)) == -1)
		return -1;
	return store_last_id(st);
}

int
check_failed_on_constraint(struct store *st)
{
	return db_constraint(st);
}

int
check_csr_waiting(struct store *st, long long aid, const char *ext_id,
    const char *email, long long *rid, long long *oid)
{
	struct dbstmt	*q;

	*rid = *oid = 0;
	q = store_prep(st, "SELECT r.id, o.id FROM recipient r"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " WHERE b.account_id = ? AND o.ext_id = ? AND r.email = ?"
	    " AND r.csr_later = 1 AND r.csr IS NULL"
	    " AND r.state IN ('new', 'waiting_csr')"
	    " ORDER BY b.id DESC LIMIT 1", "itt", aid, ext_id, email);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		*rid = db_int64(q, 0);
		*oid = db_int64(q, 1);
	}
	store_release(q);
	return *rid != 0;
}

int
check_csr_take(struct store *st, long long rid, long long oid,
    const char *csr)
{
	struct state_move	 m;

	if (store_done(st, store_prep(st, "UPDATE recipient SET"
	    " csr = ? WHERE id = ?", "ti", csr, rid)) == -1)
		return -1;
	/* check_csr_waiting found it new or waiting_csr: new it is. */
	memset(&m, 0, sizeof(m));
	m.order = oid;
	m.rcpt = rid;
	m.from = S_WAIT_CSR;
	m.to = S_NEW;
	return rcpt_move(st, &m) == -1 ? -1 : 0;
}

int
check_order_ids(struct store *st, long long batch, long long after,
    long long *ids, int max)
{
	struct dbstmt	*q;
	int		 n = 0;

	q = store_prep(st, "SELECT id FROM orders WHERE batch_id = ?"
	    " AND id > ? ORDER BY id LIMIT ?", "iii", batch, after,
	    (long long)max);
	if (q == NULL)
		return -1;
	while (n < max && db_step(q) == DB_ROW)
		ids[n++] = db_int64(q, 0);
	store_release(q);
	return n;
}

int
check_refusal(struct store *st, long long oid, char **reason,
    char **message)
{
	struct dbstmt	*q;

	*reason = *message = NULL;
	q = store_prep(st, "SELECT reason, message FROM orders WHERE id = ?",
	    "i", oid);
	if (q == NULL || db_step(q) != DB_ROW) {
		store_release(q);
		return -1;
	}
	*reason = store_col_text(q, 0);
	*message = store_col_text(q, 1);
	store_release(q);
	return 0;
}

int
check_rcpt_keep(struct store *st, const struct state_move *m,
    const char *spki)
{
	int	 moved = 1;

	/* An unchanged state is no move: only the key's hash is written. */
	if (strcmp(m->from, m->to) != 0) {
		if (!state_move_ok(STATE_RECIPIENT, m->from, m->to))
			moved = 0;
		else if ((moved = rcpt_move(st, m)) == -1)
			return -1;
	}
	if (store_done(st, store_prep(st, "UPDATE recipient SET"
	    " spki_sha256 = ? WHERE id = ?", "ti", spki, m->rcpt)) == -1)
		return -1;
	return moved ? 0 : 1;
}
