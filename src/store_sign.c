/*
 * store_sign.c: signing and renewal in the store (store_sign.h): the
 * SQL of signer.c and renew.c.  A certificate row is written 'signing'
 * (the write-ahead record) before the CA key is used, and becomes
 * 'issued' with its DER in the transaction that moves its recipient;
 * the statements per certificate are the signer's hot path, so each is
 * one cached statement.
 * Failure policy: a database error is logged (store.c) and returned;
 * the caller rolls back and the chunk or round is retried later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "batch.h"
#include "store.h"
#include "store_order.h"
#include "store_sign.h"
#include "store_state.h"

/* ---- the signer's queue ---- */

static const char *
col(struct dbstmt *q, int i)
{
	return (const char *)db_text(q, i);
}

int
approved_each(struct store *st, long long acct, size_t lim,
    int (*fn)(void *, const struct approved_row *), void *arg)
{
	struct approved_row	 w;
	struct dbstmt		*q;
	int			 rc = 0;

	q = store_prep(st, "SELECT r.id, o.id, o.batch_id, r.cn, r.given_name,"
	    " r.surname, r.pseudonym, r.email, r.csr, r.keygen, o.product,"
	    " o.sig_hash, COALESCE(r.cov_end, o.not_after), g.name, g.country,"
	    " g.org_identifier, r.cn_type, r.round, r.spki_sha256,"
	    " a.name, b.ext_id, o.ext_id"
	    " FROM recipient r INDEXED BY recipient_approved"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " LEFT JOIN organization g ON g.id = o.org_id"
	    " WHERE r.account_id = ? AND r.state = 'approved'"
	    " AND NOT EXISTS (SELECT 1 FROM"
	    " certificate c WHERE c.recipient_id = r.id AND c.round = r.round"
	    " AND c.state != 'void')"
	    " ORDER BY r.id LIMIT ?", "ii", acct, (long long)lim);
	if (q == NULL)
		return -1;
	while (rc == 0 && db_step(q) == DB_ROW) {
		w.rid = db_int64(q, 0);
		w.oid = db_int64(q, 1);
		w.bid = db_int64(q, 2);
		w.cn = col(q, 3);
		w.given_name = col(q, 4);
		w.surname = col(q, 5);
		w.pseudonym = col(q, 6);
		w.email = col(q, 7);
		w.csr = col(q, 8);
		w.keygen = col(q, 9);
		w.product = col(q, 10);
		w.sig_hash = col(q, 11);
		w.coverage_end = db_int64(q, 12);
		w.org_name = col(q, 13);
		w.org_country = col(q, 14);
		w.org_identifier = col(q, 15);
		w.cn_type = db_int(q, 16);
		w.round = db_int(q, 17);
		w.spki = col(q, 18);
		w.account = col(q, 19);
		w.batch = col(q, 20);
		w.order = col(q, 21);
		rc = fn(arg, &w);
	}
	store_release(q);
	return rc == -1 ? -1 : 0;
}

int
approved_count(struct store *st, long long *total)
{
	return store_int(st, total, 0, store_prep(st, "SELECT count(*) FROM"
	    " recipient WHERE state = 'approved'", NULL));
}

int
approved_any(struct store *st, long long *left)
{
	return store_int(st, left, 0, store_prep(st, "SELECT EXISTS"
	    " (SELECT 1 FROM recipient WHERE state = 'approved')", NULL));
}

/* ---- certificates ---- */

long long
cert_write_ahead(struct store *st, const struct cert_ahead *a)
{
	if (store_done(st, store_prep(st, "INSERT INTO certificate"
	    " (recipient_id, round, serial, state, tbs, not_before,"
	    " not_after, spki_sha256, created, crl_shard, issuer_id)"
	    " VALUES (?, ?, ?, 'signing', ?, ?, ?, ?, ?, ?, ?)",
	    "iitbiitiii", a->rid, (long long)a->round, a->serial,
	    a->tbs, a->tbslen, a->not_before, a->not_after, a->spki,
	    (long long)clock_now(), (long long)a->crl_shard,
	    a->issuer_id)) == -1)
		return -1;
	return store_last_id(st);
}

