/*
 * store_org.h: organizations and their validation requests (S/MIME BR
 * 3.2.3) as the organization stage reads and opens them (store_org.c).
 * Every function runs in the caller's transaction and returns -1 on a
 * database error.
 */
#ifndef CERTSPOOL_STORE_ORG_H
#define CERTSPOOL_STORE_ORG_H

#include <stddef.h>

struct store;

/* An organization of an account. */
struct org_row {
	long long	 id;
	char		*name, *country, *identifier;	/* malloc'd */
	int		 validated;	/* validated_at is set */
	long long	 validated_at;
};

/* ---- organizations ---- */

/* The account's organization called name: 1 found (*out filled, its
 * strings the caller's), 0 none. */
int	 org_find(struct store *, long long account_id, const char *name,
	    struct org_row *out);

/* ---- validation requests ---- */

/*
 * Insert an open validation request for organization org_id with a fresh
 * code (expires ORG_REQUEST_TTL from now).  The code, if code is not
 * NULL (ORG_CODE_CHARS + 2 bytes or more), is returned as two groups
 * of five joined by a dash.  Returns the request id, or -1.
 */
long long org_request_insert(struct store *, long long org_id, char *code,
	    size_t codelen);
/* Mark the organization's open requests past their expiry 'expired',
 * with events (batch, order: 0 when not from an order).  0 or -1. */
int	 org_request_expire(struct store *, long long org_id, long long batch,
	    long long order);
/* 1 if the organization's last request is open or locked (it waits for
 * the operator), 0 if not or none. */
int	 org_request_pending(struct store *, long long org_id);

#endif
