/*
 * stage_agreement.c: SPEC 3.1 — the subscriber agreement must have been
 * accepted for the order (S/MIME BR 9.6.3).  No acceptance, no order.
 * The acceptance is recorded once with the order: the agreement
 * version of the config (agreement_version), the time, and an event
 * naming the batch.  The order's price is quoted first, so that a
 * refused order shows it too (SPEC 3.7, stage_payment.c).
 */
#include "pipeline.h"
#include "store.h"

enum stage_rc
stage_agreement(struct eval *e)
{
	struct order	*o = e->o;
	long long	 seen;

	if (e->conf != NULL && billing_quote(e) == -1)
		return STAGE_ERROR;
	if (o->agreement != 1) {
		eval_reject(e, "agreement_not_accepted", "the subscriber "
		    "agreement was not accepted (agreement accepted=\"true\" "
		    "is required, S/MIME BR 9.6.3)");
		return STAGE_REJECT;
	}
	if (e->dry_run || e->conf == NULL)
		return STAGE_PASS;
	if (store_int(e->st, &seen, 0, store_prep(e->st, "SELECT count(*)"
	    " FROM orders WHERE id = ? AND agreement_at IS NOT NULL", "i",
	    o->id)) == -1)
		return STAGE_ERROR;
	if (seen)
		return STAGE_PASS;
	if (store_done(e->st, store_prep(e->st, "UPDATE orders SET"
	    " agreement_version = ?, agreement_at = ? WHERE id = ?", "tii",
	    e->conf->agreement_version, (long long)clock_now(), o->id)) == -1 ||
	    store_event(e->st, "agreement_accepted", o->batch_id, o->id, 0,
	    NULL, NULL, NULL, e->conf->agreement_version) == -1)
		return STAGE_ERROR;
	return STAGE_PASS;
}
