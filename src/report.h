/*
 * report.h: the results (SPEC 4): report.c writes each pass of a batch
 * (archive, messages, result.xml last) and the error report of a refused
 * input; report_mail.c the per-recipient messages; certfiles.c the
 * certificate files made from stored DER (PEM, PKCS#7, the chains), which
 * the portal serves too.  The rows come from store_result.h and
 * store_mail.h.
 */
#ifndef CERTSPOOL_REPORT_H
#define CERTSPOOL_REPORT_H

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "store_mail.h"
#include "store_result.h"
#include "certfiles.h"


/* report_mail.c: every message of the certificates selected by sel
 * (with its parameters a, b: store_mail.h), piece by piece; *nstuck
 * counts those that could not be published.  -1 if a group failed or
 * the database did. */
int		 report_mail_certs(struct store *, const struct conf *,
		    const struct ca *, enum mail_sel sel, long long a,
		    long long b, int *nstuck);

/* report.c: write the outbound results of every batch that changed. */
int		 report_publish(struct store *, const struct conf *,
		    const struct ca *);
/* report.c: <error> report for a refused input. */
int		 report_error(int dirfd, const char *name, const char *file,
		    const struct problems *);
/*
 * report_mail.c: the messages of the certificates with ids lo..hi (at most
 * 256), ahead of their batch's pass: read them (this thread), write and
 * publish them (report_mail_write: no database, any thread), then mark
 * them mailed (this thread; frees the work, written or not).
 */
struct mail_work;
struct mail_work *report_mail_load(struct store *, const struct conf *,
		    const struct ca *, long long lo, long long hi);
int		 report_mail_write(struct mail_work *);
int		 report_mail_finish(struct store *, struct mail_work *);

#endif
