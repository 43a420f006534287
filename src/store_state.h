/*
 * store_state.h: the order and recipient state machine (SPEC 4).  The
 * functions here are the only code that changes the state of an order or
 * a recipient: each move is checked against the machine's table
 * (store_state.c; an illegal move is a bug: logged, then abort()), updates
 * the row and appends its event, all in the caller's transaction.
 */
#ifndef CERTSPOOL_STORE_STATE_H
#define CERTSPOOL_STORE_STATE_H

/* The states (SPEC 4) and the two internal ones, new and approved. */
#define S_NEW		"new"		/* parsed, not yet evaluated */
#define S_APPROVED	"approved"	/* passed every stage, to be signed */
#define S_ISSUED	"issued"
#define S_WAIT_ORG	"waiting_org"
#define S_WAIT_DCV	"waiting_dcv"
#define S_WAIT_CSR	"waiting_csr"
#define S_WAIT_FUNDS	"waiting_funds"
#define S_REJECTED	"rejected"
#define S_CANCELLED	"cancelled"

struct store;

enum state_of { STATE_ORDER, STATE_RECIPIENT };

/*
 * 1 if from -> to is a transition of the machine for an order or a
 * recipient, 0 if not (unknown states and from == to are not).
 */
int	 state_move_ok(enum state_of, const char *from, const char *to);

/*
 * One move.  reason and message: NULL or "" clears them.  kind: the
 * event's kind (NULL: "order_state" or "recipient_state"); detail: the
 * event's detail (NULL: the message).  from == to is no move: only the
 * reason and message (and the columns below) are written, no event.
 */
struct state_move {
	const char	*kind;
	long long	 batch, order, rcpt;
	const char	*from, *to;
	const char	*reason, *message, *detail;
	/* recipient: its CSR key's SHA-256 (hex), NULL: unchanged */
	const char	*spki;
	/* order: organization id and coverage end, 0: unchanged */
	long long	 org_id, not_after;
};

/*
 * Move recipient m->rcpt (order m->order, batch m->batch) if it is still
 * in m->from: 1 moved, 0 it was not in m->from (nothing written), -1 on
 * a database error.  Caller's transaction.
 */
int	 rcpt_move(struct store *, const struct state_move *);
/* The same for order m->order (its updated time set to now). */
int	 order_move(struct store *, const struct state_move *);

#endif
