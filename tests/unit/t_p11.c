/*
 * t_p11: the PKCS#11 layer (p11.c) against a SoftHSM2 token initialized
 * in a temporary directory (SOFTHSM2_CONF): P-384 and RSA-4096 keys made
 * by p11_generate, their attributes read back from the token, signatures
 * checked by libcrypto over the message, refusals (same label, rsa3072,
 * wrong PIN, missing token or key, a URI of another type), p11_reopen,
 * a key made outside (pkcs11-tool), threads signing on their own
 * sessions, a token that goes away and comes back, and the PIN file.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <p11-kit/pkcs11.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "extern.h"
#include "ca.h"
#include "p11.h"
#include "t.h"

#define MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN	"certspool-test"
#define PIN	"1234"
#define NTHREADS	4

static char	 dir[64];

/* Sign msg's md digest with p on session i; 1 if libcrypto verifies it. */
static int
sign_verify(struct p11 *p, int i, const char *md, const char *msg,
    char *err, size_t errlen)
{
	const EVP_MD	*m = EVP_get_digestbyname(md);
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	 dg[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned int	 dlen;
	size_t		 siglen;
	int		 ok = 0;

	if (m == NULL || EVP_Digest(msg, strlen(msg), dg, &dlen, m, NULL) != 1)
		return 0;
	if (p11_sign(p, i, md, dg, dlen, &sig, &siglen, err, errlen) != 0)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, m, NULL, p11_public(p)) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)msg,
	    strlen(msg)) == 1)
		ok = 1;
	else
		snprintf(err, errlen, "signature does not verify");
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok;
}

/* A session of our own on the test token, logged in. */
static CK_FUNCTION_LIST *
own_session(CK_SESSION_HANDLE *s)
{
	CK_FUNCTION_LIST	*fl;
	CK_SLOT_ID		 slots[8];
	CK_ULONG		 n = 8, i;
	CK_TOKEN_INFO		 ti;
	CK_RV			 rv;

	if ((fl = p11_kit_module_load(MODULE, 0)) == NULL)
		return NULL;
	if (p11_kit_module_initialize(fl) != CKR_OK ||
	    fl->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		goto fail;
	for (i = 0; i < n; i++)
		if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    p11_kit_space_strlen(ti.label, 32) == strlen(TOKEN) &&
		    memcmp(ti.label, TOKEN, strlen(TOKEN)) == 0)
			break;
	if (i == n || fl->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL,
	    NULL, s) != CKR_OK)
		goto fail;
	rv = fl->C_Login(*s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		goto fail;
	return fl;
 fail:
	p11_kit_module_finalize(fl);
	p11_kit_module_release(fl);
	return NULL;
}

/*
 * The private key labelled label: its attributes as the token reports
 * them, checked against what a CA key must be, and its CKA_ID against
 * the id in uri.
 */
