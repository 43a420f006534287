/*
 * Certificate profile: the DER TBSCertificate of one S/MIME subscriber
 * certificate, built byte by byte from validated order data (struct
 * cert_req) and the issuing CA, never from CSR fields (S/MIME BR 7.1).
 *
 * Decisions: exactly one CA/B Forum policy OID and no qualifiers; keyUsage
 * critical with only the bits the BR requires for the key type (no
 * nonRepudiation, no dataEncipherment); no basicConstraints extension
 * (optional for subscribers, S/MIME BR 7.1.2.3 (d); a v3 certificate
 * without it is not a CA, RFC 5280 4.2.1.9); an email address longer than
 * ub-common-name (64) is left out of the subject, and an empty subject
 * makes subjectAltName critical (RFC 5280 4.2.1.6).  The extensions are
 * encoded in profile_ext.c.  The serial comes with the request (the CA
 * chooses it: serial_new in ca.c); here it is only checked (9 to 20
 * bytes, positive) and encoded.
 *
 * Failure policy: an order the profile cannot express returns -1 with one
 * sentence naming the rule; nothing is half built.  The result is
 * deterministic: the same request gives the same bytes.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "crl.h"
#include "profile.h"
#include "profile_local.h"

#define MAX_VALIDITY	(825LL * 86400 - 1)	/* S/MIME BR 6.3.2 */

void
der_tlv(struct buf *b, unsigned char tag, const void *p, size_t len)
{
	der_put_hdr(b, tag, len);
	if (len > 0)
		buf_add(b, p, len);
}

/* Wrap inner as one TLV appended to b; frees inner. */
void
der_wrap(struct buf *b, unsigned char tag, struct buf *inner)
{
	der_tlv(b, tag, inner->p, inner->len);
	buf_free(inner);
	memset(inner, 0, sizeof(*inner));
}

