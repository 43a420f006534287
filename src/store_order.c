/*
 * store_order.c: the orders in the store, from intake to evaluation
 * (store_order.h): the SQL of spool.c, intake.c, pipeline.c, fairq.c
 * and daemon.c.  The open orders are read through the partial indexes
 * of schema 8 (orders_open, recipient_approved), which a query names
 * (INDEXED BY) and whose WHERE it repeats (FAIRQ_OPEN_STATES).
 * Failure policy: a database error is logged (store.c) and returned;
 * the caller rolls back and retries in a later pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "batch.h"
#include "stage.h"
#include "store.h"
#include "store_order.h"
#include "store_state.h"

/* ---- accounts ---- */

int
account_each(struct store *st, int (*fn)(void *, long long, const char *),
    void *arg)
{
	struct dbstmt	*q;
	int		 rc = 0;

	q = store_prep(st, "SELECT id, name FROM account WHERE id > 0"
	    STORE_HELD("id") " ORDER BY name", "ii", st->node, st->node);
	if (q == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW) {
		char		*name = store_col_text(q, 1);
		long long	 id = db_int64(q, 0);

		rc = fn(arg, id, name);
		free(name);
	}
	store_release(q);
	return rc == -1 ? -1 : 0;
}

int
account_each_name(struct store *st, int (*fn)(void *, const char *),
    void *arg)
{
	struct dbstmt	*q;
	int		 rc = 0;

	if ((q = store_prep(st, "SELECT name FROM account", NULL)) == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW)
		rc = fn(arg, (const char *)db_text(q, 0));
	store_release(q);
	return rc == -1 ? -1 : 0;
}

int
account_name_known(struct store *st, const char *name)
{
	struct dbstmt	*q;
	int		 known;

	if ((q = store_prep(st, "SELECT 1 FROM account WHERE name = ?",
	    "t", name)) == NULL)
		return -1;
	known = db_step(q) == DB_ROW;
	store_release(q);
	return known;
}

/* ---- inputs and batches ---- */

void
input_seen_free(struct input_seen *s)
{
	free(s->work_name);
	free(s->batch);
	memset(s, 0, sizeof(*s));
}

int
batch_submitted(struct store *st, long long account_id, const char *ext_id,
    struct input_seen *s)
{
	struct dbstmt	*q;
	int		 found = 0;

	memset(s, 0, sizeof(*s));
	q = store_prep(st, "SELECT b.id, i.work_name, b.received"
	    " FROM batch b LEFT JOIN input i ON i.batch_id = b.id"
	    " WHERE b.account_id = ? AND b.ext_id = ?", "it",
	    account_id, ext_id);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		s->id = db_int64(q, 0);
		s->work_name = store_col_text(q, 1);
		s->received = db_int64(q, 2);
		found = s->id != 0;
	}
	store_release(q);
	return found;
}

long long
batch_store(struct store *st, long long account_id, const char *ext_id,
    const char *sha, const char *file_name, const char *created,
    const char *att_officer, const char *att_title)
{
	if (store_done(st, store_prep(st,
	    "INSERT INTO batch (account_id, ext_id, sha256, file_name,"
	    " received, created, att_officer, att_title)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ittti" "ttt",
	    account_id, ext_id, sha, file_name,
	    (long long)clock_now(), created, att_officer,
	    att_title)) == -1)
		return -1;
	return store_last_id(st);
}

int
batch_received(struct store *st, long long batch_id, const char *file_name)
{
	return store_event(st, "batch_received", batch_id, 0, 0,
	    NULL, NULL, NULL, file_name);
}

int
batch_mark_dirty(struct store *st, long long batch_id)
{
	return store_done(st, store_prep(st,
	    "UPDATE batch SET dirty = 1 WHERE id = ?", "i", batch_id));
}

void
batch_log_names(struct store *st, long long batch_id, char *acct,
    char *bext, size_t len)
{
	struct dbstmt	*q;

	acct[0] = bext[0] = '\0';
	q = store_prep(st, "SELECT a.name, b.ext_id FROM batch b JOIN"
	    " account a ON a.id = b.account_id WHERE b.id = ?", "i",
	    batch_id);
	if (q != NULL && db_step(q) == DB_ROW) {
		snprintf(acct, len, "%s", db_text(q, 0));
		snprintf(bext, len, "%s", db_text(q, 1));
	}
	store_release(q);
}

