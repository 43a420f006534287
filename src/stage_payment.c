/*
 * stage_payment.c: SPEC 3.7 — payment.  Every order is quoted from the
 * config's price table (billing_quote in stage.c, from stage_agreement).  The
 * order-level stage decides how the order pays: the method it names, or
 * the account's contract in force, or else its balance; an unknown or
 * ended contract or a missing card token rejects the order.  A card
 * number given as reference (screened out at intake, never stored)
 * rejects it at once, with the terms (billing_screened, stage_terms).
 * The money moves through ledger.c: the stage calls the card processor
 * (card.c) and records what it answered there.
 * The per-recipient stage charges one certificate when it is approved:
 * the balance is debited, a contract loses one unit per certificate-
 * year, a card is authorized (captured after issuance, ledger.c).  Not
 * enough money or units, or a card processor that does not answer, is
 * waiting_funds; the recipient is charged when it next passes.  A
 * reissue within paid coverage is not charged; a renewal is, like a
 * new order, and extends the coverage by one period.
 * Failure policy: a database error is STAGE_ERROR (the group rolls back,
 * the charge with it); the card processor is idempotent by reference,
 * so the retried authorization is the same one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "batch.h"
#include "billing.h"
#include "stage.h"
#include "store_account.h"
#include "store_stage.h"

enum stage_rc
stage_payment_terms(struct eval *e)
{
	struct order	*o = e->o;
	long long	 cid = 0, ends = 0;
	const char	*m = o->pay_method;
	time_t		 now = clock_now();
	int		 due, rc = 0;

	/* Only a recipient still to be charged needs a payment method. */
	if ((due = order_charge_due(e->st, o->id)) == -1)
		return STAGE_ERROR;
	if (due == 0)
		return STAGE_PASS;

	if (m == NULL || (strcmp(m, "contract") == 0 && o->pay_ref == NULL))
		rc = contract_in_force(e->st, o->account_id, now, &cid, &ends);
	else if (strcmp(m, "contract") == 0)
		rc = contract_by_ref(e->st, o->account_id, o->pay_ref, &cid,
		    &ends);
	if (rc == -1)
		return STAGE_ERROR;

	if (m == NULL)
		m = cid != 0 ? "contract" : "balance";
	if (strcmp(m, "contract") == 0) {
		if (cid == 0) {
			if (o->pay_ref != NULL)
				eval_reject(e, "contract_unknown", "the account "
				    "has no contract \"%s\"", o->pay_ref);
			else
				eval_reject(e, "contract_unknown", "the account "
				    "has no contract in force");
			return STAGE_REJECT;
		}
		if (ends != 0 && ends <= now) {
			char	 when[32];

			time_fmt((time_t)ends, when, sizeof(when));
			eval_reject(e, "contract_ended", "contract \"%s\" "
			    "ended %s", o->pay_ref ? o->pay_ref : "", when);
			return STAGE_REJECT;
		}
	} else if (strcmp(m, "card") == 0) {
		if (o->pay_ref == NULL || o->pay_ref[0] == '\0') {
			eval_reject(e, "card_token_missing", "payment by card "
			    "needs ref=\"TOKEN\", the card processor's token");
			return STAGE_REJECT;
		}
		if (e->conf->card_processor_command[0] == '\0') {
			eval_wait(e, S_WAIT_FUNDS, "card payments are not "
			    "available: no card processor is configured");
			return STAGE_WAIT;
		}
	}
	strlcpy_(o->pay_kind, m, sizeof(o->pay_kind));
	o->pay_contract = strcmp(m, "contract") == 0 ? cid : 0;
	if (e->dry_run)
		return STAGE_PASS;
	if (order_payment_record(e->st, o->id, m, o->pay_contract) == -1)
		return STAGE_ERROR;
	return STAGE_PASS;
}

/* The end of a renewal's coverage: one more period from start. */
static time_t
renewal_end(const struct order *o, time_t start, time_t old_start,
    time_t old_end)
{
	struct tm	 tm;
	long		 n = o->vvalue ? strtol(o->vvalue, NULL, 10) : 0;

	switch (o->vkind) {
	case VALID_YEARS:
		gmtime_r(&start, &tm);
		tm.tm_year += (int)(n >= 1 && n <= 3 ? n : 1);
		return timegm(&tm) - 1;
	case VALID_DAYS:
		return start + (time_t)(n >= 1 ? n : 365) * 86400 - 1;
	default:
		return start + (old_end - old_start);
	}
}