/* Dotted OID to DER; -1 if malformed. */
int
der_oid(struct buf *b, const char *dotted)
{
	unsigned char	 body[64], tmp[10];
	unsigned long	 arcs[20], v;
	size_t		 narcs = 0, n = 0, k, i;
	const char	*p = dotted;
	char		*end;

	while (*p != '\0') {
		if (*p < '0' || *p > '9' || narcs == 20)
			return -1;
		v = strtoul(p, &end, 10);
		arcs[narcs++] = v;
		if (*end == '.')
			end++;
		else if (*end != '\0')
			return -1;
		p = end;
	}
	if (narcs < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
		return -1;
	arcs[1] += arcs[0] * 40;
	for (i = 1; i < narcs; i++) {
		v = arcs[i];
		k = 0;
		do {
			tmp[k++] = v & 0x7f;
			v >>= 7;
		} while (v > 0);
		if (n + k > sizeof(body))
			return -1;
		while (k > 0) {
			k--;
			body[n++] = tmp[k] | (k > 0 ? 0x80 : 0);
		}
	}
	der_tlv(b, 0x06, body, n);
	return 0;
}

/* UTCTime through 2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
static int
der_time(struct buf *b, time_t t)
{
	struct tm	 tm;
	char		 s[20];
	int		 n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 <= 2049) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		der_tlv(b, 0x17, s, (size_t)n);
	} else {
		if (tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
			return -1;
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		der_tlv(b, 0x18, s, (size_t)n);
	}
	return 0;
}

/*
 * Number of code points if s is valid UTF-8 without control characters,
 * else -1.
 */
static long
utf8_chars(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned int		 c;
	long			 n = 0;
	int			 k, i;

	while (*p != '\0') {
		c = *p;
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c < 0x80)
			k = 0;
		else if ((c & 0xe0) == 0xc0 && c >= 0xc2)
			k = 1, c &= 0x1f;
		else if ((c & 0xf0) == 0xe0)
			k = 2, c &= 0x0f;
		else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
			k = 3, c &= 0x07;
		else
			return -1;
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if ((k == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (k == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0x80 && c <= 0x9f))
			return -1;
		p += k + 1;
		n++;
	}
	return n;
}

/* S/MIME BR 7.1.4.2: a value is not only '.', '-' and spaces. */
static int
is_metadata_only(const char *s)
{
	return s[strspn(s, ".- ")] == '\0';
}

static int
valid_attr(const char *what, const char *v, long ub, char *err,
    size_t errlen)
{
	long	 n;

	if (v == NULL || *v == '\0') {
		snprintf(err, errlen, "S/MIME BR 7.1.4.2.2: %s is missing",
		    what);
		return -1;
	}
	if ((n = utf8_chars(v)) < 0) {
		snprintf(err, errlen, "S/MIME BR 7.1.4: %s is not valid "
		    "UTF-8 text", what);
		return -1;
	}
	if (is_metadata_only(v)) {
		snprintf(err, errlen, "S/MIME BR 7.1.4.2: %s \"%s\" only "
		    "holds metadata characters", what, v);
		return -1;
	}
	if (n > ub) {
		snprintf(err, errlen, "S/MIME BR 7.1.4.2.2: %s is longer "
		    "than %ld characters", what, ub);
		return -1;
	}
	return 0;
}

/*
 * A mailbox: dot-atom local part (UTF-8 allowed, RFC 6531), ASCII LDH
 * domain.  *utf8 is set when the local part is not ASCII.
 */
static int
valid_mailbox(const char *email, int *utf8, char *err, size_t errlen)
{
	const char	*at, *p, *label;
	size_t		 llen, dlen;

	*utf8 = 0;
	if (email == NULL || (at = strchr(email, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL) {
		snprintf(err, errlen, "S/MIME BR 7.1.4.2.1: \"%s\" is not a "
		    "mailbox address", email != NULL ? email : "");
		return -1;
	}
	llen = at - email;
	dlen = strlen(at + 1);
	if (llen == 0 || llen > 64 || dlen == 0 || dlen > 253 ||
	    utf8_chars(email) < 0) {
		snprintf(err, errlen, "S/MIME BR 7.1.4.2.1: \"%s\" is not a "
		    "mailbox address", email);
		return -1;
	}
	for (p = email; p < at; p++) {
		if ((unsigned char)*p >= 0x80) {
			*utf8 = 1;
			continue;
		}
		if (*p == '.' && (p == email || p + 1 == at || p[1] == '.'))
			goto badlocal;
		if (*p != '.' && !is_atext((unsigned char)*p))
			goto badlocal;
	}
	for (p = at + 1; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80) {
			snprintf(err, errlen, "RFC 9598 section 3: the domain "
			    "of \"%s\" is not ASCII; give it in A-label "
			    "(xn--) form", email);
			return -1;
		}
	label = at + 1;
	for (p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || *label == '-' ||
			    p[-1] == '-')
				goto baddomain;
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-'))
			goto baddomain;
	}
	if (strchr(at + 1, '.') == NULL)
		goto baddomain;
	return 0;
 badlocal:
	snprintf(err, errlen, "S/MIME BR 7.1.4.2.1: the local part of "
	    "\"%s\" is not a dot-atom", email);
	return -1;
 baddomain:
	snprintf(err, errlen, "S/MIME BR 7.1.4.2.1: the domain of \"%s\" is "
	    "not a host name", email);
	return -1;
}

/* An http:// URL of printable ASCII without spaces. */
static int
valid_http_url(const char *what, const char *url, char *err, size_t errlen)
{
	const char	*p;

	if (strncmp(url, "http://", 7) != 0 || url[7] == '\0') {
		snprintf(err, errlen, "S/MIME BR 7.1.2.3 (b, c): %s \"%s\" is "
		    "not an http:// URL", what, url);
		return -1;
	}
	for (p = url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			snprintf(err, errlen, "RFC 5280 4.2.1.13: %s \"%s\" "
			    "has a character not allowed in a URI", what, url);
			return -1;
		}
	return 0;
}

/* S/MIME BR 7.1.4.2.2 (d): SSSCC[+SSS]-reference, or GOV/INT forms. */
static int
valid_org_identifier(const char *s, char *err, size_t errlen)
{
	size_t	 i, n;

	if (valid_attr("organizationIdentifier", s, 128, err, errlen) == -1)
		return -1;
	for (i = 0; i < 5; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			goto bad;
	i = 5;
	if (s[i] == '+') {
		for (n = 0, i++; (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9'); i++)
			n++;
		if (n < 1 || n > 3)
			goto bad;
	}
	if (s[i] == '\0' && (strncmp(s, "GOV", 3) == 0 ||
	    strncmp(s, "INT", 3) == 0))
		return 0;
	if (s[i] != '-' || s[i + 1] == '\0')
		goto bad;
	for (; s[i] != '\0'; i++)
		if ((unsigned char)s[i] >= 0x80)
			goto bad;
	return 0;
 bad:
	snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 (d): organizationIdentifier "
	    "\"%s\" is not of the form SSSCC[+SSS]-reference", s);
	return -1;
}

/* One single-valued RDN: SET { SEQUENCE { type, value } }. */
static void
der_rdn(struct buf *b, const char *oid, unsigned char strtag, const char *v)
{
	struct buf	 atv = { 0 }, set = { 0 };

	der_oid(&atv, oid);
	der_tlv(&atv, strtag, v, strlen(v));
	der_wrap(&set, 0x30, &atv);
	der_wrap(b, 0x31, &set);
}

#define OID_C		"2.5.4.6"
#define OID_O		"2.5.4.10"
#define OID_ORGID	"2.5.4.97"
#define OID_GN		"2.5.4.42"
#define OID_SN		"2.5.4.4"
#define OID_PSEUDO	"2.5.4.65"
#define OID_CN		"2.5.4.3"

/*
 * The subject per validation type (S/MIME BR 7.1.4.2.2 to 7.1.4.2.5);
 * *empty is set when no attribute is present.
 */
static int
build_subject(const struct cert_req *req, struct buf *out, int *empty,
    char *err, size_t errlen)
{
	struct buf	 rdns = { 0 };
	const char	*cn = NULL;
	enum vtype	 vt = req->prod->vtype;
	int		 pseudo;

	*empty = 0;
	if (vt == VT_ORGANIZATION || vt == VT_SPONSOR) {
		if (valid_attr("organizationName", req->org_name, 64,
		    err, errlen) == -1 ||
		    valid_org_identifier(req->org_identifier, err,
		    errlen) == -1)
			goto fail;
		if (req->org_country == NULL ||
		    strlen(req->org_country) != 2 ||
		    req->org_country[0] < 'A' || req->org_country[0] > 'Z' ||
		    req->org_country[1] < 'A' || req->org_country[1] > 'Z') {
			snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 (n): "
			    "countryName \"%s\" is not two capital letters",
			    req->org_country != NULL ? req->org_country : "");
			goto fail;
		}
	}

	switch (req->cn_type) {
	case CN_NONE:
		cn = vt == VT_MAILBOX ? req->email : NULL;
		break;
	case CN_EMAIL:
		if (req->cn != NULL && *req->cn != '\0' &&
		    strcasecmp(req->cn, req->email) != 0) {
			snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 (a): "
			    "commonName \"%s\" is not the mailbox %s",
			    req->cn, req->email);
			goto fail;
		}
		cn = req->email;
		break;
	case CN_ORGANIZATION:
		if (vt != VT_ORGANIZATION) {
			snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 (a): an "
			    "organization name is a commonName only in "
			    "organization-validated certificates");
			goto fail;
		}
		cn = req->org_name;
		break;
	case CN_NAME:
		if (vt != VT_SPONSOR) {
			snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 (a): a "
			    "personal name is a commonName only in "
			    "sponsor-validated certificates");
			goto fail;
		}
		if (valid_attr("commonName", req->cn, 64, err, errlen) == -1)
			goto fail;
		cn = req->cn;
		break;
	}
	/* A mailbox too long for ub-common-name stays in the SAN only. */
	if (cn == req->email && utf8_chars(cn) > 64)
		cn = NULL;

	if (vt == VT_ORGANIZATION || vt == VT_SPONSOR) {
		der_rdn(&rdns, OID_C, 0x13, req->org_country);
		der_rdn(&rdns, OID_O, 0x0c, req->org_name);
		der_rdn(&rdns, OID_ORGID, 0x0c, req->org_identifier);
	}
	if (vt == VT_SPONSOR) {
		pseudo = req->pseudonym != NULL && *req->pseudonym != '\0';
		if (pseudo && ((req->given_name != NULL &&
		    *req->given_name != '\0') ||
		    (req->surname != NULL && *req->surname != '\0'))) {
			snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 (e, f): "
			    "givenName and surname are not allowed with a "
			    "pseudonym");
			goto fail;
		}
		if (pseudo) {
			if (valid_attr("pseudonym", req->pseudonym, 128,
			    err, errlen) == -1)
				goto fail;
			if (req->cn_type == CN_NAME &&
			    strcmp(req->cn, req->pseudonym) != 0) {
				snprintf(err, errlen, "S/MIME BR 7.1.4.2.2 "
				    "(a): with a pseudonym the commonName must "
				    "be the pseudonym");
				goto fail;
			}
			der_rdn(&rdns, OID_PSEUDO, 0x0c, req->pseudonym);
		} else {
			if ((req->given_name == NULL ||
			    *req->given_name == '\0') &&
			    (req->surname == NULL || *req->surname == '\0')) {
				snprintf(err, errlen, "S/MIME BR 7.1.4.2.5: a "
				    "sponsor-validated certificate needs "
				    "givenName and/or surname, or a pseudonym");
				goto fail;
			}
			if (req->given_name != NULL &&
			    *req->given_name != '\0') {
				if (valid_attr("givenName", req->given_name,
				    128, err, errlen) == -1)
					goto fail;
				der_rdn(&rdns, OID_GN, 0x0c, req->given_name);
			}
			if (req->surname != NULL && *req->surname != '\0') {
				if (valid_attr("surname", req->surname, 128,
				    err, errlen) == -1)
					goto fail;
				der_rdn(&rdns, OID_SN, 0x0c, req->surname);
			}
		}
	}
	if (cn != NULL)
		der_rdn(&rdns, OID_CN, 0x0c, cn);
	*empty = rdns.len == 0;
	der_wrap(out, 0x30, &rdns);
	return 0;
 fail:
	buf_free(&rdns);
	return -1;
}

