/*
 * store_order.h: the orders in the store, from intake to evaluation
 * (store_order.c).  It owns the rows that intake writes (batch, input,
 * orders, recipient), the reads of the evaluation (an order with its
 * recipients, the open orders of each account in fair-share order) and
 * the bookkeeping of intake, spool and daemon (accounts, the dirty mark
 * of a batch).  Every state change goes through store_state.h.
 * Unless said otherwise a function runs in the caller's transaction (or
 * none) and returns 0, or -1 after a database error was logged.  A
 * row callback returns 0 to go on, 1 to stop, -1 to stop with an error
 * (the walk then returns -1).
 */
#ifndef CERTSPOOL_STORE_ORDER_H
#define CERTSPOOL_STORE_ORDER_H

/* The states of an open order (to evaluate), as SQL: the WHERE of the
 * orders_open index, which a query must repeat to be answered by it. */
#define FAIRQ_OPEN_STATES \
	"('new', 'waiting_org', 'waiting_dcv', 'waiting_csr', 'waiting_funds')"

/* Which work an account has waiting. */
enum fairq_kind {
	FAIRQ_OPEN_ORDERS,	/* orders to evaluate (orders_open) */
	FAIRQ_APPROVED		/* recipients to sign (recipient_approved) */
};

struct store;
struct order;
struct order_in;
struct recipient_in;

/* ---- accounts (intake, recovery, daemon) ---- */

/* fn(arg, id, name) for every account this daemon holds (STORE_HELD;
 * all of them on one daemon), in name order. */
int	 account_each(struct store *,
	    int (*fn)(void *, long long id, const char *name), void *arg);
/* fn(arg, name) for every account, in no order (watches). */
int	 account_each_name(struct store *,
	    int (*fn)(void *, const char *name), void *arg);
/* 1 if an account has that name, 0 if none, -1. */
int	 account_name_known(struct store *, const char *name);

/* ---- inputs and batches (spool.c) ---- */

/* What the store knows of an earlier input (strings malloc'd). */
struct input_seen {
	long long	 id;		/* the input row */
	int		 accepted;	/* its outcome was 'accepted' */
	char		*work_name;	/* its file, or NULL */
	long long	 received;
	char		*batch;		/* its batch's id, or NULL */
};
void	 input_seen_free(struct input_seen *);

/* The batch this account already sent with that id: 1 (work_name and
 * received set), 0 none; -1 only if the query cannot be made. */
int	 batch_submitted(struct store *, long long account_id,
	    const char *ext_id, struct input_seen *);
/* A new batch row: its id, or -1. */
long long batch_store(struct store *, long long account_id,
	    const char *ext_id, const char *sha, const char *file_name,
	    const char *created, const char *att_officer,
	    const char *att_title);
/* The batch_received event of a new batch. */
int	 batch_received(struct store *, long long batch_id,
	    const char *file_name);
/* Mark a batch as changed: its result is written in the next pass. */
int	 batch_mark_dirty(struct store *, long long batch_id);
/* Account name and batch id of a batch (log context), "" if unknown. */
void	 batch_log_names(struct store *, long long batch_id, char *acct,
	    char *batch, size_t len);

/* Record an input's outcome ("accepted"/"rejected") and its event
 * (detail: NULL for the name): the last row id (the event's), or -1. */
long long input_record(struct store *, long long account_id,
	    const char *sha, const char *name, const char *kind,
	    const char *outcome, long long batch_id, const char *detail);
/* The last input of these bytes under this name: 1 (id, accepted), 0
 * none or no answer. */
int	 input_last(struct store *, long long account_id, const char *sha,
	    const char *name, struct input_seen *);
/* The first accepted input of these bytes: 1 (work_name, received,
 * batch), 0 none; -1 only if the query cannot be made. */
int	 input_accepted_first(struct store *, long long account_id,
	    const char *sha, struct input_seen *);
/* After a failed statement: 1 if a constraint refused it (bad input,
 * such as an order id twice in a batch), 0 if the store failed. */
int	 input_conflict(struct store *);

/* ---- a parsed order (spool.c order_store) ---- */

/* An order as intake stores it; spool.c decides the values. */
struct order_row {
	const struct order_in	*in;
	const char		*organization;	/* NFC */
	const char		*pay_ref;	/* NULL: screened out */
	int			 card_flag;	/* pay_ref: a card */
	const char		*state;		/* new, or rejected */
	const char		*reason, *message; /* a refusal at intake */
};
/* Subject names of a recipient as stored (NFC). */
struct rcpt_names {
	const char	*cn, *given_name, *surname, *pseudonym;
};
/* Insert the order row: its id, or -1. */
long long order_insert(struct store *, long long batch_id,
	    const struct order_row *);
/* Insert recipient idx of the order, in the order's state. */
int	 rcpt_insert(struct store *, long long order_id, long long idx,
	    const struct recipient_in *, const struct rcpt_names *,
	    const struct order_row *);
/* The order_state event of an order refused at intake. */
int	 order_refused_at_intake(struct store *, long long batch_id,
	    long long order_id, const char *reason, const char *message);

/* The csrLater recipient of this account's order with that email that
 * still waits for its CSR (newest batch): 1 (*rid, *bid, *oid), 0 none. */
int	 csr_waiting_rcpt(struct store *, long long account_id,
	    const char *order_ext, const char *email, long long *rid,
	    long long *bid, long long *oid);
/* Store a csrLater recipient's CSR and make it evaluated again: the
 * recipient (if still open) and a waiting_csr order moved to new; source
 * goes into the csr_received event (csrSubmission, portal keygen). */
int	 recipient_take_csr(struct store *, long long rid, long long oid,
	    long long bid, const char *csr, const char *source);

/* ---- evaluation (pipeline.c, fairq.c, daemon.c) ---- */

/* An order with its recipients, for evaluation (stage.h); order_free()
 * it.  NULL on a database error. */
struct order	*order_load(struct store *, long long id);

/* An order and its recipients (pipeline.h), or NULL. */
struct order	*order_load(struct store *, long long id);
/* Up to max open orders of an account with ids above after, in id
 * order (orders_open index): their count, or -1. */
int	 orders_open_next(struct store *, long long account,
	    long long after, long long *ids, size_t max);
/* How many orders are open (the evaluation's progress total). */
int	 orders_open_total(struct store *, long long *);
/* The open orders by state: n[0] new, n[1..4] waiting_org, _dcv, _csr,
 * _funds. */
int	 orders_open_by_state(struct store *, long long n[5]);
/* The first account above after with work of that kind (fairq.h): its
 * id, 0 if none, -1. */
long long fairq_account_after(struct store *, enum fairq_kind,
	    long long after);

#endif
