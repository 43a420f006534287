/*
 * stage_org.c: the organization stage (SPEC 3.3).  An order of an
 * organization- or sponsor-validated product names an organization of
 * its own account that completed S/MIME organization validation less
 * than 825 days ago (S/MIME BR 3.2.3, reuse per 4.2.1).  Mailbox-validated
 * products need none.  When the validation is missing or too old the
 * order waits in waiting_org and a validation request is opened, which
 * an operator completes with the code from the phone call
 * (certspool org verify).
 * Failure policy: a missing or foreign organization rejects the order; a
 * store error makes the order wait (it is evaluated again next pass)
 * and is logged.  Nothing is written in a dry run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "stage.h"
#include "store_org.h"
#include "dcv.h"

/*
 * Make sure the organization has a request an operator can complete:
 * expire the lapsed ones, then open one unless one is open or the last
 * one was locked (a locked request wants an operator's decision:
 * certspool org request).  0 or -1 (store).
 */
static int
org_request_ensure(struct eval *e)
{
	struct order	*o = e->o;
	long long	 id;
	char		 detail[256];
	int		 pending;

	if (org_request_expire(e->st, o->org_id, o->batch_id, o->id) == -1)
		return -1;
	if ((pending = org_request_pending(e->st, o->org_id)) != 0)
		return pending == -1 ? -1 : 0;

	if ((id = org_request_insert(e->st, o->org_id, NULL, 0)) == -1)
		return -1;
	snprintf(detail, sizeof(detail), "organization %lld \"%s\" request "
	    "%lld (S/MIME BR 3.2.3)", o->org_id, o->org_name, id);
	return store_event(e->st, "org_validation_requested", o->batch_id,
	    o->id, 0, NULL, "open", NULL, detail);
}

enum stage_rc
stage_org(struct eval *e)
{
	struct order	*o = e->o;
	struct org_row	 org;
	int		 found;

	if (o->prod == NULL)
		abort();	/* stage_terms runs first */
	if (o->prod->vtype == VT_MAILBOX)
		return STAGE_PASS;

	if (o->organization == NULL || o->organization[0] == '\0') {
		eval_reject(e, "organization_missing", "product %s is "
		    "%s-validated and needs an organization (S/MIME BR "
		    "3.2.3); the order names none", o->prod->name,
		    o->prod->vtype == VT_SPONSOR ? "sponsor" : "organization");
		return STAGE_REJECT;
	}

	if ((found = org_find(e->st, o->account_id, o->organization,
	    &org)) == -1)
		goto fail;
	if (!found) {
		eval_reject(e, "unknown_organization", "organization \"%s\" is "
		    "not an organization of this account; an operator adds it "
		    "with certspool org add", o->organization);
		return STAGE_REJECT;
	}
	o->org_id = org.id;
	free(o->org_name);
	free(o->org_country);
	free(o->org_identifier);
	o->org_name = org.name;
	o->org_country = org.country;
	o->org_identifier = org.identifier;

	if (org.validated && (long long)clock_now() - org.validated_at <
	    ORG_REUSE)
		return STAGE_PASS;

	if (!e->dry_run && org_request_ensure(e) == -1)
		goto fail;
	eval_wait(e, S_WAIT_ORG, "organization \"%s\" needs S/MIME "
	    "organization validation (S/MIME BR 3.2.3)%s: certspool org "
	    "request %lld", o->org_name, org.validated ? ", the last one is "
	    "older than 825 days" : "", o->org_id);
	return STAGE_WAIT;

fail:
	log_err("order %lld: organization stage: store error; retried on "
	    "the next pass", o->id);
	return STAGE_ERROR;
}