/*
 * The parts of a DER SubjectPublicKeyInfo the profile needs: whether its
 * algorithm is rsaEncryption or id-ecPublicKey, and the subjectPublicKey
 * bits (after the unused-bits octet, which must be 0).
 */
static int
spki_parts(const unsigned char *spki, size_t len, int *is_rsa,
    const unsigned char **bits, size_t *bitslen)
{
	static const unsigned char rsa[] = {
		0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01
	};
	static const unsigned char ec[] = {
		0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
	};
	const unsigned char	*p = spki, *end = spki + len, *c, *q, *oid;
	unsigned char		 tag;
	size_t			 clen, oidlen;

	if (spki == NULL ||
	    der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30 ||
	    p != end)
		return -1;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	q = c;
	if (der_next(&q, c + clen, &tag, &oid, &oidlen) == -1 || tag != 0x06)
		return -1;
	if (oidlen == sizeof(rsa) && memcmp(oid, rsa, oidlen) == 0)
		*is_rsa = 1;
	else if (oidlen == sizeof(ec) && memcmp(oid, ec, oidlen) == 0)
		*is_rsa = 0;
	else
		return -1;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x03 ||
	    p != end || clen < 2 || c[0] != 0)
		return -1;
	*bits = c + 1;
	*bitslen = clen - 1;
	return 0;
}

