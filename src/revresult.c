/*
 * revresult.c: what a revocation produces outside the database, written
 * from it after the commit: one "certificate revoked" message per
 * revoked certificate (to the recipient, the order's additional emails
 * in Cc), then the document's answer
 * outbound/<account>/<revocation-id>.<seq>.result.xml (SPEC 7.1), last.
 * Result <seq> reports the requests resolved in that seq and lists those
 * still pending then; it is derived from stored state alone, so writing
 * it again after a crash gives the same file under the same name.
 * Failure policy: a message or result that cannot be written stays owed
 * (revoke_hit.mailed = 0, revocation_doc.written < seq) and is written
 * in the next pass; -1 is returned so that daemon --once says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include "extern.h"
#include "batch.h"
#include "revoke.h"
#include "pipeline.h"
#include "store_revoke.h"

#define NS_RESULT	"urn:certspool:result:1"

/* ---- messages ---- */

struct hitrow {
	long long	 req, cid;
	char		*serial, *email, *add, *order, *batch, *account;
	char		*reason;
	time_t		 at;
};

static void
hitrow_free(struct hitrow *h)
{
	free(h->serial);
	free(h->email);
	free(h->add);
	free(h->order);
	free(h->batch);
	free(h->account);
	free(h->reason);
	memset(h, 0, sizeof(*h));
}

#define MAIL_PIECE	256	/* messages read, written and marked at once */

/* Add the "certificate revoked" message of h to batch mb; *state as
 * mail_batch_add() sets it. */
static int
add_revoked(struct mail_batch *mb, const struct conf *c,
    const struct hitrow *h, int *state)
{
	struct mail_msg	 m;
	struct buf	 body = { 0 };
	char		 subject[320], name[96], when[32];
	int		 rc;

	time_fmt(h->at, when, sizeof(when));
	buf_addf(&body, "The client certificate for %s\nwith serial number "
	    "%s\n(order %s of batch %s, account %s)\nwas revoked on %s.\n"
	    "Reason: %s.\n\n", h->email, h->serial, h->order, h->batch,
	    h->account, when, h->reason);
	buf_addf(&body, "Relying parties see it in the CA's certificate "
	    "revocation list from now\non; signatures made with it after "
	    "this time are not valid.\n");
	if (strcmp(h->reason, "superseded") != 0)
		buf_addf(&body, "It will not be reissued or renewed.\n");
	if (strcmp(h->reason, "keyCompromise") == 0)
		buf_addf(&body, "Its key is blocked: no certificate is issued "
		    "for that key again.\n");
	snprintf(subject, sizeof(subject), "Certificate revoked for %s",
	    h->email);
	snprintf(name, sizeof(name), "revoked-%lld-%lld", h->cid, h->req);
	memset(&m, 0, sizeof(m));
	m.from = c->mail_from;
	m.to = h->email;
	m.cc = h->add != NULL && h->add[0] != '\0' ? h->add : NULL;
	m.subject = subject;
	m.body = (const char *)body.p;
	m.message_id_seed = name;
	rc = mail_batch_add(mb, name, &m, state);
	buf_free(&body);
	return rc;
}

/* Where load_piece() puts its rows. */
struct piece {
	struct hitrow	*h;
	int		 n;
};

static int
piece_add(void *arg, const struct revoke_hit_row *row)
{
	struct piece	*p = arg;
	struct hitrow	*r;

	if (p->n >= MAIL_PIECE)
		return 1;
	r = &p->h[p->n++];
	r->req = row->req;
	r->cid = row->cert;
	r->serial = row->serial ? xstrdup(row->serial) : NULL;
	r->email = row->email ? xstrdup(row->email) : NULL;
	r->add = row->add_emails ? xstrdup(row->add_emails) : NULL;
	r->order = row->order ? xstrdup(row->order) : NULL;
	r->batch = row->batch ? xstrdup(row->batch) : NULL;
	r->account = row->account ? xstrdup(row->account) : NULL;
	r->reason = xstrdup(row->reason ? row->reason : "unspecified");
	r->at = row->at;
	return 0;
}

/* Up to MAIL_PIECE unsent messages after (req, cid), into h[]; how many,
 * or -1. */
