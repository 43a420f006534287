/*
 * CSR key stage: decode a certificate request (PEM with either header, or
 * bare base64 DER), prove possession of the key by its self-signature, and
 * hold the public key against S/MIME BR 6.1.1.3, 6.1.5 and 6.1.6.
 *
 * Only the public key leaves this file; the subject, attributes and
 * requested extensions of a CSR are never looked at.
 *
 * Failure policy: every refusal is bad input and returns -1 with a
 * distinct snake_case reason code and one sentence; the OpenSSL error
 * queue is cleared after a refused decode.  Library failures (memory) are
 * logged with the drained error queue and reported as csr_internal.
 *
 * The key itself (sizes, curves, weak RSA moduli) is checked by
 * csr_key.c (key_check).
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "extern.h"
#include "csr_local.h"

#define CSR_MAX		(64 * 1024)

int
csr_refuse(char *reason, size_t rlen, char *msg, size_t mlen, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;

	if (reason != NULL && rlen > 0)
		snprintf(reason, rlen, "%s", code);
	if (msg != NULL && mlen > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, mlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict base64 with whitespace anywhere: only the alphabet, '=' padding
 * at the very end, a multiple of four symbols.  0 and a malloc'd buffer.
 */
static int
b64_decode(const unsigned char *s, size_t len, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*buf;
	size_t		 i, n = 0, o = 0, pad = 0;
	unsigned int	 acc = 0;
	int		 v;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (is_ws(s[i]))
			continue;
		if (s[i] == '=') {
			if (++pad > 2)
				goto bad;
			acc <<= 6;
			n++;
		} else {
			if (pad > 0 || (v = b64_val(s[i])) < 0)
				goto bad;
			acc = (acc << 6) | (unsigned int)v;
			n++;
		}
		if (n % 4 == 0) {
			buf[o++] = (acc >> 16) & 0xff;
			buf[o++] = (acc >> 8) & 0xff;
			buf[o++] = acc & 0xff;
			acc = 0;
		}
	}
	if (n == 0 || n % 4 != 0)
		goto bad;
	o -= pad;
	*out = buf;
	*outlen = o;
	return 0;
 bad:
	free(buf);
	return -1;
}

static const unsigned char *
mem_find(const unsigned char *h, size_t hlen, const char *needle)
{
	size_t	 n = strlen(needle), i;

	if (n == 0 || hlen < n)
		return NULL;
	for (i = 0; i + n <= hlen; i++)
		if (memcmp(h + i, needle, n) == 0)
			return h + i;
	return NULL;
}

/*
 * Text to DER: one PEM block with one of the two CSR labels and nothing
 * but whitespace around it, or bare base64.  0 or -1 with a sentence.
 */
static int
csr_text_der(const unsigned char *p, size_t len, unsigned char **der,
    size_t *derlen, char *msg, size_t mlen)
{
	static const char *labels[] = {
		"NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST"
	};
	const unsigned char	*end = p + len, *body, *bend, *q;
	char			 endline[64];
	size_t			 i, n;

	while (p < end && is_ws(*p))
		p++;
	while (end > p && is_ws(end[-1]))
		end--;
	if (p == end) {
		snprintf(msg, mlen, "the CSR is empty");
		return -1;
	}
	if ((size_t)(end - p) >= 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
		for (i = 0; i < 2; i++) {
			n = strlen(labels[i]);
			if ((size_t)(end - p) >= 11 + n + 5 &&
			    memcmp(p + 11, labels[i], n) == 0 &&
			    memcmp(p + 11 + n, "-----", 5) == 0)
				break;
		}
		if (i == 2) {
			snprintf(msg, mlen, "PEM block is not a CERTIFICATE "
			    "REQUEST or NEW CERTIFICATE REQUEST");
			return -1;
		}
		body = p + 11 + strlen(labels[i]) + 5;
		snprintf(endline, sizeof(endline), "-----END %s-----",
		    labels[i]);
		if ((bend = mem_find(body, end - body, endline)) == NULL) {
			snprintf(msg, mlen, "PEM block has no matching "
			    "END line");
			return -1;
		}
		for (q = bend + strlen(endline); q < end; q++)
			if (!is_ws(*q)) {
				snprintf(msg, mlen, "text after the PEM "
				    "END line (exactly one CSR is allowed)");
				return -1;
			}
		p = body;
		end = bend;
	}
	if (b64_decode(p, end - p, der, derlen) == -1) {
		snprintf(msg, mlen, "the CSR is neither PEM nor base64 DER");
		return -1;
	}
	return 0;
}

