/*
 * t_crl: CRLs built by crl.c, read back with libcrypto (d2i_X509_CRL,
 * X509_CRL_verify): shard URLs and choice, structure, entries and their
 * extensions, the expiry cutoff, UTCTime/GeneralizedTime, RSA and P-384
 * CAs, the CRL number read back from a file, and the peak memory of
 * building a CRL of 100,000 entries.
 */
#include <sys/resource.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "ca.h"
#include "crl.h"
#include "keyproc.h"
#include "store.h"
#include "t.h"

#define BIG	100000
#define MIB	(1024L * 1024)

static char	 dir[64];

/* Peak RSS in KiB since reset_peak() (VmHWM), or ru_maxrss. */
static int	 hwm_ok;

static void
reset_peak(void)
{
	int	 fd;

	hwm_ok = 0;
	if ((fd = open("/proc/self/clear_refs", O_WRONLY)) != -1) {
		hwm_ok = write(fd, "5", 1) == 1;
		close(fd);
	}
}

static long
status_kib(const char *key)
{
	FILE	*f;
	char	 line[256];
	long	 v = -1;
	size_t	 n = strlen(key);

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static long
peak_kib(void)
{
	struct rusage	 ru;

	if (hwm_ok)
		return status_kib("VmHWM");
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Fake revoked certificates: n rows of shard, serials tagged by tag. */
static void
fill(struct store *st, int shard, int n, int tag, time_t not_after,
    time_t revoked)
{
	static const char	*reasons[] = { "keyCompromise", "unspecified",
	    "affiliationChanged", "superseded", "cessationOfOperation",
	    "privilegeWithdrawn" };
	char			 serial[41];
	int			 i;

	store_exec(st, "PRAGMA foreign_keys = OFF");
	store_begin(st);
	for (i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "%02X%038d", 0x10 + tag, i);
		if (store_done(st, store_prep(st, "INSERT INTO certificate"
		    " (recipient_id, round, serial, state, tbs, not_before,"
		    " not_after, spki_sha256, created, crl_shard, revoked_at,"
		    " revoke_reason, invalidity_at) VALUES (?, ?, ?, 'issued',"
		    " x'00', 0, ?, 'x', 0, ?, ?, ?, NULLIF(?, 0))", "iitiiiti",
		    1000000LL + tag, (long long)i, serial, (long long)not_after,
		    (long long)shard, (long long)revoked, reasons[i % 6],
		    (long long)(i % 7 == 0 ? revoked - 86400 : 0))) == -1)
			fprintf(stderr, "insert: %s\n", db_errmsg(st));
	}
	store_commit(st);
	store_exec(st, "PRAGMA foreign_keys = ON");
}

static X509_CRL *
load_crl(const char *name)
{
	char		 path[256];
	unsigned char	*buf = NULL;
	const unsigned char *p;
	size_t		 len;
	X509_CRL	*crl;

	snprintf(path, sizeof(path), "%s/crl/%s", dir, name);
	if (fs_read_file(path, 64 * MIB, &buf, &len) == -1)
		return NULL;
	p = buf;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl != NULL && p != buf + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	free(buf);
	return crl;
}

static long long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER	*n;
	long long	 v = -1;
	int64_t		 x;

	if ((n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL)) ==
	    NULL)
		return -1;
	if (ASN1_INTEGER_get_int64(&x, n))
		v = x;
	ASN1_INTEGER_free(n);
	return v;
}

/* The IDP: critical, one URI equal to url, onlyContainsUserCerts. */
static int
idp_is(X509_CRL *crl, const char *url)
{
	ISSUING_DIST_POINT	*idp;
	GENERAL_NAME		*gn;
	int			 crit = -1, ok = 0;

	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point,
	    &crit, NULL);
	if (idp == NULL)
		return 0;
	if (crit == 1 && idp->onlyuser && idp->distpoint != NULL &&
	    idp->distpoint->type == 0 &&
	    sk_GENERAL_NAME_num(idp->distpoint->name.fullname) == 1) {
		gn = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
		ok = gn->type == GEN_URI &&
		    strcmp((const char *)ASN1_STRING_get0_data(
		    gn->d.uniformResourceIdentifier), url) == 0;
	}
	ISSUING_DIST_POINT_free(idp);
	return ok;
}