static int
load_piece(struct store *st, long long req, long long cid,
    struct hitrow *h)
{
	struct piece	 p = { h, 0 };

	if (revoke_hits_unmailed(st, req, cid, MAIL_PIECE, piece_add,
	    &p) == -1) {
		while (p.n > 0)
			hitrow_free(&h[--p.n]);
		return -1;
	}
	return p.n;
}

/* Mark the published messages of h[0..n) sent, in one transaction. */
static int
mark_piece(struct store *st, const struct hitrow *h, const int *state,
    int n)
{
	int	 i;

	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (state[i] != 0)
			continue;
		if (revoke_hit_mailed(st, h[i].req, h[i].cid) == -1) {
			store_rollback(st);
			return -1;
		}
	}
	return store_commit(st);
}

/*
 * Every "certificate revoked" message not yet sent, MAIL_PIECE at a time:
 * written as one mail batch (one syncfs), then marked sent in one
 * transaction.  A message that could not be published stays owed.
 */
static int
flush_mails(struct store *st, const struct conf *c)
{
	struct hitrow		*h;
	struct mail_batch	*mb;
	int			 state[MAIL_PIECE];
	long long		 req = 0, cid = 0;
	int			 i, n, rc = 0;

	h = xcalloc(MAIL_PIECE, sizeof(*h));
	for (;;) {
		if ((n = load_piece(st, req, cid, h)) <= 0) {
			if (n == -1)
				rc = -1;
			break;
		}
		req = h[n - 1].req;
		cid = h[n - 1].cid;
		if ((mb = mail_batch_begin(c)) == NULL) {
			rc = -1;
			for (i = 0; i < n; i++)
				hitrow_free(&h[i]);
			break;
		}
		for (i = 0; i < n; i++) {
			state[i] = -1;
			(void)add_revoked(mb, c, &h[i], &state[i]);
		}
		(void)mail_batch_commit(mb);
		if (mark_piece(st, h, state, n) == -1)
			rc = -1;
		for (i = 0; i < n; i++) {
			if (state[i] != 0) {
				log_warn("%s: the \"certificate revoked\" message "
				    "is not sent yet; retried in the next pass",
				    h[i].email);
				rc = -1;
			}
			hitrow_free(&h[i]);
		}
	}
	free(h);
	return rc;
}

/* ---- the result document ---- */

static int
xattr(xmlTextWriterPtr w, const char *name, const char *value)
{
	if (value == NULL)
		return 0;
	return xmlTextWriterWriteAttribute(w, BAD_CAST name,
	    BAD_CAST value) < 0 ? -1 : 0;
}

static int
xattr_i(xmlTextWriterPtr w, const char *name, long long v)
{
	char	 s[32];

	snprintf(s, sizeof(s), "%lld", v);
	return xattr(w, name, s);
}

static int
xattr_t(xmlTextWriterPtr w, const char *name, long long t)
{
	char	 s[32];

	if (t <= 0)
		return 0;
	time_fmt((time_t)t, s, sizeof(s));
	return xattr(w, name, s);
}

/* The request's selector, as its <revoke> had it. */
static int
selector(xmlTextWriterPtr w, const struct revoke_request_row *q)
{
	if (strcmp(q->kind, "order") == 0)
		return xattr(w, "order", q->value) | xattr(w, "batch",
		    q->batch);
	return xattr(w, q->kind, q->value);
}

/* Where the rows of a result go. */
struct items {
	xmlTextWriterPtr	 w;
	struct store		*st;
	long long		 req, seq;
};

/* A certificate a request revoked, for the requester's account. */
static int
write_revoked(void *arg, const struct revoke_hit_row *h)
{
	struct items		*it = arg;
	xmlTextWriterPtr	 w = it->w;

	if (xmlTextWriterStartElement(w, BAD_CAST "revoked") < 0 ||
	    xattr_i(w, "request", it->req) == -1 ||
	    xattr(w, "serial", h->serial) == -1 ||
	    xattr(w, "email", h->email) == -1 ||
	    xattr(w, "reason", h->reason) == -1 ||
	    xattr_t(w, "at", h->at) == -1 ||
	    xattr_t(w, "invalidityDate", h->invalidity) == -1 ||
	    xmlTextWriterEndElement(w) < 0)
		return -1;
	return 0;
}

