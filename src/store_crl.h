/*
 * store_crl.h: what the store holds about CRLs (SPEC 7.3): each shard's
 * publication state (table crl_shard_state: dirty flag, last number,
 * thisUpdate), the one sequence of CRL numbers (meta key crl_number),
 * the revoked certificates a shard's CRL lists, and when a retired
 * issuer's CRLs end (issuer.crl_ended).  Used by crl.c and
 * crl_publish.c.  Errors are logged here and returned as -1.
 */
#ifndef CERTSPOOL_STORE_CRL_H
#define CERTSPOOL_STORE_CRL_H

#include <time.h>

struct store;

/* ---- the read snapshot of crl_write's two passes ---- */

/* Begin a deferred (read) transaction: both passes over the entries see
 * the same rows.  0 or -1. */
int	 crl_snapshot_begin(struct store *);
/* End it (COMMIT), or give it up (ROLLBACK); errors are only logged. */
void	 crl_snapshot_end(struct store *);
void	 crl_snapshot_abort(struct store *);

/* ---- the revoked certificates of a shard ---- */

struct crl_entry_row {
	const char	*serial;	/* lower-case hex; valid during fn */
	time_t		 revoked_at;
	const char	*reason;	/* revoke_reason_code() name */
	time_t		 invalidity_at;	/* 0: none */
};

/*
 * Call fn for each revoked certificate of issuer's shard whose notAfter
 * >= cutoff, in id order (index certificate_revoked), streamed: nothing
 * is held in memory.  fn returns 0 to go on, -1 to stop.  0, or -1 when
 * fn stopped or on a database error (logged "crl: shard N: sqlite: ...").
 * In the caller's transaction (the snapshot above).
 */
int	 crl_entries_each(struct store *, int issuer, int shard,
	    time_t cutoff, int (*fn)(void *arg, const struct crl_entry_row *),
	    void *arg);

/* ---- a shard's publication state and the CRL numbers ---- */

struct crl_shard_status {
	long long	 dirty;		/* 1 when the shard has no row */
	long long	 number;	/* -1: none yet */
	time_t		 this_update;	/* 0: none yet */
};

/* The state of issuer's shard.  0 or -1.  No transaction of its own. */
int	 crl_shard_status(struct store *, int issuer, int shard,
	    struct crl_shard_status *);
/*
 * Allocate the next CRL number, above every number allocated or recorded
 * and above fmax (the highest in crl_dir's files), mark the shard as
 * being published (dirty = 2), and give its cutoff (the thisUpdate of
 * its last CRL, 0 if none).  Transaction boundary: the read, the
 * increment and the write commit together, so no number is reused.
 * 0 or -1 (rolled back).
 */
int	 crl_number_allocate(struct store *, int issuer, int shard,
	    long long fmax, long long *number, time_t *cutoff);
/*
 * Record the shard's published CRL (number, thisUpdate, nextUpdate; the
 * previous thisUpdate kept) and clear its dirty flag if it is still 2
 * (a revocation meanwhile keeps it dirty).  Transaction boundary.
 */
int	 crl_shard_published(struct store *, int issuer, int shard,
	    long long number, time_t this_update, time_t next_update);

/* ---- the end of a retired issuer's CRLs ---- */

struct crl_issuer_progress {
	int		 ended;		/* crl_ended is set: nothing more read */
	int		 retired;	/* 0: not a retired issuer: nothing more */
	long long	 last_not_after;	/* max notAfter it issued */
	long long	 shards_done;	/* shards published and clean */
	long long	 oldest_this_update;	/* min thisUpdate of them */
};

/* How far issuer's CRLs are from their end.  0 or -1.  No transaction
 * of its own. */
int	 crl_issuer_progress(struct store *, int issuer,
	    struct crl_issuer_progress *);
/* Set the issuer's crl_ended to at.  Transaction boundary. */
int	 crl_issuer_end(struct store *, int issuer, long long at);

#endif
