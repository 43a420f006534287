/*
 * stage_attest.c: SPEC 3.5 — the organization attests that a named
 * recipient is its employee or representative (the seed workflow's
 * "organization attestation"; S/MIME BR 3.2.4 for sponsor-validated
 * certificates).  A recipient with a personal name, and every order of a
 * sponsor-validated product, needs an attestation at batch or order
 * level; it is recorded with the order (officer, title, time).
 */
#include <string.h>

#include "stage.h"
#include "batch.h"
#include "store_stage.h"

enum stage_rc
stage_attest(struct eval *e)
{
	struct order	*o = e->o;
	int		 need = o->prod->vtype == VT_SPONSOR;
	size_t		 i;

	for (i = 0; i < o->nr; i++)
		if (o->r[i].cn_type == CN_NAME)
			need = 1;
	if (!need)
		return STAGE_PASS;
	if (o->att_officer == NULL || o->att_officer[0] == '\0') {
		eval_reject(e, "attestation_missing", "%s needs the "
		    "organization's attestation (an <attestation officer= "
		    "title=> at batch or order level, S/MIME BR 3.2.4)",
		    o->prod->vtype == VT_SPONSOR ? "a sponsor-validated "
		    "product" : "a recipient with a personal name");
		return STAGE_REJECT;
	}
	if (e->dry_run)
		return STAGE_PASS;
	if (order_attest_record(e->st, o->id, o->att_officer,
	    o->att_title) == -1)
		return STAGE_ERROR;
	return STAGE_PASS;
}