long long
input_record(struct store *st, long long account_id, const char *sha,
    const char *name, const char *kind, const char *outcome,
    long long batch_id, const char *detail)
{
	if (store_done(st, store_prep(st,
	    "INSERT INTO input (account_id, sha256, work_name, kind, outcome,"
	    " batch_id, received) VALUES (?, ?, ?, ?, ?, NULLIF(?, 0), ?)",
	    "itttti" "i", account_id, sha, name, kind, outcome, batch_id,
	    (long long)clock_now())) == -1)
		return -1;
	if (store_event(st, strcmp(outcome, "accepted") == 0 ?
	    "input_accepted" : "input_rejected", batch_id, 0, 0, NULL, NULL,
	    NULL, detail ? detail : name) == -1)
		return -1;
	return store_last_id(st);
}

int
input_last(struct store *st, long long account_id, const char *sha,
    const char *name, struct input_seen *s)
{
	struct dbstmt	*q;
	int		 found = 0;

	memset(s, 0, sizeof(*s));
	q = store_prep(st, "SELECT id, outcome FROM input WHERE"
	    " account_id = ? AND sha256 = ? AND work_name = ?"
	    " ORDER BY id DESC LIMIT 1", "itt", account_id, sha, name);
	if (q != NULL && db_step(q) == DB_ROW) {
		s->id = db_int64(q, 0);
		s->accepted = strcmp((const char *)db_text(q, 1),
		    "accepted") == 0;
		found = 1;
	}
	store_release(q);
	return found;
}

int
input_accepted_first(struct store *st, long long account_id, const char *sha,
    struct input_seen *s)
{
	struct dbstmt	*q;
	int		 found = 0;

	memset(s, 0, sizeof(*s));
	q = store_prep(st, "SELECT i.work_name, i.received, b.ext_id"
	    " FROM input i LEFT JOIN batch b ON b.id = i.batch_id"
	    " WHERE i.account_id = ? AND i.sha256 = ? AND"
	    " i.outcome = 'accepted' ORDER BY i.id LIMIT 1", "it",
	    account_id, sha);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		s->work_name = store_col_text(q, 0);
		s->received = db_int64(q, 1);
		s->batch = store_col_text(q, 2);
		s->accepted = found = 1;
	}
	store_release(q);
	return found;
}

int
input_conflict(struct store *st)
{
	return db_constraint(st);
}

/* ---- a parsed order ---- */

long long
order_insert(struct store *st, long long batch_id, const struct order_row *w)
{
	const struct order_in	*o = w->in;

	if (store_done(st, store_prep(st,
	    "INSERT INTO orders (batch_id, ext_id, line, product, organization,"
	    " sig_hash, vkind, vvalue, auto_renew, att_officer, att_title,"
	    " add_emails, pay_method, pay_ref, agreement, state, updated,"
	    " card_flag, reason, message, account_id)"
	    " VALUES (?,?,?,?,?, ?,?,?,?,?, ?,?,?,?,?, ?,?,?,NULLIF(?, ''),"
	    " NULLIF(?, ''), (SELECT account_id FROM batch WHERE id = ?1))",
	    "itittt" "iti" "ttttt" "i" "tii" "tt",
	    batch_id, o->id, (long long)o->line, o->product,
	    w->organization, o->sig_hash ? o->sig_hash : "",
	    (long long)o->vkind, o->vvalue, (long long)o->auto_renew,
	    o->att_officer, o->att_title, o->additional_emails, o->pay_method,
	    w->pay_ref, (long long)o->agreement, w->state,
	    (long long)clock_now(), (long long)w->card_flag, w->reason,
	    w->message)) == -1)
		return -1;
	return store_last_id(st);
}

int
rcpt_insert(struct store *st, long long oid, long long idx,
    const struct recipient_in *r, const struct rcpt_names *n,
    const struct order_row *w)
{
	return store_done(st, store_prep(st,
	    "INSERT INTO recipient (order_id, idx, cn_type, cn,"
	    " given_name, surname, pseudonym, email, csr, csr_later,"
	    " keygen, state, reason, message, account_id)"
	    " VALUES (?,?,?,?,?, ?,?,?,?,?, ?,?,NULLIF(?, ''),"
	    " NULLIF(?, ''), (SELECT account_id FROM orders"
	    " WHERE id = ?1))",
	    "iiit" "t" "tttt" "i" "tt" "tt", oid, idx,
	    (long long)r->cn_type, n->cn, n->given_name, n->surname,
	    n->pseudonym, r->email, r->csr, (long long)r->csr_later, r->keygen,
	    w->state, w->reason, w->message));
}

int
order_refused_at_intake(struct store *st, long long batch_id, long long oid,
    const char *reason, const char *message)
{
	return store_event(st, "order_state", batch_id, oid, 0, NULL,
	    S_REJECTED, reason, message);
}

