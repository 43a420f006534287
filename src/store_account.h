/*
 * store_account.h: accounts, and what the account commands do to an
 * account's orders (store_account.c).  Money (balances, contracts, the
 * ledger) is ledger.c's (billing.h).  Every function runs in the
 * caller's transaction and returns -1 on a database error.
 */
#ifndef CERTSPOOL_STORE_ACCOUNT_H
#define CERTSPOOL_STORE_ACCOUNT_H

struct store;

/* ---- accounts ---- */

/* Account id by name: > 0 found, 0 none, -1 error. */
long long account_lookup(struct store *, const char *name);
/* Create the account name with a zero balance: its id, or -1. */
long long account_insert(struct store *, const char *name);
/* The name of account id into *name (malloc'd; NULL if none); 0 or -1. */
int	 account_name(struct store *, long long id, char **name);

/* ---- an account's orders (order cancel) ---- */

struct order_ref {
	long long	 id, batch_id;
	char		*state;		/* malloc'd */
};

/*
 * The orders with external ids batch_ext / order_ext, of account (NULL:
 * any account): how many there are (0, 1, more when the batch id is
 * used by several accounts); *out is the last one (state NULL if none).
 */
int	 order_find_ext(struct store *, const char *batch_ext,
	    const char *order_ext, const char *account,
	    struct order_ref *out);
/* 1 if a recipient of the order is approved (being signed), 0 if not. */
int	 order_signing(struct store *, long long order_id);
/*
 * Cancel the order: each recipient not issued, rejected or cancelled,
 * then the order, moves to cancelled (store_state.h, reason
 * order_cancelled); the order's cancellation time is set and its batch
 * marked for a new result.
 */
int	 order_cancel(struct store *, long long batch_id, long long order_id);

#endif
