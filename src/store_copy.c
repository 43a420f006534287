/*
 * store_copy.c: certspool db copy: an SQLite database, table by table,
 * into an empty PostgreSQL database through the driver interface (db.h)
 * with the two stores open.  The column lists come from the two
 * catalogs (they must name the same columns), the types from
 * PostgreSQL's; rows are read in id order in chunks and inserted with
 * their ids, parents before children, all in one transaction of the
 * target that also creates the schema.  Each table's rows are read back
 * from the target and compared with what was read from the source: the
 * count and a digest (the sum of each row's SHA-256, so the order rows
 * come back in does not matter).
 * Failure policy: any error or difference rolls the target's
 * transaction back (the schema with it: PostgreSQL's DDL is
 * transactional) and is returned with a message; the source is only
 * read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "extern.h"
#include "db.h"
#include "store.h"
#include "store_copy.h"

/* Every table of the schema, each after the tables it refers to. */
static const char *const tables[] = {
	"meta", "node", "account", "contract", "organization", "org_request",
	"domain", "dcv", "mailbox", "batch", "input", "orders", "recipient",
	"pass", "issuer", "certificate", "compromised_key", "event", "ledger",
	"revocation_doc", "revoke_request", "revoke_hit", "portal_token",
	"crl_shard_state",
};
#define NTABLES		(sizeof(tables) / sizeof(tables[0]))

#define COLS_MAX	64
#define NAME_MAX_LEN	63
#define CHUNK		1000

struct cols {
	int		 n;
	char		 name[COLS_MAX][NAME_MAX_LEN + 1];
	char		 type[COLS_MAX];	/* 'i', 't' or 'b' */
	int		 id;			/* index of column id, or -1 */
	int		 identity;		/* id is an identity column */
};

/* Rows seen and the sum, lane by lane, of their SHA-256. */
struct digest {
	uint64_t	 lane[4];
	long long	 rows;
	struct buf	 b;
};

/* One row of a scan: 0, or -1 with err set. */
typedef int	(*row_fn)(void *, struct dbstmt *, const struct cols *,
		    char *err, size_t errlen);

static int
is_ident(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i > 0 && i <= NAME_MAX_LEN;
}

static int
known_table(const char *name)
{
	size_t	 i;

	for (i = 0; i < NTABLES; i++)
		if (strcmp(tables[i], name) == 0)
			return 1;
	return 0;
}

static void
dberr(struct store *st, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", st->drv->name, what,
	    db_errmsg(st));
}

