/*
 * stage_agreement.c: SPEC 3.1 — the subscriber agreement must have been
 * accepted for the order (S/MIME BR 9.6.3).  No acceptance, no order.
 */
#include "pipeline.h"

enum stage_rc
stage_agreement(struct eval *e)
{
	if (e->o->agreement != 1) {
		eval_reject(e, "agreement_not_accepted", "the subscriber "
		    "agreement was not accepted (agreement accepted=\"true\" "
		    "is required, S/MIME BR 9.6.3)");
		return STAGE_REJECT;
	}
	return STAGE_PASS;
}
