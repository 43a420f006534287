/*
 * cmd_rollover.c: `certspool ca rollover`, the change of issuing CA, and
 * the issuer list of `certspool ca show`.
 *
 * With the demo root in ca_dir (root.pem, root.key) the root signs a new
 * issuing CA certificate, named like the current one with " G<N>" (N
 * the new issuer id), for a new key of the current key's kind: a file
 * key, or a key generated in the current key's token (p11_generate, a
 * new label).  Without the root, `--import CERT [CHAIN] KEY` adopts an
 * externally signed CA with ca import's checks (KEY a PEM file or a
 * pkcs11: URI).  The steps, each leaving either the old or the new state
 * after a crash:
 *   1. the new CA's files in ca_dir/.issuer-N.new, renamed to issuer-N;
 *   2. the current CA's files hard-linked into ca_dir/issuer-M (M its
 *      id) through .issuer-M.new and one rename;
 *   3. one transaction: issuer M retired (its key now issuer-M/ca.key or
 *      its token URI), issuer N current: the commit point;
 *   4. issuer N's files linked over ca_dir's (issuer_install; redone by
 *      issuer_load if a crash stops it), then the config's ca_key.
 * Nothing is deleted; an issuer-N of a rollover that did not commit is
 * moved aside as .issuer-N.orphan-TIME by the next one.  The daemon must
 * not run meanwhile (its spool lock is taken) and loads both CAs at its
 * next start.
 *
 * Failure policy: a refusal or error is one line on stderr and exit
 * status 1; what was done before it is listed (a token key that was
 * generated stays in the token).
 */

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "extern.h"
#include "ca.h"
#include "ca_ceremony.h"
#include "ca_local.h"
#include "cmd.h"
#include "issuer.h"
#include "p11.h"
#include "store_issuer.h"

#define PEM_MAX		(1024 * 1024)

/* The daemon's spool lock, so that no daemon runs during the rollover. */
static int
spool_lock(const struct conf *c)
{
	char	 path[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof(path), "%s/.certspool.lock", c->spool_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The token= attribute of a PKCS#11 URI, percent-decoded. */
static int
uri_token(const char *uri, char *out, size_t len)
{
	const char	*p, *end;
	size_t		 n = 0;
	unsigned int	 c;

	end = uri + strcspn(uri, "?");
	for (p = uri + 7; p < end; p += strcspn(p, ";"), p += *p == ';')
		if (strncmp(p, "token=", 6) == 0)
			break;
	if (p >= end)
		return -1;
	for (p += 6; p < end && *p != ';' && n + 1 < len; p++) {
		if (*p == '%' && sscanf(p + 1, "%2x", &c) == 1) {
			out[n++] = (char)c;
			p += 2;
		} else
			out[n++] = *p;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* The current CA's CN without a " G<n>" suffix, then " G<id>". */
static void
next_cn(X509 *cur, int id, char *out, size_t len)
{
	char	 cn[256];
	char	*g;

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cur),
	    NID_commonName, cn, sizeof(cn)) <= 0)
		snprintf(cn, sizeof(cn), "certspool S/MIME Issuing CA");
	if ((g = strrchr(cn, ' ')) != NULL && g[1] == 'G' &&
	    g[2] >= '0' && g[2] <= '9' && strspn(g + 2, "0123456789") ==
	    strlen(g + 2))
		*g = '\0';
	snprintf(out, len, "%s G%d", cn, id);
}

/* Move an uncommitted leftover dir/name aside. */
static int
set_aside(const char *dir, const char *name, char *err, size_t errlen)
{
	char	 from[PATH_MAX], to[PATH_MAX];
	unsigned char	 rnd[3];

	snprintf(from, sizeof(from), "%s/%s", dir, name);
	if (access(from, F_OK) == -1)
		return 0;
	rnd_bytes(rnd, sizeof(rnd));
	if ((size_t)snprintf(to, sizeof(to), "%s/.%s.orphan-%lld-%02x%02x%02x",
	    dir, name, (long long)clock_now(), rnd[0], rnd[1], rnd[2]) >=
	    sizeof(to) || rename(from, to) == -1) {
		snprintf(err, errlen, "%.700s: %s", from, strerror(errno));
		return -1;
	}
	fprintf(stderr, "certspool: ca rollover: %s of an unfinished rollover "
	    "moved to %s\n", from, to);
	return 0;
}

/* Remove the staging directory of a rollover refused before its rename
 * (files of a CA never used; a token key stays in its token). */
static void
stage_remove(const char *stage)
{
	static const char *const files[] = { "ca.pem", "chain.pem", "ca.key" };
	char	 p[PATH_MAX];
	int	 i;

	for (i = 0; i < 3; i++)
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", stage, files[i]) <
		    sizeof(p))
			unlink(p);
	rmdir(stage);
}

