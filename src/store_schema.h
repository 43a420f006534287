/*
 * store_schema.h: the SQLite schema's SQL texts (store_schema.c), for
 * db_sqlite.c.
 */
#ifndef CERTSPOOL_STORE_SCHEMA_H
#define CERTSPOOL_STORE_SCHEMA_H

#define STORE_SCHEMA_VERSION	9

/* SQLite: entry v (1 <= v < STORE_SCHEMA_VERSION) migrates version v to
 * v + 1; entry 0 creates version 1 in an empty database. */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];

#endif
