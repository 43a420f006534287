/*
 * store_mail.h: the certificate messages in the store (store_mail.c):
 * which issued certificates still have their messages to send, the rows
 * of their portal links, and what became of each message (mailed and
 * its PKCS#12 password erased, or stuck with a reason).  Used by
 * report_mail.c and report.c.
 */
#ifndef CERTSPOOL_STORE_MAIL_H
#define CERTSPOOL_STORE_MAIL_H

#include <stddef.h>

#include "store_result.h"

struct store;

/* ---- the messages to send ---- */

/* Which unmailed certificates. */
enum mail_sel {
	MAIL_OF_PASS,	/* those a pass reports (a: the pass id) */
	MAIL_STUCK,	/* those whose messages could not be published */
	MAIL_ID_RANGE	/* ids a..b (the signer's, ahead of the pass) */
};
/* The first max unmailed issued certificates of sel with an id above
 * after, by id, into rows (*n of them; each freed by cert_row_free).
 * 0, or -1 (the database, or a certificate without DER: logged, *n the
 * rows read before it). */
int	 mail_certs_load(struct store *, enum mail_sel, long long a,
	    long long b, long long after, struct cert_row *rows, size_t max,
	    size_t *n);
/* How many certificates have a message not yet published; 0 or -1. */
int	 mail_stuck_count(struct store *, long long *n);

/* ---- portal links (caller's transaction) ---- */

/* When certificate cid was made into *created (def if it is gone). */
int	 cert_created(struct store *, long long cid, long long def,
	    long long *created);
/* The row of a link token of kind for the row's certificate (its
 * SHA-256 token_hash); nothing if it is there already. */
int	 mail_link_add(struct store *, const char *kind,
	    const char *token_hash, const struct cert_row *,
	    long long created, long long expires);

/* ---- what became of a message (caller's transaction) ---- */

/* Its message not published: why (a reason code) and detail on the
 * certificate, since when, and the event publish_failed. */
int	 cert_mark_stuck(struct store *, const struct cert_row *,
	    const char *why, const char *detail);
/* Its messages published: mailed, the password erased, stuck cleared;
 * one that was stuck gets the event publish_recovered and marks its
 * batch changed (a new result shows it). */
int	 cert_mark_mailed(struct store *, const struct cert_row *);

#endif
