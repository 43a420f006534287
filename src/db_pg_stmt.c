/*
 * db_pg_stmt.c: statements of the PostgreSQL driver: the SQLite-style
 * SQL turned into PostgreSQL's ($n parameters), the per-connection
 * cache of server-side prepared statements, parameters, the run (the
 * result is fetched whole at the first step) and the columns of the
 * current row.  See db_pg.c for the failure policy.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "db_pg.h"

void
pg_stmt_free(struct pgstmt *s)
{
	if (s == NULL)
		return;
	free(s->hdr.sql);
	free(s->pgsql);
	free(s->param);
	free(s->ptype);
	free(s->dec);
	free(s->declen);
	free(s);
}

/*
 * The SQL as PostgreSQL takes it: each "?" outside a quoted string or
 * identifier becomes $1, $2, ..., and "?N" becomes $N (as in SQLite, a
 * plain "?" after it takes the largest number so far plus one); *np is
 * the count.  SQLite-only syntax is dropped or replaced: index hints
 * ("INDEXED BY name", which PostgreSQL's planner does without), and
 * "CROSS JOIN ... ON" (SQLite's way of fixing the join order), which
 * PostgreSQL writes "JOIN ... ON".  Nothing else is rewritten (no
 * dollar quoting or comments in the data layer's SQL).
 */
static char *
pg_sql(const char *sql, int *np)
{
	char		*out, *o, *end;
	const char	*p;
	char		 quote = 0;
	int		 n = 0, k;
	long		 v;

	/* "?" is 1 byte, "$n" at most 11. */
	out = o = xcalloc(strlen(sql) * 11 + 1, 1);
	for (p = sql; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
			*o++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
		} else if (*p == '?' && isdigit((unsigned char)p[1])) {
			v = strtol(p + 1, &end, 10);
			k = v > 0 && v < 32767 ? (int)v : 0;
			o += sprintf(o, "$%d", k);
			if (k > n)
				n = k;
			p = end - 1;
		} else if (*p == '?') {
			o += sprintf(o, "$%d", ++n);
		} else if (strncmp(p, "CROSS JOIN ", 11) == 0 &&
		    (p == sql || p[-1] == ' ')) {
			/* SQLite's join-order hint; PostgreSQL's CROSS JOIN
			 * takes no ON. */
			o += sprintf(o, "JOIN ");
			p += 10;
		} else if (strncmp(p, "INDEXED BY ", 11) == 0 &&
		    (p == sql || p[-1] == ' ')) {
			for (p += 11; isalnum((unsigned char)*p) || *p == '_';
			    p++)
				continue;
			p--;
		} else if (strncmp(p, "CROSS JOIN ", 11) == 0 &&
		    (p == sql || p[-1] == ' ')) {
			o += sprintf(o, "JOIN ");
			p += 10;
		} else
			*o++ = *p;
	}
	*o = '\0';
	*np = n;
	return out;
}

/*
 * A kept statement for sql that is not in use, or a new one (kept while
 * there is room).  The server prepares a kept one at its first step.
 */
struct dbstmt *
pg_prepare(struct store *st, const char *sql)
{
	struct pgconn	*c = CONN(st);
	struct dbstmt	*d;
	struct pgstmt	*s;
	int		 room;

	if ((d = db_cache_take(&c->cache, sql, &room)) != NULL)
		return d;
	s = xcalloc(1, sizeof(*s));
	db_stmt_init(&s->hdr, &db_pg, st, sql);
	s->pgsql = pg_sql(sql, &s->nparam);
	if (s->nparam > 0) {
		s->param = xcalloc(s->nparam, sizeof(*s->param));
		s->ptype = xcalloc(s->nparam, sizeof(*s->ptype));
	}
	if (room) {
		snprintf(s->name, sizeof(s->name), "s%u", c->nextname++);
		db_cache_keep(&c->cache, &s->hdr);
	}
	return &s->hdr;
}

