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