/* ca_dir/issuer-id: links to ca_dir's ca.pem, chain.pem and (file)
 * ca.key, made in .issuer-id.new and renamed; kept if it exists. */
static int
keep_old(const struct conf *c, int id, int file_key, char *err,
    size_t errlen)
{
	static const char *const files[] = { "ca.pem", "chain.pem", "ca.key" };
	char	 dir[PATH_MAX], tmp[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	int	 i, fd;

	if (issuer_dir(c, id, dir, sizeof(dir)) == -1)
		return -1;
	if (access(dir, F_OK) == 0)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.issuer-%d.new", c->ca_dir,
	    id) >= sizeof(tmp) || (mkdir(tmp, 0700) == -1 && errno != EEXIST)) {
		snprintf(err, errlen, "%.700s: %s", tmp, strerror(errno));
		return -1;
	}
	for (i = 0; i < (file_key ? 3 : 2); i++) {
		if ((size_t)snprintf(a, sizeof(a), "%s/%s", c->ca_dir,
		    files[i]) >= sizeof(a) || (size_t)snprintf(b, sizeof(b),
		    "%s/%s", tmp, files[i]) >= sizeof(b)) {
			snprintf(err, errlen, "%s: path too long", c->ca_dir);
			return -1;
		}
		/* A ca_key elsewhere than ca_dir stays where it is. */
		if (i == 2 && access(a, F_OK) == -1 && errno == ENOENT)
			continue;
		if (link(a, b) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "%.700s: %s", b, strerror(errno));
			return -1;
		}
	}
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fs_fsync_dir(fd);
		close(fd);
	}
	if (rename(tmp, dir) == -1) {
		snprintf(err, errlen, "%.700s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

struct roll {
	const char	*keyalg;	/* --ca-key */
	const char	*imp_cert;	/* --import */
	const char	*imp_chain;
	const char	*imp_key;
	int		 token;		/* the new key is in a token */
	char		 uri[1024];	/* its URI */
};

/* Step 1: the new CA's files in stage. */
static int
make_new(const struct conf *c, const struct ca *cur, int id,
    struct roll *r, const char *stage, char *err, size_t errlen)
{
	EVP_PKEY	*pub = NULL;
	char		 cn[300], tok[256], warn[512], path[PATH_MAX];
	int		 ec, rc = -1;

	if (r->imp_cert != NULL) {
		if (p11_is_uri(r->imp_key)) {
			r->token = 1;
			snprintf(r->uri, sizeof(r->uri), "%s", r->imp_key);
			if ((pub = ceremony_token_public(c->pkcs11_module,
			    r->uri, c->pkcs11_pin_file, err, errlen)) == NULL)
				return -1;
			rc = ca_import_pub(stage, r->imp_cert, pub,
			    r->imp_chain, warn, sizeof(warn), err, errlen);
		} else
			rc = ca_import(stage, r->imp_cert, r->imp_key,
			    r->imp_chain, warn, sizeof(warn), err, errlen);
		if (rc == 0 && warn[0] != '\0')
			fprintf(stderr, "certspool: ca rollover: warning: %s\n",
			    warn);
		EVP_PKEY_free(pub);
		return rc;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/root.key", c->ca_dir) >=
	    sizeof(path) || access(path, F_OK) == -1) {
		snprintf(err, errlen, "%.600s: no root key here, so the new "
		    "issuing CA cannot be signed here: have it signed by its "
		    "root and use ca rollover --import CERT [CHAIN] KEY", path);
		return -1;
	}
	if (r->keyalg != NULL)
		ec = ca_keyalg(r->keyalg, err, errlen);
	else
		ec = cur->is_ec;
	if (ec == -1)
		return -1;
	next_cn(cur->cert, id, cn, sizeof(cn));
	if (p11_is_uri(c->ca_key)) {
		r->token = 1;
		if (uri_token(c->ca_key, tok, sizeof(tok)) == -1) {
			snprintf(err, errlen, "ca_key %s names no token=",
			    c->ca_key);
			return -1;
		}
		if (ceremony_generate(c->pkcs11_module, tok,
		    c->pkcs11_pin_file, ec ? "p384" : "rsa4096", r->uri,
		    sizeof(r->uri), err, errlen) == -1 ||
		    (pub = ceremony_token_public(c->pkcs11_module, r->uri,
		    c->pkcs11_pin_file, err, errlen)) == NULL)
			return -1;
		fprintf(stderr, "certspool: ca rollover: new key %s\n", r->uri);
	}
	rc = ca_issue_next(c->ca_dir, stage, cn, pub, ec, err, errlen);
	EVP_PKEY_free(pub);
	return rc;
}

/* Refuse a new CA that cannot be told from one we have. */
static int
check_new(const struct ca *list, const struct ca *nca, char *err,
    size_t errlen)
{
	const struct ca	*i;

	for (i = list; i != NULL; i = i->next) {
		if (EVP_PKEY_eq(i->pub, nca->pub) == 1) {
			snprintf(err, errlen, "the new CA's key is issuer %d's "
			    "key: a rollover needs a new key", ISSUER_OF(i));
			return -1;
		}
		if (X509_NAME_cmp(X509_get_subject_name(i->cert),
		    X509_get_subject_name(nca->cert)) == 0) {
			snprintf(err, errlen, "the new CA's subject is issuer "
			    "%d's: the names must tell the CAs apart",
			    ISSUER_OF(i));
			return -1;
		}
	}
	return 0;
}

/* Step 3: the commit point. */
static int
record(struct store *st, const struct conf *c, int cur, int id,
    const struct ca *nca, const char *newkey, char *err, size_t errlen)
{
	struct issuer_new n;
	unsigned char	*der = NULL, *chain = NULL;
	size_t		 chainlen = 0;
	char		 dir[PATH_MAX], path[PATH_MAX], oldkey[PATH_MAX];
	char		 crl[1024], aia[1024], def[PATH_MAX];
	struct tm	 tm;
	int		 len, rc = -1;

	if (issuer_dir(c, id, dir, sizeof(dir)) == -1 ||
	    (size_t)snprintf(path, sizeof(path), "%s/chain.pem", dir) >=
	    sizeof(path) || (size_t)snprintf(def, sizeof(def), "%s/ca.key",
	    c->ca_dir) >= sizeof(def)) {
		snprintf(err, errlen, "%s: path too long", c->ca_dir);
		return -1;
	}
	/* The old key: its token, its own path, or issuer-M/ca.key. */
	if (p11_is_uri(c->ca_key) || (*c->ca_key != '\0' &&
	    strcmp(c->ca_key, def) != 0))
		snprintf(oldkey, sizeof(oldkey), "%s", c->ca_key);
	else {
		issuer_dir(c, cur, oldkey, sizeof(oldkey));
		strncat(oldkey, "/ca.key", sizeof(oldkey) - strlen(oldkey) - 1);
	}
	aia[0] = '\0';
	if ((len = i2d_X509(nca->cert, &der)) <= 0 ||
	    fs_read_file(path, PEM_MAX, &chain, &chainlen) == -1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(nca->cert), &tm) != 1 ||
	    issuer_url(c->crl_url, id, crl, sizeof(crl)) == -1 ||
	    (c->aia_ca_issuers_url != NULL && *c->aia_ca_issuers_url != '\0' &&
	    issuer_url(c->aia_ca_issuers_url, id, aia, sizeof(aia)) == -1)) {
		snprintf(err, errlen, "%.700s: the new CA cannot be recorded",
		    dir);
		goto out;
	}
	n.id = id;
	n.cert = der;
	n.certlen = (size_t)len;
	n.key = newkey;
	n.chain = (const char *)chain;
	n.crl_url = crl;
	n.aia_url = aia;
	n.not_after = (long long)timegm(&tm);
	n.created = (long long)clock_now();
	if (issuer_rollover_commit(st, cur, oldkey, &n) == -1) {
		snprintf(err, errlen, "issuer table: the rollover was not "
		    "recorded");
		goto out;
	}
	rc = 0;
 out:
	OPENSSL_free(der);
	free(chain);
	return rc;
}

/* Parse [--ca-key ALG] [--import CERT [CHAIN] KEY]. */
static int
parse(int argc, char **argv, struct roll *r)
{
	int	 i, n;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ca-key") == 0 && i + 1 < argc)
			r->keyalg = argv[++i];
		else if (strcmp(argv[i], "--import") == 0) {
			n = argc - i - 1;
			if (n == 2) {
				r->imp_cert = argv[i + 1];
				r->imp_key = argv[i + 2];
			} else if (n == 3) {
				r->imp_cert = argv[i + 1];
				r->imp_chain = argv[i + 2];
				r->imp_key = argv[i + 3];
			} else
				return -1;
			if (r->keyalg != NULL)
				return -1;
			return 0;
		} else
			return -1;
	}
	return 0;
}

