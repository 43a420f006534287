/*
 * keyproc.h: the signer process, the only process that holds the issuing
 * CA's private key (a PEM file or a PKCS#11 token), and the daemon's
 * handle on it (keyproc.c: the parent; keysign.c: the signer).
 *
 * The parent starts it with keyproc_start() before it reads any input:
 * fork, then exec of /proc/self/exe with the hidden first argument
 * KEYPROC_ARG, the key settings on the command line (never a secret) and
 * one socketpair per channel as fds 3, 4, ...  The signer loads the key,
 * restricts itself and serves each channel on a thread of its own.
 *
 * Issuers: besides the current CA (ca_dir, ca_key) the signer holds the
 * retired issuers it is given (issuer.c: their directory ca_dir/issuer-N
 * and key, a file or a pkcs11: URI of the same module and PIN), each
 * known by its issuer id N; 0 names the current CA.
 *
 * Protocol, the same on every channel, one request at a time:
 *   request:  kind (1 byte: KP_CERT or KP_CRL), the issuer (2 bytes, big
 *             endian, 0: the current CA), 1 zero byte, length
 *             (4 bytes, big endian), then length bytes of DER: a
 *             TBSCertificate or a TBSCertList;
 *   answer:   status (1 byte: KP_OK, KP_REFUSED, KP_UNAVAILABLE), 3 zero
 *             bytes, length (4 bytes, big endian), then the signature
 *             (KP_OK: PKCS#1 v1.5 or DER ECDSA-Sig-Value) or a one-line
 *             message.
 * When the signer is ready it sends one answer on channel 0 first: KP_OK
 * with no body, or KP_REFUSED with the reason it cannot sign, and exits.
 * The signer refuses a request unless it is a DER SEQUENCE of the kind
 * announced (TBSCertificate: version [0] v3, serial INTEGER, signature
 * AlgorithmIdentifier; TBSCertList: optional version v2, signature
 * AlgorithmIdentifier), its algorithm is one the named issuer's key signs
 * with (ca_sigalg_md), its issuer Name is that issuer's subject byte for
 * byte, and it is at most KP_CERT_MAX or KP_CRL_MAX bytes.  It hashes the
 * TBS as it arrives (a CRL is never held whole) and signs the digest.
 */
#ifndef CERTSPOOL_KEYPROC_H
#define CERTSPOOL_KEYPROC_H

#include <stddef.h>

#define KEYPROC_ARG	"signer-process"

#define KP_CERT		1
#define KP_CRL		2
/* kind for keyproc_sign: a kind signed by issuer id (0: current). */
#define KP_KIND(kind, id)	((kind) | (id) << 8)
#define KP_MAXISSUERS	64

#define KP_OK		0
#define KP_REFUSED	1
#define KP_UNAVAILABLE	2	/* the token is gone; try again later */

#define KP_HDR		8
#define KP_CERT_MAX	(1024UL * 1024)
#define KP_CRL_MAX	(512UL * 1024 * 1024)
#define KP_MSG_MAX	1024

struct conf;
struct keyproc;

/* A retired issuer for the signer: id, directory, key location. */
struct kp_issuer {
	int	 id;
	char	*dir;
	char	*key;
};

/*
 * Start the signer for c's key (ca_key, pkcs11_module, pkcs11_pin_file,
 * ca_dir) with c->workers + 1 channels, and wait until it is ready.
 * NULL with the signer's reason in err.
 */
struct keyproc	*keyproc_start(const struct conf *c, char *err,
		    size_t errlen);
/* The same holding the n retired issuers iss as well (at most
 * KP_MAXISSUERS). */
struct keyproc	*keyproc_start_issuers(const struct conf *c,
		    const struct kp_issuer *iss, int n, char *err,
		    size_t errlen);
/* Close the channels and reap the signer. */
void		 keyproc_stop(struct keyproc *);
/* The signer's process id (for tests and logs). */
int		 keyproc_pid(const struct keyproc *);
/*
 * Have the signer sign tbs (len bytes of kind KP_CERT or KP_CRL, with
 * KP_KIND for a retired issuer); from
 * any thread.  A signer that died is started again (logged) and the
 * request sent once more.  Returns KP_OK with *sig (malloc'd), or
 * KP_REFUSED / KP_UNAVAILABLE / -1 (no signer) with a message in err.
 */
int		 keyproc_sign(struct keyproc *, int kind,
		    const unsigned char *tbs, size_t len, unsigned char **sig,
		    size_t *siglen, char *err, size_t errlen);
/* The same with the TBS read from fd (len bytes from offset 0). */
int		 keyproc_sign_fd(struct keyproc *, int kind, int fd,
		    unsigned long long len, unsigned char **sig,
		    size_t *siglen, char *err, size_t errlen);

/* The signer: argv after KEYPROC_ARG (keysign.c).  Does not return. */
int		 keyproc_main(int argc, char **argv);
/* The signer restricts itself (keysandbox.c): see README, CA key
 * custody.  pkcs11: the token's module may read its files.  0 or -1. */
int		 ks_sandbox(int pkcs11, char *err, size_t errlen);
/* In a program that may be the signer (main, unit tests): if argv[1] is
 * KEYPROC_ARG, run the signer and never return. */
void		 keyproc_dispatch(int argc, char **argv);

#endif
