/*
 * store_result.c: the results of a batch in the store (store_result.h):
 * which batches are due a result, their passes, the rows a result and
 * its archive are written from, and the certificate the portal shows a
 * recipient.  The row loops go over a whole batch (100,000 certificates
 * and more): each row is handed to a callback and freed, never loaded
 * with the others.
 * Failure policy: a database error is logged and returned (-1); the
 * caller keeps the pass open and writes it again in the next pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "extern.h"
#include "batch.h"
#include "store.h"
#include "store_result.h"

/* A step that neither gave a row nor ended: logged. */
static int
step_failed(struct store *st, int rc)
{
	if (rc == DB_DONE)
		return 0;
	log_err("db: %s", db_errmsg(st));
	return 1;
}

int
batch_result_due(struct store *st, long long *id)
{
	/* Left to do: an order new or approved, or a recipient new or
	 * approved in a waiting order (an order issued, rejected or
	 * cancelled has none); both through the batch's partial indexes,
	 * never its finished orders. */
	return store_int(st, id, 0, store_prep(st, "SELECT b.id FROM"
	    " batch b WHERE b.dirty = 1 AND NOT EXISTS (SELECT 1 FROM"
	    " orders o INDEXED BY orders_unfinished WHERE"
	    " o.batch_id = b.id AND o.state IN ('new', 'approved'))"
	    " AND NOT EXISTS (SELECT 1 FROM orders o INDEXED BY"
	    " orders_waiting JOIN recipient r ON r.order_id = o.id"
	    " WHERE o.batch_id = b.id AND o.state IN ('waiting_org',"
	    " 'waiting_dcv', 'waiting_csr', 'waiting_funds') AND"
	    " r.state IN ('new', 'approved'))" STORE_HELD("b.account_id")
	    " ORDER BY b.id LIMIT 1", "ii", st->node, st->node));
}

int
pass_open(struct store *st, long long id)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "INSERT INTO pass (batch_id,"
	    " seq, state, created) SELECT id, next_seq, 'open', ?"
	    " FROM batch WHERE id = ?", "ii", (long long)clock_now(),
	    id)) == -1 ||
	    /* From the batch's recipients: certificate_pass would
	     * read every certificate not yet in a pass, another
	     * batch's whole backlog among them. */
	    store_done(st, store_prep(st, "UPDATE certificate"
	    " INDEXED BY certificate_recipient SET"
	    " pass_id = ? WHERE pass_id IS NULL AND state IN ('issued',"
	    " 'superseded')"
	    " AND recipient_id IN (SELECT r.id FROM recipient r JOIN"
	    " orders o ON o.id = r.order_id WHERE o.batch_id = ?)",
	    "ii", store_last_id(st), id)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE batch SET next_seq ="
	    " next_seq + 1, dirty = 0 WHERE id = ?", "i", id)) == -1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
pass_next_open(struct store *st, long long after, long long *id)
{
	return store_int(st, id, 0, store_prep(st, "SELECT p.id FROM pass p"
	    " JOIN batch b ON b.id = p.batch_id WHERE p.state = 'open'"
	    " AND p.id > ?" STORE_HELD("b.account_id") " ORDER BY p.id"
	    " LIMIT 1", "iii", after, st->node, st->node));
}

int
pass_mark_written(struct store *st, long long pass_id, long long batch_id,
    const char *archive, const char *name)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "UPDATE pass SET state = 'written',"
	    " archive = ? WHERE id = ?", "ti", archive, pass_id)) == -1 ||
	    store_event(st, "result_written", batch_id, 0, 0, NULL, NULL, NULL,
	    name) == -1 || store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
pass_load(struct store *st, long long pass_id, struct pass_info *p)
{
	struct dbstmt	*q;
	int		 rc;

	memset(p, 0, sizeof(*p));
	q = store_prep(st, "SELECT p.batch_id, p.seq, b.ext_id, a.name"
	    " FROM pass p JOIN batch b ON b.id = p.batch_id JOIN account a"
	    " ON a.id = b.account_id WHERE p.id = ?", "i", pass_id);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		p->batch_id = db_int64(q, 0);
		p->seq = db_int64(q, 1);
		p->batch_ext = store_col_text(q, 2);
		p->account = store_col_text(q, 3);
	} else if (step_failed(st, rc)) {
		store_release(q);
		return -1;
	}
	store_release(q);
	return 0;
}

void
pass_info_free(struct pass_info *p)
{
	free(p->batch_ext);
	free(p->account);
	memset(p, 0, sizeof(*p));
}

int
pass_cert_count(struct store *st, long long pass_id, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*) FROM"
	    " certificate WHERE pass_id = ? AND state IN ('issued',"
	    " 'superseded')", "i",
	    pass_id));
}

/* pass_certs' callback, given a row it may not keep. */
struct certs_fn {
	int	(*fn)(void *, const struct cert_row *);
	void	*arg;
};

static int
certs_fn(void *arg, struct cert_row *r)
{
	struct certs_fn	*f = arg;

	return f->fn(f->arg, r);
}

