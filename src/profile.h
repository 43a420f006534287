/*
 * profile.h: the S/MIME BR certificate profile (profile.c, profile_ext.c)
 * that turns an approved recipient into a TBSCertificate, and the
 * independent pre-issuance linter (lint.c, lint_ext.c).
 */
#ifndef CERTSPOOL_PROFILE_H
#define CERTSPOOL_PROFILE_H

#include "extern.h"
#include "batch.h"
#include "ca.h"
/* ---- certificate profile and lint (profile.c, lint.c) ---- */

/* Validated order data for one certificate; never CSR fields. */
struct cert_req {
	const struct product	*prod;
	enum cn_type		 cn_type;
	const char		*cn;
	const char		*given_name;	/* sponsor only, or NULL */
	const char		*surname;
	const char		*pseudonym;
	const char		*org_name;	/* org/sponsor types */
	const char		*org_country;	/* ISO 3166 two letters */
	const char		*org_identifier; /* e.g. NTRUS+CA-1234567 */
	const char		*email;		/* the mailbox */
	const unsigned char	*spki;		/* DER SubjectPublicKeyInfo */
	size_t			 spkilen;
	const char		*hash;		/* "sha256", "sha384", "sha512" */
	time_t			 not_before;
	time_t			 not_after;
	unsigned char		 serial[20];
	size_t			 serial_len;
	int			 crl_shard;	/* crl_shard_of(serial) */
};

/*
 * Build the DER TBSCertificate for req, signed-by-to-be ca, with the
 * config's CRL DP / AIA URLs.  Returns 0 and a malloc'd *der, or -1 with
 * a sentence in err.
 */
int	 profile_build(const struct ca *, const struct conf *,
	    const struct cert_req *, unsigned char **der, size_t *len,
	    char *err, size_t errlen);
/*
 * The pre-issuance linter: check a TBSCertificate DER against the S/MIME
 * BR profile of req->prod, written independently of profile_build.
 * 0 if it conforms; -1 with a reason code ("lint_...") and a sentence.
 */
int	 lint_tbs(const struct ca *, const struct conf *,
	    const struct cert_req *, const unsigned char *der, size_t len,
	    char *reason, size_t reasonlen, char *msg, size_t msglen);

#endif