/* Fold the current row of q into d (the same bytes on either engine). */
static void
digest_row(struct digest *d, struct dbstmt *q, const struct cols *c)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	const void	*p;
	size_t		 n;
	int		 i, j;

	d->b.len = 0;
	for (i = 0; i < c->n; i++) {
		if (db_null(q, i)) {
			buf_add(&d->b, "N", 1);
			continue;
		}
		switch (c->type[i]) {
		case 'i':
			buf_addf(&d->b, "I%lld;", db_int64(q, i));
			break;
		case 't':
			p = db_text(q, i);
			n = p != NULL ? strlen(p) : 0;
			buf_addf(&d->b, "T%zu:", n);
			buf_add(&d->b, p, n);
			break;
		default:
			p = db_blob(q, i);
			n = p != NULL ? (size_t)db_bytes(q, i) : 0;
			buf_addf(&d->b, "B%zu:", n);
			buf_add(&d->b, p, n);
			break;
		}
	}
	if (EVP_Digest(d->b.p, d->b.len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		abort();
	for (i = 0; i < 4; i++) {
		uint64_t v = 0;

		for (j = 0; j < 8; j++)
			v = v << 8 | md[i * 8 + j];
		d->lane[i] += v;
	}
	d->rows++;
}

static void
digest_hex(const struct digest *d, char out[65])
{
	int	 i;

	for (i = 0; i < 4; i++)
		snprintf(out + i * 16, 17, "%016llx",
		    (unsigned long long)d->lane[i]);
}

static void
select_list(struct buf *b, const struct cols *c)
{
	int	 i;

	buf_add(b, "SELECT ", 7);
	for (i = 0; i < c->n; i++)
		buf_addf(b, "%s%s", i ? ", " : "", c->name[i]);
}

/*
 * Every row of table through fn: in chunks of CHUNK rows in id order
 * when it has an id (a PostgreSQL result is held whole in memory), else
 * in one statement.
 */
static int
scan(struct store *st, const char *table, const struct cols *c, row_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct buf	 sql = { 0 };
	struct dbstmt	*q;
	long long	 last = -1, n;
	int		 rc = -1, step;

	select_list(&sql, c);
	buf_addf(&sql, " FROM %s", table);
	if (c->id >= 0)
		buf_addf(&sql, " WHERE id > ? ORDER BY id LIMIT %d", CHUNK);
	buf_add(&sql, "", 1);
	do {
		n = 0;
		q = c->id >= 0 ? store_prep(st, (char *)sql.p, "i", last) :
		    store_prep(st, (char *)sql.p, NULL);
		if (q == NULL) {
			dberr(st, table, err, errlen);
			goto out;
		}
		while ((step = db_step(q)) == DB_ROW) {
			if (c->id >= 0)
				last = db_int64(q, c->id);
			n++;
			if (fn(arg, q, c, err, errlen) == -1) {
				store_release(q);
				goto out;
			}
		}
		store_release(q);
		if (step != DB_DONE) {
			dberr(st, table, err, errlen);
			goto out;
		}
	} while (c->id >= 0 && n == CHUNK);
	rc = 0;
out:
	buf_free(&sql);
	return rc;
}

/*
 * The columns of table: names and types from the target's catalog,
 * which must list the same names as the source's.
 */
static int
table_cols(struct store *src, struct store *dst, const char *table,
    struct cols *c, char *err, size_t errlen)
{
	struct dbstmt	*q;
	const char	*name, *type;
	int		 i, n = 0, step;

	memset(c, 0, sizeof(*c));
	c->id = -1;
	if ((q = store_prep(dst, "SELECT column_name, data_type, is_identity"
	    " FROM information_schema.columns WHERE table_schema ="
	    " current_schema() AND table_name = ? ORDER BY ordinal_position",
	    "t", table)) == NULL) {
		dberr(dst, table, err, errlen);
		return -1;
	}
	while ((step = db_step(q)) == DB_ROW) {
		name = (const char *)db_text(q, 0);
		type = (const char *)db_text(q, 1);
		if (c->n == COLS_MAX || name == NULL || !is_ident(name) ||
		    type == NULL) {
			snprintf(err, errlen, "%s: unexpected column %s",
			    table, name ? name : "(null)");
			store_release(q);
			return -1;
		}
		if (strcmp(type, "bigint") == 0 ||
		    strcmp(type, "integer") == 0 ||
		    strcmp(type, "smallint") == 0)
			c->type[c->n] = 'i';
		else if (strcmp(type, "text") == 0)
			c->type[c->n] = 't';
		else if (strcmp(type, "bytea") == 0)
			c->type[c->n] = 'b';
		else {
			snprintf(err, errlen, "%s.%s: type %s cannot be "
			    "copied", table, name, type);
			store_release(q);
			return -1;
		}
		if (strcmp(name, "id") == 0) {
			c->id = c->n;
			c->identity = db_text(q, 2) != NULL &&
			    strcmp((const char *)db_text(q, 2), "YES") == 0;
		}
		snprintf(c->name[c->n++], NAME_MAX_LEN + 1, "%s", name);
	}
	store_release(q);
	if (step != DB_DONE || c->n == 0) {
		if (step != DB_DONE)
			dberr(dst, table, err, errlen);
		else
			snprintf(err, errlen, "%s: not in the new schema",
			    table);
		return -1;
	}
	if ((q = store_prep(src, "SELECT name FROM pragma_table_info(?)", "t",
	    table)) == NULL) {
		dberr(src, table, err, errlen);
		return -1;
	}
	while ((step = db_step(q)) == DB_ROW) {
		name = (const char *)db_text(q, 0);
		for (i = 0; i < c->n; i++)
			if (name != NULL && strcmp(c->name[i], name) == 0)
				break;
		if (i == c->n) {
			snprintf(err, errlen, "%s.%s: no such column in the "
			    "PostgreSQL schema", table, name ? name : "");
			store_release(q);
			return -1;
		}
		n++;
	}
	store_release(q);
	if (step != DB_DONE) {
		dberr(src, table, err, errlen);
		return -1;
	}
	if (n != c->n) {
		snprintf(err, errlen, "%s: %d columns in the source, %d in the "
		    "PostgreSQL schema", table, n, c->n);
		return -1;
	}
	return 0;
}

/*
 * SQLite keeps any value in any column: every value of the source must
 * have its column's type (or be NULL), or the copy would change it.
 */
static int
source_types(struct store *src, const char *table, const struct cols *c,
    char *err, size_t errlen)
{
	static const char *const want[] = { "'integer'", "'text'", "'blob'" };
	struct buf	 sql = { 0 };
	long long	 bad = 0;
	int		 i, k, rc;

	buf_addf(&sql, "SELECT count(*) FROM %s WHERE NOT (1", table);
	for (i = 0; i < c->n; i++) {
		k = c->type[i] == 'i' ? 0 : c->type[i] == 't' ? 1 : 2;
		buf_addf(&sql, " AND typeof(%s) IN (%s, 'null')", c->name[i],
		    want[k]);
	}
	buf_add(&sql, ")", 2);
	rc = store_int(src, &bad, 0, store_prep(src, (char *)sql.p, NULL));
	buf_free(&sql);
	if (rc == -1) {
		dberr(src, table, err, errlen);
		return -1;
	}
	if (bad != 0) {
		snprintf(err, errlen, "%s: %lld rows hold a value of another "
		    "type than their column's", table, bad);
		return -1;
	}
	return 0;
}

/* The source and the new schema have exactly the tables listed above. */
static int
same_tables(struct store *st, const char *sql, char *err, size_t errlen)
{
	struct dbstmt	*q;
	const char	*name;
	int		 step, n = 0;

	if ((q = store_prep(st, sql, NULL)) == NULL) {
		dberr(st, "tables", err, errlen);
		return -1;
	}
	while ((step = db_step(q)) == DB_ROW) {
		name = (const char *)db_text(q, 0);
		if (name == NULL || !known_table(name)) {
			snprintf(err, errlen, "%s: table %s is not one db "
			    "copy knows", st->drv->name, name ? name : "");
			store_release(q);
			return -1;
		}
		n++;
	}
	store_release(q);
	if (step != DB_DONE) {
		dberr(st, "tables", err, errlen);
		return -1;
	}
	if ((size_t)n != NTABLES) {
		snprintf(err, errlen, "%s: %d tables, the schema has %zu",
		    st->drv->name, n, NTABLES);
		return -1;
	}
	return 0;
}

struct insert {
	struct store	*dst;
	const char	*table;
	const char	*sql;
	struct digest	 d;
};

/* Insert the source's current row into the target, and digest it. */
static int
insert_row(void *arg, struct dbstmt *q, const struct cols *c, char *err,
    size_t errlen)
{
	struct insert		*ins = arg;
	const struct db_driver	*d = ins->dst->drv;
	struct dbstmt		*w;
	const void		*p;
	int			 i, rc = 0, step;

	if ((w = store_prep(ins->dst, ins->sql, NULL)) == NULL) {
		dberr(ins->dst, "insert", err, errlen);
		return -1;
	}
	for (i = 0; i < c->n && rc == 0; i++) {
		if (db_null(q, i))
			rc = d->bind_text(w, i + 1, NULL);
		else if (c->type[i] == 'i')
			rc = d->bind_int(w, i + 1, db_int64(q, i));
		else if (c->type[i] == 't')
			rc = d->bind_text(w, i + 1,
			    (const char *)db_text(q, i));
		else {
			/* SQLite gives NULL for an empty blob. */
			p = db_blob(q, i);
			rc = d->bind_blob(w, i + 1, p != NULL ? p : "",
			    p != NULL ? (size_t)db_bytes(q, i) : 0);
		}
	}
	step = rc == 0 ? db_step(w) : DB_ERROR;
	store_release(w);
	if (step != DB_DONE) {
		snprintf(err, errlen, "%s: insert of the row of id %lld: %s",
		    ins->table, c->id >= 0 ? db_int64(q, c->id) : 0,
		    db_errmsg(ins->dst));
		return -1;
	}
	digest_row(&ins->d, q, c);
	return 0;
}

static int
readback_row(void *arg, struct dbstmt *q, const struct cols *c, char *err,
    size_t errlen)
{
	digest_row(arg, q, c);
	return 0;
}

static int
copy_table(struct store *src, struct store *dst, const char *table,
    struct copy_table *t, char *err, size_t errlen)
{
	struct cols	 c;
	struct insert	 ins;
	struct digest	 back;
	struct buf	 sql = { 0 }, seq = { 0 };
	long long	 nsrc = 0, ndst = 0;
	int		 i, rc = -1;

	memset(&ins, 0, sizeof(ins));
	memset(&back, 0, sizeof(back));
	snprintf(t->name, sizeof(t->name), "%s", table);
	if (table_cols(src, dst, table, &c, err, errlen) == -1 ||
	    source_types(src, table, &c, err, errlen) == -1)
		goto out;
	buf_addf(&sql, "SELECT count(*) FROM %s", table);
	buf_add(&sql, "", 1);
	if (store_int(src, &nsrc, 0, store_prep(src, (char *)sql.p,
	    NULL)) == -1) {
		dberr(src, table, err, errlen);
		goto out;
	}
	sql.len = 0;
	buf_addf(&sql, "INSERT INTO %s (", table);
	for (i = 0; i < c.n; i++)
		buf_addf(&sql, "%s%s", i ? ", " : "", c.name[i]);
	buf_add(&sql, ") VALUES (", 10);
	for (i = 0; i < c.n; i++)
		buf_addf(&sql, "%s?", i ? ", " : "");
	buf_add(&sql, ")", 2);
	ins.dst = dst;
	ins.table = table;
	ins.sql = (char *)sql.p;
	if (scan(src, table, &c, insert_row, &ins, err, errlen) == -1)
		goto out;
	/* The next id a daemon takes follows the copied ones. */
	if (c.identity) {
		buf_addf(&seq, "SELECT setval(pg_get_serial_sequence('%s',"
		    " 'id'), COALESCE((SELECT max(id) FROM %s), 0) + 1, false)",
		    table, table);
		buf_add(&seq, "", 1);
		if (store_done(dst, store_prep(dst, (char *)seq.p,
		    NULL)) == -1) {
			dberr(dst, "identity sequence", err, errlen);
			goto out;
		}
		seq.len = 0;
	}
	buf_addf(&seq, "SELECT count(*) FROM %s", table);
	buf_add(&seq, "", 1);
	if (store_int(dst, &ndst, 0, store_prep(dst, (char *)seq.p,
	    NULL)) == -1) {
		dberr(dst, table, err, errlen);
		goto out;
	}
	if (scan(dst, table, &c, readback_row, &back, err, errlen) == -1)
		goto out;
	t->src_rows = nsrc;
	t->dst_rows = ndst;
	digest_hex(&ins.d, t->src_digest);
	digest_hex(&back, t->dst_digest);
	if (nsrc != ins.d.rows || ndst != nsrc || back.rows != nsrc) {
		snprintf(err, errlen, "%s: %lld rows in the source, %lld "
		    "copied, %lld in the target", table, nsrc, ins.d.rows,
		    ndst);
		goto out;
	}
	if (strcmp(t->src_digest, t->dst_digest) != 0) {
		snprintf(err, errlen, "%s: the rows read back differ from the "
		    "source's (digest %.16s, source %.16s)", table,
		    t->dst_digest, t->src_digest);
		goto out;
	}
	rc = 0;
out:
	buf_free(&sql);
	buf_free(&seq);
	buf_free(&ins.d.b);
	buf_free(&back.b);
	return rc;
}

struct store *
store_open_empty(const char *uri, char *err, size_t errlen)
{
	struct store	*s;
	struct dbstmt	*q;
	long long	 n = 0;
	char		*what = NULL;

	if (!store_is_uri(uri)) {
		snprintf(err, errlen, "%s: not a postgresql:// URI", uri);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->drv = &db_pg;
	if (s->drv->open(s, uri, err, errlen) == -1)
		goto bad;
	q = store_prep(s, "SELECT count(*), min(name) FROM (SELECT c.relname"
	    " AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace"
	    " n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
	    " AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') UNION ALL"
	    " SELECT p.proname FROM pg_catalog.pg_proc p JOIN"
	    " pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	    " WHERE n.nspname = current_schema()) x", NULL);
	if (q == NULL || db_step(q) != DB_ROW) {
		store_release(q);
		dberr(s, "catalog", err, errlen);
		goto bad;
	}
	n = db_int64(q, 0);
	what = store_col_text(q, 1);
	store_release(q);
	if (n != 0) {
		snprintf(err, errlen, "the target database is not empty: %lld "
		    "tables, sequences, views or functions (%s, ...); db copy "
		    "needs an empty database", n, what ? what : "");
		goto bad;
	}
	free(what);
	return s;
bad:
	free(what);
	store_close(s);
	return NULL;
}

int
store_copy(struct store *src, struct store *dst, const char *from,
    struct copy_report *rep, char *err, size_t errlen)
{
	const struct db_driver	*d = dst->drv;
	char			 e2[256], at[32], *note = NULL;
	size_t			 i;
	int			 v = 0, rc = -1, srctx = 0;

	memset(rep, 0, sizeof(rep->t[0]) * COPY_TABLES_MAX);
	rep->n = 0;
	if (strcmp(src->drv->name, "sqlite") != 0 ||
	    strcmp(d->name, "postgresql") != 0 || d->full == NULL ||
	    NTABLES > COPY_TABLES_MAX) {
		snprintf(err, errlen, "db copy goes from SQLite to "
		    "PostgreSQL");
		return -1;
	}
	if (src->drv->version(src, &v) == -1 || v != d->full_version) {
		snprintf(err, errlen, "the source's schema version is %d, not "
		    "%d", v, d->full_version);
		return -1;
	}
	/* One snapshot of the source (SQLite's WAL: writers go on). */
	if (src->drv->exec(src, "BEGIN", err, errlen) == -1)
		return -1;
	srctx = 1;
	if (d->begin(dst) == -1) {
		dberr(dst, "begin", err, errlen);
		goto out;
	}
	dst->in_tx = 1;
	if (d->exec(dst, d->full, err, errlen) == -1 ||
	    same_tables(src, "SELECT name FROM sqlite_master WHERE type ="
	    " 'table' AND name NOT LIKE 'sqlite_%'", err, errlen) ==
	    -1 ||
	    same_tables(dst, "SELECT table_name FROM information_schema.tables"
	    " WHERE table_schema = current_schema() AND table_type ="
	    " 'BASE TABLE'", err, errlen) == -1)
		goto out;
	for (i = 0; i < NTABLES; i++) {
		if (copy_table(src, dst, tables[i], &rep->t[rep->n], err,
		    errlen) == -1)
			goto out;
		rep->n++;
	}
	time_fmt(clock_now(), at, sizeof(at));
	note = xcalloc(1, strlen(from) + 96);
	snprintf(note, strlen(from) + 96, "%s (sqlite, schema %d) at %s",
	    from, v, at);
	if (d->set_version(dst, d->full_version) == -1 ||
	    store_done(dst, store_prep(dst, "INSERT INTO meta (key, value)"
	    " VALUES ('copied_from', ?) ON CONFLICT (key) DO UPDATE SET"
	    " value = excluded.value", "t", note)) == -1) {
		dberr(dst, "meta", err, errlen);
		goto out;
	}
	if (store_commit(dst) == -1) {
		dberr(dst, "commit", err, errlen);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		store_rollback(dst);
	if (srctx)
		src->drv->exec(src, "ROLLBACK", e2, sizeof(e2));
	free(note);
	return rc;
}
