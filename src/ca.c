/*
 * Issuing CA: load an issuing CA with its chain, check it, choose the
 * serial of each new certificate (serial_new), and sign TBSCertificates
 * built by profile.c through the signer process.  New CA files (the demo
 * hierarchy, imports) are written by ca_create.c.
 *
 * CA certificates follow S/MIME BR 7.1.2.1 (root: basicConstraints and
 * keyUsage critical, SKI, no EKU, no policies) and 7.1.2.2 (issuing CA:
 * also AKI key identifier, pathlen 0, extKeyUsage emailProtection and
 * clientAuth for the multipurpose client products, explicit reserved
 * S/MIME policy OIDs, HTTP CRL and AIA URLs) with subject C, O, CN
 * (7.1.4.3.1).
 *
 * CA key sizes follow S/MIME BR 6.1.5 as changed by ballot SMC017v2: a
 * new CA key is ECDSA P-384 (default) or RSA-4096, never a smaller RSA
 * key; an existing RSA CA of 2048 bits or more is still accepted, but
 * from 2027-09-15 no certificate is issued from an RSA CA key under
 * 3072 bits (ca_key_rule).
 *
 * Failure policy: refusals (a key file open to group or others, a key
 * that does not match, a certificate that is not a CA, a broken chain,
 * an existing file) return -1 with one sentence in err and change
 * nothing; files are created with O_EXCL and removed again if a later
 * one fails.  The private key is read only by the signer process
 * (keyproc.h: ca_key_load); ca_load never reads it.  ca_sign_tbs() is
 * safe to call from several threads with the same struct ca: the signer
 * has a channel per thread, and every call checks the signature it gets
 * with the CA certificate's key before returning the certificate.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "ca.h"
#include "ca_local.h"
#include "keyproc.h"

#define CA_FILE_MAX	(1024 * 1024)
/* S/MIME BR 6.1.5, ballot SMC017v2: 2027-09-15T00:00:00Z. */
#define RSA3072_SUNSET	((time_t)1820966400)

int
ca_fail(char *err, size_t errlen, int ssl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set err to the sentence, with the drained OpenSSL errors if ssl. */
int
ca_fail(char *err, size_t errlen, int ssl, const char *fmt, ...)
{
	va_list	 ap;
	char	 e[256];
	size_t	 n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (ssl) {
		ssl_errstr(e, sizeof(e));
		n = strlen(err);
		if (e[0] != '\0' && n + 3 < errlen)
			snprintf(err + n, errlen - n, ": %s", e);
	} else
		ERR_clear_error();
	return -1;
}

/* PEM passphrase callback that refuses: never prompt on a terminal. */
static int
no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Read a file dirfd/path (no symlinks, regular, at most 1 MiB); for a
 * key, refuse any group or other permission bit.
 */
int
ca_read_at(int dirfd, const char *path, int is_key, unsigned char **buf,
    size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	int		 fd, rc = -1;

	*buf = NULL;
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return ca_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		ca_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ca_fail(err, errlen, 0, "%s: not a regular file", path);
		goto out;
	}
	if (is_key && (st.st_mode & 077) != 0) {
		ca_fail(err, errlen, 0, "%s: mode %04o lets group or others read "
		    "the CA private key; refusing it (chmod 600 %s)", path,
		    (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > CA_FILE_MAX) {
		ca_fail(err, errlen, 0, "%s: larger than %d bytes", path,
		    CA_FILE_MAX);
		goto out;
	}
	if (fs_read_fd(fd, CA_FILE_MAX, buf, len) == -1) {
		ca_fail(err, errlen, 0, "%s: cannot read", path);
		goto out;
	}
	rc = 0;
 out:
	close(fd);
	return rc;
}

/* All certificates of a PEM buffer; NULL if there is none. */
STACK_OF(X509) *
ca_pem_certs(const unsigned char *buf, size_t len)
{
	STACK_OF(X509)	*sk;
	BIO		*bio;
	X509		*x;

	if ((sk = sk_X509_new_null()) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		sk_X509_free(sk);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, no_pass, NULL)) != NULL)
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	ERR_clear_error();	/* the end of the PEM stream */
	BIO_free(bio);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

EVP_PKEY *
ca_pem_key(const unsigned char *buf, size_t len)
{
	EVP_PKEY	*key;
	BIO		*bio;

	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
	BIO_free(bio);
	return key;
}

/* Curve NID of an EC key, NID_undef otherwise. */
int
ca_key_curve(const EVP_PKEY *key)
{
	char	 g[64];
	int	 nid;

	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_group_name(key, g, sizeof(g), NULL))
		return NID_undef;
	if ((nid = OBJ_txt2nid(g)) == NID_undef)
		nid = EC_curve_nist2nid(g);
	return nid;
}

