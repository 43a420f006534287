/*
 * pipeline.c: runs every new or waiting order through the validation
 * stages in SPEC section 3 order and records where each order and
 * recipient stands.  Orders are evaluated in groups, one transaction a
 * group, so that a crash leaves each order before or after its
 * evaluation, never half-way.  Stages re-run from the start each pass:
 * an order waits only for what it still lacks, and reuse periods are
 * checked again when it finally moves on.
 * Failure policy: a stage's rejection is data; a database error aborts
 * the group (rolled back) and the pass is retried later.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "ca.h"
#include "fairq.h"
#include "pipeline.h"
#include "store_order.h"
#include "store_state.h"

#define EVAL_GROUP	256

/* A recipient the pipeline may still move (not final, not in signing). */
static int
is_open(const char *state)
{
	return strcmp(state, S_ISSUED) != 0 &&
	    strcmp(state, S_REJECTED) != 0 &&
	    strcmp(state, S_CANCELLED) != 0 &&
	    strcmp(state, S_APPROVED) != 0;
}

/*
 * The order's state from its recipients (SPEC 4): the first waiting state
 * any recipient is in; approved while any is to be signed; issued when
 * all are; rejected otherwise.
 */
static const char *
derive_state(const struct order *o, int *nissued, int *nrej)
{
	static const char *waits[] = { S_WAIT_ORG, S_WAIT_DCV, S_WAIT_CSR,
	    S_WAIT_FUNDS };
	size_t	 i, w;
	int	 approved = 0;

	*nissued = *nrej = 0;
	for (w = 0; w < sizeof(waits) / sizeof(waits[0]); w++)
		for (i = 0; i < o->nr; i++)
			if (strcmp(o->r[i].new_state, waits[w]) == 0)
				return waits[w];
	for (i = 0; i < o->nr; i++) {
		if (strcmp(o->r[i].new_state, S_APPROVED) == 0)
			approved++;
		else if (strcmp(o->r[i].new_state, S_ISSUED) == 0)
			(*nissued)++;
		else
			(*nrej)++;
	}
	if (approved)
		return S_APPROVED;
	if (*nrej == 0)
		return S_ISSUED;
	return S_REJECTED;
}

/* Run the stages over o; fills new states.  No database writes except
 * what a stage itself opens (a validation request, a DCV message). */
int
pipeline_eval(struct eval *e)
{
	static enum stage_rc (*const stages[])(struct eval *) = {
		stage_agreement, stage_terms, stage_org, stage_dcv,
		stage_attest, stage_payment_terms,
	};
	struct order	*o = e->o;
	enum stage_rc	 rc = STAGE_PASS;
	size_t		 i;

	for (i = 0; i < o->nr; i++)
		rcpt_set(&o->r[i], o->r[i].state, NULL, "%s", "");
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if ((rc = stages[i](e)) != STAGE_PASS)
			break;
	if (rc == STAGE_ERROR)
		return -1;
	/*
	 * As in the seed workflow, domain control is validated while the
	 * organization is: start the DCV now, though the order shows the
	 * organization it waits for.
	 */
	if (rc == STAGE_WAIT && strcmp(e->state, S_WAIT_ORG) == 0) {
		struct eval	 d = *e;

		if (stage_dcv(&d) == STAGE_ERROR)
			return -1;
	}
	for (i = 0; i < o->nr; i++) {
		struct rcpt *r = &o->r[i];

		if (!is_open(r->state))
			continue;
		/* Refused alone by an order stage (e.g. its subject). */
		if (rc != STAGE_REJECT &&
		    strcmp(r->new_state, S_REJECTED) == 0)
			continue;
		if (rc == STAGE_REJECT)
			rcpt_set(r, S_REJECTED, e->reason, "%s", e->message);
		else if (rc == STAGE_WAIT)
			rcpt_set(r, e->state, NULL, "%s", e->message);
		else {
			/* CAA (S/MIME BR 4.2.2.1): a refused or waiting
			 * recipient has its state set by stage_caa. */
			enum stage_rc	 r2;

			log_ctx_put(LOGK_RECIPIENT, r->email);
			r2 = stage_caa(e, r);

			if (r2 == STAGE_ERROR)
				return -1;
			if (r2 != STAGE_PASS)
				continue;
			r2 = stage_csr(e, r);
			if (r2 == STAGE_ERROR)
				return -1;
			/* Payment (SPEC 3.7): the charge at approval; a
			 * recipient that does not pass has its state set. */
			if (r2 == STAGE_PASS &&
			    (r2 = stage_payment(e, r)) == STAGE_ERROR)
				return -1;
			if (r2 == STAGE_PASS)
				rcpt_set(r, S_APPROVED, NULL, "%s", "");
		}
	}
	log_ctx_put(LOGK_RECIPIENT, NULL);
	return 0;
}

