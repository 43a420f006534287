/*
 * store.h: statement helpers over the store (store.c) and its driver (db.h), for the
 * modules that read and write state.
 */
#ifndef CERTSPOOL_STORE_H
#define CERTSPOOL_STORE_H

#include <stdarg.h>
#include "db.h"

/* Run SQL with no result; printf-free, use bound statements elsewhere. */
int		 store_exec(struct store *, const char *sql);
struct dbstmt	*store_prep(struct store *, const char *sql, const char *fmt,
		    ...);
/* Give back a statement from store_prep (it is kept for reuse); the
 * result: DB_OK, or DB_ERROR if its last step failed. */
int		 store_release(struct dbstmt *);
int		 store_done(struct store *, struct dbstmt *);
int		 store_int(struct store *, long long *out, long long def,
		    struct dbstmt *);
char		*store_col_text(struct dbstmt *, int col);
long long	 store_last_id(struct store *);
/*
 * The rows of the accounts this daemon holds (several daemons on one
 * database, cluster.c): every account when st->node is 0 (one daemon,
 * and every command).  col names the account id; the condition binds
 * "ii" (st->node twice), after the statement's other parameters.
 */
#define STORE_HELD(col)	" AND (? = 0 OR " col " IN (SELECT id FROM" \
			" account WHERE lease_node = ?))"

/* Inside the committing transaction of st->node (store_commit): renew
 * the node's lease, 1; 0 if it had expired (the caller must roll back);
 * -1 on error.  store_node.c. */
int		 node_fence(struct store *);

/* Account id by name: > 0 found, 0 none, -1 error. */
long long	 store_account_id(struct store *, const char *name);

#endif
