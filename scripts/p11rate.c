/*
 * p11rate: a PKCS#11 token's own signing rate, for scripts/bench.sh.
 *
 *   p11rate MODULE URI PIN-FILE THREADS SECONDS
 *
 * Loads MODULE with p11-kit, finds the token and the private key the RFC
 * 7512 URI names (certspool's ca_key), logs in once with the PIN (first
 * line of PIN-FILE), opens one session per thread and has each thread
 * sign for SECONDS: C_SignInit + C_Sign with CKM_ECDSA over a SHA-384
 * digest for an EC key, CKM_RSA_PKCS over a SHA-256 DigestInfo for an
 * RSA key (what certspool's signer asks of the token for a P-384 and an
 * RSA CA).  Prints one line:
 *
 *   signatures/s: RATE (COUNT in SECS s, THREADS threads, MECHANISM;
 *       CPU us CPU each)
 *
 * (CPU: the process's user + system time over the loop per signature,
 * which the load of a shared machine does not change much.)
 * Any failed call ends it with a message and exit status 1.
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#define MAXTHREADS	256

struct worker {
	CK_FUNCTION_LIST	*fl;
	CK_SESSION_HANDLE	 s;
	CK_OBJECT_HANDLE	 key;
	CK_MECHANISM		 mech;
	const unsigned char	*in;
	CK_ULONG		 inlen;
	double			 secs;
	pthread_barrier_t	*go;
	unsigned long		 n;
	CK_RV			 rv;
	pthread_t		 th;
};

/* DER DigestInfo prefix of SHA-256 (RFC 8017 9.2 note 1). */
static const unsigned char sha256_di[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
fail(const char *what, CK_RV rv)
{
	fprintf(stderr, "p11rate: %s: CKR 0x%lx\n", what, (unsigned long)rv);
	exit(1);
}

static void *
run(void *arg)
{
	struct worker	*w = arg;
	unsigned char	 sig[1024];
	CK_ULONG	 siglen;
	double		 end;

	pthread_barrier_wait(w->go);
	end = now() + w->secs;
	do {
		siglen = sizeof(sig);
		if ((w->rv = w->fl->C_SignInit(w->s, &w->mech, w->key)) !=
		    CKR_OK ||
		    (w->rv = w->fl->C_Sign(w->s, (CK_BYTE_PTR)w->in, w->inlen,
		    sig, &siglen)) != CKR_OK)
			return NULL;
		w->n++;
	} while (now() < end);
	return NULL;
}

/* The slot of the first token the URI matches. */
static CK_SLOT_ID
find_slot(CK_FUNCTION_LIST *fl, P11KitUri *u)
{
	CK_SLOT_ID	*slots;
	CK_TOKEN_INFO	 ti;
	CK_ULONG	 n = 0, i;
	CK_RV		 rv;

	if ((rv = fl->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
		fail("C_GetSlotList", rv);
	if ((slots = calloc(n ? n : 1, sizeof(*slots))) == NULL)
		fail("out of memory", CKR_HOST_MEMORY);
	if ((rv = fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		fail("C_GetSlotList", rv);
	for (i = 0; i < n; i++)
		if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    p11_kit_uri_match_token_info(u, &ti) == 1) {
			CK_SLOT_ID s = slots[i];
			free(slots);
			return s;
		}
	fprintf(stderr, "p11rate: no token matches the URI\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	CK_FUNCTION_LIST	*fl;
	P11KitUri		*u;
	CK_ATTRIBUTE		*attrs, tmpl[16], kt;
	CK_OBJECT_CLASS		 priv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE		 ktype;
	CK_OBJECT_HANDLE	 key;
	CK_SESSION_HANDLE	 s0;
	CK_SLOT_ID		 slot;
	CK_ULONG		 nattr, nt = 0, found = 0, i;
	CK_RV			 rv;
	pthread_barrier_t	 go;
	struct worker		*w;
	unsigned char		 dg[48], in[19 + 32];
	unsigned int		 dlen;
	unsigned long		 total = 0;
	char			 pin[256];
	const char		*mname;
	double			 secs, t0, t1, c0, c1;
	FILE			*f;
	int			 nth, k;

	if (argc != 6 || (nth = atoi(argv[4])) < 1 || nth > MAXTHREADS ||
	    (secs = atof(argv[5])) <= 0) {
		fprintf(stderr, "usage: p11rate MODULE URI PIN-FILE THREADS "
		    "SECONDS\n");
		return 2;
	}
	if ((f = fopen(argv[3], "r")) == NULL ||
	    fgets(pin, sizeof(pin), f) == NULL) {
		fprintf(stderr, "p11rate: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	fclose(f);
	pin[strcspn(pin, "\r\n")] = '\0';
	if ((u = p11_kit_uri_new()) == NULL ||
	    p11_kit_uri_parse(argv[2], P11_KIT_URI_FOR_OBJECT_ON_TOKEN, u) !=
	    P11_KIT_URI_OK) {
		fprintf(stderr, "p11rate: %s: not a PKCS#11 URI\n", argv[2]);
		return 1;
	}
	if ((fl = p11_kit_module_load(argv[1], 0)) == NULL) {
		fprintf(stderr, "p11rate: %s: cannot be loaded\n", argv[1]);
		return 1;
	}
	if ((rv = p11_kit_module_initialize(fl)) != CKR_OK)
		fail("C_Initialize", rv);
	slot = find_slot(fl, u);
	if ((rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s0)) != CKR_OK)
		fail("C_OpenSession", rv);
	if ((rv = fl->C_Login(s0, CKU_USER, (CK_UTF8CHAR_PTR)pin,
	    strlen(pin))) != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		fail("C_Login", rv);

	/* The URI's object attributes, and a private key. */
	attrs = p11_kit_uri_get_attributes(u, &nattr);
	for (i = 0; i < nattr && nt < 15; i++)
		if (attrs[i].type != CKA_CLASS)
			tmpl[nt++] = attrs[i];
	tmpl[nt].type = CKA_CLASS;
	tmpl[nt].pValue = &priv;
	tmpl[nt++].ulValueLen = sizeof(priv);
	if ((rv = fl->C_FindObjectsInit(s0, tmpl, nt)) != CKR_OK ||
	    (rv = fl->C_FindObjects(s0, &key, 1, &found)) != CKR_OK)
		fail("C_FindObjects", rv);
	fl->C_FindObjectsFinal(s0);
	if (found != 1) {
		fprintf(stderr, "p11rate: no private key matches the URI\n");
		return 1;
	}
	kt.type = CKA_KEY_TYPE;
	kt.pValue = &ktype;
	kt.ulValueLen = sizeof(ktype);
	if ((rv = fl->C_GetAttributeValue(s0, key, &kt, 1)) != CKR_OK)
		fail("C_GetAttributeValue(CKA_KEY_TYPE)", rv);

	if ((w = calloc((size_t)nth, sizeof(*w))) == NULL)
		fail("out of memory", CKR_HOST_MEMORY);
	if (ktype == CKK_EC) {
		if (!EVP_Digest("p11rate", 7, dg, &dlen, EVP_sha384(), NULL))
			fail("SHA-384", CKR_FUNCTION_FAILED);
		mname = "CKM_ECDSA, SHA-384 digest";
	} else if (ktype == CKK_RSA) {
		memcpy(in, sha256_di, sizeof(sha256_di));
		if (!EVP_Digest("p11rate", 7, in + sizeof(sha256_di), &dlen,
		    EVP_sha256(), NULL))
			fail("SHA-256", CKR_FUNCTION_FAILED);
		mname = "CKM_RSA_PKCS, SHA-256 DigestInfo";
	} else {
		fprintf(stderr, "p11rate: key type 0x%lx is neither EC nor "
		    "RSA\n", (unsigned long)ktype);
		return 1;
	}
	pthread_barrier_init(&go, NULL, (unsigned int)nth + 1);
	for (k = 0; k < nth; k++) {
		w[k].fl = fl;
		w[k].key = key;
		w[k].mech.mechanism = ktype == CKK_EC ? CKM_ECDSA : CKM_RSA_PKCS;
		w[k].in = ktype == CKK_EC ? dg : in;
		w[k].inlen = ktype == CKK_EC ? 48 : sizeof(in);
		w[k].secs = secs;
		w[k].go = &go;
		if ((rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL,
		    NULL, &w[k].s)) != CKR_OK)
			fail("C_OpenSession", rv);
		if (pthread_create(&w[k].th, NULL, run, &w[k]) != 0) {
			fprintf(stderr, "p11rate: cannot start a thread\n");
			return 1;
		}
	}
	c0 = cpu();
	pthread_barrier_wait(&go);
	t0 = now();
	for (k = 0; k < nth; k++) {
		pthread_join(w[k].th, NULL);
		if (w[k].rv != CKR_OK)
			fail("C_Sign", w[k].rv);
		total += w[k].n;
	}
	t1 = now();
	c1 = cpu();
	printf("signatures/s: %.1f (%lu in %.2f s, %d threads, %s; %.0f us "
	    "CPU each)\n", total / (t1 - t0), total, t1 - t0, nth, mname,
	    total ? (c1 - c0) * 1e6 / total : 0);
	for (k = 0; k < nth; k++)
		fl->C_CloseSession(w[k].s);
	fl->C_Logout(s0);
	fl->C_CloseSession(s0);
	p11_kit_module_finalize(fl);
	p11_kit_module_release(fl);
	p11_kit_uri_free(u);
	free(w);
	return 0;
}
