/*
 * Pre-issuance linter (S/MIME BR 4.3.1.2): checks a TBSCertificate DER
 * against the S/MIME BR profile of the order's product before the CA key
 * signs it.  It is written apart from profile.c and shares no code with
 * it: the TBS is decoded by libcrypto (wrapped in a certificate with a
 * dummy signature) and every rule is checked on the decoded values and
 * against the order data (struct cert_req) and the issuing CA.  The
 * subjectPublicKeyInfo is checked on its DER bytes: it must be the very
 * key the order's CSR carried (verified and checked by csr.c at intake)
 * in one of the permitted encodings.  libcrypto is handed the TBS with
 * that key replaced by a stand-in, because OpenSSL 3.0 sets up its
 * key decoders on every parse of a key, which costs a fifth of an RSA
 * signature, and the decoded key is not needed.
 *
 * Failure policy: the first broken rule returns -1 with a reason code
 * "lint_<rule>" and a sentence naming the S/MIME BR section; a failing
 * lint is a bug in the profile or a bad order and nothing is signed.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "profile.h"
#include "lint_local.h"

int
lint_fail(struct lint *l, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	if (l->reason != NULL && l->rlen > 0)
		snprintf(l->reason, l->rlen, "%s", code);
	if (l->msg != NULL && l->mlen > 0) {
		va_start(ap, fmt);
		vsnprintf(l->msg, l->mlen, fmt, ap);
		va_end(ap);
	}
	ERR_clear_error();
	return -1;
}

/* Where the SubjectPublicKeyInfo lies inside a TBSCertificate. */
static int
tbs_find_spki(const unsigned char *der, size_t len, size_t *off,
    size_t *spkilen)
{
	const unsigned char	*p = der, *end = der + len, *c, *start;
	unsigned char		 tag;
	size_t			 clen;
	int			 i;

	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30 ||
	    p != end)
		return -1;
	p = c;
	end = c + clen;
	/* [0] version, serial, signature, issuer, validity, subject */
	for (i = 0; i < 6; i++)
		if (der_next(&p, end, &tag, &c, &clen) == -1 ||
		    (i == 0 && tag != 0xa0))
			return -1;
	start = p;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	*off = (size_t)(start - der);
	*spkilen = (size_t)(p - start);
	return 0;
}

/*
 * Decode the TBS by wrapping it as Certificate { tbs', sha256WithRSA,
 * BIT STRING '' }, where tbs' has the stand-in key; tbs' must
 * re-encode to the very same bytes.  l->spki points at the real key.
 */
static X509 *
tbs_decode(struct lint *l, const unsigned char *der, size_t len)
{
	static const unsigned char tail[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0b, 0x05, 0x00, 0x03, 0x01, 0x00
	};
	const unsigned char	*body, *p;
	unsigned char		*re = NULL, tag;
	struct buf		 tbs = { 0 }, w = { 0 };
	size_t			 off, spkilen, blen;
	X509			*x = NULL;
	int			 relen;

	if (len == 0 || len > 1024 * 1024 ||
	    tbs_find_spki(der, len, &off, &spkilen) == -1)
		return NULL;
	l->spki = der + off;
	l->spkilen = spkilen;
	p = der;
	if (der_next(&p, der + len, &tag, &body, &blen) == -1)
		return NULL;
	der_put_hdr(&tbs, 0x30, blen - spkilen + DER_STANDIN_SPKI_LEN);
	buf_add(&tbs, body, (size_t)(der + off - body));
	buf_add(&tbs, der_standin_spki, DER_STANDIN_SPKI_LEN);
	buf_add(&tbs, der + off + spkilen, len - off - spkilen);
	der_put_hdr(&w, 0x30, tbs.len + sizeof(tail));
	buf_add(&w, tbs.p, tbs.len);
	buf_add(&w, tail, sizeof(tail));
	p = w.p;
	if ((x = d2i_X509(NULL, &p, (long)w.len)) == NULL ||
	    p != w.p + w.len)
		goto fail;
	if ((relen = i2d_re_X509_tbs(x, &re)) <= 0 ||
	    (size_t)relen != tbs.len || memcmp(re, tbs.p, tbs.len) != 0)
		goto fail;
	buf_free(&tbs);
	buf_free(&w);
	OPENSSL_free(re);
	return x;
 fail:
	ERR_clear_error();
	X509_free(x);
	buf_free(&tbs);
	buf_free(&w);
	OPENSSL_free(re);
	return NULL;
}

