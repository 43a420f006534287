/*
 * portal_token.h: the portal's links (portal_token.c): single-use tokens
 * for the keygen, pickup and cert pages (only their SHA-256 is stored),
 * the link mailed for each, and the daemon's wake-up.  Used by the stages
 * and the messages that hand out links, and by the pages (portal.h).
 */
#ifndef CERTSPOOL_PORTAL_TOKEN_H
#define CERTSPOOL_PORTAL_TOKEN_H

#include <stddef.h>

#include "store_portal.h"	/* struct portal_tok */

struct store;
struct conf;

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