/* Refusals decided on the SubjectPublicKeyInfo before the key is decoded. */
static int
spki_check(X509_REQ *req, char *reason, size_t rlen, char *msg, size_t mlen)
{
	X509_PUBKEY		*xpk;
	ASN1_OBJECT		*alg = NULL;
	const X509_ALGOR	*a = NULL;
	const ASN1_OBJECT	*cobj;
	const unsigned char	*pk;
	const void		*pval;
	char			 name[80];
	int			 nid, ptype, cnid, pklen;

	if ((xpk = X509_REQ_get_X509_PUBKEY(req)) == NULL ||
	    !X509_PUBKEY_get0_param(&alg, &pk, &pklen, (X509_ALGOR **)&a,
	    xpk))
		return csr_refuse(reason, rlen, msg, mlen, "csr_malformed",
		    "the CSR has no subjectPublicKeyInfo");
	nid = OBJ_obj2nid(alg);
	X509_ALGOR_get0(NULL, &ptype, &pval, a);
	if (nid == NID_rsaEncryption) {
		if (ptype != V_ASN1_NULL)
			return csr_refuse(reason, rlen, msg, mlen,
			    "csr_key_encoding", "RFC 3279 2.3.1: the "
			    "parameters of rsaEncryption must be NULL");
		return 0;
	}
	if (nid != NID_X9_62_id_ecPublicKey) {
		OBJ_obj2txt(name, sizeof(name), alg, 0);
		return csr_refuse(reason, rlen, msg, mlen, "csr_key_algorithm",
		    "S/MIME BR 6.1.5: %s keys are not accepted; " ALLOWED,
		    name);
	}
	if (ptype != V_ASN1_OBJECT)
		return csr_refuse(reason, rlen, msg, mlen,
		    "csr_key_explicit_params", "S/MIME BR 7.1.3.1.2: ECC key "
		    "with explicit curve parameters; only named curves "
		    "P-256 and P-384 are accepted");
	cobj = pval;
	cnid = OBJ_obj2nid(cobj);
	if (cnid != NID_X9_62_prime256v1 && cnid != NID_secp384r1) {
		OBJ_obj2txt(name, sizeof(name), cobj, 0);
		return csr_refuse(reason, rlen, msg, mlen, "csr_key_curve",
		    "S/MIME BR 6.1.5: ECC key on curve %s; " ALLOWED, name);
	}
	/* RFC 5480 2.2: uncompressed is the form every client reads. */
	if (pklen != (cnid == NID_secp384r1 ? 97 : 65) || pk[0] != 0x04)
		return csr_refuse(reason, rlen, msg, mlen, "csr_key_encoding",
		    "RFC 5480 2.2: the ECC public key is not an uncompressed "
		    "point (0x04, X, Y)");
	return 0;
}

/*
 * The common case without OpenSSL 3.0's key decoder, whose set-up on
 * every parse costs half as much as the signature check itself: a P-256
 * or P-384 key in its canonical SubjectPublicKeyInfo (the permitted
 * algorithm identifier, an uncompressed point) and an ECDSA signature
 * with SHA-2.  The request is parsed by libcrypto with the key replaced
 * by a stand-in, the key is built from the point (which checks it is
 * on the curve), and the signature is verified over the request's own
 * bytes.  Accepting is all it does: anything else, and any failure,
 * returns 0 and the full path decides (and words the refusal).
 */
/* The request with its key replaced by the stand-in, parsed. */
static X509_REQ *
parse_without_key(const unsigned char *ic, size_t iclen,
    const unsigned char *k, size_t klen, const unsigned char *rest,
    size_t restlen)
{
	struct buf		 body = { 0 }, all = { 0 };
	const unsigned char	*p;
	X509_REQ		*req;

	der_put_hdr(&body, 0x30, iclen - klen + DER_STANDIN_SPKI_LEN);
	buf_add(&body, ic, (size_t)(k - ic));
	buf_add(&body, der_standin_spki, DER_STANDIN_SPKI_LEN);
	buf_add(&body, k + klen, (size_t)(ic + iclen - (k + klen)));
	buf_add(&body, rest, restlen);
	der_put_hdr(&all, 0x30, body.len);
	buf_add(&all, body.p, body.len);
	p = all.p;
	if ((req = d2i_X509_REQ(NULL, &p, (long)all.len)) != NULL &&
	    p != all.p + all.len) {
		X509_REQ_free(req);
		req = NULL;
	}
	buf_free(&body);
	buf_free(&all);
	return req;
}

