/*
 * store_sign.h: signing and renewal in the store (store_sign.c).  It
 * owns the signer's queue (the approved recipients of an account), the
 * certificate rows from their write-ahead record ('signing') to issued
 * or void, the refusal of a recipient at signing, and the rounds of
 * renew.c (reissue within coverage, renewal, the renewal notice).
 * Every state change goes through store_state.h.
 * Unless said otherwise a function runs in the caller's transaction (or
 * none) and returns 0, or -1 after a database error was logged.  A
 * row callback returns 0 to go on, 1 to stop, -1 to stop with an error
 * (the walk then returns -1).
 */
#ifndef CERTSPOOL_STORE_SIGN_H
#define CERTSPOOL_STORE_SIGN_H

#include <time.h>

struct store;

/* ---- the signer's queue (signer.c) ---- */

/* An approved recipient still to be signed in its round; the strings
 * are valid during the callback only. */
struct approved_row {
	long long	 rid, oid, bid;
	const char	*cn, *given_name, *surname, *pseudonym, *email;
	const char	*csr, *keygen, *product, *sig_hash;
	long long	 coverage_end;	/* recipient's, else order's */
	const char	*org_name, *org_country, *org_identifier;
	int		 cn_type, round;
	const char	*spki;		/* validated key SHA-256 */
	const char	*account, *batch, *order;	/* log context */
};
/* fn(arg, row) for up to lim approved recipients of an account, in id
 * order (recipient_approved index). */
int	 approved_each(struct store *, long long account, size_t lim,
	    int (*fn)(void *, const struct approved_row *), void *arg);
/* How many recipients are approved (the signing progress total). */
int	 approved_count(struct store *, long long *);
/* *left: 1 if any recipient is approved, else 0. */
int	 approved_any(struct store *, long long *left);

/* ---- certificates ---- */

/* The write-ahead record of a certificate about to be signed. */
struct cert_ahead {
	long long		 rid;
	int			 round;
	const char		*serial;	/* hex */
	const unsigned char	*tbs;
	size_t			 tbslen;
	long long		 not_before, not_after;
	const char		*spki;		/* SHA-256 hex */
	int			 crl_shard;
	long long		 issuer_id;
};
/* Record it as 'signing': the certificate's id, or -1. */
long long cert_write_ahead(struct store *, const struct cert_ahead *);
/*
 * Store a signed certificate (p12 and password NULL for a CSR), supersede
 * the recipient's earlier one and move the recipient from approved to
 * issued (event certificate_issued, detail the serial).  The order is
 * resettled by the caller (order_resettle).
 */
int	 cert_store_issued(struct store *, long long cert_id, long long rid,
	    long long oid, long long bid, const unsigned char *der,
	    size_t derlen, const unsigned char *p12, size_t p12len,
	    const char *password, const char *serial);
/* Refuse an approved recipient at signing (event issuance_refused,
 * detail the message; reason "": issuance_refused). */
int	 rcpt_refuse_at_signing(struct store *, long long rid, long long oid,
	    long long bid, const char *reason, const char *message);

/* A write-ahead record a crash left (strings and tbs malloc'd). */
struct signing_row {
	long long	 cid, rid, oid, bid;
	char		*serial, *keygen;
	unsigned char	*tbs;
	size_t		 tbslen;
	/* log context */
	char		*account, *batch, *order, *email;
};
/* The oldest certificate still 'signing': 1, 0 if none. */
int	 cert_signing_first(struct store *, struct signing_row *);
void	 signing_row_free(struct signing_row *);
/* Void a 'signing' serial whose server key was lost in a crash (event
 * serial_voided). */
int	 cert_void_lost_key(struct store *, long long cid, long long rid,
	    long long oid, long long bid, const char *serial);

/* ---- renewal rounds (renew.c) ---- */

/* An issued recipient whose certificate nears its end (strings
 * malloc'd). */
struct renew_due {
	long long	 rid, oid, bid;
	int		 round, renewals, auto_renew, cov_years;
	time_t		 cov_start, cov_end, notice_at, cert_end;
	long long	 cid;		/* the certificate */
	char		*email, *add_emails, *order_ext, *batch_ext;
	char		*account, *product, *pay_used;
};
/* The next one whose certificate ends by horizon, after (last_end,
 * last_cid) in the order of the end (certificate_expiry index): 1, 0
 * if none, -1. */
int	 renew_due_next(struct store *, time_t horizon, long long last_end,
	    long long last_cid, struct renew_due *);
void	 renew_due_free(struct renew_due *);
/* Move the recipient to its next round in state new (covered: a reissue
 * within paid coverage, else a renewal) and its issued or rejected
 * order to new; the batch is marked dirty. */
int	 rcpt_next_round(struct store *, const struct renew_due *,
	    int covered);
/* Record that the renewal notice went out (event detail: when). */
int	 rcpt_renewal_noticed(struct store *, const struct renew_due *,
	    const char *when);

#endif
