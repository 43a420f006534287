/*
 * store_revoke.h: the revocation records of the store (store_revoke.c):
 * a certificate's revocation and its CRL shard, the certificates a
 * selector or a key matches, compromised keys, revocation requests and
 * what each revoked (revoke_hit), revocation documents and their
 * results.  Everything runs in the caller's transaction; none of these
 * functions begins or commits.  Include extern.h first.
 * Row loops stream: fn is called per row (its pointers are valid during
 * the call only); a non-zero return stops the loop, which then returns
 * -1, as it does on a database error.
 */
#ifndef CERTSPOOL_STORE_REVOKE_H
#define CERTSPOOL_STORE_REVOKE_H

#include <time.h>

/* One request to revoke (SPEC 7.1, 7.2): kind "email", "order" (value
 * the order id, batch_ext its batch), "serial" (lower-case hex) or
 * "key" (SPKI SHA-256 hex); account_id 0: any account (the operator);
 * at 0: now. */
struct revoke_req {
	long long	 doc_id;
	long long	 account_id;
	int		 line;
	const char	*kind;
	const char	*value;
	const char	*batch_ext;
	const char	*reason;
	time_t		 at;
};

struct store;
struct revoke_req;

/* Certificate ids, in the order the query gave them. */
struct revoke_ids {
	long long	*v;
	size_t		 n, cap;
};
void	 revoke_ids_free(struct revoke_ids *);

/* ---- one certificate (revoke.c) ---- */

/* An issued certificate as a revocation sees it. */
struct revoke_cert {
	long long	 shard, issuer;
	long long	 rcpt, order, batch;
	char		*reason;	/* revoke_reason, NULL if none */
	int		 revoked;	/* revoked_at is set */
};
/* Issued certificate cert_id: 1 found, 0 not issued, -1 error. */
int	 revoke_cert_get(struct store *, long long cert_id,
	    struct revoke_cert *);
void	 revoke_cert_free(struct revoke_cert *);
/* Its CRL entry: revoked at `at`, invalidity 0 for none. */
int	 revoke_cert_mark(struct store *, long long cert_id, time_t at,
	    const char *reason, time_t invalidity);
/* A revoked certificate's new reason (a later keyCompromise). */
int	 revoke_cert_rereason(struct store *, long long cert_id,
	    const char *reason);
/* CRL shard of an issuer to be published again (crl.c). */
int	 revoke_shard_dirty(struct store *, long long issuer, long long shard);

/* ---- what a request selects (revdoc.c) ---- */

/* Unexpired issued certificates a selector matches, kind "email",
 * "order" (batch the batch's id) or "serial", of account (0: any),
 * by certificate id; -1 also for another kind. */
int	 revoke_match(struct store *, const char *kind, long long account,
	    const char *value, const char *batch, time_t now,
	    struct revoke_ids *);
/* Unexpired issued certificates with key spki not yet revoked for
 * keyCompromise, in any account. */
int	 revoke_key_match(struct store *, const char *spki, time_t now,
	    struct revoke_ids *);
/* The account of certificate cert_id (0 if none). */
int	 revoke_cert_account(struct store *, long long cert_id,
	    long long *account);
/* Its key's SHA-256 (hex), malloc'd; *spki NULL if none. */
int	 revoke_cert_spki(struct store *, long long cert_id, char **spki);

/* The recipient holding a certificate. */
struct revoke_holder {
	long long	 rcpt, order, batch;
	char		*state, *email;
};
/* 1 found, 0 none, -1 error. */
int	 revoke_cert_holder(struct store *, long long cert_id,
	    struct revoke_holder *);
void	 revoke_holder_free(struct revoke_holder *);

/* List a key as compromised for every account. */
int	 revoke_key_block(struct store *, const char *spki_sha256,
	    const char *why);

/* ---- requests ---- */

/* A stored request (owned strings). */
struct revoke_request {
	long long	 doc, account;
	char		*kind, *value, *batch, *reason, *state;
	time_t		 at;
};
/* Store r as pending, created now; its id or -1. */
long long revoke_request_insert(struct store *, const struct revoke_req *,
	    time_t now);
/* Request id: 1 found, 0 none, -1 error. */
int	 revoke_request_get(struct store *, long long id,
	    struct revoke_request *);
void	 revoke_request_free(struct revoke_request *);
/* Request id resolved as `to` (done, already_revoked, not_found) now,
 * reported in its document's result seq (0: none). */
