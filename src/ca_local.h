/*
 * ca.c, ca_create.c: what the two share.  ca.c loads and checks an
 * issuing CA and signs through the signer; ca_create.c writes new CA
 * files (the demo hierarchy, imports).
 */
#ifndef CA_LOCAL_H
#define CA_LOCAL_H

#define CA_DEMO_CRL	"http://crl.certspool.invalid/root.crl"
#define CA_DEMO_AIA	"http://aia.certspool.invalid/root.cer"

/* Set err to the sentence, with the drained OpenSSL errors if ssl; -1. */
int	 ca_fail(char *err, size_t errlen, int ssl, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Read dirfd/path (no symlinks, regular, at most 1 MiB); for a key,
 * refuse any group or other permission bit.  *buf malloc'd. */
int	 ca_read_at(int dirfd, const char *path, int is_key,
	    unsigned char **buf, size_t *len, char *err, size_t errlen);
/* All certificates of a PEM buffer; NULL if there is none. */
STACK_OF(X509) *ca_pem_certs(const unsigned char *buf, size_t len);
/* The private key of a PEM buffer (never prompts); NULL if none. */
EVP_PKEY *ca_pem_key(const unsigned char *buf, size_t len);
/* Curve NID of an EC key, NID_undef otherwise. */
int	 ca_key_curve(const EVP_PKEY *key);
/* The checks shared by ca_load and ca_import: the key matches, the
 * certificate is a CA that may sign, its key is one we sign with, and
 * the chain starts with it and links up. */
int	 ca_check(X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain,
	    const char *what, char *err, size_t errlen);
/*
 * The next issuing CA of a rollover (cmd_rollover.c): ca_dir's demo root
 * (root.pem, root.key) signs a certificate named cn (same profile as the
 * demo's issuing CA) for ipub, or for a new file key of kind ec (P-384,
 * else RSA-4096) when ipub is NULL; written in outdir as new files:
 * ca.pem, chain.pem (it, then the root) and ca.key for a file key.
 */
int	 ca_issue_next(const char *ca_dir, const char *outdir, const char *cn,
	    EVP_PKEY *ipub, int ec, char *err, size_t errlen);

#endif