int
csr_waiting_rcpt(struct store *st, long long account_id, const char *order,
    const char *email, long long *rid, long long *bid, long long *oid)
{
	struct dbstmt	*q;

	*rid = *bid = *oid = 0;
	q = store_prep(st, "SELECT r.id, o.batch_id, o.id FROM recipient r"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " WHERE b.account_id = ? AND o.ext_id = ? AND r.email = ?"
	    " AND r.csr_later = 1 AND r.csr IS NULL"
	    " AND r.state IN ('new', 'waiting_org', 'waiting_dcv',"
	    " 'waiting_csr', 'waiting_funds')"
	    " ORDER BY b.id DESC LIMIT 1", "itt", account_id, order, email);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		*rid = db_int64(q, 0);
		*bid = db_int64(q, 1);
		*oid = db_int64(q, 2);
	}
	store_release(q);
	return *rid != 0;
}

/* A recipient state in which a CSR is still awaited. */
static int
csr_awaited(const char *state)
{
	return strcmp(state, S_NEW) == 0 || strcmp(state, S_WAIT_ORG) == 0 ||
	    strcmp(state, S_WAIT_DCV) == 0 || strcmp(state, S_WAIT_CSR) == 0 ||
	    strcmp(state, S_WAIT_FUNDS) == 0;
}

/*
 * A csrLater recipient's CSR has come (a csrSubmission, or the portal's
 * key generation page): store it and let the next pass evaluate the
 * recipient again.  A recipient that left the open states meanwhile
 * (cancelled) is left as it is.  Caller's transaction.
 */