int
cert_store_issued(struct store *st, long long cert_id, long long rid,
    long long oid, long long bid, const unsigned char *der, size_t derlen,
    const unsigned char *p12, size_t p12len, const char *password,
    const char *serial)
{
	struct state_move	 m;

	memset(&m, 0, sizeof(m));
	m.kind = "certificate_issued";
	m.batch = bid;
	m.order = oid;
	m.rcpt = rid;
	m.from = S_APPROVED;
	m.to = S_ISSUED;
	m.detail = serial;
	if (store_done(st, store_prep(st, "UPDATE certificate SET state ="
	    " 'issued', der = ?, p12 = ?, p12_password = ? WHERE id = ?",
	    "bbti", der, derlen, p12, p12len, password, cert_id)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE certificate SET state ="
	    " 'superseded' WHERE recipient_id = ? AND state = 'issued' AND"
	    " id != ?", "ii", rid, cert_id)) == -1 ||
	    rcpt_move(st, &m) == -1)
		return -1;
	return 0;
}

int
rcpt_refuse_at_signing(struct store *st, long long rid, long long oid,
    long long bid, const char *reason, const char *message)
{
	struct state_move	 m;

	memset(&m, 0, sizeof(m));
	m.kind = "issuance_refused";
	m.batch = bid;
	m.order = oid;
	m.rcpt = rid;
	m.from = S_APPROVED;
	m.to = S_REJECTED;
	m.reason = reason[0] ? reason : "issuance_refused";
	m.message = message;
	m.detail = message;
	return rcpt_move(st, &m) == -1 ? -1 : 0;
}

void
signing_row_free(struct signing_row *s)
{
	free(s->serial);
	free(s->keygen);
	free(s->tbs);
	free(s->account);
	free(s->batch);
	free(s->order);
	free(s->email);
	memset(s, 0, sizeof(*s));
}

int
cert_signing_first(struct store *st, struct signing_row *s)
{
	struct dbstmt	*q;

	memset(s, 0, sizeof(*s));
	q = store_prep(st, "SELECT c.id, c.recipient_id, o.id,"
	    " o.batch_id, c.serial, r.keygen, c.tbs, a.name, b.ext_id,"
	    " o.ext_id, r.email FROM certificate c"
	    " JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " WHERE c.state = 'signing'" STORE_HELD("a.id")
	    " ORDER BY c.id LIMIT 1", "ii", st->node, st->node);
	if (q == NULL)
		return -1;
	if (db_step(q) != DB_ROW) {
		store_release(q);
		return 0;
	}
	s->cid = db_int64(q, 0);
	s->rid = db_int64(q, 1);
	s->oid = db_int64(q, 2);
	s->bid = db_int64(q, 3);
	s->serial = store_col_text(q, 4);
	s->keygen = store_col_text(q, 5);
	s->tbslen = (size_t)db_bytes(q, 6);
	s->tbs = xcalloc(1, s->tbslen);
	memcpy(s->tbs, db_blob(q, 6), s->tbslen);
	s->account = store_col_text(q, 7);
	s->batch = store_col_text(q, 8);
	s->order = store_col_text(q, 9);
	s->email = store_col_text(q, 10);
	store_release(q);
	return 1;
}

int
cert_void_lost_key(struct store *st, long long cid, long long rid,
    long long oid, long long bid, const char *serial)
{
	if (store_done(st, store_prep(st, "UPDATE certificate"
	    " SET state = 'void' WHERE id = ?", "i", cid)) == -1 ||
	    store_event(st, "serial_voided", bid, oid, rid,
	    NULL, NULL, "server_key_lost_in_crash", serial) == -1)
		return -1;
	return 0;
}

/* ---- renewal rounds ---- */

void
renew_due_free(struct renew_due *d)
{
	free(d->email);
	free(d->add_emails);
	free(d->order_ext);
	free(d->batch_ext);
	free(d->account);
	free(d->product);
	free(d->pay_used);
	memset(d, 0, sizeof(*d));
}

