/*
 * store_state.c: the order and recipient state machine (SPEC 4).
 *
 * Recipient: new and the waiting states are open (evaluated again);
 * approved waits for the signer; issued may start a new round (renewal,
 * reissue) or be ended by a revocation; rejected and cancelled are final.
 * An order's state is derived from its recipients (pipeline.c), so it
 * may move between any two non-final states; issued and rejected
 * orders start over when a recipient starts a new round, and any order
 * not yet cancelled may be cancelled.  The table below is the machine;
 * the README's "State machine" section lists the same moves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_state.h"

enum { NEW, APPROVED, ISSUED, W_ORG, W_DCV, W_CSR, W_FUNDS, REJECTED,
    CANCELLED, NSTATES };

static const char *const names[NSTATES] = {
	S_NEW, S_APPROVED, S_ISSUED, S_WAIT_ORG, S_WAIT_DCV, S_WAIT_CSR,
	S_WAIT_FUNDS, S_REJECTED, S_CANCELLED
};

#define B(s)	(1u << (s))
#define WAITS	(B(W_ORG) | B(W_DCV) | B(W_CSR) | B(W_FUNDS))
/* What an evaluation may conclude for an open recipient. */
#define EVAL	(B(APPROVED) | WAITS | B(REJECTED))

static const unsigned rcpt_next[NSTATES] = {
	[NEW]		= EVAL | B(CANCELLED),
	[W_ORG]		= EVAL | B(NEW) | B(CANCELLED),
	[W_DCV]		= EVAL | B(NEW) | B(CANCELLED),
	[W_CSR]		= EVAL | B(NEW) | B(CANCELLED),
	[W_FUNDS]	= EVAL | B(NEW) | B(CANCELLED),
	[APPROVED]	= B(ISSUED) | B(REJECTED) | B(CANCELLED),
	[ISSUED]	= B(NEW) | B(CANCELLED),
	[REJECTED]	= 0,
	[CANCELLED]	= 0,
};

/* Derived from the recipients: any non-final state to any other. */
#define OPEN	(B(NEW) | B(APPROVED) | WAITS)
#define DERIVED	(B(APPROVED) | WAITS | B(ISSUED) | B(REJECTED))

static const unsigned order_next[NSTATES] = {
	[NEW]		= DERIVED | B(CANCELLED),
	[W_ORG]		= DERIVED | B(NEW) | B(CANCELLED),
	[W_DCV]		= DERIVED | B(NEW) | B(CANCELLED),
	[W_CSR]		= DERIVED | B(NEW) | B(CANCELLED),
	[W_FUNDS]	= DERIVED | B(NEW) | B(CANCELLED),
	[APPROVED]	= DERIVED | B(CANCELLED),
	[ISSUED]	= OPEN | B(REJECTED) | B(CANCELLED),
	[REJECTED]	= OPEN | B(ISSUED) | B(CANCELLED),
	[CANCELLED]	= 0,
};

static int
state_index(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < NSTATES; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
state_move_ok(enum state_of what, const char *from, const char *to)
{
	int	 f = state_index(from), t = state_index(to);

	if (f < 0 || t < 0 || f == t)
		return 0;
	return ((what == STATE_ORDER ? order_next : rcpt_next)[f] & B(t)) != 0;
}

/* An illegal move is a bug in the caller, never a matter of input. */
static void
check(enum state_of what, const struct state_move *m)
{
	if (strcmp(m->from, m->to) == 0 && state_index(m->from) >= 0)
		return;
	if (state_move_ok(what, m->from, m->to))
		return;
	log_err("bug: illegal %s move %s -> %s (order %lld, recipient %lld)",
	    what == STATE_ORDER ? "order" : "recipient", m->from, m->to,
	    m->order, m->rcpt);
	abort();
}

static const char *
nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static int
event(struct store *st, const struct state_move *m, const char *kind)
{
	if (strcmp(m->from, m->to) == 0)
		return 0;
	return store_event(st, m->kind ? m->kind : kind, m->batch, m->order,
	    m->rcpt, m->from, m->to, nz(m->reason),
	    m->detail ? m->detail : nz(m->message));
}

int
rcpt_move(struct store *st, const struct state_move *m)
{
	check(STATE_RECIPIENT, m);
	if (store_done(st, store_prep(st, "UPDATE recipient SET state = ?,"
	    " reason = ?, message = ?, spki_sha256 = COALESCE(?,"
	    " spki_sha256) WHERE id = ? AND state = ?", "ttttit", m->to,
	    nz(m->reason), nz(m->message), m->spki, m->rcpt, m->from)) == -1)
		return -1;
	if (db_changes(st) == 0)
		return 0;
	return event(st, m, "recipient_state") == -1 ? -1 : 1;
}

int
order_move(struct store *st, const struct state_move *m)
{
	check(STATE_ORDER, m);
	if (store_done(st, store_prep(st, "UPDATE orders SET state = ?,"
	    " reason = ?, message = ?, org_id = COALESCE(NULLIF(?, 0),"
	    " org_id), not_after = COALESCE(NULLIF(?, 0), not_after),"
	    " updated = ? WHERE id = ? AND state = ?", "tttiiiit", m->to,
	    nz(m->reason), nz(m->message), m->org_id, m->not_after,
	    (long long)clock_now(), m->order, m->from)) == -1)
		return -1;
	if (db_changes(st) == 0)
		return 0;
	return event(st, m, "order_state") == -1 ? -1 : 1;
}
