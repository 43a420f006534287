/*
 * report.c: what clients read back.  For each batch whose orders moved,
 * a pass is recorded (seq counts from 1), then its outputs are written
 * from the database alone: the certificate archive (if the pass issued
 * anything), one message per new certificate (report_mail.c), and the
 * result.xml last (SPEC section 4).  Outputs are derived from stored
 * state and written atomically under fixed names, so re-writing a pass
 * after a crash yields the same files, never a second copy.  Refused inputs get an
 * <error> report beside them.  The certificate files are made from the
 * stored DER bytes (PEM and the certs-only PKCS#7 by hand, the chain
 * once per pass) here, for the archive, the result and the messages.
 * Failure policy: a failed write of the archive or result.xml (the
 * environment: a full disk, the database) leaves the pass open; it is
 * written again in the next pass of the daemon.  One recipient's message
 * that cannot be rendered or published never holds the pass back: it is
 * recorded against that recipient (certificate.stuck, an event, <stuck>
 * in the result, certspool status), tried again in every later pass,
 * and once published its batch gets a new result.  report_publish()
 * returns -1 while such an item is left, so daemon --once exits 75.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "report.h"
#include "batch.h"
#include "ca.h"
#include "store_state.h"

#define NS_RESULT	"urn:certspool:result:1"

/* Copy s into out, replacing invalid UTF-8 and control bytes by '?'. */
static void
clean_text(const char *s, char *out, size_t outlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0;

	while (*p != '\0' && o + 5 < outlen) {
		int	 n = 0, i;

		if (*p < 0x80)
			n = 1;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 2;
		else if ((*p & 0xf0) == 0xe0)
			n = 3;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 4;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || (n == 1 && *p < 0x20 && *p != '\t' &&
		    *p != '\n')) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, (size_t)n);
		o += (size_t)n;
		p += n;
	}
	out[o] = '\0';
}

static xmlTextWriterPtr
writer_open(struct fs_tmp *t, int dirfd, const char *name)
{
	xmlOutputBufferPtr	 ob;
	xmlTextWriterPtr	 w;

	if (fs_tmp_open(t, dirfd, name, 0644) == -1)
		return NULL;
	if ((ob = xmlOutputBufferCreateFd(t->fd, NULL)) == NULL) {
		fs_tmp_abort(t);
		return NULL;
	}
	if ((w = xmlNewTextWriter(ob)) == NULL) {
		xmlOutputBufferClose(ob);
		fs_tmp_abort(t);
		return NULL;
	}
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterSetIndentString(w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0) {
		xmlFreeTextWriter(w);
		fs_tmp_abort(t);
		return NULL;
	}
	return w;
}

static int
writer_commit(struct fs_tmp *t, xmlTextWriterPtr w, int ok)
{
	if (ok && xmlTextWriterEndDocument(w) < 0)
		ok = 0;
	if (ok && xmlTextWriterFlush(w) < 0)
		ok = 0;
	xmlFreeTextWriter(w);	/* closes the output buffer, not the fd */
	if (!ok) {
		log_err("%s: cannot write: %s", t->name, strerror(errno));
		fs_tmp_abort(t);
		return -1;
	}
	return fs_tmp_commit(t);
}

static int
attr(xmlTextWriterPtr w, const char *name, const char *value)
{
	char	 clean[2048];

	clean_text(value, clean, sizeof(clean));
	return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST clean);
}

static int
elem(xmlTextWriterPtr w, const char *name, const char *value)
{
	char	 clean[2048];

	clean_text(value, clean, sizeof(clean));
	return xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST clean);
}

static int
elem_text(xmlTextWriterPtr w, const char *value)
{
	char	 clean[2048];

	if (value == NULL)
		return 0;
	clean_text(value, clean, sizeof(clean));
	return xmlTextWriterWriteString(w, BAD_CAST clean);
}