int	 revoke_request_finish(struct store *, long long id, const char *to,
	    long long seq, time_t now);
/* Pending request id: 1 (*doc its document, 0 none), 0 not pending. */
int	 revoke_request_pending(struct store *, long long id, long long *doc);
/* Pending request id withdrawn now, in result seq (0: none). */
int	 revoke_request_withdrawn(struct store *, long long id, long long seq,
	    time_t now);
/* The pending requests due at now, by time. */
int	 revoke_requests_due(struct store *, time_t now, struct revoke_ids *);
/* Request id's state, malloc'd; *state NULL if there is no such request. */
int	 revoke_request_state(struct store *, long long id, char **state);
/* How many accounts have order order_ext in a batch batch_ext. */
int	 revoke_order_accounts(struct store *, const char *batch_ext,
	    const char *order_ext, long long *n);

/* A request as listed: pending ones (certspool status) with the
 * account's name (or "*") and where they came from; a document's with
 * state, line, seq (0 for none). */
struct revoke_request_row {
	long long	 id, line, seq;
	const char	*account, *kind, *value, *batch, *reason, *state;
	const char	*from;
	time_t		 at;
};
int	 revoke_requests_pending(struct store *,
	    int (*fn)(void *, const struct revoke_request_row *), void *arg);

/* ---- what a request revoked (revoke_hit) ---- */

/* Certificate cert_id revoked by request req; listed: reported to it. */
int	 revoke_hit_add(struct store *, long long req, long long cert_id,
	    int listed);
/* How many certificates request req revoked. */
int	 revoke_hit_count(struct store *, long long req, long long *n);

/* A revoked certificate; each loop fills the fields its comment names. */
struct revoke_hit_row {
	long long	 req, cert;
	const char	*serial, *email, *add_emails, *order, *batch;
	const char	*account, *reason;
	time_t		 at, invalidity;
};
/* Request req's: serial, email, account, reason, at; by certificate. */
int	 revoke_hits(struct store *, long long req,
	    int (*fn)(void *, const struct revoke_hit_row *), void *arg);
/* Request req's listed ones: serial, email, reason, at, invalidity. */
int	 revoke_hits_listed(struct store *, long long req,
	    int (*fn)(void *, const struct revoke_hit_row *), void *arg);
/* Up to limit whose message is not sent, after (req, cert), in that
 * order: every field but invalidity. */
int	 revoke_hits_unmailed(struct store *, long long req, long long cert,
	    int limit, int (*fn)(void *, const struct revoke_hit_row *),
	    void *arg);
/* The message of request req about cert_id is sent. */
int	 revoke_hit_mailed(struct store *, long long req, long long cert_id);
/* Revoked certificates of batch or order ext (any account): serial,
 * email, reason, at, order; by certificate. */
int	 revoke_revoked_of(struct store *, const char *ext,
	    int (*fn)(void *, const struct revoke_hit_row *), void *arg);

/* ---- revocation documents and their results ---- */

/* Document ext of account: 1 (*file and *received set; free *file),
 * 0 none, -1 error. */
int	 revdoc_find(struct store *, long long account, const char *ext,
	    char **file, time_t *received);
/* The file of account's batch with id ext: 1 (free *file), 0, -1. */
int	 revdoc_batch_file(struct store *, long long account, const char *ext,
	    char **file);
/* Store a document received now; *doc_id its id. */
int	 revdoc_add(struct store *, long long account, const char *ext,
	    const char *sha, const char *file, time_t now,
	    const char *created, long long *doc_id);
/* The result seq a change of document doc goes into: the one still
 * owed, or a new one when the last was written. */
int	 revdoc_result_seq(struct store *, long long doc, long long *seq);
/* Requests of document doc resolved in result seq or pending then, by
 * id: id, kind, value, batch, reason, state, line, at, seq. */
int	 revdoc_items(struct store *, long long doc, long long seq,
	    int (*fn)(void *, const struct revoke_request_row *), void *arg);

/* A document whose result seq is owed. */
struct revdoc_owed {
	long long	 doc, seq;
	char		*ext, *account;
};
/* The first after document id `after`: 1 found, 0 none, -1 error. */
int	 revdoc_owed_next(struct store *, long long after,
	    struct revdoc_owed *);
void	 revdoc_owed_free(struct revdoc_owed *);
/* Result seq of document doc is written. */
int	 revdoc_result_written(struct store *, long long doc, long long seq);

#endif
