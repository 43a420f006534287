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

#include "portal_token.h"
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


#endif
