/*
 * Issuing CA: create a demo hierarchy (root and S/MIME issuing CA), load
 * or import an issuing CA with its chain, and sign TBSCertificates built
 * by profile.c.
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
#include "keyproc.h"

#define CA_FILE_MAX	(1024 * 1024)
#define DEMO_CRL	"http://crl.certspool.invalid/root.crl"
#define DEMO_AIA	"http://aia.certspool.invalid/root.cer"
/* S/MIME BR 6.1.5, ballot SMC017v2: 2027-09-15T00:00:00Z. */
#define RSA3072_SUNSET	((time_t)1820966400)

static int
fail(char *err, size_t errlen, int ssl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set err to the sentence, with the drained OpenSSL errors if ssl. */
static int
fail(char *err, size_t errlen, int ssl, const char *fmt, ...)
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
static int
read_at(int dirfd, const char *path, int is_key, unsigned char **buf,
    size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	int		 fd, rc = -1;

	*buf = NULL;
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		fail(err, errlen, 0, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, 0, "%s: not a regular file", path);
		goto out;
	}
	if (is_key && (st.st_mode & 077) != 0) {
		fail(err, errlen, 0, "%s: mode %04o lets group or others read "
		    "the CA private key; refusing it (chmod 600 %s)", path,
		    (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > CA_FILE_MAX) {
		fail(err, errlen, 0, "%s: larger than %d bytes", path,
		    CA_FILE_MAX);
		goto out;
	}
	if (fs_read_fd(fd, CA_FILE_MAX, buf, len) == -1) {
		fail(err, errlen, 0, "%s: cannot read", path);
		goto out;
	}
	rc = 0;
 out:
	close(fd);
	return rc;
}

/* All certificates of a PEM buffer; NULL if there is none. */
static STACK_OF(X509) *
pem_certs(const unsigned char *buf, size_t len)
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

static EVP_PKEY *
pem_key(const unsigned char *buf, size_t len)
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
static int
key_curve(const EVP_PKEY *key)
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
static int
ca_check(X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain, const char *what,
    char *err, size_t errlen)
{
	X509		*a, *b;
	uint32_t	 flags;
	time_t		 now = clock_now();
	char		 rule[256];
	int		 i, nid;

	if (X509_check_private_key(cert, key) != 1)
		return fail(err, errlen, 0, "%s: the private key does not "
		    "match the CA certificate", what);
	flags = X509_get_extension_flags(cert);
	if (flags & EXFLAG_INVALID)
		return fail(err, errlen, 0, "%s: the CA certificate has "
		    "malformed extensions", what);
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA))
		return fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (d): the "
		    "certificate has no basicConstraints CA:TRUE; it is not a "
		    "CA", what);
	if (!(flags & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
		return fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (e): the "
		    "CA certificate's keyUsage lacks keyCertSign", what);
	if (X509_get0_subject_key_id(cert) == NULL)
		return fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (i): the "
		    "CA certificate has no subjectKeyIdentifier", what);
	if (X509_check_issued(cert, cert) == X509_V_OK &&
	    X509_verify(cert, key) == 1)
		return fail(err, errlen, 0, "%s: S/MIME BR 6.1.7: the "
		    "certificate is a self-signed root; a root CA key does not "
		    "sign subscriber certificates", what);
	if (!(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SMIME))
		return fail(err, errlen, 0, "%s: S/MIME BR 7.1.2.2 (g): the "
		    "CA certificate's extKeyUsage lacks emailProtection", what);
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bits(key) < 2048)
			return fail(err, errlen, 0, "%s: RSA CA key of %d "
			    "bits; at least 2048 are needed", what,
			    EVP_PKEY_get_bits(key));
		if (ca_key_rule(cert, rule, sizeof(rule)) == -1)
			return fail(err, errlen, 0, "%s: %s", what, rule);
	} else {
		nid = key_curve(key);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
			return fail(err, errlen, 0, "%s: S/MIME BR 7.1.3.2: "
			    "the CA key is neither RSA nor ECDSA P-256 or "
			    "P-384", what);
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0)
		return fail(err, errlen, 0, "%s: the CA certificate has "
		    "expired", what);
	if (sk_X509_num(chain) < 1 || X509_cmp(sk_X509_value(chain, 0),
	    cert) != 0)
		return fail(err, errlen, 0, "%s: the chain does not start "
		    "with the issuing CA certificate", what);
	for (i = 0; i + 1 < sk_X509_num(chain); i++) {
		a = sk_X509_value(chain, i);
		b = sk_X509_value(chain, i + 1);
		if (X509_check_issued(b, a) != X509_V_OK ||
		    X509_verify(a, X509_get0_pubkey(b)) != 1)
			return fail(err, errlen, 0, "%s: chain certificate "
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
		fail(err, errlen, 0, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	if (read_at(dirfd, "ca.pem", 0, &cbuf, &clen, err, errlen) == -1 ||
	    read_at(dirfd, "chain.pem", 0, &chbuf, &chlen, err, errlen) == -1)
		goto out;
	if ((certs = pem_certs(cbuf, clen)) == NULL ||
	    sk_X509_num(certs) != 1) {
		fail(err, errlen, 0, "%s/ca.pem: not exactly one PEM "
		    "certificate", dir);
		goto out;
	}
	cert = sk_X509_shift(certs);
	if ((chain = pem_certs(chbuf, chlen)) == NULL) {
		fail(err, errlen, 0, "%s/chain.pem: no PEM certificate", dir);
		goto out;
	}
	if (X509_get0_pubkey(cert) == NULL) {
		fail(err, errlen, 1, "%s/ca.pem: unusable public key", dir);
		goto out;
	}
	if (ca_check(cert, X509_get0_pubkey(cert), chain, dir, err,
	    errlen) == -1)
		goto out;
	ca = xcalloc(1, sizeof(*ca));
	ca->cert = cert;
	ca->pub = X509_get_pubkey(cert);
	ca->chain = chain;
	ca->ec_nid = key_curve(ca->pub);
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

	if (read_at(AT_FDCWD, path, 1, &kbuf, &klen, err, errlen) == -1)
		return NULL;
	if ((key = pem_key(kbuf, klen)) == NULL)
		fail(err, errlen, 0, "%s: not an unencrypted PEM private key",
		    path);
	else if (X509_check_private_key(ca->cert, key) != 1) {
		fail(err, errlen, 0, "%s: the private key does not match the "
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
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->pub);
	sk_X509_pop_free(ca->chain, X509_free);
	free(ca);
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

/* ---- creating files ---- */

static const char *const demo_files[] = {
	"root.pem", "root.key", "ca.pem", "ca.key", "chain.pem"
};

/* Refuse if any of names exists in dirfd (or cannot be looked at). */
static int
none_exist(int dirfd, const char *dir, const char *const *names, size_t n,
    char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			return fail(err, errlen, 0, "%s/%s exists; refusing "
			    "to overwrite it", dir, names[i]);
		if (errno != ENOENT)
			return fail(err, errlen, 0, "%s/%s: %s", dir,
			    names[i], strerror(errno));
	}
	return 0;
}

/* Create dirfd/name (O_EXCL) with mode, write, fsync. */
static int
write_new(int dirfd, const char *dir, const char *name, const void *p,
    size_t len, mode_t mode, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, mode)) == -1)
		return fail(err, errlen, 0, "%s/%s: %s", dir, name,
		    strerror(errno));
	if (fs_write_all(fd, p, len) == -1 || fsync(fd) == -1) {
		fail(err, errlen, 0, "%s/%s: %s", dir, name, strerror(errno));
		close(fd);
		unlinkat(dirfd, name, 0);
		return -1;
	}
	if (close(fd) == -1) {
		fail(err, errlen, 0, "%s/%s: %s", dir, name, strerror(errno));
		unlinkat(dirfd, name, 0);
		return -1;
	}
	return 0;
}

