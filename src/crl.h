/*
 * crl.h: CRLs (SPEC 7.3): one shard's X.509 v2 CRL (crl.c) and the
 * publication of the shards that are due (crl_publish.c).
 */
#ifndef CERTSPOOL_CRL_H
#define CERTSPOOL_CRL_H

#include "extern.h"
#include "ca.h"
/* ---- CRLs (crl.c, crl_publish.c) ---- */

/* The CRL shard of a certificate, from its serial's random last octets;
 * 0 when nshards is 1.  Chosen with the serial, never changed. */
int	 crl_shard_of(const unsigned char *serial, size_t len, int nshards);
/* crl_url with {shard} replaced by the shard's decimal number; -1 if it
 * does not fit in buf. */
int	 crl_shard_url(const struct conf *, int shard, char *buf, size_t len);
/* The file name of a shard's CRL in crl_dir: its URL's last segment. */
int	 crl_shard_file(const struct conf *, int shard, char *name,
	    size_t len);
/* The same two for the issuer ca (its own crl_url, or the config's). */
int	 crl_ca_url(const struct conf *, const struct ca *, int shard,
	    char *buf, size_t len);
int	 crl_ca_file(const struct conf *, const struct ca *, int shard,
	    char *name, size_t len);
/*
 * Build, sign and publish atomically as dirfd/name the CRL of shard with
 * CRL number `number`, thisUpdate this_update, nextUpdate this_update +
 * crl_validity_hours, listing every revoked certificate of the shard
 * whose notAfter >= cutoff; *entries is their count.  Memory does not
 * grow with the entries (two passes in one read snapshot, streamed).
 * Must not be called inside a transaction.  0 or -1 (logged).
 */
int	 crl_write(struct store *, const struct conf *, const struct ca *,
	    int shard, long long number, time_t this_update, time_t cutoff,
	    int dirfd, const char *name, size_t *entries);
/* The cRLNumber of the CRL file dirfd/name, read without loading its
 * entries: 1 found, 0 no such file, -1 unreadable. */
int	 crl_file_number(int dirfd, const char *name, long long *num);
/*
 * Publish the CRL of every shard that is dirty, has none yet, or is
 * crl_refresh_hours old (every shard if force), and issuing.cer; one log
 * line per CRL, and with out one line per CRL there (file, shard,
 * number, entries, thisUpdate, nextUpdate).  0, or -1 if any failed.
 */
int	 crl_publish(struct store *, const struct conf *, const struct ca *,
	    int force);
int	 crl_publish_out(struct store *, const struct conf *,
	    const struct ca *, int force, FILE *out);

#endif
