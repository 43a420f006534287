/*
 * stage_terms.c: SPEC 3.2 — product, signature hash and validity, and
 * the subject each recipient asks for against what the product's
 * validation type allows (S/MIME BR 7.1.4.2).  A certificate never runs
 * longer than 825 days counted inclusively (S/MIME BR 6.3.2); a longer
 * order is a coverage period served by reissues.  The coverage each
 * recipient paid for is fixed when it is charged (stage_payment.c); once
 * an order has one, its validity was accepted and is not refused again
 * when a reissue or renewal brings the order back (its notAfter date
 * may then be near or past).
 * Failure policy: every refusal rejects the whole order with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "stage.h"
#include "batch.h"
#include "ca.h"
#include "store_stage.h"

/* The end of the coverage the order asks for, from now; an order with
 * an established coverage (established) is not refused for its date. */
static int
coverage_end(struct eval *e, time_t now, int established, time_t *end)
{
	struct order	*o = e->o;
	struct tm	 tm;
	long		 n;
	char		*ep;

	switch (o->vkind) {
	case VALID_YEARS:
		n = strtol(o->vvalue ? o->vvalue : "", &ep, 10);
		if (*ep != '\0' || n < 1 || n > 3)
			break;
		gmtime_r(&now, &tm);
		tm.tm_year += (int)n;
		*end = timegm(&tm) - 1;
		return 0;
	case VALID_DAYS:
		n = strtol(o->vvalue ? o->vvalue : "", &ep, 10);
		if (*ep != '\0' || n < 1 || n > 1185)
			break;
		*end = now + (time_t)n * 86400 - 1;
		return 0;
	case VALID_NOTAFTER:
		if (o->vvalue == NULL || time_parse(o->vvalue, end) == -1)
			break;
		*end += 86399;		/* the end of that day, UTC */
		if (established)
			return 0;
		if (*end < now + 86400) {
			eval_reject(e, "validity_in_past", "notAfter %s is not "
			    "at least one day in the future", o->vvalue);
			return -1;
		}
		if (*end > now + 3 * 366 * 86400) {
			eval_reject(e, "validity_too_long", "notAfter %s is "
			    "more than 3 years away", o->vvalue);
			return -1;
		}
		return 0;
	default:
		break;
	}
	eval_reject(e, "validity_invalid", "validity must be years 1-3, "
	    "days 1-1185 or a notAfter date");
	return -1;
}

static int
subject_ok(struct eval *e, struct rcpt *r)
{
	const struct product	*p = e->o->prod;
	int			 personal = r->given_name || r->surname ||
	    r->pseudonym;

	switch (r->cn_type) {
	case CN_EMAIL:
		if (r->cn == NULL || strcasecmp(r->cn, r->email) != 0) {
			eval_reject(e, "cn_email_mismatch", "recipient %s: "
			    "commonName type=\"email\" must be the mailbox "
			    "address (S/MIME BR 7.1.4.2.2 (a))", r->email);
			return -1;
		}
		break;
	case CN_NAME:
		if (p->vtype != VT_SPONSOR) {
			eval_reject(e, "cn_type_not_allowed", "recipient %s: "
			    "a personal name needs a sponsor-validated product; "
			    "%s is %s-validated (S/MIME BR 7.1.4.2.2 (a))",
			    r->email, p->name, p->vtype == VT_MAILBOX ?
			    "mailbox" : "organization");
			return -1;
		}
		if (!personal) {
			eval_reject(e, "name_missing", "recipient %s: a "
			    "personal name needs givenName and/or surname, or "
			    "pseudonym (S/MIME BR 7.1.4.2.2 (a))", r->email);
			return -1;
		}
		break;
	case CN_ORGANIZATION:
		if (p->vtype != VT_ORGANIZATION) {
			eval_reject(e, "cn_type_not_allowed", "recipient %s: "
			    "commonName type=\"organization\" needs an "
			    "organization-validated product", r->email);
			return -1;
		}
		if (e->o->organization == NULL || r->cn == NULL ||
		    strcmp(r->cn, e->o->organization) != 0) {
			eval_reject(e, "cn_organization_mismatch", "recipient "
			    "%s: commonName must be the organization name",
			    r->email);
			return -1;
		}
		break;
	default:
		eval_reject(e, "cn_type_not_allowed", "recipient %s: unknown "
		    "commonName type", r->email);
		return -1;
	}
	if (!personal && p->vtype == VT_SPONSOR) {
		/* S/MIME BR 7.1.4.2.5 note 2: this recipient alone. */
		rcpt_set(r, S_REJECTED, "name_missing", "recipient %s: a "
		    "sponsor-validated certificate needs givenName and/or "
		    "surname, or pseudonym (S/MIME BR 7.1.4.2.5)", r->email);
		return 0;
	}
	if (personal && p->vtype != VT_SPONSOR) {
		eval_reject(e, "subject_not_allowed", "recipient %s: "
		    "givenName, surname and pseudonym are only for "
		    "sponsor-validated products (S/MIME BR 7.1.4.2.2)", r->email);
		return -1;
	}
	if (r->pseudonym && (r->given_name || r->surname)) {
		eval_reject(e, "subject_not_allowed", "recipient %s: "
		    "pseudonym excludes givenName and surname "
		    "(S/MIME BR 7.1.4.2.2 (b))", r->email);
		return -1;
	}
	return 0;
}

enum stage_rc
stage_terms(struct eval *e)
{
	struct order	*o = e->o;
	char		 msg[256];
	time_t		 now = clock_now(), end;
	int		 established;
	size_t		 i;

	/* A card number as payment reference, screened out at intake:
	 * refused before any validation starts (SPEC 3.7). */
	switch (billing_screened(e)) {
	case -1:
		return STAGE_ERROR;
	case 1:
		return STAGE_REJECT;
	default:
		break;
	}
	if ((o->prod = product_find(o->product)) == NULL) {
		eval_reject(e, "unknown_product", "unknown product \"%s\"",
		    o->product);
		return STAGE_REJECT;
	}
	if (e->ca != NULL && ca_hash_ok(e->ca, o->sig_hash, msg,
	    sizeof(msg)) == -1) {
		eval_reject(e, "signature_hash_unsupported", "%s", msg);
		return STAGE_REJECT;
	}
	if ((established = order_has_coverage(e->st, o->id)) == -1)
		return STAGE_ERROR;
	if (coverage_end(e, now, established > 0, &end) == -1)
		return STAGE_REJECT;
	o->not_after = end;
	for (i = 0; i < o->nr; i++)
		if (subject_ok(e, &o->r[i]) == -1)
			return STAGE_REJECT;
	return STAGE_PASS;
}
