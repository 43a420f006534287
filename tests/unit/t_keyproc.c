/*
 * t_keyproc: the signer process (keyproc.c, keysign.c, keysandbox.c)
 * started on demo CAs; requests sent to it directly: what it signs
 * verifies with the CA certificate, what is not a TBS of this CA of the
 * kind announced is refused with its reason; a killed signer is started
 * again; the running signer is restricted (no new privileges, seccomp).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "extern.h"
#include "ca.h"
#include "ca_local.h"
#include "keyproc.h"
#include "t.h"

/* A throwaway key of the CA's kind: it sets the TBS's algorithm. */
static EVP_PKEY *
other_key(const struct ca *ca)
{
	if (ca->is_ec)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static X509_NAME *
name_of(const char *cn)
{
	X509_NAME	*n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	return n;
}

/* A TBSCertificate issued by issuer (NULL: the CA), hashed with md. */
static unsigned char *
cert_tbs(const struct ca *ca, EVP_PKEY *k, const X509_NAME *issuer,
    const EVP_MD *md, size_t *len)
{
	X509		*x = X509_new();
	X509_NAME	*subj = name_of("t_keyproc subject");
	unsigned char	*der = NULL;
	time_t		 now = time(NULL);
	int		 n;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
	X509_set_issuer_name(x, issuer != NULL ? issuer :
	    X509_get_subject_name(ca->cert));
	X509_set_subject_name(x, subj);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 30, 0, &now);
	X509_set_pubkey(x, k);
	X509_sign(x, k, md);
	n = i2d_re_X509_tbs(x, &der);
	*len = n > 0 ? (size_t)n : 0;
	X509_NAME_free(subj);
	X509_free(x);
	return der;
}

