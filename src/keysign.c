/*
 * keysign.c: the signer process (keyproc.h), the only process that holds
 * the issuing CA's private key.  Started by exec from the daemon with
 * its channels as fds 3, 4, ...; it loads ca.pem and the key (a PEM file
 * checked as ca_key_load does, or a PKCS#11 token through p11.h, one
 * session per channel), and the same for each retired issuer it is
 * given (issuer-N's ca.pem and key), restricts itself (keysandbox.c) and
 * then serves each channel on a thread of its own: it checks each TBS
 * (kind, the issuer named in the request, algorithm), hashes it as it
 * arrives and signs the digest with that issuer's key.
 *
 * Failure policy: a request that is not a TBS of this CA of the kind
 * announced is refused with its reason and nothing is signed; a token
 * that went away is reopened once, and if it is still missing the answer
 * is "key unavailable" (reopened again on later requests).  Anything that
 * breaks a channel (EOF, a read error) ends the process: the parent
 * starts a new one.  Startup failures are sent to the parent as the
 * first answer on channel 0, then the process exits 1.
 */
#include <sys/prctl.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "extern.h"
#include "ca.h"
#include "keyproc.h"
#include "p11.h"

#define KS_IOBUF	65536
#define KS_PREFIX	16384	/* + the issuer: enough for the checks */

/* One issuer: 0 the current CA, then the retired ones. */
struct ks_iss {
	int			 id;		/* 0: current, else issuer id */
	struct ca		*ca;
	const unsigned char	*iss;		/* CA subject, DER */
	size_t			 isslen;
	EVP_PKEY		*key;		/* a file key, or */
	struct p11		*p11;		/* a token */
	int			 gone;		/* the token went away */
	char			 why[512];	/* and why reopening failed */
};

struct ks {
	struct ks_iss		 is[1 + KP_MAXISSUERS];
	int			 nis;
	size_t			 issmax;	/* the longest subject */
	pthread_rwlock_t	 lk;		/* p11_sign (rd), reopen (wr) */
	int			 nchan;
	pthread_barrier_t	 go;
};

struct chan {
	struct ks	*ks;
	int		 i, fd;
	EVP_MD_CTX	*mctx;
	EVP_PKEY_CTX	*pctx[1 + KP_MAXISSUERS];	/* file keys */
	unsigned char	*pre;		/* the first bytes of a TBS */
	size_t		 prelen;
	unsigned char	 io[KS_IOBUF];
	unsigned char	 rb[KS_IOBUF];	/* read buffer */
	size_t		 rpos, rlen;
	pthread_t	 th;
};

/* One request's result: a signature or a message. */
struct answer {
	int		 status;
	unsigned char	*sig;
	size_t		 siglen;
	char		 msg[KP_MSG_MAX];
};

static EVP_MD	*mds[3];
static const char *const mdnames[3] = { "SHA256", "SHA384", "SHA512" };


static int
refuse(struct answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct answer *a, int status, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
	a->status = status;
	return -1;
}

/*
 * Read len bytes of a channel, through its buffer: a whole request
 * usually comes in one read.  EOF or an error ends the process.
 */
static void
ch_read(struct chan *ch, void *buf, size_t len)
{
	unsigned char	*p = buf;
	size_t		 k;
	ssize_t		 r;

	while (len > 0) {
		if (ch->rpos == ch->rlen) {
			ch->rpos = ch->rlen = 0;
			if ((r = read(ch->fd, ch->rb, sizeof(ch->rb))) == -1 &&
			    errno == EINTR)
				continue;
			if (r <= 0)
				_exit(0);	/* EOF: the parent closed us */
			ch->rlen = (size_t)r;
		}
		k = ch->rlen - ch->rpos < len ? ch->rlen - ch->rpos : len;
		memcpy(p, ch->rb + ch->rpos, k);
		ch->rpos += k;
		p += k;
		len -= k;
	}
}

