/*
 * db_sqlite.c: the SQLite driver (db.h), the embedded default.  One
 * database file in WAL mode with foreign keys on and synchronous=FULL;
 * the schema version is SQLite's user_version.  SQLITE_BUSY is retried
 * by the busy timeout (10 s).  The connection is used from one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "extern.h"
#include "db.h"
#include "store_schema.h"

/* Statements are kept for reuse (db.h, struct dbcache); a kept one is
 * prepared SQLITE_PREPARE_PERSISTENT and reset at its release. */
struct sqstmt {
	struct dbstmt	 hdr;
	sqlite3_stmt	*q;
};

struct sqconn {
	sqlite3		*db;
	struct dbcache	 cache;
};

#define CONN(st)	((struct sqconn *)(st)->conn)
#define DB(st)		(CONN(st)->db)
#define Q(s)		(((struct sqstmt *)(s))->q)

static int
sq_exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(DB(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
sq_open(struct store *st, const char *path, char *err, size_t errlen)
{
	struct sqconn	*c;

	st->conn = c = xcalloc(1, sizeof(*c));
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    c->db ? sqlite3_errmsg(c->db) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(c->db, 10000);
	return sq_exec(st, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;", err, errlen);
}

static void
sq_close(struct store *st)
{
	struct sqconn	*c = CONN(st);
	struct sqstmt	*s;
	size_t		 i;

	if (c == NULL)
		return;
	for (i = 0; i < DB_STMT_CACHE; i++)
		if ((s = (struct sqstmt *)c->cache.slot[i]) != NULL) {
			sqlite3_finalize(s->q);
			free(s->hdr.sql);
			free(s);
		}
	if (c->db != NULL)
		sqlite3_close_v2(c->db);
	free(c);
	st->conn = NULL;
}

static struct dbstmt *
sq_prepare(struct store *st, const char *sql)
{
	struct sqconn	*c = CONN(st);
	struct dbstmt	*d;
	struct sqstmt	*s;
	int		 room;

	if ((d = db_cache_take(&c->cache, sql, &room)) != NULL)
		return d;
	s = xcalloc(1, sizeof(*s));
	if (sqlite3_prepare_v3(c->db, sql, -1, room ?
	    SQLITE_PREPARE_PERSISTENT : 0, &s->q, NULL) != SQLITE_OK) {
		log_err("sqlite: prepare: %s: %s", sqlite3_errmsg(c->db), sql);
		free(s);
		return NULL;
	}
	db_stmt_init(&s->hdr, &db_sqlite, st, sql);
	if (room)
		db_cache_keep(&c->cache, &s->hdr);
	return &s->hdr;
}

static int
sq_bind_int(struct dbstmt *s, int idx, long long v)
{
	return sqlite3_bind_int64(Q(s), idx, v) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_text(struct dbstmt *s, int idx, const char *t)
{
	return (t == NULL ? sqlite3_bind_null(Q(s), idx) :
	    sqlite3_bind_text(Q(s), idx, t, -1, SQLITE_TRANSIENT)) ==
	    SQLITE_OK ? 0 : -1;
}

static int
sq_bind_blob(struct dbstmt *s, int idx, const void *p, size_t n)
{
	return (p == NULL ? sqlite3_bind_null(Q(s), idx) :
	    sqlite3_bind_blob64(Q(s), idx, p, n, SQLITE_TRANSIENT)) ==
	    SQLITE_OK ? 0 : -1;
}

static int
sq_step(struct dbstmt *s)
{
	int	 rc = sqlite3_step(Q(s));

	return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE :
	    DB_ERROR;
}

static int
sq_release(struct dbstmt *d)
{
	struct sqstmt	*s = (struct sqstmt *)d;
	int		 rc;

	if (s->hdr.cached) {
		rc = sqlite3_reset(s->q);
		sqlite3_clear_bindings(s->q);
		s->hdr.busy = 0;
	} else {
		rc = sqlite3_finalize(s->q);
		free(s->hdr.sql);
		free(s);
	}
	return rc == SQLITE_OK ? DB_OK : DB_ERROR;
}

static int
sq_col_null(struct dbstmt *s, int col)
{
	return sqlite3_column_type(Q(s), col) == SQLITE_NULL;
}

static long long
sq_col_int(struct dbstmt *s, int col)
{
	return sqlite3_column_int64(Q(s), col);
}

static const unsigned char *
sq_col_text(struct dbstmt *s, int col)
{
	return sqlite3_column_text(Q(s), col);
}

static const void *
sq_col_blob(struct dbstmt *s, int col)
{
	return sqlite3_column_blob(Q(s), col);
}

static int
sq_col_bytes(struct dbstmt *s, int col)
{
	return sqlite3_column_bytes(Q(s), col);
}

static long long
sq_changes(struct store *st)
{
	return sqlite3_changes(DB(st));
}

static long long
sq_last_id(struct store *st)
{
	return sqlite3_last_insert_rowid(DB(st));
}

static const char *
sq_errmsg(struct store *st)
{
	return sqlite3_errmsg(DB(st));
}

static int
sq_constraint(struct store *st)
{
	return sqlite3_errcode(DB(st)) == SQLITE_CONSTRAINT;
}

static int
sq_begin(struct store *st)
{
	char	 err[512];

	if (sq_exec(st, "BEGIN IMMEDIATE", err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

static int
sq_in_tx(struct store *st)
{
	return !sqlite3_get_autocommit(DB(st));
}

static int
sq_version(struct store *st, int *v)
{
	sqlite3_stmt	*q;
	int		 rc;

	if (sqlite3_prepare_v2(DB(st), "PRAGMA user_version", -1, &q,
	    NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
sq_set_version(struct store *st, int v)
{
	char	 sql[64], err[512];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	if (sq_exec(st, sql, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

const struct db_driver db_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_int = sq_bind_int,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.release = sq_release,
	.col_null = sq_col_null,
	.col_int = sq_col_int,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.col_bytes = sq_col_bytes,
	.changes = sq_changes,
	.last_id = sq_last_id,
	.errmsg = sq_errmsg,
	.constraint = sq_constraint,
	.begin = sq_begin,
	.in_tx = sq_in_tx,
	.version = sq_version,
	.set_version = sq_set_version,
	.full = NULL,
	.full_version = 0,
	.step_sql = store_migrations,
};
