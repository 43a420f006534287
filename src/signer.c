/*
 * signer.c: turns approved recipients into certificates.  Work goes in
 * chunks through a pool of threads (one per core by default):
 *   A  (threads) public key from the CSR or a new server key, serial,
 *      to-be-signed certificate (profile.c), pre-issuance lint (lint.c);
 *   W  (this thread) one transaction records every serial and TBS as
 *      'signing' -- the write-ahead record -- before the CA key is used;
 *   B  (threads) the CA signs the recorded TBS; server keys are wrapped
 *      into PKCS#12;
 *   C  (this thread) one transaction stores the certificates and moves
 *      the recipients to issued.
 * B of chunk k overlaps A and W of chunk k+1, C of chunk k-1, and the
 * messages of chunk k-2's certificates (written by a thread of their own).  The
 * key of a CSR is taken from the CSR as it stands once it matches the
 * key validated at intake (csr_key()); nothing is parsed twice.
 * After a crash, signer_recover() signs each 'signing' TBS again (same
 * serial, same content), so no certificate is lost and no serial is
 * reused.  A server-generated key existed only in memory: its serial is
 * voided and the recipient gets a fresh key and serial.
 * A recipient is signed once per round (its certificate generation: a
 * reissue or renewal is the next round); the certificate runs to the
 * end of the coverage it paid for, at most 825 days, and when it is
 * stored the earlier round's certificate becomes 'superseded'.  A
 * refusal gives back the charge of that round (ledger.c).
 * Failure policy: a lint failure rejects that recipient; a signing or
 * database failure leaves the chunk for the next pass.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "crl.h"
#include "profile.h"
#include "signer.h"
#include "report.h"
#include "billing.h"
#include "fairq.h"
#include "pipeline.h"
#include "store_sign.h"

#define CHUNK_PER_WORKER	128
#define MAX_VALIDITY		(825L * 86400 - 1)

struct job {
	long long	 rid, oid, bid;
	int		 round;
	struct cert_req	 req;
	char		*cn, *given, *surname, *pseudonym, *email;
	char		*org_name, *org_country, *org_id;
	char		*product, *hash, *csr, *keygen;
	char		*spki_want;	/* SHA-256 recorded when validated */
	char		*account, *batch, *order;	/* log context */
	unsigned char	*spkider;
	size_t		 spkilen;
	time_t		 coverage_end;
	EVP_PKEY	*key;		/* server-generated, or NULL */
	unsigned char	*tbs;
	size_t		 tbslen;
	char		 spki[65];
	char		 serial_hex[41];
	X509		*cert;
	unsigned char	*der, *p12;
	size_t		 derlen, p12len;
	char		 password[40];
	char		 reason[48];
	char		 message[512];
	int		 failed;	/* 1 lint/profile refusal, 2 transient */
	long long	 cert_id;
};

struct pool {
	const struct conf	*conf;
	const struct ca		*ca;
};

static void
job_clear(struct job *j)
{
	free(j->cn);
	free(j->given);
	free(j->surname);
	free(j->pseudonym);
	free(j->email);
	free(j->org_name);
	free(j->org_country);
	free(j->org_id);
	free(j->product);
	free(j->hash);
	free(j->csr);
	free(j->keygen);
	free(j->spki_want);
	free(j->account);
	free(j->batch);
	free(j->order);
	EVP_PKEY_free(j->key);
	free(j->spkider);
	free(j->tbs);
	X509_free(j->cert);
	free(j->der);
	free(j->p12);
	OPENSSL_cleanse(j->password, sizeof(j->password));
	memset(j, 0, sizeof(*j));
}

/*
 * The key of a CSR recipient.  The CSR was verified and its key checked
 * when the order was validated, and the SHA-256 of its key recorded: its
 * SubjectPublicKeyInfo is taken from the CSR as it stands if it is that
 * key, without decoding it again.  Otherwise (a key whose encoding was
 * not canonical, or no record) the CSR is checked again in full.
 */