int
report_error(int dirfd, const char *name, const char *file,
    const struct problems *pr)
{
	struct fs_tmp		 t;
	xmlTextWriterPtr	 w;
	size_t			 i;
	int			 ok = 1;
	char			 line[32];

	if ((w = writer_open(&t, dirfd, name)) == NULL)
		return -1;
	ok = xmlTextWriterStartElementNS(w, NULL, BAD_CAST "error",
	    BAD_CAST NS_RESULT) >= 0 && attr(w, "file", file) >= 0;
	for (i = 0; ok && i < pr->n; i++) {
		snprintf(line, sizeof(line), "%d", pr->v[i].line);
		ok = xmlTextWriterStartElement(w, BAD_CAST "problem") >= 0 &&
		    attr(w, "line", line) >= 0;
		if (ok) {
			char	 clean[2048];

			clean_text(pr->v[i].text, clean, sizeof(clean));
			ok = xmlTextWriterWriteString(w, BAD_CAST clean) >= 0 &&
			    xmlTextWriterEndElement(w) >= 0;
		}
	}
	if (ok && pr->dropped > 0 && pr->dropped != (size_t)-1) {
		char	 more[96];

		snprintf(more, sizeof(more), "%zu more problems not listed",
		    pr->dropped);
		ok = xmlTextWriterStartElement(w, BAD_CAST "problem") >= 0 &&
		    attr(w, "line", "0") >= 0 &&
		    xmlTextWriterWriteString(w, BAD_CAST more) >= 0 &&
		    xmlTextWriterEndElement(w) >= 0;
	}
	if (ok)
		ok = xmlTextWriterEndElement(w) >= 0;
	return writer_commit(&t, w, ok);
}

/*
 * The directory of a recipient inside the archive: its mailbox (SPEC 4),
 * UTF-8 local parts included, when bundle.c takes it as a path
 * component.  A mailbox that cannot be a file name (one with a '/', an
 * atext character, or a control) gets "recipient-<n>"; the result.xml
 * still names its mailbox and cert.pem's hash.
 */
static void
rcpt_dirname(const char *email, int idx, char *out, size_t len)
{
	if (email != NULL && bundle_valid_component(email, strlen(email)))
		strlcpy_(out, email, len);
	else {
		snprintf(out, len, "recipient-%d", idx);
		log_warn("archive: the mailbox of recipient %d is not a safe "
		    "file name; its directory is %s", idx, out);
	}
}

/* What write_archive's rows go into. */
struct archive_ctx {
	const struct conf	*c;
	const struct chains	*cs;
	struct bundle		*b;
	struct log_progress	 lp;
	size_t			 done;
};

/* One certificate's files into the archive; -1 if they cannot be. */
static int
archive_add(void *arg, const struct cert_row *r)
{
	struct archive_ctx *a = arg;
	const struct chain *ch;
	char		*pem;
	unsigned char	*p7;
	size_t		 pemlen, p7len;
	char		 path[512], dir[256];
	int		 bad = 0;

	rcpt_dirname(r->email, r->idx, dir, sizeof(dir));
	ch = chains_get(a->cs, r->issuer_id);
	pem = pem_of_der(r->der, r->derlen, &pemlen);
	p7 = p7b_of_der(r->der, r->derlen, ch, &p7len);
#define ADD(file, d, l) do {						\
	snprintf(path, sizeof(path), "%s/%s/%s", r->order_ext, dir, file); \
	if (!bad && bundle_add(a->b, path, d, l) == -1)			\
		bad = 1;						\
} while (0)
	ADD("cert.pem", pem, pemlen);
	ADD("chain.pem", ch->pem, ch->pemlen);
	ADD("cert.p7b", p7, p7len);
	/* Not when p12_in_archive is off; a purged one is NULL. */
	if (r->p12 != NULL && a->c->p12_in_archive)
		ADD("bundle.p12", r->p12, r->p12len);
#undef ADD
	free(pem);
	free(p7);
	if (bad)
		return -1;
	crash_point("archive_entry");
	log_progress_tick(&a->lp, ++a->done);
	return 0;
}

static int
write_archive(struct store *st, const struct conf *c,
    const struct chains *cs, int outfd, long long pass_id, const char *name,
    long long ncert)
{
	struct archive_ctx a;
	int		 rc = -1;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.cs = cs;
	if ((a.b = bundle_open(outfd, name, c->archive_format)) == NULL)
		return -1;
	log_progress_begin(&a.lp, "publishing", "certificates",
	    (size_t)ncert);
	if (pass_certs(st, pass_id, archive_add, &a) == -1)
		goto out;
	if (bundle_commit(a.b) == -1) {
		a.b = NULL;
		goto out;
	}
	a.b = NULL;
	log_progress_end(&a.lp, a.done, 0);
	rc = 0;
out:
	if (a.b != NULL)
		bundle_abort(a.b);
	return rc;
}

/* What write_result's rows go into. */
struct result_ctx {
	xmlTextWriterPtr	 w;
	long long		 cur;	/* the order open in w, 0: none */
};

/* <order> (when r starts one) and <recipient> of one row; -1 if they
 * cannot be written. */