static int
csr_fast(const unsigned char *der, size_t derlen, EVP_PKEY **pub, char *spki)
{
	static const unsigned char p256[] = {
		0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
		0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
		0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04
	};
	static const unsigned char p384[] = {
		0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
		0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
		0x03, 0x62, 0x00, 0x04
	};
	/* ecdsa-with-SHA256, -SHA384, -SHA512 (RFC 5758 3.2, no params) */
	static const struct {
		unsigned char	 oid[8];
		const char	*md;
	} sigs[] = {
		{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, "SHA256" },
		{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 }, "SHA384" },
		{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 }, "SHA512" },
	};
	const unsigned char	*p = der, *end = der + derlen, *c, *q;
	const unsigned char	*info, *ic, *k, *alg, *sig;
	unsigned char		 tag, pt[97];
	size_t			 clen, infolen, iclen, klen, alglen, siglen;
	size_t			 i, ptlen;
	const char		*group, *md = NULL;
	X509_REQ		*req = NULL;
	EVP_PKEY_CTX		*kctx = NULL;
	EVP_MD_CTX		*mctx = NULL;
	EVP_PKEY		*pk = NULL;
	OSSL_PARAM		 params[3];
	int			 ok = 0;

	/* CertificationRequest { info, signatureAlgorithm, signature } */
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30 ||
	    p != end)
		return 0;
	p = c;
	end = c + clen;
	info = p;
	if (der_next(&p, end, &tag, &ic, &iclen) == -1 || tag != 0x30)
		return 0;
	infolen = (size_t)(p - info);
	if (der_next(&p, end, &tag, &alg, &alglen) == -1 || tag != 0x30 ||
	    der_next(&p, end, &tag, &sig, &siglen) == -1 || tag != 0x03 ||
	    p != end || siglen < 2 || sig[0] != 0)
		return 0;
	q = alg;
	if (der_next(&q, alg + alglen, &tag, &c, &clen) == -1 ||
	    tag != 0x06 || q != alg + alglen || clen != 8)
		return 0;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (memcmp(c, sigs[i].oid, 8) == 0)
			md = sigs[i].md;
	if (md == NULL)
		return 0;
	/* info { version, subject, subjectPKInfo, [0] attributes } */
	q = ic;
	if (der_next(&q, ic + iclen, &tag, &c, &clen) == -1 || tag != 0x02 ||
	    der_next(&q, ic + iclen, &tag, &c, &clen) == -1 || tag != 0x30)
		return 0;
	k = q;
	if (der_next(&q, ic + iclen, &tag, &c, &clen) == -1)
		return 0;
	klen = (size_t)(q - k);
	if (klen == sizeof(p256) + 64 && memcmp(k, p256, sizeof(p256)) == 0) {
		group = "P-256";
		ptlen = 65;
	} else if (klen == sizeof(p384) + 96 &&
	    memcmp(k, p384, sizeof(p384)) == 0) {
		group = "P-384";
		ptlen = 97;
	} else
		return 0;
	memcpy(pt, k + klen - ptlen, ptlen);

	/* Everything but the key as the full path parses it. */
	if ((req = parse_without_key(ic, iclen, k, klen, info + infolen,
	    (size_t)(end - (info + infolen)))) == NULL)
		goto out;
	/* The key from its point: EC_POINT_oct2point checks the curve. */
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen);
	params[2] = OSSL_PARAM_construct_end();
	if ((kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(kctx) != 1 ||
	    EVP_PKEY_fromdata(kctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if (key_check(pk, NULL, 0, NULL, 0) == -1)
		goto out;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, pk,
	    NULL) != 1 ||
	    EVP_DigestVerify(mctx, sig + 1, siglen - 1, info, infolen) != 1)
		goto out;
	if (spki != NULL)
		sha256_hex(k, klen, spki);
	*pub = pk;
	pk = NULL;
	ok = 1;
 out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_free(pk);
	X509_REQ_free(req);
	return ok;
}