static int
check_serial(struct lint *l, X509 *x, const struct cert_req *req)
{
	const ASN1_INTEGER	*sn = X509_get0_serialNumber(x);
	const unsigned char	*d = ASN1_STRING_get0_data(sn);
	int			 n = ASN1_STRING_length(sn);

	if (ASN1_STRING_type(sn) != V_ASN1_INTEGER || n < 1 || d[0] == 0)
		return lint_fail(l, "lint_serial", "S/MIME BR 7.1: the serial "
		    "number is not positive");
	if (n > 20 || d[0] >= 0x80)
		return lint_fail(l, "lint_serial", "S/MIME BR 7.1: the serial "
		    "number is not below 2^159 (at most 20 octets)");
	if (n < 9)
		return lint_fail(l, "lint_serial", "S/MIME BR 7.1: a serial number "
		    "of %d octets cannot hold 64 random bits", n);
	if ((size_t)n != req->serial_len || memcmp(d, req->serial, n) != 0)
		return lint_fail(l, "lint_serial", "the serial number is not the "
		    "one allocated for the order");
	return 0;
}

/* S/MIME BR 7.1.3.2: the algorithm the CA key signs with. */
static int
check_sigalg(struct lint *l, X509 *x, const struct ca *ca,
    const struct cert_req *req)
{
	const X509_ALGOR	*alg = X509_get0_tbs_sigalg(x);
	const ASN1_OBJECT	*obj;
	const void		*pval;
	const char		*h = req->hash;
	int			 ptype, nid, want;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	nid = OBJ_obj2nid(obj);
	if (ca->is_ec) {
		want = ca->ec_nid == NID_secp384r1 ? NID_ecdsa_with_SHA384 :
		    NID_ecdsa_with_SHA256;
		if (h != NULL && *h != '\0' && strcmp(h, want ==
		    NID_ecdsa_with_SHA384 ? "sha384" : "sha256") != 0)
			return lint_fail(l, "lint_signature_algorithm",
			    "S/MIME BR 7.1.3.2.2: an ECDSA CA on this curve "
			    "cannot sign with %s", h);
		if (nid != want || ptype != V_ASN1_UNDEF)
			return lint_fail(l, "lint_signature_algorithm",
			    "S/MIME BR 7.1.3.2.2: the signature algorithm is "
			    "not %s without parameters", OBJ_nid2sn(want));
		return 0;
	}
	if (h == NULL || *h == '\0' || strcmp(h, "sha256") == 0)
		want = NID_sha256WithRSAEncryption;
	else if (strcmp(h, "sha384") == 0)
		want = NID_sha384WithRSAEncryption;
	else if (strcmp(h, "sha512") == 0)
		want = NID_sha512WithRSAEncryption;
	else
		return lint_fail(l, "lint_signature_algorithm", "S/MIME BR "
		    "7.1.3.2.1: hash %s is not allowed", h);
	if (nid != want || ptype != V_ASN1_NULL)
		return lint_fail(l, "lint_signature_algorithm", "S/MIME BR "
		    "7.1.3.2.1: the signature algorithm is not %s with NULL "
		    "parameters", OBJ_nid2sn(want));
	return 0;
}

