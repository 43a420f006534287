/*
 * crl_publish.c: when each shard's CRL is published, under which number,
 * and what is recorded about it (SPEC 7.3); crl.c builds the file.
 *
 * A shard is published when it is dirty (a revocation arrived since its
 * last CRL, or a publication of it was started and not recorded), has no
 * CRL yet, its file is missing, or its CRL is crl_refresh_hours old.
 *
 * CRL numbers: one sequence for every shard, meta key crl_number, the
 * last number allocated.  A number is allocated and committed before its
 * file is written, above every number recorded in the database and every
 * number found in a CRL file of crl_dir (a restored older database), so a
 * number is never reused or lowered; a crash after the allocation only
 * skips it.  The allocating transaction sets the shard's dirty flag to 2
 * ("being published"); cert_revoke() sets it to 1; the transaction that
 * records the published CRL clears only a 2, so a revocation that
 * arrived while the CRL was built keeps the shard dirty.
 *
 * Entries: a revoked certificate stays in its shard's CRLs while its
 * notAfter is not before the thisUpdate of the shard's last published
 * CRL, so each expired certificate is listed by one CRL made after its
 * expiry and then goes.
 *
 * Issuers (issuer.c): each issuing CA has its own shards' CRLs (its own
 * crl_url) and its own issuing.cer (issuing-N.cer), all in crl_dir; the
 * CRL numbers are one sequence over all of them.  A retired issuer's
 * CRLs are published until every certificate it issued has expired and
 * one more CRL of each of its shards was made after that (SPEC 7.3);
 * then its crl_ended is set and it publishes nothing more.
 *
 * Publishers (the daemon's pass, `certspool crl`) take turns: an
 * exclusive flock(2) on crl_dir.
 *
 * The shards' state, the numbers and the issuers' crl_ended are read and
 * written through store_crl.h.
 *
 * Failure policy: a shard that cannot be published is logged and stays
 * dirty (or due); the next pass tries again with a new number.  One
 * failing shard does not stop the others.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "extern.h"
#include "ca.h"
#include "crl.h"
#include "pipeline.h"
#include "store_crl.h"

#define ISSUER_FILE	"issuing.cer"
#define EXTS_MAX	65536

/* A DER header at off, within end: tag, header and content lengths. */
static int
hdr_at(int fd, off_t off, off_t end, unsigned char *tag, off_t *hl,
    off_t *cl)
{
	unsigned char	 h[6];
	ssize_t		 r;
	int		 i, n;

	if ((r = pread(fd, h, sizeof(h), off)) < 2)
		return -1;
	*tag = h[0];
	if (h[1] < 0x80) {
		*hl = 2;
		*cl = h[1];
	} else {
		n = h[1] & 0x7f;
		if (n == 0 || n > 4 || r < 2 + n)
			return -1;
		*cl = 0;
		for (i = 0; i < n; i++)
			*cl = *cl << 8 | h[2 + i];
		*hl = 2 + n;
	}
	return off + *hl + *cl > end ? -1 : 0;
}

/* The cRLNumber in the extensions DER p (SEQUENCE OF Extension). */
static int
exts_number(const unsigned char *p, size_t len, long long *num)
{
	static const unsigned char oid[] = { 0x55, 0x1d, 0x14 };
	const unsigned char	*end = p + len, *c, *e, *q, *ee, *v;
	unsigned char		 tag;
	size_t			 clen, vlen, i;
	unsigned long long	 n = 0;

	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	for (p = c, end = c + clen; p < end; ) {
		if (der_next(&p, end, &tag, &e, &clen) == -1 || tag != 0x30)
			return -1;
		q = e;
		ee = e + clen;
		if (der_next(&q, ee, &tag, &v, &vlen) == -1 || tag != 0x06)
			return -1;
		if (vlen != sizeof(oid) || memcmp(v, oid, vlen) != 0)
			continue;
		if (der_next(&q, ee, &tag, &v, &vlen) == -1)
			return -1;
		if (tag == 0x01 && der_next(&q, ee, &tag, &v, &vlen) == -1)
			return -1;
		if (tag != 0x04)
			return -1;
		q = v;
		if (der_next(&q, v + vlen, &tag, &c, &clen) == -1 ||
		    tag != 0x02 || clen == 0 || c[0] & 0x80)
			return -1;
		for (i = 0; i < clen; i++) {
			if (n >> 55)
				return -1;	/* beyond what we allocate */
			n = n << 8 | c[i];
		}
		*num = (long long)n;
		return 1;
	}
	return 0;
}

