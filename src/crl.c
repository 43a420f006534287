/*
 * crl.c: the issuing CA's X.509 v2 CRLs (RFC 5280 5, S/MIME BR 7.2,
 * SPEC 7.3), one per shard, and their publication under crl_dir.
 *
 * A CRL is written by hand, in DER, without ever holding its entries in
 * memory: one pass over the shard's revoked certificates (index
 * certificate_revoked) measures revokedCertificates, a second pass, in
 * the same read snapshot, streams the TBSCertList into an anonymous
 * temporary file, which is streamed to the signer process (keyproc.h)
 * that checks, hashes and signs it, and the published file is then
 * copied from that temporary while the signature is verified over the
 * same bytes with the CA certificate's key.  Memory does not grow with
 * the number of entries.
 *
 * crl_publish.c decides what to publish, allocates the CRL numbers and
 * records the published state.
 *
 * Failure policy: -1 with the reason logged; the published file, if it
 * was written at all, is complete (temp, fsync, rename, fsync dir).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "ca.h"
#include "crl.h"
#include "revoke.h"
#include "keyproc.h"
#include "pipeline.h"
#include "store_crl.h"

#define CRL_IOBUF	65536
#define CRL_EXTS_MAX	65536	/* crlExtensions read back from a file */

/* One output stream: written (fd), or only measured. */
struct crlw {
	int		 fd;		/* -1: count only */
	unsigned char	 buf[CRL_IOBUF];
	size_t		 n;
	unsigned long long total;
	int		 err;
};

static void
w_flush(struct crlw *w)
{
	if (w->n == 0 || w->err)
		return;
	if (w->fd != -1 && fs_write_all(w->fd, w->buf, w->n) == -1)
		w->err = 1;
	w->n = 0;
}

static void
w_add(struct crlw *w, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 k;

	w->total += len;
	if (w->fd == -1)
		return;
	while (len > 0) {
		if (w->n == sizeof(w->buf))
			w_flush(w);
		k = sizeof(w->buf) - w->n;
		if (k > len)
			k = len;
		memcpy(w->buf + w->n, s, k);
		w->n += k;
		s += k;
		len -= k;
	}
}

static void
w_buf(struct crlw *w, struct buf *b)
{
	w_add(w, b->p, b->len);
	b->len = 0;
}

/* The length of a DER header for content of len bytes. */
static size_t
hdr_len(unsigned long long len)
{
	size_t	 n = 1;

	if (len < 0x80)
		return 2;
	while (len > 0) {
		n++;
		len >>= 8;
	}
	return n + 1;
}

static void
tlv(struct buf *b, unsigned char tag, const void *p, size_t len)
{
	der_put_hdr(b, tag, len);
	if (len > 0)
		buf_add(b, p, len);
}

/* Wrap inner as one TLV appended to b; empties inner. */
static void
wrap(struct buf *b, unsigned char tag, struct buf *inner)
{
	tlv(b, tag, inner->p, inner->len);
	inner->len = 0;
}

/* RFC 5280 5.1.2.4: UTCTime through 2049, GeneralizedTime after;
 * gen forces GeneralizedTime (invalidityDate, 5.3.2). */
static int
put_time(struct buf *b, time_t t, int gen)
{
	struct tm	 tm;
	char		 s[64];
	int		 y;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	y = tm.tm_year + 1900;
	if (y < 1950 || y > 9999)
		return -1;
	if (!gen && y < 2050) {
		snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", y % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		tlv(b, 0x17, s, 13);
	} else {
		snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", y,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		tlv(b, 0x18, s, 15);
	}
	return 0;
}

/* A non-negative INTEGER from big-endian bytes (leading zeros dropped). */
static void
put_uint(struct buf *b, const unsigned char *p, size_t len)
{
	unsigned char	 z = 0;
	struct buf	 v = { 0 };

	while (len > 1 && p[0] == 0) {
		p++;
		len--;
	}
	if (len == 0 || p[0] & 0x80)
		buf_add(&v, &z, 1);
	buf_add(&v, p, len);
	wrap(b, 0x02, &v);
	buf_free(&v);
}