static int
check_issuer(struct lint *l, X509 *x, const struct ca *ca)
{
	const unsigned char	*a, *b;
	size_t			 alen, blen;

	if (!X509_NAME_get0_der(X509_get_issuer_name(x), &a, &alen) ||
	    !X509_NAME_get0_der(X509_get_subject_name(ca->cert), &b, &blen) ||
	    alen != blen || memcmp(a, b, alen) != 0)
		return lint_fail(l, "lint_issuer", "S/MIME BR 7.1.4.1: the issuer "
		    "name is not byte for byte the issuing CA's subject");
	return 0;
}

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after, Z. */
static int
check_time(struct lint *l, const ASN1_TIME *t, time_t want, const char *what)
{
	const unsigned char	*d = ASN1_STRING_get0_data(t);
	int			 n = ASN1_STRING_length(t), type, i, year;
	struct tm		 tm;

	type = ASN1_STRING_type(t);
	if (!ASN1_TIME_to_tm(t, &tm))
		return lint_fail(l, "lint_time_encoding", "RFC 5280 4.1.2.5: "
		    "%s does not decode", what);
	year = tm.tm_year + 1900;
	if (year >= 1950 && year <= 2049 ? type != V_ASN1_UTCTIME ||
	    n != 13 : type != V_ASN1_GENERALIZEDTIME || n != 15)
		return lint_fail(l, "lint_time_encoding", "RFC 5280 4.1.2.5: "
		    "%s in %d is not encoded as %s", what, year,
		    year >= 1950 && year <= 2049 ? "UTCTime YYMMDDHHMMSSZ" :
		    "GeneralizedTime YYYYMMDDHHMMSSZ");
	for (i = 0; i < n - 1; i++)
		if (d[i] < '0' || d[i] > '9')
			return lint_fail(l, "lint_time_encoding", "RFC 5280 "
			    "4.1.2.5: %s has a non-digit", what);
	if (d[n - 1] != 'Z')
		return lint_fail(l, "lint_time_encoding", "RFC 5280 4.1.2.5: "
		    "%s is not in UTC (Z)", what);
	if (ASN1_TIME_cmp_time_t(t, want) != 0)
		return lint_fail(l, "lint_validity", "%s is not the time of the "
		    "order", what);
	return 0;
}

static int
check_validity(struct lint *l, X509 *x, const struct cert_req *req)
{
	const ASN1_TIME	*nb = X509_get0_notBefore(x);
	const ASN1_TIME	*na = X509_get0_notAfter(x);
	long long	 secs;
	int		 day, sec;

	if (check_time(l, nb, req->not_before, "notBefore") == -1 ||
	    check_time(l, na, req->not_after, "notAfter") == -1)
		return -1;
	if (!ASN1_TIME_diff(&day, &sec, nb, na))
		return lint_fail(l, "lint_validity", "the validity period cannot "
		    "be computed");
	secs = (long long)day * 86400 + sec;
	if (secs <= 0 || secs > 825LL * 86400 - 1)
		return lint_fail(l, "lint_validity", "S/MIME BR 6.3.2: a validity "
		    "of %lld seconds is not within 1 second to 825 days "
		    "(inclusive)", secs);
	return 0;
}

