/*
 * store_dbcheck.h: the integrity checks of certspool db check and the
 * schema version of db migrate (store_dbcheck.c).
 */
#ifndef CERTSPOOL_STORE_DBCHECK_H
#define CERTSPOOL_STORE_DBCHECK_H

#include <stddef.h>

struct store;

/*
 * The result of one check: name, the number of rows found wrong (0:
 * the check passed) and up to a few of them described ("ledger 17",
 * "account 2 (acme): balance 500, ledger sum 400"), separated by "; ".
 */
typedef int	(*dbcheck_fn)(void *arg, const char *name, long long bad,
		    const char *detail);

/*
 * Run every check on st, calling fn once per check in a fixed order.
 * The number of checks that failed, or -1 on a database error (logged).
 */
int	 store_dbcheck(struct store *st, dbcheck_fn fn, void *arg);

/*
 * The schema version of the database target without migrating it (0:
 * empty) and its engine ("sqlite", "postgresql"); 0 or -1 with err.
 */
int	 store_db_version(const char *target, int *version,
	    const char **engine, char *err, size_t errlen);

#endif