int
csr_check(const char *text, size_t len, EVP_PKEY **pub, char *reason,
    size_t rlen, char *msg, size_t mlen)
{
	return csr_check_spki(text, len, pub, NULL, reason, rlen, msg, mlen);
}

int
csr_check_spki(const char *text, size_t len, EVP_PKEY **pub, char *spki,
    char *reason, size_t rlen, char *msg, size_t mlen)
{
	X509_REQ		*req = NULL;
	EVP_PKEY		*pk = NULL;
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 derlen;
	int			 rc = -1;

	*pub = NULL;
	if (len > CSR_MAX) {
		csr_refuse(reason, rlen, msg, mlen, "csr_too_large",
		    "the CSR is %zu bytes; at most %d are accepted", len,
		    CSR_MAX);
		goto out;
	}
	if (csr_text_der((const unsigned char *)text, len, &der, &derlen,
	    msg, mlen) == -1) {
		snprintf(reason, rlen, "csr_malformed");
		goto out;
	}
	if (csr_fast(der, derlen, pub, spki)) {
		rc = 0;
		goto out;
	}
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, (long)derlen)) == NULL) {
		ERR_clear_error();
		csr_refuse(reason, rlen, msg, mlen, "csr_malformed",
		    "the CSR is not a DER PKCS#10 CertificationRequest");
		goto out;
	}
	if (p != der + derlen) {
		csr_refuse(reason, rlen, msg, mlen, "csr_trailing_data",
		    "%zu bytes follow the DER CertificationRequest",
		    (size_t)(der + derlen - p));
		goto out;
	}
	if (spki_check(req, reason, rlen, msg, mlen) == -1)
		goto out;
	if ((pk = X509_REQ_get_pubkey(req)) == NULL) {
		ERR_clear_error();
		csr_refuse(reason, rlen, msg, mlen, "csr_key_invalid",
		    "the CSR public key cannot be decoded");
		goto out;
	}
	if (X509_REQ_verify(req, pk) != 1) {
		ERR_clear_error();
		csr_refuse(reason, rlen, msg, mlen, "csr_bad_signature",
		    "the CSR self-signature does not verify with its public "
		    "key");
		goto out;
	}
	if (key_check(pk, reason, rlen, msg, mlen) == -1)
		goto out;
	/*
	 * The SubjectPublicKeyInfo as the CSR encodes it (no key encoder is
	 * run); after spki_check it is the canonical encoding of the key.
	 */
	if (spki != NULL) {
		unsigned char	*enc = NULL;
		int		 n;

		if ((n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req),
		    &enc)) <= 0) {
			log_ssl(LOGL_ERR, "csr_check: i2d_X509_PUBKEY");
			csr_refuse(reason, rlen, msg, mlen, "csr_internal",
			    "cannot encode the key");
			goto out;
		}
		sha256_hex(enc, (size_t)n, spki);
		OPENSSL_free(enc);
	}
	*pub = pk;
	pk = NULL;
	rc = 0;
 out:
	EVP_PKEY_free(pk);
	X509_REQ_free(req);
	free(der);
	return rc;
}

int
key_spki(EVP_PKEY *pub, unsigned char **der, size_t *len)
{
	unsigned char	*p = NULL;
	int		 n;

	*der = NULL;
	*len = 0;
	if ((n = i2d_PUBKEY(pub, &p)) <= 0) {
		log_ssl(LOGL_ERR, "key_spki: i2d_PUBKEY");
		return -1;
	}
	*der = xcalloc(1, (size_t)n);
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
	return 0;
}

int
csr_spki(const char *text, size_t len, unsigned char **spki,
    size_t *spkilen)
{
	const unsigned char	*p, *end, *c, *start;
	unsigned char		*der = NULL, tag;
	size_t			 derlen, clen;
	char			 msg[160];
	int			 rc = -1;

	*spki = NULL;
	*spkilen = 0;
	if (len > CSR_MAX || csr_text_der((const unsigned char *)text, len,
	    &der, &derlen, msg, sizeof(msg)) == -1)
		return -1;
	p = der;
	end = der + derlen;
	/* CertificationRequest { info { version, subject, spki, ... } } */
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		goto out;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		goto out;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x02 ||
	    der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		goto out;
	start = p;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		goto out;
	*spkilen = (size_t)(p - start);
	*spki = xcalloc(1, *spkilen);
	memcpy(*spki, start, *spkilen);
	rc = 0;
 out:
	free(der);
	return rc;
}