/* PEM text of certificates and (optionally) a key, in one mem BIO. */
static BIO *
pem_bio(X509 *const *certs, size_t ncerts, EVP_PKEY *key)
{
	BIO	*bio;
	size_t	 i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	for (i = 0; i < ncerts; i++)
		if (!PEM_write_bio_X509(bio, certs[i]))
			goto fail;
	if (key != NULL && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL))
		goto fail;
	return bio;
 fail:
	BIO_free(bio);
	return NULL;
}

/* Free a mem BIO that may hold a private key, wiping it first. */
static void
bio_wipe_free(BIO *bio)
{
	char	*p;
	long	 n;

	if (bio == NULL)
		return;
	if ((n = BIO_get_mem_data(bio, &p)) > 0)
		OPENSSL_cleanse(p, (size_t)n);
	BIO_free(bio);
}

/*
 * Write each (name, BIO, mode) as a new file; on failure remove the files
 * written so far.
 */
struct out_file {
	const char	*name;
	BIO		*bio;
	mode_t		 mode;
};

static int
write_all_new(int dirfd, const char *dir, struct out_file *f, size_t n,
    char *err, size_t errlen)
{
	char	*p;
	long	 len;
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		len = BIO_get_mem_data(f[i].bio, &p);
		if (len <= 0 || write_new(dirfd, dir, f[i].name, p,
		    (size_t)len, f[i].mode, err, errlen) == -1) {
			if (len <= 0)
				fail(err, errlen, 0, "%s/%s: nothing to write",
				    dir, f[i].name);
			for (j = 0; j < i; j++)
				unlinkat(dirfd, f[j].name, 0);
			return -1;
		}
	}
	if (fs_fsync_dir(dirfd) == -1)
		return fail(err, errlen, 0, "%s: fsync: %s", dir,
		    strerror(errno));
	return 0;
}