int
crl_file_number(int dirfd, const char *name, long long *num)
{
	struct stat	 sb;
	unsigned char	 tag, *ext = NULL;
	off_t		 hl, cl, off, end;
	int		 fd, rc = -1;

	*num = 0;
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode))
		goto out;
	end = sb.st_size;
	/* CertificateList, then TBSCertList. */
	if (hdr_at(fd, 0, end, &tag, &hl, &cl) == -1 || tag != 0x30 ||
	    hdr_at(fd, hl, end, &tag, &off, &cl) == -1 || tag != 0x30)
		goto out;
	end = hl + off + cl;
	for (off = hl + off; off < end; off += hl + cl) {
		if (hdr_at(fd, off, end, &tag, &hl, &cl) == -1)
			goto out;
		if (tag != 0xa0)
			continue;
		if (cl > EXTS_MAX || (ext = malloc((size_t)cl)) == NULL ||
		    pread(fd, ext, (size_t)cl, off + hl) != cl)
			goto out;
		rc = exts_number(ext, (size_t)cl, num) == 1 ? 1 : -1;
		goto out;
	}
out:
	free(ext);
	close(fd);
	return rc;
}

/* dir/issuing.cer (issuing-N.cer for issuer N > 1): the issuing CA
 * (DER), written when missing or not the same. */
