/*
 * store_copy.h: copying an SQLite database to an empty PostgreSQL one
 * (store_copy.c), for certspool db copy (cmd_db.c).
 */
#ifndef CERTSPOOL_STORE_COPY_H
#define CERTSPOOL_STORE_COPY_H

#include <stddef.h>

struct store;

#define COPY_TABLES_MAX	48

/* One table copied: rows and content digest read back on each side. */
struct copy_table {
	char		 name[64];
	long long	 src_rows, dst_rows;
	char		 src_digest[65], dst_digest[65];
};

struct copy_report {
	struct copy_table	 t[COPY_TABLES_MAX];
	int			 n;
};

/*
 * Connect to the PostgreSQL database uri without creating anything in
 * it: NULL with err set when it cannot be reached or is not empty (a
 * table, sequence, view or function in its schema).
 */
struct store	*store_open_empty(const char *uri, char *err, size_t errlen);

/*
 * Copy every table of src (an SQLite store at the current schema
 * version) to dst (from store_open_empty): the schema, the rows in
 * dependency order, the identity sequences, and meta key copied_from
 * (from, and the time), all in one transaction of dst; src is read in
 * one read transaction.  Every table's row count and content digest is
 * compared on both sides before the commit.  0 with rep filled in, or
 * -1 with err set and nothing left in dst.
 */
int		 store_copy(struct store *src, struct store *dst,
		    const char *from, struct copy_report *rep, char *err,
		    size_t errlen);

#endif