static void
check_attrs(const char *label, const char *uri, CK_KEY_TYPE want_kt,
    CK_ULONG want_bits)
{
	CK_FUNCTION_LIST	*fl;
	CK_SESSION_HANDLE	 s;
	CK_OBJECT_CLASS		 cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		 t[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE	 h[2];
	CK_ULONG		 n = 0;
	CK_BBOOL		 tok = 0, sens = 0, extr = 1, priv = 0, sign = 0;
	CK_KEY_TYPE		 kt = (CK_KEY_TYPE)-1;
	unsigned char		 id[64], mod[1024];
	CK_ATTRIBUTE		 a[7] = {
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_PRIVATE, &priv, sizeof(priv) },
		{ CKA_SIGN, &sign, sizeof(sign) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_ATTRIBUTE		 m = { CKA_MODULUS, mod, sizeof(mod) };
	CK_ATTRIBUTE		*ua;
	P11KitUri		*u;
	CK_RV			 rv;

	if ((fl = own_session(&s)) == NULL) {
		T_CHECK(0, "own session on the token");
		return;
	}
	T_CHECK(fl->C_FindObjectsInit(s, t, 2) == CKR_OK &&
	    fl->C_FindObjects(s, h, 2, &n) == CKR_OK &&
	    fl->C_FindObjectsFinal(s) == CKR_OK && n == 1,
	    "%s: %lu private keys", label, (unsigned long)n);
	if (n == 1) {
		rv = fl->C_GetAttributeValue(s, h[0], a, 7);
		T_CHECK(rv == CKR_OK, "%s: C_GetAttributeValue 0x%lx", label,
		    (unsigned long)rv);
		T_CHECK(tok == CK_TRUE, "%s: CKA_TOKEN", label);
		T_CHECK(sens == CK_TRUE, "%s: CKA_SENSITIVE", label);
		T_CHECK(extr == CK_FALSE, "%s: CKA_EXTRACTABLE", label);
		T_CHECK(priv == CK_TRUE, "%s: CKA_PRIVATE", label);
		T_CHECK(sign == CK_TRUE, "%s: CKA_SIGN", label);
		T_CHECK(kt == want_kt, "%s: key type %lu", label,
		    (unsigned long)kt);
		T_CHECK(a[6].ulValueLen == 16, "%s: CKA_ID of %lu bytes",
		    label, (unsigned long)a[6].ulValueLen);
		if (want_kt == CKK_RSA)
			T_CHECK(fl->C_GetAttributeValue(s, h[0], &m, 1) ==
			    CKR_OK && m.ulValueLen * 8 == want_bits,
			    "%s: modulus of %lu bytes", label,
			    (unsigned long)m.ulValueLen);
		/* The sensitive value itself is not readable. */
		m.type = want_kt == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE;
		m.ulValueLen = sizeof(mod);
		rv = fl->C_GetAttributeValue(s, h[0], &m, 1);
		T_CHECK(rv == CKR_ATTRIBUTE_SENSITIVE, "%s: private value "
		    "readable (0x%lx)", label, (unsigned long)rv);
		/* The URI names this token, this label, this id. */
		u = p11_kit_uri_new();
		T_CHECK(p11_kit_uri_parse(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN,
		    u) == P11_KIT_URI_OK, "parse %s", uri);
		T_CHECK(p11_kit_space_strlen(p11_kit_uri_get_token_info(u)->
		    label, 32) == strlen(TOKEN) && memcmp(
		    p11_kit_uri_get_token_info(u)->label, TOKEN,
		    strlen(TOKEN)) == 0, "token in %s", uri);
		ua = p11_kit_uri_get_attribute(u, CKA_ID);
		T_CHECK(ua != NULL && ua->ulValueLen == a[6].ulValueLen &&
		    memcmp(ua->pValue, id, ua->ulValueLen) == 0,
		    "id in %s", uri);
		ua = p11_kit_uri_get_attribute(u, CKA_LABEL);
		T_CHECK(ua != NULL && ua->ulValueLen == strlen(label) &&
		    memcmp(ua->pValue, label, strlen(label)) == 0,
		    "object in %s", uri);
		ua = p11_kit_uri_get_attribute(u, CKA_CLASS);
		T_CHECK(ua != NULL && *(CK_OBJECT_CLASS *)ua->pValue ==
		    CKO_PRIVATE_KEY, "type in %s", uri);
		p11_kit_uri_free(u);
	}
	fl->C_CloseSession(s);
	p11_kit_module_finalize(fl);
	p11_kit_module_release(fl);
}

struct thr {
	struct p11	*p;
	int		 i, n, ok;
	const char	*md;
	char		 err[256];
};

static void *
thr_sign(void *arg)
{
	struct thr	*t = arg;
	char		 msg[64];
	int		 k;

	for (k = 0; k < t->n; k++) {
		snprintf(msg, sizeof(msg), "thread %d message %d", t->i, k);
		if (sign_verify(t->p, t->i, t->md, msg, t->err,
		    sizeof(t->err)))
			t->ok++;
	}
	return NULL;
}

/* n signatures on each of NTHREADS sessions at once; how many verify. */
static int
threads(struct p11 *p, const char *md, int n)
{
	pthread_t	 th[NTHREADS];
	struct thr	 t[NTHREADS];
	int		 i, ok = 0;

	for (i = 0; i < NTHREADS; i++) {
		t[i] = (struct thr){ p, i, n, 0, md, "" };
		if (pthread_create(&th[i], NULL, thr_sign, &t[i]) != 0)
			return -1;
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ok += t[i].ok;
		if (t[i].ok != n)
			fprintf(stderr, "thread %d: %s\n", i, t[i].err);
	}
	return ok;
}

static void
test_keys(void)
{
	struct p11	*p, *q;
	EVP_PKEY	*pub;
	char		 uri_ec[512], uri_rsa[512], err[512], u[600];

	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-p384", "p384", uri_ec,
	    sizeof(uri_ec), err, sizeof(err)) == 0, "generate p384: %s", err);
	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-rsa", "rsa4096",
	    uri_rsa, sizeof(uri_rsa), err, sizeof(err)) == 0,
	    "generate rsa4096: %s", err);
	check_attrs("ca-p384", uri_ec, CKK_EC, 0);
	check_attrs("ca-rsa", uri_rsa, CKK_RSA, 4096);

	/* Refusals of p11_generate. */
	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-p384", "p384", u,
	    sizeof(u), err, sizeof(err)) == -1 && strstr(err, "exists"),
	    "same label: %s", err);
	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-3072", "rsa3072", u,
	    sizeof(u), err, sizeof(err)) == -1 && strstr(err, "6.1.5") &&
	    strstr(err, "4096"), "rsa3072: %s", err);
	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-ed", "ed25519", u,
	    sizeof(u), err, sizeof(err)) == -1, "ed25519 accepted");
	T_CHECK(p11_generate(MODULE, TOKEN, "9999", "ca-x", "p384", u,
	    sizeof(u), err, sizeof(err)) == -1 &&
	    strstr(err, "CKR_PIN_INCORRECT"), "generate, wrong pin: %s", err);
	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-short", "p384", u, 20,
	    err, sizeof(err)) == -1 && strstr(err, "longer"),
	    "URI buffer of 20: %s", err);
	T_CHECK(p11_generate(MODULE, TOKEN, PIN, "ca-short", "p384", u,
	    sizeof(u), err, sizeof(err)) == 0, "ca-short left behind: %s",
	    err);
	T_CHECK(p11_generate(MODULE, "nosuch", PIN, "ca-x", "p384", u,
	    sizeof(u), err, sizeof(err)) == -1 && strstr(err, "nosuch"),
	    "generate, no token: %s", err);

	/* P-384: sign and verify, also after p11_reopen. */
	T_CHECK(p11_is_uri(uri_ec) && p11_is_uri("PKCS11:token=x") &&
	    !p11_is_uri("/etc/ca.key"), "p11_is_uri");
	p = p11_open(MODULE, uri_ec, PIN, NTHREADS, err, sizeof(err));
	T_CHECK(p != NULL, "open %s: %s", uri_ec, err);
	if (p != NULL) {
		pub = p11_public(p);
		T_CHECK(EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC &&
		    EVP_PKEY_get_bits(pub) == 384, "P-384 public key");
		T_CHECK(sign_verify(p, 0, "SHA384", "tbs one", err,
		    sizeof(err)), "p384 SHA384: %s", err);
		T_CHECK(sign_verify(p, 3, "SHA256", "tbs two", err,
		    sizeof(err)), "p384 SHA256: %s", err);
		T_CHECK(sign_verify(p, 1, "SHA512", "tbs three", err,
		    sizeof(err)), "p384 SHA512: %s", err);
		T_CHECK(!sign_verify(p, NTHREADS, "SHA384", "x", err,
		    sizeof(err)), "session index out of range accepted");
		T_CHECK(!sign_verify(p, 0, "MD5", "x", err, sizeof(err)),
		    "MD5 accepted");
		T_CHECK(p11_reopen(p, err, sizeof(err)) == 0, "reopen: %s",
		    err);
		T_CHECK(p11_public(p) == pub, "public key changed on reopen");
		T_CHECK(sign_verify(p, 2, "SHA384", "after reopen", err,
		    sizeof(err)), "after reopen: %s", err);
		T_CHECK(threads(p, "SHA384", 50) == NTHREADS * 50,
		    "p384 threads");
		/* A second handle on the same token, and closing it. */
		q = p11_open(MODULE, uri_rsa, PIN, 1, err, sizeof(err));
		T_CHECK(q != NULL, "second handle: %s", err);
		p11_close(q);
		T_CHECK(sign_verify(p, 0, "SHA384", "after the other closed",
		    err, sizeof(err)), "first handle after second closed: %s",
		    err);
		p11_close(p);
	}

	/* RSA-4096: DigestInfo for each hash, threads. */
	p = p11_open(MODULE, uri_rsa, PIN, NTHREADS, err, sizeof(err));
	T_CHECK(p != NULL, "open %s: %s", uri_rsa, err);
	if (p != NULL) {
		pub = p11_public(p);
		T_CHECK(EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA &&
		    EVP_PKEY_get_bits(pub) == 4096, "RSA-4096 public key");
		T_CHECK(sign_verify(p, 0, "SHA256", "tbs rsa", err,
		    sizeof(err)), "rsa SHA256: %s", err);
		T_CHECK(sign_verify(p, 1, "SHA384", "tbs rsa", err,
		    sizeof(err)), "rsa SHA384: %s", err);
		T_CHECK(sign_verify(p, 2, "SHA2-512", "tbs rsa", err,
		    sizeof(err)), "rsa SHA512: %s", err);
		T_CHECK(p11_reopen(p, err, sizeof(err)) == 0, "reopen: %s",
		    err);
		T_CHECK(sign_verify(p, 3, "SHA256", "after reopen", err,
		    sizeof(err)), "rsa after reopen: %s", err);
		T_CHECK(threads(p, "SHA256", 10) == NTHREADS * 10,
		    "rsa threads");
		p11_close(p);
	}

	/* Refusals of p11_open. */
	p = p11_open(MODULE, uri_ec, "0000", 1, err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "CKR_PIN_INCORRECT"),
	    "wrong pin: %s", err);
	p11_close(p);
	p = p11_open(MODULE, "pkcs11:token=nosuch;object=ca-p384", PIN, 1,
	    err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "\"nosuch\""), "no token: %s", err);
	p11_close(p);
	p = p11_open(MODULE, "pkcs11:token=" TOKEN ";object=nokey", PIN, 1,
	    err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "\"nokey\"") && strstr(err, TOKEN),
	    "no key: %s", err);
	p11_close(p);
	p = p11_open(MODULE, "pkcs11:token=" TOKEN ";object=ca-p384;"
	    "type=public", PIN, 1, err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "type=private"), "type=public: %s",
	    err);
	p11_close(p);
	p = p11_open(MODULE, "file:///etc/ca.key", PIN, 1, err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "RFC 7512"), "not a URI: %s", err);
	p11_close(p);
	p = p11_open("/nonexistent/lib.so", uri_ec, PIN, 1, err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "/nonexistent/lib.so"),
	    "no module: %s", err);
	p11_close(p);
	/* Without object= the token holds two keys: ambiguous. */
	p = p11_open(MODULE, "pkcs11:token=" TOKEN, PIN, 1, err, sizeof(err));
	T_CHECK(p == NULL && strstr(err, "several"), "ambiguous: %s", err);
	p11_close(p);
}