static int
csr_key(struct job *j)
{
	EVP_PKEY	*pk = NULL;
	char		 have[65];

	if (csr_spki(j->csr, strlen(j->csr), &j->spkider, &j->spkilen) == 0 &&
	    j->spki_want != NULL) {
		sha256_hex(j->spkider, j->spkilen, have);
		if (strcmp(have, j->spki_want) == 0)
			return 0;
	}
	free(j->spkider);
	j->spkider = NULL;
	if (csr_check(j->csr, strlen(j->csr), &pk, j->reason,
	    sizeof(j->reason), j->message, sizeof(j->message)) == -1) {
		j->failed = 1;
		return -1;
	}
	if (key_spki(pk, &j->spkider, &j->spkilen) == -1) {
		EVP_PKEY_free(pk);
		j->failed = 2;
		return -1;
	}
	EVP_PKEY_free(pk);
	sha256_hex(j->spkider, j->spkilen, have);
	if (j->spki_want != NULL && strcmp(have, j->spki_want) != 0) {
		j->failed = 1;
		snprintf(j->reason, sizeof(j->reason), "csr_key_changed");
		snprintf(j->message, sizeof(j->message), "the CSR's key is "
		    "not the key validated for this recipient");
		return -1;
	}
	return 0;
}

/* Phase A: key, serial, TBS, lint. */
static void
build(void *item, void *arg)
{
	struct job	*j = item;
	struct pool	*p = arg;
	char	 err[512];
	long	 span;

	j->req.prod = product_find(j->product);
	if (j->req.prod == NULL) {
		j->failed = 1;
		snprintf(j->reason, sizeof(j->reason), "unknown_product");
		return;
	}
	if (j->keygen != NULL) {
		if ((j->key = keygen_new(j->keygen, err, sizeof(err))) == NULL) {
			j->failed = 2;
			log_err("keygen %s: %s", j->keygen, err);
			return;
		}
		if (key_spki(j->key, &j->spkider, &j->spkilen) == -1) {
			j->failed = 2;
			return;
		}
	} else if (csr_key(j) == -1)
		return;
	sha256_hex(j->spkider, j->spkilen, j->spki);
	j->req.spki = j->spkider;
	j->req.spkilen = j->spkilen;
	j->req.cn = j->cn;
	j->req.given_name = j->given;
	j->req.surname = j->surname;
	j->req.pseudonym = j->pseudonym;
	j->req.email = j->email;
	j->req.org_name = j->org_name;
	j->req.org_country = j->org_country;
	j->req.org_identifier = j->org_id;
	j->req.hash = j->hash;
	j->req.not_before = clock_now();
	span = (long)(j->coverage_end - j->req.not_before);
	if (span > MAX_VALIDITY)
		span = MAX_VALIDITY;
	if (span < 3600) {
		j->failed = 1;
		snprintf(j->reason, sizeof(j->reason), "validity_in_past");
		snprintf(j->message, sizeof(j->message), "the coverage ends "
		    "before a certificate could be issued");
		return;
	}
	j->req.not_after = j->req.not_before + span;
	serial_new(j->req.serial, &j->req.serial_len);
	j->req.crl_shard = crl_shard_of(j->req.serial, j->req.serial_len,
	    p->conf->crl_shards);
	hex_encode(j->req.serial, j->req.serial_len, j->serial_hex);
	if (profile_build(p->ca, p->conf, &j->req, &j->tbs, &j->tbslen, err,
	    sizeof(err)) == -1) {
		j->failed = 1;
		snprintf(j->reason, sizeof(j->reason), "profile_refused");
		snprintf(j->message, sizeof(j->message), "%s", err);
		return;
	}
	if (lint_tbs(p->ca, p->conf, &j->req, j->tbs, j->tbslen, j->reason,
	    sizeof(j->reason), j->message, sizeof(j->message)) == -1) {
		j->failed = 1;
		log_err("pre-issuance lint refused serial %s: %s: %s",
		    j->serial_hex, j->reason, j->message);
		return;
	}
}

/* Phase A on a worker thread, with the job's log context. */
static void
phase_build(void *item, void *arg)
{
	struct job	*j = item;

	log_ctx_set(j->account, j->batch, j->order, j->email);
	build(item, arg);
	log_ctx_clear();
}

/* Phase B: the CA signs the recorded TBS. */
static void
phase_sign(void *item, void *arg)
{
	struct job	*j = item;
	struct pool	*p = arg;

	if (j->failed)
		return;
	if (ca_sign_tbs(p->ca, j->tbs, j->tbslen, &j->der, &j->derlen) == -1) {
		j->failed = 2;
		return;
	}
	if (j->key != NULL) {
		const unsigned char *q = j->der;

		if ((j->cert = d2i_X509(NULL, &q, (long)j->derlen)) == NULL) {
			j->failed = 2;
			return;
		}
		p12_password(j->password, sizeof(j->password));
		if (p12_make(j->key, j->cert, p->ca->chain, j->password,
		    strcmp(p->conf->p12_profile, "legacy") == 0,
		    p->conf->p12_iterations, &j->p12, &j->p12len) == -1)
			j->failed = 2;
	}
}