static void
test_shards(const struct conf *c)
{
	unsigned char	 s[20];
	size_t		 len;
	char		 buf[256];
	int		 n[4] = { 0 }, i;

	T_CHECK(crl_shard_url(c, 2, buf, sizeof(buf)) == 0, "url");
	T_STREQ(buf, "http://crl.example/c/ca-2.crl");
	T_CHECK(crl_shard_file(c, 3, buf, sizeof(buf)) == 0, "file");
	T_STREQ(buf, "ca-3.crl");
	T_CHECK(crl_shard_url(c, 1000, buf, 20) == -1, "too long");
	for (i = 0; i < 4000; i++) {
		serial_new(s, &len);
		n[crl_shard_of(s, len, 4)]++;
	}
	for (i = 0; i < 4; i++)
		T_CHECK(n[i] > 800 && n[i] < 1200, "shard %d: %d of 4000", i,
		    n[i]);
	serial_new(s, &len);
	T_CHECK(crl_shard_of(s, len, 1) == 0, "one shard");
	T_CHECK(crl_shard_of(s, len, 4) == crl_shard_of(s, len, 4), "stable");
}

/* A CRL of BIG entries: peak memory, every entry, signature. */
static void
test_big(struct store *st, const struct conf *c, const struct ca *ca,
    int dirfd, time_t now)
{
	X509_CRL		*crl;
	STACK_OF(X509_REVOKED)	*rev;
	X509_REVOKED		*r;
	ASN1_ENUMERATED		*code;
	ASN1_GENERALIZEDTIME	*inv;
	size_t			 entries = 0;
	long			 base, peak;
	long long		 num;
	int			 i, nkc = 0, nreason = 0, ninv = 0, bad = 0;

	fill(st, 1, BIG, 1, now + 365 * 86400, now - 3600);
	fill(st, 1, 10, 2, now - 7200, now - 86400 * 30);	/* expired */
	fill(st, 2, 5, 3, now + 86400, now - 60);
	base = status_kib("VmRSS");
	reset_peak();
	T_CHECK(crl_write(st, c, ca, 1, 7, now, now - 3600, dirfd, "ca-1.crl",
	    &entries) == 0, "write big");
	peak = peak_kib();
	printf("t_crl: %d entries: RSS %ld KiB before, peak %ld KiB (%s)\n",
	    BIG, base, peak, hwm_ok ? "VmHWM" : "ru_maxrss");
#ifndef __SANITIZE_ADDRESS__	/* its quarantine keeps freed memory */
	T_CHECK(peak - base < 16 * 1024, "peak %ld KiB above %ld", peak, base);
#endif
	T_CHECK(entries == BIG, "entries %zu", entries);
	T_CHECK(crl_file_number(dirfd, "ca-1.crl", &num) == 1 && num == 7,
	    "number read back %lld", num);
	if ((crl = load_crl("ca-1.crl")) == NULL) {
		T_CHECK(0, "big CRL does not parse");
		return;
	}
	T_CHECK(X509_CRL_verify(crl, ca->pub) == 1, "big CRL signature");
	rev = X509_CRL_get_REVOKED(crl);
	T_CHECK(sk_X509_REVOKED_num(rev) == BIG, "parsed entries %d",
	    sk_X509_REVOKED_num(rev));
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		r = sk_X509_REVOKED_value(rev, i);
		code = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, NULL,
		    NULL);
		if (code != NULL) {
			nreason++;
			if (ASN1_ENUMERATED_get(code) == 1)
				nkc++;
		}
		if (inv != NULL)
			ninv++;
		/* row i: reason i % 6, "unspecified" (1) has none */
		if ((code == NULL) != (i % 6 == 1) || (inv == NULL) !=
		    (i % 7 != 0))
			bad++;
		ASN1_ENUMERATED_free(code);
		ASN1_GENERALIZEDTIME_free(inv);
	}
	T_CHECK(bad == 0, "%d entries with wrong extensions", bad);
	T_CHECK(nkc == (BIG + 5) / 6, "keyCompromise %d", nkc);
	T_CHECK(nreason == BIG - (BIG + 4) / 6, "reasons %d", nreason);
	T_CHECK(ninv == (BIG + 6) / 7, "invalidity dates %d", ninv);
	X509_CRL_free(crl);
}