int
ca_key_rule(X509 *cert, char *msg, size_t msglen)
{
	EVP_PKEY	*pub;
	int		 bits;

	if (msglen > 0)
		*msg = '\0';
	if ((pub = X509_get0_pubkey(cert)) == NULL || !EVP_PKEY_is_a(pub,
	    "RSA") || (bits = EVP_PKEY_get_bits(pub)) >= 3072)
		return 0;
	if (clock_now() >= RSA3072_SUNSET) {
		snprintf(msg, msglen, "S/MIME BR 6.1.5 (ballot SMC017v2): "
		    "since 2027-09-15 no certificate may be issued from an RSA "
		    "CA key under 3072 bits; this CA's key has %d", bits);
		return -1;
	}
	snprintf(msg, msglen, "S/MIME BR 6.1.5 (ballot SMC017v2): this CA's "
	    "RSA key has %d bits; from 2027-09-15 no certificate may be "
	    "issued from an RSA CA key under 3072 bits, so certspool will "
	    "refuse to issue with it then", bits);
	return 1;
}

/*
 * The checks shared by ca_load and ca_import: the key matches, the
 * certificate is a CA that may sign certificates, the key is one we sign
 * with, and the chain starts with the certificate and links up.
 */
int
ca_check(X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain, const char *what,
    char *err, size_t errlen)
{
	X509		*a, *b;
	uint32_t	 flags;
	time_t		 now = clock_now();
	char		 rule[256];
	int		 i, nid;

	if (X509_check_private_key(cert, key) != 1)
		return ca_fail(err, errlen, 0, "%s: the private key does not "
		    "match the CA certificate", what);
	flags = X509_get_extension_flags(cert);
	if (flags & EXFLAG_INVALID)
		return ca_fail(err, errlen, 0, "%s: the CA certificate has "
		    "malformed extensions", what);
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA))
		return ca_fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (d): the "
		    "certificate has no basicConstraints CA:TRUE; it is not a "
		    "CA", what);
	if (!(flags & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
		return ca_fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (e): the "
		    "CA certificate's keyUsage lacks keyCertSign", what);
	if (X509_get0_subject_key_id(cert) == NULL)
		return ca_fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (i): the "
		    "CA certificate has no subjectKeyIdentifier", what);
	if (X509_check_issued(cert, cert) == X509_V_OK &&
	    X509_verify(cert, key) == 1)
		return ca_fail(err, errlen, 0, "%s: S/MIME BR 6.1.7: the "
		    "certificate is a self-signed root; a root CA key does not "
		    "sign subscriber certificates", what);
	if (!(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SMIME))
		return ca_fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (g): the "
		    "CA certificate's extKeyUsage lacks emailProtection", what);
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bits(key) < 2048)
			return ca_fail(err, errlen, 0, "%s: RSA CA key of %d "
			    "bits; at least 2048 are needed", what,
			    EVP_PKEY_get_bits(key));
		if (ca_key_rule(cert, rule, sizeof(rule)) == -1)
			return ca_fail(err, errlen, 0, "%s: %s", what, rule);
	} else {
		nid = ca_key_curve(key);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
			return ca_fail(err, errlen, 0, "%s: S/MIME BR 7.1.3.2: "
			    "the CA key is neither RSA nor ECDSA P-256 or "
			    "P-384", what);
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0)
		return ca_fail(err, errlen, 0, "%s: the CA certificate has "
		    "expired", what);
	if (sk_X509_num(chain) < 1 || X509_cmp(sk_X509_value(chain, 0),
	    cert) != 0)
		return ca_fail(err, errlen, 0, "%s: the chain does not start "
		    "with the issuing CA certificate", what);
	for (i = 0; i + 1 < sk_X509_num(chain); i++) {
		a = sk_X509_value(chain, i);
		b = sk_X509_value(chain, i + 1);
		if (X509_check_issued(b, a) != X509_V_OK ||
		    X509_verify(a, X509_get0_pubkey(b)) != 1)
			return ca_fail(err, errlen, 0, "%s: chain certificate "
			    "%d is not issued by certificate %d", what, i + 1,
			    i + 2);
	}
	ERR_clear_error();
	return 0;
}

