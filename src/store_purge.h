/*
 * store_purge.h: what retention (purge.c) asks of the database
 * (store_purge.c): the accounts whose spool directories it visits, the
 * accepted input an archived file's bytes match and whether the
 * database still works on it, and the record of a purge that ran (its
 * event and meta purge_last).  Files are purge.c's; nothing here
 * removes a row.  Each returns 0, or -1 on a database error, and runs
 * in the caller's transaction (purge.c holds none: each statement reads
 * a snapshot of its own) unless its comment says otherwise.
 */
#ifndef CERTSPOOL_STORE_PURGE_H
#define CERTSPOOL_STORE_PURGE_H

#include <stddef.h>

struct store;

/* ---- accounts ---- */
/* Every account, by name (a small table, loaded whole). */
struct purge_accounts {
	size_t		 n;
	long long	*id;
	char		**name;		/* an entry may be NULL */
};
/* Load them; on -1 *a is empty. */
int	 purge_accounts_load(struct store *, struct purge_accounts *a);
void	 purge_accounts_free(struct purge_accounts *);

/* ---- archived inputs ---- */
/* What the database knows of an archived input. */
struct archived_input {
	long long	 id;		/* 0: no accepted input has these bytes */
	char		 kind[16];
	long long	 batch_id;
	int		 card;		/* an order of its batch gave a card */
	int		 open;		/* the database still works on it */
};
/*
 * The first accepted input of account_id with SHA-256 sha (hex); for a
 * batch, whether an order gave a card number and whether an order or
 * recipient is not final; for a revocation, whether a request is
 * pending or its result owed.
 */
int	 archived_input_find(struct store *, long long account_id,
	    const char *sha, struct archived_input *);

/* ---- the record of a purge ---- */
/* When the last purge ran (meta purge_last), 0 if never. */
int	 purge_last(struct store *, long long *at);
/* A purge that ran at now: event "purge" (reason "retention", detail)
 * and meta purge_last.  Its own transaction (begins and commits). */
int	 purge_mark_run(struct store *, long long now, const char *detail);

#endif