/* Parameter idx (1-based) of s, emptied; NULL (error set) if none. */
static struct pgparam *
pg_param(struct dbstmt *d, int idx)
{
	struct pgstmt	*s = (struct pgstmt *)d;
	struct pgparam	*p;
	char		 msg[128];

	if (idx < 1 || idx > s->nparam) {
		snprintf(msg, sizeof(msg), "parameter %d out of range "
		    "(1 to %d)", idx, s->nparam);
		pg_seterr(CONN(d->st), NULL, msg);
		return NULL;
	}
	p = &s->param[idx - 1];
	free(p->val);
	memset(p, 0, sizeof(*p));
	return p;
}

int
pg_bind_int(struct dbstmt *d, int idx, long long v)
{
	struct pgparam	*p;
	char		 buf[32];

	if ((p = pg_param(d, idx)) == NULL)
		return -1;
	snprintf(buf, sizeof(buf), "%lld", v);
	p->val = xstrdup(buf);
	p->type = INT8OID;
	return 0;
}

int
pg_bind_text(struct dbstmt *d, int idx, const char *t)
{
	struct pgparam	*p;

	if ((p = pg_param(d, idx)) == NULL)
		return -1;
	p->val = xstrdup(t);
	return 0;
}

int
pg_bind_blob(struct dbstmt *d, int idx, const void *v, size_t n)
{
	struct pgparam	*p;

	if (n > INT_MAX) {
		pg_seterr(CONN(d->st), NULL, "blob too large");
		return -1;
	}
	if ((p = pg_param(d, idx)) == NULL)
		return -1;
	p->type = BYTEAOID;
	p->fmt = 1;
	if (v != NULL) {
		p->val = xcalloc(n > 0 ? n : 1, 1);
		memcpy(p->val, v, n);
		p->len = (int)n;
	}
	return 0;
}

/* Drop the bytea decoded for the current row. */
static void
pg_dec_free(struct pgstmt *s)
{
	int	 i;

	for (i = 0; i < s->ncol; i++)
		PQfreemem(s->dec[i]);
	free(s->dec);
	free(s->declen);
	s->dec = NULL;
	s->declen = NULL;
	s->ncol = 0;
}

/*
 * Run s with its parameters: prepared on the server under its name if
 * cached (prepared at the first run with the types bound then; a run
 * with other types goes unprepared), otherwise unprepared.
 */
static PGresult *
pg_run(struct pgstmt *s)
{
	struct pgconn	*c = CONN(s->hdr.st);
	const char	**vals = NULL;
	int		*lens = NULL, *fmts = NULL, i, n = s->nparam;
	unsigned int	*types = NULL;
	PGresult	*res = NULL;

	if (n > 0) {
		vals = xcalloc(n, sizeof(*vals));
		lens = xcalloc(n, sizeof(*lens));
		fmts = xcalloc(n, sizeof(*fmts));
		types = xcalloc(n, sizeof(*types));
	}
	for (i = 0; i < n; i++) {
		vals[i] = s->param[i].val;
		lens[i] = s->param[i].len;
		fmts[i] = s->param[i].fmt;
		types[i] = s->param[i].type;
	}
	if (s->hdr.cached && !s->prepared) {
		res = PQprepare(c->conn, s->name, s->pgsql, n, types);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
			goto out;
		PQclear(res);
		res = NULL;
		if (n > 0)
			memcpy(s->ptype, types, n * sizeof(*types));
		s->prepared = 1;
	}
	if (s->prepared && (n == 0 ||
	    memcmp(s->ptype, types, n * sizeof(*types)) == 0))
		res = PQexecPrepared(c->conn, s->name, n, vals, lens, fmts, 0);
	else
		res = PQexecParams(c->conn, s->pgsql, n, types, vals, lens,
		    fmts, 0);
out:
	free(vals);
	free(lens);
	free(fmts);
	free(types);
	return res;
}

