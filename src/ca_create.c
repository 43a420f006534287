/*
 * Issuing CA files: the demo hierarchy (a root and an S/MIME issuing CA,
 * certificates per S/MIME BR 7.1.2.1 and 7.1.2.2, keys per 6.1.5 as
 * changed by ballot SMC017v2) and the import of an existing issuing CA.
 * Files are created with O_EXCL and removed again if a later one fails;
 * key files are mode 0600.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
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
			return ca_fail(err, errlen, 0, "%s/%s exists; refusing "
			    "to overwrite it", dir, names[i]);
		if (errno != ENOENT)
			return ca_fail(err, errlen, 0, "%s/%s: %s", dir,
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
		return ca_fail(err, errlen, 0, "%s/%s: %s", dir, name,
		    strerror(errno));
	if (fs_write_all(fd, p, len) == -1 || fsync(fd) == -1) {
		ca_fail(err, errlen, 0, "%s/%s: %s", dir, name, strerror(errno));
		close(fd);
		unlinkat(dirfd, name, 0);
		return -1;
	}
	if (close(fd) == -1) {
		ca_fail(err, errlen, 0, "%s/%s: %s", dir, name, strerror(errno));
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
				ca_fail(err, errlen, 0, "%s/%s: nothing to write",
				    dir, f[i].name);
			for (j = 0; j < i; j++)
				unlinkat(dirfd, f[j].name, 0);
			return -1;
		}
	}
	if (fs_fsync_dir(dirfd) == -1)
		return ca_fail(err, errlen, 0, "%s: fsync: %s", dir,
		    strerror(errno));
	return 0;
}

static int
open_dir(const char *dir, char *err, size_t errlen)
{
	int	 fd;

	if (fs_mkdirs(dir, 0700) == -1)
		return ca_fail(err, errlen, 0, "%s: cannot create: %s", dir,
		    strerror(errno));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return ca_fail(err, errlen, 0, "%s: %s", dir, strerror(errno));
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
	    "URI:" CA_DEMO_CRL) ||
	    !add_ext(x, &v3, NID_info_access,
	    "caIssuers;URI:" CA_DEMO_AIA)))
		goto out;
	md = ca_key_curve(ikey) == NID_secp384r1 ? EVP_sha384() : EVP_sha256();
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
			return ca_fail(err, errlen, 0, "CA key %s refused: S/MIME "
			    "BR 6.1.5 (ballot SMC017v2, in force since "
			    "2026-09-15): a new RSA CA key must have at least "
			    "4096 bits; use rsa4096 or p384", keyalg);
	}
	return ca_fail(err, errlen, 0, "CA key algorithm \"%s\" is not p384 or "
	    "rsa4096", keyalg);
}

/*
 * Write a new issuing CA into dir: root.pem and root.key when rkey is
 * given, then ca.pem, chain.pem (issuing CA, root) and ca.key when ikey
 * is given (a file key).  All or nothing, as write_all_new.
 */
static int
write_ca_files(int dirfd, const char *dir, X509 *root, EVP_PKEY *rkey,
    X509 *ica, EVP_PKEY *ikey, char *err, size_t errlen)
{
	X509		*pair[2] = { ica, root };
	struct out_file	 f[5];
	size_t		 i, n = 0;
	int		 rc = -1;

	if (rkey != NULL) {
		f[n++] = (struct out_file){ "root.pem",
		    pem_bio(&root, 1, NULL), 0644 };
		f[n++] = (struct out_file){ "root.key",
		    pem_bio(NULL, 0, rkey), 0600 };
	}
	f[n++] = (struct out_file){ "ca.pem", pem_bio(&ica, 1, NULL), 0644 };
	f[n++] = (struct out_file){ "chain.pem", pem_bio(pair, 2, NULL), 0644 };
	if (ikey != NULL)
		f[n++] = (struct out_file){ "ca.key", pem_bio(NULL, 0, ikey),
		    0600 };
	for (i = 0; i < n; i++)
		if (f[i].bio == NULL) {
			ca_fail(err, errlen, 1, "PEM encoding failed");
			goto out;
		}
	rc = write_all_new(dirfd, dir, f, n, err, errlen);
 out:
	for (i = 0; i < n; i++)
		bio_wipe_free(f[i].bio);
	return rc;
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
	X509		*root = NULL, *ica = NULL;
	int		 dirfd = -1, rc = -1;

	if ((dirfd = open_dir(dir, err, errlen)) == -1)
		return -1;
	if (none_exist(dirfd, dir, demo_files, 5, err, errlen) == -1)
		goto out;
	if ((rkey = new_ca_key(ec)) == NULL ||
	    (ipub == NULL && (ikey = new_ca_key(ec)) == NULL)) {
		ca_fail(err, errlen, 1, "CA key generation failed");
		goto out;
	}
	if ((root = make_ca_cert("certspool Demo Root CA", rkey, NULL, rkey,
	    7305)) == NULL ||
	    (ica = make_ca_cert("certspool Demo S/MIME Issuing CA", ipub !=
	    NULL ? ipub : ikey, root, rkey, 3652)) == NULL) {
		ca_fail(err, errlen, 1, "building the demo CA certificates "
		    "failed");
		goto out;
	}
	if (write_ca_files(dirfd, dir, root, rkey, ica, ikey, err,
	    errlen) == -1)
		goto out;
	rc = 0;
 out:
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
	if (ca_key_curve(ipub) != NID_secp384r1 && !(EVP_PKEY_is_a(ipub, "RSA") &&
	    EVP_PKEY_get_bits(ipub) >= 4096))
		return ca_fail(err, errlen, 0, "S/MIME BR 6.1.5 (ballot "
		    "SMC017v2): a new issuing CA key must be ECDSA P-384 or "
		    "RSA of at least 4096 bits");
	return demo_write(dir, ca_key_curve(ipub) == NID_secp384r1, ipub, err,
	    errlen);
}