static int
result_add(void *arg, const struct result_row *r)
{
	struct result_ctx *x = arg;
	xmlTextWriterPtr w = x->w;
	char		 num[32];
	int		 ok = 1;

	if (r->oid != x->cur) {
		if (x->cur != 0)
			ok = xmlTextWriterEndElement(w) >= 0;
		x->cur = r->oid;
		ok = ok && xmlTextWriterStartElement(w,
		    BAD_CAST "order") >= 0 &&
		    attr(w, "id", r->order_ext) >= 0 &&
		    attr(w, "state", r->ostate) >= 0;
		if (ok && r->oreason != NULL)
			ok = attr(w, "reason", r->oreason) >= 0;
		snprintf(num, sizeof(num), "%lld", r->price);
		ok = ok && attr(w, "price", num) >= 0;
		if (ok && r->pay_used != NULL)
			ok = attr(w, "payment", r->pay_used) >= 0;
		snprintf(num, sizeof(num), "%lld", r->charged);
		ok = ok && attr(w, "charged", num) >= 0;
		snprintf(num, sizeof(num), "%lld", r->units);
		if (ok && r->units != 0)
			ok = attr(w, "units", num) >= 0;
		if (ok && r->omessage != NULL)
			ok = elem(w, "message", r->omessage) >= 0;
	}
	ok = ok && xmlTextWriterStartElement(w,
	    BAD_CAST "recipient") >= 0 &&
	    attr(w, "email", r->email) >= 0 &&
	    attr(w, "state", r->rstate) >= 0;
	if (ok && r->serial != NULL) {
		char		 na[32], sha[65], *pem = NULL;
		size_t		 pemlen;

		time_fmt((time_t)r->not_after, na, sizeof(na));
		/* sha256 of cert.pem as the archive holds it */
		if (r->derlen > 0) {
			pem = pem_of_der(r->der, (size_t)r->derlen, &pemlen);
			sha256_hex(pem, pemlen, sha);
		} else
			log_err("certificate %s: no DER stored", r->serial);
		ok = pem != NULL && attr(w, "serial", r->serial) >= 0 &&
		    attr(w, "notAfter", na) >= 0 &&
		    attr(w, "sha256", sha) >= 0;
		if (ok && r->has_cov_end) {
			time_fmt((time_t)r->cov_end, na, sizeof(na));
			ok = attr(w, "coverageEnd", na) >= 0;
		}
		free(pem);
		/* Its message could not be published (yet). */
		if (ok && r->stuck != NULL) {
			time_fmt((time_t)r->stuck_since, na, sizeof(na));
			ok = xmlTextWriterStartElement(w,
			    BAD_CAST "stuck") >= 0 &&
			    attr(w, "reason", r->stuck) >= 0 &&
			    attr(w, "since", na) >= 0 &&
			    elem_text(w, r->stuck_detail) >= 0 &&
			    xmlTextWriterEndElement(w) >= 0;
		}
	} else if (ok && r->rreason != NULL &&
	    strcmp(r->rstate, S_REJECTED) == 0)
		ok = attr(w, "reason", r->rreason) >= 0;
	if (ok && r->rmessage != NULL &&
	    strcmp(r->rstate, S_ISSUED) != 0)
		ok = elem(w, "message", r->rmessage) >= 0;
	ok = ok && xmlTextWriterEndElement(w) >= 0;
	return ok ? 0 : -1;
}

static int
write_result(struct store *st, const struct conf *c, int outfd,
    long long batch_id, const char *batch_ext, const char *account,
    long long seq, const char *archive, const char *name)
{
	struct fs_tmp		 t;
	struct batch_totals	 tot;
	struct result_ctx	 x;
	char			 num[32];
	int			 ok;

	if ((x.w = writer_open(&t, outfd, name)) == NULL)
		return -1;
	x.cur = 0;
	snprintf(num, sizeof(num), "%lld", seq);
	ok = xmlTextWriterStartElementNS(x.w, NULL, BAD_CAST "result",
	    BAD_CAST NS_RESULT) >= 0 && attr(x.w, "batch", batch_ext) >= 0 &&
	    attr(x.w, "account", account) >= 0 && attr(x.w, "seq", num) >= 0;
	if (ok && archive != NULL)
		ok = attr(x.w, "archive", archive) >= 0;
	/* The batch's total price and what was charged (README, Billing). */
	if (batch_totals(st, batch_id, &tot) == -1)
		ok = 0;
	if (ok) {
		ok = attr(x.w, "currency", c->currency) >= 0;
		snprintf(num, sizeof(num), "%lld", tot.total);
		ok = ok && attr(x.w, "total", num) >= 0;
		snprintf(num, sizeof(num), "%lld", tot.charged);
		ok = ok && attr(x.w, "charged", num) >= 0;
		snprintf(num, sizeof(num), "%lld", tot.units);
		if (ok && tot.units != 0)
			ok = attr(x.w, "units", num) >= 0;
	}
	if (ok && batch_result_rows(st, batch_id, result_add, &x) == -1)
		ok = 0;
	if (ok && x.cur != 0)
		ok = xmlTextWriterEndElement(x.w) >= 0;
	ok = ok && xmlTextWriterEndElement(x.w) >= 0;
	return writer_commit(&t, x.w, ok);
}