/*
 * Write the outcome of an evaluation (or a resettling): each recipient
 * whose state changed is moved, then the order, to the state derived
 * from its recipients (SPEC 4), and its batch is marked dirty.
 */
static int
save(struct eval *e)
{
	struct order	*o = e->o;
	struct state_move m;
	const char	*ostate;
	char		 reason[48] = "", message[512] = "";
	int		 nissued, nrej, changed = 0;
	size_t		 i;

	for (i = 0; i < o->nr; i++) {
		struct rcpt *r = &o->r[i];

		/* Only open recipients move in an evaluation: one already
		 * issued (a reopened order) keeps its state, whatever an
		 * order-level stage concluded for the others. */
		if (!is_open(r->state) && strcmp(r->state, r->new_state) != 0)
			strlcpy_(r->new_state, r->state, sizeof(r->new_state));
		if (strcmp(r->state, r->new_state) == 0)
			continue;
		changed = 1;
		rcpt_outcome(o, r, &m);
		m.spki = r->spki;
		if (rcpt_move(e->st, &m) == -1)
			return -1;
	}
	ostate = derive_state(o, &nissued, &nrej);
	if (strcmp(e->state, S_REJECTED) == 0) {
		ostate = S_REJECTED;
		strlcpy_(reason, e->reason, sizeof(reason));
		strlcpy_(message, e->message, sizeof(message));
	} else if (strcmp(ostate, S_REJECTED) == 0) {
		if (nissued == 0) {
			for (i = 0; i < o->nr; i++)
				if (o->r[i].reason[0] != '\0')
					break;
			if (o->nr == 1 && i < o->nr) {
				strlcpy_(reason, o->r[i].reason, sizeof(reason));
				strlcpy_(message, o->r[i].message,
				    sizeof(message));
			} else {
				strlcpy_(reason, "recipients_rejected",
				    sizeof(reason));
				snprintf(message, sizeof(message), "every "
				    "recipient was refused; see each recipient");
			}
		} else {
			strlcpy_(reason, "recipients_rejected", sizeof(reason));
			snprintf(message, sizeof(message), "%d of %zu "
			    "recipients were refused; the others were issued",
			    nrej, o->nr);
		}
	} else if (strncmp(ostate, "waiting_", 8) == 0)
		strlcpy_(message, e->message, sizeof(message));
	if (strcmp(ostate, o->state) != 0)
		changed = 1;
	if (!changed)
		return 0;
	memset(&m, 0, sizeof(m));
	m.batch = o->batch_id;
	m.order = o->id;
	m.from = o->state;
	m.to = ostate;
	m.reason = reason;
	m.message = message;
	m.org_id = o->org_id;
	m.not_after = (long long)o->not_after;
	if (order_move(e->st, &m) == -1 ||
	    batch_mark_dirty(e->st, o->batch_id) == -1)
		return -1;
	return 0;
}

static void
precheck_one(void *item, void *arg)
{
	(void)arg;
	csr_precheck(*(struct rcpt **)item);
}

/*
 * Verify the CSRs of a group's orders on the worker threads, ahead of
 * their evaluation: those of orders evaluated for the first time or
 * waiting for a CSR or for funds, which are the ones likely to reach
 * stage_csr now.  Any other is checked there when it is reached.
 */
static void
precheck(const struct conf *c, struct order **os, size_t n)
{
	struct rcpt	**rs;
	size_t		 i, k, nr = 0;

	for (i = 0; i < n; i++)
		if (os[i] != NULL)
			nr += os[i]->nr;
	if (nr == 0)
		return;
	rs = xcalloc(nr, sizeof(*rs));
	for (i = 0, nr = 0; i < n; i++) {
		struct order *o = os[i];

		if (o == NULL || (strcmp(o->state, S_NEW) != 0 &&
		    strcmp(o->state, S_WAIT_CSR) != 0 &&
		    strcmp(o->state, S_WAIT_FUNDS) != 0))
			continue;
		for (k = 0; k < o->nr; k++)
			if (is_open(o->r[k].state) && o->r[k].csr != NULL &&
			    o->r[k].keygen == NULL)
				rs[nr++] = &o->r[k];
	}
	workpool_run(c->workers, rs, nr, sizeof(*rs), precheck_one, NULL);
	free(rs);
}