int
cmd_ca_rollover(struct cmd_env *env, int argc, char **argv)
{
	const struct conf *c = env->conf;
	struct roll	 r;
	struct ca	*list = NULL, *nca = NULL;
	char		 err[1024], stage[PATH_MAX], dir[PATH_MAX], name[64];
	char		 newkey[PATH_MAX];
	long long	 maxid = 0;
	int		 lockfd = -1, id, rc = 1, file_key;

	if (parse(argc, argv, &r) == -1)
		return cli_err("usage: certspool ca rollover [--ca-key p384|"
		    "rsa4096] | --import CERT [CHAIN] (KEYFILE|pkcs11:URI)");
	if ((lockfd = spool_lock(c)) == -1)
		return cli_err("ca rollover: %s: the daemon is running (or the "
		    "spool lock cannot be taken); stop it first",
		    c->spool_dir);
	/* Daemons sharing a PostgreSQL database take no spool lock. */
	if (store_is_uri(c->database) &&
	    (issuer_live_daemons(env->st, &maxid) == -1 || maxid > 0)) {
		close(lockfd);
		return cli_err("ca rollover: %s daemon%s running on the "
		    "database (or it cannot be read); stop %s first",
		    maxid > 1 ? "several" : "a", maxid > 1 ? "s are" : " is",
		    maxid > 1 ? "them all" : "it");
	}
	if ((list = issuer_load(env->st, c, NULL, err, sizeof(err))) == NULL)
		goto fail;
	if (issuer_max_id(env->st, &maxid) == -1) {
		snprintf(err, sizeof(err), "issuer table: cannot read");
		goto fail;
	}
	id = (int)maxid + 1;
	snprintf(name, sizeof(name), "issuer-%d", id);
	if (set_aside(c->ca_dir, name, err, sizeof(err)) == -1)
		goto fail;
	snprintf(name, sizeof(name), ".issuer-%d.new", id);
	if (set_aside(c->ca_dir, name, err, sizeof(err)) == -1)
		goto fail;
	if ((size_t)snprintf(stage, sizeof(stage), "%s/%s", c->ca_dir, name) >=
	    sizeof(stage)) {
		snprintf(err, sizeof(err), "%s: path too long", c->ca_dir);
		goto fail;
	}
	/* 1 */
	if (make_new(c, list, id, &r, stage, err, sizeof(err)) == -1 ||
	    (nca = ca_load(stage, err, sizeof(err))) == NULL ||
	    check_new(list, nca, err, sizeof(err)) == -1) {
		stage_remove(stage);
		goto fail;
	}
	issuer_dir(c, id, dir, sizeof(dir));
	if (rename(stage, dir) == -1) {
		snprintf(err, sizeof(err), "%.700s: %s", dir, strerror(errno));
		stage_remove(stage);
		goto fail;
	}
	/* 2 */
	file_key = !p11_is_uri(c->ca_key);
	if (keep_old(c, list->issuer_id, file_key, err, sizeof(err)) == -1)
		goto fail;
	/* 3 */
	if (r.token)
		snprintf(newkey, sizeof(newkey), "%s", r.uri);
	else
		if ((size_t)snprintf(newkey, sizeof(newkey), "%s/ca.key",
		    dir) >= sizeof(newkey)) {
			snprintf(err, sizeof(err), "%s: path too long",
			    c->ca_dir);
			goto fail;
		}
	if (record(env->st, c, list->issuer_id, id, nca, newkey, err,
	    sizeof(err)) == -1)
		goto fail;
	/* 4 */
	if (issuer_install(c, id, err, sizeof(err)) == -1) {
		fprintf(stderr, "certspool: ca rollover: issuer %d is recorded; "
		    "ca_dir is completed at the next start\n", id);
		goto fail;
	}
	if ((r.token || *c->ca_key != '\0') &&
	    ceremony_conf_key(c->path, r.token ? r.uri : "",
	    c->pkcs11_module, c->pkcs11_pin_file, err, sizeof(err)) == -1) {
		fprintf(stderr, "certspool: ca rollover: issuer %d is current; "
		    "set ca_key = \"%s\" in %s by hand\n", id, r.token ? r.uri :
		    "", c->path);
		goto fail;
	}
	printf("issuer %d is the issuing CA now; issuer %d is retired and "
	    "keeps signing the CRLs of its certificates (its files: %s/"
	    "issuer-%d); restart the daemon\n", id, list->issuer_id,
	    c->ca_dir, list->issuer_id);
	rc = 0;
	goto out;
 fail:
	rc = cli_err("ca rollover: %s", err);
 out:
	ca_free(nca);
	ca_free(list);
	if (lockfd != -1)
		close(lockfd);
	return rc;
}

