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
 *
 * Portal links: each message carries a "cert" link (copies later,
 * until notAfter) and, for a server-generated key, a "pickup" link (the
 * PKCS#12, once, until p12_retention_days after issuance).  A message
 * re-written after a crash must be the message written before (it may
 * have been handed over; mailspool.c's .sent markers take an identical
 * message as delivered), and must not carry a link whose row was never
 * committed.  So a link's token is not drawn at random but derived:
 * HMAC-SHA256(link key, kind, serial), the link key being 32 random
 * bytes in LINK_KEY_FILE beside the database (made on first use, mode
 * 0600; never in the database, so a copy of the database still gives no
 * working link).  The rows are inserted (idempotently) and committed in
 * mail_load, before the worker writes the messages: one token per kind
 * and certificate, however often its message is written.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "report.h"
#include "ca.h"
#include "dcv.h"
#include "portal.h"

#define LINK_KEY_FILE	"portal-link.key"
#define LINK_KEY_LEN	32
#define LINK_URL_MAX	1024

/* The portal links of one certificate's message ("" if none). */
struct links {
	char		 cert[LINK_URL_MAX];
	char		 pickup[LINK_URL_MAX];
	long long	 pickup_expires;
};

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
    const struct chain *ch, struct cert_row *r, const struct links *lk)
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
	if (r->p12 != NULL && lk->pickup[0] != '\0') {
		char	 pe[32];

		time_fmt((time_t)lk->pickup_expires, pe, sizeof(pe));
		buf_addf(&body, "\nYour private key was generated for you.  "
		    "Pick up bundle.p12 (once) at\n\n    %s\n\nand confirm "
		    "there that you imported it: the CA then erases its copy.\n"
		    "The link works until %s.  The password of bundle.p12\n"
		    "comes in a separate message.\n%s", lk->pickup, pe,
		    c->p12_in_archive ? "bundle.p12 is also in the "
		    "certificate archive of this request.\n" : "");
	}
	if (lk->cert[0] != '\0')
		buf_addf(&body, "\nCopies of your certificate later (cert.pem, "
		    "its chain, cert.p7b):\n\n    %s\n", lk->cert);
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
 * The link key (LINK_KEY_FILE in the database's directory; with a
 * PostgreSQL database, which has no directory, in the one holding
 * ca_dir, where init puts the database file) into key; made from
 * rnd_bytes on first use.  -1 if it cannot be read or made.
 */
static int
link_key(const struct conf *c, unsigned char key[LINK_KEY_LEN])
{
	unsigned char	*p = NULL, fresh[LINK_KEY_LEN];
	char		 dir[PATH_MAX], path[PATH_MAX + sizeof(LINK_KEY_FILE)];
	const char	*slash, *base;
	size_t		 len = 0;
	int		 rc = -1;

	/* On PostgreSQL (a URI, several daemons): beside the config, which
	 * every node has a copy of. */
	base = store_is_uri(c->database) ? c->path : c->database;
	if ((slash = strrchr(base, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - base) >= sizeof(dir))
		return -1;
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == base ? 1 :
		    (int)(slash - base), base);
	snprintf(path, sizeof(path), "%s/%s", dir, LINK_KEY_FILE);
	if (fs_read_file(path, 4 * LINK_KEY_LEN, &p, &len) == -1) {
		if (errno != ENOENT) {
			log_err("%s: cannot read: %s", path, strerror(errno));
			return -1;
		}
		rnd_bytes(fresh, sizeof(fresh));
		if (fs_write_atomic_path(dir, LINK_KEY_FILE, fresh,
		    sizeof(fresh), 0600) == -1) {
			log_err("%s: cannot write: %s", path, strerror(errno));
			OPENSSL_cleanse(fresh, sizeof(fresh));
			return -1;
		}
		log_info("%s: portal link key made", path);
		OPENSSL_cleanse(fresh, sizeof(fresh));
		/* read back: what is on disk is what later passes use */
		if (fs_read_file(path, 4 * LINK_KEY_LEN, &p, &len) == -1) {
			log_err("%s: cannot read: %s", path, strerror(errno));
			return -1;
		}
	}
	if (len != LINK_KEY_LEN)
		log_err("%s: %zu bytes, not %d", path, len, LINK_KEY_LEN);
	else {
		memcpy(key, p, LINK_KEY_LEN);
		rc = 0;
	}
	if (p != NULL)
		OPENSSL_cleanse(p, len);
	free(p);
	return rc;
}

/* The token of kind for the certificate serial: PORTAL_TOKEN_CHARS
 * Crockford base-32 characters of HMAC-SHA256(key, kind NUL serial). */