static int
open_dir(const char *dir, char *err, size_t errlen)
{
	int	 fd;

	if (fs_mkdirs(dir, 0700) == -1)
		return fail(err, errlen, 0, "%s: cannot create: %s", dir,
		    strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return fail(err, errlen, 0, "%s: %s", dir, strerror(errno));
	return fd;
}

/* ---- the demo hierarchy ---- */

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ok;

	if ((ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * A CA certificate for pub named cn, signed by ikey (issuer NULL: self
 * signed root), valid for days from now.
 */
static X509 *
make_ca_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey,
    int days)
{
	X509		*x = NULL;
	X509_NAME	*name = NULL;
	ASN1_INTEGER	*sn = NULL;
	BIGNUM		*bn = NULL;
	X509V3_CTX	 v3;
	CONF		*cnf = NULL;
	unsigned char	 serial[20];
	size_t		 slen;
	time_t		 now = clock_now();
	const EVP_MD	*md;
	int		 ok = 0;

	serial_new(serial, &slen);
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    (bn = BN_bin2bn(serial, (int)slen, NULL)) == NULL ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, sn) ||
	    !X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC,
	    (const unsigned char *)"US", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"certspool demo", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) == NULL ||
	    !X509_set_pubkey(x, pub))
		goto out;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	/* certificatePolicies is parsed raw and wants a (here empty) config. */
	if ((cnf = NCONF_new(NULL)) == NULL)
		goto out;
	X509V3_set_nconf(&v3, cnf);
	if (!add_ext(x, &v3, NID_basic_constraints, issuer != NULL ?
	    "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE") ||
	    !add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, &v3, NID_subject_key_identifier, "hash"))
		goto out;
	if (issuer != NULL && (
	    !add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") ||
	    !add_ext(x, &v3, NID_ext_key_usage, "emailProtection,clientAuth") ||
	    !add_ext(x, &v3, NID_certificate_policies,
	    "2.23.140.1.5.1.2,2.23.140.1.5.1.3,2.23.140.1.5.2.2,"
	    "2.23.140.1.5.2.3,2.23.140.1.5.3.2,2.23.140.1.5.3.3") ||
	    !add_ext(x, &v3, NID_crl_distribution_points,
	    "URI:" DEMO_CRL) ||
	    !add_ext(x, &v3, NID_info_access,
	    "caIssuers;URI:" DEMO_AIA)))
		goto out;
	md = key_curve(ikey) == NID_secp384r1 ? EVP_sha384() : EVP_sha256();
	if (X509_sign(x, ikey, md) <= 0)
		goto out;
	ok = 1;
 out:
	NCONF_free(cnf);
	X509_NAME_free(name);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