/* Recompute an order's state from its recipients after signing. */
static int
resettle(struct store *st, long long oid)
{
	return order_resettle(st, oid);
}

/* Where load_account appends: jobs[*n], at most up to max. */
struct loading {
	struct job	*jobs;
	size_t		*n, max;
};

static int
load_one(void *arg, const struct approved_row *w)
{
	struct loading	*l = arg;
	struct job	*j;

	if (*l->n >= l->max)
		return 1;
	j = &l->jobs[(*l->n)++];
	memset(j, 0, sizeof(*j));
	j->rid = w->rid;
	j->oid = w->oid;
	j->bid = w->bid;
	j->cn = xstrdup(w->cn);
	j->given = xstrdup(w->given_name);
	j->surname = xstrdup(w->surname);
	j->pseudonym = xstrdup(w->pseudonym);
	j->email = xstrdup(w->email);
	j->csr = xstrdup(w->csr);
	j->keygen = xstrdup(w->keygen);
	j->product = xstrdup(w->product);
	j->hash = xstrdup(w->sig_hash);
	j->coverage_end = (time_t)w->coverage_end;
	j->org_name = xstrdup(w->org_name);
	j->org_country = xstrdup(w->org_country);
	j->org_id = xstrdup(w->org_identifier);
	j->req.cn_type = (enum cn_type)w->cn_type;
	j->round = w->round;
	j->spki_want = xstrdup(w->spki);
	j->account = xstrdup(w->account);
	j->batch = xstrdup(w->batch);
	j->order = xstrdup(w->order);
	return 0;
}

/* Up to lim approved recipients of one account, appended at jobs[*n]. */
static int
load_account(struct store *st, long long acct, struct job *jobs, size_t lim,
    size_t *n)
{
	struct loading	 l = { jobs, n, *n + lim };

	return approved_each(st, acct, lim, load_one, &l);
}

/*
 * A chunk of at most max jobs: the accounts with approved recipients in
 * turn, each an equal share of what is left, so that a one-order batch
 * is signed in the next chunk however large another account's backlog.
 */
static int
load_jobs(struct store *st, struct job *jobs, size_t max, size_t *n)
{
	static long long rot;
	long long	*ids;
	size_t		 na, i, share;
	int		 rc = 0;

	*n = 0;
	if (fairq_accounts(st, FAIRQ_APPROVED, &rot, &ids, &na) == -1)
		return -1;
	for (i = 0; i < na && *n < max && rc == 0; i++) {
		if ((share = (max - *n) / (na - i)) == 0)
			share = 1;
		rc = load_account(st, ids[i], jobs, share, n);
	}
	free(ids);
	return rc;
}

static int
refuse_job(struct store *st, struct job *j)
{
	return rcpt_refuse_at_signing(st, j->rid, j->oid, j->bid, j->reason,
	    j->message) == -1 ||
	    ledger_refund(st, j->rid, j->round, "certificate refused at "
	    "signing") == -1 || resettle(st, j->oid) == -1 ? -1 : 0;
}

/* Store a signed certificate and move its recipient to issued. */
static int
store_issued(struct store *st, long long cert_id, long long rid,
    long long oid, long long bid, const unsigned char *der, size_t derlen,
    const unsigned char *p12, size_t p12len, const char *password,
    const char *serial)
{
	if (cert_store_issued(st, cert_id, rid, oid, bid, der, derlen, p12,
	    p12len, password, serial) == -1 ||
	    resettle(st, oid) == -1)
		return -1;
	return 0;
}