/* Characters (UTF-8 code points) in s. */
static size_t
u8len(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* A NUL-terminated copy of an ASN.1 string; NULL if it holds a NUL. */
static char *
asn1_cstr(const ASN1_STRING *v)
{
	size_t	 n = (size_t)ASN1_STRING_length(v);
	char	*s;

	if (memchr(ASN1_STRING_get0_data(v), '\0', n) != NULL ||
	    (s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, ASN1_STRING_get0_data(v), n);
	s[n] = '\0';
	return s;
}

enum { A_CN, A_O, A_ORGID, A_C, A_GN, A_SN, A_PSEUDO, A_MAX };

static int
check_subject(struct lint *l, X509 *x, const struct cert_req *req,
    int *empty)
{
	static const char *const aname[A_MAX] = {
		"commonName", "organizationName", "organizationIdentifier",
		"countryName", "givenName", "surname", "pseudonym"
	};
	const X509_NAME		*nm = X509_get_subject_name(x);
	const X509_NAME_ENTRY	*ne;
	const ASN1_STRING	*v;
	char			*val[A_MAX] = { 0 };
	const char		*email = req->email;
	enum vtype		 vt = req->prod->vtype;
	int			 i, n, nid, a, type, rc = -1, org, sp;

	n = X509_NAME_entry_count(nm);
	*empty = n == 0;
	org = vt == VT_ORGANIZATION || vt == VT_SPONSOR;
	sp = vt == VT_SPONSOR;
	for (i = 0; i < n; i++) {
		ne = X509_NAME_get_entry(nm, i);
		if (X509_NAME_ENTRY_set(ne) != i) {
			lint_fail(l, "lint_subject", "RFC 5280 4.1.2.4: the "
			    "subject has a multi-valued RDN");
			goto out;
		}
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		switch (nid) {
		case NID_commonName:		a = A_CN; break;
		case NID_organizationName:	a = org ? A_O : -1; break;
		case NID_organizationIdentifier: a = org ? A_ORGID : -1; break;
		case NID_countryName:		a = org ? A_C : -1; break;
		case NID_givenName:		a = sp ? A_GN : -1; break;
		case NID_surname:		a = sp ? A_SN : -1; break;
		case NID_pseudonym:		a = sp ? A_PSEUDO : -1; break;
		default:			a = -1; break;
		}
		if (a == -1) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.%d: "
			    "subject attribute %s is not allowed for this "
			    "validation type", vt == VT_MAILBOX ? 3 :
			    vt == VT_ORGANIZATION ? 4 : 5,
			    OBJ_nid2ln(nid) != NULL ? OBJ_nid2ln(nid) : "?");
			goto out;
		}
		if (val[a] != NULL) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.2: "
			    "subject attribute %s appears twice", aname[a]);
			goto out;
		}
		v = X509_NAME_ENTRY_get_data(ne);
		type = ASN1_STRING_type(v);
		if (a == A_C ? type != V_ASN1_PRINTABLESTRING :
		    type != V_ASN1_UTF8STRING &&
		    type != V_ASN1_PRINTABLESTRING) {
			lint_fail(l, "lint_subject", "RFC 5280 4.1.2.6: %s is "
			    "not a %s", aname[a], a == A_C ?
			    "PrintableString" : "UTF8String or "
			    "PrintableString");
			goto out;
		}
		if ((val[a] = asn1_cstr(v)) == NULL) {
			lint_fail(l, "lint_subject", "%s holds a NUL character",
			    aname[a]);
			goto out;
		}
	}

	if (org) {
		if (!streq(val[A_O], req->org_name) ||
		    !streq(val[A_ORGID], req->org_identifier) ||
		    !streq(val[A_C], req->org_country)) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.%d: "
			    "organizationName, organizationIdentifier and "
			    "countryName must be present and be the validated "
			    "organization's", vt == VT_ORGANIZATION ? 4 : 5);
			goto out;
		}
	}
	if (sp) {
		if (!(nonempty(req->given_name) ? streq(val[A_GN],
		    req->given_name) : val[A_GN] == NULL) ||
		    !(nonempty(req->surname) ? streq(val[A_SN], req->surname) :
		    val[A_SN] == NULL) ||
		    !(nonempty(req->pseudonym) ? streq(val[A_PSEUDO],
		    req->pseudonym) : val[A_PSEUDO] == NULL)) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.2 (e, f): "
			    "givenName, surname and pseudonym are not the "
			    "validated ones");
			goto out;
		}
		if ((val[A_GN] != NULL || val[A_SN] != NULL) ==
		    (val[A_PSEUDO] != NULL)) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.5: a "
			    "sponsor-validated subject has givenName and/or "
			    "surname, or a pseudonym, not both or neither");
			goto out;
		}
	}

	/* commonName: S/MIME BR 7.1.4.2.2 (a) */
	if (val[A_CN] != NULL && u8len(val[A_CN]) > 64) {
		lint_fail(l, "lint_subject", "RFC 5280 appendix A: commonName is "
		    "longer than 64 characters");
		goto out;
	}
	switch (req->cn_type) {
	case CN_NONE:
		if (vt == VT_MAILBOX ? !(streq(val[A_CN], email) ||
		    (val[A_CN] == NULL && u8len(email) > 64)) :
		    val[A_CN] != NULL) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.2 (a): "
			    "commonName is not what the order asked for");
			goto out;
		}
		break;
	case CN_EMAIL:
		if (!(streq(val[A_CN], email) ||
		    (val[A_CN] == NULL && u8len(email) > 64))) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.2 (a): "
			    "commonName is not the mailbox address");
			goto out;
		}
		break;
	case CN_ORGANIZATION:
		if (vt != VT_ORGANIZATION || !streq(val[A_CN], val[A_O])) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.2 (a): "
			    "an organization name as commonName is only for "
			    "organization-validated certificates and must be "
			    "the organizationName");
			goto out;
		}
		break;
	case CN_NAME:
		if (vt != VT_SPONSOR || !streq(val[A_CN], req->cn) ||
		    (val[A_PSEUDO] != NULL && !streq(val[A_CN],
		    val[A_PSEUDO]))) {
			lint_fail(l, "lint_subject", "S/MIME BR 7.1.4.2.2 (a): "
			    "a personal name or pseudonym as commonName is "
			    "only for sponsor-validated certificates and must "
			    "be the validated one");
			goto out;
		}
		break;
	}
	rc = 0;
 out:
	for (i = 0; i < A_MAX; i++)
		free(val[i]);
	return rc;
}

