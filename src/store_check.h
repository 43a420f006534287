/*
 * store_check.h: what certspool check (cmd_check.c) reads and writes
 * for its dry run (store_check.c).  The check stores the document as
 * the spool would and keeps each order's outcome for the orders after
 * it, all inside one transaction that cmd_check begins and always rolls
 * back: every function here runs in the caller's transaction and none
 * begins or commits one.  -1 is a database error (logged).
 */
#ifndef CERTSPOOL_STORE_CHECK_H
#define CERTSPOOL_STORE_CHECK_H

struct store;
struct batch_head;

/* ---- the document, as the spool would take it ---- */

/* 1 if account aid already gave a file of this SHA-256 (hex) that was
 * accepted, 0 if not. */
int	 check_file_seen(struct store *, long long aid, const char *sha);
/* 1 if account aid already submitted a batch of this id, 0 if not. */
int	 check_batch_seen(struct store *, long long aid, const char *ext_id);
/* Store batch h of account aid (file name, its SHA-256); its id. */
long long check_batch_store(struct store *, long long aid,
	    const struct batch_head *h, const char *sha, const char *name);
/* 1 if the last statement that failed broke a constraint (an order id
 * twice in a batch), 0 if it failed otherwise. */
int	 check_failed_on_constraint(struct store *);
/* The newest recipient email of order ext_id of account aid that still
 * waits for a CSR (csrLater, none yet, new or waiting_csr): 1 with its
 * id and its order's, 0 if none. */
int	 check_csr_waiting(struct store *, long long aid, const char *ext_id,
	    const char *email, long long *rid, long long *oid);
/* Give recipient rid (of order oid, found by check_csr_waiting) its CSR
 * and make it new again; 0. */
int	 check_csr_take(struct store *, long long rid, long long oid,
	    const char *csr);

/* ---- the evaluation ---- */

/* Up to max ids of batch's orders after id `after`, in id order; how
 * many (0: no more). */
int	 check_order_ids(struct store *, long long batch, long long after,
	    long long *ids, int max);
/* The reason and message (malloc'd, NULL when none) that intake stored
 * for order oid it refused; 0, or -1 also when there is no such order. */
int	 check_refusal(struct store *, long long oid, char **reason,
	    char **message);
/*
 * Keep a recipient's outcome for the orders checked after it: its CSR
 * key's hash (spki, NULL: none) and the move m (rcpt_move of
 * store_state.h).  0 done; 1 if the state machine does not allow the
 * move or the recipient is no longer in m->from: then only the key's
 * hash is kept, the state is not forced, and the caller reports it.
 */
struct state_move;
int	 check_rcpt_keep(struct store *, const struct state_move *m,
	    const char *spki);

#endif
