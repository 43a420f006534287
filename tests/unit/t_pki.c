/*
 * t_pki: the CA, CSR key stage, certificate profile, linter and PKCS#12,
 * linked from the real sources.  Every product of SPEC 2.1 is issued
 * under an RSA and a P-384 demo CA for RSA-2048, RSA-3072, P-256 and
 * P-384 subscriber keys; each certificate is linted, signed, checked rule
 * by rule here, and verified by independent implementations (OpenSSL
 * verify and CMS, GnuTLS certtool, NSS certutil, GnuPG gpgsm).  The CSR
 * corpus in tests/data/csr holds good and hostile requests.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "crl.h"
#include "profile.h"
#include "keyproc.h"
#include "t.h"

static char		 tmp[256];
static char		 datadir[512];
static struct conf	 conf;

static const struct {
	const char	*name;
	const char	*oid;		/* expected, from S/MIME BR 7.1.6.1 */
	int		 sponsor, org, sign_only, client_auth, strict;
} prods[] = {
	{ "secure_email_individual", "2.23.140.1.5.1.3", 0, 0, 0, 0, 1 },
	{ "secure_email_business", "2.23.140.1.5.3.3", 1, 1, 0, 0, 1 },
	{ "secure_email_organization", "2.23.140.1.5.2.3", 0, 1, 0, 0, 1 },
	{ "premium", "2.23.140.1.5.3.2", 1, 1, 0, 1, 0 },
	{ "email_security_plus", "2.23.140.1.5.3.2", 1, 1, 0, 0, 0 },
	{ "digital_signature_plus", "2.23.140.1.5.3.2", 1, 1, 1, 0, 0 },
	{ "client1_smime", "2.23.140.1.5.1.2", 0, 0, 0, 0, 0 },
};
#define NPRODS	(sizeof(prods) / sizeof(prods[0]))

static const char *keyalgs[] = { "rsa-2048", "rsa-3072", "ecc-p256",
    "ecc-p384" };
#define NKEYS	(sizeof(keyalgs) / sizeof(keyalgs[0]))

/* Run a shell command, output to tmp/cmd.log; the exit status. */
static int
sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char	 cmd[4096], full[4500], log[300], line[512];
	va_list	 ap;
	FILE	*f;
	int	 st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(log, sizeof(log), "%s/cmd.log", tmp);
	snprintf(full, sizeof(full), "(%s) >%s 2>&1 </dev/null", cmd, log);
	st = system(full);
	st = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (st != 0 && getenv("T_VERBOSE") != NULL &&
	    (f = fopen(log, "r")) != NULL) {
		fprintf(stderr, "$ %s\n", cmd);
		while (fgets(line, sizeof(line), f) != NULL)
			fprintf(stderr, "  %s", line);
		fclose(f);
	}
	return st;
}

/* The output of the last sh() command (static buffer). */
static const char *
sh_out(void)
{
	static char	 out[65536];
	char		 log[300];
	FILE		*f;
	size_t		 n = 0;

	out[0] = '\0';
	snprintf(log, sizeof(log), "%s/cmd.log", tmp);
	if ((f = fopen(log, "r")) != NULL) {
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return out;
}

static int
have_tool(const char *name)
{
	return sh("command -v %s", name) == 0;
}

static int
write_file(const char *path, const void *p, size_t len)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static char *
read_text(const char *path, size_t *len)
{
	unsigned char	*p = NULL;

	if (fs_read_file(path, 4 * 1024 * 1024, &p, len) == -1)
		return NULL;
	return (char *)p;
}

static int
write_cert(const char *path, X509 *x)
{
	BIO	*b;
	int	 ok;

	if ((b = BIO_new_file(path, "w")) == NULL)
		return -1;
	ok = PEM_write_bio_X509(b, x);
	BIO_free(b);
	return ok ? 0 : -1;
}

static int
write_key(const char *path, EVP_PKEY *k)
{
	BIO	*b;
	int	 ok;

	if ((b = BIO_new_file(path, "w")) == NULL)
		return -1;
	ok = PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	BIO_free(b);
	return ok ? 0 : -1;
}

/*
 * A CSR for key with a junk subject and junk extensions that must never
 * reach a certificate.  PEM text, malloc'd.
 */
static char *
make_csr(EVP_PKEY *key)
{
	X509_REQ			*req;
	X509_NAME			*nm;
	STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*e;
	BIO				*b;
	char				*p, *s = NULL;
	long				 n;

	req = X509_REQ_new();
	nm = X509_REQ_get_subject_name(req);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ignored@example.com", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
	    (const unsigned char *)"Junk Inc", -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	exts = sk_X509_EXTENSION_new_null();
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    "email:ignored@example.com");
	sk_X509_EXTENSION_push(exts, e);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:TRUE");
	sk_X509_EXTENSION_push(exts, e);
	X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (X509_REQ_sign(req, key, EVP_sha256()) > 0 &&
	    (b = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio_X509_REQ_NEW(b, req) &&
		    (n = BIO_get_mem_data(b, &p)) > 0) {
			s = malloc((size_t)n + 1);
			memcpy(s, p, (size_t)n);
			s[n] = '\0';
		}
		BIO_free(b);
	}
	X509_REQ_free(req);
	return s;
}

/* ---- CSR corpus ---- */

static void
test_csr_corpus(void)
{
	static const struct {
		const char	*file;
		const char	*reason;	/* NULL: accepted */
	} c[] = {
		{ "rsa2048.pem", NULL },
		{ "rsa2048.b64", NULL },
		{ "rsa3072.pem", NULL },
		{ "rsa4096.pem", NULL },
		{ "p256.pem", NULL },
		{ "p256.b64", NULL },
		{ "p384.pem", NULL },
		{ "rsa1024.pem", "csr_key_too_small" },
		{ "rsa2047.pem", "csr_key_size" },
		{ "rsa8192.pem", "csr_key_size" },
		{ "rsa_e3.pem", "csr_key_exponent" },
		{ "rsa_even_exponent.pem", "csr_key_exponent" },
		{ "p521.pem", "csr_key_curve" },
		{ "secp256k1.pem", "csr_key_curve" },
		{ "explicit_params.pem", "csr_key_explicit_params" },
		{ "p256_compressed.pem", "csr_key_encoding" },
		{ "ed25519.pem", "csr_key_algorithm" },
		{ "dsa2048.pem", "csr_key_algorithm" },
		{ "bad_signature.pem", "csr_bad_signature" },
		{ "trailing_garbage.b64", "csr_trailing_data" },
	};
	char		 path[700], reason[64], msg[512];
	char		*text;
	size_t		 i, len;
	EVP_PKEY	*pub;
	int		 rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", datadir, c[i].file);
		text = read_text(path, &len);
		T_CHECK(text != NULL, "cannot read %s", path);
		if (text == NULL)
			continue;
		reason[0] = msg[0] = '\0';
		rc = csr_check(text, len, &pub, reason, sizeof(reason), msg,
		    sizeof(msg));
		if (c[i].reason == NULL) {
			T_CHECK(rc == 0 && pub != NULL, "%s refused: %s: %s",
			    c[i].file, reason, msg);
			EVP_PKEY_free(pub);
		} else {
			T_CHECK(rc == -1 && pub == NULL, "%s accepted",
			    c[i].file);
			T_STREQ(reason, c[i].reason);
			T_CHECK(msg[0] != '\0', "%s: no message", c[i].file);
		}
		free(text);
	}

	/* key_check alone sees explicit parameters too */
	snprintf(path, sizeof(path), "%s/explicit_params.pem", datadir);
	if ((text = read_text(path, &len)) != NULL) {
		BIO		*b = BIO_new_mem_buf(text, (int)len);
		X509_REQ	*req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);

		pub = req != NULL ? X509_REQ_get_pubkey(req) : NULL;
		T_CHECK(pub != NULL && key_check(pub, reason, sizeof(reason),
		    msg, sizeof(msg)) == -1 && strcmp(reason,
		    "csr_key_explicit_params") == 0, "key_check explicit: %s",
		    reason);
		EVP_PKEY_free(pub);
		X509_REQ_free(req);
		BIO_free(b);
		free(text);
	}

	/* the message the README shows */
	snprintf(path, sizeof(path), "%s/rsa1024.pem", datadir);
	if ((text = read_text(path, &len)) != NULL) {
		csr_check(text, len, &pub, reason, sizeof(reason), msg,
		    sizeof(msg));
		T_STREQ(msg, "RSA key of 1024 bits; allowed: RSA 2048, 3072, "
		    "4096, ECC P-256, P-384");
		free(text);
	}
}