/* Write every output of one pass; then mark it written. */
static int
write_pass(struct store *st, const struct conf *c, const struct ca *ca,
    long long pass_id)
{
	struct pass_info p;
	char		*batch_ext, *account, *archive = NULL;
	char		 base[128], name[200], path[4096];
	long long	 batch_id, seq, ncert = 0;
	int		 outfd = -1, rc = -1, nstuck = 0;
	struct chains	 cs;

	memset(&p, 0, sizeof(p));
	if (chains_load(ca, &cs) == -1)
		return -1;
	if (pass_load(st, pass_id, &p) == -1 || p.batch_ext == NULL ||
	    p.account == NULL)
		goto out;
	batch_id = p.batch_id;
	seq = p.seq;
	batch_ext = p.batch_ext;
	account = p.account;
	log_ctx_set(account, batch_ext, NULL, NULL);
	if (valid_name(batch_ext))
		snprintf(base, sizeof(base), "%s.%lld", batch_ext, seq);
	else
		snprintf(base, sizeof(base), "batch-%lld.%lld", batch_id, seq);
	snprintf(path, sizeof(path), "%s/outbound/%s", c->spool_dir, account);
	if ((outfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_err("%s: cannot open", path);
		goto out;
	}
	if (pass_cert_count(st, pass_id, &ncert) == -1)
		goto out;
	crash_point("before_archive");
	if (ncert > 0) {
		snprintf(name, sizeof(name), "%s.%s", base,
		    strcmp(c->archive_format, "zip") == 0 ? "zip" : "tar.gz");
		archive = xstrdup(name);
		if (write_archive(st, c, &cs, outfd, pass_id, name,
		    ncert) == -1)
			goto out;
	}

	/* A message that cannot be published is recorded against its
	 * recipient and does not hold the result back. */
	if (report_mail_certs(st, c, ca, MAIL_OF_PASS, pass_id, 0, &nstuck) ==
	    -1)
		goto out;
	if (nstuck > 0)
		log_warn("%s/%s.result.xml: %d message%s not published; the "
		    "result shows %s", account, base, nstuck, nstuck == 1 ?
		    "" : "s", nstuck == 1 ? "it" : "them");

	crash_point("before_result");
	snprintf(name, sizeof(name), "%s.result.xml", base);
	if (write_result(st, c, outfd, batch_id, batch_ext, account, seq,
	    archive, name) == -1)
		goto out;
	crash_point("after_result");
	if (pass_mark_written(st, pass_id, batch_id, archive, name) == -1)
		goto out;
	log_info("%s/%s written%s%s", account, name, archive ? " with " : "",
	    archive ? archive : "");
	rc = 0;
out:
	if (outfd != -1)
		close(outfd);
	pass_info_free(&p);
	free(archive);
	chains_free(&cs);
	log_ctx_clear();
	return rc;
}

int
report_publish(struct store *st, const struct conf *c, const struct ca *ca)
{
	long long	 id, n;
	int		 rc = 0, nstuck = 0;

	/* Messages that could not be published before, tried again: one
	 * that goes out now marks its batch changed, so that a new result
	 * shows it. */
	if (report_mail_certs(st, c, ca, MAIL_STUCK, 0, 0, &nstuck) == -1)
		rc = -1;
	/* Open a pass for each changed batch with nothing left to sign
	 * or to evaluate: an order still new (a crash between intake and
	 * evaluation, or a big batch the daemon's slices are still going
	 * through) must not show in a result. */
	for (;;) {
		if (batch_result_due(st, &id) == -1)
			return -1;
		if (id == 0)
			break;
		if (pass_open(st, id) == -1)
			return -1;
		crash_point("after_pass_open");
	}
	/* Write every open pass, including those a crash interrupted; one
	 * that fails does not hold up the others. */
	for (id = 0;;) {
		if (pass_next_open(st, id, &id) == -1)
			return -1;
		if (id == 0)
			break;
		if (write_pass(st, c, ca, id) == -1)
			rc = -1;
	}
	/* Work left undone: certspool status lists it, --once exits 75. */
	if (mail_stuck_count(st, &n) == -1)
		return -1;
	if (n > 0) {
		log_warn("%lld certificate message%s not published; see "
		    "certspool status", n, n == 1 ? "" : "s");
		rc = -1;
	}
	return rc;
}