/* W: the write-ahead record of a chunk, before the CA key is used. */
static int
write_ahead(struct store *st, const struct ca *ca, struct job *jobs,
    size_t n, int *progress)
{
	struct cert_ahead a;
	size_t	 i;

	*progress = 0;
	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (j->failed == 1) {
			if (refuse_job(st, j) == -1)
				goto fail;
			*progress = 1;
			continue;
		}
		if (j->failed)
			continue;
		a.rid = j->rid;
		a.round = j->round;
		a.serial = j->serial_hex;
		a.tbs = j->tbs;
		a.tbslen = j->tbslen;
		a.not_before = (long long)j->req.not_before;
		a.not_after = (long long)j->req.not_after;
		a.spki = j->spki;
		a.crl_shard = j->req.crl_shard;
		a.issuer_id = (long long)ISSUER_OF(ca);
		if ((j->cert_id = cert_write_ahead(st, &a)) == -1)
			goto fail;
		*progress = 1;
	}
	crash_point("before_writeahead_commit");
	if (store_commit(st) == -1)
		return -1;
	crash_point("after_writeahead");
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/* C: store a signed chunk's certificates, recipients to issued. */
static int
store_chunk(struct store *st, struct job *jobs, size_t n)
{
	size_t	 i;

	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (j->failed)
			continue;
		if (store_issued(st, j->cert_id, j->rid, j->oid, j->bid,
		    j->der, j->derlen, j->p12, j->p12len,
		    j->p12 ? j->password : NULL, j->serial_hex) == -1) {
			store_rollback(st);
			return -1;
		}
	}
	crash_point("before_issue_commit");
	if (store_commit(st) == -1)
		return -1;
	crash_point("after_issue_commit");
	return 0;
}

/*
 * The messages of a stored chunk's certificates are written by a thread
 * of their own while the next chunks are built, recorded and signed,
 * rather than all at the end in publishing; this thread reads their rows
 * before and marks them mailed after.  A failure leaves them to the pass
 * (report.c writes whatever is unmailed).
 */
struct mailing {
	struct mail_work	*w;
	pthread_t		 th;
	int			 running, rc;
};

static void *
mailing_main(void *arg)
{
	struct mailing	*m = arg;

	m->rc = report_mail_write(m->w);
	return NULL;
}

static void
mailing_finish(struct store *st, struct mailing *m)
{
	if (m->w == NULL)
		return;
	if (m->running)
		pthread_join(m->th, NULL);
	m->running = 0;
	/* Finished (and freed) written or not: what was published is
	 * marked mailed, the rest is left for the pass. */
	if (report_mail_finish(st, m->w) == -1 || m->rc == -1)
		log_warn("messages of a signed chunk left for the pass");
	m->w = NULL;
}

static void
mailing_start(struct store *st, const struct conf *c, const struct ca *ca,
    struct mailing *m, struct job *jobs, size_t n)
{
	long long	 lo = 0, hi = 0;
	size_t		 i;

	mailing_finish(st, m);
	for (i = 0; i < n; i++) {
		if (jobs[i].failed || jobs[i].cert_id == 0)
			continue;
		if (lo == 0 || jobs[i].cert_id < lo)
			lo = jobs[i].cert_id;
		if (jobs[i].cert_id > hi)
			hi = jobs[i].cert_id;
	}
	if (lo == 0 || (m->w = report_mail_load(st, c, ca, lo, hi)) == NULL)
		return;
	m->rc = 0;
	m->running = pthread_create(&m->th, NULL, mailing_main, m) == 0;
	if (!m->running)
		mailing_main(m);
}

/* B of one chunk on the worker threads, driven from a thread of its own
 * so that this thread can work on the database meanwhile. */
struct signing {
	struct pool	*p;
	struct job	*jobs;
	size_t		 n;
	pthread_t	 th;
	int		 running;
};

static void *
signing_main(void *arg)
{
	struct signing	*sg = arg;

	workpool_run(sg->p->conf->workers, sg->jobs, sg->n, sizeof(*sg->jobs),
	    phase_sign, sg->p);
	return NULL;
}

static void
signing_start(struct signing *sg, struct job *jobs, size_t n)
{
	sg->jobs = jobs;
	sg->n = n;
	sg->running = pthread_create(&sg->th, NULL, signing_main, sg) == 0;
	if (!sg->running)
		signing_main(sg);
}

static void
signing_wait(struct signing *sg)
{
	if (sg->running)
		pthread_join(sg->th, NULL);
	sg->running = 0;
}

/* The signing progress line: it spans the passes a slice cuts short. */
static struct {
	int			 active;
	size_t			 done;
	struct log_progress	 lp;
} sprog;

static int
sprog_begin(struct store *st)
{
	long long	 total = 0;

	if (approved_count(st, &total) == -1)
		return -1;
	if (sprog.active) {
		/* Recipients approved since: the total grows. */
		sprog.lp.total = sprog.done + (size_t)total;
		return 0;
	}
	log_progress_begin(&sprog.lp, "signing", "certificates",
	    (size_t)total);
	sprog.active = 1;
	sprog.done = 0;
	return 0;
}

/*
 * Chunks go through A (build), W (write-ahead commit), B (sign) and C
 * (store) in order; the CA signs chunk k while this thread builds and
 * records chunk k+1 and then stores chunk k-1, so the cores do not wait
 * for the database's commits.  Every chunk's W commit still precedes its
 * signatures, and its C commit follows them.  Once the slice is over no
 * chunk is loaded (the first always is): those in flight are finished.
 */
