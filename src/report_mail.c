/*
 * report_mail.c: the per-recipient messages of the issued certificates
 * (SPEC section 4): a "client certificate issued" message with cert.pem
 * and cert.p7b attached, and the PKCS#12 password in a message of its
 * own, rendered by mail.c and published as one mail batch (one syncfs,
 * mailspool.c) before the certificates are marked mailed and their
 * passwords erased.  report.c calls it for each pass, signer.c ahead of
 * the pass (report_mail_load/write/finish).
 * Failure policy: one recipient's message that cannot be rendered or
 * published never holds the others back: it is recorded against that
 * recipient (certificate.stuck, an event publish_failed, <stuck> in the
 * result, certspool status) and tried again in every later pass; once
 * published, an event publish_recovered and its batch gets a new
 * result.  A group that fails as a whole (sync, a full disk, the
 * database) marks nothing: the same messages are written again, under
 * the same names, next time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "report.h"

/* A display name fit for a header: one line of text, else none. */
static const char *
header_name(const char *name)
{
	const unsigned char	*p;

	if (name == NULL)
		return NULL;
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	return name;
}

/* The "client certificate issued" message, and the PKCS#12 password in
 * a message of its own to the recipient alone, into the batch mb; what
 * becomes of each goes to r->st_cert and r->st_p12 (mail_batch_add). */
static int
write_mails(struct mail_batch *mb, const struct conf *c,
    const struct chain *ch, struct cert_row *r)
{
	struct mail_msg		 m;
	struct mail_attach	 att[2];
	char			*pem = NULL, name[96], subject[256], seed[128];
	struct buf		 body = { 0 };
	unsigned char		*p7 = NULL;
	size_t			 pemlen = 0, p7len = 0;
	char			 na[32];
	int			 rc = 0;

	pem = pem_of_der(r->der, r->derlen, &pemlen);
	p7 = p7b_of_der(r->der, r->derlen, ch, &p7len);
	time_fmt(r->not_after, na, sizeof(na));
	buf_addf(&body, "A client certificate was %s for %s.\n\n"
	    "Order:         %s\nSerial number: %s\nValid until:   %s\n",
	    r->kind == 1 ? "reissued" : r->kind == 2 ? "renewed" : "issued",
	    r->email, r->order_ext, r->serial, na);
	if (r->cov_end != 0) {
		char	 ce[32];

		time_fmt(r->cov_end, ce, sizeof(ce));
		buf_addf(&body, "Coverage until: %s%s\n", ce, r->kind == 1 ?
		    " (reissued within the paid coverage, no charge)" : "");
	}
	buf_addf(&body, "\nThe certificate is attached (cert.pem, and "
	    "cert.p7b with its chain).\n");
	if (r->p12 != NULL)
		buf_addf(&body, "Your private key was generated for you and "
		    "is in bundle.p12 in the\ncertificate archive; its "
		    "password comes in a separate message.\n");
	snprintf(subject, sizeof(subject), "Client certificate %s for %s",
	    r->kind == 1 ? "reissued" : r->kind == 2 ? "renewed" : "issued",
	    r->email);
	snprintf(seed, sizeof(seed), "cert-%s", r->serial);
	att[0].filename = "cert.pem";
	att[0].content_type = "application/x-pem-file";
	att[0].data = pem;
	att[0].len = pemlen;
	att[1].filename = "cert.p7b";
	att[1].content_type = "application/pkcs7-mime; smime-type=certs-only";
	att[1].data = p7;
	att[1].len = p7len;
	memset(&m, 0, sizeof(m));
	m.from = c->mail_from;
	m.to = r->email;
	m.to_name = header_name(r->name);
	m.cc = r->add_emails;
	m.subject = subject;
	m.body = (const char *)body.p;
	m.att = att;
	m.natt = 2;
	m.message_id_seed = seed;
	snprintf(name, sizeof(name), "cert-%s", r->serial);
	r->st_p12 = 0;
	if (mail_batch_add(mb, name, &m, &r->st_cert) == -1)
		rc = -1;
	if (r->password != NULL) {
		buf_free(&body);
		buf_addf(&body, "The password of bundle.p12 for %s (serial %s) "
		    "is:\n\n    %s\n\nKeep it apart from the file; it is not "
		    "stored by the CA.\n", r->email, r->serial, r->password);
		snprintf(subject, sizeof(subject), "Password for your "
		    "certificate bundle");
		snprintf(seed, sizeof(seed), "p12-%s", r->serial);
		memset(&m, 0, sizeof(m));
		m.from = c->mail_from;
		m.to = r->email;
		m.subject = subject;
		m.body = (const char *)body.p;
		m.message_id_seed = seed;
		snprintf(name, sizeof(name), "p12pass-%s", r->serial);
		if (mail_batch_add(mb, name, &m, &r->st_p12) == -1)
			rc = -1;
	}
	if (body.p != NULL)
		OPENSSL_cleanse(body.p, body.len);
	buf_free(&body);
	free(pem);
	free(p7);
	return rc;
}