static void
put_number(struct buf *b, unsigned long long n)
{
	unsigned char	 be[8];
	int		 i;

	for (i = 7; i >= 0; i--, n >>= 8)
		be[i] = (unsigned char)(n & 0xff);
	put_uint(b, be, sizeof(be));
}

/* Extension OID (DER content bytes), criticality, value as OCTET STRING. */
static void
put_ext(struct buf *b, const unsigned char *oid, size_t oidlen, int crit,
    struct buf *val)
{
	static const unsigned char	 t[] = { 0x01, 0x01, 0xff };
	struct buf			 e = { 0 };

	tlv(&e, 0x06, oid, oidlen);
	if (crit)
		buf_add(&e, t, sizeof(t));
	wrap(&e, 0x04, val);
	wrap(b, 0x30, &e);
	buf_free(&e);
}

static const unsigned char oid_reason[] = { 0x55, 0x1d, 0x15 };
static const unsigned char oid_invalidity[] = { 0x55, 0x1d, 0x18 };
static const unsigned char oid_number[] = { 0x55, 0x1d, 0x14 };
static const unsigned char oid_aki[] = { 0x55, 0x1d, 0x23 };
static const unsigned char oid_idp[] = { 0x55, 0x1d, 0x1c };

int
crl_shard_of(const unsigned char *serial, size_t len, int nshards)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (nshards <= 1 || len < 4)
		return 0;
	/* The last four octets: random bits (serial_new). */
	for (i = len - 4; i < len; i++)
		v = v << 8 | serial[i];
	return (int)(v % (unsigned long)nshards);
}

