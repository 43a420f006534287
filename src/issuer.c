/*
 * issuer.c: the issuing CAs of one installation, current and retired
 * (schema 7 table issuer), and their files under ca_dir.
 *
 * ca_dir/ca.pem, chain.pem and ca.key (a file key) are always the
 * current issuer's.  A rollover (cmd_rollover.c) keeps each issuer's own
 * files in ca_dir/issuer-N/ (N its id) and records the new issuer as
 * current in one transaction, the commit point; the current issuer's
 * files are then hard-linked over ca_dir's (issuer_install).  When
 * ca_dir/ca.pem is not the current issuer's certificate at load (a crash
 * between the commit and the last rename), issuer_load installs them
 * again; before the commit ca_dir still holds the old, current issuer.
 * Nothing here deletes an issuer's files.
 *
 * Each issuer has its own CRL URL template and caIssuers URL: issuer 1
 * the config's crl_url and aia_ca_issuers_url, issuer N > 1 the same
 * with "-N" before the extension of the last path segment (issuer_url).
 * The table is read and written through store_issuer.h.
 *
 * Failure policy: a table or file that does not fit (no current issuer,
 * ca_dir's certificate that is no issuer's, an unreadable issuer-N) is a
 * broken environment: -1 / NULL with one sentence in err; the daemon
 * does not start.  A retired issuer that has expired is no longer
 * loaded (it signs nothing, not even CRLs).
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"
#include "ca.h"
#include "issuer.h"
#include "keyproc.h"
#include "store_issuer.h"

#define CHAIN_MAX	(1024 * 1024)

int
issuer_url(const char *url, int n, char *buf, size_t len)
{
	const char	*seg, *dot;
	int		 k;

	if (url == NULL)
		return -1;
	if (n <= 1)
		k = snprintf(buf, len, "%s", url);
	else {
		seg = strrchr(url, '/');
		seg = seg != NULL ? seg + 1 : url;
		if ((dot = strrchr(seg, '.')) == NULL || dot == seg)
			k = snprintf(buf, len, "%s-%d", url, n);
		else
			k = snprintf(buf, len, "%.*s-%d%s", (int)(dot - url),
			    url, n, dot);
	}
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

const char *
issuer_aia(const struct conf *conf, const struct ca *ca)
{
	const char	*u;

	u = ca != NULL && ca->aia_url != NULL ? ca->aia_url :
	    conf->aia_ca_issuers_url;
	return u != NULL && *u != '\0' ? u : NULL;
}

const struct ca *
issuer_by_name(const struct ca *ca, const X509_NAME *name)
{
	for (; ca != NULL; ca = ca->next)
		if (X509_NAME_cmp(X509_get_subject_name(ca->cert), name) == 0)
			return ca;
	return NULL;
}

int
issuer_dir(const struct conf *conf, int id, char *buf, size_t len)
{
	int	 k;

	k = snprintf(buf, len, "%s/issuer-%d", conf->ca_dir, id);
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

int
issuer_keyfile(const struct conf *conf, char *buf, size_t len)
{
	int	 k;

	if (conf->ca_key != NULL && *conf->ca_key != '\0')
		k = snprintf(buf, len, "%s", conf->ca_key);
	else
		k = snprintf(buf, len, "%s/ca.key", conf->ca_dir);
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

int
issuer_install(const struct conf *conf, int id, char *err, size_t errlen)
{
	static const char *const files[] = { "ca.key", "chain.pem", "ca.pem" };
	char		 dir[PATH_MAX], tmp[64];
	int		 sfd = -1, dfd = -1, i, rc = -1, has_key;

	if (issuer_dir(conf, id, dir, sizeof(dir)) == -1 ||
	    (sfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (dfd = open(conf->ca_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	has_key = faccessat(sfd, "ca.key", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	for (i = 0; i < 3; i++) {
		if (i == 0 && !has_key) {
			/* A token key: no file key in ca_dir (the old one
			 * is kept in its own issuer-N). */
			if (unlinkat(dfd, "ca.key", 0) == -1 &&
			    errno != ENOENT) {
				snprintf(err, errlen, "%s/ca.key: %s",
				    conf->ca_dir, strerror(errno));
				goto out;
			}
			continue;
		}
		snprintf(tmp, sizeof(tmp), ".%s.install", files[i]);
		if ((unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) ||
		    linkat(sfd, files[i], dfd, tmp, 0) == -1 ||
		    renameat(dfd, tmp, dfd, files[i]) == -1) {
			snprintf(err, errlen, "%s/%s: installing issuer %d: %s",
			    conf->ca_dir, files[i], id, strerror(errno));
			goto out;
		}
	}
	if (fs_fsync_dir(dfd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", conf->ca_dir,
		    strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

/* Issuer 1: the CA of ca_dir, when the table is empty. */
static int
register_first(struct store *st, const struct conf *conf,
    const struct ca *ca, char *err, size_t errlen)
{
	struct issuer_new n;
	unsigned char	*der = NULL, *chain = NULL;
	size_t		 chainlen = 0;
	char		 path[PATH_MAX], key[PATH_MAX];
	time_t		 na = 0;
	int		 len, rc = -1;

	snprintf(path, sizeof(path), "%s/chain.pem", conf->ca_dir);
	if ((len = i2d_X509(ca->cert, &der)) <= 0 ||
	    fs_read_file(path, CHAIN_MAX, &chain, &chainlen) == -1 ||
	    issuer_keyfile(conf, key, sizeof(key)) == -1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(ca->cert), NULL) != 1) {
		snprintf(err, errlen, "%s: issuer 1: cannot read the CA",
		    conf->ca_dir);
		goto out;
	}
	{
		struct tm	 tm;

		ASN1_TIME_to_tm(X509_get0_notAfter(ca->cert), &tm);
		na = timegm(&tm);
	}
	memset(&n, 0, sizeof(n));
	n.id = 1;
	n.cert = der;
	n.certlen = (size_t)len;
	n.key = key;
	n.chain = (const char *)chain;
	n.not_after = (long long)na;
	n.created = (long long)clock_now();
	if (issuer_record_first(st, &n) == -1) {
		snprintf(err, errlen, "issuer table: cannot record issuer 1");
		goto out;
	}
	rc = 0;
 out:
	OPENSSL_free(der);
	free(chain);
	return rc;
}

/* Whether ca's certificate is der. */
static int
same_cert(const struct ca *ca, const unsigned char *der, size_t len)
{
	unsigned char	*d = NULL;
	int		 n, same;

	if ((n = i2d_X509(ca->cert, &d)) <= 0)
		return 0;
	same = (size_t)n == len && memcmp(d, der, len) == 0;
	OPENSSL_free(d);
	return same;
}

/* The URLs of a row: "" is the config's (NULL). */
static void
set_urls(struct ca *ca, const char *crl, const char *aia)
{
	ca->crl_url = crl != NULL && *crl != '\0' ? xstrdup(crl) : NULL;
	ca->aia_url = aia != NULL && *aia != '\0' ? xstrdup(aia) : NULL;
}

/* What load_retired's rows go to. */
struct retired_arg {
	const struct conf	*conf;
	struct ca		**tail;
	char			*err;
	size_t			 errlen;
	int			 failed;
};

static int
add_retired(void *arg, const struct issuer_row *row)
{
	struct retired_arg	*a = arg;
	struct ca		*r;
	char			 dir[PATH_MAX], e[512];

	if (issuer_dir(a->conf, row->id, dir, sizeof(dir)) == -1 ||
	    (r = ca_load(dir, e, sizeof(e))) == NULL) {
		snprintf(a->err, a->errlen, "retired issuer %d: %s", row->id,
		    e);
		a->failed = 1;
		return -1;
	}
	r->issuer_id = r->sign_id = row->id;
	set_urls(r, row->crl_url, row->aia_url);
	r->crl_ended = row->crl_ended;
	*a->tail = r;
	a->tail = &r->next;
	return 0;
}

/* Link the retired issuers that have not expired behind head. */
static int
load_retired(struct store *st, const struct conf *conf, struct ca *head,
    char *err, size_t errlen)
{
	struct retired_arg	 a = { conf, &head->next, err, errlen, 0 };

	if (issuer_retired_each(st, (long long)clock_now(), add_retired,
	    &a) == -1) {
		if (!a.failed)
			snprintf(err, errlen, "issuer table: cannot read");
		return -1;
	}
	return 0;
}

struct ca *
issuer_load(struct store *st, const struct conf *conf, struct keyproc *kp,
    char *err, size_t errlen)
{
	struct ca	*ca = NULL, *i;
	unsigned char	*der = NULL;
	char		 path[PATH_MAX];
	size_t		 len = 0;
	long long	 n = 0;
	char		*crl = NULL, *aia = NULL;
	int		 id, found;

	if ((ca = ca_load(conf->ca_dir, err, errlen)) == NULL)
		return NULL;
	if (issuer_count(st, &n) == -1)
		goto fail;
	if (n == 0 && register_first(st, conf, ca, err, errlen) == -1)
		goto bad;
	if (issuer_current(st, &id, &der, &len) == -1) {
		snprintf(err, errlen, "issuer table: no current issuer");
		goto bad;
	}
	if (!same_cert(ca, der, len)) {
		/* A rollover committed, its files not all in place. */
		ca_free(ca);
		ca = NULL;
		if (issuer_dir(conf, id, path, sizeof(path)) == -1 ||
		    access(path, F_OK) == -1) {
			snprintf(err, errlen, "%s/ca.pem is not the current "
			    "issuer %d's certificate and there is no issuer-%d "
			    "to complete it from: the CA was replaced by hand; "
			    "restore it and use ca rollover", conf->ca_dir, id,
			    id);
			goto bad;
		}
		if (issuer_install(conf, id, err, errlen) == -1 ||
		    (ca = ca_load(conf->ca_dir, err, errlen)) == NULL)
			goto bad;
		if (!same_cert(ca, der, len)) {
			snprintf(err, errlen, "%s/ca.pem is not the current "
			    "issuer %d's certificate", conf->ca_dir, id);
			goto bad;
		}
		log_info("issuer %d: ca_dir completed from issuer-%d", id, id);
	}
	ca->issuer_id = id;
	ca->sign_id = 0;
	if ((found = issuer_urls(st, id, &crl, &aia)) == -1)
		goto fail;
	if (found)
		set_urls(ca, crl, aia);
	free(crl);
	free(aia);
	if (load_retired(st, conf, ca, err, errlen) == -1)
		goto bad;
	for (i = ca; i != NULL; i = i->next)
		i->kp = kp;
	free(der);
	return ca;
 fail:
	snprintf(err, errlen, "issuer table: cannot read");
 bad:
	free(der);
	ca_free(ca);
	return NULL;
}

/* What issuer_signers' rows go to. */
struct signers_arg {
	const struct conf	*conf;
	struct kp_issuer	*v;
	int			 n;
};

static int
add_signer(void *arg, const struct issuer_row *row)
{
	struct signers_arg	*a = arg;
	char			 dir[PATH_MAX];

	a->v = reallocarray(a->v, (size_t)a->n + 1, sizeof(*a->v));
	if (a->v == NULL)
		abort();
	a->v[a->n].id = row->id;
	issuer_dir(a->conf, row->id, dir, sizeof(dir));
	a->v[a->n].dir = xstrdup(dir);
	a->v[a->n].key = xstrdup(row->key);
	a->n++;
	return 0;
}

int
issuer_signers(struct store *st, const struct conf *conf,
    struct kp_issuer **out, int *nout, char *err, size_t errlen)
{
	struct signers_arg	 a = { conf, NULL, 0 };

	*out = NULL;
	*nout = 0;
	if (issuer_signer_each(st, (long long)clock_now(), add_signer,
	    &a) == -1) {
		issuer_signers_free(a.v, a.n);
		snprintf(err, errlen, "issuer table: cannot read");
		return -1;
	}
	*out = a.v;
	*nout = a.n;
	return 0;
}

void
issuer_signers_free(struct kp_issuer *v, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		free(v[i].dir);
		free(v[i].key);
	}
	free(v);
}

struct keyproc *
issuer_keyproc_start(struct store *st, const struct conf *conf, char *err,
    size_t errlen)
{
	struct kp_issuer *v = NULL;
	struct keyproc	*kp;
	struct ca	*ca;
	int		 n = 0;

	/* First ca_dir is made the current issuer's (a rollover a crash
	 * interrupted), so the signer loads the right CA as its current. */
	if ((ca = issuer_load(st, conf, NULL, err, errlen)) == NULL)
		return NULL;
	ca_free(ca);
	if (issuer_signers(st, conf, &v, &n, err, errlen) == -1)
		return NULL;
	kp = keyproc_start_issuers(conf, v, n, err, errlen);
	issuer_signers_free(v, n);
	return kp;
}
