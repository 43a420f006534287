/*
 * store_portal.h: the recipient portal's rows (store_portal.c): portal
 * tokens (only a token's SHA-256 is stored), their single use, and what
 * a token reaches: its recipient, and a certificate only if it is that
 * recipient's.  The pages (portal_*.c) call these with the database
 * held for them (web.c).  Each runs in the caller's transaction (a page
 * outside one reads a snapshot per statement) and returns -1 on a
 * database error.
 */
#ifndef CERTSPOOL_STORE_PORTAL_H
#define CERTSPOOL_STORE_PORTAL_H

#include <stddef.h>

struct store;

/* A portal token's row (kinds "keygen", "pickup", "cert"). */
struct portal_tok {
	long long	 id, recipient_id, certificate_id;
	long long	 created, expires, used_at;
};

/* ---- tokens ---- */
/* Store a token by its SHA-256 (hex) for recipient (and certificate, or
 * 0), valid from created to expires: its row id, or -1.  Caller's
 * transaction. */
long long portal_token_add(struct store *, const char *kind,
	    const char *hash, long long recipient_id, long long certificate_id,
	    long long created, long long expires);
/* The token of this kind with this SHA-256: 1 (t filled in), 0 none. */
int	 portal_token_by_hash(struct store *, const char *kind,
	    const char *hash, struct portal_tok *t);
/* Mark pickup token id used at now from peer (the client's address):
 * 0 or -1.  Caller's transaction (the pickup's). */
int	 pickup_token_use(struct store *, long long id, long long now,
	    const char *peer);
/* The same for keygen token id, only if it is not used yet: 0 or -1.
 * Caller's transaction (the one that takes the CSR). */
int	 keygen_token_use(struct store *, long long id, long long now,
	    const char *peer);

/* ---- pickup: the certificate of a pickup token ---- */
/* What the pickup page shows and checks of it. */
struct pickup {
	long long	 cid, rid, oid, bid;
	long long	 not_before, not_after, purged_at, revoked_at;
	int		 has_p12;
	char		*serial, *email, *org;
};
/* The certificate of token t, only if it is t's recipient's: 1, 0 none,
 * -1 (also for a row without serial or email). */
int	 pickup_load(struct store *, const struct portal_tok *t,
	    struct pickup *);
void	 pickup_free(struct pickup *);
/* The encrypted PKCS#12 of certificate cid as stored, malloc'd: 1, 0 if
 * it is no longer held, -1. */
int	 pickup_p12(struct store *, long long cid, unsigned char **p12,
	    size_t *len);
/* Erase certificate cid's PKCS#12 and its password, now: 0 or -1.
 * Caller's transaction (the pickup's). */
int	 pickup_p12_erase(struct store *, long long cid, long long now);

/* ---- keygen: the recipient of a keygen token ---- */
struct keygen_rcpt {
	long long	 order_id, batch_id;
	char		*email, *message, *org;	/* message: or the order's */
	char		 rstate[24];
	int		 has_csr;
};
/* Recipient rid and its order: 1, 0 no such recipient, -1. */
int	 keygen_rcpt_load(struct store *, long long rid, struct keygen_rcpt *);
void	 keygen_rcpt_free(struct keygen_rcpt *);
/* The DER of recipient rid's latest issued certificate, malloc'd (one
 * byte more, zero): 1, 0 none issued, -1. */
int	 keygen_issued_der(struct store *, long long rid, unsigned char **der,
	    size_t *len);

/* ---- the web server ---- */
/* After a page: 1 if it left a transaction open, which is rolled back
 * here (a transaction boundary: it ends the page's); 0 if none was. */
int	 portal_tx_left_open(struct store *);

#endif