int
ca_issue_next(const char *ca_dir, const char *outdir, const char *cn,
    EVP_PKEY *ipub, int ec, char *err, size_t errlen)
{
	unsigned char	*rbuf = NULL, *kbuf = NULL;
	size_t		 rlen = 0, klen = 0;
	STACK_OF(X509)	*certs = NULL;
	EVP_PKEY	*rkey = NULL, *ikey = NULL;
	X509		*root = NULL, *ica = NULL;
	int		 cafd = -1, dirfd = -1, rc = -1;

	if ((cafd = open(ca_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return ca_fail(err, errlen, 0, "%s: %s", ca_dir,
		    strerror(errno));
	if (ca_read_at(cafd, "root.pem", 0, &rbuf, &rlen, err, errlen) == -1 ||
	    ca_read_at(cafd, "root.key", 1, &kbuf, &klen, err, errlen) == -1)
		goto out;
	if ((certs = ca_pem_certs(rbuf, rlen)) == NULL ||
	    (root = sk_X509_shift(certs)) == NULL ||
	    (rkey = ca_pem_key(kbuf, klen)) == NULL ||
	    X509_check_private_key(root, rkey) != 1) {
		ca_fail(err, errlen, 1, "%s: root.pem and root.key are not a "
		    "root certificate and its key", ca_dir);
		goto out;
	}
	if (ipub == NULL && (ikey = new_ca_key(ec)) == NULL) {
		ca_fail(err, errlen, 1, "CA key generation failed");
		goto out;
	}
	if ((ica = make_ca_cert(cn, ipub != NULL ? ipub : ikey, root, rkey,
	    3652)) == NULL) {
		ca_fail(err, errlen, 1, "building the issuing CA certificate "
		    "failed");
		goto out;
	}
	if ((dirfd = open_dir(outdir, err, errlen)) == -1)
		goto out;
	if (write_ca_files(dirfd, outdir, root, NULL, ica, ikey, err,
	    errlen) == -1)
		goto out;
	rc = 0;
 out:
	if (kbuf != NULL)
		OPENSSL_cleanse(kbuf, klen);
	free(kbuf);
	free(rbuf);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	X509_free(root);
	X509_free(ica);
	if (dirfd != -1)
		close(dirfd);
	close(cafd);
	return rc;
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
	if (ca_read_at(AT_FDCWD, certfile, 0, &cbuf, &clen, err, errlen) == -1 ||
	    (chainfile != NULL && ca_read_at(AT_FDCWD, chainfile, 0, &chbuf,
	    &chlen, err, errlen) == -1))
		goto out;
	if ((certs = ca_pem_certs(cbuf, clen)) == NULL) {
		ca_fail(err, errlen, 0, "%s: no PEM certificate", certfile);
		goto out;
	}
	cert = sk_X509_shift(certs);
	/* The chain is the issuing CA, then the rest of the chain file. */
	if ((chain = sk_X509_new_null()) == NULL ||
	    !X509_up_ref(cert) || !sk_X509_push(chain, cert)) {
		ca_fail(err, errlen, 1, "out of memory");
		goto out;
	}
	if (chbuf != NULL) {
		if ((extra = ca_pem_certs(chbuf, chlen)) == NULL) {
			ca_fail(err, errlen, 0, "%s: no PEM certificate",
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
				ca_fail(err, errlen, 1, "out of memory");
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
			ca_fail(err, errlen, 1, "PEM encoding failed");
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
	if (ca_read_at(AT_FDCWD, keyfile, 1, &kbuf, &klen, err, errlen) == -1)
		goto out;
	if ((key = ca_pem_key(kbuf, klen)) == NULL) {
		ca_fail(err, errlen, 0, "%s: not an unencrypted PEM private key",
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