static void
write_full(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 r;

	while (len > 0) {
		if ((r = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0);	/* the parent is gone */
		p += r;
		len -= (size_t)r;
	}
}

static void
send_answer(int fd, const struct answer *a)
{
	unsigned char	 h[KP_HDR + KP_MSG_MAX];
	const void	*body = a->status == KP_OK ? (const void *)a->sig :
			    (const void *)a->msg;
	size_t		 len = a->status == KP_OK ? a->siglen :
			    strlen(a->msg);

	memset(h, 0, sizeof(h));
	h[0] = (unsigned char)a->status;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
	if (len <= KP_MSG_MAX) {		/* one write */
		if (len > 0)
			memcpy(h + KP_HDR, body, len);
		write_full(fd, h, KP_HDR + len);
	} else {
		write_full(fd, h, KP_HDR);
		write_full(fd, body, len);
	}
}

/* Discard len bytes of a request; the channel stays in step. */
static void
drain(struct chan *ch, unsigned long len)
{
	size_t	 k;

	while (len > 0) {
		k = len < sizeof(ch->io) ? len : sizeof(ch->io);
		ch_read(ch, ch->io, k);
		len -= k;
	}
}

static const EVP_MD *
md_get(const char *name)
{
	int	 i;

	for (i = 0; i < 3; i++)
		if (strcmp(name, mdnames[i]) == 0)
			return mds[i];
	return NULL;
}

/* The outer SEQUENCE's header; its content must end exactly at len. */
static int
outer_seq(const unsigned char *p, size_t n, unsigned long len, size_t *hl)
{
	unsigned long	 clen = 0;
	size_t		 k, i;

	if (n < 2 || p[0] != 0x30)
		return -1;
	if (p[1] < 0x80) {
		clen = p[1];
		*hl = 2;
	} else {
		k = p[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return -1;
		for (i = 0; i < k; i++)
			clen = clen << 8 | p[2 + i];
		*hl = 2 + k;
	}
	return *hl + clen == len ? 0 : -1;
}

/*
 * Check the start of a TBS (the prefix read): the kind's fields up to
 * the issuer, the algorithm and the issuer.  The digest name in *md.
 */
static int
check_tbs(struct chan *ch, const struct ks_iss *ki, int kind,
    unsigned long len, const char **md, struct answer *a)
{
	const unsigned char	*p, *end = ch->pre + ch->prelen, *c, *alg, *iss;
	const char		*what = kind == KP_CERT ? "TBSCertificate" :
				    "TBSCertList";
	unsigned char		 tag;
	size_t			 hl, clen, alglen;

	if (outer_seq(ch->pre, ch->prelen, len, &hl) == -1)
		return refuse(a, KP_REFUSED, "not a DER SEQUENCE of the %lu "
		    "bytes sent", len);
	p = ch->pre + hl;
	if (der_next(&p, end, &tag, &c, &clen) == -1)
		return refuse(a, KP_REFUSED, "%s: truncated", what);
	if (kind == KP_CERT) {
		if (tag != 0xa0 || clen != 3 || memcmp(c, "\x02\x01\x02", 3))
			return refuse(a, KP_REFUSED, "RFC 5280 4.1.2.1: not a "
			    "TBSCertificate: no version [0] v3");
		if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x02 ||
		    clen < 1 || clen > 21)
			return refuse(a, KP_REFUSED, "RFC 5280 4.1.2.2: "
			    "TBSCertificate: no serialNumber INTEGER");
		alg = p;
	} else if (tag == 0x02) {
		if (clen != 1 || c[0] != 1)
			return refuse(a, KP_REFUSED, "RFC 5280 5.1.2.1: "
			    "TBSCertList: version is not v2");
		alg = p;
	} else if (tag == 0x30)	/* no version: the algorithm */
		alg = p = ch->pre + hl;
	else
		return refuse(a, KP_REFUSED, "RFC 5280 5.1.2: not a "
		    "TBSCertList: neither a version nor an algorithm first");
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return refuse(a, KP_REFUSED, "%s: no signature "
		    "AlgorithmIdentifier", what);
	alglen = (size_t)(p - alg);
	iss = p;
	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return refuse(a, KP_REFUSED, "%s: no issuer Name", what);
	if ((size_t)(p - iss) != ki->isslen ||
	    memcmp(iss, ki->iss, ki->isslen) != 0)
		return refuse(a, KP_REFUSED, "%s: the issuer is not this CA's "
		    "subject", what);
	if ((*md = ca_sigalg_md(ki->ca, alg, alglen)) == NULL)
		return refuse(a, KP_REFUSED, "S/MIME BR 7.1.3.2: %s: the "
		    "signature algorithm does not fit the CA key", what);
	return 0;
}

/* Sign a digest with the file key (PKCS#1 v1.5 or ECDSA, DER). */
static int
sign_file(struct chan *ch, int k, const char *md, const unsigned char *dg,
    size_t dlen, struct answer *a)
{
	EVP_PKEY_CTX	*pctx = ch->pctx[k];
	char		 e[256];

	a->siglen = 0;
	if (EVP_PKEY_sign_init(pctx) <= 0 ||
	    (!ch->ks->is[k].ca->is_ec && EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PADDING) <= 0) ||
	    EVP_PKEY_CTX_set_signature_md(pctx, md_get(md)) <= 0 ||
	    EVP_PKEY_sign(pctx, NULL, &a->siglen, dg, dlen) <= 0 ||
	    (a->sig = malloc(a->siglen)) == NULL ||
	    EVP_PKEY_sign(pctx, a->sig, &a->siglen, dg, dlen) <= 0) {
		ssl_errstr(e, sizeof(e));
		return refuse(a, KP_REFUSED, "signing failed: %s", e);
	}
	return 0;
}