static void
test_small(struct store *st, const struct conf *c, const struct ca *ca,
    int dirfd, time_t now, int gen)
{
	X509_CRL	*crl;
	X509_REVOKED	*r;
	AUTHORITY_KEYID	*aki;
	size_t		 entries;
	long long	 num;
	int		 day, sec;
	time_t		 tu = gen ? 2556144000 : now;	/* 2051-01-01 */

	T_CHECK(crl_write(st, c, ca, 2, 8, tu, now - 3600, dirfd, "ca-2.crl",
	    &entries) == 0 && entries == 5, "write small");
	T_CHECK(crl_write(st, c, ca, 3, 9, tu, 0, dirfd, "ca-3.crl",
	    &entries) == 0 && entries == 0, "write empty");
	if ((crl = load_crl("ca-2.crl")) == NULL) {
		T_CHECK(0, "small CRL does not parse");
		return;
	}
	T_CHECK(X509_CRL_verify(crl, ca->pub) == 1, "signature");
	T_CHECK(X509_CRL_get_version(crl) == X509_CRL_VERSION_2, "v2");
	T_CHECK(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ca->cert)) == 0, "issuer");
	T_CHECK(X509_CRL_get_signature_nid(crl) == (ca->is_ec ?
	    NID_ecdsa_with_SHA384 : NID_sha256WithRSAEncryption), "sigalg");
	T_CHECK(crl_number(crl) == 8, "number");
	T_CHECK(idp_is(crl, "http://crl.example/c/ca-2.crl"), "IDP");
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	T_CHECK(aki != NULL && aki->issuer == NULL && aki->serial == NULL &&
	    ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(ca->cert)) == 0, "AKI");
	AUTHORITY_KEYID_free(aki);
	T_CHECK(ASN1_TIME_diff(&day, &sec, X509_CRL_get0_lastUpdate(crl),
	    X509_CRL_get0_nextUpdate(crl)) && day * 86400 + sec ==
	    c->crl_validity_hours * 3600, "validity %d d %d s", day, sec);
	T_CHECK(ASN1_STRING_type(X509_CRL_get0_lastUpdate(crl)) == (gen ?
	    V_ASN1_GENERALIZEDTIME : V_ASN1_UTCTIME), "time type");
	r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
	T_CHECK(r != NULL && ASN1_TIME_cmp_time_t(
	    X509_REVOKED_get0_revocationDate(r), now - 60) == 0, "date");
	X509_CRL_free(crl);
	if ((crl = load_crl("ca-3.crl")) == NULL) {
		T_CHECK(0, "empty CRL does not parse");
		return;
	}
	T_CHECK(X509_CRL_verify(crl, ca->pub) == 1 &&
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0, "empty");
	T_CHECK(crl_file_number(dirfd, "ca-3.crl", &num) == 1 && num == 9,
	    "empty number");
	X509_CRL_free(crl);
	T_CHECK(crl_file_number(dirfd, "none.crl", &num) == 0, "no file");
}

/* The signer process of the CA in cadir (keyproc.h). */
static void
signer(struct ca *ca, char *cadir)
{
	struct conf	 k;
	char		 err[1200];

	if (ca == NULL)
		return;
	memset(&k, 0, sizeof(k));
	k.ca_dir = cadir;
	k.ca_key = k.pkcs11_module = k.pkcs11_pin_file = "";
	k.workers = 1;
	ca->kp = keyproc_start(&k, err, sizeof(err));
	T_CHECK(ca->kp != NULL, "signer: %s", err);
}

int
main(int argc, char *argv[])
{
	struct conf	 c;
	struct store	*st;
	struct ca	*rsa, *ec;
	char		 p[128], err[512];
	int		 dirfd;
	time_t		 now = time(NULL);

	keyproc_dispatch(argc, argv);
	log_init("stderr", LOGL_WARN);
	snprintf(dir, sizeof(dir), "/tmp/t_crl.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	memset(&c, 0, sizeof(c));
	c.crl_url = "http://crl.example/c/ca-{shard}.crl";
	c.crl_shards = 4;
	c.crl_refresh_hours = 24;
	c.crl_validity_hours = 168;
	snprintf(p, sizeof(p), "%s/crl", dir);
	c.crl_dir = p;
	fs_mkdirs(p, 0755);
	dirfd = open(p, O_RDONLY | O_DIRECTORY);
	test_shards(&c);

	snprintf(p, sizeof(p), "%s/rsa", dir);
	T_CHECK(ca_init_demo(p, "rsa4096", err, sizeof(err)) == 0, "%s", err);
	rsa = ca_load(p, err, sizeof(err));
	signer(rsa, p);
	snprintf(p, sizeof(p), "%s/ec", dir);
	T_CHECK(ca_init_demo(p, "p384", err, sizeof(err)) == 0, "%s", err);
	ec = ca_load(p, err, sizeof(err));
	signer(ec, p);
	snprintf(p, sizeof(p), "%s/db", dir);
	st = store_open(p, err, sizeof(err));
	if (rsa == NULL || ec == NULL || st == NULL || dirfd == -1) {
		T_CHECK(0, "setup: %s", err);
		return t_done("t_crl");
	}
	test_big(st, &c, rsa, dirfd, now);
	test_small(st, &c, rsa, dirfd, now, 0);
	test_small(st, &c, ec, dirfd, now, 1);
	store_close(st);
	keyproc_stop(rsa->kp);
	keyproc_stop(ec->kp);
	ca_free(rsa);
	ca_free(ec);
	close(dirfd);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	if (t_fail == 0 && system(p) != 0)
		return 1;
	return t_done("t_crl");
}
