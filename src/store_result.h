/*
 * store_result.h: what the results of a batch are read from
 * (store_result.c): which batches are due a result, the passes (a pass
 * records one result of a batch: its sequence number, the certificates
 * it reports, written or not), the orders, recipients and certificates
 * a result lists, and the certificate a recipient may fetch from the
 * portal later.  Used by report.c, certfiles.c and portal_cert.c.
 * Rows that may number 100,000 (a batch's certificates, its recipients)
 * are handed to a callback one at a time, never loaded at once: its
 * strings and bytes are the store's, valid during the call only.
 */
#ifndef CERTSPOOL_STORE_RESULT_H
#define CERTSPOOL_STORE_RESULT_H

#include <stddef.h>
#include <time.h>

struct store;

/* One issued certificate with its recipient, order and batch. */
struct cert_row {
	long long	 cid, rid, oid, bid;
	char		*serial, *email, *order_ext, *add_emails, *password;
	char		*name;		/* display name for To, or NULL */
	char		*batch_ext, *stuck, *stuck_detail;
	int		 issuer_id;	/* the CA that signed it (issuer.c) */
	int		 st_cert, st_p12; /* mail_batch_add outcomes */
	int		 idx, mailed;
	int		 kind;		/* 0 issued, 1 reissued, 2 renewed */
	time_t		 cov_end, not_after;
	unsigned char	*der;		/* the certificate as stored */
	size_t		 derlen;
	unsigned char	*p12;
	size_t		 p12len;
};
/* Frees the fields (the password cleansed) and zeroes the row. */
void	 cert_row_free(struct cert_row *);

/* ---- batches due a result, and their passes ---- */

/* The first changed batch with nothing left to evaluate or to sign
 * into *id (0: none); 0 or -1. */
int	 batch_result_due(struct store *, long long *id);
/* Open the batch's next pass and attach to it the batch's issued
 * certificates not yet in a pass; the batch is no longer changed.
 * Transaction boundary (begins and commits itself). */
int	 pass_open(struct store *, long long batch_id);
/* The first pass not yet written with an id above after into *id
 * (0: none); 0 or -1. */
int	 pass_next_open(struct store *, long long after, long long *id);
/* The pass is written, with this archive (NULL: none); event
 * result_written with detail name.  Transaction boundary. */
int	 pass_mark_written(struct store *, long long pass_id,
	    long long batch_id, const char *archive, const char *name);

/* ---- one pass: what its result and archive show ---- */

struct pass_info {
	long long	 batch_id, seq;
	char		*batch_ext, *account;	/* NULL: no such pass */
};
/* The pass's batch, sequence number and account; 0 or -1. */
int	 pass_load(struct store *, long long pass_id, struct pass_info *);
void	 pass_info_free(struct pass_info *);
/* How many certificates (issued or superseded since) the pass
 * reports; 0 or -1. */
int	 pass_cert_count(struct store *, long long pass_id, long long *n);
/* fn for each certificate the pass reports, by order and recipient;
 * 0, or -1 (the database, a certificate without DER, or fn's -1). */
int	 pass_certs(struct store *, long long pass_id,
	    int (*fn)(void *, const struct cert_row *), void *arg);

/* The batch's total price, net charged cents, contract units used. */
struct batch_totals {
	long long	 total, charged, units;
};
int	 batch_totals(struct store *, long long batch_id,
	    struct batch_totals *);

/* One recipient of a result, with its order and issued certificate. */
struct result_row {
	long long		 oid, price, charged, units;
	const char		*order_ext, *ostate, *oreason, *omessage;
	const char		*pay_used;
	const char		*email, *rstate, *rreason, *rmessage;
	const char		*serial;	/* NULL: none issued */
	long long		 not_after;
	const unsigned char	*der;
	int			 derlen;
	int			 has_cov_end;
	long long		 cov_end;
	const char		*stuck, *stuck_detail;	/* not published */
	long long		 stuck_since;
};
/* fn for each recipient of the batch, by order and recipient; 0, or -1
 * (the database, or fn's -1). */
int	 batch_result_rows(struct store *, long long batch_id,
	    int (*fn)(void *, const struct result_row *), void *arg);

/* ---- the certificate a recipient may fetch (portal) ---- */

struct cert_current {
	long long	 not_before, not_after, revoked_at;
	int		 issuer_id;
	char		*serial, *email;
	unsigned char	*der;
	size_t		 derlen;
};
/* The recipient's latest issued certificate (a reissue or renewal is
 * the new one): 1, 0 none, -1. */
int	 cert_current_load(struct store *, long long rid,
	    struct cert_current *);
void	 cert_current_free(struct cert_current *);

/* ---- for the data layer (store_mail.c) ---- */

/* The SELECT of a cert_row (FROM certificate c, recipient r, orders o);
 * the caller adds WHERE and ORDER BY. */
extern const char *const cert_cols;
/* Run sql (cert_cols and the rest) with nbind (0..3) integer
 * parameters; fn for each row, which may keep the row's allocations by
 * copying *r and zeroing it.  0, or -1 (the database, a certificate
 * without DER, or fn's -1). */
int	 cert_rows_query(struct store *, const char *sql, int nbind,
	    const long long *bind, int (*fn)(void *, struct cert_row *),
	    void *arg);

#endif