/* Reopen a token that went away, unless another thread did. */
static void
token_reopen(struct ks *ks, struct ks_iss *ki, int seen_gone)
{
	char	 e[512];

	pthread_rwlock_wrlock(&ks->lk);
	if (ki->gone || seen_gone) {
		if (p11_reopen(ki->p11, e, sizeof(e)) == 0)
			ki->gone = 0;
		else {
			ki->gone = 1;
			snprintf(ki->why, sizeof(ki->why), "%s", e);
		}
	}
	pthread_rwlock_unlock(&ks->lk);
}

/* Sign a digest in the token; a token that went away is reopened once. */
static int
sign_token(struct chan *ch, int k, const char *md, const unsigned char *dg,
    size_t dlen, struct answer *a)
{
	struct ks	*ks = ch->ks;
	struct ks_iss	*ki = &ks->is[k];
	char		 e[512] = "", why[512] = "";
	int		 r = P11_GONE, try;

	for (try = 0; try < 2 && r == P11_GONE; try++) {
		if (try > 0 || ki->gone)
			token_reopen(ks, ki, try > 0);
		pthread_rwlock_rdlock(&ks->lk);
		if (ki->gone) {
			snprintf(why, sizeof(why), "%s", ki->why);
			pthread_rwlock_unlock(&ks->lk);
			break;
		}
		r = p11_sign(ki->p11, ch->i, md, dg, dlen, &a->sig,
		    &a->siglen, e, sizeof(e));
		pthread_rwlock_unlock(&ks->lk);
	}
	if (r == 0)
		return 0;
	if (r == -1)
		return refuse(a, KP_REFUSED, "token: %s", e);
	return refuse(a, KP_UNAVAILABLE, "the CA key's token is "
	    "unavailable: %s", why[0] != '\0' ? why : e);
}

/* Hash the rest of the TBS as it arrives, then sign the digest. */
static int
hash_sign(struct chan *ch, int ik, const char *md, unsigned long len,
    struct answer *a)
{
	unsigned char	 dg[EVP_MAX_MD_SIZE];
	unsigned int	 dlen;
	unsigned long	 left = len - ch->prelen;
	size_t		 k;
	int		 ok;

	ok = EVP_DigestInit_ex(ch->mctx, md_get(md), NULL) &&
	    EVP_DigestUpdate(ch->mctx, ch->pre, ch->prelen);
	while (left > 0) {
		k = left < sizeof(ch->io) ? left : sizeof(ch->io);
		ch_read(ch, ch->io, k);
		ok = ok && EVP_DigestUpdate(ch->mctx, ch->io, k);
		left -= k;
	}
	if (!ok || !EVP_DigestFinal_ex(ch->mctx, dg, &dlen))
		return refuse(a, KP_REFUSED, "hashing the TBS failed");
	if (ch->ks->is[ik].p11 != NULL)
		return sign_token(ch, ik, md, dg, dlen, a);
	return sign_file(ch, ik, md, dg, dlen, a);
}

/* One request whose header was read: check, hash, sign with the key of
 * issuer id (0: the current CA). */
static void
handle(struct chan *ch, int kind, int id, unsigned long len,
    struct answer *a)
{
	unsigned long	 max = kind == KP_CRL ? KP_CRL_MAX : KP_CERT_MAX;
	const char	*md;
	int		 k;