/* The first step runs the statement; each step moves to the next row. */
int
pg_step(struct dbstmt *d)
{
	struct pgstmt	*s = (struct pgstmt *)d;
	struct pgconn	*c = CONN(d->st);
	PGresult	*res;

	pg_dec_free(s);
	if (s->failed)
		return DB_ERROR;
	if (!s->executed) {
		s->executed = 1;
		/* Outside a transaction, a lost connection is opened again. */
		if (!d->st->in_tx && pg_alive(d->st) == -1) {
			s->failed = 1;
			return DB_ERROR;
		}
		res = pg_run(s);
		if (res == NULL || !pg_ok(res)) {
			pg_fail(c, res, s->hdr.sql);
			PQclear(res);
			s->failed = 1;
			return DB_ERROR;
		}
		pg_done(c, res);
		s->res = res;
		s->row = 0;
	} else if (s->res == NULL)
		return DB_DONE;
	else if (s->row < PQntuples(s->res))
		s->row++;
	return s->row < PQntuples(s->res) ? DB_ROW : DB_DONE;
}

int
pg_release(struct dbstmt *d)
{
	struct pgstmt	*s = (struct pgstmt *)d;
	int		 i, rc = s->failed ? DB_ERROR : DB_OK;

	pg_dec_free(s);
	PQclear(s->res);
	s->res = NULL;
	for (i = 0; i < s->nparam; i++) {
		free(s->param[i].val);
		memset(&s->param[i], 0, sizeof(s->param[i]));
	}
	s->executed = s->failed = 0;
	s->row = 0;
	if (s->hdr.cached)
		s->hdr.busy = 0;
	else
		pg_stmt_free(s);
	return rc;
}

/* The current row has column col. */
static int
pg_has(const struct pgstmt *s, int col)
{
	return s->res != NULL && s->row < PQntuples(s->res) && col >= 0 &&
	    col < PQnfields(s->res);
}

int
pg_col_null(struct dbstmt *d, int col)
{
	struct pgstmt	*s = (struct pgstmt *)d;

	return !pg_has(s, col) || PQgetisnull(s->res, s->row, col);
}

const unsigned char *
pg_col_text(struct dbstmt *d, int col)
{
	struct pgstmt	*s = (struct pgstmt *)d;

	if (pg_col_null(d, col))
		return NULL;
	return (const unsigned char *)PQgetvalue(s->res, s->row, col);
}

/* Integers, and booleans ("t", "f") as 1 and 0; NULL is 0. */
long long
pg_col_int(struct dbstmt *d, int col)
{
	const char	*t = (const char *)pg_col_text(d, col);

	if (t == NULL)
		return 0;
	if (strcmp(t, "t") == 0)
		return 1;
	if (strcmp(t, "f") == 0)
		return 0;
	return strtoll(t, NULL, 10);
}

/*
 * A bytea column decoded from its text form ("\x..."), kept until the
 * next step or the release; any other column as its text.
 */
const void *
pg_col_blob(struct dbstmt *d, int col)
{
	struct pgstmt	*s = (struct pgstmt *)d;
	const unsigned char *t;

	if ((t = pg_col_text(d, col)) == NULL)
		return NULL;
	if (PQftype(s->res, col) != BYTEAOID)
		return t;
	if (s->dec == NULL) {
		s->ncol = PQnfields(s->res);
		s->dec = xcalloc(s->ncol, sizeof(*s->dec));
		s->declen = xcalloc(s->ncol, sizeof(*s->declen));
	}
	if (s->dec[col] == NULL) {
		s->dec[col] = PQunescapeBytea(t, &s->declen[col]);
		if (s->dec[col] == NULL)
			abort();	/* out of memory */
	}
	return s->dec[col];
}

int
pg_col_bytes(struct dbstmt *d, int col)
{
	struct pgstmt	*s = (struct pgstmt *)d;

	if (pg_col_blob(d, col) == NULL)
		return 0;
	if (PQftype(s->res, col) != BYTEAOID)
		return PQgetlength(s->res, s->row, col);
	return (int)s->declen[col];
}