/* A TBSCertList issued by issuer (NULL: the CA). */
static unsigned char *
crl_tbs(const struct ca *ca, EVP_PKEY *k, const X509_NAME *issuer,
    const EVP_MD *md, size_t *len)
{
	X509_CRL	*c = X509_CRL_new();
	ASN1_TIME	*t = ASN1_TIME_set(NULL, time(NULL));
	unsigned char	*der = NULL;
	int		 n;

	X509_CRL_set_version(c, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(c, issuer != NULL ? issuer :
	    X509_get_subject_name(ca->cert));
	X509_CRL_set1_lastUpdate(c, t);
	X509_CRL_sign(c, k, md);
	n = i2d_re_X509_CRL_tbs(c, &der);
	*len = n > 0 ? (size_t)n : 0;
	ASN1_TIME_free(t);
	X509_CRL_free(c);
	return der;
}

static int
verifies(const struct ca *ca, const EVP_MD *md, const unsigned char *tbs,
    size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*p = NULL;
	int		 ok;

	ok = EVP_DigestVerifyInit(m, &p, md, NULL, ca->pub) == 1 &&
	    (ca->is_ec || EVP_PKEY_CTX_set_rsa_padding(p,
	    RSA_PKCS1_PADDING) > 0) &&
	    EVP_DigestVerify(m, sig, siglen, tbs, len) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

/* Send a request; the status, the message in err. */
static int
ask(struct ca *ca, int kind, const unsigned char *tbs, size_t len,
    unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	*err = '\0';
	return keyproc_sign(ca->kp, kind, tbs, len, sig, siglen, err, errlen);
}

static void
refused(struct ca *ca, int kind, const unsigned char *tbs, size_t len,
    const char *want, const char *what)
{
	unsigned char	*sig = NULL;
	size_t		 siglen;
	char		 err[1200];
	int		 st;

	st = ask(ca, kind, tbs, len, &sig, &siglen, err, sizeof(err));
	T_CHECK(st == KP_REFUSED && strstr(err, want) != NULL && sig == NULL,
	    "%s: status %d, \"%s\" (want \"%s\")", what, st, err, want);
	free(sig);
}

/* The good requests: a certificate (through ca_sign_tbs) and a CRL. */
static void
good(struct ca *ca, EVP_PKEY *k, const EVP_MD *md, const char *name)
{
	unsigned char	*tbs, *der = NULL, *sig = NULL;
	const unsigned char *q;
	size_t		 len, derlen, siglen;
	X509		*x;
	char		 err[1200];
	int		 st;

	tbs = cert_tbs(ca, k, NULL, md, &len);
	T_CHECK(ca_sign_tbs(ca, tbs, len, &der, &derlen) == 0, "%s: signed",
	    name);
	q = der;
	x = der != NULL ? d2i_X509(NULL, &q, (long)derlen) : NULL;
	T_CHECK(x != NULL && X509_verify(x, ca->pub) == 1, "%s: the "
	    "certificate verifies with the CA's key", name);
	X509_free(x);
	free(der);
	st = ask(ca, KP_CERT, tbs, len, &sig, &siglen, err, sizeof(err));
	T_CHECK(st == KP_OK && verifies(ca, md, tbs, len, sig, siglen),
	    "%s: raw signature: %d %s", name, st, err);
	free(sig);
	sig = NULL;
	OPENSSL_free(tbs);
	tbs = crl_tbs(ca, k, NULL, md, &len);
	st = ask(ca, KP_CRL, tbs, len, &sig, &siglen, err, sizeof(err));
	T_CHECK(st == KP_OK && verifies(ca, md, tbs, len, sig, siglen),
	    "%s: CRL signature: %d %s", name, st, err);
	free(sig);
	OPENSSL_free(tbs);
}

static void
refusals(struct ca *ca, EVP_PKEY *k, const EVP_MD *md, const EVP_MD *bad)
{
	X509_NAME	*other = name_of("certspool Demo S/MIME Issuing CA");
	unsigned char	*tbs, junk[600];
	size_t		 len;

	tbs = cert_tbs(ca, k, other, md, &len);
	refused(ca, KP_CERT, tbs, len, "issuer is not this CA", "other "
	    "issuer");
	OPENSSL_free(tbs);
	tbs = crl_tbs(ca, k, other, md, &len);
	refused(ca, KP_CRL, tbs, len, "issuer is not this CA", "CRL of "
	    "another issuer");
	OPENSSL_free(tbs);
	tbs = cert_tbs(ca, k, NULL, md, &len);
	refused(ca, KP_CRL, tbs, len, "not a TBSCertList", "certificate as "
	    "CRL");
	OPENSSL_free(tbs);
	tbs = crl_tbs(ca, k, NULL, md, &len);
	refused(ca, KP_CERT, tbs, len, "no version [0] v3", "CRL as "
	    "certificate");
	OPENSSL_free(tbs);
	tbs = cert_tbs(ca, k, NULL, bad, &len);
	refused(ca, KP_CERT, tbs, len, "does not fit the CA key", "algorithm");
	OPENSSL_free(tbs);
	rnd_bytes(junk, sizeof(junk));
	junk[0] = 0x04;
	refused(ca, KP_CERT, junk, sizeof(junk), "not a DER SEQUENCE",
	    "garbage");
	junk[0] = 0x30;
	junk[1] = 0x82;
	junk[2] = 0x02;
	junk[3] = 0x54;		/* 596 content bytes: the length fits */
	refused(ca, KP_CRL, junk, sizeof(junk), "TBSCertList", "garbage in "
	    "a SEQUENCE");
	X509_NAME_free(other);
}

/* "Key:\tvalue" of /proc/pid/status. */
static int
status_field(int pid, const char *key)
{
	char	 path[64], line[256];
	FILE	*f;
	int	 v = -1;
	size_t	 n = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = atoi(line + n + 1);
	fclose(f);
	return v;
}

static void
restart(struct ca *ca, EVP_PKEY *k, const EVP_MD *md)
{
	unsigned char	*tbs, *der = NULL;
	size_t		 len, derlen;
	int		 pid = keyproc_pid(ca->kp);

	if (pid <= 0) {
		T_CHECK(0, "no signer process to kill");
		return;
	}
	T_CHECK(status_field(pid, "NoNewPrivs") == 1, "signer NoNewPrivs");
	T_CHECK(status_field(pid, "Seccomp") == 2, "signer seccomp filter");
	T_CHECK(kill(pid, SIGKILL) == 0, "kill the signer");
	usleep(100000);
	tbs = cert_tbs(ca, k, NULL, md, &len);
	T_CHECK(ca_sign_tbs(ca, tbs, len, &der, &derlen) == 0, "signed after "
	    "the signer was killed");
	T_CHECK(keyproc_pid(ca->kp) != pid && keyproc_pid(ca->kp) > 0,
	    "a new signer: %d", keyproc_pid(ca->kp));
	free(der);
	OPENSSL_free(tbs);
}

static void
run(const char *dir, const char *alg, const EVP_MD *md, const EVP_MD *bad)
{
	struct conf	 c;
	struct ca	*ca;
	EVP_PKEY	*k;
	char		 err[512], cadir[512];

	snprintf(cadir, sizeof(cadir), "%s/%s", dir, alg);
	T_CHECK(ca_init_demo(cadir, alg, err, sizeof(err)) == 0, "%s", err);
	memset(&c, 0, sizeof(c));
	c.ca_dir = cadir;
	c.ca_key = c.pkcs11_module = c.pkcs11_pin_file = "";
	c.workers = 2;
	if ((ca = ca_load(cadir, err, sizeof(err))) == NULL) {
		T_CHECK(0, "ca_load: %s", err);
		return;
	}
	ca->kp = keyproc_start(&c, err, sizeof(err));
	T_CHECK(ca->kp != NULL, "keyproc_start: %s", err);
	k = other_key(ca);
	if (ca->kp != NULL) {
		good(ca, k, md, alg);
		refusals(ca, k, md, bad);
		restart(ca, k, md);
	}
	keyproc_stop(ca->kp);
	EVP_PKEY_free(k);
	ca_free(ca);
}

/* A key file open to others, a key of another CA: no signer. */
static void
bad_keys(const char *dir)
{
	struct conf	 c;
	char		 err[512], cadir[512], key[600];

	snprintf(cadir, sizeof(cadir), "%s/p384", dir);
	snprintf(key, sizeof(key), "%s/ca.key", cadir);
	memset(&c, 0, sizeof(c));
	c.ca_dir = cadir;
	c.ca_key = c.pkcs11_module = c.pkcs11_pin_file = "";
	c.workers = 1;
	chmod(key, 0640);
	T_CHECK(keyproc_start(&c, err, sizeof(err)) == NULL &&
	    strstr(err, "mode 0640") != NULL, "group-readable key: %s", err);
	chmod(key, 0600);
	snprintf(key, sizeof(key), "%s/rsa4096/ca.key", dir);
	c.ca_key = key;
	T_CHECK(keyproc_start(&c, err, sizeof(err)) == NULL &&
	    strstr(err, "does not match") != NULL, "another CA's key: %s",
	    err);
}

/* A signer holding a retired issuer too (ca rollover): each request is
 * signed by the issuer it names, after the TBS issuer check. */
static void
retired(const char *dir)
{
	struct conf		 c;
	struct kp_issuer	 iss;
	struct ca		*cur = NULL, *old = NULL;
	EVP_PKEY		*k = NULL;
	unsigned char		*tbs = NULL, *crl = NULL, *sig = NULL, *der;
	size_t			 len, crllen, siglen, derlen;
	char			 err[1200], curdir[512], olddir[512];
	int			 st;

	/* The retired issuer: a P-384 CA "G7" of the RSA demo root. */
	snprintf(curdir, sizeof(curdir), "%s/rsa4096", dir);
	snprintf(olddir, sizeof(olddir), "%s/g7", dir);
	T_CHECK(ca_issue_next(curdir, olddir, "t_keyproc Issuing CA G7", NULL,
	    1, err, sizeof(err)) == 0, "ca_issue_next: %s", err);
	memset(&c, 0, sizeof(c));
	c.ca_dir = curdir;
	c.ca_key = c.pkcs11_module = c.pkcs11_pin_file = "";
	c.workers = 1;
	iss.id = 7;
	iss.dir = olddir;
	iss.key = "";
	if ((cur = ca_load(curdir, err, sizeof(err))) == NULL ||
	    (old = ca_load(olddir, err, sizeof(err))) == NULL) {
		T_CHECK(0, "ca_load: %s", err);
		goto out;
	}
	cur->kp = keyproc_start_issuers(&c, &iss, 1, err, sizeof(err));
	T_CHECK(cur->kp != NULL, "keyproc_start_issuers: %s", err);
	if (cur->kp == NULL)
		goto out;
	old->kp = cur->kp;
	k = other_key(old);
	tbs = cert_tbs(old, k, NULL, EVP_sha384(), &len);
	crl = crl_tbs(old, k, NULL, EVP_sha384(), &crllen);
	st = ask(cur, KP_KIND(KP_CERT, 7), tbs, len, &sig, &siglen, err,
	    sizeof(err));
	T_CHECK(st == KP_OK && verifies(old, EVP_sha384(), tbs, len, sig,
	    siglen), "retired issuer 7 signs its TBS: %d %s", st, err);
	free(sig);
	sig = NULL;
	st = ask(cur, KP_KIND(KP_CRL, 7), crl, crllen, &sig, &siglen, err,
	    sizeof(err));
	T_CHECK(st == KP_OK && verifies(old, EVP_sha384(), crl, crllen, sig,
	    siglen), "retired issuer 7 signs its CRL: %d %s", st, err);
	free(sig);
	sig = NULL;
	refused(cur, KP_CERT, tbs, len, "the issuer is not this CA's",
	    "the current CA refuses the retired issuer's TBS");
	refused(cur, KP_KIND(KP_CERT, 9), tbs, len, "not held",
	    "an issuer the signer does not hold");
	OPENSSL_free(tbs);
	EVP_PKEY_free(k);
	k = other_key(cur);
	tbs = cert_tbs(cur, k, NULL, EVP_sha256(), &len);
	refused(cur, KP_KIND(KP_CERT, 7), tbs, len,
	    "the issuer is not this CA's",
	    "the retired issuer refuses the current CA's TBS");
	OPENSSL_free(tbs);
	/* ca_sign_tbs picks the loaded issuer the TBS names. */
	old->sign_id = 7;
	cur->next = old;
	EVP_PKEY_free(k);
	k = other_key(old);
	tbs = cert_tbs(old, k, NULL, EVP_sha384(), &len);
	T_CHECK(ca_sign_tbs(cur, tbs, len, &der, &derlen) == 0,
	    "ca_sign_tbs signs with the issuer the TBS names");
	if (derlen > 0)
		free(der);
	cur->next = NULL;
 out:
	if (cur != NULL)
		keyproc_stop(cur->kp);
	OPENSSL_free(tbs);
	OPENSSL_free(crl);
	EVP_PKEY_free(k);
	ca_free(cur);
	ca_free(old);
}

int
main(int argc, char *argv[])
{
	char	 dir[] = "/tmp/t_keyproc.XXXXXX";
	char	 cmd[64];

	keyproc_dispatch(argc, argv);
	if (mkdtemp(dir) == NULL)
		return 1;
	run(dir, "p384", EVP_sha384(), EVP_sha256());
	run(dir, "rsa4096", EVP_sha256(), EVP_sha1());
	bad_keys(dir);
	retired(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done("t_keyproc");
}
