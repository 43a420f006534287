/*
 * report.h: what report.c (passes, archive, result.xml) and report_mail.c
 * (the per-recipient messages) share: the CA chain and the issued
 * certificate rows, both read from the database, and the certificate
 * files made from their stored DER.
 */
#ifndef CERTSPOOL_REPORT_H
#define CERTSPOOL_REPORT_H

#include "extern.h"
#include "pipeline.h"
#include "store.h"

/* The CA chain of a pass, as PEM and as concatenated DER. */
struct chain {
	char		*pem;
	size_t		 pemlen;
	unsigned char	*der;
	size_t		 derlen;
};

/* The chain of each loaded issuer (issuer.c), the current CA first:
 * chain.pem and cert.p7b of a certificate are its own issuer's. */
#define CHAINS_MAX	65
struct chains {
	struct chain	 ch[CHAINS_MAX];
	int		 id[CHAINS_MAX];	/* issuer ids */
	int		 n;
};
int		 chains_load(const struct ca *, struct chains *);
/* The chain of issuer id; the current CA's if it is not loaded. */
const struct chain *chains_get(const struct chains *, int id);
void		 chains_free(struct chains *);

/* One issued certificate with its recipient, order and batch (cert_cols). */
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

/* PEM of one certificate's DER, byte for byte what PEM_write_bio_X509
 * writes; *outlen its length. */
char		*pem_of_der(const unsigned char *der, size_t len,
		    size_t *outlen);
/* The certs-only PKCS#7 of the certificate der followed by the chain. */
unsigned char	*p7b_of_der(const unsigned char *der, size_t derlen,
		    const struct chain *ch, size_t *outlen);
int		 chain_load(const struct ca *, struct chain *);
void		 chain_free(struct chain *);

/* The SELECT of a cert_row (FROM certificate c, recipient r, orders o);
 * the caller adds WHERE and ORDER BY. */
extern const char *const cert_cols;
/* The next row of q into r: 1, 0 at the end, -1 (no DER stored). */
int		 cert_row_next(sqlite3_stmt *, struct cert_row *);
void		 cert_row_free(struct cert_row *);

/* report_mail.c: every message of the certificates selected by cond
 * (SQL over c with nparam (0..2) integer parameters a, b), piece by
 * piece; *nstuck counts those that could not be published.  -1 if a
 * group failed or the database did. */
int		 report_mail_certs(struct store *, const struct conf *,
		    const struct ca *, const char *cond, int nparam,
		    long long a, long long b, int *nstuck);

#endif