/* ---- ca show: the issuers ---- */

/* What issuer_show's rows go to. */
struct show_arg {
	FILE	*out;
	int	 started;
};

static void
show_start(struct show_arg *a)
{
	if (!a->started)
		fprintf(a->out, "issuers:\n");
	a->started = 1;
}

static int
show_row(void *arg, const struct issuer_row *row)
{
	struct show_arg		*a = arg;
	char			 t[32], subj[512];
	const unsigned char	*p;
	X509			*x;

	show_start(a);
	p = row->cert;
	subj[0] = '\0';
	if ((x = d2i_X509(NULL, &p, (long)row->certlen)) != NULL) {
		X509_NAME_oneline(X509_get_subject_name(x), subj,
		    sizeof(subj));
		X509_free(x);
	}
	time_fmt((time_t)row->not_after, t, sizeof(t));
	fprintf(a->out, "  issuer %d: %s%s\n    subject: %s\n    key: %s\n"
	    "    notAfter: %s\n    crl_url: %s\n",
	    row->id, row->state,
	    row->crl_ended ? " (its CRLs ended)" : "", subj, row->key,
	    t, *row->crl_url != '\0' ? row->crl_url : "(crl_url)");
	return 0;
}

int
issuer_show(struct store *st, FILE *out)
{
	struct show_arg	 a = { out, 0 };
	int		 rc;

	rc = issuer_each(st, show_row, &a);
	if (rc == 0)
		show_start(&a);
	return rc;
}
