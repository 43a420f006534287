/*
 * lint_local.h: what lint.c (decoding, serial, signature algorithm,
 * issuer, validity, subject, public key) and lint_ext.c (the extension
 * rules) share.
 */
#ifndef CERTSPOOL_LINT_LOCAL_H
#define CERTSPOOL_LINT_LOCAL_H

struct lint {
	char			*reason;
	size_t			 rlen;
	char			*msg;
	size_t			 mlen;
	const unsigned char	*spki;	/* the TBS's SubjectPublicKeyInfo */
	size_t			 spkilen;
	int			 rsa;	/* its algorithm is rsaEncryption */
};

/* Record reason code and sentence; always -1. */
int	 lint_fail(struct lint *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

static inline int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* lint_ext.c: each 0, or -1 through lint_fail. */
int	 check_ext_set(struct lint *, X509 *);
int	 check_key_usage(struct lint *, X509 *, const struct cert_req *);
int	 check_eku(struct lint *, X509 *, const struct cert_req *);
int	 check_policies(struct lint *, X509 *, const struct cert_req *);
/* empty: the subject has no attribute (the SAN is then critical). */
int	 check_san(struct lint *, X509 *, const struct cert_req *, int empty);
int	 check_aki_ski(struct lint *, X509 *, const struct ca *);
int	 check_crldp(struct lint *, X509 *, const struct conf *,
	    const struct ca *, int shard);
int	 check_aia(struct lint *, X509 *, const struct conf *,
	    const struct ca *);
int	 check_basic_constraints(struct lint *, X509 *);

#endif