/* A P-384 key made by pkcs11-tool, named by id only. */
static void
test_import(void)
{
	struct p11	*p;
	char		 cmd[512], err[512];

	snprintf(cmd, sizeof(cmd), "pkcs11-tool --module " MODULE
	    " --token-label " TOKEN " --login --pin " PIN " --keypairgen"
	    " --key-type EC:secp384r1 --label imported --id 0a0b0c"
	    " --usage-sign >%s/pkcs11-tool.out 2>&1", dir);
	if (system(cmd) != 0) {
		T_CHECK(0, "pkcs11-tool --keypairgen, see %s/pkcs11-tool.out",
		    dir);
		return;
	}
	p = p11_open(MODULE, "pkcs11:token=" TOKEN ";id=%0a%0b%0c", PIN, 2,
	    err, sizeof(err));
	T_CHECK(p != NULL, "open imported: %s", err);
	if (p != NULL) {
		T_CHECK(sign_verify(p, 1, "SHA384", "imported", err,
		    sizeof(err)), "imported: %s", err);
		p11_close(p);
	}
}

/*
 * The token goes away (its directory replaced by an empty one) while a
 * handle is open, and comes back.
 */
static void
test_gone(const char *uri)
{
	struct p11	*p;
	unsigned char	 dg[32], *sig = NULL;
	size_t		 siglen;
	char		 a[128], b[128], err[512];
	int		 r;

	p = p11_open(MODULE, uri, PIN, 1, err, sizeof(err));
	T_CHECK(p != NULL, "open: %s", err);
	if (p == NULL)
		return;
	snprintf(a, sizeof(a), "%s/tokens", dir);
	snprintf(b, sizeof(b), "%s/tokens.away", dir);
	T_CHECK(rename(a, b) == 0 && mkdir(a, 0700) == 0, "move tokens");
	memset(dg, 7, sizeof(dg));
	r = p11_sign(p, 0, "SHA256", dg, sizeof(dg), &sig, &siglen, err,
	    sizeof(err));
	T_CHECK(r == P11_GONE && sig == NULL, "sign with the token gone: "
	    "%d %s", r, err);
	r = p11_reopen(p, err, sizeof(err));
	T_CHECK(r == -1 && strstr(err, "\"" TOKEN "\""),
	    "reopen without the token: %s", err);
	r = p11_sign(p, 0, "SHA256", dg, sizeof(dg), &sig, &siglen, err,
	    sizeof(err));
	T_CHECK(r == P11_GONE && sig == NULL, "sign after a failed reopen: "
	    "%d", r);
	T_CHECK(rmdir(a) == 0 && rename(b, a) == 0, "move tokens back");
	T_CHECK(p11_reopen(p, err, sizeof(err)) == 0, "reopen: %s", err);
	T_CHECK(sign_verify(p, 0, "SHA384", "token back", err, sizeof(err)),
	    "token back: %s", err);
	p11_close(p);
}

