/*
 * portal.h: the recipient portal's pages (portal_*.c), called by web.c
 * with the database held for them.  Each page takes the token from the
 * URL (/KIND/TOKEN[/SUB]), looks it up by its SHA-256 and shows only
 * that token's recipient's data.  A page returns 0 with the response
 * filled in, or -1 when the database failed (web.c answers 503 and
 * rolls back).  No page holds or reaches the CA key: certificates are
 * only ever made by the daemon's stages.
 */
#ifndef CERTSPOOL_PORTAL_H
#define CERTSPOOL_PORTAL_H

#include "store_portal.h"
#include "web_page.h"

struct store;
struct conf;

struct portal {
	struct store		*st;
	const struct conf	*conf;
};

/* /confirm/TOKEN: Email DCV and mailbox control.  GET shows what is
 * confirmed and a button; only the POST confirms (portal_confirm.c). */
int	 portal_confirm(struct portal *, const struct web_req *,
	    const char *token, const char *sub, struct web_resp *);
/* /keygen/TOKEN (GET page, POST the CSR), /keygen/TOKEN/status (JSON,
 * long poll) (portal_keygen.c). */
int	 portal_keygen(struct portal *, const struct web_req *,
	    const char *token, const char *sub, struct web_resp *);
/* /pickup/TOKEN (GET page, POST: import confirmed),
 * /pickup/TOKEN/bundle.p12 (portal_pickup.c). */
int	 portal_pickup(struct portal *, const struct web_req *,
	    const char *token, const char *sub, struct web_resp *);
/* /cert/TOKEN (page), /cert/TOKEN/cert.pem|chain.pem|cert.p7b
 * (portal_cert.c). */
int	 portal_cert(struct portal *, const struct web_req *,
	    const char *token, const char *sub, struct web_resp *);

/* Portal tokens (portal_token.c): kinds "keygen", "pickup", "cert". */
#define PORTAL_TOKEN_CHARS	32	/* 160 bits, as DCV tokens */
#define KEYGEN_TTL		(30 * 86400LL)
/* Make a token for recipient (and certificate, or 0); writes the token
 * (PORTAL_TOKEN_CHARS + 1 bytes) and returns the row id, -1 on error. */
long long portal_token_new(struct store *, const char *kind,
	    long long recipient_id, long long certificate_id,
	    long long ttl, char *token);
/* Look a token of this kind up: 1 found (t filled in), 0 unknown (also
 * for a malformed one), -1 database error.  Expiry and use are the
 * caller's to judge. */
int	 portal_token_find(struct store *, const char *kind,
	    const char *token, struct portal_tok *t);
/* The link mailed for a token: web_base_url/KIND/TOKEN into out. */
void	 portal_link(const struct conf *, const char *kind,
	    const char *token, char *out, size_t outlen);
/* Tell a running daemon there is work (a CSR, a confirmation): touch
 * SPOOL/portal/wake, which the daemon watches.  Best effort. */
void	 portal_wake(const struct conf *);

#endif