/* One request of the result: resolved in this seq, or still pending. */
static int
write_item(void *arg, const struct revoke_request_row *q)
{
	struct items		*it = arg;
	xmlTextWriterPtr	 w = it->w;
	int			 pending = strcmp(q->state, "pending") == 0 ||
	    q->seq > it->seq;

	if (!pending && strcmp(q->state, "done") == 0) {
		it->req = q->id;
		return revoke_hits_listed(it->st, q->id, write_revoked, it);
	}
	if (xmlTextWriterStartElement(w, BAD_CAST (pending ? "pending" :
	    "notRevoked")) < 0 ||
	    xattr_i(w, "id", q->id) == -1 ||
	    (q->line > 0 && xattr_i(w, "line", q->line) == -1) ||
	    selector(w, q) == -1 ||
	    xattr(w, "reason", q->reason) == -1 ||
	    xattr_t(w, "at", q->at) == -1 ||
	    (!pending && xattr(w, "problem", q->state) == -1) ||
	    xmlTextWriterEndElement(w) < 0)
		return -1;
	return 0;
}

/* The body of result seq of document doc, in the document's order. */
static int
write_items(struct store *st, xmlTextWriterPtr w, long long doc,
    long long seq)
{
	struct items	 it = { w, st, 0, seq };

	return revdoc_items(st, doc, seq, write_item, &it);
}

static int
write_result(struct store *st, const struct conf *c, long long doc,
    const char *ext, const char *account, long long seq)
{
	struct fs_tmp		 t;
	xmlOutputBufferPtr	 ob;
	xmlTextWriterPtr	 w = NULL;
	char			 path[4096], name[160];
	int			 dfd, ok = 0, rc = -1;

	snprintf(path, sizeof(path), "%s/outbound/%s", c->spool_dir, account);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(name, sizeof(name), "%s.%lld.result.xml", ext, seq);
	memset(&t, 0, sizeof(t));
	if (fs_tmp_open(&t, dfd, name, 0644) == -1)
		goto out;
	if ((ob = xmlOutputBufferCreateFd(t.fd, NULL)) == NULL) {
		fs_tmp_abort(&t);
		goto out;
	}
	if ((w = xmlNewTextWriter(ob)) == NULL) {
		xmlOutputBufferClose(ob);
		fs_tmp_abort(&t);
		goto out;
	}
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterSetIndentString(w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) >= 0 &&
	    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "revocationResult",
	    BAD_CAST NS_RESULT) >= 0 &&
	    xattr(w, "revocation", ext) == 0 &&
	    xattr(w, "account", account) == 0 &&
	    xattr_i(w, "seq", seq) == 0 &&
	    write_items(st, w, doc, seq) == 0 &&
	    xmlTextWriterEndElement(w) >= 0 &&
	    xmlTextWriterEndDocument(w) >= 0 && xmlTextWriterFlush(w) >= 0)
		ok = 1;
	xmlFreeTextWriter(w);	/* closes the output buffer, not the fd */
	if (!ok) {
		log_err("%s/%s: cannot write: %s", account, name,
		    strerror(errno));
		fs_tmp_abort(&t);
		goto out;
	}
	if (fs_tmp_commit(&t) == -1)
		goto out;
	log_info("%s/%s: revocation result written", account, name);
	rc = 0;
out:
	close(dfd);
	return rc;
}

int
revresult_flush(struct store *st, const struct conf *c)
{
	struct revdoc_owed	 d;
	long long		 after = 0;
	int			 rc = 0, got;

	/* Messages first: the result is the last thing a client sees. */
	if (flush_mails(st, c) == -1)
		rc = -1;
	for (;;) {
		if ((got = revdoc_owed_next(st, after, &d)) == -1)
			return -1;
		if (!got)
			return rc;
		after = d.doc;
		crash_point("before_revocation_result");
		if (write_result(st, c, d.doc, d.ext, d.account, d.seq) == -1 ||
		    revdoc_result_written(st, d.doc, d.seq) == -1)
			rc = -1;
		revdoc_owed_free(&d);
	}
}
