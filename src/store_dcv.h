/*
 * store_dcv.h: domain and mailbox control validation in the store
 * (store_dcv.c).  The module owns the dcv table (the token requests of
 * Email, mailbox, DNS TXT, DNS CNAME and HTTP DCVs: opened, used,
 * expired or failed), the domain table (an organization's domains and
 * when each was last validated), the mailbox table (validated mailboxes
 * of an account) and the reuse windows (S/MIME BR 4.2.1): how long a
 * completed validation may be relied on.  DCV is decided here.
 * No function here begins or commits a transaction: each runs in the
 * caller's (reads may run outside one).
 * Failure policy: a store error is logged by store.c and returned as -1;
 * the caller rolls back.
 */
#ifndef CERTSPOOL_STORE_DCV_H
#define CERTSPOOL_STORE_DCV_H

#include <stddef.h>

struct store;

/* ---- reuse windows (S/MIME BR 4.2.1; 3.2.2.1, 3.2.2.2, 3.2.3) ---- */

#define DAY			86400LL
#define ORG_REUSE		(825 * DAY)
#define DOMAIN_REUSE		(398 * DAY)
#define MAILBOX_REUSE		(30 * DAY)

enum reuse { REUSE_ORG, REUSE_DOMAIN, REUSE_MAILBOX };

/* Until when a validation completed at `at` may be reused. */
long long dcv_reuse_until(enum reuse, long long at);
/* Has organization org_id a validation of domain within DOMAIN_REUSE
 * at now?  1 yes, 0 no, -1 error. */
int	 dcv_domain_reusable(struct store *, long long org_id,
	    const char *domain, long long now);
/* The same for the account's mailbox within MAILBOX_REUSE. */
int	 dcv_mailbox_reusable(struct store *, long long account_id,
	    const char *mailbox, long long now);

/* ---- domains of an organization ---- */

/* Domain row of org_id by name: > 0 its id, 0 none, -1 error. */
long long domain_find(struct store *, long long org_id, const char *name);
/*
 * Add domain name to org_id with a domain_added event; from (NULL or
 * e.g. "from an order") ends the event's detail.  The new id or -1.
 * Caller's transaction.
 */
long long domain_add(struct store *, long long org_id, const char *name,
	    long long batch, long long order, const char *from);
/* How many organizations (org_id only, when not 0) have domain name, and
 * the id of the last one listed; 0 or -1. */
int	 domain_by_name(struct store *, const char *name, long long org_id,
	    long long *n, long long *id);
/* Count of domain rows named name (of org_id only, when not 0), or -1. */
long long domain_count(struct store *, const char *name, long long org_id);
/*
 * The domain row domain_id: its name, its organization's name (only when
 * org is not NULL) and account.  1 found, 0 not (also on a step error),
 * -1 error.  *name and *org are malloc'd.
 */
int	 dcv_domain(struct store *, long long domain_id, char **name,
	    char **org, long long *account_id);

/* ---- DCV requests (tokens): opening, failing, expiring ---- */

/* How long a request stays open. */
#define DCV_EMAIL_TTL		(30 * DAY)	/* SPEC 3.4 */
#define DCV_MAILBOX_TTL		(1 * DAY)	/* S/MIME BR 3.2.2.2 */
#define DCV_NET_TTL		(30 * DAY)	/* DNS TXT, CNAME, HTTP */
/* The network methods, as an SQL list. */
#define DCV_NET_METHODS		"'dns-txt', 'dns-cname', 'http'"

/* A DCV request to open. */
struct dcv_new {
	const char	*method;	/* email, mailbox, dns-txt, ... */
	long long	 domain_id;	/* 0 for mailbox */
	long long	 account_id;
	const char	*mailbox;	/* mailbox only */
	const char	*token_hash;	/* SHA-256 hex of the token */
	const char	*value;		/* dns-cname, http: "" none */
	long long	 id;		/* out: the dcv row */
	long long	 expires;	/* out: now + the method's lifetime */
};
/* Open one (state 'open', created now); 0 or -1.  Caller's
 * transaction. */
int	 dcv_request_new(struct store *, struct dcv_new *, long long now);
/* The request was sent or is ready to be published: a dcv_started event
 * with detail (batch, order: 0 when not from an order).  Caller's
 * transaction. */
int	 dcv_started(struct store *, long long batch, long long order,
	    const char *detail);
/* Mark dcv id 'failed' (its messages were not all written), with a
 * dcv_mail_failed event.  Caller's transaction. */
int	 dcv_fail(struct store *, long long id, long long batch,
	    long long order, const char *detail);