/* The signature AlgorithmIdentifier, S/MIME BR 7.1.3.2. */
static int
sig_algid(const struct ca *ca, const char *hash, struct buf *out, char *err,
    size_t errlen)
{
	static const unsigned char rsa[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0b, 0x05, 0x00
	};
	static const unsigned char ecdsa[] = {
		0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
		0x03, 0x02
	};
	unsigned char	 a[sizeof(rsa)];

	if (ca_hash_ok(ca, hash, err, errlen) == -1)
		return -1;
	if (ca->is_ec) {
		memcpy(a, ecdsa, sizeof(ecdsa));
		a[sizeof(ecdsa) - 1] = ca->ec_nid == NID_secp384r1 ? 0x03 :
		    0x02;
		buf_add(out, a, sizeof(ecdsa));
		return 0;
	}
	memcpy(a, rsa, sizeof(rsa));
	if (hash == NULL || *hash == '\0' || strcmp(hash, "sha256") == 0)
		a[12] = 0x0b;
	else if (strcmp(hash, "sha384") == 0)
		a[12] = 0x0c;
	else
		a[12] = 0x0d;
	buf_add(out, a, sizeof(rsa));
	return 0;
}

int
profile_build(const struct ca *ca, const struct conf *conf,
    const struct cert_req *req, unsigned char **der, size_t *len,
    char *err, size_t errlen)
{
	static const unsigned char	 v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
	struct buf			 tbs = { 0 }, exts = { 0 }, seq = { 0 },
					 val = { 0 }, out = { 0 };
	const ASN1_OCTET_STRING		*caski;
	const unsigned char		*iss, *bits;
	size_t				 isslen, bitslen;
	char				 crl[1024];
	int				 utf8, empty, is_rsa, rc = -1;

	*der = NULL;
	*len = 0;
	if (req->prod == NULL || req->spki == NULL) {
		snprintf(err, errlen, "no product or no public key");
		goto out;
	}
	if (req->serial_len < 9 || req->serial_len > 20 ||
	    req->serial[0] == 0 || req->serial[0] > 0x7f) {
		snprintf(err, errlen, "S/MIME BR 7.1: the serial number is not "
		    "a positive 9 to 20 byte number");
		goto out;
	}
	if (req->not_after <= req->not_before ||
	    (long long)req->not_after - (long long)req->not_before >
	    MAX_VALIDITY) {
		snprintf(err, errlen, "S/MIME BR 6.3.2: validity of %lld "
		    "seconds is not within 1 to 825 days",
		    (long long)req->not_after - (long long)req->not_before);
		goto out;
	}
	if (valid_mailbox(req->email, &utf8, err, errlen) == -1)
		goto out;
	if (conf->crl_url == NULL || *conf->crl_url == '\0') {
		snprintf(err, errlen, "S/MIME BR 7.1.2.3 (b): no CRL "
		    "distribution point URL is configured");
		goto out;
	}
	if (req->crl_shard < 0 || req->crl_shard >= conf->crl_shards ||
	    crl_ca_url(conf, ca, req->crl_shard, crl, sizeof(crl)) == -1) {
		snprintf(err, errlen, "SPEC 7.3: CRL shard %d has no URL "
		    "under crl_url", req->crl_shard);
		goto out;
	}
	if (valid_http_url("crl_url", crl, err, errlen) == -1 ||
	    (conf->ocsp_url != NULL && *conf->ocsp_url != '\0' &&
	    valid_http_url("ocsp_url", conf->ocsp_url, err, errlen) == -1) ||
	    (issuer_aia(conf, ca) != NULL &&
	    valid_http_url("aia_ca_issuers_url", issuer_aia(conf, ca),
	    err, errlen) == -1))
		goto out;
	if (spki_parts(req->spki, req->spkilen, &is_rsa, &bits,
	    &bitslen) == -1) {
		snprintf(err, errlen, "S/MIME BR 7.1.3.1: only RSA and ECDSA "
		    "subscriber keys are issued");
		goto out;
	}
	if ((caski = X509_get0_subject_key_id(ca->cert)) == NULL) {
		snprintf(err, errlen, "S/MIME BR 7.1.2.2 (i): the issuing CA "
		    "certificate has no subjectKeyIdentifier");
		goto out;
	}
	if (!X509_NAME_get0_der(X509_get_subject_name(ca->cert), &iss,
	    &isslen)) {
		log_ssl(LOGL_ERR, "profile: issuer name");
		snprintf(err, errlen, "cannot encode the issuer name");
		goto out;
	}

	buf_add(&tbs, v3, sizeof(v3));
	der_tlv(&tbs, 0x02, req->serial, req->serial_len);
	if (sig_algid(ca, req->hash, &tbs, err, errlen) == -1)
		goto out;
	buf_add(&tbs, iss, isslen);
	if (der_time(&val, req->not_before) == -1 ||
	    der_time(&val, req->not_after) == -1) {
		buf_free(&val);
		snprintf(err, errlen, "RFC 5280 4.1.2.5: validity dates "
		    "cannot be encoded");
		goto out;
	}
	der_wrap(&tbs, 0x30, &val);
	if (build_subject(req, &tbs, &empty, err, errlen) == -1)
		goto out;
	buf_add(&tbs, req->spki, req->spkilen);

	ext_aki(&exts, caski);
	if (ext_ski(&exts, bits, bitslen) == -1) {
		snprintf(err, errlen, "cannot compute the "
		    "subjectKeyIdentifier");
		goto out;
	}
	ext_key_usage(&exts, req, is_rsa);
	ext_eku(&exts, req);
	if (ext_policies(&exts, req, err, errlen) == -1)
		goto out;
	ext_san(&exts, req->email, utf8, empty);
	ext_crldp(&exts, crl);
	if ((conf->ocsp_url != NULL && *conf->ocsp_url != '\0') ||
	    issuer_aia(conf, ca) != NULL)
		ext_aia(&exts, conf->ocsp_url, issuer_aia(conf, ca));
	der_wrap(&seq, 0x30, &exts);
	der_wrap(&tbs, 0xa3, &seq);

	der_wrap(&out, 0x30, &tbs);
	*der = out.p;
	*len = out.len;
	out.p = NULL;
	rc = 0;
 out:
	buf_free(&tbs);
	buf_free(&exts);
	buf_free(&out);
	return rc;
}