static void wait_funds(struct eval *, struct rcpt *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* The recipient waits for funds; the order shows the first reason. */
static void
wait_funds(struct eval *e, struct rcpt *r, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rcpt_set(r, S_WAIT_FUNDS, NULL, "%s", msg);
	if (e->message[0] == '\0')
		strlcpy_(e->message, msg, sizeof(e->message));
}

/* Charge the card: authorize now (recorded in the ledger), capture
 * after issuance. */
static enum stage_rc
charge_card(struct eval *e, struct rcpt *r, int round, long long amount,
    const struct ledger_row *l)
{
	struct card_req		 req;
	struct card_resp	 resp;
	char			 ref[160], desc[256], *acct = NULL;
	enum card_rc		 rc;

	if (account_name(e->st, e->o->account_id, &acct) == -1)
		return STAGE_ERROR;
	snprintf(ref, sizeof(ref), "certspool-%s-authorize-%lld-%d",
	    ledger_instance(e->st), r->id, round);
	snprintf(desc, sizeof(desc), "%s certificate for %s, %d year%s",
	    e->o->product, r->email, e->o->pay_years,
	    e->o->pay_years == 1 ? "" : "s");
	memset(&req, 0, sizeof(req));
	req.op = "authorize";
	req.reference = ref;
	req.token = e->o->pay_ref;
	req.amount = amount;
	req.currency = e->conf->currency;
	req.account = acct;
	req.order = e->o->ext_id;
	req.description = desc;
	rc = card_call(e->conf, &req, &resp);
	free(acct);
	if (rc == CARD_REFUSED) {
		rcpt_set(r, S_REJECTED, "card_declined", "the card processor "
		    "refused the authorization of %lld cents: %s%s%s", amount,
		    resp.error, resp.message[0] ? ": " : "", resp.message);
		return STAGE_REJECT;
	}
	if (rc == CARD_UNAVAILABLE) {
		wait_funds(e, r, "the card authorization could not be "
		    "obtained (%s); retried in the next pass",
		    resp.message[0] ? resp.message : "processor unavailable");
		return STAGE_WAIT;
	}
	if (ledger_card_authorized(e->st, l, amount, resp.id) == -1)
		return STAGE_ERROR;
	return STAGE_PASS;
}

enum stage_rc
stage_payment(struct eval *e, struct rcpt *r)
{
	struct order		*o = e->o;
	struct ledger_row	 l;
	struct rcpt_coverage	 cov;
	time_t			 now = clock_now(), start, end;
	long long		 amount, units, have, ends;
	int			 paid, round, years, done;
	char			*cref = NULL, detail[256];
	enum stage_rc		 rc = STAGE_ERROR;

	if (e->dry_run)
		return STAGE_PASS;
	if (rcpt_coverage_get(e->st, r->id, &cov) == -1)
		return STAGE_ERROR;
	round = cov.round;
	years = cov.years > 0 ? cov.years : o->pay_years;
	if (cov.covered)
		return STAGE_PASS;	/* a reissue within paid coverage */
	if ((paid = ledger_charged(e->st, r->id, round)) == -1)
		return STAGE_ERROR;
	if (paid > 0)
		return STAGE_PASS;	/* charged before (defensive) */

	if (round == 0 || cov.end == 0) {
		start = now;
		end = o->not_after;
		years = o->pay_years;
		amount = o->pay_unit;
	} else {
		/* A renewal: one more period after the paid one. */
		start = cov.end + 1 > now ? cov.end + 1 : now;
		end = renewal_end(o, start, cov.start, cov.end);
		if ((amount = price_of(e->conf, o->product, years)) < 0)
			amount = 0;
	}
	units = years;
	memset(&l, 0, sizeof(l));
	l.account_id = o->account_id;
	l.batch_id = o->batch_id;
	l.order_id = o->id;
	l.rcpt_id = r->id;
	l.round = round;
	snprintf(detail, sizeof(detail), "%s, %d year%s%s, %s", o->product,
	    years, years == 1 ? "" : "s", round > 0 ? ", renewal" : "",
	    r->email);
	l.detail = detail;

	if (strcmp(o->pay_kind, "balance") == 0) {
		if ((done = ledger_debit_balance(e->st, &l, amount,
		    &have)) == -1)
			return STAGE_ERROR;
		if (done == 0) {
			wait_funds(e, r, "the account balance of %lld cents "
			    "does not cover the price of %lld cents; waiting "
			    "for a deposit", have, amount);
			return STAGE_WAIT;
		}
	} else if (strcmp(o->pay_kind, "contract") == 0) {
		if (contract_units(e->st, o->pay_contract, &cref, &have,
		    &ends) == -1)
			return STAGE_ERROR;
		if (ends != 0 && ends <= now) {
			rcpt_set(r, S_REJECTED, "contract_ended", "contract "
			    "\"%s\" has ended", cref ? cref : "");
			rc = STAGE_REJECT;
			goto out;
		}
		if (have < units) {
			wait_funds(e, r, "contract \"%s\" has %lld units left; "
			    "this certificate needs %lld (one per year)",
			    cref ? cref : "", have, units);
			rc = STAGE_WAIT;
			goto out;
		}
		l.contract_id = o->pay_contract;
		l.ref = cref;
		if (ledger_contract_use(e->st, &l, units) == -1)
			goto out;
	} else if (strcmp(o->pay_kind, "card") == 0) {
		if (amount > 0 && (rc = charge_card(e, r, round, amount, &l)) !=
		    STAGE_PASS)
			goto out;
	} else
		abort();	/* stage_payment_terms resolved the method */

	if (rcpt_coverage_set(e->st, r->id, start, end, years) == -1) {
		rc = STAGE_ERROR;
		goto out;
	}
	rc = STAGE_PASS;
out:
	free(cref);
	return rc;
}
