/*
 * doctor_ca.c: the CA checks of certspool doctor (doctor.c): ca.pem
 * verifies to the root of chain.pem now and is not about to expire
 * (ca_chain); the signer process starts with the CA key and a test
 * signature over a throwaway TBS verifies with ca.pem's public key
 * (ca_key).
 * Failure policy: every failure is a line of the report; nothing is
 * written, the test signature is discarded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

#include "extern.h"
#include "ca.h"
#include "doctor_local.h"
#include "issuer.h"
#include "keyproc.h"

/* A CA certificate that expires within this many days is a warning. */
#define CA_WARN_DAYS		30

static STACK_OF(X509) *
read_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509)	*sk;
	unsigned char	*buf = NULL;
	size_t		 len;
	BIO		*bio;
	X509		*x;

	if (fs_read_file(path, 1024 * 1024, &buf, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	sk = sk_X509_new_null();
	bio = BIO_new_mem_buf(buf, (int)len);
	while (sk != NULL && bio != NULL &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();
	BIO_free(bio);
	free(buf);
	if (sk == NULL || sk_X509_num(sk) == 0) {
		snprintf(err, errlen, "%s: no PEM certificate", path);
		sk_X509_pop_free(sk, X509_free);
		return NULL;
	}
	return sk;
}

/* X509_verify_cert of ca.pem up to chain.pem's self-signed root, at
 * clock_now(); 0 or -1 with err. */
static int
verify_chain(X509 *cert, STACK_OF(X509) *chain, char *err, size_t errlen)
{
	X509_STORE	*store = NULL;
	X509_STORE_CTX	*ctx = NULL;
	STACK_OF(X509)	*untrusted = NULL;
	X509		*root;
	int		 i, n = sk_X509_num(chain), rc = -1, e;

	root = sk_X509_value(chain, n - 1);
	if (X509_check_issued(root, root) != X509_V_OK) {
		snprintf(err, errlen, "chain.pem does not end with a "
		    "self-signed root");
		return -1;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL ||
	    X509_STORE_add_cert(store, root) != 1)
		goto ssl;
	for (i = 0; i + 1 < n; i++)
		if (!sk_X509_push(untrusted, sk_X509_value(chain, i)))
			goto ssl;
	if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
		goto ssl;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx),
	    clock_now());
	if (X509_verify_cert(ctx) != 1) {
		e = X509_STORE_CTX_get_error(ctx);
		snprintf(err, errlen, "ca.pem does not verify to the root of "
		    "chain.pem: %s (depth %d)", X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	rc = 0;
	goto out;
 ssl:
	ssl_errstr(err, errlen);
 out:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* ca.pem and chain.pem; *cert gets ca.pem for the key check, or NULL. */
void
doctor_check_chain(struct report *r, const struct conf *c, X509 **cert)
{
	STACK_OF(X509)	*one = NULL, *chain = NULL;
	struct ca	*ca = NULL;
	char		 path[PATH_MAX], err[512], date[32];
	time_t		 now = clock_now(), soon;
	struct tm	 tm;

	*cert = NULL;
	snprintf(path, sizeof(path), "%s/ca.pem", c->ca_dir);
	if ((one = read_certs(path, err, sizeof(err))) == NULL) {
		doctor_add(r, "ca_chain", ST_PROBLEM, "%s", err);
		goto out;
	}
	*cert = sk_X509_shift(one);
	snprintf(path, sizeof(path), "%s/chain.pem", c->ca_dir);
	if ((chain = read_certs(path, err, sizeof(err))) == NULL) {
		doctor_add(r, "ca_chain", ST_PROBLEM, "%s", err);
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(*cert), &now) <= 0) {
		doctor_add(r, "ca_chain", ST_PROBLEM, "%s/ca.pem: the issuing CA "
		    "certificate has expired", c->ca_dir);
		goto out;
	}
	if (verify_chain(*cert, chain, err, sizeof(err)) == -1) {
		doctor_add(r, "ca_chain", ST_PROBLEM, "%s: %s", c->ca_dir, err);
		goto out;
	}
	/* The daemon's own checks (S/MIME BR profile of the CA). */
	if ((ca = ca_load(c->ca_dir, err, sizeof(err))) == NULL) {
		doctor_add(r, "ca_chain", ST_PROBLEM, "%s", err);
		goto out;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(*cert), &tm) == 1)
		time_fmt(timegm(&tm), date, sizeof(date));
	else
		snprintf(date, sizeof(date), "?");
	soon = now + CA_WARN_DAYS * 86400L;
	if (X509_cmp_time(X509_get0_notAfter(*cert), &soon) <= 0) {
		doctor_add(r, "ca_chain", ST_WARNING, "%s: the issuing CA certificate "
		    "expires on %s, within %d days (certspool ca rollover)",
		    c->ca_dir, date, CA_WARN_DAYS);
		goto out;
	}
	doctor_add(r, "ca_chain", ST_OK, "%s: ca.pem verifies to the root of "
	    "chain.pem (%d certificates); valid until %s", c->ca_dir,
	    sk_X509_num(chain), date);
 out:
	ca_free(ca);
	sk_X509_pop_free(one, X509_free);
	sk_X509_pop_free(chain, X509_free);
}

/* ---- the CA key, through the signer process ---- */

/* A TBSCertificate the signer accepts (v3, issuer = cert's subject, the
 * key's algorithm), valid at no time: it is signed, never issued. */
static int
test_tbs(X509 *cert, const char **md, struct buf *out)
{
	EVP_PKEY	*pub = X509_get0_pubkey(cert);
	X509_ALGOR	*alg = NULL;
	X509_NAME	*subj = NULL;
	unsigned char	 serial[20], *spki = NULL, *a = NULL;
	const unsigned char *iss, *sd;
	size_t		 n, isslen, sdlen, spkilen;
	struct buf	 tbs = { 0 };
	int		 nid, alen, rc = -1;
	static const unsigned char v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
	static const char never[] = "\x17\x0d" "700101000000Z";

	if (pub == NULL)
		return -1;
	if (EVP_PKEY_is_a(pub, "RSA")) {
		nid = NID_sha256WithRSAEncryption;
		*md = "SHA256";
	} else if (EVP_PKEY_get_bits(pub) > 256) {
		nid = NID_ecdsa_with_SHA384;
		*md = "SHA384";
	} else {
		nid = NID_ecdsa_with_SHA256;
		*md = "SHA256";
	}
	if ((alg = X509_ALGOR_new()) == NULL ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(nid), nid ==
	    NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) ||
	    (alen = i2d_X509_ALGOR(alg, &a)) <= 0 ||
	    (subj = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"certspool doctor: signing test", -1, -1,
	    0) ||
	    !X509_NAME_get0_der(subj, &sd, &sdlen) ||
	    !X509_NAME_get0_der(X509_get_subject_name(cert), &iss, &isslen) ||
	    key_spki(pub, &spki, &spkilen) == -1)
		goto out;
	serial_new(serial, &n);
	buf_add(&tbs, v3, sizeof(v3));
	der_put_hdr(&tbs, 0x02, n);
	buf_add(&tbs, serial, n);
	buf_add(&tbs, a, (size_t)alen);
	buf_add(&tbs, iss, isslen);
	der_put_hdr(&tbs, 0x30, 2 * (sizeof(never) - 1));
	buf_add(&tbs, never, sizeof(never) - 1);
	buf_add(&tbs, never, sizeof(never) - 1);
	buf_add(&tbs, sd, sdlen);
	buf_add(&tbs, spki, spkilen);
	der_put_hdr(out, 0x30, tbs.len);
	buf_add(out, tbs.p, tbs.len);
	rc = 0;
 out:
	buf_free(&tbs);
	X509_ALGOR_free(alg);
	X509_NAME_free(subj);
	OPENSSL_free(a);
	free(spki);
	return rc;
}

