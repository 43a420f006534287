/*
 * renew.c: the scheduler of coverage (SPEC 3.2) and auto-renewal (SPEC
 * 2.1 autoRenew).  A certificate never runs longer than 825 days, so a
 * longer paid coverage is kept by a reissue renew_before_days before the
 * certificate expires, at no charge (recipient.round_covered = 1).  At
 * the end of the coverage an order with autoRenew left is renewed: a new
 * round charged like a new order that extends the coverage by one
 * period.  renewal_notice_days before a renewal a "renewal due" message
 * goes to the recipient and the order's additional emails, once, so
 * that leavers can be cancelled (certspool order cancel); a renewal
 * never starts sooner than that notice period after its notice.
 * A reissue or renewal only moves the recipient to a new round in state
 * 'new' and marks its order and batch: the pipeline then validates it
 * again (organization, domains: reuse periods checked again; it waits
 * like an order does), charges a renewal, signs it, and the batch gets a
 * new result pass.  Cancelled orders are left alone.
 * Failure policy: a database error rolls back the one recipient and is
 * returned; a notice that cannot be written is retried next time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "billing.h"
#include "pipeline.h"
#include "store.h"

struct due {
	long long	 rid, oid, bid;
	int		 round, renewals, auto_renew, cov_years;
	time_t		 cov_start, cov_end, notice_at, cert_end;
	long long	 cid;		/* the certificate */
	char		*email, *add_emails, *order_ext, *batch_ext, *account;
	char		*product, *pay_used;
};

static void
due_free(struct due *d)
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

/* Move the recipient to its next round (state 'new'); covered: a reissue
 * within paid coverage, else a renewal. */
static int
next_round(struct store *st, const struct due *d, int covered)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "UPDATE recipient SET round ="
	    " round + 1, round_covered = ?, renewals = renewals + ?,"
	    " notice_at = CASE WHEN ? THEN notice_at END, state = 'new',"
	    " reason = NULL, message = NULL WHERE id = ? AND state ="
	    " 'issued' AND round = ?", "iiiii", (long long)covered,
	    (long long)!covered, (long long)covered, d->rid,
	    (long long)d->round)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE orders SET state = 'new',"
	    " updated = ? WHERE id = ? AND state IN ('issued', 'rejected')",
	    "ii", (long long)clock_now(), d->oid)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE batch SET dirty = 1 WHERE"
	    " id = ?", "i", d->bid)) == -1 ||
	    store_event(st, covered ? "reissue_started" : "renewal_started",
	    d->bid, d->oid, d->rid, S_ISSUED, S_NEW, NULL, NULL) == -1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	log_info("%s/%s/%s: %s %s (round %d)", d->account, d->batch_ext,
	    d->order_ext, covered ? "reissue within coverage of" :
	    "renewal of", d->email, d->round + 1);
	return 0;
}

/* The "renewal due" message, then its record. */
static int
send_notice(struct store *st, const struct conf *c, const struct due *d,
    time_t when)
{
	struct mail_msg	 m;
	struct buf	 body = { 0 };
	char		 subject[256], name[96], seed[96], w[32], end[32];
	long long	 price = price_of(c, d->product, d->cov_years);
	int		 left = d->auto_renew < 0 ? -1 :
	    d->auto_renew - d->renewals - 1;
	int		 rc = -1;

	time_fmt(when, w, sizeof(w));
	time_fmt(d->cov_end, end, sizeof(end));
	buf_addf(&body, "The client certificate for %s (order %s of batch %s, "
	    "account %s)\nwill be renewed automatically on or after %s; its "
	    "paid coverage ends\n%s.\n\n", d->email, d->order_ext,
	    d->batch_ext, d->account, w, end);
	buf_addf(&body, "The renewal is a new certificate for %d more year%s, "
	    "charged like a new\norder (%lld cents in %s, by %s).  ",
	    d->cov_years, d->cov_years == 1 ? "" : "s", price < 0 ? 0 : price,
	    c->currency, d->pay_used ? d->pay_used : "the order's method");
	if (left < 0)
		buf_addf(&body, "The order renews without limit.\n\n");
	else
		buf_addf(&body, "Renewals left after this one: %d.\n\n", left);
	buf_addf(&body, "If the certificate is no longer needed (for example "
	    "the person has left),\nhave the order cancelled before then:\n\n"
	    "    certspool order cancel %s %s\n", d->batch_ext, d->order_ext);
	snprintf(subject, sizeof(subject), "Certificate renewal due for %s",
	    d->email);
	snprintf(seed, sizeof(seed), "renewal-due-%lld-%d", d->rid, d->round);
	snprintf(name, sizeof(name), "renewal-due-%lld-%d", d->rid, d->round);
	memset(&m, 0, sizeof(m));
	m.from = c->mail_from;
	m.to = d->email;
	m.cc = d->add_emails;
	m.subject = subject;
	m.body = (const char *)body.p;
	m.message_id_seed = seed;
	if (mail_send(c, name, &m) == -1)
		goto out;
	if (store_begin(st) == -1)
		goto out;
	if (store_done(st, store_prep(st, "UPDATE recipient SET notice_at = ?"
	    " WHERE id = ? AND round = ?", "iii", (long long)clock_now(),
	    d->rid, (long long)d->round)) == -1 ||
	    store_event(st, "renewal_notice", d->bid, d->oid, d->rid, NULL,
	    NULL, NULL, w) == -1 || store_commit(st) == -1) {
		store_rollback(st);
		goto out;
	}
	rc = 0;
out:
	buf_free(&body);
	return rc;
}

