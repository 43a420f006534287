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
#include "store_sign.h"

/* Move the recipient to its next round (state 'new'); covered: a reissue
 * within paid coverage, else a renewal. */
static int
next_round(struct store *st, const struct renew_due *d, int covered)
{
	if (store_begin(st) == -1)
		return -1;
	if (rcpt_next_round(st, d, covered) == -1 || store_commit(st) == -1) {
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
send_notice(struct store *st, const struct conf *c, const struct renew_due *d,
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
	if (rcpt_renewal_noticed(st, d, w) == -1 || store_commit(st) == -1) {
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
renewal_due(const struct renew_due *d, time_t notice_at, time_t lead,
    time_t notice)
{
	time_t	 at = d->cov_end - lead, due = notice_at + notice;

	if (due > d->cov_end - 86400)
		due = d->cov_end - 86400;
	return due < at ? at : due;
}

int
renew_run(struct store *st, const struct conf *c, int *nreissue,
    int *nrenew, int *nnotice)
{
	struct renew_due d;
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
		if ((got = renew_due_next(st, now + lead + notice, last_end,
		    last_cid, &d)) == -1)
			return -1;
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
		renew_due_free(&d);
	}
	if (nreissue != NULL)
		*nreissue = n1;
	if (nrenew != NULL)
		*nrenew = n2;
	if (nnotice != NULL)
		*nnotice = n3;
	return rc;
}
