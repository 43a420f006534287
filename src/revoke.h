/*
 * revoke.h: revocation (SPEC 7): one certificate (revoke.c), the
 * revocation documents and requests (revdoc.c) and their result documents
 * (revresult.c).
 */
#ifndef CERTSPOOL_REVOKE_H
#define CERTSPOOL_REVOKE_H

#include "extern.h"
struct batch_head;
struct revoke_in;
struct problems;

#include "store_revoke.h"	/* struct revoke_req */
/* ---- revocation of one certificate (revoke.c) ---- */

/*
 * Inside the caller's transaction: record that issued certificate
 * cert_id is revoked at `at` (its CRL revocationDate) for reason,
 * invalidity > 0 and < at as its invalidityDate; mark its CRL shard
 * dirty; append a certificate_revoked event with source as detail.  A
 * certificate revoked already keeps its entry, except that a later
 * keyCompromise replaces its reason.  1 revoked (or changed), 0 not an
 * issued certificate or nothing to change, -1 database error.
 */
int		 cert_revoke(struct store *, long long cert_id,
		    const char *reason, time_t at, time_t invalidity,
		    const char *source);

/* ---- revocation requests and documents (revdoc.c, revresult.c) ---- */

/* Store a pending request (caller's transaction); its id or -1. */
long long	 revoke_request_add(struct store *, const struct revoke_req *);
/* Apply pending request id now (caller's transaction): revoke what it
 * selects with the consequences of SPEC 7.1; *nrevoked (may be NULL)
 * the number revoked.  0 (also when not pending), -1 database error. */
int		 revoke_apply(struct store *, long long id, time_t now,
		    int *nrevoked);
/* Withdraw a pending request: 1 done, 0 not pending, -1 error. */
int		 revoke_withdraw(struct store *, long long id);
/* An xs:dateTime with Z or an offset, as UTC; 0 or -1. */
int		 revoke_time_parse(const char *, time_t *);
/* In spool.c's parse transaction: store a revocation document's head
 * (0, *doc_id set; 1 refused with a problem: a duplicate id; -1 database)
 * and each <revoke> (0; 1 refused with a problem; -1 database). */
int		 revdoc_head(struct store *, long long account_id,
		    const struct batch_head *, const char *sha,
		    const char *file, struct problems *, long long *doc_id);
int		 revdoc_revoke(struct store *, long long account_id,
		    long long doc_id, const struct revoke_in *,
		    struct problems *);
/* The daemon pass step: apply the pending requests now due (each in its
 * transaction; their messages and results are written by
 * revresult_flush(), after the CRLs are published).  0, or -1 if
 * something is left for the next pass. */
int		 revoke_due(struct store *, const struct conf *);
/* Send owed "certificate revoked" messages, write owed results. */
int		 revresult_flush(struct store *, const struct conf *);

#endif