	if (kind != KP_CERT && kind != KP_CRL) {
		refuse(a, KP_REFUSED, "unknown request kind %d", kind);
		drain(ch, len);
		return;
	}
	if (len == 0 || len > max) {
		refuse(a, KP_REFUSED, "a TBS of %lu bytes; at most %lu", len,
		    max);
		drain(ch, len);
		return;
	}
	for (k = 0; k < ch->ks->nis; k++)
		if (ch->ks->is[k].id == id)
			break;
	if (k == ch->ks->nis) {
		refuse(a, KP_REFUSED, "issuer %d: not held by this signer",
		    id);
		drain(ch, len);
		return;
	}
	ch->prelen = len < KS_PREFIX + ch->ks->issmax ? len :
	    KS_PREFIX + ch->ks->issmax;
	ch_read(ch, ch->pre, ch->prelen);
	if (check_tbs(ch, &ch->ks->is[k], kind, len, &md, a) == -1) {
		drain(ch, len - ch->prelen);
		return;
	}
	if (hash_sign(ch, k, md, len, a) == 0)
		a->status = KP_OK;
}

static void *
serve(void *arg)
{
	struct chan	*ch = arg;
	struct answer	 a;
	unsigned char	 h[KP_HDR];
	unsigned long	 len;

	pthread_barrier_wait(&ch->ks->go);
	for (;;) {
		ch_read(ch, h, sizeof(h));
		len = (unsigned long)h[4] << 24 | (unsigned long)h[5] << 16 |
		    (unsigned long)h[6] << 8 | h[7];
		memset(&a, 0, sizeof(a));
		handle(ch, h[0], h[1] << 8 | h[2], len, &a);
		send_answer(ch->fd, &a);
		free(a.sig);
		ERR_clear_error();
	}
	return NULL;
}

/* The key of a PKCS#11 URI: PIN, one session per channel, same key. */
static int
open_token(struct ks_iss *ki, const char *dir, const char *uri,
    const char *module, const char *pin_file, int n, char *err,
    size_t errlen)
{
	char	*pin;

	if ((pin = p11_pin_read(pin_file, err, errlen)) == NULL)
		return -1;
	ki->p11 = p11_open(module, uri, pin, n, err, errlen);
	OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
	if (ki->p11 == NULL)
		return -1;
	if (p11_public(ki->p11) == NULL ||
	    EVP_PKEY_eq(p11_public(ki->p11), ki->ca->pub) != 1) {
		snprintf(err, errlen, "%s: the token's key is not the key of "
		    "%s/ca.pem", uri, dir);
		return -1;
	}
	return 0;
}

/* One issuer: dir/ca.pem, then its key (keyloc, or dir/ca.key if ""). */
static int
load_one(struct ks *ks, int id, const char *dir, const char *keyloc,
    const char *module, const char *pin_file, int n, char *err,
    size_t errlen)
{
	struct ks_iss	*ki = &ks->is[ks->nis];
	char		 path[4096];

	ki->id = id;
	if ((ki->ca = ca_load(dir, err, errlen)) == NULL)
		return -1;
	ks->nis++;
	if (!X509_NAME_get0_der(X509_get_subject_name(ki->ca->cert),
	    &ki->iss, &ki->isslen)) {
		snprintf(err, errlen, "%s/ca.pem: subject", dir);
		return -1;
	}
	if (ki->isslen > ks->issmax)
		ks->issmax = ki->isslen;
	if (p11_is_uri(keyloc))
		return open_token(ki, dir, keyloc, module, pin_file, n, err,
		    errlen);
	if (*keyloc != '\0')
		snprintf(path, sizeof(path), "%s", keyloc);
	else
		snprintf(path, sizeof(path), "%s/ca.key", dir);
	if ((ki->key = ca_key_load(ki->ca, path, err, errlen)) == NULL)
		return -1;
	return 0;
}

/* The current CA, then each retired issuer; argv: ca_dir ca_key module
 * pin_file n ppid, then id dir key for each issuer. */