static int
verify_sig(X509 *cert, const char *md, const struct buf *tbs,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*mctx;
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*pub = X509_get0_pubkey(cert);
	int		 ok;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, pub,
	    NULL) == 1 && (!EVP_PKEY_is_a(pub, "RSA") ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0) &&
	    EVP_DigestVerify(mctx, sig, siglen, tbs->p, tbs->len) == 1;
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return ok;
}

void
doctor_check_key(struct report *r, const struct conf *c, X509 *cert)
{
	struct conf	 one = *c;
	struct keyproc	*kp = NULL;
	struct buf	 tbs = { 0 };
	unsigned char	*sig = NULL;
	size_t		 siglen = 0;
	const char	*md = NULL;
	char		 err[KP_MSG_MAX + 64];
	int		 st;

	if (cert == NULL) {
		doctor_add(r, "ca_key", ST_PROBLEM, "not tried: %s/ca.pem cannot be "
		    "read", c->ca_dir);
		return;
	}
	one.workers = 1;
	if ((kp = keyproc_start(&one, err, sizeof(err))) == NULL) {
		doctor_add(r, "ca_key", ST_PROBLEM, "the signer process did not "
		    "start: %s", err);
		goto out;
	}
	if (test_tbs(cert, &md, &tbs) == -1) {
		ssl_errstr(err, sizeof(err));
		doctor_add(r, "ca_key", ST_PROBLEM, "cannot build the test TBS: %s",
		    err);
		goto out;
	}
	if ((st = keyproc_sign(kp, KP_CERT, tbs.p, tbs.len, &sig, &siglen,
	    err, sizeof(err))) != KP_OK) {
		doctor_add(r, "ca_key", ST_PROBLEM, "the signer %s: %s", st ==
		    KP_UNAVAILABLE ? "cannot reach the key" : "refused the "
		    "test signature", err);
		goto out;
	}
	if (!verify_sig(cert, md, &tbs, sig, siglen)) {
		doctor_add(r, "ca_key", ST_PROBLEM, "the test signature does not "
		    "verify with the public key of %s/ca.pem: the key is not "
		    "ca.pem's", c->ca_dir);
		goto out;
	}
	doctor_add(r, "ca_key", ST_OK, "the signer process started (pid %d) and "
	    "its %s signature verifies with %s/ca.pem's key",
	    keyproc_pid(kp), md, c->ca_dir);
 out:
	keyproc_stop(kp);
	buf_free(&tbs);
	free(sig);
}