static int
publish_issuer(int dirfd, const struct conf *conf, const struct ca *ca)
{
	unsigned char	*der = NULL, *old = NULL;
	size_t		 oldlen = 0;
	char		 path[4096], file[64];
	int		 len, rc = -1;

	if (issuer_url(ISSUER_FILE, ISSUER_OF(ca), file, sizeof(file)) == -1)
		return -1;
	if ((len = i2d_X509(ca->cert, &der)) <= 0) {
		log_ssl(LOGL_ERR, "crl: issuing CA certificate");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", conf->crl_dir, file);
	if (access(path, F_OK) == 0 &&
	    fs_read_file(path, 1024 * 1024, &old, &oldlen) == 0 &&
	    oldlen == (size_t)len && memcmp(old, der, oldlen) == 0) {
		rc = 0;
		goto out;
	}
	if (fs_write_atomic(dirfd, file, der, (size_t)len, 0644) == -1)
		goto out;
	log_info("crl: wrote %s", path);
	rc = 0;
out:
	OPENSSL_free(der);
	free(old);
	return rc;
}

/* The highest CRL number in the CRL files of crl_dir of every issuer in
 * the list ca, 0 if none. */
static long long
files_max(int dirfd, const struct conf *conf, const struct ca *ca)
{
	long long	 max = 0, n;
	char		 name[256];
	int		 s;

	for (; ca != NULL; ca = ca->next)
		for (s = 0; s < conf->crl_shards; s++) {
			if (crl_ca_file(conf, ca, s, name, sizeof(name)) == 0 &&
			    crl_file_number(dirfd, name, &n) == 1 && n > max)
				max = n;
		}
	return max;
}

/* Whether shard needs a CRL now; -1 on a database error. */
static int
shard_due(struct store *st, const struct conf *conf, int dirfd, int iss,
    int shard, const char *name, time_t now)
{
	struct crl_shard_status	 s;

	if (crl_shard_status(st, iss, shard, &s) == -1)
		return -1;
	if (s.dirty != 0 || s.number < 0 || s.this_update > now ||
	    now - s.this_update >= (time_t)conf->crl_refresh_hours * 3600)
		return 1;
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == -1;
}

/*
 * 1 when the retired issuer iss is done (SPEC 7.3): it has a CRL for
 * every shard and every certificate it issued expired before the
 * thisUpdate of each; then crl_ended is recorded.  0 not yet, -1 error.
 */
static int
issuer_ended(struct store *st, const struct conf *conf, int iss)
{
	struct crl_issuer_progress	 p;

	if (crl_issuer_progress(st, iss, &p) == -1)
		return -1;
	if (p.ended)
		return 1;
	if (!p.retired)
		return 0;
	if (p.shards_done < conf->crl_shards ||
	    p.last_not_after >= p.oldest_this_update)
		return 0;
	if (crl_issuer_end(st, iss, (long long)clock_now()) == -1)
		return -1;
	log_info("crl: issuer %d: every certificate it issued has expired "
	    "and is past its last CRL; its CRLs end", iss);
	return 1;
}

/* The shards of one issuer; *fmax the highest number so far. */
static int
publish_ca(struct store *st, const struct conf *conf, const struct ca *ca,
    int dirfd, int force, long long *fmax, const struct ca *all, FILE *out)
{
	char		 name[256], t1[32], t2[32];
	long long	 number;
	time_t		 now, tu, nu, cutoff;
	size_t		 entries;
	int		 shard, due, iss = ISSUER_OF(ca), rc = 0;

	if (publish_issuer(dirfd, conf, ca) == -1)
		rc = -1;
	for (shard = 0; shard < conf->crl_shards; shard++) {
		if (crl_ca_file(conf, ca, shard, name, sizeof(name)) == -1) {
			log_err("crl: issuer %d shard %d: crl_url names no "
			    "file", iss, shard);
			rc = -1;
			continue;
		}
		now = clock_now();
		if ((due = force ? 1 : shard_due(st, conf, dirfd, iss, shard,
		    name, now)) == 0)
			continue;
		if (due == -1) {
			rc = -1;
			continue;
		}
		if (*fmax == -1)
			*fmax = files_max(dirfd, conf, all);
		if (crl_number_allocate(st, iss, shard, *fmax, &number,
		    &cutoff) == -1) {
			rc = -1;
			continue;
		}
		crash_point("crl_after_number");
		tu = clock_now();
		nu = tu + (time_t)conf->crl_validity_hours * 3600;
		if (crl_write(st, conf, ca, shard, number, tu, cutoff, dirfd,
		    name, &entries) == -1) {
			log_err("crl: shard %d: CRL number %lld not published; "
			    "retried in the next pass", shard, number);
			rc = -1;
			continue;
		}
		*fmax = number;
		crash_point("crl_after_write");
		if (crl_shard_published(st, iss, shard, number, tu,
		    nu) == -1) {
			log_err("crl: shard %d: CRL number %lld published but "
			    "not recorded; republished in the next pass",
			    shard, number);
			rc = -1;
			continue;
		}
		time_fmt(tu, t1, sizeof(t1));
		time_fmt(nu, t2, sizeof(t2));
		log_info("crl: published shard %d number %lld entries %zu "
		    "file %s/%s", shard, number, entries, conf->crl_dir, name);
		if (out != NULL)
			fprintf(out, "%s/%s shard %d number %lld entries %zu "
			    "thisUpdate %s nextUpdate %s\n", conf->crl_dir,
			    name, shard, number, entries, t1, t2);
	}
	return rc;
}

int
crl_publish_out(struct store *st, const struct conf *conf,
    const struct ca *ca, int force, FILE *out)
{
	const struct ca	*i;
	long long	 fmax = -1;
	int		 dirfd = -1, rc = 0, end;

	if (fs_mkdirs(conf->crl_dir, 0755) == -1 ||
	    (dirfd = open(conf->crl_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_err("crl: %s: %s", conf->crl_dir, strerror(errno));
		return -1;
	}
	/* One publisher at a time (the daemon and `certspool crl`): a file
	 * with a lower number never replaces one with a higher. */
	if (flock(dirfd, LOCK_EX) == -1) {
		log_err("crl: %s: lock: %s", conf->crl_dir, strerror(errno));
		close(dirfd);
		return -1;
	}
	for (i = ca; i != NULL; i = i->next) {
		if (i != ca &&
		    (end = issuer_ended(st, conf, ISSUER_OF(i))) != 0) {
			if (end == -1)
				rc = -1;
			continue;
		}
		if (publish_ca(st, conf, i, dirfd, force, &fmax, ca, out) == -1)
			rc = -1;
		/* The CRL just made may be its last one. */
		if (i != ca && issuer_ended(st, conf, ISSUER_OF(i)) == -1)
			rc = -1;
	}
	close(dirfd);
	return rc;
}

int
crl_publish(struct store *st, const struct conf *conf, const struct ca *ca,
    int force)
{
	return crl_publish_out(st, conf, ca, force, NULL);
}
