/*
 * report.h: what report.c (passes, archive, result.xml) and report_mail.c
 * (the per-recipient messages) share: the CA chain, the issued
 * certificate rows (store_result.h, store_mail.h), and the certificate
 * files made from their stored DER.
 */
#ifndef CERTSPOOL_REPORT_H
#define CERTSPOOL_REPORT_H

#include "extern.h"
#include "pipeline.h"
#include "store_mail.h"
#include "store_result.h"

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

/* PEM of one certificate's DER, byte for byte what PEM_write_bio_X509
 * writes; *outlen its length. */
char		*pem_of_der(const unsigned char *der, size_t len,
		    size_t *outlen);
/* The certs-only PKCS#7 of the certificate der followed by the chain. */
unsigned char	*p7b_of_der(const unsigned char *der, size_t derlen,
		    const struct chain *ch, size_t *outlen);
int		 chain_load(const struct ca *, struct chain *);
void		 chain_free(struct chain *);

/* report_mail.c: every message of the certificates selected by sel
 * (with its parameters a, b: store_mail.h), piece by piece; *nstuck
 * counts those that could not be published.  -1 if a group failed or
 * the database did. */
int		 report_mail_certs(struct store *, const struct conf *,
		    const struct ca *, enum mail_sel sel, long long a,
		    long long b, int *nstuck);

#endif