int
crl_ca_url(const struct conf *conf, const struct ca *ca, int shard,
    char *buf, size_t len)
{
	const char	*p, *u;
	int		 n;

	u = ca != NULL && ca->crl_url != NULL ? ca->crl_url : conf->crl_url;
	if (u == NULL)
		return -1;
	if ((p = strstr(u, "{shard}")) == NULL)
		n = snprintf(buf, len, "%s", u);
	else
		n = snprintf(buf, len, "%.*s%d%s", (int)(p - u), u, shard,
		    p + 7);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
crl_shard_url(const struct conf *conf, int shard, char *buf, size_t len)
{
	return crl_ca_url(conf, NULL, shard, buf, len);
}

int
crl_shard_file(const struct conf *conf, int shard, char *name, size_t len)
{
	return crl_ca_file(conf, NULL, shard, name, len);
}

int
crl_ca_file(const struct conf *conf, const struct ca *ca, int shard,
    char *name, size_t len)
{
	char		 url[1024];
	const char	*seg;

	if (crl_ca_url(conf, ca, shard, url, sizeof(url)) == -1 ||
	    (seg = strrchr(url, '/')) == NULL || !valid_name(seg + 1) ||
	    strlcpy_(name, seg + 1, len) >= len)
		return -1;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One revokedCertificates entry into b; -1 on a row that cannot be one. */
static int
put_entry(struct buf *b, const char *serial, time_t at, const char *reason,
    time_t invalidity)
{
	unsigned char	 sn[20], code;
	struct buf	 e = { 0 }, exts = { 0 }, v = { 0 };
	size_t		 n, i;
	int		 c, rc = -1;

	n = serial == NULL ? 0 : strlen(serial);
	if (n == 0 || n % 2 != 0 || n > 40)
		goto out;
	for (i = 0; i < n / 2; i++) {
		if ((c = hexval(serial[2 * i])) == -1 ||
		    hexval(serial[2 * i + 1]) == -1)
			goto out;
		sn[i] = (unsigned char)(c << 4 | hexval(serial[2 * i + 1]));
	}
	put_uint(&e, sn, n / 2);
	if (put_time(&e, at, 0) == -1)
		goto out;
	c = revoke_reason_code(reason);
	if (c > 0) {	/* RFC 5280 5.3.1: no reasonCode for unspecified */
		code = (unsigned char)c;
		tlv(&v, 0x0a, &code, 1);
		put_ext(&exts, oid_reason, sizeof(oid_reason), 0, &v);
	} else if (c == -1)
		goto out;
	if (invalidity > 0) {
		if (put_time(&v, invalidity, 1) == -1)
			goto out;
		put_ext(&exts, oid_invalidity, sizeof(oid_invalidity), 0, &v);
	}
	if (exts.len > 0)
		wrap(&e, 0x30, &exts);
	wrap(b, 0x30, &e);
	rc = 0;
out:
	buf_free(&e);
	buf_free(&exts);
	buf_free(&v);
	return rc;
}

/* What put_entries' rows go to. */
struct entries_arg {
	struct crlw	*w;
	struct buf	 b;
	int		 shard;
	size_t		*count;
};

static int
put_row(void *arg, const struct crl_entry_row *r)
{
	struct entries_arg	*a = arg;

	if (put_entry(&a->b, r->serial, r->revoked_at, r->reason,
	    r->invalidity_at) == -1) {
		log_err("crl: shard %d: certificate %s: RFC 5280 5.1.2.6:"
		    " cannot encode its entry", a->shard, r->serial);
		return -1;
	}
	w_buf(a->w, &a->b);
	(*a->count)++;
	return 0;
}

/* One pass over the shard's entries into w; *count entries.  -1 on a
 * database error or a row that cannot be encoded. */
static int
put_entries(struct store *st, struct crlw *w, int issuer, int shard,
    time_t cutoff, size_t *count)
{
	struct entries_arg	 a = { w, { 0 }, shard, count };
	int			 rc;

	*count = 0;
	rc = crl_entries_each(st, issuer, shard, cutoff, put_row, &a);
	buf_free(&a.b);
	return rc;
}

/* The signature AlgorithmIdentifier and digest of the CA (S/MIME BR
 * 7.1.3.2): sha256WithRSAEncryption, or ECDSA with the curve's hash. */
static void
sig_alg(const struct ca *ca, struct buf *alg, const char **md)
{
	static const unsigned char rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
	    0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	static const unsigned char ec256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	    0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	static const unsigned char ec384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	    0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };

	if (!ca->is_ec) {
		buf_add(alg, rsa, sizeof(rsa));
		*md = "SHA256";
	} else if (ca->ec_nid == NID_secp384r1) {
		buf_add(alg, ec384, sizeof(ec384));
		*md = "SHA384";
	} else {
		buf_add(alg, ec256, sizeof(ec256));
		*md = "SHA256";
	}
}

/* The TBSCertList parts before and after revokedCertificates. */
static int
tbs_parts(const struct conf *conf, const struct ca *ca, int shard,
    long long number, time_t this_update, const struct buf *alg,
    struct buf *head, struct buf *tail)
{
	static const unsigned char	 v2[] = { 0x02, 0x01, 0x01 };
	static const unsigned char	 user[] = { 0x81, 0x01, 0xff };
	const ASN1_OCTET_STRING		*ski;
	const unsigned char		*iss;
	size_t				 isslen;
	struct buf			 v = { 0 }, s = { 0 }, exts = { 0 };
	char				 url[1024];
	int				 rc = -1;

	if ((ski = X509_get0_subject_key_id(ca->cert)) == NULL) {
		log_err("crl: RFC 5280 5.2.1: the issuing CA certificate has "
		    "no subjectKeyIdentifier for the AKI");
		goto out;
	}
	if (!X509_NAME_get0_der(X509_get_subject_name(ca->cert), &iss,
	    &isslen) || crl_ca_url(conf, ca, shard, url, sizeof(url)) == -1) {
		log_ssl(LOGL_ERR, "crl: issuer name or URL");
		goto out;
	}
	buf_add(head, v2, sizeof(v2));
	buf_add(head, alg->p, alg->len);
	buf_add(head, iss, isslen);
	if (put_time(head, this_update, 0) == -1 || put_time(head,
	    this_update + (time_t)conf->crl_validity_hours * 3600, 0) == -1) {
		log_err("crl: RFC 5280 5.1.2.4: times cannot be encoded");
		goto out;
	}
	/* AKI: keyIdentifier only, the CA's SKI (RFC 5280 5.2.1). */
	tlv(&s, 0x80, ASN1_STRING_get0_data(ski),
	    (size_t)ASN1_STRING_length(ski));
	wrap(&v, 0x30, &s);
	put_ext(&exts, oid_aki, sizeof(oid_aki), 0, &v);
	put_number(&v, (unsigned long long)number);
	put_ext(&exts, oid_number, sizeof(oid_number), 0, &v);
	/*
	 * IDP (RFC 5280 5.2.5), critical: fullName = the shard's URL, user
	 * certs.  Only on partitioned CRLs: with one shard the CRL is full
	 * (it covers every certificate of the CA), where RFC 5280 needs no
	 * IDP, and NSS, which implements no IDP, refuses any CRL carrying
	 * it critical (README, CRLs).
	 */
	if (conf->crl_shards > 1) {
		tlv(&s, 0x86, url, strlen(url));
		wrap(&v, 0xa0, &s);		/* fullName [0] */
		wrap(&s, 0xa0, &v);		/* distributionPoint [0] */
		buf_add(&s, user, sizeof(user));	/* onlyContainsUserCerts */
		wrap(&v, 0x30, &s);
		put_ext(&exts, oid_idp, sizeof(oid_idp), 1, &v);
	}
	wrap(&s, 0x30, &exts);
	wrap(tail, 0xa0, &s);
	rc = 0;
out:
	buf_free(&v);
	buf_free(&s);
	buf_free(&exts);
	return rc;
}

/* An anonymous temporary file in dirfd (no name when O_TMPFILE works). */
static int
anon_tmp(int dirfd)
{
	struct fs_tmp	 t;
	int		 fd;

	if ((fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600)) != -1)
		return fd;
	if (fs_tmp_open(&t, dirfd, "crl-tbs", 0600) == -1)
		return -1;
	close(t.fd);
	fd = openat(dirfd, t.tmpname, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	(void)unlinkat(dirfd, t.tmpname, 0);
	return fd;
}

int
crl_write(struct store *st, const struct conf *conf, const struct ca *ca,
    int shard, long long number, time_t this_update, time_t cutoff,
    int dirfd, const char *name, size_t *entries)
{
	struct crlw	*w = NULL;
	struct buf	 alg = { 0 }, head = { 0 }, tail = { 0 }, h = { 0 };
	struct fs_tmp	 out;
	EVP_MD_CTX	*vctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	const char	*md;
	unsigned char	*sig = NULL, zero = 0;
	unsigned long long revlen, tbslen, left;
	size_t		 siglen = 0, n2, k;
	ssize_t		 r;
	char		 err[KP_MSG_MAX + 64];
	int		 tfd = -1, snap = 0, rc = -1, kst;

	memset(&out, 0, sizeof(out));
	out.fd = -1;
	*entries = 0;
	sig_alg(ca, &alg, &md);
	if (tbs_parts(conf, ca, shard, number, this_update, &alg, &head,
	    &tail) == -1)
		goto out;
	w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	/* One read snapshot for both passes: they see the same rows. */
	if (crl_snapshot_begin(st) == -1)
		goto out;
	snap = 1;
	if (put_entries(st, w, ISSUER_OF(ca), shard, cutoff,
	    entries) == -1)
		goto out;
	revlen = w->total;
	tbslen = head.len + tail.len + (*entries > 0 ?
	    hdr_len(revlen) + revlen : 0);

	if ((tfd = anon_tmp(dirfd)) == -1) {
		log_err("crl: %s: temporary file: %s", name, strerror(errno));
		goto out;
	}
	memset(w, 0, sizeof(*w));
	w->fd = tfd;
	der_put_hdr(&h, 0x30, tbslen);
	buf_add(&h, head.p, head.len);
	if (*entries > 0)
		der_put_hdr(&h, 0x30, revlen);
	w_buf(w, &h);
	if (put_entries(st, w, ISSUER_OF(ca), shard, cutoff, &n2) ==
	    -1)
		goto out;
	w_add(w, tail.p, tail.len);
	w_flush(w);
	if (n2 != *entries || w->total != hdr_len(tbslen) + tbslen) {
		log_err("crl: shard %d: the entries changed within one "
		    "snapshot", shard);
		goto out;
	}
	crl_snapshot_end(st);
	snap = 0;
	if (w->err)
		goto ioerr;
	if ((kst = keyproc_sign_fd(ca->kp, KP_KIND(KP_CRL, ca->sign_id), tfd,
	    w->total, &sig, &siglen, err, sizeof(err))) != KP_OK) {
		log_err("crl: %s: %s%s", name, kst == KP_UNAVAILABLE ? "the CA "
		    "key is unavailable; the CRL stays due: " : "", err);
		goto out;
	}

	/* The file: SEQUENCE { tbs, alg, BIT STRING }, tbs read back and
	 * checked against the signature on the way (RSA fault attacks). */
	if ((vctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestVerifyInit_ex(vctx, &pctx, md, NULL, NULL, ca->pub,
	    NULL) || (!ca->is_ec &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)) {
		log_ssl(LOGL_ERR, "crl: verification context");
		goto out;
	}
	if (fs_tmp_open(&out, dirfd, name, 0644) == -1)
		goto out;
	memset(w, 0, sizeof(*w));
	w->fd = out.fd;
	left = hdr_len(tbslen) + tbslen;
	der_put_hdr(&h, 0x30, left + alg.len + hdr_len(siglen + 1) +
	    siglen + 1);
	w_buf(w, &h);
	if (lseek(tfd, 0, SEEK_SET) == -1)
		goto ioerr;
	while (left > 0) {
		k = sizeof(w->buf) - w->n;
		if (k > left)
			k = (size_t)left;
		if ((r = read(tfd, w->buf + w->n, k)) <= 0)
			goto ioerr;
		if (!EVP_DigestVerifyUpdate(vctx, w->buf + w->n, (size_t)r))
			goto ioerr;
		w->n += (size_t)r;
		w->total += (size_t)r;
		left -= (size_t)r;
		if (w->n == sizeof(w->buf))
			w_flush(w);
	}
	if (EVP_DigestVerifyFinal(vctx, sig, siglen) != 1) {
		log_ssl(LOGL_ERR, "crl: %s: the new signature does not verify",
		    name);
		goto out;
	}
	w_buf(w, &alg);
	der_put_hdr(&h, 0x03, siglen + 1);
	buf_add(&h, &zero, 1);
	buf_add(&h, sig, siglen);
	w_buf(w, &h);
	w_flush(w);
	if (w->err)
		goto ioerr;
	crash_point("crl_before_rename");
	if (fs_tmp_commit(&out) == -1)
		goto out;
	out.fd = -1;
	rc = 0;
	goto out;
ioerr:
	log_err("crl: %s: %s", name, errno ? strerror(errno) : "short read");
out:
	if (snap)
		crl_snapshot_abort(st);
	if (rc == -1)
		fs_tmp_abort(&out);
	if (tfd != -1)
		close(tfd);
	free(w);
	EVP_MD_CTX_free(vctx);
	free(sig);
	buf_free(&alg);
	buf_free(&head);
	buf_free(&tail);
	buf_free(&h);
	return rc;
}
