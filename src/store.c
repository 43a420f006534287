/*
 * store.c: the SQLite store.  One database file in WAL mode with foreign
 * keys on and synchronous=FULL; the schema is versioned (user_version)
 * and migrated on open inside one transaction.  Every state change runs
 * in a transaction together with its append-only event row.
 * Failure policy: SQLITE_BUSY is retried by the busy timeout; any other
 * error is logged and returned, and the caller rolls back and keeps its
 * input for the next pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "extern.h"
#include "store.h"
#include "store_schema.h"

#define SCHEMA_VERSION	STORE_SCHEMA_VERSION

static int
exec_err(struct store *s, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_exec(struct store *s, const char *sql)
{
	char	 err[512];

	if (exec_err(s, sql, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* A random id of this database, for idempotency references given to
 * outside services (the card processor). */
static int
meta_instance(struct store *s, char *err, size_t errlen)
{
	unsigned char	 r[8];
	char		 hex[17], sql[96];

	rnd_bytes(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	snprintf(sql, sizeof(sql), "INSERT INTO meta (key, value)"
	    " VALUES ('instance', '%s')", hex);
	return exec_err(s, sql, err, errlen);
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 v, rc = -1;
	char		 sql[64];

	if (exec_err(s, "BEGIN IMMEDIATE", err, errlen) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "sqlite: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is newer "
		    "than this program's %d", v, SCHEMA_VERSION);
		goto out;
	}
	if (v == 0 && exec_err(s, store_schema_v1, err, errlen) == -1)
		goto out;
	for (v = v == 0 ? 1 : v; v < SCHEMA_VERSION; v++)
		if (exec_err(s, store_migrations[v], err, errlen) == -1 ||
		    (v == 1 && meta_instance(s, err, errlen) == -1))
			goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec_err(s, sql, err, errlen) == -1)
		goto out;
	if (exec_err(s, "COMMIT", err, errlen) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc == -1)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s;

	s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto bad;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (exec_err(s, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;", err, errlen) == -1)
		goto bad;
	if (migrate(s, err, errlen) == -1)
		goto bad;
	return s;
bad:
	store_close(s);
	return NULL;
}

/*
 * Prepared statements are kept for reuse (the same SQL is run for every
 * order and certificate, and preparing it anew costs more than running
 * it).  store_prep takes a cached statement that is not in use, or
 * prepares one and caches it while there is room; store_release gives
 * it back reset, or finalizes a statement that is not cached.  The
 * database is used from one thread only.
 */
#define STMT_CACHE	192

static struct cached_stmt {
	sqlite3		*db;
	char		*sql;
	unsigned int	 hash;
	sqlite3_stmt	*st;
	int		 busy;
} stmts[STMT_CACHE];

static unsigned int
sql_hash(const char *s)
{
	unsigned int	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static sqlite3_stmt *
stmt_get(struct store *s, const char *sql)
{
	sqlite3_stmt	*st;
	unsigned int	 h = sql_hash(sql);
	size_t		 i, free_slot = STMT_CACHE;

	for (i = 0; i < STMT_CACHE; i++) {
		if (stmts[i].st == NULL) {
			if (free_slot == STMT_CACHE)
				free_slot = i;
			continue;
		}
		if (stmts[i].db == s->db && stmts[i].hash == h &&
		    !stmts[i].busy && strcmp(stmts[i].sql, sql) == 0) {
			stmts[i].busy = 1;
			return stmts[i].st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, free_slot < STMT_CACHE ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK) {
		log_err("sqlite: prepare: %s: %s", sqlite3_errmsg(s->db), sql);
		return NULL;
	}
	if (free_slot < STMT_CACHE) {
		stmts[free_slot].db = s->db;
		stmts[free_slot].sql = xstrdup(sql);
		stmts[free_slot].hash = h;
		stmts[free_slot].st = st;
		stmts[free_slot].busy = 1;
	}
	return st;
}

int
store_release(sqlite3_stmt *st)
{
	size_t	 i;
	int	 rc;

	if (st == NULL)
		return SQLITE_OK;
	for (i = 0; i < STMT_CACHE; i++)
		if (stmts[i].st == st) {
			rc = sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			stmts[i].busy = 0;
			return rc;
		}
	return sqlite3_finalize(st);
}

static void
stmt_forget(sqlite3 *db)
{
	size_t	 i;

	for (i = 0; i < STMT_CACHE; i++)
		if (stmts[i].st != NULL && stmts[i].db == db) {
			sqlite3_finalize(stmts[i].st);
			free(stmts[i].sql);
			memset(&stmts[i], 0, sizeof(stmts[i]));
		}
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL) {
		stmt_forget(s->db);
		sqlite3_close_v2(s->db);
	}
	free(s);
}

int
store_begin(struct store *s)
{
	if (store_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	s->in_tx = 1;
	return 0;
}

int
store_commit(struct store *s)
{
	s->in_tx = 0;
	if (store_exec(s, "COMMIT") == -1) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *s)
{
	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

/*
 * Prepare sql and bind the arguments described by fmt: 'i' long long,
 * 't' text (NULL allowed), 'b' blob (pointer, size_t length).
 */
sqlite3_stmt *
store_prep(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 i, rc = SQLITE_OK;

	if ((st = stmt_get(s, sql)) == NULL)
		return NULL;
	va_start(ap, fmt);
	for (i = 0; fmt != NULL && fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);
			rc = t == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = p == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_blob64(st, i + 1, p, n, SQLITE_TRANSIENT);
			break;
		}
		default:
			abort();
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		log_err("sqlite: bind: %s", sqlite3_errmsg(s->db));
		store_release(st);
		return NULL;
	}
	return st;
}

/* Step a statement prepared by store_prep to completion and finalize it. */
int
store_done(struct store *s, sqlite3_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	store_release(st);
	if (rc != SQLITE_DONE) {
		log_err("sqlite: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* A single integer from the first row; def if there is no row. */
int
store_int(struct store *s, long long *out, long long def, sqlite3_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_type(st, 0) == SQLITE_NULL ? def :
		    sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = def;
	store_release(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_err("sqlite: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* malloc'd copy of a text column, NULL for NULL. */
char *
store_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

long long
store_last_id(struct store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

int
store_event(struct store *s, const char *kind, long long batch,
    long long order, long long rcpt, const char *from, const char *to,
    const char *reason, const char *detail)
{
	return store_done(s, store_prep(s,
	    "INSERT INTO event (at, kind, batch_id, order_id, recipient_id,"
	    " from_state, to_state, reason, detail)"
	    " VALUES (?, ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0),"
	    " ?, ?, ?, ?)", "itiiitttt", (long long)clock_now(), kind, batch,
	    order, rcpt, from, to, reason, detail));
}

long long
store_account_id(struct store *s, const char *name)
{
	long long	 id;

	if (store_int(s, &id, 0, store_prep(s,
	    "SELECT id FROM account WHERE name = ?", "t", name)) == -1)
		return -1;
	return id;
}
