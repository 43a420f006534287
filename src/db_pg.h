/*
 * db_pg.h: what the two files of the PostgreSQL driver share: the
 * connection, the statement, and the connection's error helpers
 * (db_pg.c) and statement functions (db_pg_stmt.c).  Private to them.
 */
#ifndef DB_PG_H
#define DB_PG_H

#include <libpq-fe.h>

#include "db.h"

#define INT8OID		20
#define BYTEAOID	17

/*
 * Taken by every write transaction (begin): the data layer was written
 * for SQLite's BEGIN IMMEDIATE, one writer at a time, and reads then
 * writes in the same transaction (balances, counters, state checks)
 * without locking rows; under READ COMMITTED two such writers could
 * interleave.  The lock ends with the transaction.  ("certspoo")
 */
#define WRITER_LOCK	"7162256626881163119"

struct pgparam {
	char		*val;		/* NULL: SQL NULL */
	int		 len;
	int		 fmt;		/* 0 text, 1 binary */
	unsigned int	 type;		/* Oid; 0: inferred by the server */
};

struct pgstmt {
	struct dbstmt	 hdr;
	char		*pgsql;		/* with $n parameters */
	int		 nparam;
	struct pgparam	*param;
	unsigned int	*ptype;		/* types prepared with (cached) */
	char		 name[16];	/* server-side name (kept) */
	int		 prepared;
	int		 executed;
	int		 failed;
	PGresult	*res;
	int		 row;
	int		 ncol;		/* decoded bytea of the row, by column */
	unsigned char	**dec;
	size_t		*declen;
};

struct pgconn {
	PGconn		*conn;
	int		 idle_timeout;	/* the session's, in s (0: none set) */
	struct dbcache	 cache;		/* of struct pgstmt */
	unsigned int	 nextname;
	long long	 changes;
	int		 inserted;	/* an INSERT added a row */
	char		 sqlstate[6];
	char		 err[512];
};

#define CONN(st)	((struct pgconn *)(st)->conn)

/* db_pg.c */
void		 pg_seterr(struct pgconn *, const char *, const char *);
void		 pg_fail(struct pgconn *, const PGresult *, const char *);
void		 pg_done(struct pgconn *, const PGresult *);
int		 pg_ok(const PGresult *);
int		 pg_alive(struct store *);

/* db_pg_stmt.c: the db_driver entries of a statement */
void		 pg_stmt_free(struct pgstmt *);
struct dbstmt	*pg_prepare(struct store *, const char *);
int		 pg_bind_int(struct dbstmt *, int, long long);
int		 pg_bind_text(struct dbstmt *, int, const char *);
int		 pg_bind_blob(struct dbstmt *, int, const void *, size_t);
int		 pg_step(struct dbstmt *);
int		 pg_release(struct dbstmt *);
int		 pg_col_null(struct dbstmt *, int);
const unsigned char *pg_col_text(struct dbstmt *, int);
long long	 pg_col_int(struct dbstmt *, int);
const void	*pg_col_blob(struct dbstmt *, int);
int		 pg_col_bytes(struct dbstmt *, int);

#endif