/*
 * Messages go out in pieces of at most MAIL_PIECE certificates: the rows
 * are read from the database (mail_load, this thread), the messages are
 * written and published as one batch (mail_write: no database, so any
 * thread), and then the certificates are marked mailed and their
 * passwords erased (mail_finish, this thread).  A crash before that
 * leaves dot-temporaries and mailed = 0: the next attempt writes the
 * same messages again under the same names.
 */
#define MAIL_PIECE	256

struct mail_work {
	const struct conf	*conf;
	struct chain		 ch;
	struct cert_row		*rows;
	size_t			 n;
	int			 written;
};

static void
mail_work_free(struct mail_work *w)
{
	size_t	 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++)
		cert_row_free(&w->rows[i]);
	free(w->rows);
	chain_free(&w->ch);
	free(w);
}

/* The unmailed issued certificates selected by cond (SQL over c with
 * nparam (0..2) integer parameters a, b) after id `after`; NULL if none. */
static struct mail_work *
mail_load(struct store *st, const struct conf *c, const struct ca *ca,
    const char *cond, int nparam, long long a, long long b, long long after)
{
	struct mail_work	*w;
	sqlite3_stmt		*q;
	char			 sql[1536];
	int			 got;

	snprintf(sql, sizeof(sql), "%s WHERE %s AND c.id > ? AND c.state IN"
	    " ('issued', 'superseded') AND c.mailed = 0 ORDER BY c.id"
	    " LIMIT %d", cert_cols, cond, MAIL_PIECE);
	q = nparam == 0 ? store_prep(st, sql, "i", after) : nparam == 1 ?
	    store_prep(st, sql, "ii", a, after) :
	    store_prep(st, sql, "iii", a, b, after);
	if (q == NULL)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->conf = c;
	w->rows = xcalloc(MAIL_PIECE, sizeof(*w->rows));
	while (w->n < MAIL_PIECE &&
	    (got = cert_row_next(q, &w->rows[w->n])) == 1)
		w->n++;
	store_release(q);
	if (w->n == 0 || chain_load(ca, &w->ch) == -1) {
		mail_work_free(w);
		return NULL;
	}
	return w;
}

/* Every message of the piece, one group commit.  A message that cannot
 * be rendered or published does not keep the others back (its row's
 * st_* says why); -1 if the group itself failed (nothing published
 * through no fault of the messages: sync, a full disk). */
static int
mail_write(struct mail_work *w)
{
	struct mail_batch	*mb;
	size_t			 i;
	int			 rc = 0;

	if ((mb = mail_batch_begin(w->conf)) == NULL)
		return -1;
	for (i = 0; i < w->n; i++) {
		log_ctx_put(LOGK_ORDER, w->rows[i].order_ext);
		log_ctx_put(LOGK_RECIPIENT, w->rows[i].email);
		(void)write_mails(mb, w->conf, &w->ch, &w->rows[i]);
		crash_point("after_mail");
	}
	log_ctx_put(LOGK_ORDER, NULL);
	log_ctx_put(LOGK_RECIPIENT, NULL);
	crash_point("before_mail_commit");
	(void)mail_batch_commit(mb);
	crash_point("after_mail_commit");
	w->written = 1;
	for (i = 0; i < w->n; i++)
		if (w->rows[i].st_cert == -1 || w->rows[i].st_p12 == -1)
			rc = -1;
	return rc;
}

/* Why a row's messages were not published: a reason code (README,
 * reason codes) and what failed; NULL if they were (or will be retried
 * for a reason of the environment, not of the message). */
