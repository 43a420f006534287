/*
 * db.h: the database driver under the data layer.  The store_*.c files
 * and ledger.c write portable SQL (positional "?" parameters, ON
 * CONFLICT, no engine functions) and run it through these calls; a
 * driver (db_sqlite.c, db_pg.c) turns them into its engine's API and
 * dialect.  Nothing outside the data layer includes this header.
 *
 * Statements: store_prep (store.h) takes one from the driver with its
 * parameters bound; db_step runs it (the first step executes it) and
 * moves to the next row; the db_col_* calls read the current row;
 * store_release gives it back.  Text and blob pointers stay valid until
 * the next step or the release.
 */
#ifndef CERTSPOOL_DB_H
#define CERTSPOOL_DB_H

#include <stddef.h>

struct store;

/* Step and release results (the same numbers as SQLite's). */
#define DB_OK		0
#define DB_ERROR	1
#define DB_ROW		100
#define DB_DONE		101

/* A statement; each driver's own struct starts with this one.  sql,
 * hash, cached and busy serve the connection's statement cache. */
struct dbstmt {
	const struct db_driver	*drv;
	struct store		*st;
	char			*sql;		/* as given: the cache key */
	unsigned int		 hash;
	int			 cached;	/* kept in the cache */
	int			 busy;		/* handed out, not released */
};

/*
 * Prepared statements kept for reuse, per connection: the same SQL runs
 * for every order and certificate, and preparing it anew costs more than
 * running it.  A driver's prepare asks db_cache_take for a kept statement
 * not in use; if there is none it makes one, sets its header with
 * db_stmt_init and, when db_cache_take said there is room, keeps it with
 * db_cache_keep.  Its release gives a kept statement back (busy = 0) and
 * frees any other.
 */
#define DB_STMT_CACHE	192

struct dbcache {
	struct dbstmt	*slot[DB_STMT_CACHE];
};

struct db_driver {
	const char	*name;		/* "sqlite", "postgresql" */
	/* Connect to target (a path, or a connection URI); 0 or -1 with
	 * err set.  The caller migrates the schema afterwards. */
	int		 (*open)(struct store *, const char *target, char *err,
			    size_t errlen);
	void		 (*close)(struct store *);
	/* SQL with no parameters and no rows (several statements allowed);
	 * 0 or -1 with err set. */
	int		 (*exec)(struct store *, const char *sql, char *err,
			    size_t errlen);
	/* A statement for sql (kept for reuse while there is room);
	 * NULL on error (logged). */
	struct dbstmt	*(*prepare)(struct store *, const char *sql);
	int		 (*bind_int)(struct dbstmt *, int idx, long long);
	int		 (*bind_text)(struct dbstmt *, int idx, const char *);
	int		 (*bind_blob)(struct dbstmt *, int idx, const void *,
			    size_t);
	int		 (*step)(struct dbstmt *);
	/* Reset and give back: DB_OK, or DB_ERROR if its last step failed. */
	int		 (*release)(struct dbstmt *);
	int		 (*col_null)(struct dbstmt *, int col);
	long long	 (*col_int)(struct dbstmt *, int col);
	const unsigned char *(*col_text)(struct dbstmt *, int col);
	const void	*(*col_blob)(struct dbstmt *, int col);
	int		 (*col_bytes)(struct dbstmt *, int col);
	/* Rows changed by the last INSERT, UPDATE or DELETE. */
	long long	 (*changes)(struct store *);
	/* The id given to the row of the last INSERT. */
	long long	 (*last_id)(struct store *);
	const char	*(*errmsg)(struct store *);
	/* The last failure broke a UNIQUE, CHECK or FOREIGN KEY rule. */
	int		 (*constraint)(struct store *);
	/* Start a write transaction: one writer at a time, as SQLite's
	 * BEGIN IMMEDIATE; 0 or -1. */
	int		 (*begin)(struct store *);
	/* A transaction is open on the connection (1) or not (0). */
	int		 (*in_tx)(struct store *);
	/* Schema version: 0 for an empty database. */
	int		 (*version)(struct store *, int *v);
	int		 (*set_version)(struct store *, int v);
	/* The schema: full, if not NULL, creates version full_version in an
	 * empty database; step_sql[v] migrates version v to v + 1 (from 0:
	 * creates version 1), for v below STORE_SCHEMA_VERSION. */
	const char	*full;
	int		 full_version;
	const char *const *step_sql;
};

extern const struct db_driver db_sqlite;
extern const struct db_driver db_pg;

/* The driver for a database setting: db_pg for a postgresql:// or
 * postgres:// URI (store_is_uri), db_sqlite for anything else (a file
 * path). */
const struct db_driver *db_driver_for(const char *target);

/* A kept statement for sql not in use, now busy; or NULL, *room set to
 * whether a new one can be kept. */
struct dbstmt	*db_cache_take(struct dbcache *, const char *sql, int *room);
/* The header of a new statement for sql: busy, not kept. */
void		 db_stmt_init(struct dbstmt *, const struct db_driver *,
		    struct store *, const char *sql);
/* Keep s in an empty slot (db_cache_take said there is room). */
void		 db_cache_keep(struct dbcache *, struct dbstmt *);

int		 db_step(struct dbstmt *);
int		 db_null(struct dbstmt *, int col);
long long	 db_int64(struct dbstmt *, int col);
int		 db_int(struct dbstmt *, int col);
const unsigned char *db_text(struct dbstmt *, int col);
const void	*db_blob(struct dbstmt *, int col);
int		 db_bytes(struct dbstmt *, int col);
long long	 db_changes(struct store *);
const char	*db_errmsg(struct store *);
int		 db_constraint(struct store *);
int		 db_in_tx(struct store *);

#endif
