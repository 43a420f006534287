/*
 * p12keep.c: how long the encrypted PKCS#12 of a server-generated key
 * stays in the database.  It is kept for the recipient's one pickup
 * (portal_pickup.c, which purges it when the import is confirmed) and
 * for archives written meanwhile; p12_retention_days after the
 * certificate was made the daemon's pass purges whatever was not picked
 * up: p12 and p12_password set to NULL, p12_purged_at set, an event
 * p12_purged (reason retention).  A purged PKCS#12 is in no later
 * archive (report.c writes bundle.p12 only for a stored one) and its
 * pickup link answers 410.
 * Work goes in chunks of P12KEEP_CHUNK certificates per transaction,
 * found through the partial index certificate_p12_kept, so a large
 * backlog never holds the database for long (the queries:
 * store_issuer.h).
 * Failure policy: a database error rolls the chunk back and is returned
 * (the pass logs it); what was not purged is purged by a later pass.
 */
#include <stdio.h>
#include <stdlib.h>

#include "extern.h"
#include "store_issuer.h"

#define P12KEEP_CHUNK	500

/* One chunk: up to P12KEEP_CHUNK kept PKCS#12 made at or before cutoff,
 * purged in one transaction.  Returns how many, or -1. */
static int
purge_chunk(struct store *st, const struct conf *c, long long cutoff,
    long long now)
{
	struct p12keep_due k[P12KEEP_CHUNK];
	char		 detail[256];
	int		 n = 0, i, rc = -1;

	if (store_begin(st) == -1)
		return -1;
	if ((n = p12keep_due(st, cutoff, P12KEEP_CHUNK, k)) == -1) {
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(detail, sizeof(detail), "certificate %s: PKCS#12 "
		    "not picked up within p12_retention_days (%d)",
		    k[i].serial ? k[i].serial : "?", c->p12_retention_days);
		if (p12keep_purge(st, k[i].cid, now) == -1 ||
		    store_event(st, "p12_purged", k[i].bid, k[i].oid, k[i].rid,
		    NULL, NULL, "retention", detail) == -1)
			goto out;
	}
	if (store_commit(st) == -1)
		goto out;
	rc = n;
out:
	if (rc == -1)
		store_rollback(st);
	for (i = 0; i < n; i++)
		free(k[i].serial);
	return rc;
}

int
p12keep_run(struct store *st, const struct conf *c)
{
	long long	 now = clock_now(), cutoff, total = 0;
	int		 n;

	cutoff = now - (long long)c->p12_retention_days * 86400;
	do {
		if ((n = purge_chunk(st, c, cutoff, now)) == -1) {
			log_err("p12 retention: purge failed after %lld; "
			    "the rest in a later pass", total);
			return -1;
		}
		total += n;
	} while (n == P12KEEP_CHUNK);
	if (total > 0)
		log_info("p12 retention: %lld PKCS#12 purged (older than %d "
		    "days, not picked up)", total, c->p12_retention_days);
	return 0;
}
