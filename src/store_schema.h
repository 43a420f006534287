/*
 * store_schema.h: the schema's SQL texts (store_schema.c), for store.c.
 */
#ifndef CERTSPOOL_STORE_SCHEMA_H
#define CERTSPOOL_STORE_SCHEMA_H

#define STORE_SCHEMA_VERSION	8

/* Creates schema version 1. */
extern const char *const store_schema_v1;
/* Entry v (1 <= v < STORE_SCHEMA_VERSION) migrates version v to v + 1;
 * entry 0 is NULL (version 1 is store_schema_v1). */
extern const char *const store_migrations[STORE_SCHEMA_VERSION];

#endif
