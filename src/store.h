/*
 * store.h: statement helpers over the SQLite store (store.c), for the
 * modules that read and write state.
 */
#ifndef CERTSPOOL_STORE_H
#define CERTSPOOL_STORE_H

#include <stdarg.h>
#include <sqlite3.h>

/* Run SQL with no result; printf-free, use bound statements elsewhere. */
int		 store_exec(struct store *, const char *sql);
sqlite3_stmt	*store_prep(struct store *, const char *sql, const char *fmt,
		    ...);
/* Give back a statement from store_prep (it is kept for reuse); the
 * result of its last step as sqlite3_finalize would return it. */
int		 store_release(sqlite3_stmt *);
int		 store_done(struct store *, sqlite3_stmt *);
int		 store_int(struct store *, long long *out, long long def,
		    sqlite3_stmt *);
char		*store_col_text(sqlite3_stmt *, int col);
long long	 store_last_id(struct store *);
/* Account id by name: > 0 found, 0 none, -1 error. */
long long	 store_account_id(struct store *, const char *name);

#endif