static int
due_next(struct dbstmt *q, struct renew_due *d)
{
	memset(d, 0, sizeof(*d));
	if (db_step(q) != DB_ROW)
		return 0;
	d->rid = db_int64(q, 0);
	d->oid = db_int64(q, 1);
	d->bid = db_int64(q, 2);
	d->round = db_int(q, 3);
	d->cov_start = (time_t)db_int64(q, 4);
	d->cov_end = (time_t)db_int64(q, 5);
	d->renewals = db_int(q, 6);
	d->auto_renew = db_int(q, 7);
	d->notice_at = (time_t)db_int64(q, 8);
	d->cert_end = (time_t)db_int64(q, 9);
	d->email = store_col_text(q, 10);
	d->add_emails = store_col_text(q, 11);
	d->order_ext = store_col_text(q, 12);
	d->batch_ext = store_col_text(q, 13);
	d->account = store_col_text(q, 14);
	d->product = store_col_text(q, 15);
	d->cov_years = db_int(q, 16);
	d->pay_used = store_col_text(q, 17);
	d->cid = db_int64(q, 18);
	return 1;
}

int
renew_due_next(struct store *st, time_t horizon, long long last_end,
    long long last_cid, struct renew_due *d)
{
	struct dbstmt	*q;
	int		 got;

	q = store_prep(st, "SELECT r.id, r.order_id, o.batch_id,"
	    " r.round, COALESCE(r.cov_start, 0), r.cov_end, r.renewals,"
	    " o.auto_renew, COALESCE(r.notice_at, 0), c.not_after,"
	    " r.email, o.add_emails, o.ext_id, b.ext_id, a.name,"
	    " o.product, COALESCE(r.cov_years, o.cov_years, 1),"
	    " o.pay_used, c.id FROM certificate c"
	    " CROSS JOIN recipient r ON r.id = c.recipient_id AND"
	    " r.round = c.round"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " WHERE c.state = 'issued' AND c.not_after <= ? AND"
	    " (c.not_after, c.id) > (?, ?) AND r.state = 'issued' AND"
	    " r.cov_end IS NOT NULL AND o.state NOT IN ('approved',"
	    " 'cancelled') AND o.cancelled_at IS NULL"
	    " ORDER BY c.not_after, c.id LIMIT 1", "iii",
	    (long long)horizon, last_end, last_cid);
	if (q == NULL)
		return -1;
	got = due_next(q, d);
	store_release(q);
	return got;
}

int
rcpt_next_round(struct store *st, const struct renew_due *d, int covered)
{
	struct state_move	 m;
	int			 moved;

	if (store_done(st, store_prep(st, "UPDATE recipient SET round ="
	    " round + 1, round_covered = ?, renewals = renewals + ?,"
	    " notice_at = CASE WHEN ? <> 0 THEN notice_at END"
	    " WHERE id = ? AND state = 'issued' AND round = ?", "iiiii",
	    (long long)covered, (long long)!covered, (long long)covered,
	    d->rid, (long long)d->round)) == -1)
		return -1;
	/* Not issued in that round any more: no new round. */
	if (db_changes(st) == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	m.kind = covered ? "reissue_started" : "renewal_started";
	m.batch = d->bid;
	m.order = d->oid;
	m.rcpt = d->rid;
	m.from = S_ISSUED;
	m.to = S_NEW;
	if (rcpt_move(st, &m) == -1)
		return -1;
	/* The order starts over if it was finished (issued or rejected). */
	memset(&m, 0, sizeof(m));
	m.batch = d->bid;
	m.order = d->oid;
	m.from = S_ISSUED;
	m.to = S_NEW;
	if ((moved = order_move(st, &m)) == 0) {
		m.from = S_REJECTED;
		moved = order_move(st, &m);
	}
	if (moved == -1 || batch_mark_dirty(st, d->bid) == -1)
		return -1;
	return 0;
}

int
rcpt_renewal_noticed(struct store *st, const struct renew_due *d,
    const char *when)
{
	if (store_done(st, store_prep(st, "UPDATE recipient SET notice_at = ?"
	    " WHERE id = ? AND round = ?", "iii", (long long)clock_now(),
	    d->rid, (long long)d->round)) == -1 ||
	    store_event(st, "renewal_notice", d->bid, d->oid, d->rid, NULL,
	    NULL, NULL, when) == -1)
		return -1;
	return 0;
}
