/*
 * profile_ext.c: the extensions of an S/MIME subscriber certificate
 * (S/MIME BR 7.1.2.3), each encoded in DER from validated order data and
 * the issuing CA; profile.c builds the rest of the TBSCertificate and
 * decides which of these it carries.
 *
 * Failure policy: an extension the profile cannot express returns -1
 * with one sentence naming the rule (ext_policies) or logs the libcrypto
 * failure (ext_ski); the others cannot fail.
 */

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "extern.h"
#include "profile.h"
#include "profile_local.h"

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, OCTET STRING } */
static void
der_ext(struct buf *exts, const char *oid, int critical, struct buf *value)
{
	static const unsigned char	 yes[] = { 0x01, 0x01, 0xff };
	struct buf			 e = { 0 };

	der_oid(&e, oid);
	if (critical)
		buf_add(&e, yes, sizeof(yes));
	der_tlv(&e, 0x04, value->p, value->len);
	buf_free(value);
	memset(value, 0, sizeof(*value));
	der_wrap(exts, 0x30, &e);
}

/* keyUsage for the key type and product, S/MIME BR 7.1.2.3 (e). */
void
ext_key_usage(struct buf *exts, const struct cert_req *req, int is_rsa)
{
	/* BIT STRING with named bits, trailing zeros removed (X.690 11.2.2) */
	static const unsigned char	 sign[] = { 0x03, 0x02, 0x07, 0x80 };
	static const unsigned char	 sign_ke[] = { 0x03, 0x02, 0x05, 0xa0 };
	static const unsigned char	 sign_ka[] = { 0x03, 0x02, 0x03, 0x88 };
	struct buf			 v = { 0 };

	if (req->prod->sign_only)
		buf_add(&v, sign, sizeof(sign));
	else if (is_rsa)
		buf_add(&v, sign_ke, sizeof(sign_ke));
	else
		buf_add(&v, sign_ka, sizeof(sign_ka));
	der_ext(exts, "2.5.29.15", 1, &v);
}

void
ext_eku(struct buf *exts, const struct cert_req *req)
{
	struct buf	 seq = { 0 }, v = { 0 };

	der_oid(&seq, "1.3.6.1.5.5.7.3.4");		/* emailProtection */
	if (req->prod->client_auth && req->prod->gen == GEN_MULTIPURPOSE)
		der_oid(&seq, "1.3.6.1.5.5.7.3.2");	/* clientAuth */
	der_wrap(&v, 0x30, &seq);
	der_ext(exts, "2.5.29.37", 0, &v);
}

int
ext_policies(struct buf *exts, const struct cert_req *req, char *err,
    size_t errlen)
{
	struct buf	 pi = { 0 }, seq = { 0 }, v = { 0 };
	char		 oid[40];

	if (req->prod->gen != GEN_MULTIPURPOSE &&
	    req->prod->gen != GEN_STRICT) {
		snprintf(err, errlen, "S/MIME BR 7.1.6.1: product %s is of a "
		    "generation that may no longer be issued", req->prod->name);
		return -1;
	}
	product_policy_oid(req->prod, oid, sizeof(oid));
	if (der_oid(&pi, oid) == -1) {
		buf_free(&pi);
		snprintf(err, errlen, "S/MIME BR 7.1.6.1: bad policy OID %s",
		    oid);
		return -1;
	}
	der_wrap(&seq, 0x30, &pi);
	der_wrap(&v, 0x30, &seq);
	der_ext(exts, "2.5.29.32", 0, &v);
	return 0;
}

/* rfc822Name, or otherName SmtpUTF8Mailbox for a UTF-8 local part. */
void
ext_san(struct buf *exts, const char *email, int utf8, int critical)
{
	struct buf	 names = { 0 }, on = { 0 }, val = { 0 }, v = { 0 };

	if (!utf8)
		der_tlv(&names, 0x81, email, strlen(email));
	else {
		der_oid(&on, "1.3.6.1.5.5.7.8.9");
		der_tlv(&val, 0x0c, email, strlen(email));
		der_wrap(&on, 0xa0, &val);
		der_wrap(&names, 0xa0, &on);
	}
	der_wrap(&v, 0x30, &names);
	der_ext(exts, "2.5.29.17", critical, &v);
}

void
ext_aki(struct buf *exts, const ASN1_OCTET_STRING *ski)
{
	struct buf	 seq = { 0 }, v = { 0 };

	der_tlv(&seq, 0x80, ASN1_STRING_get0_data(ski),
	    (size_t)ASN1_STRING_length(ski));
	der_wrap(&v, 0x30, &seq);
	der_ext(exts, "2.5.29.35", 0, &v);
}

/* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
int
ext_ski(struct buf *exts, const unsigned char *bits, size_t bitslen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	struct buf	 v = { 0 };

	if (!EVP_Digest(bits, bitslen, md, &mdlen, EVP_sha1(), NULL)) {
		log_ssl(LOGL_ERR, "profile: subjectKeyIdentifier");
		return -1;
	}
	der_tlv(&v, 0x04, md, mdlen);
	der_ext(exts, "2.5.29.14", 0, &v);
	return 0;
}

/* The certificate's shard's URL (crl_url with {shard} replaced). */
void
ext_crldp(struct buf *exts, const char *url)
{
	struct buf	 gn = { 0 }, dpn = { 0 }, dp = { 0 }, seq = { 0 },
			 v = { 0 };

	der_tlv(&gn, 0x86, url, strlen(url));
	der_wrap(&dpn, 0xa0, &gn);	/* fullName [0] GeneralNames */
	der_wrap(&dp, 0xa0, &dpn);	/* distributionPoint [0] */
	der_wrap(&seq, 0x30, &dp);
	der_wrap(&v, 0x30, &seq);
	der_ext(exts, "2.5.29.31", 0, &v);
}

void
ext_aia(struct buf *exts, const char *ocsp, const char *issuers)
{
	struct buf	 ad = { 0 }, seq = { 0 }, v = { 0 };

	if (ocsp != NULL && *ocsp != '\0') {
		der_oid(&ad, "1.3.6.1.5.5.7.48.1");
		der_tlv(&ad, 0x86, ocsp, strlen(ocsp));
		der_wrap(&seq, 0x30, &ad);
	}
	if (issuers != NULL && *issuers != '\0') {
		der_oid(&ad, "1.3.6.1.5.5.7.48.2");
		der_tlv(&ad, 0x86, issuers, strlen(issuers));
		der_wrap(&seq, 0x30, &ad);
	}
	der_wrap(&v, 0x30, &seq);
	der_ext(exts, "1.3.6.1.5.5.7.1.1", 0, &v);
}
