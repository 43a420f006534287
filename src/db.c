/*
 * db.c: the driver of a database setting, and the statement calls of
 * db.h passed to the statement's driver.
 */
#include <string.h>

#include "extern.h"
#include "db.h"

int
store_is_uri(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 ||
	    strncmp(target, "postgres://", 11) == 0;
}

const struct db_driver *
db_driver_for(const char *target)
{
	return store_is_uri(target) ? &db_pg : &db_sqlite;
}

static unsigned int
sql_hash(const char *s)
{
	unsigned int	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct dbstmt *
db_cache_take(struct dbcache *c, const char *sql, int *room)
{
	struct dbstmt	*s;
	unsigned int	 h = sql_hash(sql);
	size_t		 i;

	*room = 0;
	for (i = 0; i < DB_STMT_CACHE; i++) {
		if ((s = c->slot[i]) == NULL) {
			*room = 1;
			continue;
		}
		if (s->hash == h && !s->busy && strcmp(s->sql, sql) == 0) {
			s->busy = 1;
			return s;
		}
	}
	return NULL;
}

void
db_stmt_init(struct dbstmt *s, const struct db_driver *drv,
    struct store *st, const char *sql)
{
	s->drv = drv;
	s->st = st;
	s->sql = xstrdup(sql);
	s->hash = sql_hash(sql);
	s->cached = 0;
	s->busy = 1;
}

void
db_cache_keep(struct dbcache *c, struct dbstmt *s)
{
	size_t	 i;

	for (i = 0; i < DB_STMT_CACHE; i++)
		if (c->slot[i] == NULL) {
			c->slot[i] = s;
			s->cached = 1;
			return;
		}
}

int
db_step(struct dbstmt *q)
{
	return q->drv->step(q);
}

int
db_null(struct dbstmt *q, int col)
{
	return q->drv->col_null(q, col);
}

long long
db_int64(struct dbstmt *q, int col)
{
	return q->drv->col_int(q, col);
}

int
db_int(struct dbstmt *q, int col)
{
	return (int)q->drv->col_int(q, col);
}

const unsigned char *
db_text(struct dbstmt *q, int col)
{
	return q->drv->col_text(q, col);
}

const void *
db_blob(struct dbstmt *q, int col)
{
	return q->drv->col_blob(q, col);
}

int
db_bytes(struct dbstmt *q, int col)
{
	return q->drv->col_bytes(q, col);
}

long long
db_changes(struct store *st)
{
	return st->drv->changes(st);
}

const char *
db_errmsg(struct store *st)
{
	return st->drv->errmsg(st);
}

int
db_constraint(struct store *st)
{
	return st->drv->constraint(st);
}

int
db_in_tx(struct store *st)
{
	return st->drv->in_tx(st);
}