struct ca *
ca_load(const char *dir, char *err, size_t errlen)
{
	struct ca	*ca = NULL;
	unsigned char	*cbuf = NULL, *chbuf = NULL;
	size_t		 clen, chlen;
	STACK_OF(X509)	*certs = NULL, *chain = NULL;
	X509		*cert = NULL;
	int		 dirfd;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		ca_fail(err, errlen, 0, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	if (ca_read_at(dirfd, "ca.pem", 0, &cbuf, &clen, err, errlen) == -1 ||
	    ca_read_at(dirfd, "chain.pem", 0, &chbuf, &chlen, err, errlen) == -1)
		goto out;
	if ((certs = ca_pem_certs(cbuf, clen)) == NULL ||
	    sk_X509_num(certs) != 1) {
		ca_fail(err, errlen, 0, "%s/ca.pem: not exactly one PEM "
		    "certificate", dir);
		goto out;
	}
	cert = sk_X509_shift(certs);
	if ((chain = ca_pem_certs(chbuf, chlen)) == NULL) {
		ca_fail(err, errlen, 0, "%s/chain.pem: no PEM certificate", dir);
		goto out;
	}
	if (X509_get0_pubkey(cert) == NULL) {
		ca_fail(err, errlen, 1, "%s/ca.pem: unusable public key", dir);
		goto out;
	}
	if (ca_check(cert, X509_get0_pubkey(cert), chain, dir, err,
	    errlen) == -1)
		goto out;
	ca = xcalloc(1, sizeof(*ca));
	ca->cert = cert;
	ca->pub = X509_get_pubkey(cert);
	ca->chain = chain;
	ca->ec_nid = ca_key_curve(ca->pub);
	ca->is_ec = ca->ec_nid != NID_undef;
	cert = NULL;
	chain = NULL;
 out:
	close(dirfd);
	free(cbuf);
	free(chbuf);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(chain, X509_free);
	X509_free(cert);
	return ca;
}

EVP_PKEY *
ca_key_load(const struct ca *ca, const char *path, char *err, size_t errlen)
{
	unsigned char	*kbuf = NULL;
	size_t		 klen = 0;
	EVP_PKEY	*key = NULL;

	if (ca_read_at(AT_FDCWD, path, 1, &kbuf, &klen, err, errlen) == -1)
		return NULL;
	if ((key = ca_pem_key(kbuf, klen)) == NULL)
		ca_fail(err, errlen, 0, "%s: not an unencrypted PEM private key",
		    path);
	else if (X509_check_private_key(ca->cert, key) != 1) {
		ca_fail(err, errlen, 0, "%s: the private key does not match the "
		    "CA certificate", path);
		EVP_PKEY_free(key);
		key = NULL;
	}
	OPENSSL_cleanse(kbuf, klen);
	free(kbuf);
	return key;
}

void
ca_free(struct ca *ca)
{
	struct ca	*next;

	for (; ca != NULL; ca = next) {
		next = ca->next;
		X509_free(ca->cert);
		EVP_PKEY_free(ca->pub);
		sk_X509_pop_free(ca->chain, X509_free);
		free(ca->crl_url);
		free(ca->aia_url);
		free(ca);
	}
}

int
ca_hash_ok(const struct ca *ca, const char *hash, char *msg, size_t msglen)
{
	if (ca_key_rule(ca->cert, msg, msglen) == -1)
		return -1;
	if (hash == NULL || *hash == '\0')
		return 0;
	if (strcmp(hash, "sha256") != 0 && strcmp(hash, "sha384") != 0 &&
	    strcmp(hash, "sha512") != 0) {
		snprintf(msg, msglen, "S/MIME BR 7.1.3.2: signature hash "
		    "\"%s\" is not one of sha256, sha384, sha512", hash);
		return -1;
	}
	if (!ca->is_ec)
		return 0;
	if (ca->ec_nid == NID_secp384r1 && strcmp(hash, "sha384") != 0) {
		snprintf(msg, msglen, "S/MIME BR 7.1.3.2.2: ECDSA P-384 "
		    "issuing CA signs with sha384 only");
		return -1;
	}
	if (ca->ec_nid == NID_X9_62_prime256v1 &&
	    strcmp(hash, "sha256") != 0) {
		snprintf(msg, msglen, "S/MIME BR 7.1.3.2.2: ECDSA P-256 "
		    "issuing CA signs with sha256 only");
		return -1;
	}
	return 0;
}

/* ---- signing ---- */

/* The signature AlgorithmIdentifier inside a TBSCertificate, and (iss
 * not NULL) the issuer Name after it. */
static int
tbs_sigalg(const unsigned char *tbs, size_t len, const unsigned char **alg,
    size_t *alglen, const unsigned char **iss, size_t *isslen)
{
	const unsigned char	*p = tbs, *end = tbs + len, *c, *start;
	unsigned char		 tag;
	size_t			 clen;

	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30 ||
	    p != end)
		return -1;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) == -1)
		return -1;
	if (tag == 0xa0 && der_next(&p, end, &tag, &c, &clen) == -1)
		return -1;
	if (tag != 0x02)
		return -1;
	start = p;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	*alg = start;
	*alglen = p - start;
	if (iss == NULL)
		return 0;
	start = p;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	*iss = start;
	*isslen = p - start;
	return 0;
}