/* An unsigned DER INTEGER's content: no sign bit, minimal; NULL if not. */
static const unsigned char *
der_uint(const unsigned char *c, size_t clen, size_t *n)
{
	if (clen == 0 || (c[0] & 0x80) != 0 ||
	    (clen > 1 && c[0] == 0 && (c[1] & 0x80) == 0))
		return NULL;
	if (c[0] == 0 && clen > 1) {
		c++;
		clen--;
	}
	*n = clen;
	return c;
}

/* RSAPublicKey: a 2048, 3072 or 4096-bit odd modulus and an odd public
 * exponent from 65537 to 2^256-1 (S/MIME BR 6.1.5, 6.1.6). */
static int
rsa_bytes_ok(const unsigned char *p, size_t len)
{
	const unsigned char	*end = p + len, *c, *n, *e;
	unsigned char		 tag;
	size_t			 clen, nlen, elen;

	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30 ||
	    p != end)
		return 0;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x02 ||
	    (n = der_uint(c, clen, &nlen)) == NULL ||
	    der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x02 ||
	    (e = der_uint(c, clen, &elen)) == NULL || p != end)
		return 0;
	if ((nlen != 256 && nlen != 384 && nlen != 512) ||
	    (n[0] & 0x80) == 0 || (n[nlen - 1] & 1) == 0)
		return 0;
	/* Minimal and odd: 3 bytes or more is at least 65537. */
	if (elen < 3 || elen > 32 || (e[elen - 1] & 1) == 0)
		return 0;
	return 1;
}

/*
 * S/MIME BR 7.1.3.1 and 6.1.5: the order's own key, its algorithm
 * identifier byte for byte one of the permitted encodings, an RSA key
 * of a permitted size and exponent or an uncompressed P-256/P-384 point.
 * (That the point lies on its curve and the modulus has no small factor
 * was checked on the decoded key when its CSR was accepted.)
 */
