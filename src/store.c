/*
 * store.c: the store over its driver (db.h): connection, schema
 * migration on open (one transaction), transactions, the statement
 * helpers of store.h and the event log.  Every state change runs in a
 * transaction together with its append-only event row.
 * Failure policy: a busy database is waited for by the driver; any other
 * error is logged and returned, and the caller rolls back and keeps its
 * input for the next pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "db.h"
#include "store.h"
#include "store_schema.h"

#define SCHEMA_VERSION	STORE_SCHEMA_VERSION

int
store_exec(struct store *s, const char *sql)
{
	char	 err[512];

	if (s->drv->exec(s, sql, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* A random id of this database, for idempotency references given to
 * outside services (the card processor); set once. */
static int
meta_instance(struct store *s)
{
	unsigned char	 r[8];
	char		 hex[17];

	rnd_bytes(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	return store_done(s, store_prep(s, "INSERT INTO meta (key, value)"
	    " VALUES ('instance', ?) ON CONFLICT (key) DO NOTHING", "t", hex));
}

static int
migrate_steps(struct store *s, int v, char *err, size_t errlen)
{
	const struct db_driver	*d = s->drv;

	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is newer "
		    "than this program's %d", v, SCHEMA_VERSION);
		return -1;
	}
	if (v == 0 && d->full != NULL) {
		if (d->exec(s, d->full, err, errlen) == -1)
			return -1;
		v = d->full_version;
	}
	for (; v < SCHEMA_VERSION; v++) {
		if (d->step_sql == NULL || d->step_sql[v] == NULL) {
			snprintf(err, errlen, "%s: no migration from schema "
			    "version %d", d->name, v);
			return -1;
		}
		if (d->exec(s, d->step_sql[v], err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	int	 v;

	if (s->drv->begin(s) == -1) {
		snprintf(err, errlen, "%s: cannot begin: %s", s->drv->name,
		    s->drv->errmsg(s));
		return -1;
	}
	s->in_tx = 1;
	if (s->drv->version(s, &v) == -1) {
		snprintf(err, errlen, "%s: schema version: %s", s->drv->name,
		    s->drv->errmsg(s));
		goto bad;
	}
	if (v == SCHEMA_VERSION) {
		store_rollback(s);
		return 0;
	}
	if (migrate_steps(s, v, err, errlen) == -1)
		goto bad;
	if (s->drv->set_version(s, SCHEMA_VERSION) == -1 ||
	    meta_instance(s) == -1) {
		snprintf(err, errlen, "%s: %s", s->drv->name,
		    s->drv->errmsg(s));
		goto bad;
	}
	if (store_commit(s) == -1) {
		snprintf(err, errlen, "%s: commit: %s", s->drv->name,
		    s->drv->errmsg(s));
		return -1;
	}
	return 0;
bad:
	store_rollback(s);
	return -1;
}

struct store *
store_open(const char *target, char *err, size_t errlen)
{
	struct store	*s;

	s = xcalloc(1, sizeof(*s));
	s->drv = db_driver_for(target);
	if (s->drv->open(s, target, err, errlen) == -1)
		goto bad;
	if (migrate(s, err, errlen) == -1)
		goto bad;
	return s;
bad:
	store_close(s);
	return NULL;
}

int
store_probe(const char *target, int *version, int *current, char *err,
    size_t errlen)
{
	struct store	*s;
	int		 rc = -1;

	*version = 0;
	*current = SCHEMA_VERSION;
	s = xcalloc(1, sizeof(*s));
	s->drv = db_driver_for(target);
	if (s->drv->open(s, target, err, errlen) == -1) {
		free(s);
		return -1;
	}
	if (s->drv->version(s, version) == -1)
		snprintf(err, errlen, "%s: schema version: %s", s->drv->name,
		    s->drv->errmsg(s));
	else
		rc = 0;
	store_close(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->drv->close(s);
	free(s);
}

int
store_begin(struct store *s)
{
	if (s->drv->begin(s) == -1)
		return -1;
	s->in_tx = 1;
	return 0;
}

/*
 * A daemon of several commits only while it holds its lease (fencing):
 * the renewal is part of the transaction, so a node that was paused or
 * cut off past its lease, and whose accounts another node may have
 * taken, commits nothing of what it did meanwhile.
 */
int
store_commit(struct store *s)
{
	char	 err[512];
	int	 f;

	s->in_tx = 0;
	if (s->node != 0 && (f = node_fence(s)) != 1) {
		if (f == 0) {
			log_warn("node %lld: lease lost; the transaction is "
			    "rolled back", s->node);
			s->lost = 1;
		}
		s->drv->exec(s, "ROLLBACK", err, sizeof(err));
		return -1;
	}
	if (s->drv->exec(s, "COMMIT", err, sizeof(err)) == -1) {
		log_err("%s", err);
		s->drv->exec(s, "ROLLBACK", err, sizeof(err));
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *s)
{
	char	 err[512];

	if (s->in_tx || s->drv->in_tx(s))
		s->drv->exec(s, "ROLLBACK", err, sizeof(err));
	s->in_tx = 0;
}

/*
 * Prepare sql and bind the arguments described by fmt: 'i' long long,
 * 't' text (NULL allowed), 'b' blob (pointer, size_t length).
 */
struct dbstmt *
store_prep(struct store *s, const char *sql, const char *fmt, ...)
{
	const struct db_driver	*d = s->drv;
	struct dbstmt		*q;
	va_list			 ap;
	int			 i, rc = 0;

	if ((q = d->prepare(s, sql)) == NULL)
		return NULL;
	va_start(ap, fmt);
	for (i = 0; fmt != NULL && fmt[i] != '\0' && rc == 0; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = d->bind_int(q, i + 1, va_arg(ap, long long));
			break;
		case 't':
			rc = d->bind_text(q, i + 1, va_arg(ap, const char *));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = d->bind_blob(q, i + 1, p, n);
			break;
		}
		default:
			abort();
		}
	}
	va_end(ap);
	if (rc != 0) {
		log_err("%s: bind: %s", d->name, d->errmsg(s));
		store_release(q);
		return NULL;
	}
	return q;
}

int
store_release(struct dbstmt *q)
{
	return q == NULL ? DB_OK : q->drv->release(q);
}

/* Step a statement prepared by store_prep to completion and release it. */
int
store_done(struct store *s, struct dbstmt *q)
{
	int	 rc;

	if (q == NULL)
		return -1;
	while ((rc = db_step(q)) == DB_ROW)
		;
	store_release(q);
	if (rc != DB_DONE) {
		log_err("%s: %s", s->drv->name, s->drv->errmsg(s));
		return -1;
	}
	return 0;
}

/* A single integer from the first row; def if there is no row. */
int
store_int(struct store *s, long long *out, long long def, struct dbstmt *q)
{
	int	 rc;

	if (q == NULL)
		return -1;
	rc = db_step(q);
	if (rc == DB_ROW)
		*out = db_null(q, 0) ? def : db_int64(q, 0);
	else if (rc == DB_DONE)
		*out = def;
	store_release(q);
	if (rc != DB_ROW && rc != DB_DONE) {
		log_err("%s: %s", s->drv->name, s->drv->errmsg(s));
		return -1;
	}
	return 0;
}

/* malloc'd copy of a text column, NULL for NULL. */
char *
store_col_text(struct dbstmt *q, int col)
{
	const unsigned char *t = db_text(q, col);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

long long
store_last_id(struct store *s)
{
	return s->drv->last_id(s);
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