/* The issuer of the list ca whose subject is the DER Name iss, or NULL. */
static const struct ca *
ca_of_issuer(const struct ca *ca, const unsigned char *iss, size_t isslen)
{
	const unsigned char	*d;
	size_t			 dlen;

	for (; ca != NULL; ca = ca->next)
		if (X509_NAME_get0_der(X509_get_subject_name(ca->cert), &d,
		    &dlen) && dlen == isslen && memcmp(d, iss, isslen) == 0)
			return ca;
	return NULL;
}

static const struct sigalg {
	unsigned char	 der[15];
	size_t		 len;
	const char	*md;
	int		 curve;		/* NID_undef: RSA PKCS#1 v1.5 */
} sigalgs[] = {
	{ { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0b, 0x05, 0x00 }, 15, "SHA256", NID_undef },
	{ { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0c, 0x05, 0x00 }, 15, "SHA384", NID_undef },
	{ { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0d, 0x05, 0x00 }, 15, "SHA512", NID_undef },
	{ { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	    0x02 }, 12, "SHA256", NID_X9_62_prime256v1 },
	{ { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	    0x03 }, 12, "SHA384", NID_secp384r1 },
};

const char *
ca_sigalg_md(const struct ca *ca, const unsigned char *alg, size_t alglen)
{
	const struct sigalg	*sa = NULL;
	size_t			 i;

	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		if (alglen == sigalgs[i].len &&
		    memcmp(alg, sigalgs[i].der, alglen) == 0)
			sa = &sigalgs[i];
	if (sa == NULL || (ca->is_ec ? sa->curve != ca->ec_nid :
	    sa->curve != NID_undef))
		return NULL;
	return sa->md;
}

/* The CA chooses each serial (S/MIME BR 7.1: >= 64 bits from a CSPRNG);
 * profile_build only encodes it and checks its size and sign. */
void
serial_new(unsigned char serial[20], size_t *len)
{
	rnd_bytes(serial, 20);
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 0x01;
	*len = 20;
}

int
ca_sign_tbs(const struct ca *ca, const unsigned char *tbs, size_t len,
    unsigned char **der, size_t *derlen)
{
	EVP_MD_CTX		*mctx = NULL;
	EVP_PKEY_CTX		*pctx = NULL;
	const char		*md;
	const unsigned char	*alg, *iss;
	unsigned char		*sig = NULL, zero = 0;
	size_t			 alglen, siglen = 0, isslen;
	struct buf		 body = { 0 }, cert = { 0 };
	char			 err[KP_MSG_MAX + 64];
	int			 rc = -1, st;

	*der = NULL;
	*derlen = 0;
	if (tbs_sigalg(tbs, len, &alg, &alglen, &iss, &isslen) == -1) {
		log_err("ca_sign_tbs: not a DER TBSCertificate");
		goto out;
	}
	/* A write-ahead TBS made before a rollover names its own issuer. */
	if ((ca = ca_of_issuer(ca, iss, isslen)) == NULL) {
		log_err("ca_sign_tbs: the TBS issuer is none of the loaded "
		    "issuing CAs");
		goto out;
	}
	if ((md = ca_sigalg_md(ca, alg, alglen)) == NULL) {
		log_err("ca_sign_tbs: S/MIME BR 7.1.3.2: the TBS signature "
		    "algorithm does not fit the CA key");
		goto out;
	}
	if ((st = keyproc_sign(ca->kp, KP_KIND(KP_CERT, ca->sign_id), tbs,
	    len, &sig, &siglen, err, sizeof(err))) != KP_OK) {
		log_err("ca_sign_tbs: %s%s", st == KP_UNAVAILABLE ? "the CA "
		    "key is unavailable; the order waits for the next pass: " :
		    "", err);
		goto out;
	}
	/* A faulty signature must never leave (RSA fault attacks), nor one
	 * the signer made over anything but this TBS. */
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, ca->pub,
	    NULL) ||
	    (!ca->is_ec &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) ||
	    EVP_DigestVerify(mctx, sig, siglen, tbs, len) != 1) {
		log_ssl(LOGL_ERR, "ca_sign_tbs: the new signature does not "
		    "verify");
		goto out;
	}
	buf_add(&body, tbs, len);
	buf_add(&body, alg, alglen);
	der_put_hdr(&body, 0x03, siglen + 1);
	buf_add(&body, &zero, 1);
	buf_add(&body, sig, siglen);
	der_put_hdr(&cert, 0x30, body.len);
	buf_add(&cert, body.p, body.len);
	*der = cert.p;
	*derlen = cert.len;
	cert.p = NULL;
	rc = 0;
 out:
	EVP_MD_CTX_free(mctx);
	free(sig);
	buf_free(&body);
	buf_free(&cert);
	return rc;
}
