/*
 * stage_agreement.c: SPEC 3.1 — the subscriber agreement must have been
 * accepted for the order (S/MIME BR 9.6.3).  No acceptance, no order.
 * The acceptance is recorded once with the order: the agreement
 * version of the config (agreement_version), the time, and an event
 * naming the batch.  The order's price is quoted first, so that a
 * refused order shows it too (SPEC 3.7, billing_quote in stage.c).
 */
#include "stage.h"
#include "store_stage.h"

enum stage_rc
stage_agreement(struct eval *e)
{
	struct order	*o = e->o;
	int		 seen;

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
	if ((seen = order_agreement_recorded(e->st, o->id)) == -1)
		return STAGE_ERROR;
	if (seen)
		return STAGE_PASS;
	if (order_agreement_record(e->st, o->batch_id, o->id,
	    e->conf->agreement_version) == -1)
		return STAGE_ERROR;
	return STAGE_PASS;
}