static void
put(const char *path, const char *s, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) != NULL) {
		fputs(s, f);
		fclose(f);
	}
	chmod(path, mode);
}

static void
test_pin(void)
{
	char	 f[128], l[128], err[256], *pin;

	snprintf(f, sizeof(f), "%s/pin", dir);
	put(f, "4321\n", 0600);
	pin = p11_pin_read(f, err, sizeof(err));
	T_STREQ(pin, "4321");
	free(pin);
	put(f, "4321", 0400);
	pin = p11_pin_read(f, err, sizeof(err));
	T_STREQ(pin, "4321");
	free(pin);
	put(f, "4321\n", 0644);
	pin = p11_pin_read(f, err, sizeof(err));
	T_CHECK(pin == NULL && strstr(err, "mode 0644") &&
	    strstr(err, "0600"), "0644: %s", err);
	free(pin);
	put(f, "4321\n", 0640);
	pin = p11_pin_read(f, err, sizeof(err));
	T_CHECK(pin == NULL && strstr(err, "mode 0640"), "0640: %s", err);
	free(pin);
	put(f, "4321\n", 0600);
	snprintf(l, sizeof(l), "%s/pinlink", dir);
	T_CHECK(symlink(f, l) == 0, "symlink");
	pin = p11_pin_read(l, err, sizeof(err));
	T_CHECK(pin == NULL && strstr(err, "symbolic link"), "link: %s", err);
	free(pin);
	pin = p11_pin_read(dir, err, sizeof(err));
	T_CHECK(pin == NULL, "a directory accepted");
	free(pin);
	put(f, "\n", 0600);
	pin = p11_pin_read(f, err, sizeof(err));
	T_CHECK(pin == NULL && strstr(err, "empty"), "empty: %s", err);
	free(pin);
	put(f, "12\n34\n", 0600);
	pin = p11_pin_read(f, err, sizeof(err));
	T_CHECK(pin == NULL, "two lines accepted");
	free(pin);
	unsetenv("CERTSPOOL_PKCS11_PIN");
	pin = p11_pin_read("", err, sizeof(err));
	T_CHECK(pin == NULL && strstr(err, "CERTSPOOL_PKCS11_PIN"),
	    "no env: %s", err);
	free(pin);
	setenv("CERTSPOOL_PKCS11_PIN", "5555", 1);
	pin = p11_pin_read(NULL, err, sizeof(err));
	T_STREQ(pin, "5555");
	free(pin);
	/* The file wins over the environment. */
	put(f, "6666\n", 0600);
	pin = p11_pin_read(f, err, sizeof(err));
	T_STREQ(pin, "6666");
	free(pin);
	unsetenv("CERTSPOOL_PKCS11_PIN");
}

int
main(void)
{
	FILE	*f;
	char	 p[256], cmd[512], uri[512], err[256];

	log_init("stderr", LOGL_WARN);
	snprintf(dir, sizeof(dir), "/tmp/t_p11.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(p, sizeof(p), "%s/tokens", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/softhsm2.conf", dir);
	if ((f = fopen(p, "w")) == NULL)
		return 1;
	fprintf(f, "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", p, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free "
	    "--label " TOKEN " --so-pin 5678 --pin " PIN " >%s/init.out", dir);
	if (access(MODULE, R_OK) != 0 || system(cmd) != 0) {
		T_CHECK(0, "SoftHSM2 (%s) or softhsm2-util missing", MODULE);
		return t_done("t_p11");
	}

	test_keys();
	test_import();
	if (p11_generate(MODULE, TOKEN, PIN, "ca-gone", "p384", uri,
	    sizeof(uri), err, sizeof(err)) == 0)
		test_gone(uri);
	else
		T_CHECK(0, "generate: %s", err);
	test_pin();

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (t_fail == 0 && system(cmd) != 0)
		return 1;
	return t_done("t_p11");
}
