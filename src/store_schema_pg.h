/*
 * store_schema_pg.h: the PostgreSQL schema's SQL texts
 * (store_schema_pg.c), for db_pg.c.
 */
#ifndef CERTSPOOL_STORE_SCHEMA_PG_H
#define CERTSPOOL_STORE_SCHEMA_PG_H

#include "store_schema.h"

/* Creates schema version STORE_SCHEMA_VERSION in an empty database. */
extern const char store_schema_pg[];
/* Entry v migrates version v to v + 1; all NULL so far (the PostgreSQL
 * schema starts at STORE_SCHEMA_VERSION). */
extern const char *const store_migrations_pg[STORE_SCHEMA_VERSION];

#endif