ca_keyalg(const char *keyalg, char *err, size_t errlen)
{
	const char	*p;
	int		 bits = 0;

	if (keyalg == NULL || *keyalg == '\0' || strcmp(keyalg, "p384") == 0)
		return 1;
	if (strcmp(keyalg, "rsa4096") == 0)
		return 0;
	if (strncmp(keyalg, "rsa", 3) == 0 && keyalg[3] != '\0') {
		for (p = keyalg + 3; *p >= '0' && *p <= '9' && bits < 4096; p++)
			bits = bits * 10 + (*p - '0');
		if (*p == '\0' && bits < 4096)
			return fail(err, errlen, 0, "CA key %s refused: S/MIME "
			    "BR 6.1.5 (ballot SMC017v2, in force since "
			    "2026-09-15): a new RSA CA key must have at least "
			    "4096 bits; use rsa4096 or p384", keyalg);
	}
	return fail(err, errlen, 0, "CA key algorithm \"%s\" is not p384 or "
	    "rsa4096", keyalg);
}

/* A new CA key: ECDSA P-384 or RSA-4096. */
static EVP_PKEY *
new_ca_key(int ec)
{
	if (ec)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
}

/*
 * The demo hierarchy in dir: a new root (file key, kind ec) and an
 * issuing CA certificate it signs for ipub, or for a new file key of the
 * same kind written as ca.key when ipub is NULL.
 */
static int
demo_write(const char *dir, int ec, EVP_PKEY *ipub, char *err,
    size_t errlen)
{
	EVP_PKEY	*rkey = NULL, *ikey = NULL;
	X509		*root = NULL, *ica = NULL, *pair[2];
	struct out_file	 f[5];
	size_t		 i, n;
	int		 dirfd = -1, rc = -1;

	memset(f, 0, sizeof(f));
	if ((dirfd = open_dir(dir, err, errlen)) == -1)
		return -1;
	if (none_exist(dirfd, dir, demo_files, 5, err, errlen) == -1)
		goto out;
	if ((rkey = new_ca_key(ec)) == NULL ||
	    (ipub == NULL && (ikey = new_ca_key(ec)) == NULL)) {
		fail(err, errlen, 1, "CA key generation failed");
		goto out;
	}
	if ((root = make_ca_cert("certspool Demo Root CA", rkey, NULL, rkey,
	    7305)) == NULL ||
	    (ica = make_ca_cert("certspool Demo S/MIME Issuing CA", ipub !=
	    NULL ? ipub : ikey, root, rkey, 3652)) == NULL) {
		fail(err, errlen, 1, "building the demo CA certificates "
		    "failed");
		goto out;
	}
	pair[0] = ica;
	pair[1] = root;
	f[0] = (struct out_file){ "root.pem", pem_bio(&root, 1, NULL), 0644 };
	f[1] = (struct out_file){ "root.key", pem_bio(NULL, 0, rkey), 0600 };
	f[2] = (struct out_file){ "ca.pem", pem_bio(&ica, 1, NULL), 0644 };
	f[3] = (struct out_file){ "chain.pem", pem_bio(pair, 2, NULL), 0644 };
	n = 4;
	if (ikey != NULL)
		f[n++] = (struct out_file){ "ca.key", pem_bio(NULL, 0, ikey),
		    0600 };
	for (i = 0; i < n; i++)
		if (f[i].bio == NULL) {
			fail(err, errlen, 1, "PEM encoding failed");
			goto out;
		}
	if (write_all_new(dirfd, dir, f, n, err, errlen) == -1)
		goto out;
	rc = 0;
 out:
	for (i = 0; i < 5; i++)
		bio_wipe_free(f[i].bio);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	X509_free(root);
	X509_free(ica);
	if (dirfd != -1)
		close(dirfd);
	return rc;
}