/* Mark dcv id 'expired', with a dcv_expired event.  Caller's
 * transaction. */
int	 dcv_expire(struct store *, long long id);
/*
 * Open requests past their expiry at now become 'expired' (bookkeeping,
 * no event), in the caller's transaction: the account's mailbox
 * requests for mailbox, the domain's Email ones, the domain's DNS/HTTP
 * ones, or the DNS/HTTP ones of every domain named name (of org_id only,
 * when not 0).  0 or -1.
 */
int	 dcv_expire_due_mailbox(struct store *, long long account_id,
	    const char *mailbox, long long now);
int	 dcv_expire_due_email(struct store *, long long domain_id,
	    long long now);
int	 dcv_expire_due_net(struct store *, long long domain_id, long long now);
int	 dcv_expire_due_named(struct store *, const char *name,
	    long long org_id, long long now);

/* ---- pending requests ---- */

/* Open mailbox requests of the account for mailbox at now, or -1. */
long long dcv_mailbox_pending(struct store *, long long account_id,
	    const char *mailbox, long long now);
/* Open Email, DNS or HTTP requests of the domain at now, or -1. */
long long dcv_domain_pending(struct store *, long long domain_id,
	    long long now);
/* Is dcv id still open?  1 yes, 0 no, -1 error. */
int	 dcv_is_open(struct store *, long long id);

/* An open DNS/HTTP request, as the callbacks below see it. */
struct dcv_row {
	long long	 id, domain_id, org_id, expires;
	const char	*method, *token_hash, *value;	/* value: or NULL */
	const char	*domain, *org;
};
/*
 * fn for each open DNS/HTTP request of domain_id not expired at now,
 * the newest first (org_id, expires and org not set); fn returns 0 for
 * the next, 1 to stop, -1 to stop with an error.  0 or -1.
 */
int	 dcv_net_each(struct store *, long long domain_id, long long now,
	    int (*fn)(void *, const struct dcv_row *), void *arg);
/* The same for the open DNS/HTTP requests of the domains named name (of
 * org_id only, when not 0), expired or not (domain not set). */
int	 dcv_net_each_named(struct store *, const char *name,
	    long long org_id, int (*fn)(void *, const struct dcv_row *),
	    void *arg);

/* Record a look-up that found no match (audit): a dcv_check_failed
 * event, the request staying open.  Caller's transaction. */
int	 dcv_check_failed(struct store *, const char *detail);

/* ---- confirming ---- */

/* The DCV a token names, for confirmation. */
struct dcv_info {
	long long	 id, domain_id, account_id, org_id;
	long long	 created, expires;
	int		 is_mailbox;	/* mailbox control, else Email DCV */
	char		 method[16], state[16];
	char		*mailbox, *domain, *org, *account;	/* or NULL */
};
/* The newest dcv whose token hashes to hash: 1 found, 0 none, -1
 * error. */
int	 dcv_by_token(struct store *, const char *hash, struct dcv_info *);
void	 dcv_info_free(struct dcv_info *);

/* A DCV that was completed (its token confirmed or its value found). */
struct dcv_use {
	long long	 id;		/* the dcv row */
	const char	*method;	/* email, mailbox, dns-txt, ... */
	long long	 domain_id;	/* domain methods */
	long long	 account_id;	/* mailbox */
	const char	*mailbox;	/* mailbox */
	long long	 at;		/* validated at */
	long long	 batch, order;	/* for the event, or 0 */
	const char	*detail;
};
/*
 * Mark the dcv 'used' and record what it validates: the mailbox of the
 * account, or the domain by the method, with a mailbox_validated or
 * domain_validated event.  Caller's transaction.  0 or -1.
 */
int	 dcv_confirm(struct store *, const struct dcv_use *);

/* ---- tokens ---- */

/*
 * Secrets are Crockford base32 (no I, L, O, U).  An organization code is
 * read out on the phone (ORG_CODE_CHARS, store_org.h); guessing is
 * bounded by ORG_MAX_TRIES and the request's expiry.  A DCV token
 * travels by mail: 32 characters, 160 bits.
 */
#define DCV_TOKEN_CHARS		32
#define TOKEN_MAX		64

/* nchars random Crockford base32 characters plus NUL into out. */
void	 token_new(char *out, size_t nchars);
/* Canonical form of a typed secret: dashes and white space dropped, upper
 * case, O->0, I/L->1.  -1 if a character is not base32 or it is too long. */
int	 token_norm(const char *in, char *out, size_t outlen);
/* SHA-256 (hex) of the canonical form; what the store keeps. */
void	 token_hash(const char *canon, char out[65]);

#endif
