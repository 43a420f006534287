/*
 * signer.h: the signing pass (signer.c): the approved recipients, each
 * account an equal share of each chunk, signed through the signer
 * process (keyproc.h) with a write-ahead row per certificate
 * (store_sign.h), so that a crash at any point neither loses nor
 * duplicates a certificate.
 */
#ifndef CERTSPOOL_SIGNER_H
#define CERTSPOOL_SIGNER_H

#include "extern.h"
#include "ca.h"

struct slice;

/* Sign the approved recipients until none is left or the slice is over
 * (fairq.h; NULL: no limit); 0 or -1. */
int		 signer_run(struct store *, const struct conf *,
		    const struct ca *, struct slice *);
/* Recover write-ahead rows left by a crash (before signer_run). */
int		 signer_recover(struct store *, const struct conf *,
		    const struct ca *);

#endif
