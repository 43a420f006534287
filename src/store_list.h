/*
 * store_list.h: the read-only views of the command line (store_list.c):
 * account, org and domain list, validations --expiring (cmd_list.c) and
 * status (main.c).  None is a transaction boundary: each is one read,
 * in the caller's transaction if there is one.  The lists stream their
 * rows: fn(arg, NULL) is called once the query is ready, then fn(arg,
 * row) once per row; a row's strings are NULL for SQL NULL and valid
 * only during that call.  fn returns 0 to go on, -1 to stop (the walk
 * then returns -1).
 */
#ifndef CERTSPOOL_STORE_LIST_H
#define CERTSPOOL_STORE_LIST_H

struct store;

/* ---- account list, org list, domain list, validations ---- */

struct account_row {
	long long	 id;
	const char	*name;
	long long	 balance;		/* cents */
	int		 contracts, organizations;
	long long	 created;
};
/* Every account by name; 0, or -1 on a database error. */
int	 account_list(struct store *,
	    int (*fn)(void *, const struct account_row *), void *arg);

/* When an organization or a domain was validated, and how. */
struct validated {
	int		 present;		/* 0: never validated */
	long long	 at;
	const char	*method;
};

struct org_list_row {
	long long	 id;
	const char	*account, *name, *country, *org_identifier;
	struct validated v;
	/* its newest open request not expired at now; id 0: none */
	long long	 request, request_expires;
};
/* The organizations of account aid (0: all) by account name, then id;
 * now decides which requests are open.  0, or -1 on a database error. */
int	 org_list(struct store *, long long now, long long aid,
	    int (*fn)(void *, const struct org_list_row *), void *arg);

struct domain_row {
	long long	 id;
	const char	*name;
	long long	 org_id;
	const char	*org_name, *account;
	struct validated v;
	/* its newest open DCV not expired at now; method NULL: none */
	const char	*dcv_method;
	long long	 dcv_expires;
};
/* The domains of organization org or account acct (0: any) by account
 * name, organization id, domain; 0, or -1 on a database error. */
int	 domain_list(struct store *, long long now, long long org,
	    long long acct, int (*fn)(void *, const struct domain_row *),
	    void *arg);

struct lapse_row {
	const char	*kind;			/* organization or domain */
	const char	*account, *org, *domain;
	long long	 at, lapse;
};
/* Validations whose validated_at + reuse (org_reuse for organizations,
 * domain_reuse for domains) is in (from, until], soonest first; 0, or
 * -1 on a database error. */
int	 validations_lapsing(struct store *, long long org_reuse,
	    long long domain_reuse, long long from, long long until,
	    int (*fn)(void *, const struct lapse_row *), void *arg);

/* ---- status ---- */

struct batch_state_row {
	const char	*account, *batch, *state;
	int		 orders;
};
/* The number of orders per batch and state.  Rows that cannot be read
 * end the walk silently (as status always did): -1 only when the query
 * cannot run, else 0. */
int	 status_batches(struct store *,
	    int (*fn)(void *, const struct batch_state_row *), void *arg);

struct status_row {
	const char	*account, *batch, *order, *order_state;
	const char	*order_reason;		/* "" when none */
	const char	*email, *rcpt_state;
	const char	*rcpt_reason;		/* "" when none */
	const char	*serial;		/* "" when none issued */
};
/* Each recipient of the batches and orders whose external id is id;
 * the number of rows, or -1 when the query cannot run (a row that
 * cannot be read ends the walk silently). */
int	 status_recipients(struct store *, const char *id,
	    int (*fn)(void *, const struct status_row *), void *arg);

struct stuck_row {
	const char	*account, *batch, *order, *email, *stuck;
	long long	 since;
	const char	*detail;		/* "" when none */
};
/* Certificates whose message could not be published (report.c), of
 * every batch (id NULL) or of the batch or order named by id; the
 * number of rows, or -1 when the query cannot run. */
int	 certs_stuck(struct store *, const char *id,
	    int (*fn)(void *, const struct stuck_row *), void *arg);

#endif
