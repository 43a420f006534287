/*
 * stage.c: what the validation stages share: how a stage states its
 * outcome (eval_reject, eval_wait, rcpt_set), the domain of an address,
 * and the order's price quote (SPEC 3.7), which stage_agreement makes
 * and stage_terms' card screening reads before the payment stage runs.
 * Failure policy: a database error is returned (-1) and the stage that
 * called answers STAGE_ERROR.
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
#include "store_stage.h"

const char *
email_domain(const char *email)
{
	const char	*at;

	if (email == NULL || (at = strrchr(email, '@')) == NULL || at[1] == 0)
		return NULL;
	return at + 1;
}

void
eval_reject(struct eval *e, const char *reason, const char *fmt, ...)
{
	va_list	 ap;

	strlcpy_(e->state, S_REJECTED, sizeof(e->state));
	strlcpy_(e->reason, reason, sizeof(e->reason));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
eval_wait(struct eval *e, const char *state, const char *fmt, ...)
{
	va_list	 ap;

	strlcpy_(e->state, state, sizeof(e->state));
	e->reason[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
rcpt_set(struct rcpt *r, const char *state, const char *reason,
    const char *fmt, ...)
{
	va_list	 ap;

	strlcpy_(r->new_state, state, sizeof(r->new_state));
	strlcpy_(r->reason, reason ? reason : "", sizeof(r->reason));
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

int
billing_quote(struct eval *e)
{
	struct order	*o = e->o;
	time_t		 now = clock_now(), end;
	long long	 unit;
	long		 n;
	char		*ep;

	o->pay_years = 1;
	switch (o->vkind) {
	case VALID_YEARS:
		n = strtol(o->vvalue ? o->vvalue : "", &ep, 10);
		if (*ep == '\0' && n >= 1 && n <= PRICE_YEARS)
			o->pay_years = (int)n;
		break;
	case VALID_DAYS:
		n = strtol(o->vvalue ? o->vvalue : "", &ep, 10);
		if (*ep == '\0' && n >= 1 && n <= 100000)
			o->pay_years = coverage_years((time_t)n * 86400);
		break;
	case VALID_NOTAFTER:
		if (o->vvalue != NULL && time_parse(o->vvalue, &end) == 0 &&
		    end + 86399 > now)
			o->pay_years = coverage_years(end + 86400 - now);
		break;
	default:
		break;
	}
	if ((unit = price_of(e->conf, o->product, o->pay_years)) < 0)
		unit = 0;	/* unknown product: refused by stage_terms */
	o->pay_unit = unit;
	if (e->dry_run)
		return 0;
	return order_price_record(e->st, o->id, unit * (long long)o->nr, unit,
	    (long long)o->pay_years);
}

int
billing_screened(struct eval *e)
{
	int	 flag;

	if ((flag = order_card_flagged(e->st, e->o->id)) == -1)
		return -1;
	if (flag)
		eval_reject(e, "card_number_not_allowed", "a payment card "
		    "number was given as the payment reference; it was not "
		    "stored.  Pay by card with the token of your card "
		    "processor only");
	return flag ? 1 : 0;
}

/* Free an order loaded for evaluation (store_order.c) and its recipients. */
void
order_free(struct order *o)
{
	size_t	 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->nr; i++) {
		struct rcpt *r = &o->r[i];

		free(r->cn);
		free(r->given_name);
		free(r->surname);
		free(r->pseudonym);
		free(r->email);
		free(r->csr);
		free(r->keygen);
		free(r->spki);
	}
	free(o->r);
	free(o->ext_id);
	free(o->product);
	free(o->organization);
	free(o->sig_hash);
	free(o->vvalue);
	free(o->att_officer);
	free(o->att_title);
	free(o->add_emails);
	free(o->pay_method);
	free(o->pay_ref);
	free(o->org_name);
	free(o->org_country);
	free(o->org_identifier);
	free(o);
}

void
rcpt_outcome(const struct order *o, const struct rcpt *r,
    struct state_move *m)
{
	memset(m, 0, sizeof(*m));
	m->batch = o->batch_id;
	m->order = o->id;
	m->rcpt = r->id;
	m->from = r->state;
	m->to = r->new_state;
	m->reason = r->reason;
	m->message = r->message;
}