/* A group of orders of one account, evaluated in one transaction. */
struct group {
	const struct conf	*conf;
	struct order		*os[EVAL_GROUP];
	size_t			 n;
	size_t			 slot;		/* its account in sweep */
	long long		 before;	/* that cursor before it */
	pthread_t		 th;
	int			 running;
};

/*
 * An evaluation sweep: every open order once, each account's in id
 * order, a group of each account in turn.  A pass whose slice is over
 * stops between two groups; the next pass goes on from each account's
 * cursor (an account new to the sweep starts at 0), so one account's
 * huge batch never holds back another's orders.  A sweep that reaches
 * every account's end is complete: the next one starts from scratch,
 * so waiting orders are looked at again.
 */
static struct sweep {
	int			 active;
	long long		*acct, *cursor;
	size_t			 n, cap;
	long long		 rot;		/* fairq_accounts' turn */
	size_t			 done;
	struct log_progress	 lp;
} sw;

/* This pass's turn: sweep slots of the accounts with open orders. */
struct turn {
	size_t	*slot;
	int	*ended;
	size_t	 n, pos;
};

static size_t
sweep_slot(long long acct)
{
	size_t	 i;

	for (i = 0; i < sw.n; i++)
		if (sw.acct[i] == acct)
			return i;
	if (sw.n == sw.cap) {
		sw.cap = sw.cap ? sw.cap * 2 : 8;
		sw.acct = reallocarray(sw.acct, sw.cap, sizeof(*sw.acct));
		sw.cursor = reallocarray(sw.cursor, sw.cap,
		    sizeof(*sw.cursor));
		if (sw.acct == NULL || sw.cursor == NULL)
			abort();
	}
	sw.acct[sw.n] = acct;
	sw.cursor[sw.n] = 0;
	return sw.n++;
}

static int
turn_begin(struct store *st, struct turn *t)
{
	long long	*ids;
	size_t		 i;

	memset(t, 0, sizeof(*t));
	if (fairq_accounts(st, FAIRQ_OPEN_ORDERS, &sw.rot, &ids, &t->n) == -1)
		return -1;
	t->slot = xcalloc(t->n + 1, sizeof(*t->slot));
	t->ended = xcalloc(t->n + 1, sizeof(*t->ended));
	for (i = 0; i < t->n; i++)
		t->slot[i] = sweep_slot(ids[i]);
	free(ids);
	return 0;
}

static void
turn_free(struct turn *t)
{
	free(t->slot);
	free(t->ended);
}

static void
sweep_end(void)
{
	free(sw.acct);
	free(sw.cursor);
	sw.acct = sw.cursor = NULL;
	sw.n = sw.cap = 0;
	sw.active = 0;
}

static void
group_free(struct group *g)
{
	while (g->n > 0)
		order_free(g->os[--g->n]);
}

/* The next group of account slot k, after its cursor: 1, 0 if none, -1. */
static int
group_load_one(struct store *st, struct group *g, size_t k)
{
	long long	 ids[EVAL_GROUP];
	size_t		 n, i;
	int		 got;

	if ((got = orders_open_next(st, sw.acct[k], sw.cursor[k], ids,
	    EVAL_GROUP)) <= 0)
		return got;
	n = (size_t)got;
	g->slot = k;
	g->before = sw.cursor[k];
	sw.cursor[k] = ids[n - 1];
	for (i = 0; i < n; i++) {
		if ((g->os[i] = order_load(st, ids[i])) == NULL) {
			g->n = i;
			group_free(g);
			return -1;
		}
	}
	g->n = n;
	return 1;
}

/* The next group in turn: 1, 0 if every account is through, -1. */
static int
group_load(struct store *st, struct group *g, struct turn *t)
{
	size_t	 tries;
	int	 got;

	for (tries = 0; tries < t->n; tries++) {
		size_t i = t->pos;

		t->pos = (t->pos + 1) % t->n;
		if (t->ended[i])
			continue;
		if ((got = group_load_one(st, g, t->slot[i])) != 0)
			return got;
		t->ended[i] = 1;
	}
	return 0;
}

static void *
group_precheck(void *arg)
{
	struct group	*g = arg;

	precheck(g->conf, g->os, g->n);
	return NULL;
}

static void
precheck_start(struct group *g)
{
	g->running = pthread_create(&g->th, NULL, group_precheck, g) == 0;
	if (!g->running)
		group_precheck(g);
}

static void
precheck_wait(struct group *g)
{
	if (g->running)
		pthread_join(g->th, NULL);
	g->running = 0;
}

