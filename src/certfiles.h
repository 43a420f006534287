/*
 * certfiles.h: the certificate files made from stored DER (certfiles.c):
 * cert.pem, cert.p7b with the chain, and the chain of each issuer; used
 * by the result passes (report.h) and by the portal's copies.
 */
#ifndef CERTSPOOL_CERTFILES_H
#define CERTSPOOL_CERTFILES_H

#include "extern.h"
#include "ca.h"

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

#endif
