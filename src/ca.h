/*
 * ca.h: the issuing CA (ca.c, ca_create.c): its certificate and chain, the
 * serial of each certificate (chosen here), signing a TBS through the
 * signer process; the current and retired issuers (issuer.c).
 */
#ifndef CERTSPOOL_CA_H
#define CERTSPOOL_CA_H

#include "extern.h"
/* ---- issuing CA (ca.c) ---- */

struct keyproc;

struct ca {
	X509		*cert;		/* issuing CA */
	EVP_PKEY	*pub;		/* its public key */
	STACK_OF(X509)	*chain;		/* issuing CA first, then up to root */
	int		 is_ec;		/* ECDSA CA key */
	int		 ec_nid;	/* its curve, if is_ec */
	struct keyproc	*kp;		/* the signer (keyproc.h); not owned */
	/* issuers (issuer.c): the current CA first, then retired ones */
	int		 issuer_id;	/* issuer table id, 0 if not known */
	int		 sign_id;	/* the signer's name for it, 0: current */
	char		*crl_url;	/* its crl_url template; NULL: conf's */
	char		*aia_url;	/* its caIssuers URL; NULL: conf's */
	int		 crl_ended;	/* retired, its last CRL is published */
	struct ca	*next;		/* a retired issuer still signing CRLs */
};

/*
 * A new CA key's kind, S/MIME BR 6.1.5 / ballot SMC017v2: "p384" (also
 * NULL or "") 1, "rsa4096" 0; an RSA key under 4096 bits (e.g. "rsa3072")
 * or anything else -1 with err naming the rule.
 */
int	 ca_keyalg(const char *keyalg, char *err, size_t errlen);
/*
 * Create a demo hierarchy in dir: root.pem, root.key, ca.pem, ca.key,
 * chain.pem (issuing CA then root).  keyalg as ca_keyalg (default
 * "p384"; "rsa4096").  Keys 0600.  -1 with err on failure; refuses to
 * overwrite.
 */
int	 ca_init_demo(const char *dir, const char *keyalg, char *err,
	    size_t errlen);
/*
 * S/MIME BR 6.1.5 (ballot SMC017v2) for an existing CA certificate's key:
 * 0 fine; 1 an RSA key under 3072 bits before 2027-09-15 (msg: the
 * warning); -1 such a key from then on (clock_now()), when no certificate
 * may be issued from it (msg: the refusal).
 */
int	 ca_key_rule(X509 *cert, char *msg, size_t msglen);
/* Load dir/ca.pem and chain.pem (never the private key: see keyproc.h);
 * refuses a certificate that is not a CA or a broken chain.  kp NULL. */
struct ca *ca_load(const char *dir, char *err, size_t errlen);
/* The private key file path (the signer only): refuses a file readable by
 * group or others or a key that does not match ca->cert.  NULL with err. */
EVP_PKEY *ca_key_load(const struct ca *, const char *path, char *err,
	    size_t errlen);
/* The digest ("SHA256"...) of the signature AlgorithmIdentifier alg if it
 * is one this CA's key signs with (S/MIME BR 7.1.3.2), else NULL. */
const char *ca_sigalg_md(const struct ca *, const unsigned char *alg,
	    size_t alglen);
void	 ca_free(struct ca *);
/* Import an existing issuing CA into dir (same checks as ca_load); warn
 * gets ca_key_rule's warning, or "". */
int	 ca_import(const char *dir, const char *certfile, const char *keyfile,
	    const char *chainfile, char *warn, size_t warnlen, char *err,
	    size_t errlen);
/* The same for a key kept in a token: pub is its public half; writes
 * ca.pem and chain.pem only (ca_ceremony.c). */
int	 ca_import_pub(const char *dir, const char *certfile, EVP_PKEY *pub,
	    const char *chainfile, char *warn, size_t warnlen, char *err,
	    size_t errlen);
/* The demo root (a new file key of ipub's kind) and an issuing CA
 * certificate it signs for ipub, a token key's public half (P-384 or
 * RSA-4096): root.pem, root.key, ca.pem, chain.pem, no ca.key. */
int	 ca_init_demo_pub(const char *dir, EVP_PKEY *ipub, char *err,
	    size_t errlen);
/* Check that hash ("sha256"...) can be used with this CA's key; -1 with
 * a sentence in msg if not (an ECDSA CA signs with its curve's hash; an
 * RSA CA under 3072 bits issues nothing from 2027-09-15, ca_key_rule). */
int	 ca_hash_ok(const struct ca *, const char *hash, char *msg,
	    size_t msglen);
/* A fresh serial: 20 bytes, top bit clear, >= 64 random bits, non-zero
 * first byte so the DER is positive and < 2^159. */
void	 serial_new(unsigned char serial[20], size_t *len);
/*
 * Sign a TBSCertificate DER exactly as given (its signature algorithm was
 * chosen by profile_build) through the signer process ca->kp and return
 * the DER certificate (malloc'd) once its signature verifies with the
 * CA's public key; -1 on failure (logged).
 * Deterministic input: the stored write-ahead TBS can be signed after a
 * crash and yields the same certificate content.
 */
int	 ca_sign_tbs(const struct ca *, const unsigned char *tbs, size_t len,
	    unsigned char **der, size_t *derlen);

/* ---- issuers: the current and the retired issuing CAs (issuer.c) ---- */

/*
 * The current CA of ca_dir (ca_load) with every retired issuer that is
 * not expired linked behind it (ca->next, each from ca_dir/issuer-N),
 * each with its issuer id, CRL and AIA URLs.  Registers the CA in
 * ca_dir as issuer 1 when the table is empty, and finishes a rollover a
 * crash interrupted (ca_dir's files become the current issuer's).  kp
 * is set on each.  NULL with err.
 */
struct ca	*issuer_load(struct store *, const struct conf *,
		    struct keyproc *kp, char *err, size_t errlen);
/* The issuer id of a loaded CA: a CA loaded without the table is 1. */
#define ISSUER_OF(ca)	((ca)->issuer_id > 0 ? (ca)->issuer_id : 1)
/* The issuer in the list ca whose subject is name, or NULL. */
const struct ca	*issuer_by_name(const struct ca *, const X509_NAME *name);
/* url with "-N" put before the extension of its last path segment
 * (issuing.crl -> issuing-2.crl; no extension: appended); N 1: as is. */
int		 issuer_url(const char *url, int n, char *buf, size_t len);
/* The caIssuers URL of ca (its own or the config's), or NULL. */
const char	*issuer_aia(const struct conf *, const struct ca *);

#endif