static int
load(struct ks *ks, char **argv, int argc, int n, char *err,
    size_t errlen)
{
	int	 i, id;

	for (i = 0; i < 3; i++)
		if ((mds[i] = EVP_MD_fetch(NULL, mdnames[i], NULL)) == NULL) {
			snprintf(err, errlen, "no %s digest", mdnames[i]);
			return -1;
		}
	if (load_one(ks, 0, argv[0], argv[1], argv[2], argv[3], n, err,
	    errlen) == -1)
		return -1;
	for (i = 6; i + 2 < argc; i += 3) {
		if ((id = atoi(argv[i])) < 1 || ks->nis > KP_MAXISSUERS) {
			snprintf(err, errlen, "issuer \"%s\": not an issuer "
			    "id", argv[i]);
			return -1;
		}
		if (load_one(ks, id, argv[i + 1], argv[i + 2], argv[2],
		    argv[3], n, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Per channel state, allocated before the sandbox; a first signature
 * with a file key so that nothing is left to load later. */
static int
chan_init(struct ks *ks, struct chan *ch, int i, char *err, size_t errlen)
{
	struct answer	 a;
	unsigned char	 dg[32];
	int		 k;

	ch->ks = ks;
	ch->i = i;
	ch->fd = 3 + i;
	ch->pre = xcalloc(1, KS_PREFIX + ks->issmax);
	if ((ch->mctx = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (k = 0; k < ks->nis; k++) {
		if (ks->is[k].key == NULL)
			continue;
		if ((ch->pctx[k] = EVP_PKEY_CTX_new_from_pkey(NULL,
		    ks->is[k].key, NULL)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (i > 0)
			continue;
		memset(&a, 0, sizeof(a));
		memset(dg, 0, sizeof(dg));
		if (sign_file(ch, k, "SHA256", dg, sizeof(dg), &a) == -1) {
			snprintf(err, errlen, "the CA key cannot sign: %.900s",
			    a.msg);
			return -1;
		}
		free(a.sig);
	}
	return 0;
}

/* Start one thread per channel, waiting at ks->go for the sandbox. */
static int
start(struct ks *ks, struct chan *ch, char *err, size_t errlen)
{
	int	 i;

	pthread_rwlock_init(&ks->lk, NULL);
	pthread_barrier_init(&ks->go, NULL, (unsigned int)ks->nchan + 1);
	for (i = 0; i < ks->nchan; i++)
		if (chan_init(ks, &ch[i], i, err, errlen) == -1)
			return -1;
	for (i = 0; i < ks->nchan; i++)
		if (pthread_create(&ch[i].th, NULL, serve, &ch[i]) != 0) {
			snprintf(err, errlen, "cannot start a thread");
			return -1;
		}
	return 0;
}

/* Only the channels (3 ..) and stderr stay open. */
static void
close_fds(int n)
{
	int	 fd;

	if (close_range((unsigned int)(3 + n), ~0U, 0) == -1)
		for (fd = 3 + n; fd < 65536; fd++)
			close(fd);
	close(0);
	close(1);
}

int
keyproc_main(int argc, char **argv)
{
	struct ks	 ks;
	struct chan	*ch = NULL;
	struct answer	 a;
	int		 n, k, tok = 0;

	if (argc < 6 || (argc - 6) % 3 != 0 ||
	    argc > 6 + 3 * KP_MAXISSUERS || (n = atoi(argv[4])) < 1 ||
	    n > 257) {
		fprintf(stderr, "certspool: %s is started by the daemon\n",
		    KEYPROC_ARG);
		return 1;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if ((long)getppid() != atol(argv[5]))
		return 0;	/* the parent died before we could see it */
	prctl(PR_SET_NAME, "certspool-sign");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	close_fds(n);
	memset(&ks, 0, sizeof(ks));
	memset(&a, 0, sizeof(a));
	ks.nchan = n;
	ch = xcalloc((size_t)n, sizeof(*ch));
	if (load(&ks, argv, argc, n, a.msg, sizeof(a.msg)) == -1)
		goto fail;
	for (k = 0; k < ks.nis; k++)
		tok |= ks.is[k].p11 != NULL;
	if (start(&ks, ch, a.msg, sizeof(a.msg)) == -1 ||
	    ks_sandbox(tok, a.msg, sizeof(a.msg)) == -1)
		goto fail;
	a.status = KP_OK;
	send_answer(3, &a);
	pthread_barrier_wait(&ks.go);
	pthread_join(ch[0].th, NULL);
	_exit(0);
 fail:
	a.status = KP_REFUSED;
	send_answer(3, &a);
	_exit(1);
}
