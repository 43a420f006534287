/*
 * certfiles.c: certificate files made from stored DER, for the archive,
 * the result and the messages (report.c, report_mail.c): PEM byte for
 * byte as OpenSSL writes it, the certs-only PKCS#7 with the chain, and
 * each issuer's chain loaded once per pass (the certificate rows are
 * store_result.c's).
 * Failure policy: allocation failures abort (xcalloc); a chain or DER
 * that cannot be read returns NULL or -1 and the caller keeps the pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certfiles.h"
#include "ca.h"
#include "store_result.h"

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----\n"
#define PEM_END		"-----END CERTIFICATE-----\n"
#define PEM_LINE	48	/* DER bytes per 64-character line */

/* PEM of one certificate's DER, byte for byte what PEM_write_bio_X509
 * writes: base64 in lines of 64 characters, each ended by "\n". */
char *
pem_of_der(const unsigned char *der, size_t len, size_t *outlen)
{
	char	*p;
	size_t	 i, n, o, cap;

	cap = sizeof(PEM_BEGIN) + sizeof(PEM_END) +
	    (len + PEM_LINE - 1) / PEM_LINE * 65 + 1;
	p = xcalloc(1, cap);
	memcpy(p, PEM_BEGIN, sizeof(PEM_BEGIN) - 1);
	o = sizeof(PEM_BEGIN) - 1;
	for (i = 0; i < len; i += n) {
		n = len - i < PEM_LINE ? len - i : PEM_LINE;
		o += (size_t)EVP_EncodeBlock((unsigned char *)p + o, der + i,
		    (int)n);
		p[o++] = '\n';
	}
	memcpy(p + o, PEM_END, sizeof(PEM_END) - 1);
	o += sizeof(PEM_END) - 1;
	p[o] = '\0';
	*outlen = o;
	return p;
}

/* What every certificate of a pass shares: the chain as PEM (chain.pem)
 * and as the concatenated DER of its certificates (for cert.p7b). */
void
chain_free(struct chain *ch)
{
	free(ch->pem);
	free(ch->der);
	memset(ch, 0, sizeof(*ch));
}

int
chain_load(const struct ca *ca, struct chain *ch)
{
	struct buf	 pem = { 0 }, der = { 0 };
	unsigned char	*d = NULL;
	char		*p;
	size_t		 n;
	int		 i, len;

	memset(ch, 0, sizeof(*ch));
	for (i = 0; i < sk_X509_num(ca->chain); i++) {
		if ((len = i2d_X509(sk_X509_value(ca->chain, i), &d)) <= 0) {
			log_ssl(LOGL_ERR, "chain certificate %d: i2d_X509",
			    i + 1);
			buf_free(&pem);
			buf_free(&der);
			return -1;
		}
		buf_add(&der, d, (size_t)len);
		p = pem_of_der(d, (size_t)len, &n);
		buf_add(&pem, p, n);
		free(p);
		OPENSSL_free(d);
		d = NULL;
	}
	ch->pem = (char *)pem.p;
	ch->pemlen = pem.len;
	ch->der = der.p;
	ch->derlen = der.len;
	return 0;
}

/*
 * certs-only PKCS#7 (RFC 8551 3.2.2, RFC 2315 9.1): ContentInfo {
 * signedData, [0] SignedData { version 1, digestAlgorithms {}, data with
 * an empty OCTET STRING as content, [0] IMPLICIT the certificate then the
 * chain in that order, signerInfos {} } }.  Byte for byte what
 * i2d_PKCS7 wrote for PKCS7_set_type(signed), PKCS7_content_new(data)
 * and PKCS7_add_certificate (certificates are a SEQUENCE OF there, kept
 * in the order added).
 */
unsigned char *
p7b_of_der(const unsigned char *der, size_t derlen, const struct chain *ch,
    size_t *outlen)
{
	static const unsigned char oid_signed[] = { 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
	static const unsigned char head[] = { 0x02, 0x01, 0x01, 0x31, 0x00,
	    0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x07, 0x01, 0xa0, 0x02, 0x04, 0x00 };
	static const unsigned char tail[] = { 0x31, 0x00 };
	struct buf	 sd = { 0 }, seq = { 0 }, in = { 0 }, out = { 0 };

	buf_add(&sd, head, sizeof(head));
	der_put_hdr(&sd, 0xa0, derlen + ch->derlen);
	buf_add(&sd, der, derlen);
	if (ch->derlen > 0)
		buf_add(&sd, ch->der, ch->derlen);
	buf_add(&sd, tail, sizeof(tail));
	der_put_hdr(&seq, 0x30, sd.len);
	buf_add(&seq, sd.p, sd.len);
	/* ContentInfo { contentType, [0] EXPLICIT SignedData } */
	buf_add(&in, oid_signed, sizeof(oid_signed));
	der_put_hdr(&in, 0xa0, seq.len);
	buf_add(&in, seq.p, seq.len);
	der_put_hdr(&out, 0x30, in.len);
	buf_add(&out, in.p, in.len);
	buf_free(&sd);
	buf_free(&seq);
	buf_free(&in);
	*outlen = out.len;
	return out.p;
}

void
chains_free(struct chains *cs)
{
	int	 i;

	for (i = 0; i < cs->n; i++)
		chain_free(&cs->ch[i]);
	cs->n = 0;
}

int
chains_load(const struct ca *ca, struct chains *cs)
{
	memset(cs, 0, sizeof(*cs));
	for (; ca != NULL && cs->n < CHAINS_MAX; ca = ca->next) {
		if (chain_load(ca, &cs->ch[cs->n]) == -1) {
			chains_free(cs);
			return -1;
		}
		cs->id[cs->n++] = ISSUER_OF(ca);
	}
	return 0;
}

const struct chain *
chains_get(const struct chains *cs, int id)
{
	int	 i;

	for (i = 0; i < cs->n; i++)
		if (cs->id[i] == id)
			return &cs->ch[i];
	return &cs->ch[0];
}