/* Hand-made inputs: sizes, framing, PEM forms. */
static void
test_csr_framing(void)
{
	char		 path[700], reason[64], msg[512], *text, *t2, *big;
	unsigned char	*der;
	size_t		 len, n, i;
	EVP_PKEY	*pub = NULL;

	snprintf(path, sizeof(path), "%s/p256.pem", datadir);
	if ((text = read_text(path, &len)) == NULL) {
		T_CHECK(0, "cannot read %s", path);
		return;
	}
	/* whitespace around and CRLF inside */
	t2 = malloc(len * 2 + 16);
	n = 0;
	t2[n++] = '\n';
	t2[n++] = ' ';
	for (i = 0; i < len; i++) {
		if (text[i] == '\n')
			t2[n++] = '\r';
		t2[n++] = text[i];
	}
	t2[n++] = '\t';
	t2[n] = '\0';
	T_CHECK(csr_check(t2, n, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == 0, "CRLF PEM refused: %s", msg);
	EVP_PKEY_free(pub);

	/* two blocks */
	memcpy(t2, text, len);
	memcpy(t2 + len, text, len);
	T_CHECK(csr_check(t2, 2 * len, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == -1, "two PEM blocks accepted");
	T_STREQ(reason, "csr_malformed");

	/* text after the block */
	memcpy(t2, text, len);
	memcpy(t2 + len, "hello", 5);
	T_CHECK(csr_check(t2, len + 5, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == -1, "text after PEM accepted");
	T_STREQ(reason, "csr_malformed");

	/* a certificate, not a request */
	T_CHECK(csr_check("-----BEGIN CERTIFICATE-----\nMAA=\n"
	    "-----END CERTIFICATE-----\n", 52, &pub, reason, sizeof(reason),
	    msg, sizeof(msg)) == -1, "CERTIFICATE label accepted");
	T_STREQ(reason, "csr_malformed");
	T_CHECK(csr_check("not base64 at all!", 18, &pub, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "junk accepted");
	T_STREQ(reason, "csr_malformed");
	T_CHECK(csr_check("", 0, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == -1, "empty accepted");
	T_STREQ(reason, "csr_malformed");
	T_CHECK(csr_check("MAA=", 4, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == -1, "empty SEQUENCE accepted");
	T_STREQ(reason, "csr_malformed");
	free(t2);
	free(text);

	/* 1 MB of DER (a long SEQUENCE), base64 and raw */
	n = 1024 * 1024;
	der = calloc(1, n);
	der[0] = 0x30;
	der[1] = 0x83;
	der[2] = (unsigned char)((n - 5) >> 16);
	der[3] = (unsigned char)((n - 5) >> 8);
	der[4] = (unsigned char)(n - 5);
	big = malloc(n / 3 * 4 + 8);
	i = (size_t)EVP_EncodeBlock((unsigned char *)big, der, (int)n);
	T_CHECK(csr_check(big, i, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == -1, "1 MB accepted");
	T_STREQ(reason, "csr_too_large");
	T_CHECK(csr_check((char *)der, n, &pub, reason, sizeof(reason), msg,
	    sizeof(msg)) == -1, "1 MB raw accepted");
	T_STREQ(reason, "csr_too_large");
	free(big);
	free(der);
}

/* ---- the CSR fast path agrees with the full one ---- */

/* PEM text of a DER CSR, malloc'd. */
static char *
der_to_pem(const unsigned char *der, size_t len)
{
	char	*t = malloc(len / 3 * 4 + 128);
	int	 n;

	n = sprintf(t, "-----BEGIN CERTIFICATE REQUEST-----\n");
	n += EVP_EncodeBlock((unsigned char *)t + n, der, (int)len);
	sprintf(t + n, "\n-----END CERTIFICATE REQUEST-----\n");
	return t;
}

/* csr_check_spki on a mutated copy of der; the reason ("" accepted). */
static void
mutated(const unsigned char *der, size_t len, size_t at, unsigned char x,
    const char *want, const char *what)
{
	unsigned char	*m = malloc(len);
	char		*pem, reason[64] = "", msg[512] = "", spki[65];
	EVP_PKEY	*pub = NULL;

	memcpy(m, der, len);
	m[at] ^= x;
	pem = der_to_pem(m, len);
	if (csr_check_spki(pem, strlen(pem), &pub, spki, reason,
	    sizeof(reason), msg, sizeof(msg)) == 0)
		reason[0] = '\0';
	T_CHECK(strcmp(reason, want) == 0, "%s: reason \"%s\", want \"%s\"",
	    what, reason, want);
	EVP_PKEY_free(pub);
	free(pem);
	free(m);
}

static size_t
find(const unsigned char *h, size_t hlen, const void *n, size_t nlen)
{
	size_t	 i;

	for (i = 0; i + nlen <= hlen; i++)
		if (memcmp(h + i, n, nlen) == 0)
			return i;
	return (size_t)-1;
}

static void
test_csr_fast(EVP_PKEY *keys[NKEYS], char *csrs[NKEYS])
{
	BIO		*b;
	X509_REQ	*req;
	unsigned char	*der = NULL, *pt, *kder = NULL;
	char		 reason[64], msg[512], spki[65], want[65];
	EVP_PKEY	*pub;
	size_t		 k, len, at, ptlen, klen = 0;
	int		 n = 0;

	/* Every key type: the hash of the key, the very key. */
	for (k = 0; k < NKEYS; k++) {
		pub = NULL;
		T_CHECK(csr_check_spki(csrs[k], strlen(csrs[k]), &pub, spki,
		    reason, sizeof(reason), msg, sizeof(msg)) == 0,
		    "%s: csr_check_spki: %s", keyalgs[k], msg);
		T_CHECK(pub != NULL && EVP_PKEY_eq(pub, keys[k]) == 1,
		    "%s: not the CSR's key", keyalgs[k]);
		T_CHECK(key_spki(keys[k], &kder, &klen) == 0,
		    "%s: key_spki", keyalgs[k]);
		sha256_hex(kder, klen, want);
		free(kder);
		kder = NULL;
		T_CHECK(strcmp(spki, want) == 0, "%s: key hash %s, want %s",
		    keyalgs[k], spki, want);
		EVP_PKEY_free(pub);
	}

	/* The P-256 CSR, mutated where the fast path looks. */
	b = BIO_new_mem_buf(csrs[2], -1);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	T_CHECK(req != NULL && (n = i2d_X509_REQ(req, &der)) > 0,
	    "P-256 CSR does not decode");
	if (req == NULL || der == NULL) {
		X509_REQ_free(req);
		return;
	}
	len = (size_t)n;
	mutated(der, len, 0, 0, "", "unchanged");
	mutated(der, len, len - 1, 0x01, "csr_bad_signature",
	    "last signature byte flipped");
	at = find(der, len, "Junk Inc", 8);
	T_CHECK(at != (size_t)-1, "subject not found");
	if (at != (size_t)-1)
		mutated(der, len, at, 0x01, "csr_bad_signature",
		    "subject changed under the signature");
	/* the point's last byte: off the curve */
	ptlen = EVP_PKEY_get1_encoded_public_key(keys[2], &pt);
	at = find(der, len, pt, ptlen);
	T_CHECK(at != (size_t)-1, "point not found");
	if (at != (size_t)-1) {
		mutated(der, len, at + ptlen - 1, 0x01, "csr_key_invalid",
		    "point off the curve");
		mutated(der, len, at, 0x06, "csr_key_encoding",
		    "point marked compressed");
	}
	/* ecdsa-with-SHA256 -> a different signature algorithm */
	at = find(der, len, "\x2a\x86\x48\xce\x3d\x04\x03\x02", 8);
	T_CHECK(at != (size_t)-1, "signature algorithm not found");
	if (at != (size_t)-1)
		mutated(der, len, at + 7, 0x01, "csr_bad_signature",
		    "ecdsa-with-SHA384 claimed over a SHA-256 signature");
	OPENSSL_free(pt);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

/* ---- weak RSA moduli, public keys only ---- */

static EVP_PKEY *
rsa_pub(const BIGNUM *n, unsigned long e)
{
	OSSL_PARAM_BLD	*bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params;
	EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY	*pk = NULL;
	BIGNUM		*be = BN_new();

	BN_set_word(be, e);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(be);
	return pk;
}

static void
expect_key(const BIGNUM *n, unsigned long e, const char *want,
    const char *what)
{
	EVP_PKEY	*pk = rsa_pub(n, e);
	char		 reason[64] = "", msg[512] = "";
	int		 rc;

	T_CHECK(pk != NULL, "%s: cannot make key", what);
	if (pk == NULL)
		return;
	rc = key_check(pk, reason, sizeof(reason), msg, sizeof(msg));
	if (want == NULL)
		T_CHECK(rc == 0, "%s refused: %s: %s", what, reason, msg);
	else {
		T_CHECK(rc == -1, "%s accepted", what);
		T_CHECK(strcmp(reason, want) == 0, "%s: %s, not %s (%s)",
		    what, reason, want, msg);
	}
	EVP_PKEY_free(pk);
}

static void
test_weak_keys(void)
{
	static const unsigned int primes[] = {
		3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59,
		61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127,
		131, 137, 139, 149, 151, 157, 163, 167
	};
	BN_CTX		*ctx = BN_CTX_new();
	BIGNUM		*p = BN_new(), *q = BN_new(), *n = BN_new(),
			*m = BN_new(), *g = BN_new(), *t = BN_new();
	unsigned int	 d;
	size_t		 i;
	int		 clean, tries;

	BN_generate_prime_ex2(p, 1024, 0, NULL, NULL, NULL, ctx);
	BN_generate_prime_ex2(q, 1024, 0, NULL, NULL, NULL, ctx);
	BN_mul(n, p, q, ctx);
	expect_key(n, 65537, NULL, "random 2048-bit modulus");
	expect_key(n, 3, "csr_key_exponent", "e = 3");
	expect_key(n, 65536, "csr_key_exponent", "e = 65536");
	expect_key(n, 65539, NULL, "e = 65539");

	/* p^2: a prime power */
	BN_sqr(n, p, ctx);
	expect_key(n, 65537, "csr_key_modulus", "p^2");
	/* an even modulus */
	BN_mul(n, p, q, ctx);
	BN_add_word(n, 1);
	expect_key(n, 65537, "csr_key_modulus", "even modulus");
	/* a factor below 752: 743 * (a 2038-bit number) */
	BN_rand(t, 2038, BN_RAND_TOP_TWO, BN_RAND_BOTTOM_ODD);
	BN_mul_word(t, 743);
	T_CHECK(BN_num_bits(t) == 2048, "743 * t has %d bits",
	    BN_num_bits(t));
	expect_key(t, 65537, "csr_key_modulus", "factor 743");

	/* close primes: q is the next prime after p */
	BN_copy(q, p);
	do {
		BN_add_word(q, 2);
	} while (BN_check_prime(q, ctx, NULL) != 1);
	BN_mul(n, p, q, ctx);
	expect_key(n, 65537, "csr_key_weak", "Fermat-factorable");

	/*
	 * The ROCA fingerprint: n = 65537^c mod M + k*M, M the product of
	 * the primes 3..167, with k chosen for 2048 bits, odd, and no other
	 * small factor.
	 */
	BN_one(m);
	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		BN_mul_word(m, primes[i]);
	BN_set_word(g, 65537);
	BN_set_word(t, 1234567);
	BN_mod_exp(g, g, t, m, ctx);
	BN_rand(n, 2048, BN_RAND_TOP_TWO, BN_RAND_BOTTOM_ANY);
	BN_div(t, NULL, n, m, ctx);
	for (tries = 0; tries < 100000; tries++) {
		BN_mul(n, t, m, ctx);
		BN_add(n, n, g);
		clean = BN_is_odd(n) && BN_num_bits(n) == 2048;
		for (d = 169; clean && d < 752; d += 2)
			if (BN_mod_word(n, d) == 0)
				clean = 0;
		if (clean)
			break;
		BN_add_word(t, 1);
	}
	T_CHECK(clean, "no ROCA test modulus found");
	expect_key(n, 65537, "csr_key_weak", "ROCA fingerprint");

	BN_free(p);
	BN_free(q);
	BN_free(n);
	BN_free(m);
	BN_free(g);
	BN_free(t);
	BN_CTX_free(ctx);
}

/* ---- CA ---- */

static void
test_ca_files(const char *dir)
{
	static const char *names[] = { "root.pem", "root.key", "ca.pem",
	    "ca.key", "chain.pem" };
	struct stat	 st;
	char		 path[600];
	size_t		 i;

	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		T_CHECK(stat(path, &st) == 0, "%s missing", path);
		if (strstr(names[i], ".key") != NULL)
			T_CHECK((st.st_mode & 077) == 0, "%s mode %o", path,
			    (unsigned)st.st_mode & 0777);
	}
}

/* The CA certificates themselves (S/MIME BR 7.1.2.1, 7.1.2.2). */
static void
test_ca_certs(const struct ca *ca)
{
	X509		*ica = ca->cert, *root;
	uint32_t	 fl;

	T_CHECK(sk_X509_num(ca->chain) == 2, "chain of %d",
	    sk_X509_num(ca->chain));
	if (sk_X509_num(ca->chain) != 2)
		return;
	root = sk_X509_value(ca->chain, 1);
	fl = X509_get_extension_flags(ica);
	T_CHECK((fl & EXFLAG_CA) && X509_get_pathlen(ica) == 0,
	    "issuing CA basicConstraints");
	T_CHECK(X509_get_key_usage(ica) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
	    "issuing CA keyUsage %x", X509_get_key_usage(ica));
	T_CHECK((fl & EXFLAG_XKUSAGE) &&
	    (X509_get_extended_key_usage(ica) & XKU_SMIME),
	    "issuing CA EKU lacks emailProtection");
	T_CHECK(X509_get_ext_by_NID(ica, NID_certificate_policies, -1) >= 0,
	    "issuing CA has no certificatePolicies");
	T_CHECK(X509_get_ext_by_NID(ica, NID_crl_distribution_points, -1) >=
	    0, "issuing CA has no CRL DP");
	T_CHECK(X509_get0_authority_key_id(ica) != NULL &&
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(ica),
	    X509_get0_subject_key_id(root)) == 0, "issuing CA AKI");
	T_CHECK(X509_check_issued(root, ica) == X509_V_OK, "chain link");
	T_CHECK(X509_get_ext_by_NID(root, NID_ext_key_usage, -1) < 0,
	    "root has an EKU");
	T_CHECK(X509_get_ext_by_NID(root, NID_certificate_policies, -1) < 0,
	    "root has policies");
	T_CHECK(X509_check_ca(root) == 1 && X509_get_pathlen(root) == -1,
	    "root basicConstraints");
	T_CHECK(X509_get0_subject_key_id(root) != NULL, "root SKI");
}

/* The signer process (keyproc.h) of the CA in dir. */
static struct keyproc *
signer_start(const char *dir, int workers, char *err, size_t errlen)
{
	struct conf	 k;

	memset(&k, 0, sizeof(k));
	k.ca_dir = (char *)dir;
	k.ca_key = k.pkcs11_module = k.pkcs11_pin_file = "";
	k.workers = workers;
	return keyproc_start(&k, err, errlen);
}

static void
test_ca_refusals(const char *rsadir, const char *p384dir, struct ca *eca)
{
	char		 err[512], warn[512], path[600], path2[600],
			 path3[600], d[600];
	static const char *small[] = { "rsa3072", "rsa2048", "rsa1024" };
	struct ca	*ca;
	struct keyproc	*kp;
	struct stat	 st;
	size_t		 i;

	/* refuses to overwrite */
	T_CHECK(ca_init_demo(rsadir, "rsa4096", err, sizeof(err)) == -1,
	    "ca_init_demo overwrote");
	T_CHECK(strstr(err, "exists") != NULL, "message: %s", err);
	T_CHECK(ca_init_demo(rsadir, "ed25519", err, sizeof(err)) == -1,
	    "unknown key algorithm accepted");
	T_CHECK(ca_keyalg("rsa8192", err, sizeof(err)) == -1,
	    "rsa8192 is not offered");
	T_CHECK(ca_keyalg(NULL, err, sizeof(err)) == 1 &&
	    ca_keyalg("p384", err, sizeof(err)) == 1 &&
	    ca_keyalg("rsa4096", err, sizeof(err)) == 0, "offered keys");

	/* S/MIME BR 6.1.5 (ballot SMC017v2): no new RSA CA key under 4096 */
	snprintf(d, sizeof(d), "%s/small-rsa", tmp);
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		T_CHECK(ca_init_demo(d, small[i], err, sizeof(err)) == -1,
		    "new %s CA key accepted", small[i]);
		T_CHECK(strstr(err, "6.1.5") != NULL && strstr(err,
		    "SMC017v2") != NULL && strstr(err, "4096") != NULL,
		    "message: %s", err);
	}
	T_CHECK(stat(d, &st) == -1 && errno == ENOENT,
	    "a refused key algorithm created %s", d);

	/* a key readable by the group: the signer process refuses it */
	snprintf(path, sizeof(path), "%s/ca.key", rsadir);
	chmod(path, 0640);
	kp = signer_start(rsadir, 1, err, sizeof(err));
	T_CHECK(kp == NULL, "the signer accepted a 0640 key");
	T_CHECK(strstr(err, "0640") != NULL && strstr(err, "group or "
	    "others") != NULL, "message: %s", err);
	keyproc_stop(kp);
	chmod(path, 0604);
	T_CHECK((kp = signer_start(rsadir, 1, err, sizeof(err))) == NULL,
	    "the signer accepted a 0604 key");
	keyproc_stop(kp);
	chmod(path, 0600);
	T_CHECK((kp = signer_start(rsadir, 1, err, sizeof(err))) != NULL,
	    "signer: %s", err);
	keyproc_stop(kp);

	/* hash rules */
	T_CHECK(ca_hash_ok(eca, "sha256", err, sizeof(err)) == -1,
	    "P-384 CA accepted sha256");
	T_STREQ(err, "S/MIME BR 7.1.3.2.2: ECDSA P-384 issuing CA signs "
	    "with sha384 only");
	T_CHECK(ca_hash_ok(eca, "sha512", err, sizeof(err)) == -1,
	    "P-384 CA accepted sha512");
	T_CHECK(ca_hash_ok(eca, "sha384", err, sizeof(err)) == 0,
	    "P-384 CA refused sha384");
	T_CHECK(ca_hash_ok(eca, "md5", err, sizeof(err)) == -1, "md5");

	/* import: a mismatched key, then the real one, then again */
	snprintf(d, sizeof(d), "%s/imported", tmp);
	snprintf(path, sizeof(path), "%s/ca.pem", rsadir);
	snprintf(path2, sizeof(path2), "%s/ca.key", p384dir);
	snprintf(path3, sizeof(path3), "%s/chain.pem", rsadir);
	T_CHECK(ca_import(d, path, path2, path3, warn, sizeof(warn), err,
	    sizeof(err)) == -1,
	    "imported a key that does not match");
	T_CHECK(strstr(err, "does not match") != NULL, "message: %s", err);
	snprintf(path2, sizeof(path2), "%s/root.pem", rsadir);
	snprintf(path3, sizeof(path3), "%s/root.key", rsadir);
	T_CHECK(ca_import(d, path2, path3, NULL, warn, sizeof(warn), err,
	    sizeof(err)) == -1,
	    "a root was imported as issuing CA");
	T_CHECK(strstr(err, "6.1.7") != NULL, "message: %s", err);
	snprintf(path2, sizeof(path2), "%s/ca.key", rsadir);
	T_CHECK(ca_import(d, path, path2, NULL, warn, sizeof(warn), err,
	    sizeof(err)) == 0,
	    "ca_import without a chain file: %s", err);
	T_CHECK(warn[0] == '\0', "RSA-4096 CA import warned: %s", warn);
	snprintf(d, sizeof(d), "%s/imported2", tmp);
	snprintf(path2, sizeof(path2), "%s/ca.key", rsadir);
	snprintf(path3, sizeof(path3), "%s/root.pem", rsadir);
	T_CHECK(ca_import(d, path, path2, path3, warn, sizeof(warn), err,
	    sizeof(err)) == 0,
	    "ca_import: %s", err);
	T_CHECK(ca_import(d, path, path2, path3, warn, sizeof(warn), err,
	    sizeof(err)) == -1,
	    "ca_import overwrote");
	if ((ca = ca_load(d, err, sizeof(err))) != NULL) {
		T_CHECK(sk_X509_num(ca->chain) == 2, "imported chain");
		ca_free(ca);
	} else
		T_CHECK(0, "load imported: %s", err);
	chmod(path2, 0644);
	snprintf(d, sizeof(d), "%s/imported3", tmp);
	T_CHECK(ca_import(d, path, path2, path3, warn, sizeof(warn), err,
	    sizeof(err)) == -1,
	    "imported a world-readable key");
	chmod(path2, 0600);
}

/*
 * S/MIME BR 6.1.5 (ballot SMC017v2): an RSA CA key under 3072 bits may
 * issue until 2027-09-14 (a warning) and nothing from 2027-09-15 on; an
 * RSA-3072 one is fine either side of the date.
 */
static void
test_rsa_sunset(void)
{
	static const size_t	 bits[] = { 2048, 3072 };
	struct ca		 ca;
	EVP_PKEY		*k;
	X509			*x;
	char			 msg[512];
	size_t			 i;

	for (i = 0; i < 2; i++) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits[i]);
		x = X509_new();
		T_CHECK(k != NULL && x != NULL && X509_set_pubkey(x, k),
		    "RSA-%zu key", bits[i]);
		if (k == NULL || x == NULL) {
			EVP_PKEY_free(k);
			X509_free(x);
			return;
		}
		memset(&ca, 0, sizeof(ca));
		ca.cert = x;
		setenv("CERTSPOOL_NOW", "2027-09-14T23:59:59Z", 1);
		T_CHECK(ca_key_rule(x, msg, sizeof(msg)) == (i == 0 ? 1 : 0),
		    "RSA-%zu before the date: %s", bits[i], msg);
		T_CHECK(i == 1 || strstr(msg, "2027-09-15") != NULL,
		    "warning: %s", msg);
		T_CHECK(ca_hash_ok(&ca, "sha256", msg, sizeof(msg)) == 0,
		    "RSA-%zu refused before the date: %s", bits[i], msg);
		setenv("CERTSPOOL_NOW", "2027-09-15T00:00:00Z", 1);
		T_CHECK(ca_key_rule(x, msg, sizeof(msg)) == (i == 0 ? -1 : 0),
		    "RSA-%zu from the date: %s", bits[i], msg);
		T_CHECK(ca_hash_ok(&ca, "sha256", msg, sizeof(msg)) ==
		    (i == 0 ? -1 : 0), "RSA-%zu issues from the date",
		    bits[i]);
		T_CHECK(ca_hash_ok(&ca, "", msg, sizeof(msg)) ==
		    (i == 0 ? -1 : 0), "RSA-%zu, no hash asked", bits[i]);
		T_CHECK(i == 1 || (strstr(msg, "6.1.5") != NULL &&
		    strstr(msg, "SMC017v2") != NULL && strstr(msg, "3072") !=
		    NULL), "refusal: %s", msg);
		unsetenv("CERTSPOOL_NOW");
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

/* ---- issuing ---- */

struct env {
	const char	*name;		/* "rsa" or "p384" */
	char		 dir[300];
	struct ca	*ca;
	char		 gnupg[300];
	int		 gnupg_ok;
};

static int
ext_critical(X509 *x, int nid)
{
	int	 i = X509_get_ext_by_NID(x, nid, -1);

	return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static char *
name_attr(X509 *x, int nid)
{
	X509_NAME	*nm = X509_get_subject_name(x);
	int		 i = X509_NAME_get_index_by_NID(nm, nid, -1);
	ASN1_STRING	*s;
	unsigned char	*u = NULL;
	char		*r;

	if (i < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
	if (ASN1_STRING_to_UTF8(&u, s) < 0)
		return NULL;
	r = strdup((char *)u);
	OPENSSL_free(u);
	return r;
}

static void
check_name(X509 *x, int nid, const char *want, const char *what)
{
	char	*v = name_attr(x, nid);

	if (want == NULL)
		T_CHECK(v == NULL, "%s: unexpected %s=%s", what,
		    OBJ_nid2sn(nid), v);
	else
		T_CHECK(v != NULL && strcmp(v, want) == 0, "%s: %s is %s, not "
		    "%s", what, OBJ_nid2sn(nid), v ? v : "(absent)", want);
	free(v);
}

/* The DER SubjectPublicKeyInfo of a request's key, kept until the end. */
static unsigned char	*spki_bufs[512];
static size_t		 nspki_bufs;

static void
req_key(struct cert_req *r, EVP_PKEY *key)
{
	unsigned char	*der;
	size_t		 len;

	r->spki = NULL;
	r->spkilen = 0;
	if (nspki_bufs == sizeof(spki_bufs) / sizeof(spki_bufs[0]) ||
	    key_spki(key, &der, &len) == -1) {
		T_CHECK(0, "key_spki");
		return;
	}
	spki_bufs[nspki_bufs++] = der;
	r->spki = der;
	r->spkilen = len;
}

/* ca_sign_tbs, decoded for the checks. */
static X509 *
sign_x509(const struct ca *ca, const unsigned char *tbs, size_t len)
{
	unsigned char		*der;
	const unsigned char	*p;
	size_t			 derlen;
	X509			*x;

	if (ca_sign_tbs(ca, tbs, len, &der, &derlen) == -1)
		return NULL;
	p = der;
	x = d2i_X509(NULL, &p, (long)derlen);
	T_CHECK(x != NULL && p == der + derlen, "ca_sign_tbs: the "
	    "certificate does not decode");
	free(der);
	return x;
}

/* Fill a request for product i; strings point to static storage. */
static void
fill_req(struct cert_req *r, size_t i, const char *email)
{
	memset(r, 0, sizeof(*r));
	r->prod = product_find(prods[i].name);
	r->email = email;
	r->cn_type = CN_EMAIL;
	if (prods[i].org) {
		r->org_name = "Acme Corp";
		r->org_country = "US";
		r->org_identifier = "NTRUS+CA-1234567";
	}
	if (strcmp(prods[i].name, "secure_email_organization") == 0)
		r->cn_type = CN_ORGANIZATION;
	if (strcmp(prods[i].name, "secure_email_business") == 0) {
		r->cn_type = CN_NAME;
		r->cn = "Jane Doe";
		r->given_name = "Jane";
		r->surname = "Doe";
	} else if (strcmp(prods[i].name, "premium") == 0) {
		r->cn_type = CN_NAME;
		r->cn = "John Roe";
		r->given_name = "John";
		r->surname = "Roe";
	} else if (strcmp(prods[i].name, "email_security_plus") == 0) {
		r->cn_type = CN_NAME;
		r->cn = "Agent 99";
		r->pseudonym = "Agent 99";
	} else if (strcmp(prods[i].name, "digital_signature_plus") == 0) {
		r->surname = "Patel";	/* a single legal name, CN = email */
	}
}

/* The profile rules, read back from the signed certificate. */
static void
check_cert(X509 *x, const struct cert_req *r, size_t i,
    const struct ca *ca, int rsa_key, const char *what)
{
	CERTIFICATEPOLICIES	*cp;
	GENERAL_NAMES		*san;
	GENERAL_NAME		*gn;
	ASN1_INTEGER		*sn;
	BIGNUM			*bn;
	unsigned char		*der = NULL;
	char			 oid[64];
	uint32_t		 ku, wantku;
	int			 crit, day, sec, n;

	T_CHECK(X509_get_version(x) == X509_VERSION_3, "%s: version", what);
	T_CHECK(X509_verify(x, X509_get0_pubkey(ca->cert)) == 1,
	    "%s: signature", what);

	/* policy: exactly one, the expected OID */
	cp = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	T_CHECK(cp != NULL && sk_POLICYINFO_num(cp) == 1 && crit == 0,
	    "%s: policies", what);
	if (cp != NULL && sk_POLICYINFO_num(cp) == 1) {
		OBJ_obj2txt(oid, sizeof(oid),
		    sk_POLICYINFO_value(cp, 0)->policyid, 1);
		T_CHECK(strcmp(oid, prods[i].oid) == 0, "%s: policy %s, not "
		    "%s", what, oid, prods[i].oid);
	}
	CERTIFICATEPOLICIES_free(cp);

	/* keyUsage */
	ku = X509_get_key_usage(x);
	wantku = prods[i].sign_only ? KU_DIGITAL_SIGNATURE : rsa_key ?
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT :
	    KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
	T_CHECK(ku == wantku, "%s: keyUsage %x, not %x", what, ku, wantku);
	T_CHECK(ext_critical(x, NID_key_usage) == 1, "%s: KU not critical",
	    what);

	/* EKU */
	T_CHECK(X509_get_extended_key_usage(x) == (prods[i].client_auth ?
	    XKU_SMIME | XKU_SSL_CLIENT : XKU_SMIME), "%s: EKU %x", what,
	    X509_get_extended_key_usage(x));

	/* SAN: the mailbox only, not the CSR's */
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	T_CHECK(san != NULL && sk_GENERAL_NAME_num(san) == 1, "%s: SAN",
	    what);
	if (san != NULL && sk_GENERAL_NAME_num(san) == 1) {
		gn = sk_GENERAL_NAME_value(san, 0);
		T_CHECK(gn->type == GEN_EMAIL && strcmp((const char *)
		    ASN1_STRING_get0_data(gn->d.rfc822Name), r->email) == 0,
		    "%s: SAN value", what);
		T_CHECK(crit == 0, "%s: SAN critical", what);
	}
	GENERAL_NAMES_free(san);

	/* subject per validation type */
	switch (r->cn_type) {
	case CN_EMAIL:
		check_name(x, NID_commonName, r->email, what);
		break;
	case CN_ORGANIZATION:
		check_name(x, NID_commonName, r->org_name, what);
		break;
	case CN_NAME:
		check_name(x, NID_commonName, r->cn, what);
		break;
	default:
		break;
	}
	check_name(x, NID_organizationName, prods[i].org ? "Acme Corp" : NULL,
	    what);
	check_name(x, NID_organizationIdentifier, prods[i].org ?
	    "NTRUS+CA-1234567" : NULL, what);
	check_name(x, NID_countryName, prods[i].org ? "US" : NULL, what);
	check_name(x, NID_givenName, prods[i].sponsor ? r->given_name : NULL,
	    what);
	check_name(x, NID_surname, prods[i].sponsor ? r->surname : NULL, what);
	check_name(x, NID_pseudonym, prods[i].sponsor ? r->pseudonym : NULL,
	    what);
	check_name(x, NID_pkcs9_emailAddress, NULL, what);
	n = X509_NAME_entry_count(X509_get_subject_name(x));
	T_CHECK(n == 1 + (prods[i].org ? 3 : 0) + (r->given_name ? 1 : 0) +
	    (r->surname ? 1 : 0) + (r->pseudonym ? 1 : 0), "%s: %d subject "
	    "attributes", what, n);

	/* AKI = CA SKI, SKI present */
	T_CHECK(X509_get0_authority_key_id(x) != NULL &&
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(ca->cert)) == 0, "%s: AKI", what);
	T_CHECK(X509_get0_authority_issuer(x) == NULL &&
	    X509_get0_authority_serial(x) == NULL, "%s: AKI has issuer/serial",
	    what);
	T_CHECK(X509_get0_subject_key_id(x) != NULL, "%s: SKI", what);

	/* validity at most 825 days, as ordered */
	T_CHECK(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)) && (long long)day * 86400 + sec <=
	    825LL * 86400 - 1, "%s: validity", what);
	T_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), r->not_after) == 0,
	    "%s: notAfter", what);

	/* serial: positive, < 2^159, >= 64 bits */
	sn = (ASN1_INTEGER *)X509_get0_serialNumber(x);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	T_CHECK(bn != NULL && !BN_is_negative(bn) && BN_num_bits(bn) > 64 &&
	    BN_num_bits(bn) <= 159, "%s: serial", what);
	BN_free(bn);

	/* signature algorithm fits the CA key */
	T_CHECK(X509_get_signature_nid(x) == (ca->is_ec ?
	    NID_ecdsa_with_SHA384 : !strcmp(r->hash, "sha384") ?
	    NID_sha384WithRSAEncryption : !strcmp(r->hash, "sha512") ?
	    NID_sha512WithRSAEncryption : NID_sha256WithRSAEncryption),
	    "%s: signature algorithm %s", what,
	    OBJ_nid2sn(X509_get_signature_nid(x)));

	/* HTTP CRL DP and AIA, no basicConstraints, nothing of the CSR */
	T_CHECK(ext_critical(x, NID_crl_distribution_points) == 0,
	    "%s: CRL DP", what);
	T_CHECK(ext_critical(x, NID_info_access) == 0, "%s: AIA", what);
	T_CHECK(ext_critical(x, NID_basic_constraints) == -1,
	    "%s: basicConstraints present", what);
	T_CHECK(X509_get_ext_count(x) == 8, "%s: %d extensions", what,
	    X509_get_ext_count(x));
	n = i2d_X509(x, &der);
	T_CHECK(n > 0 && memmem(der, (size_t)n, "ignored", 7) == NULL &&
	    memmem(der, (size_t)n, "Junk", 4) == NULL,
	    "%s: CSR data reached the certificate", what);
	OPENSSL_free(der);
}

/* Set up the trust stores of the independent verifiers for one CA. */
static void
setup_verifiers(struct env *e)
{
	snprintf(e->gnupg, sizeof(e->gnupg), "%s/gnupg-%s", tmp, e->name);
	mkdir(e->gnupg, 0700);
	e->gnupg_ok = sh("GNUPGHOME=%s gpgsm --batch --disable-dirmngr "
	    "--import %s/root.pem %s/ca.pem", e->gnupg, e->dir, e->dir) == 0 &&
	    sh("openssl x509 -in %s/root.pem -noout -fingerprint -sha1 | "
	    "sed 's/.*=//; s/$/ S/' > %s/trustlist.txt", e->dir,
	    e->gnupg) == 0;
	T_CHECK(e->gnupg_ok, "gpgsm setup for %s", e->name);
}

static void
nss_db(const struct env *e, const char *db)
{
	T_CHECK(sh("mkdir -p %s && certutil -N --empty-password -d sql:%s && "
	    "certutil -A -n root -t C,C,C -i %s/root.pem -d sql:%s && "
	    "certutil -A -n ica -t ,, -i %s/ca.pem -d sql:%s", db, db, e->dir,
	    db, e->dir, db) == 0, "NSS db %s", db);
}

/* Independent verifiers over cert.pem/key.pem in certdir. */
static void
verify_external(struct env *e, const char *cert, const char *key,
    const char *nssdb, const char *nick, const char *email, int sign_only,
    int rsa_key, const char *what)
{
	const char	*d = e->dir;

	/* OpenSSL */
	T_CHECK(sh("openssl verify -purpose smimesign -CAfile %s/root.pem "
	    "-untrusted %s/ca.pem %s", d, d, cert) == 0,
	    "%s: openssl verify smimesign", what);
	if (rsa_key)
		T_CHECK(sh("openssl verify -purpose smimeencrypt -CAfile "
		    "%s/root.pem -untrusted %s/ca.pem %s", d, d, cert) ==
		    (sign_only ? 2 : 0), "%s: openssl verify smimeencrypt %s",
		    what, sign_only ? "accepted a signing-only key" : "");

	/* GnuTLS */
	T_CHECK(sh("cat %s %s/ca.pem > %s.chain && certtool --verify "
	    "--load-ca-certificate %s/root.pem --infile %s.chain "
	    "--verify-purpose 1.3.6.1.5.5.7.3.4 --verify-email %s", cert, d,
	    cert, d, cert, email) == 0 &&
	    strstr(sh_out(), "Chain verification output: Verified.") != NULL,
	    "%s: certtool --verify", what);

	/* NSS */
	T_CHECK(sh("certutil -A -n %s -t ,, -i %s -d sql:%s && "
	    "certutil -V -n %s -u S -d sql:%s", nick, cert, nssdb, nick,
	    nssdb) == 0 && strstr(sh_out(), "certificate is valid") != NULL,
	    "%s: certutil -V -u S", what);
	/* NSS lets a signing-only ECC key through as a recipient */
	if (!sign_only || rsa_key)
		T_CHECK(sh("certutil -V -n %s -u R -d sql:%s", nick, nssdb) ==
		    (sign_only ? 255 : 0), "%s: certutil -V -u R %s", what,
		    sign_only ? "accepted a signing-only key" : "");

	/* GnuPG */
	if (e->gnupg_ok)
		T_CHECK(sh("GNUPGHOME=%s gpgsm --batch --disable-dirmngr "
		    "--import %s && GNUPGHOME=%s gpgsm --batch "
		    "--disable-dirmngr --disable-crl-checks --with-validation "
		    "--list-keys $(openssl x509 -in %s -noout -fingerprint "
		    "-sha1 | sed 's/.*=//; s/://g')", e->gnupg, cert,
		    e->gnupg, cert) == 0 &&
		    strstr(sh_out(), "[certificate is good]") != NULL,
		    "%s: gpgsm import and validation", what);

	/* CMS round trips */
	T_CHECK(sh("cd %s && echo 'certspool test message' > msg.txt && "
	    "openssl cms -sign -binary -in msg.txt -signer %s -inkey %s -certfile "
	    "%s/ca.pem -out signed.p7m && openssl cms -verify -binary "
	    "-in signed.p7m "
	    "-CAfile %s/root.pem -out verified.txt && "
	    "cmp msg.txt verified.txt", tmp, cert, key, d, d) == 0,
	    "%s: CMS sign/verify", what);
	if (!sign_only)
		T_CHECK(sh("cd %s && openssl cms -encrypt -binary "
		    "-aes-256-cbc -in msg.txt -out enc.p7m %s && openssl cms -decrypt "
		    "-in enc.p7m -recip %s -inkey %s -out dec.txt && "
		    "cmp msg.txt dec.txt", tmp, cert, cert, key) == 0,
		    "%s: CMS encrypt/decrypt", what);
}

static X509 *
issue(struct env *e, struct cert_req *r, const char *what)
{
	char		 err[512], reason[64], msg[512];
	unsigned char	*tbs = NULL;
	size_t		 tbslen;
	X509		*x = NULL;

	serial_new(r->serial, &r->serial_len);
	if (profile_build(e->ca, &conf, r, &tbs, &tbslen, err,
	    sizeof(err)) == -1) {
		T_CHECK(0, "%s: profile_build: %s", what, err);
		return NULL;
	}
	T_CHECK(lint_tbs(e->ca, &conf, r, tbs, tbslen, reason, sizeof(reason),
	    msg, sizeof(msg)) == 0, "%s: lint: %s: %s", what, reason, msg);
	x = sign_x509(e->ca, tbs, tbslen);
	T_CHECK(x != NULL, "%s: ca_sign_tbs", what);
	free(tbs);
	return x;
}

static void
test_issue_all(struct env *e, EVP_PKEY *keys[NKEYS], char *csrs[NKEYS])
{
	static const char	*rsahash[] = { "sha256", "sha384", "sha512" };
	struct cert_req		 r;
	EVP_PKEY		*pub;
	X509			*x;
	char			 what[200], email[100], cert[400], key[400],
				 db[400], nick[40], reason[64], msg[512];
	size_t			 k, i;
	time_t			 now = clock_now();

	for (k = 0; k < NKEYS; k++) {
		snprintf(key, sizeof(key), "%s/key-%s-%zu.pem", tmp, e->name,
		    k);
		write_key(key, keys[k]);
		snprintf(db, sizeof(db), "%s/nss-%s-%zu", tmp, e->name, k);
		nss_db(e, db);
		for (i = 0; i < NPRODS; i++) {
			snprintf(what, sizeof(what), "%s CA, %s, %s", e->name,
			    keyalgs[k], prods[i].name);
			/* the CSR key stage gives the key */
			T_CHECK(csr_check(csrs[k], strlen(csrs[k]), &pub,
			    reason, sizeof(reason), msg, sizeof(msg)) == 0,
			    "%s: csr_check: %s", what, msg);
			snprintf(email, sizeof(email), "user.%zu@acme.example",
			    i);
			fill_req(&r, i, email);
			T_CHECK(r.prod != NULL, "%s: product_find", what);
			if (r.prod == NULL || pub == NULL) {
				EVP_PKEY_free(pub);
				continue;
			}
			req_key(&r, pub);
			r.hash = e->ca->is_ec ? "sha384" :
			    rsahash[(i + k) % 3];
			r.not_before = now - 60;
			r.not_after = r.not_before + 825 * 86400 - 1 -
			    (long)(i * 86400);
			x = issue(e, &r, what);
			if (x != NULL) {
				check_cert(x, &r, i, e->ca, k < 2, what);
				snprintf(cert, sizeof(cert),
				    "%s/cert-%s-%zu-%zu.pem", tmp, e->name, k,
				    i);
				write_cert(cert, x);
				snprintf(nick, sizeof(nick), "leaf%zu", i);
				verify_external(e, cert, key, db, nick, email,
				    prods[i].sign_only, k < 2, what);
			}
			X509_free(x);
			EVP_PKEY_free(pub);
		}
	}
}

/* CRL shards (SPEC 7.3): the CDP is the certificate's shard's URL, and
 * the linter wants exactly that one. */
static void
test_shard_cdp(struct env *rsa, const struct cert_req *base)
{
	struct cert_req	 r = *base, r2;
	struct conf	 c2 = conf;
	unsigned char	*tbs = NULL;
	size_t		 tbslen;
	char		 err[512], reason[64], msg[512];
	X509		*x = NULL;
	CRL_DIST_POINTS	*dps = NULL;
	GENERAL_NAME	*gn;
	const char	*uri = "";

	c2.crl_url = "http://crl.certspool.example/ca-{shard}.crl";
	c2.crl_shards = 4;
	r.crl_shard = crl_shard_of(r.serial, r.serial_len, 4);
	T_CHECK(profile_build(rsa->ca, &c2, &r, &tbs, &tbslen, err,
	    sizeof(err)) == 0, "sharded profile: %s", err);
	T_CHECK(lint_tbs(rsa->ca, &c2, &r, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == 0, "sharded lint: %s", msg);
	if (tbs != NULL && (x = sign_x509(rsa->ca, tbs, tbslen)) != NULL &&
	    (dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
	    NULL)) != NULL && sk_DIST_POINT_num(dps) == 1) {
		gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps,
		    0)->distpoint->name.fullname, 0);
		uri = (const char *)ASN1_STRING_get0_data(
		    gn->d.uniformResourceIdentifier);
	}
	snprintf(err, sizeof(err), "http://crl.certspool.example/ca-%d.crl",
	    r.crl_shard);
	T_STREQ(uri, err);
	r2 = r;
	r2.crl_shard = (r.crl_shard + 1) % 4;
	T_CHECK(lint_tbs(rsa->ca, &c2, &r2, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: other shard");
	T_STREQ(reason, "lint_crl_dp");
	free(tbs);
	tbs = NULL;
	r2.crl_shard = 4;
	T_CHECK(profile_build(rsa->ca, &c2, &r2, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "shard 4 of 4 accepted");
	CRL_DIST_POINTS_free(dps);
	X509_free(x);
	free(tbs);
}

/* Edge cases of the profile and the independence of the linter. */
static void
test_profile_edges(struct env *rsa, struct env *p384, EVP_PKEY *key)
{
	struct cert_req	 r, r2;
	struct conf	 c2;
	unsigned char	*tbs = NULL;
	size_t		 tbslen;
	char		 err[512], reason[64], msg[512], longmail[100],
			 cert[400];
	X509		*x;
	GENERAL_NAMES	*san;
	GENERAL_NAME	*gn;
	time_t		 now = clock_now();
	struct tm	 tm;

	/* 825 days counted inclusively: +1 s is refused */
	fill_req(&r, 0, "alice@acme.example");
	req_key(&r, key);
	r.hash = "sha256";
	r.not_before = now;
	r.not_after = now + 825 * 86400;
	serial_new(r.serial, &r.serial_len);
	T_CHECK(profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "825 days + 1 s accepted");
	T_CHECK(strstr(err, "6.3.2") != NULL, "message: %s", err);
	r.not_after = now + 825 * 86400 - 1;
	T_CHECK(profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == 0, "825 days refused: %s", err);

	/* the linter sees what the order did not ask for */
	r2 = r;
	r2.not_after -= 1;
	T_CHECK(lint_tbs(rsa->ca, &conf, &r2, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: notAfter");
	T_STREQ(reason, "lint_validity");
	r2 = r;
	r2.serial[5] ^= 1;
	T_CHECK(lint_tbs(rsa->ca, &conf, &r2, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: serial");
	T_STREQ(reason, "lint_serial");
	r2 = r;
	r2.hash = "sha512";
	T_CHECK(lint_tbs(rsa->ca, &conf, &r2, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: hash");
	T_STREQ(reason, "lint_signature_algorithm");
	r2 = r;
	r2.prod = product_find("client1_smime");
	T_CHECK(lint_tbs(rsa->ca, &conf, &r2, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: product");
	T_STREQ(reason, "lint_policy");
	r2 = r;
	r2.email = "bob@acme.example";
	T_CHECK(lint_tbs(rsa->ca, &conf, &r2, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: email");
	T_STREQ(reason, "lint_subject");
	c2 = conf;
	c2.crl_url = "http://elsewhere.example/ca.crl";
	T_CHECK(lint_tbs(rsa->ca, &c2, &r, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: CRL URL");
	T_STREQ(reason, "lint_crl_dp");
	test_shard_cdp(rsa, &r);
	c2 = conf;
	c2.ocsp_url = "";
	T_CHECK(lint_tbs(rsa->ca, &c2, &r, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: AIA");
	T_STREQ(reason, "lint_aia");
	T_CHECK(lint_tbs(p384->ca, &conf, &r, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: other CA");
	T_STREQ(reason, "lint_signature_algorithm");
	tbs[tbslen - 1] ^= 0x01;	/* flips a bit of the AIA URL */
	T_CHECK(lint_tbs(rsa->ca, &conf, &r, tbs, tbslen, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: tampered");
	T_STREQ(reason, "lint_aia");
	T_CHECK(lint_tbs(rsa->ca, &conf, &r, tbs, tbslen - 1, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1, "lint: truncated");
	T_STREQ(reason, "lint_der");
	free(tbs);
	tbs = NULL;

	/* an ECDSA P-384 CA signs with sha384 only */
	r.hash = "sha256";
	T_CHECK(profile_build(p384->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "P-384 CA built a sha256 TBS");
	T_CHECK(strstr(err, "sha384 only") != NULL, "message: %s", err);

	/* ca_sign_tbs refuses a TBS whose algorithm does not fit */
	r.hash = "sha256";
	if (profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == 0) {
		x = sign_x509(p384->ca, tbs, tbslen);
		T_CHECK(x == NULL, "P-384 CA signed an RSA TBS");
		X509_free(x);
		free(tbs);
		tbs = NULL;
	}

	/* a non-ASCII domain is refused, a non-ASCII local part is not */
	r.email = "alice@b\xc3\xbc" "cher.example";
	T_CHECK(profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "U-label domain accepted");
	T_CHECK(strstr(err, "A-label") != NULL, "message: %s", err);
	r.email = "j\xc3\xb6rg@acme.example";
	r.cn_type = CN_EMAIL;
	x = issue(rsa, &r, "SmtpUTF8Mailbox");
	if (x != NULL) {
		san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		gn = san != NULL && sk_GENERAL_NAME_num(san) == 1 ?
		    sk_GENERAL_NAME_value(san, 0) : NULL;
		T_CHECK(gn != NULL && gn->type == GEN_OTHERNAME &&
		    OBJ_obj2nid(gn->d.otherName->type_id) ==
		    NID_id_on_SmtpUTF8Mailbox &&
		    gn->d.otherName->value->type == V_ASN1_UTF8STRING,
		    "SmtpUTF8Mailbox SAN");
		GENERAL_NAMES_free(san);
		snprintf(cert, sizeof(cert), "%s/utf8.pem", tmp);
		write_cert(cert, x);
		T_CHECK(sh("openssl verify -purpose smimesign -CAfile "
		    "%s/root.pem -untrusted %s/ca.pem %s", rsa->dir, rsa->dir,
		    cert) == 0, "openssl verify of the SmtpUTF8Mailbox cert");
		X509_free(x);
	}

	/* a mailbox longer than ub-common-name: empty subject, SAN critical */
	memset(longmail, 'a', 60);
	strcpy(longmail + 60, "@mail.acme.example");
	r.email = longmail;
	x = issue(rsa, &r, "long mailbox");
	if (x != NULL) {
		T_CHECK(X509_NAME_entry_count(X509_get_subject_name(x)) == 0,
		    "long mailbox: subject not empty");
		T_CHECK(ext_critical(x, NID_subject_alt_name) == 1,
		    "long mailbox: SAN not critical");
		X509_free(x);
	}

	/* sponsor without a name, organization CN for a mailbox product */
	fill_req(&r, 1, "jane@acme.example");
	req_key(&r, key);
	r.not_before = now;
	r.not_after = now + 86400;
	serial_new(r.serial, &r.serial_len);
	r.given_name = r.surname = NULL;
	T_CHECK(profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "sponsor without a name accepted");
	fill_req(&r, 0, "jane@acme.example");
	req_key(&r, key);
	r.not_before = now;
	r.not_after = now + 86400;
	serial_new(r.serial, &r.serial_len);
	r.cn_type = CN_ORGANIZATION;
	T_CHECK(profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "organization CN on a mailbox product");
	r.cn_type = CN_EMAIL;
	c2 = conf;
	c2.crl_url = "https://crl.example/ca.crl";
	T_CHECK(profile_build(rsa->ca, &c2, &r, &tbs, &tbslen, err,
	    sizeof(err)) == -1, "https CRL accepted");

	/* times: UTCTime through 2049, GeneralizedTime from 2050 */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2049 - 1900;
	tm.tm_mon = 5;
	tm.tm_mday = 1;
	r.not_before = timegm(&tm);
	r.not_after = r.not_before + 400 * 86400;
	if (profile_build(rsa->ca, &conf, &r, &tbs, &tbslen, err,
	    sizeof(err)) == 0) {
		T_CHECK(lint_tbs(rsa->ca, &conf, &r, tbs, tbslen, reason,
		    sizeof(reason), msg, sizeof(msg)) == 0, "2050 lint: %s",
		    msg);
		T_CHECK(memmem(tbs, tbslen, "\x17\x0d" "490601", 8) != NULL &&
		    memmem(tbs, tbslen, "\x18\x0f" "2050", 6) != NULL,
		    "UTCTime/GeneralizedTime");
		free(tbs);
	} else
		T_CHECK(0, "2050: %s", err);
}

/* ---- the signer shared by worker threads ---- */

struct sign_job {
	const struct ca		*ca;
	const unsigned char	*tbs;
	size_t			 len;
	int			 ok;
};

static void *
sign_thread(void *arg)
{
	struct sign_job	*j = arg;
	X509		*x;
	int		 i;

	for (i = 0; i < 25; i++) {
		if ((x = sign_x509(j->ca, j->tbs, j->len)) != NULL &&
		    X509_verify(x, X509_get0_pubkey(j->ca->cert)) == 1)
			j->ok++;
		X509_free(x);
	}
	return NULL;
}

static void
test_threads(struct env *envs, EVP_PKEY *key)
{
	struct cert_req	 r[2];
	struct sign_job	 jobs[8];
	pthread_t	 th[8];
	unsigned char	*tbs[2] = { NULL, NULL }, *again = NULL;
	size_t		 len[2], alen, i;
	char		 err[512];

	for (i = 0; i < 2; i++) {
		fill_req(&r[i], 3, "threads@acme.example");
		req_key(&r[i], key);
		r[i].hash = envs[i].ca->is_ec ? "sha384" : "sha512";
		r[i].not_before = clock_now();
		r[i].not_after = r[i].not_before + 30 * 86400;
		serial_new(r[i].serial, &r[i].serial_len);
		T_CHECK(profile_build(envs[i].ca, &conf, &r[i], &tbs[i],
		    &len[i], err, sizeof(err)) == 0, "threads: %s", err);
		if (tbs[i] == NULL)
			goto out;
	}
	/* the same request gives the same bytes */
	T_CHECK(profile_build(envs[0].ca, &conf, &r[0], &again, &alen, err,
	    sizeof(err)) == 0 && alen == len[0] &&
	    memcmp(again, tbs[0], alen) == 0, "profile_build not deterministic");
	free(again);
	for (i = 0; i < 8; i++) {
		jobs[i].ca = envs[i % 2].ca;
		jobs[i].tbs = tbs[i % 2];
		jobs[i].len = len[i % 2];
		jobs[i].ok = 0;
		T_CHECK(pthread_create(&th[i], NULL, sign_thread, &jobs[i]) ==
		    0, "pthread_create");
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		T_CHECK(jobs[i].ok == 25, "thread %zu signed %d of 25", i,
		    jobs[i].ok);
	}
 out:
	free(tbs[0]);
	free(tbs[1]);
}

/* ---- PKCS#12 ---- */

static void
test_p12(struct env *e)
{
	struct cert_req	 r;
	EVP_PKEY	*key, *k2 = NULL;
	X509		*x, *x2 = NULL;
	STACK_OF(X509)	*ca2 = NULL;
	PKCS12		*p12;
	unsigned char	*der = NULL;
	const unsigned char *p;
	size_t		 len;
	char		 pw[40], pw2[40], err[256], path[400];
	int		 legacy;
	size_t		 i;

	p12_password(pw, sizeof(pw));
	p12_password(pw2, sizeof(pw2));
	T_CHECK(strlen(pw) == 26 && strspn(pw,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == 26, "password %s", pw);
	T_CHECK(strcmp(pw, pw2) != 0, "two equal passwords");
	T_CHECK(keygen_new("rsa-1024", err, sizeof(err)) == NULL,
	    "keygen rsa-1024");

	if ((key = keygen_new("ecc-p256", err, sizeof(err))) == NULL) {
		T_CHECK(0, "keygen: %s", err);
		return;
	}
	fill_req(&r, 0, "p12@acme.example");
	req_key(&r, key);
	r.hash = e->ca->is_ec ? "sha384" : "sha256";
	r.not_before = clock_now();
	r.not_after = r.not_before + 365 * 86400;
	if ((x = issue(e, &r, "p12")) == NULL) {
		EVP_PKEY_free(key);
		return;
	}
	for (legacy = 0; legacy <= 1; legacy++) {
		T_CHECK(p12_make(key, x, e->ca->chain, pw, legacy, 0, &der,
		    &len) == 0, "p12_make legacy=%d", legacy);
		if (der == NULL)
			continue;
		p = der;
		p12 = d2i_PKCS12(NULL, &p, (long)len);
		T_CHECK(p12 != NULL && PKCS12_verify_mac(p12, pw, -1) == 1 &&
		    PKCS12_verify_mac(p12, pw2, -1) != 1, "p12 MAC");
		T_CHECK(p12 != NULL && PKCS12_parse(p12, pw, &k2, &x2, &ca2)
		    == 1, "PKCS12_parse");
		T_CHECK(k2 != NULL && EVP_PKEY_eq(k2, key) == 1,
		    "p12 key differs");
		T_CHECK(x2 != NULL && X509_cmp(x2, x) == 0, "p12 cert");
		T_CHECK(sk_X509_num(ca2) == 2, "p12 chain of %d",
		    sk_X509_num(ca2));
		snprintf(path, sizeof(path), "%s/bundle%d.p12", tmp, legacy);
		write_file(path, der, len);
		T_CHECK(sh("openssl pkcs12 -info -noout -passin pass:%s -in "
		    "%s%s", pw, path, legacy ? " -legacy" : "") == 0,
		    "openssl pkcs12 -info legacy=%d", legacy);
		if (!legacy) {
			const char *out = sh_out();

			T_CHECK(strstr(out, "MAC: sha256, Iteration 100000") !=
			    NULL, "p12 MAC: %s", out);
			T_CHECK(strstr(out, "PBES2, PBKDF2, AES-256-CBC, "
			    "Iteration 100000, PRF hmacWithSHA256") != NULL,
			    "p12 encryption: %s", out);
			T_CHECK(strstr(out, "Shrouded Keybag: PBES2, PBKDF2, "
			    "AES-256-CBC") != NULL, "p12 key bag: %s", out);
		} else
			T_CHECK(strstr(sh_out(), "MAC: sha1") != NULL &&
			    strstr(sh_out(), "pbeWithSHA1And3-KeyTripleDES-CBC")
			    != NULL, "legacy p12: %s", sh_out());
		EVP_PKEY_free(k2);
		X509_free(x2);
		sk_X509_pop_free(ca2, X509_free);
		k2 = NULL;
		x2 = NULL;
		ca2 = NULL;
		PKCS12_free(p12);
		free(der);
		der = NULL;
	}
	for (i = 0; i < 5; i++) {
		static const char *algs[] = { "ecc-p256", "ecc-p384",
		    "rsa-2048", "rsa-3072", "rsa-4096" };
		char reason[64], msg[256];

		k2 = keygen_new(algs[i], err, sizeof(err));
		T_CHECK(k2 != NULL && key_check(k2, reason, sizeof(reason),
		    msg, sizeof(msg)) == 0, "keygen %s", algs[i]);
		EVP_PKEY_free(k2);
		k2 = NULL;
	}
	X509_free(x);
	EVP_PKEY_free(key);
}

/* An end-entity certificate is not an issuing CA. */
static void
test_leaf_import(struct env *e)
{
	char	 err[512], warn[512], cert[400], key[400], d[400];

	snprintf(cert, sizeof(cert), "%s/cert-%s-0-0.pem", tmp, e->name);
	snprintf(key, sizeof(key), "%s/key-%s-0.pem", tmp, e->name);
	snprintf(d, sizeof(d), "%s/leaf-as-ca", tmp);
	chmod(key, 0600);
	T_CHECK(ca_import(d, cert, key, NULL, warn, sizeof(warn), err,
	    sizeof(err)) == -1,
	    "a leaf was imported as CA");
	T_CHECK(strstr(err, "not a CA") != NULL, "message: %s", err);
}

static void
find_datadir(const char *argv0)
{
	struct stat	 st;
	char		 d[400], *slash;

	snprintf(datadir, sizeof(datadir), "tests/data/csr");
	if (stat(datadir, &st) == 0)
		return;
	snprintf(d, sizeof(d), "%s", argv0);
	if ((slash = strrchr(d, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(d, sizeof(d), ".");
	snprintf(datadir, sizeof(datadir), "%s/../data/csr", d);
}

int
main(int argc, char *argv[])
{
	static const char *tools[] = { "openssl", "certtool", "certutil",
	    "gpgsm" };
	struct env	 envs[2];
	EVP_PKEY	*keys[NKEYS] = { 0 };
	char		*csrs[NKEYS] = { 0 }, err[512];
	size_t		 i, k;
	int		 rc;

	keyproc_dispatch(argc, argv);
	log_init("stderr", LOGL_ERR);
	find_datadir(argv[0]);
	snprintf(tmp, sizeof(tmp), "/tmp/t_pki.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	conf.crl_url = "http://crl.certspool.example/issuing.crl";
	conf.crl_shards = 1;
	conf.aia_ca_issuers_url = "http://crt.certspool.example/issuing.crt";
	conf.ocsp_url = "http://ocsp.certspool.example";
	conf.p12_profile = "aes";

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		T_CHECK(have_tool(tools[i]), "%s is not installed", tools[i]);

	test_csr_corpus();
	test_csr_framing();
	test_weak_keys();

	memset(envs, 0, sizeof(envs));
	envs[0].name = "rsa";
	envs[1].name = "p384";
	for (i = 0; i < 2; i++) {
		snprintf(envs[i].dir, sizeof(envs[i].dir), "%s/ca-%s", tmp,
		    envs[i].name);
		rc = ca_init_demo(envs[i].dir, i == 0 ? "rsa4096" : NULL, err,
		    sizeof(err));
		T_CHECK(rc == 0, "ca_init_demo %s: %s", envs[i].name, err);
		test_ca_files(envs[i].dir);
		envs[i].ca = ca_load(envs[i].dir, err, sizeof(err));
		T_CHECK(envs[i].ca != NULL, "ca_load %s: %s", envs[i].name,
		    err);
		if (envs[i].ca != NULL) {
			envs[i].ca->kp = signer_start(envs[i].dir, 4, err,
			    sizeof(err));
			T_CHECK(envs[i].ca->kp != NULL, "signer %s: %s",
			    envs[i].name, err);
		}
	}
	if (envs[0].ca == NULL || envs[1].ca == NULL)
		goto done;
	T_CHECK(!envs[0].ca->is_ec && envs[1].ca->is_ec &&
	    envs[1].ca->ec_nid == NID_secp384r1, "CA key types");
	T_CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(envs[0].ca->cert)) ==
	    4096, "RSA CA key of %d bits",
	    EVP_PKEY_get_bits(X509_get0_pubkey(envs[0].ca->cert)));
	test_ca_certs(envs[0].ca);
	test_ca_certs(envs[1].ca);
	test_ca_refusals(envs[0].dir, envs[1].dir, envs[1].ca);
	test_rsa_sunset();

	for (k = 0; k < NKEYS; k++) {
		keys[k] = keygen_new(keyalgs[k], err, sizeof(err));
		T_CHECK(keys[k] != NULL, "keygen %s: %s", keyalgs[k], err);
		if (keys[k] == NULL)
			goto done;
		csrs[k] = make_csr(keys[k]);
	}
	test_csr_fast(keys, csrs);
	for (i = 0; i < 2; i++) {
		setup_verifiers(&envs[i]);
		test_issue_all(&envs[i], keys, csrs);
		test_p12(&envs[i]);
	}
	test_profile_edges(&envs[0], &envs[1], keys[0]);
	test_threads(envs, keys[2]);
	test_leaf_import(&envs[0]);

 done:
	for (i = 0; i < 2; i++) {
		if (envs[i].gnupg[0] != '\0')
			sh("gpgconf --homedir %s --kill all", envs[i].gnupg);
		if (envs[i].ca != NULL)
			keyproc_stop(envs[i].ca->kp);
		ca_free(envs[i].ca);
	}
	for (k = 0; k < NKEYS; k++) {
		EVP_PKEY_free(keys[k]);
		free(csrs[k]);
	}
	while (nspki_bufs > 0)
		free(spki_bufs[--nspki_bufs]);
	if (t_fail == 0 && getenv("T_KEEP") == NULL)
		sh("rm -rf %s", tmp);
	else
		fprintf(stderr, "t_pki: files kept in %s\n", tmp);
	return t_done("t_pki");
}
