/*
 * db_pg.c: the PostgreSQL driver (db.h) over libpq.  The target is a
 * libpq URI (postgresql://...); the session runs in UTC with
 * client_min_messages = warning and synchronous_commit left on.  The
 * schema version is the row 'schema_version' of table meta.
 *
 * The data layer's SQL is SQLite-style with "?" parameters; pg_sql()
 * numbers them $1, $2, ... and changes nothing else.  Statements are
 * kept per connection as server-side prepared statements, prepared at
 * their first execution with the parameter types bound then.  A result
 * is fetched whole when the statement is first stepped and held in
 * memory while the caller steps through its rows.
 *
 * Unlike SQLite, a failed statement aborts the whole transaction: the
 * statements after it fail, and COMMIT then fails (the transaction is
 * rolled back) instead of keeping what came before.
 *
 * Failure policy: a failed command is logged with its SQLSTATE and
 * returned (DB_ERROR or -1); the message and SQLSTATE stay readable by
 * errmsg and constraint until the next command.  A lost connection is
 * not reopened: every call fails until the store is opened again.
 * Running out of memory aborts (xcalloc).
 */
#include <limits.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extern.h"
#include "db_pg.h"
#include "store_schema_pg.h"



/* Keep a failure: its SQLSTATE and its message on one line. */
void
pg_seterr(struct pgconn *c, const char *state, const char *msg)
{
	size_t	 n;
	char	*p;

	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
	snprintf(c->err, sizeof(c->err), "%s", msg ? msg : "error");
	n = strlen(c->err);
	while (n > 0 && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
		c->err[--n] = '\0';
	for (p = c->err; (p = strchr(p, '\n')) != NULL; )
		*p = ' ';
}

/* Remember and log the failure of res (NULL: of the connection). */
void
pg_fail(struct pgconn *c, const PGresult *res, const char *sql)
{
	if (res != NULL)
		pg_seterr(c, PQresultErrorField(res, PG_DIAG_SQLSTATE),
		    PQresultErrorMessage(res));
	else
		pg_seterr(c, NULL, PQerrorMessage(c->conn));
	if (c->err[0] == '\0')
		snprintf(c->err, sizeof(c->err), "error");
	log_err("postgresql: %s (SQLSTATE %s): %.200s", c->err,
	    c->sqlstate[0] != '\0' ? c->sqlstate : "none", sql);
}

/* A command completed: keep its row count if it changed rows. */
void
pg_done(struct pgconn *c, const PGresult *res)
{
	const char	*tag = PQcmdStatus((PGresult *)res);

	c->sqlstate[0] = '\0';
	c->err[0] = '\0';
	if (strncmp(tag, "INSERT ", 7) == 0 ||
	    strncmp(tag, "UPDATE ", 7) == 0 ||
	    strncmp(tag, "DELETE ", 7) == 0 ||
	    strncmp(tag, "MERGE ", 6) == 0) {
		c->changes = atoll(PQcmdTuples((PGresult *)res));
		if (tag[0] == 'I' && c->changes > 0)
			c->inserted = 1;
	}
}

int
pg_ok(const PGresult *res)
{
	ExecStatusType	 s = PQresultStatus(res);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static void
pg_notice(void *arg, const char *msg)
{
	log_warn("postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

static int
pg_exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	struct pgconn	*c = CONN(st);
	PGresult	*res;
	int		 rc = -1;

	res = PQexec(c->conn, sql);
	if (res == NULL || !pg_ok(res)) {
		if (res != NULL)
			pg_seterr(c, PQresultErrorField(res,
			    PG_DIAG_SQLSTATE), PQresultErrorMessage(res));
		else
			pg_seterr(c, NULL, PQerrorMessage(c->conn));
		snprintf(err, errlen, "postgresql: %s", c->err);
		goto out;
	}
	/* COMMIT of a transaction a failed statement aborted rolls back
	 * and says so only in its tag (SQLite's would commit). */
	if (strcasecmp(sql, "COMMIT") == 0 &&
	    strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		pg_seterr(c, "25P02", "commit: the transaction was aborted by"
		    " a failed statement and is rolled back");
		snprintf(err, errlen, "postgresql: %s", c->err);
		goto out;
	}
	pg_done(c, res);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

static void
pg_close(struct store *st)
{
	struct pgconn	*c = CONN(st);
	struct pgstmt	*s;
	size_t		 i;

	if (c == NULL)
		return;
	for (i = 0; i < DB_STMT_CACHE; i++) {
		s = (struct pgstmt *)c->cache.slot[i];
		if (s != NULL && s->hdr.busy)
			log_err("postgresql: statement still in use at "
			    "close: %.200s", s->hdr.sql);
		pg_stmt_free(s);
	}
	PQfinish(c->conn);
	free(c);
	st->conn = NULL;
}

static int
pg_open(struct store *st, const char *target, char *err, size_t errlen)
{
	struct pgconn	*c;

	st->conn = c = xcalloc(1, sizeof(*c));
	c->conn = PQconnectdb(target);
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
		pg_seterr(c, NULL, c->conn != NULL ?
		    PQerrorMessage(c->conn) : "out of memory");
		snprintf(err, errlen, "postgresql: %s", c->err);
		pg_close(st);
		return -1;
	}
	PQsetNoticeProcessor(c->conn, pg_notice, NULL);
	if (pg_exec(st, "SET client_min_messages = warning;"
	    " SET TIME ZONE 'UTC'", err, errlen) == -1) {
		pg_close(st);
		return -1;
	}
	return 0;
}


static long long
pg_changes(struct store *st)
{
	return CONN(st)->changes;
}

/*
 * lastval(): the id the last INSERT took from an identity column.  It
 * fails in a session that has not used a sequence yet, which would
 * abort the caller's transaction: so it is asked only after an INSERT
 * added a row, and inside a transaction under a savepoint.  0 if none.
 */
static long long
pg_last_id(struct store *st)
{
	struct pgconn	*c = CONN(st);
	PGresult	*res;
	long long	 id = 0;
	int		 tx, failed = 0;

	if (!c->inserted)
		return 0;
	tx = PQtransactionStatus(c->conn) == PQTRANS_INTRANS;
	if (!PQsendQuery(c->conn, tx ? "SAVEPOINT certspool_last_id;"
	    " SELECT lastval(); RELEASE SAVEPOINT certspool_last_id" :
	    "SELECT lastval()"))
		return 0;
	while ((res = PQgetResult(c->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1)
			id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		else if (!pg_ok(res))
			failed = 1;
		PQclear(res);
	}
	if (failed && tx)
		PQclear(PQexec(c->conn, "ROLLBACK TO SAVEPOINT"
		    " certspool_last_id; RELEASE SAVEPOINT certspool_last_id"));
	return failed ? 0 : id;
}

static const char *
pg_errmsg(struct store *st)
{
	struct pgconn	*c = CONN(st);

	return c == NULL ? "not connected" : c->err;
}

/* SQLSTATE class 23: integrity constraint violation. */
static int
pg_constraint(struct store *st)
{
	return strncmp(CONN(st)->sqlstate, "23", 2) == 0;
}

/*
 * Between transactions: a connection the server closed (restart, or a
 * session ended for idling in a transaction) is opened again; its
 * prepared statements are gone with it.  0, or -1 if it cannot be.
 */
int
pg_alive(struct store *st)
{
	struct pgconn	*c = CONN(st);
	char		 err[512];
	size_t		 i;

	if (PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	PQreset(c->conn);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		pg_seterr(c, NULL, PQerrorMessage(c->conn));
		return -1;
	}
	log_warn("postgresql: connection lost; connected again");
	for (i = 0; i < DB_STMT_CACHE; i++)
		if (c->cache.slot[i] != NULL)
			((struct pgstmt *)c->cache.slot[i])->prepared = 0;
	c->idle_timeout = 0;
	return pg_exec(st, "SET client_min_messages = warning;"
	    " SET TIME ZONE 'UTC'", err, sizeof(err));
}

/*
 * A daemon among several (st->node) must not hold the writer lock while
 * it is stopped or cut off: a session idle inside a transaction for its
 * lease is ended by the server, which frees the lock for the others.
 */
static int
pg_idle_limit(struct store *st)
{
	struct pgconn	*c = CONN(st);
	char		 sql[96], err[512];

	if (st->node == 0 || st->lease_seconds == c->idle_timeout)
		return 0;
	snprintf(sql, sizeof(sql), "SET idle_in_transaction_session_timeout"
	    " = '%ds'", st->lease_seconds);
	if (pg_exec(st, sql, err, sizeof(err)) == -1)
		return -1;
	c->idle_timeout = st->lease_seconds;
	return 0;
}

static int
pg_begin(struct store *st)
{
	char	 err[512];

	if (pg_alive(st) == -1 || pg_idle_limit(st) == -1) {
		log_err("postgresql: %s", CONN(st)->err);
		return -1;
	}
	if (pg_exec(st, "BEGIN; SELECT pg_advisory_xact_lock(" WRITER_LOCK
	    ")", err, sizeof(err)) == -1) {
		log_err("%s", err);
		if (PQtransactionStatus(CONN(st)->conn) != PQTRANS_IDLE)
			PQclear(PQexec(CONN(st)->conn, "ROLLBACK"));
		return -1;
	}
	return 0;
}

static int
pg_in_tx(struct store *st)
{
	return PQtransactionStatus(CONN(st)->conn) != PQTRANS_IDLE;
}

/* One text value of a query without parameters; NULL for none. */
static int
pg_value(struct store *st, const char *sql, char *buf, size_t len,
    int *isnull)
{
	struct pgconn	*c = CONN(st);
	PGresult	*res;
	int		 rc = -1;

	res = PQexec(c->conn, sql);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_fail(c, res, sql);
		goto out;
	}
	*isnull = PQntuples(res) == 0 || PQgetisnull(res, 0, 0);
	if (!*isnull)
		snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
	rc = 0;
out:
	PQclear(res);
	return rc;
}

static int
pg_version(struct store *st, int *v)
{
	char	 buf[64];
	int	 isnull;

	*v = 0;
	if (pg_value(st, "SELECT to_regclass('meta')", buf, sizeof(buf),
	    &isnull) == -1)
		return -1;
	if (isnull)
		return 0;
	if (pg_value(st, "SELECT value FROM meta WHERE key ="
	    " 'schema_version'", buf, sizeof(buf), &isnull) == -1)
		return -1;
	if (!isnull)
		*v = atoi(buf);
	return 0;
}

static int
pg_set_version(struct store *st, int v)
{
	struct pgconn	*c = CONN(st);
	const char	*sql = "INSERT INTO meta (key, value)"
	    " VALUES ('schema_version', $1) ON CONFLICT (key)"
	    " DO UPDATE SET value = EXCLUDED.value";
	const char	*vals[1];
	char		 buf[32];
	PGresult	*res;
	int		 rc = -1;

	snprintf(buf, sizeof(buf), "%d", v);
	vals[0] = buf;
	res = PQexecParams(c->conn, sql, 1, NULL, vals, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail(c, res, sql);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

const struct db_driver db_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.bind_int = pg_bind_int,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.release = pg_release,
	.col_null = pg_col_null,
	.col_int = pg_col_int,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_bytes = pg_col_bytes,
	.changes = pg_changes,
	.last_id = pg_last_id,
	.errmsg = pg_errmsg,
	.constraint = pg_constraint,
	.begin = pg_begin,
	.in_tx = pg_in_tx,
	.version = pg_version,
	.set_version = pg_set_version,
	.full = store_schema_pg,
	.full_version = STORE_SCHEMA_VERSION,
	.step_sql = store_migrations_pg,
};