int
pass_certs(struct store *st, long long pass_id,
    int (*fn)(void *, const struct cert_row *), void *arg)
{
	struct certs_fn	 f = { fn, arg };
	char		 sql[1024];

	snprintf(sql, sizeof(sql), "%s WHERE c.pass_id = ? AND"
	    " c.state IN ('issued', 'superseded') ORDER BY o.id, r.idx",
	    cert_cols);
	return cert_rows_query(st, sql, 1, &pass_id, certs_fn, &f);
}

/* Net cents charged (balance debits less refunds, card captures) and
 * contract units used by one order, as SQL over o.id. */
#define SQL_CHARGED	"(SELECT COALESCE(-sum(l.amount), 0) FROM ledger l"	\
    " WHERE l.order_id = o.id AND l.kind IN ('debit', 'refund',"		\
    " 'card_capture'))"
#define SQL_UNITS	"(SELECT COALESCE(-sum(l.amount), 0) FROM ledger l"	\
    " WHERE l.order_id = o.id AND l.recipient_id IS NOT NULL AND"		\
    " l.kind IN ('unit_debit', 'unit_credit'))"

int
batch_totals(struct store *st, long long batch_id, struct batch_totals *t)
{
	struct dbstmt	*q;
	int		 rc;

	memset(t, 0, sizeof(*t));
	q = store_prep(st, "SELECT COALESCE(sum(o.price), 0), COALESCE(sum("
	    SQL_CHARGED "), 0), COALESCE(sum(" SQL_UNITS "), 0) FROM orders o"
	    " WHERE o.batch_id = ?", "i", batch_id);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		t->total = db_int64(q, 0);
		t->charged = db_int64(q, 1);
		t->units = db_int64(q, 2);
	} else
		(void)step_failed(st, rc);
	store_release(q);
	return rc == DB_ROW ? 0 : -1;
}

static const char *
col_text(struct dbstmt *q, int col)
{
	return (const char *)db_text(q, col);
}

static void
result_row_get(struct dbstmt *q, struct result_row *r)
{
	memset(r, 0, sizeof(*r));
	r->oid = db_int64(q, 0);
	r->order_ext = col_text(q, 1);
	r->ostate = col_text(q, 2);
	r->oreason = col_text(q, 3);
	r->omessage = col_text(q, 4);
	r->email = col_text(q, 5);
	r->rstate = col_text(q, 6);
	r->rreason = col_text(q, 7);
	r->rmessage = col_text(q, 8);
	r->serial = col_text(q, 9);
	r->not_after = db_int64(q, 10);
	r->der = db_blob(q, 11);
	r->derlen = db_bytes(q, 11);
	r->price = db_int64(q, 12);
	r->pay_used = col_text(q, 13);
	r->charged = db_int64(q, 14);
	r->units = db_int64(q, 15);
	r->has_cov_end = !db_null(q, 16);
	r->cov_end = db_int64(q, 16);
	r->stuck = col_text(q, 17);
	r->stuck_detail = col_text(q, 18);
	r->stuck_since = db_int64(q, 19);
}

int
batch_result_rows(struct store *st, long long batch_id,
    int (*fn)(void *, const struct result_row *), void *arg)
{
	struct result_row	 r;
	struct dbstmt		*q;
	int			 rc = DB_DONE, stop = 0;

	q = store_prep(st, "SELECT o.id, o.ext_id, o.state, o.reason,"
	    " o.message, r.email, r.state, r.reason, r.message, c.serial,"
	    " c.not_after, c.der, COALESCE(o.price, 0), o.pay_used, "
	    SQL_CHARGED ", " SQL_UNITS ", r.cov_end, c.stuck, c.stuck_detail,"
	    " c.stuck_since"
	    " FROM orders o JOIN recipient r ON"
	    " r.order_id = o.id LEFT JOIN certificate c ON c.recipient_id ="
	    " r.id AND c.state = 'issued' WHERE o.batch_id = ?"
	    " ORDER BY o.id, r.idx", "i", batch_id);
	if (q == NULL)
		return -1;
	while (!stop && (rc = db_step(q)) == DB_ROW) {
		result_row_get(q, &r);
		stop = fn(arg, &r) == -1;
	}
	store_release(q);
	if (stop)
		return -1;
	return step_failed(st, rc) ? -1 : 0;
}

int
cert_current_load(struct store *st, long long rid, struct cert_current *cu)
{
	struct dbstmt	*q;
	int		 rc;

	memset(cu, 0, sizeof(*cu));
	q = store_prep(st, "SELECT c.serial, r.email, c.not_before,"
	    " c.not_after, coalesce(c.revoked_at, 0), c.der, c.issuer_id"
	    " FROM certificate c"
	    " JOIN recipient r ON r.id = c.recipient_id WHERE c.recipient_id"
	    " = ? AND c.state IN ('issued', 'superseded') AND c.der IS NOT"
	    " NULL ORDER BY c.round DESC, c.id DESC LIMIT 1", "i", rid);
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		cu->serial = store_col_text(q, 0);
		cu->email = store_col_text(q, 1);
		cu->not_before = db_int64(q, 2);
		cu->not_after = db_int64(q, 3);
		cu->revoked_at = db_int64(q, 4);
		cu->issuer_id = db_int(q, 6);
		cu->derlen = (size_t)db_bytes(q, 5);
		cu->der = xcalloc(1, cu->derlen + 1);
		memcpy(cu->der, db_blob(q, 5), cu->derlen);
	}
	store_release(q);
	if (rc == DB_ROW)
		return cu->serial != NULL && cu->email != NULL &&
		    cu->derlen > 0 ? 1 : -1;
	return rc == DB_DONE ? 0 : -1;
}