int
ca_init_demo(const char *dir, const char *keyalg, char *err, size_t errlen)
{
	int	 ec;

	if ((ec = ca_keyalg(keyalg, err, errlen)) == -1)
		return -1;
	return demo_write(dir, ec, NULL, err, errlen);
}

int
ca_init_demo_pub(const char *dir, EVP_PKEY *ipub, char *err, size_t errlen)
{
	if (key_curve(ipub) != NID_secp384r1 && !(EVP_PKEY_is_a(ipub, "RSA") &&
	    EVP_PKEY_get_bits(ipub) >= 4096))
		return fail(err, errlen, 0, "S/MIME BR 6.1.5 (ballot "
		    "SMC017v2): a new issuing CA key must be ECDSA P-384 or "
		    "RSA of at least 4096 bits");
	return demo_write(dir, key_curve(ipub) == NID_secp384r1, ipub, err,
	    errlen);
}

/*
 * Install certfile (its first certificate) with the rest of chainfile as
 * the issuing CA in dir after the ca_check checks with key: ca.pem,
 * chain.pem, and ca.key when key is a file key (file_key), then loaded
 * back.  A token key (public half only) writes no ca.key and refuses an
 * existing one all the same.
 */
static int
import_common(const char *dir, const char *certfile, EVP_PKEY *key,
    int file_key, const char *chainfile, char *warn, size_t warnlen,
    char *err, size_t errlen)
{
	static const char *const names[] = { "ca.pem", "chain.pem", "ca.key" };
	unsigned char	*cbuf = NULL, *chbuf = NULL;
	size_t		 clen, chlen, i, n = file_key ? 3 : 2;
	STACK_OF(X509)	*certs = NULL, *chain = NULL, *extra = NULL;
	X509		*cert = NULL, *x;
	struct out_file	 f[3];
	struct ca	*ca;
	int		 dirfd = -1, rc = -1;

	memset(f, 0, sizeof(f));
	if (warnlen > 0)
		*warn = '\0';
	if (read_at(AT_FDCWD, certfile, 0, &cbuf, &clen, err, errlen) == -1 ||
	    (chainfile != NULL && read_at(AT_FDCWD, chainfile, 0, &chbuf,
	    &chlen, err, errlen) == -1))
		goto out;
	if ((certs = pem_certs(cbuf, clen)) == NULL) {
		fail(err, errlen, 0, "%s: no PEM certificate", certfile);
		goto out;
	}
	cert = sk_X509_shift(certs);
	/* The chain is the issuing CA, then the rest of the chain file. */
	if ((chain = sk_X509_new_null()) == NULL ||
	    !X509_up_ref(cert) || !sk_X509_push(chain, cert)) {
		fail(err, errlen, 1, "out of memory");
		goto out;
	}
	if (chbuf != NULL) {
		if ((extra = pem_certs(chbuf, chlen)) == NULL) {
			fail(err, errlen, 0, "%s: no PEM certificate",
			    chainfile);
			goto out;
		}
		while ((x = sk_X509_shift(extra)) != NULL) {
			if (X509_cmp(x, cert) == 0) {
				X509_free(x);
				continue;
			}
			if (!sk_X509_push(chain, x)) {
				X509_free(x);
				fail(err, errlen, 1, "out of memory");
				goto out;
			}
		}
	}
	if (ca_check(cert, key, chain, certfile, err, errlen) == -1)
		goto out;
	ca_key_rule(cert, warn, warnlen);

	if ((dirfd = open_dir(dir, err, errlen)) == -1)
		goto out;
	if (none_exist(dirfd, dir, names, 3, err, errlen) == -1)
		goto out;
	f[0] = (struct out_file){ "ca.pem", pem_bio(&cert, 1, NULL), 0644 };
	f[1] = (struct out_file){ "chain.pem", BIO_new(BIO_s_mem()), 0644 };
	for (i = 0; f[1].bio != NULL && i < (size_t)sk_X509_num(chain); i++)
		if (!PEM_write_bio_X509(f[1].bio, sk_X509_value(chain, i))) {
			BIO_free(f[1].bio);
			f[1].bio = NULL;
		}
	if (file_key)
		f[2] = (struct out_file){ "ca.key", pem_bio(NULL, 0, key),
		    0600 };
	for (i = 0; i < n; i++)
		if (f[i].bio == NULL) {
			fail(err, errlen, 1, "PEM encoding failed");
			goto out;
		}
	if (write_all_new(dirfd, dir, f, n, err, errlen) == -1)
		goto out;
	if (file_key) {
		if ((ca = ca_load(dir, err, errlen)) == NULL)
			goto out;
		ca_free(ca);
	}
	rc = 0;
 out:
	for (i = 0; i < 3; i++)
		bio_wipe_free(f[i].bio);
	if (dirfd != -1)
		close(dirfd);
	free(cbuf);
	free(chbuf);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(extra, X509_free);
	X509_free(cert);
	return rc;
}

