/*
 * store_issuer.h: what the store holds about the issuing CAs (table
 * issuer: each generation's certificate, key location, chain, URLs and
 * state, current or retired) and the rollover that changes the current
 * one (issuer.c, cmd_rollover.c); and the encrypted PKCS#12 of
 * server-generated keys that are kept until their retention ends
 * (p12keep.c).  Errors are logged here and returned as -1.
 */
#ifndef CERTSPOOL_STORE_ISSUER_H
#define CERTSPOOL_STORE_ISSUER_H

#include <stddef.h>

struct store;

/* ---- the issuers ---- */

/* A new issuer row. */
struct issuer_new {
	int			 id;
	const unsigned char	*cert;		/* DER */
	size_t			 certlen;
	const char		*key;		/* key_location */
	const char		*chain;		/* PEM */
	const char		*crl_url;	/* "": the config's */
	const char		*aia_url;	/* "": the config's */
	long long		 not_after;
	long long		 created;
};

/* How many issuers there are.  0 or -1.  No transaction of its own. */
int	 issuer_count(struct store *, long long *n);
/* The highest issuer id (0 if none).  0 or -1. */
int	 issuer_max_id(struct store *, long long *id);
/* Daemons sharing a PostgreSQL database whose lease is running (by the
 * server's clock) into *n, for a rollover that must run alone (there
 * is no spool lock between them); 0 or -1.  PostgreSQL only. */
int	 issuer_live_daemons(struct store *, long long *n);
/*
 * Record n (its cert, key, chain, not_after, created; id 1, empty URLs)
 * as issuer 1, the current one, if the table is still empty.
 * Transaction boundary.  0 or -1 (rolled back).
 */
int	 issuer_record_first(struct store *, const struct issuer_new *n);
/* The current issuer's id and certificate DER (*der malloc'd, NUL
 * after its *len bytes).  0, or -1 when there is none or on an error. */
int	 issuer_current(struct store *, int *id, unsigned char **der,
	    size_t *len);
/* Issuer id's crl_url and aia_url (malloc'd, NULL for NULL): 1, or 0
 * when it has no row (both NULL), -1 when the query cannot be made. */
int	 issuer_urls(struct store *, int id, char **crl_url, char **aia_url);

struct issuer_row {
	int			 id;
	const char		*state;		/* "current", "retired" */
	const char		*key;		/* key_location */
	long long		 not_after;
	int			 crl_ended;	/* its CRLs ended */
	const unsigned char	*cert;		/* DER */
	size_t			 certlen;
	const char		*crl_url;
	const char		*aia_url;
};

/*
 * Call fn for each retired issuer that has not expired at now, highest
 * id first (id, crl_url, aia_url, crl_ended set).  fn returns 0 to go
 * on, -1 to stop.  0, or -1 when fn stopped or on a database error.
 */
int	 issuer_retired_each(struct store *, long long now,
	    int (*fn)(void *arg, const struct issuer_row *), void *arg);
/* The same for the retired issuers the signer must hold: not expired
 * at now, CRLs not ended, lowest id first (id, key set). */
int	 issuer_signer_each(struct store *, long long now,
	    int (*fn)(void *arg, const struct issuer_row *), void *arg);
/* The same for every issuer, by id (all but aia_url set): ca show. */
int	 issuer_each(struct store *,
	    int (*fn)(void *arg, const struct issuer_row *), void *arg);

/*
 * The commit point of a rollover: issuer cur retired with its key now
 * at oldkey, issuer n recorded as the current one.  Transaction
 * boundary.  0 or -1 (rolled back).
 */
int	 issuer_rollover_commit(struct store *, int cur, const char *oldkey,
	    const struct issuer_new *n);

/* ---- kept PKCS#12 (p12keep.c) ---- */

struct p12keep_due {
	long long	 cid, rid, oid, bid;	/* certificate, recipient, ... */
	char		*serial;		/* malloc'd */
};

/*
 * Up to max certificates whose PKCS#12 is still kept and that were made
 * at or before cutoff, oldest first (index certificate_p12_kept), into
 * k: their number, or -1 (nothing to free then).  In the caller's
 * transaction.
 */
int	 p12keep_due(struct store *, long long cutoff, int max,
	    struct p12keep_due *k);
/* Drop certificate cid's PKCS#12 and its password, purged at now.  In
 * the caller's transaction. */
int	 p12keep_purge(struct store *, long long cid, long long now);

#endif