/* The log context of order o: account, batch and order ids (the
 * batch's looked up when it is not the one of the previous order). */
static void
order_ctx(struct store *st, const struct order *o, long long *bid,
    char *acct, char *bext, size_t len)
{
	if (o->batch_id != *bid) {
		*bid = o->batch_id;
		batch_log_names(st, o->batch_id, acct, bext, len);
	}
	log_ctx_set(acct, bext, o->ext_id, NULL);
}

/* Evaluate the orders of group g, in the open transaction. */
static int
group_eval(struct store *st, const struct conf *c, const struct ca *ca,
    struct group *g)
{
	long long	 bid = 0;
	size_t		 i;
	char		 acct[128], bext[128];

	for (i = 0; i < g->n; i++) {
		struct eval	 e;

		memset(&e, 0, sizeof(e));
		e.st = st;
		e.conf = c;
		e.ca = ca;
		e.o = g->os[i];
		order_ctx(st, e.o, &bid, acct, bext, sizeof(acct));
		if (pipeline_eval(&e) == -1 || save(&e) == -1)
			return -1;
		crash_point("eval_order");
		log_progress_tick(&sw.lp, ++sw.done);
	}
	log_ctx_clear();
	return 0;
}

static int
sweep_begin(struct store *st)
{
	long long	 total = 0;

	if (sw.active)
		return 0;
	if (orders_open_total(st, &total) == -1)
		return -1;
	log_progress_begin(&sw.lp, "evaluation", "orders", (size_t)total);
	sw.active = 1;
	sw.done = 0;
	return 0;
}

/*
 * Evaluate the open orders, a group per transaction, the accounts in
 * turn (struct sweep), until every account is through or the slice is
 * over (slice->cut; NULL: no limit).  The next group is loaded before
 * this one is evaluated and its CSRs are checked on the worker threads
 * meanwhile (they depend on nothing this group changes).
 */
int
pipeline_evaluate(struct store *st, const struct conf *c, const struct ca *ca,
    struct slice *sl)
{
	struct group	*g, *next, *tmp;
	struct turn	 t;
	int		 rc = -1, got;

	g = xcalloc(1, sizeof(*g));
	next = xcalloc(1, sizeof(*next));
	g->conf = next->conf = c;
	memset(&t, 0, sizeof(t));
	if (sweep_begin(st) == -1 || turn_begin(st, &t) == -1)
		goto out;
	if (store_begin(st) == -1)
		goto out;
	if ((got = group_load(st, g, &t)) <= 0) {
		store_rollback(st);
		rc = got;
		if (got == 0) {
			log_progress_end(&sw.lp, sw.done, 1);
			sweep_end();
		}
		goto out;
	}
	precheck(c, g->os, g->n);
	for (;;) {
		if ((got = group_load(st, next, &t)) == -1)
			goto fail;
		if (got > 0)
			precheck_start(next);
		if (group_eval(st, c, ca, g) == -1)
			goto fail;
		group_free(g);
		crash_point("before_eval_commit");
		if (store_commit(st) == -1)
			goto out;
		crash_point("after_eval_commit");
		precheck_wait(next);
		if (next->n == 0)
			break;
		if (slice_over(sl)) {
			/* The group loaded ahead waits for the next pass. */
			sw.cursor[next->slot] = next->before;
			sl->cut = 1;
			rc = 0;
			goto out;
		}
		if (store_begin(st) == -1)
			goto out;
		tmp = g;
		g = next;
		next = tmp;
	}
	rc = 0;
	log_progress_end(&sw.lp, sw.done, 1);
	sweep_end();
	goto out;
fail:
	store_rollback(st);
out:
	/* A group not committed is evaluated again: the sweep restarts. */
	if (rc == -1)
		sweep_end();
	log_ctx_clear();
	precheck_wait(next);
	group_free(g);
	group_free(next);
	free(g);
	free(next);
	turn_free(&t);
	return rc;
}

int
order_resettle(struct store *st, long long id)
{
	struct eval	 e;
	size_t		 i;
	int		 rc;

	memset(&e, 0, sizeof(e));
	e.st = st;
	if ((e.o = order_load(st, id)) == NULL)
		return -1;
	for (i = 0; i < e.o->nr; i++)
		rcpt_set(&e.o->r[i], e.o->r[i].state, NULL, "%s", "");
	/* Keep the coverage end the evaluation computed. */
	e.o->not_after = 0;
	rc = save(&e);
	order_free(e.o);
	return rc;
}
