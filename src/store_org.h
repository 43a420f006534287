/*
 * store_org.h: organizations and their validation requests (S/MIME BR
 * 3.2.3) in the store (store_org.c): the organization table and the
 * org_request table (the phone verification code: open, used, locked
 * after ORG_MAX_TRIES wrong codes, or expired), as the organization stage
 * reads and opens them and as the operator's org commands (cmd_validate.c)
 * add, request and verify.  Domain and mailbox control, and the reuse
 * windows, are store_dcv.h's.  No function begins or commits a
 * transaction: each runs in the caller's (reads may run outside one) and
 * returns -1 on a database error (logged by store.c).
 */
#ifndef CERTSPOOL_STORE_ORG_H
#define CERTSPOOL_STORE_ORG_H

#include <stddef.h>

#include "store_dcv.h"		/* DAY, tokens */

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

/* Lifetime of an organization request's code. */
#define ORG_REQUEST_TTL		(30 * DAY)
/* Characters of an organization code: 50 bits, shown as XXXXX-XXXXX. */
#define ORG_CODE_CHARS		10

/* ---- the operator's org commands (cmd_validate.c) ---- */

/* Wrong codes after which a request is locked (S/MIME BR 3.2.3). */
#define ORG_MAX_TRIES		5

/* ---- organizations ---- */

/* Does organization id exist?  1 yes, 0 no, -1 error. */
int	 org_exists(struct store *, long long id);
/* Organization of account_id by name: > 0 its id, 0 none, -1 error. */
long long org_id_by_name(struct store *, long long account_id,
	    const char *name);
/*
 * Add an organization to account_id (named account, for the event) with
 * an org_added event; the new id or -1.  Caller's transaction.
 */
long long org_add(struct store *, long long account_id, const char *account,
	    const char *name, const char *country, const char *org_identifier);
/* Name of organization id (malloc'd) into *name: 1 found, 0 not (also
 * on a step error), -1 error. */
int	 org_name(struct store *, long long id, char **name);

/* ---- validation requests (phone verification code) ---- */

/* A request row with its organization's name; strings malloc'd or NULL. */
struct org_req {
	long long	 id;		/* 0: none */
	long long	 expires, tries;
	char		*code;		/* shown code, open requests only */
	char		*code_hash, *state;
	char		*org;		/* the organization's name */
};
void	 org_req_free(struct org_req *);
/* Some organization with an open request past its expiry at now: its
 * id, 0 none, or -1. */
long long org_request_stale(struct store *, long long now);
/*
 * The newest open request of org (id 0 when none is open; code and
 * expires only): 1 the organization exists, 0 not (also on a step
 * error), -1 error.
 */
int	 org_request_open(struct store *, long long org, struct org_req *);
/* The newest request of org in any state (id 0 when none; code not set);
 * 0 or -1. */
int	 org_request_latest(struct store *, long long org, struct org_req *);
/* Keep the code of request rid, opened by the operator, with an
 * org_validation_requested event.  Caller's transaction. */
int	 org_request_opened(struct store *, long long org, long long rid,
	    const char *code);
/* A new code for request rid (tries reset, open until expires), with an
 * org_request_reissued event.  Caller's transaction. */
int	 org_request_reissue(struct store *, long long rid, const char *hash,
	    const char *code, long long expires, const char *detail);
/*
 * Count a wrong code for request rid of org, which had tries: locked at
 * ORG_MAX_TRIES, with an org_verify_failed or org_request_locked event.
 * The new count of tries, or -1.  Caller's transaction.
 */
long long org_request_wrong_code(struct store *, long long org, long long rid,
	    long long tries);
/*
 * Use request rid and mark org validated at now by `by` (phone
 * verification code, S/MIME BR 3.2.3), with an org_validated event.
 * Caller's transaction.
 */
int	 org_validate(struct store *, long long org, long long rid,
	    const char *by, long long now, const char *detail);

#endif