static void
link_token(const unsigned char key[LINK_KEY_LEN], const char *kind,
    const char *serial, char tok[PORTAL_TOKEN_CHARS + 1])
{
	static const char	 b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char		 mac[EVP_MAX_MD_SIZE];
	struct buf		 msg = { 0 };
	unsigned int		 maclen = 0;
	size_t			 i;

	buf_add(&msg, kind, strlen(kind) + 1);
	buf_add(&msg, serial, strlen(serial));
	if (HMAC(EVP_sha256(), key, LINK_KEY_LEN, msg.p, msg.len, mac,
	    &maclen) == NULL || maclen < PORTAL_TOKEN_CHARS) {
		log_ssl(LOGL_ERR, "portal link: HMAC-SHA256");
		abort();	/* SHA-256 is always there: a bug */
	}
	/* 256 is a multiple of 32: the low five bits are uniform. */
	for (i = 0; i < PORTAL_TOKEN_CHARS; i++)
		tok[i] = b32[mac[i] & 31];
	tok[PORTAL_TOKEN_CHARS] = '\0';
	buf_free(&msg);
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* The row of a derived token; nothing if it is there already. */
static int
link_row(struct store *st, const char *kind, const char *tok,
    const struct cert_row *r, long long created, long long expires)
{
	char	 hash[65];

	token_hash(tok, hash);
	return mail_link_add(st, kind, hash, r, created, expires);
}

/*
 * The links of the messages of rows into lk, their token rows committed
 * in one transaction before any message is written (file header).  A
 * "cert" link for every certificate (until its notAfter); a "pickup"
 * link for a stored PKCS#12 (until p12_retention_days after the
 * certificate was made, when p12keep.c purges it).
 */
static int
links_make(struct store *st, const struct conf *c, const struct cert_row *rows,
    struct links *lk, size_t n)
{
	unsigned char	 key[LINK_KEY_LEN];
	char		 tok[PORTAL_TOKEN_CHARS + 1];
	long long	 now = clock_now(), created;
	size_t		 i;

	if (link_key(c, key) == -1)
		return -1;
	if (store_begin(st) == -1)
		goto bad;
	for (i = 0; i < n; i++) {
		const struct cert_row *r = &rows[i];

		if (cert_created(st, r->cid, now, &created) == -1)
			goto bad;
		link_token(key, "cert", r->serial, tok);
		if (link_row(st, "cert", tok, r, now,
		    (long long)r->not_after) == -1)
			goto bad;
		portal_link(c, "cert", tok, lk[i].cert, sizeof(lk[i].cert));
		if (r->p12 == NULL)
			continue;
		lk[i].pickup_expires = created +
		    (long long)c->p12_retention_days * 86400;
		link_token(key, "pickup", r->serial, tok);
		if (link_row(st, "pickup", tok, r, now,
		    lk[i].pickup_expires) == -1)
			goto bad;
		portal_link(c, "pickup", tok, lk[i].pickup,
		    sizeof(lk[i].pickup));
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(tok, sizeof(tok));
	return store_commit(st);
bad:
	store_rollback(st);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(tok, sizeof(tok));
	return -1;
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
	struct chains		 cs;	/* each issuer's chain */
	struct cert_row		*rows;
	struct links		*links;	/* one per row */
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
	free(w->links);
	chains_free(&w->cs);
	free(w);
}

/* The unmailed issued certificates selected by sel (with a, b) after
 * id `after`; NULL if none.  A database error or a certificate without
 * DER ends the piece before it. */
static struct mail_work *
mail_load(struct store *st, const struct conf *c, const struct ca *ca,
    enum mail_sel sel, long long a, long long b, long long after)
{
	struct mail_work	*w;

	w = xcalloc(1, sizeof(*w));
	w->conf = c;
	w->rows = xcalloc(MAIL_PIECE, sizeof(*w->rows));
	(void)mail_certs_load(st, sel, a, b, after, w->rows, MAIL_PIECE,
	    &w->n);
	if (w->n == 0 || chains_load(ca, &w->cs) == -1) {
		mail_work_free(w);
		return NULL;
	}
	w->links = xcalloc(w->n, sizeof(*w->links));
	if (links_make(st, c, w->rows, w->links, w->n) == -1) {
		log_warn("portal links of the certificate messages not made; "
		    "the messages are written in a later pass");
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
		(void)write_mails(mb, w->conf, chains_get(&w->cs,
		    w->rows[i].issuer_id), &w->rows[i], &w->links[i]);
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
			if (cert_mark_stuck(st, r, why, detail) == -1)
				goto bad;
			continue;
		}
		if (r->st_cert != 0 || r->st_p12 != 0)
			continue;	/* the group failed: next time */
		if (cert_mark_mailed(st, r) == -1)
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
    enum mail_sel sel, long long a, long long b, int *nstuck)
{
	struct mail_work	*w;
	long long		 after = 0;
	int			 rc = 0;

	while ((w = mail_load(st, c, ca, sel, a, b, after)) != NULL) {
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
	return mail_load(st, c, ca, MAIL_ID_RANGE, lo, hi, lo - 1);
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