static int
check_pubkey(struct lint *l, const struct cert_req *req)
{
	static const unsigned char rsa[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x01, 0x05, 0x00
	};
	static const unsigned char p256[] = {
		0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
		0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
		0x07
	};
	static const unsigned char p384[] = {
		0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
		0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22
	};
	const unsigned char	*p = l->spki, *end = l->spki + l->spkilen;
	const unsigned char	*c, *alg, *bits;
	unsigned char		 tag;
	size_t			 clen, alglen, bitslen;
	int			 ok;

	if (req->spki == NULL || req->spkilen != l->spkilen ||
	    memcmp(req->spki, l->spki, l->spkilen) != 0)
		return lint_fail(l, "lint_public_key", "the public key is not the "
		    "order's key");
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30 ||
	    p != end)
		return lint_fail(l, "lint_public_key", "X.690: the "
		    "subjectPublicKeyInfo is not DER");
	p = c;
	end = c + clen;
	alg = p;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return lint_fail(l, "lint_public_key", "X.690: the key algorithm "
		    "is not DER");
	alglen = (size_t)(p - alg);
	if (der_next(&p, end, &tag, &bits, &bitslen) == -1 || tag != 0x03 ||
	    p != end || bitslen < 2 || bits[0] != 0)
		return lint_fail(l, "lint_public_key", "X.690: the "
		    "subjectPublicKey is not a whole-byte BIT STRING");
	bits++;
	bitslen--;
	l->rsa = alglen == sizeof(rsa) && memcmp(alg, rsa, alglen) == 0;
	if (l->rsa)
		ok = rsa_bytes_ok(bits, bitslen);
	else if (alglen == sizeof(p256) && memcmp(alg, p256, alglen) == 0)
		ok = bitslen == 65 && bits[0] == 0x04;
	else if (alglen == sizeof(p384) && memcmp(alg, p384, alglen) == 0)
		ok = bitslen == 97 && bits[0] == 0x04;
	else
		return lint_fail(l, "lint_public_key", "S/MIME BR 7.1.3.1: the "
		    "subjectPublicKeyInfo algorithm is not one of the "
		    "permitted encodings");
	if (!ok)
		return lint_fail(l, "lint_public_key", "S/MIME BR 6.1.5: the "
		    "public key is not an RSA key of 2048, 3072 or 4096 bits "
		    "with an odd exponent from 65537, or an uncompressed "
		    "P-256/P-384 point");
	return 0;
}

int
lint_tbs(const struct ca *ca, const struct conf *conf,
    const struct cert_req *req, const unsigned char *der, size_t len,
    char *reason, size_t reasonlen, char *msg, size_t msglen)
{
	struct lint	 l = { reason, reasonlen, msg, msglen, NULL, 0, 0 };
	X509		*x = NULL;
	int		 empty, rc = -1;

	if (req->prod == NULL) {
		lint_fail(&l, "lint_product", "no product");
		goto out;
	}
	if ((x = tbs_decode(&l, der, len)) == NULL) {
		lint_fail(&l, "lint_der", "X.690: the TBSCertificate is not one "
		    "DER TBSCertificate");
		goto out;
	}
	if (X509_get_version(x) != X509_VERSION_3) {
		lint_fail(&l, "lint_version", "S/MIME BR 7.1.1: the certificate "
		    "is not X.509 v3");
		goto out;
	}
	if (check_serial(&l, x, req) == -1 ||
	    check_sigalg(&l, x, ca, req) == -1 ||
	    check_issuer(&l, x, ca) == -1 ||
	    check_validity(&l, x, req) == -1 ||
	    check_subject(&l, x, req, &empty) == -1 ||
	    check_pubkey(&l, req) == -1 ||
	    check_ext_set(&l, x) == -1 ||
	    check_key_usage(&l, x, req) == -1 ||
	    check_eku(&l, x, req) == -1 ||
	    check_policies(&l, x, req) == -1 ||
	    check_san(&l, x, req, empty) == -1 ||
	    check_aki_ski(&l, x, ca) == -1 ||
	    check_crldp(&l, x, conf, ca, req->crl_shard) == -1 ||
	    check_aia(&l, x, conf, ca) == -1 ||
	    check_basic_constraints(&l, x) == -1)
		goto out;
	rc = 0;
 out:
	X509_free(x);
	return rc;
}