int
recipient_take_csr(struct store *st, long long rid, long long oid,
    long long bid, const char *csr, const char *source)
{
	struct state_move	 m;
	char			 from[24];
	struct dbstmt		*q;

	from[0] = '\0';
	if ((q = store_prep(st, "SELECT state FROM recipient WHERE id = ?",
	    "i", rid)) == NULL)
		return -1;
	if (db_step(q) == DB_ROW)
		strlcpy_(from, (const char *)db_text(q, 0),
		    sizeof(from));
	store_release(q);
	if (!csr_awaited(from))
		return 0;
	memset(&m, 0, sizeof(m));
	m.kind = "csr_received";
	m.batch = bid;
	m.order = oid;
	m.rcpt = rid;
	m.from = from;
	m.to = S_NEW;
	m.detail = source;
	if (store_done(st, store_prep(st,
	    "UPDATE recipient SET csr = ? WHERE id = ?", "ti",
	    csr, rid)) == -1 || rcpt_move(st, &m) == -1)
		return -1;
	/* Still new: no move, but the CSR's coming is on record. */
	if (strcmp(from, S_NEW) == 0 && store_event(st, m.kind, bid, oid, rid,
	    from, S_NEW, NULL, source) == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	m.batch = bid;
	m.order = oid;
	m.from = S_WAIT_CSR;
	m.to = S_NEW;
	if (order_move(st, &m) == -1 || batch_mark_dirty(st, bid) == -1)
		return -1;
	return 0;
}

/* ---- evaluation ---- */

/* The recipients of o, in idx order. */
static int
order_load_rcpts(struct store *st, struct order *o)
{
	struct dbstmt	*q;
	size_t		 n = 0;

	q = store_prep(st, "SELECT id, idx, cn_type, cn, given_name, surname,"
	    " pseudonym, email, csr, csr_later, keygen, spki_sha256, state"
	    " FROM recipient WHERE order_id = ? ORDER BY idx", "i", o->id);
	if (q == NULL)
		return -1;
	while (db_step(q) == DB_ROW) {
		struct rcpt	*r;

		if (n == o->nr) {
			size_t	 cap = o->nr ? o->nr * 2 : 4;
			struct rcpt *nv = xcalloc(cap, sizeof(*nv));

			if (o->nr)
				memcpy(nv, o->r, o->nr * sizeof(*nv));
			free(o->r);
			o->r = nv;
			o->nr = cap;
		}
		r = &o->r[n++];
		r->id = db_int64(q, 0);
		r->idx = db_int(q, 1);
		r->cn_type = (enum cn_type)db_int(q, 2);
		r->cn = store_col_text(q, 3);
		r->given_name = store_col_text(q, 4);
		r->surname = store_col_text(q, 5);
		r->pseudonym = store_col_text(q, 6);
		r->email = store_col_text(q, 7);
		r->csr = store_col_text(q, 8);
		r->csr_later = db_int(q, 9);
		r->keygen = store_col_text(q, 10);
		r->spki = store_col_text(q, 11);
		strlcpy_(r->state, (const char *)db_text(q, 12),
		    sizeof(r->state));
	}
	store_release(q);
	o->nr = n;
	return 0;
}

struct order *
order_load(struct store *st, long long id)
{
	struct order	*o = NULL;
	struct dbstmt	*q;

	q = store_prep(st, "SELECT o.id, o.batch_id, b.account_id,"
	    " o.ext_id, o.product, o.organization, o.sig_hash, o.vkind,"
	    " o.vvalue, o.auto_renew, COALESCE(o.att_officer, b.att_officer),"
	    " CASE WHEN o.att_officer IS NULL THEN b.att_title"
	    " ELSE o.att_title END,"
	    " o.add_emails, o.pay_method, o.pay_ref, o.agreement, o.state"
	    " FROM orders o JOIN batch b ON b.id = o.batch_id"
	    " WHERE o.id = ?", "i", id);
	if (q == NULL)
		return NULL;
	if (db_step(q) != DB_ROW) {
		store_release(q);
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	o->id = db_int64(q, 0);
	o->batch_id = db_int64(q, 1);
	o->account_id = db_int64(q, 2);
	o->ext_id = store_col_text(q, 3);
	o->product = store_col_text(q, 4);
	o->organization = store_col_text(q, 5);
	o->sig_hash = store_col_text(q, 6);
	o->vkind = (enum validity_kind)db_int(q, 7);
	o->vvalue = store_col_text(q, 8);
	o->auto_renew = db_int(q, 9);
	o->att_officer = store_col_text(q, 10);
	o->att_title = store_col_text(q, 11);
	o->add_emails = store_col_text(q, 12);
	o->pay_method = store_col_text(q, 13);
	o->pay_ref = store_col_text(q, 14);
	o->agreement = db_int(q, 15);
	strlcpy_(o->state, (const char *)db_text(q, 16),
	    sizeof(o->state));
	store_release(q);
	if (order_load_rcpts(st, o) == -1) {
		order_free(o);
		return NULL;
	}
	return o;
}

int
orders_open_next(struct store *st, long long account, long long after,
    long long *ids, size_t max)
{
	struct dbstmt	*q;
	size_t		 n = 0;

	q = store_prep(st, "SELECT id FROM orders INDEXED BY orders_open"
	    " WHERE account_id = ? AND id > ? AND state IN "
	    FAIRQ_OPEN_STATES " ORDER BY id LIMIT ?", "iii", account, after,
	    (long long)max);
	if (q == NULL)
		return -1;
	while (n < max && db_step(q) == DB_ROW)
		ids[n++] = db_int64(q, 0);
	store_release(q);
	return (int)n;
}

int
orders_open_total(struct store *st, long long *total)
{
	return store_int(st, total, 0, store_prep(st, "SELECT count(*) FROM"
	    " orders WHERE state IN " FAIRQ_OPEN_STATES, NULL));
}

int
orders_open_by_state(struct store *st, long long n[5])
{
	static const char *const states[5] = { "new", "waiting_org",
	    "waiting_dcv", "waiting_csr", "waiting_funds" };
	struct dbstmt	*q;
	size_t		 i;

	if ((q = store_prep(st, "SELECT state, count(*) FROM orders WHERE"
	    " state IN ('new', 'waiting_org', 'waiting_dcv', 'waiting_csr',"
	    " 'waiting_funds') GROUP BY state", NULL)) == NULL)
		return -1;
	while (db_step(q) == DB_ROW)
		for (i = 0; i < 5; i++)
			if (strcmp((const char *)db_text(q, 0),
			    states[i]) == 0)
				n[i] = db_int64(q, 1);
	store_release(q);
	return 0;
}

long long
fairq_account_after(struct store *st, enum fairq_kind kind, long long after)
{
	static const char *const sql[] = {
		[FAIRQ_OPEN_ORDERS] = "SELECT account_id FROM orders"
		    " INDEXED BY orders_open WHERE state IN "
		    FAIRQ_OPEN_STATES " AND account_id > ?"
		    STORE_HELD("account_id") " ORDER BY account_id LIMIT 1",
		[FAIRQ_APPROVED] = "SELECT account_id FROM recipient"
		    " INDEXED BY recipient_approved WHERE state = 'approved'"
		    " AND account_id > ?" STORE_HELD("account_id")
		    " ORDER BY account_id LIMIT 1",
	};
	long long	 a;

	if (store_int(st, &a, 0, store_prep(st, sql[kind], "iii", after,
	    st->node, st->node)) == -1)
		return -1;
	return a;
}