/* When a renewal noticed at notice_at starts: renew_before_days before
 * the end, but not sooner than the notice period after the notice, nor
 * later than a day before the end. */
static time_t
renewal_due(const struct due *d, time_t notice_at, time_t lead,
    time_t notice)
{
	time_t	 at = d->cov_end - lead, due = notice_at + notice;

	if (due > d->cov_end - 86400)
		due = d->cov_end - 86400;
	return due < at ? at : due;
}

static int
due_next(sqlite3_stmt *q, struct due *d)
{
	memset(d, 0, sizeof(*d));
	if (sqlite3_step(q) != SQLITE_ROW)
		return 0;
	d->rid = sqlite3_column_int64(q, 0);
	d->oid = sqlite3_column_int64(q, 1);
	d->bid = sqlite3_column_int64(q, 2);
	d->round = sqlite3_column_int(q, 3);
	d->cov_start = (time_t)sqlite3_column_int64(q, 4);
	d->cov_end = (time_t)sqlite3_column_int64(q, 5);
	d->renewals = sqlite3_column_int(q, 6);
	d->auto_renew = sqlite3_column_int(q, 7);
	d->notice_at = (time_t)sqlite3_column_int64(q, 8);
	d->cert_end = (time_t)sqlite3_column_int64(q, 9);
	d->email = store_col_text(q, 10);
	d->add_emails = store_col_text(q, 11);
	d->order_ext = store_col_text(q, 12);
	d->batch_ext = store_col_text(q, 13);
	d->account = store_col_text(q, 14);
	d->product = store_col_text(q, 15);
	d->cov_years = sqlite3_column_int(q, 16);
	d->pay_used = store_col_text(q, 17);
	d->cid = sqlite3_column_int64(q, 18);
	return 1;
}

int
renew_run(struct store *st, const struct conf *c, int *nreissue,
    int *nrenew, int *nnotice)
{
	sqlite3_stmt	*q;
	struct due	 d;
	time_t		 now = clock_now();
	time_t		 lead = (time_t)c->renew_before_days * 86400;
	time_t		 notice = (time_t)c->renewal_notice_days * 86400;
	long long	 last_end = 0, last_cid = 0;
	int		 n1 = 0, n2 = 0, n3 = 0, rc = 0, got;

	for (;;) {
		/*
		 * Issued recipients whose certificate nears its end, in
		 * the order of the end (the certificate_expiry index: a
		 * pass with nothing due reads nothing), one at a time.
		 */
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
		    (long long)(now + lead + notice), last_end, last_cid);
		if (q == NULL)
			return -1;
		got = due_next(q, &d);
		store_release(q);
		if (got == 0)
			break;
		last_end = (long long)d.cert_end;
		last_cid = d.cid;
		if (d.cert_end < d.cov_end) {
			/* Paid coverage outlives the certificate. */
			if (now >= d.cert_end - lead) {
				if (next_round(st, &d, 1) == -1)
					rc = -1;
				else
					n1++;
			}
		} else if (d.auto_renew < 0 || d.renewals < d.auto_renew) {
			if (d.notice_at == 0 && now >= d.cov_end - lead -
			    notice) {
				if (send_notice(st, c, &d, renewal_due(&d, now,
				    lead, notice)) == -1)
					rc = -1;
				else {
					d.notice_at = now;
					n3++;
				}
			}
			if (d.notice_at != 0 &&
			    now >= renewal_due(&d, d.notice_at, lead, notice)) {
				if (next_round(st, &d, 0) == -1)
					rc = -1;
				else
					n2++;
			}
		}
		due_free(&d);
	}
	if (nreissue != NULL)
		*nreissue = n1;
	if (nrenew != NULL)
		*nrenew = n2;
	if (nnotice != NULL)
		*nnotice = n3;
	return rc;
}