int
signer_run(struct store *st, const struct conf *c, const struct ca *ca,
    struct slice *sl)
{
	struct pool	 p;
	struct signing	 sg;
	struct mailing	 ml;
	struct job	*buf[2], *cur = NULL, *next;
	size_t		 max, n, ncur = 0, i;
	long long	 left = 1;
	int		 rc = -1, progress, k = 0, cut = 0;

	max = (size_t)(c->workers > 0 ? c->workers : 1) * CHUNK_PER_WORKER;
	buf[0] = xcalloc(max, sizeof(struct job));
	buf[1] = xcalloc(max, sizeof(struct job));
	p.conf = c;
	p.ca = ca;
	memset(&sg, 0, sizeof(sg));
	memset(&ml, 0, sizeof(ml));
	sg.p = &p;
	if (sprog_begin(st) == -1)
		goto out;
	for (;;) {
		next = buf[k];
		progress = 0;
		n = 0;
		if (cur != NULL && slice_over(sl))
			cut = 1;
		else if (load_jobs(st, next, max, &n) == -1)
			goto out;
		if (n > 0) {
			workpool_run(c->workers, next, n, sizeof(*next),
			    phase_build, &p);
			log_progress_tick(&sprog.lp, sprog.done);
			if (write_ahead(st, ca, next, n, &progress) == -1)
				goto out;
		}
		if (cur != NULL) {
			signing_wait(&sg);
			crash_point("after_sign");
			log_progress_tick(&sprog.lp, sprog.done);
		}
		if (n > 0 && progress)
			signing_start(&sg, next, n);
		if (cur != NULL) {
			if (store_chunk(st, cur, ncur) == -1)
				goto out;
			mailing_start(st, c, ca, &ml, cur, ncur);
			for (i = 0; i < ncur; i++)
				job_clear(&cur[i]);
			sprog.done += ncur;
			log_progress_tick(&sprog.lp, sprog.done);
			cur = NULL;
		}
		if (n == 0 || !progress)
			break;	/* none left, or only transient failures */
		cur = next;
		ncur = n;
		k ^= 1;
	}
	rc = 0;
	/* Cut with nothing left: the signing is over all the same. */
	if (cut && approved_any(st, &left) == 0 && left == 0)
		cut = 0;
	if (cut)
		sl->cut = 1;
	else {
		log_progress_end(&sprog.lp, sprog.done, 0);
		sprog.active = 0;
	}
out:
	if (rc == -1)
		sprog.active = 0;
	signing_wait(&sg);
	mailing_finish(st, &ml);
	for (i = 0; i < max; i++) {
		job_clear(&buf[0][i]);
		job_clear(&buf[1][i]);
	}
	free(buf[0]);
	free(buf[1]);
	return rc;
}

int
signer_recover(struct store *st, const struct conf *c, const struct ca *ca)
{
	struct signing_row	 w;
	int			 rc = 0, got;

	(void)c;
	for (;;) {
		unsigned char	*der = NULL;
		size_t		 derlen;

		if ((got = cert_signing_first(st, &w)) <= 0)
			return got == -1 ? -1 : rc;
		log_ctx_set(w.account, w.batch, w.order, w.email);

		if (store_begin(st) == -1)
			rc = -1;
		else if (w.keygen != NULL) {
			/* The key lived only in memory: void this serial. */
			if (cert_void_lost_key(st, w.cid, w.rid, w.oid, w.bid,
			    w.serial) == -1)
				rc = -1;
			log_warn("serial %s voided after a crash: its server "
			    "key was never stored; a new key will be made",
			    w.serial);
		} else if (ca_sign_tbs(ca, w.tbs, w.tbslen, &der, &derlen) ==
		    -1) {
			rc = -1;
		} else {
			if (store_issued(st, w.cid, w.rid, w.oid, w.bid, der,
			    derlen, NULL, 0, NULL, w.serial) == -1)
				rc = -1;
			else
				log_info("serial %s: signed again from its "
				    "write-ahead record", w.serial);
		}
		if (rc == 0 && store_commit(st) == -1)
			rc = -1;
		crash_point("after_recover_commit");
		if (rc == -1)
			store_rollback(st);
		free(der);
		signing_row_free(&w);
		log_ctx_clear();
		if (rc == -1)
			return -1;
	}
}
