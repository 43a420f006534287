/*
 * Server-side keys and PKCS#12: generate a subscriber key, make a random
 * transport password, and wrap key, certificate and chain in a PKCS#12
 * (S/MIME BR 6.1.2: at least 128 bits of encryption strength, password
 * delivered separately).
 *
 * Modern profile: PBES2 (PBKDF2 with HMAC-SHA256) and AES-256-CBC for the
 * key and the certificates, HMAC-SHA256 MAC.  Legacy profile, for old
 * clients only: pbeWithSHAAnd3-KeyTripleDES-CBC and an SHA-1 MAC, 2048
 * iterations.
 *
 * Failure policy: these only fail when libcrypto does (memory, provider);
 * the error queue is drained into the log and -1 / NULL is returned.
 * The private key is never written anywhere by this file.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"

#define P12_DEFAULT_ITER	100000
#define P12_LEGACY_ITER		2048
#define P12_PASS_CHARS		26	/* 26 * 5 = 130 bits */

EVP_PKEY *
keygen_new(const char *alg, char *err, size_t errlen)
{
	EVP_PKEY	*key = NULL;
	char		 e[256];

	if (alg == NULL)
		alg = "";
	if (strcmp(alg, "ecc-p256") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(alg, "ecc-p384") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(alg, "rsa-2048") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(alg, "rsa-3072") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	else if (strcmp(alg, "rsa-4096") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	else {
		snprintf(err, errlen, "key algorithm \"%s\" is not one of "
		    "ecc-p256, ecc-p384, rsa-2048, rsa-3072, rsa-4096", alg);
		return NULL;
	}
	if (key == NULL) {
		ssl_errstr(e, sizeof(e));
		snprintf(err, errlen, "%s key generation failed: %s", alg, e);
	}
	return key;
}

void
p12_password(char *out, size_t len)
{
	static const char	 b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char		 r[P12_PASS_CHARS];
	size_t			 i;

	if (len < P12_PASS_CHARS + 1)
		abort();
	rnd_bytes(r, sizeof(r));
	for (i = 0; i < P12_PASS_CHARS; i++)
		out[i] = b32[r[i] & 31];
	out[i] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
}

/* The first rfc822Name of the certificate as friendlyName, or NULL. */
static char *
cert_email(X509 *cert)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*gn;
	const char	*p;
	char		*s = NULL;
	int		 i, n;

	if ((gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
	    NULL)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	for (i = 0; s == NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		gn = sk_GENERAL_NAME_value(gens, i);
		if (gn->type != GEN_EMAIL)
			continue;
		p = (const char *)ASN1_STRING_get0_data(gn->d.rfc822Name);
		n = ASN1_STRING_length(gn->d.rfc822Name);
		if (n <= 0 || memchr(p, '\0', n) != NULL ||
		    (s = malloc((size_t)n + 1)) == NULL)
			continue;
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	GENERAL_NAMES_free(gens);
	return s;
}

int
p12_make(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain,
    const char *password, int legacy, int iterations, unsigned char **der,
    size_t *len)
{
	PKCS12		*p12 = NULL;
	char		*name;
	unsigned char	*out = NULL;
	int		 nid, iter, n, rc = -1;

	*der = NULL;
	*len = 0;
	if (legacy) {
		nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
		iter = P12_LEGACY_ITER;
	} else {
		nid = NID_aes_256_cbc;
		iter = iterations > 0 ? iterations : P12_DEFAULT_ITER;
	}
	name = cert_email(cert);
	/* mac_iter -1: no MAC here, it is set below with the right digest */
	if ((p12 = PKCS12_create_ex(password, name, key, cert, chain, nid, nid,
	    iter, -1, 0, NULL, NULL)) == NULL) {
		log_ssl(LOGL_ERR, "p12_make: PKCS12_create");
		goto out;
	}
	if (!PKCS12_set_mac(p12, password, -1, NULL, 0, iter,
	    legacy ? EVP_sha1() : EVP_sha256())) {
		log_ssl(LOGL_ERR, "p12_make: PKCS12_set_mac");
		goto out;
	}
	if ((n = i2d_PKCS12(p12, &out)) <= 0) {
		log_ssl(LOGL_ERR, "p12_make: i2d_PKCS12");
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL) {
		log_err("p12_make: out of memory");
		goto out;
	}
	memcpy(*der, out, (size_t)n);
	*len = (size_t)n;
	rc = 0;
 out:
	free(name);
	OPENSSL_free(out);
	PKCS12_free(p12);
	return rc;
}