static const char *
row_failure(const struct cert_row *r, char *detail, size_t len)
{
	int	 e = r->st_cert > 0 ? r->st_cert : r->st_p12;
	int	 p12 = r->st_cert <= 0;

	if (r->st_cert <= 0 && r->st_p12 <= 0)
		return NULL;
	snprintf(detail, len, "%s-%s.eml: %s", p12 ? "p12pass" : "cert",
	    r->serial, e == EINVAL ? "refused by mail_render (see the log)" :
	    strerror(e));
	return e == EINVAL ? "mail_refused" : "mail_not_published";
}

/*
 * Record what became of each row: published rows are marked mailed and
 * their passwords erased (a row that was stuck is cleared, and its batch
 * gets a new result to show it); a row whose own message failed is
 * recorded against its recipient (certificate.stuck, an event when the
 * reason is new) and retried in later passes.  *nstuck counts those.
 */
static int
mail_finish_rows(struct store *st, struct mail_work *w, int *nstuck)
{
	const struct cert_row	*r;
	const char		*why;
	char			 detail[256];
	size_t			 i;

	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < w->n; i++) {
		r = &w->rows[i];
		why = row_failure(r, detail, sizeof(detail));
		if (why != NULL) {
			(*nstuck)++;
			log_warn("batch %s order %s recipient %s: message not "
			    "published (%s: %s); the result goes out without "
			    "it, retried in the next pass", r->batch_ext ?
			    r->batch_ext : "?", r->order_ext, r->email, why,
			    detail);
			if (r->stuck != NULL && strcmp(r->stuck, why) == 0 &&
			    r->stuck_detail != NULL &&
			    strcmp(r->stuck_detail, detail) == 0)
				continue;
			if (store_done(st, store_prep(st, "UPDATE certificate"
			    " SET stuck = ?, stuck_detail = ?, stuck_since ="
			    " COALESCE(stuck_since, ?) WHERE id = ?", "ttii",
			    why, detail, (long long)clock_now(), r->cid)) ==
			    -1 || store_event(st, "publish_failed", r->bid,
			    r->oid, r->rid, NULL, NULL, why, detail) == -1)
				goto bad;
			continue;
		}
		if (r->st_cert != 0 || r->st_p12 != 0)
			continue;	/* the group failed: next time */
		if (store_done(st, store_prep(st, "UPDATE certificate SET"
		    " mailed = 1, p12_password = NULL, stuck = NULL,"
		    " stuck_detail = NULL, stuck_since = NULL WHERE id = ?",
		    "i", r->cid)) == -1)
			goto bad;
		if (r->stuck != NULL && (store_event(st, "publish_recovered",
		    r->bid, r->oid, r->rid, NULL, NULL, r->stuck, NULL) == -1 ||
		    store_done(st, store_prep(st, "UPDATE batch SET dirty = 1"
		    " WHERE id = ?", "i", r->bid)) == -1))
			goto bad;
		if (r->stuck != NULL)
			log_info("batch %s order %s recipient %s: message "
			    "published after %s", r->batch_ext ? r->batch_ext :
			    "?", r->order_ext, r->email, r->stuck);
	}
	return store_commit(st);
bad:
	store_rollback(st);
	return -1;
}

/* The passwords leave the database once their messages are. */
static int
mail_finish(struct store *st, struct mail_work *w, int *nstuck)
{
	int	 rc = -1;

	if (w->written && mail_finish_rows(st, w, nstuck) == 0)
		rc = 0;
	mail_work_free(w);
	return rc;
}

int
report_mail_certs(struct store *st, const struct conf *c, const struct ca *ca,
    const char *cond, int nparam, long long a, long long b, int *nstuck)
{
	struct mail_work	*w;
	long long		 after = 0;
	int			 rc = 0;

	while ((w = mail_load(st, c, ca, cond, nparam, a, b, after)) != NULL) {
		after = w->rows[w->n - 1].cid;
		if (mail_write(w) == -1)
			rc = -1;
		if (mail_finish(st, w, nstuck) == -1)
			return -1;
	}
	return rc;
}

struct mail_work *
report_mail_load(struct store *st, const struct conf *c, const struct ca *ca,
    long long lo, long long hi)
{
	return mail_load(st, c, ca, "c.id >= ? AND c.id <= ?", 2, lo, hi,
	    lo - 1);
}

int
report_mail_write(struct mail_work *w)
{
	return mail_write(w);
}

int
report_mail_finish(struct store *st, struct mail_work *w)
{
	int	 nstuck = 0;

	return mail_finish(st, w, &nstuck);
}