int
ca_import(const char *dir, const char *certfile, const char *keyfile,
    const char *chainfile, char *warn, size_t warnlen, char *err,
    size_t errlen)
{
	unsigned char	*kbuf = NULL;
	size_t		 klen = 0;
	EVP_PKEY	*key = NULL;
	int		 rc = -1;

	if (warnlen > 0)
		*warn = '\0';
	if (read_at(AT_FDCWD, keyfile, 1, &kbuf, &klen, err, errlen) == -1)
		goto out;
	if ((key = pem_key(kbuf, klen)) == NULL) {
		fail(err, errlen, 0, "%s: not an unencrypted PEM private key",
		    keyfile);
		goto out;
	}
	rc = import_common(dir, certfile, key, 1, chainfile, warn, warnlen,
	    err, errlen);
 out:
	if (kbuf != NULL)
		OPENSSL_cleanse(kbuf, klen);
	free(kbuf);
	EVP_PKEY_free(key);
	return rc;
}

int
ca_import_pub(const char *dir, const char *certfile, EVP_PKEY *pub,
    const char *chainfile, char *warn, size_t warnlen, char *err,
    size_t errlen)
{
	return import_common(dir, certfile, pub, 0, chainfile, warn, warnlen,
	    err, errlen);
}

/* ---- signing ---- */

/* The signature AlgorithmIdentifier inside a TBSCertificate. */
static int
tbs_sigalg(const unsigned char *tbs, size_t len, const unsigned char **alg,
    size_t *alglen)
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
	return 0;
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

int
ca_sign_tbs(const struct ca *ca, const unsigned char *tbs, size_t len,
    unsigned char **der, size_t *derlen)
{
	EVP_MD_CTX		*mctx = NULL;
	EVP_PKEY_CTX		*pctx = NULL;
	const char		*md;
	const unsigned char	*alg;
	unsigned char		*sig = NULL, zero = 0;
	size_t			 alglen, siglen = 0;
	struct buf		 body = { 0 }, cert = { 0 };
	char			 err[KP_MSG_MAX + 64];
	int			 rc = -1, st;

	*der = NULL;
	*derlen = 0;
	if (tbs_sigalg(tbs, len, &alg, &alglen) == -1) {
		log_err("ca_sign_tbs: not a DER TBSCertificate");
		goto out;
	}
	if ((md = ca_sigalg_md(ca, alg, alglen)) == NULL) {
		log_err("ca_sign_tbs: S/MIME BR 7.1.3.2: the TBS signature "
		    "algorithm does not fit the CA key");
		goto out;
	}
	if ((st = keyproc_sign(ca->kp, KP_CERT, tbs, len, &sig, &siglen, err,
	    sizeof(err))) != KP_OK) {
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