void
cert_current_free(struct cert_current *cu)
{
	free(cu->serial);
	free(cu->email);
	free(cu->der);
	memset(cu, 0, sizeof(*cu));
}

const char *const cert_cols = "SELECT c.id, c.recipient_id, o.id, c.serial,"
    " r.email, o.ext_id, o.add_emails, c.p12_password, r.idx, c.mailed,"
    " c.der, c.p12, CASE WHEN c.round = 0 THEN 0 WHEN c.round = r.round"
    " AND r.round_covered = 1 THEN 1 ELSE 2 END, COALESCE(r.cov_end, 0),"
    " c.not_after, o.batch_id, (SELECT ext_id FROM batch WHERE id ="
    " o.batch_id), CASE WHEN r.cn_type = 1 THEN r.cn WHEN r.given_name IS"
    " NOT NULL AND r.surname IS NOT NULL THEN r.given_name || ' ' ||"
    " r.surname END, c.stuck, c.stuck_detail, c.issuer_id"
    " FROM certificate c JOIN recipient r ON r.id ="
    " c.recipient_id JOIN orders o ON o.id = r.order_id";

/* The current row of a cert_cols query into r: 0, or -1 if it has no
 * DER stored (logged; r is filled and must be freed all the same). */
static int
cert_row_get(struct dbstmt *q, struct cert_row *r)
{
	const void	*der;

	memset(r, 0, sizeof(*r));
	r->cid = db_int64(q, 0);
	r->rid = db_int64(q, 1);
	r->oid = db_int64(q, 2);
	r->serial = store_col_text(q, 3);
	r->email = store_col_text(q, 4);
	r->order_ext = store_col_text(q, 5);
	r->add_emails = store_col_text(q, 6);
	r->password = store_col_text(q, 7);
	r->idx = db_int(q, 8);
	r->mailed = db_int(q, 9);
	if ((der = db_blob(q, 10)) != NULL &&
	    db_bytes(q, 10) > 0) {
		r->derlen = (size_t)db_bytes(q, 10);
		r->der = xcalloc(1, r->derlen);
		memcpy(r->der, der, r->derlen);
	}
	if (!db_null(q, 11)) {
		r->p12len = (size_t)db_bytes(q, 11);
		r->p12 = xcalloc(1, r->p12len);
		memcpy(r->p12, db_blob(q, 11), r->p12len);
	}
	r->kind = db_int(q, 12);
	r->cov_end = (time_t)db_int64(q, 13);
	r->not_after = (time_t)db_int64(q, 14);
	r->bid = db_int64(q, 15);
	r->batch_ext = store_col_text(q, 16);
	r->name = store_col_text(q, 17);
	r->stuck = store_col_text(q, 18);
	r->stuck_detail = store_col_text(q, 19);
	r->issuer_id = db_int(q, 20);
	if (r->der == NULL) {
		log_err("certificate %s: no DER stored", r->serial ?
		    r->serial : "?");
		return -1;
	}
	return 0;
}

int
cert_rows_query(struct store *st, const char *sql, int nbind,
    const long long *bind, int (*fn)(void *, struct cert_row *), void *arg)
{
	struct cert_row	 r;
	struct dbstmt	*q;
	int		 rc = DB_DONE, stop = 0;

	q = nbind == 0 ? store_prep(st, sql, NULL) :
	    nbind == 1 ? store_prep(st, sql, "i", bind[0]) :
	    nbind == 2 ? store_prep(st, sql, "ii", bind[0], bind[1]) :
	    store_prep(st, sql, "iii", bind[0], bind[1], bind[2]);
	if (q == NULL)
		return -1;
	while (!stop && (rc = db_step(q)) == DB_ROW) {
		stop = cert_row_get(q, &r) == -1 || fn(arg, &r) == -1;
		cert_row_free(&r);
	}
	store_release(q);
	if (stop)
		return -1;
	return step_failed(st, rc) ? -1 : 0;
}

void
cert_row_free(struct cert_row *r)
{
	free(r->serial);
	free(r->email);
	free(r->order_ext);
	free(r->add_emails);
	free(r->name);
	free(r->batch_ext);
	free(r->stuck);
	free(r->stuck_detail);
	if (r->password != NULL)
		OPENSSL_cleanse(r->password, strlen(r->password));
	free(r->password);
	free(r->der);
	free(r->p12);
	memset(r, 0, sizeof(*r));
}
