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

static int
write_archive(struct store *st, const struct conf *c,
    const struct chains *cs, int outfd, long long pass_id, const char *name,
    long long ncert)
{
	const struct chain *ch;
	struct bundle	*b;
	struct cert_row	 r;
	struct log_progress lp;
	size_t		 done = 0;
	sqlite3_stmt	*q;
	char		 path[512], dir[256];
	int		 rc = -1, got;

	if ((b = bundle_open(outfd, name, c->archive_format)) == NULL)
		return -1;
	{
		char	 sql[1024];

		snprintf(sql, sizeof(sql), "%s WHERE c.pass_id = ? AND"
		    " c.state IN ('issued', 'superseded') ORDER BY o.id, r.idx",
		    cert_cols);
		q = store_prep(st, sql, "i", pass_id);
	}
	if (q == NULL)
		goto out;
	log_progress_begin(&lp, "publishing", "certificates", (size_t)ncert);
	while ((got = cert_row_next(q, &r)) == 1) {
		char		*pem;
		unsigned char	*p7;
		size_t		 pemlen, p7len;
		int		 bad = 0;

		rcpt_dirname(r.email, r.idx, dir, sizeof(dir));
		ch = chains_get(cs, r.issuer_id);
		pem = pem_of_der(r.der, r.derlen, &pemlen);
		p7 = p7b_of_der(r.der, r.derlen, ch, &p7len);
#define ADD(file, d, l) do {						\
	snprintf(path, sizeof(path), "%s/%s/%s", r.order_ext, dir, file);	\
	if (!bad && bundle_add(b, path, d, l) == -1)			\
		bad = 1;						\
} while (0)
		ADD("cert.pem", pem, pemlen);
		ADD("chain.pem", ch->pem, ch->pemlen);
		ADD("cert.p7b", p7, p7len);
		/* Not when p12_in_archive is off; a purged one is NULL. */
		if (r.p12 != NULL && c->p12_in_archive)
			ADD("bundle.p12", r.p12, r.p12len);
#undef ADD
		free(pem);
		free(p7);
		cert_row_free(&r);
		if (bad) {
			store_release(q);
			q = NULL;
			goto out;
		}
		crash_point("archive_entry");
		log_progress_tick(&lp, ++done);
	}
	cert_row_free(&r);
	store_release(q);
	q = NULL;
	if (got == -1)
		goto out;
	if (bundle_commit(b) == -1) {
		b = NULL;
		goto out;
	}
	b = NULL;
	log_progress_end(&lp, done, 0);
	rc = 0;
out:
	if (b != NULL)
		bundle_abort(b);
	return rc;
}

/* Net cents charged (balance debits less refunds, card captures) and
 * contract units used by one order, as SQL over o.id. */
#define SQL_CHARGED	"(SELECT COALESCE(-sum(l.amount), 0) FROM ledger l"	\
    " WHERE l.order_id = o.id AND l.kind IN ('debit', 'refund',"		\
    " 'card_capture'))"
#define SQL_UNITS	"(SELECT COALESCE(-sum(l.amount), 0) FROM ledger l"	\
    " WHERE l.order_id = o.id AND l.recipient_id IS NOT NULL AND"		\
    " l.kind IN ('unit_debit', 'unit_credit'))"

static int
write_result(struct store *st, const struct conf *c, int outfd,
    long long batch_id, const char *batch_ext, const char *account,
    long long seq, const char *archive, const char *name)
{
	struct fs_tmp		 t;
	xmlTextWriterPtr	 w;
	sqlite3_stmt		*q;
	long long		 cur = 0;
	char			 num[32];
	int			 ok;

	if ((w = writer_open(&t, outfd, name)) == NULL)
		return -1;
	snprintf(num, sizeof(num), "%lld", seq);
	ok = xmlTextWriterStartElementNS(w, NULL, BAD_CAST "result",
	    BAD_CAST NS_RESULT) >= 0 && attr(w, "batch", batch_ext) >= 0 &&
	    attr(w, "account", account) >= 0 && attr(w, "seq", num) >= 0;
	if (ok && archive != NULL)
		ok = attr(w, "archive", archive) >= 0;
	/* The batch's total price and what was charged (README, Billing). */
	q = store_prep(st, "SELECT COALESCE(sum(o.price), 0), COALESCE(sum("
	    SQL_CHARGED "), 0), COALESCE(sum(" SQL_UNITS "), 0) FROM orders o"
	    " WHERE o.batch_id = ?", "i", batch_id);
	if (q == NULL || sqlite3_step(q) != SQLITE_ROW)
		ok = 0;
	if (ok) {
		ok = attr(w, "currency", c->currency) >= 0;
		snprintf(num, sizeof(num), "%lld", sqlite3_column_int64(q, 0));
		ok = ok && attr(w, "total", num) >= 0;
		snprintf(num, sizeof(num), "%lld", sqlite3_column_int64(q, 1));
		ok = ok && attr(w, "charged", num) >= 0;
		snprintf(num, sizeof(num), "%lld", sqlite3_column_int64(q, 2));
		if (ok && sqlite3_column_int64(q, 2) != 0)
			ok = attr(w, "units", num) >= 0;
	}
	store_release(q);
	q = store_prep(st, "SELECT o.id, o.ext_id, o.state, o.reason,"
	    " o.message, r.email, r.state, r.reason, r.message, c.serial,"
	    " c.not_after, c.der, COALESCE(o.price, 0), o.pay_used, "
	    SQL_CHARGED ", " SQL_UNITS ", r.cov_end, c.stuck, c.stuck_detail,"
	    " c.stuck_since"
	    " FROM orders o JOIN recipient r ON"
	    " r.order_id = o.id LEFT JOIN certificate c ON c.recipient_id ="
	    " r.id AND c.state = 'issued' WHERE o.batch_id = ?"
	    " ORDER BY o.id, r.idx", "i", batch_id);
	if (q == NULL)
		ok = 0;
	while (ok && sqlite3_step(q) == SQLITE_ROW) {
		const char *ostate = (const char *)sqlite3_column_text(q, 2);
		const char *rstate = (const char *)sqlite3_column_text(q, 6);

		if (sqlite3_column_int64(q, 0) != cur) {
			if (cur != 0)
				ok = xmlTextWriterEndElement(w) >= 0;
			cur = sqlite3_column_int64(q, 0);
			ok = ok && xmlTextWriterStartElement(w,
			    BAD_CAST "order") >= 0 &&
			    attr(w, "id", (const char *)
			    sqlite3_column_text(q, 1)) >= 0 &&
			    attr(w, "state", ostate) >= 0;
			if (ok && sqlite3_column_text(q, 3) != NULL)
				ok = attr(w, "reason", (const char *)
				    sqlite3_column_text(q, 3)) >= 0;
			snprintf(num, sizeof(num), "%lld",
			    sqlite3_column_int64(q, 12));
			ok = ok && attr(w, "price", num) >= 0;
			if (ok && sqlite3_column_text(q, 13) != NULL)
				ok = attr(w, "payment", (const char *)
				    sqlite3_column_text(q, 13)) >= 0;
			snprintf(num, sizeof(num), "%lld",
			    sqlite3_column_int64(q, 14));
			ok = ok && attr(w, "charged", num) >= 0;
			snprintf(num, sizeof(num), "%lld",
			    sqlite3_column_int64(q, 15));
			if (ok && sqlite3_column_int64(q, 15) != 0)
				ok = attr(w, "units", num) >= 0;
			if (ok && sqlite3_column_text(q, 4) != NULL)
				ok = elem(w, "message", (const char *)
				    sqlite3_column_text(q, 4)) >= 0;
		}
		ok = ok && xmlTextWriterStartElement(w,
		    BAD_CAST "recipient") >= 0 &&
		    attr(w, "email", (const char *)
		    sqlite3_column_text(q, 5)) >= 0 &&
		    attr(w, "state", rstate) >= 0;
		if (ok && sqlite3_column_text(q, 9) != NULL) {
			const void	*der = sqlite3_column_blob(q, 11);
			char		 na[32], sha[65], *pem = NULL;
			size_t		 pemlen;
			int		 derlen = sqlite3_column_bytes(q, 11);

			time_fmt((time_t)sqlite3_column_int64(q, 10), na,
			    sizeof(na));
			/* sha256 of cert.pem as the archive holds it */
			if (derlen > 0) {
				pem = pem_of_der(der, (size_t)derlen, &pemlen);
				sha256_hex(pem, pemlen, sha);
			} else
				log_err("certificate %s: no DER stored",
				    sqlite3_column_text(q, 9));
			ok = pem != NULL && attr(w, "serial", (const char *)
			    sqlite3_column_text(q, 9)) >= 0 &&
			    attr(w, "notAfter", na) >= 0 &&
			    attr(w, "sha256", sha) >= 0;
			if (ok && sqlite3_column_type(q, 16) != SQLITE_NULL) {
				time_fmt((time_t)sqlite3_column_int64(q, 16),
				    na, sizeof(na));
				ok = attr(w, "coverageEnd", na) >= 0;
			}
			free(pem);
			/* Its message could not be published (yet). */
			if (ok && sqlite3_column_text(q, 17) != NULL) {
				time_fmt((time_t)sqlite3_column_int64(q, 19),
				    na, sizeof(na));
				ok = xmlTextWriterStartElement(w,
				    BAD_CAST "stuck") >= 0 &&
				    attr(w, "reason", (const char *)
				    sqlite3_column_text(q, 17)) >= 0 &&
				    attr(w, "since", na) >= 0 &&
				    elem_text(w, (const char *)
				    sqlite3_column_text(q, 18)) >= 0 &&
				    xmlTextWriterEndElement(w) >= 0;
			}
		} else if (ok && sqlite3_column_text(q, 7) != NULL &&
		    strcmp(rstate, S_REJECTED) == 0)
			ok = attr(w, "reason", (const char *)
			    sqlite3_column_text(q, 7)) >= 0;
		if (ok && sqlite3_column_text(q, 8) != NULL &&
		    strcmp(rstate, S_ISSUED) != 0)
			ok = elem(w, "message", (const char *)
			    sqlite3_column_text(q, 8)) >= 0;
		ok = ok && xmlTextWriterEndElement(w) >= 0;
	}
	store_release(q);
	if (ok && cur != 0)
		ok = xmlTextWriterEndElement(w) >= 0;
	ok = ok && xmlTextWriterEndElement(w) >= 0;
	return writer_commit(&t, w, ok);
}

/* Write every output of one pass; then mark it written. */
static int
write_pass(struct store *st, const struct conf *c, const struct ca *ca,
    long long pass_id)
{
	sqlite3_stmt	*q;
	char		*batch_ext = NULL, *account = NULL, *archive = NULL;
	char		 base[128], name[200], path[4096];
	long long	 batch_id = 0, seq = 0, ncert = 0;
	int		 outfd = -1, rc = -1, nstuck = 0;
	struct chains	 cs;

	if (chains_load(ca, &cs) == -1)
		return -1;
	q = store_prep(st, "SELECT p.batch_id, p.seq, b.ext_id, a.name"
	    " FROM pass p JOIN batch b ON b.id = p.batch_id JOIN account a"
	    " ON a.id = b.account_id WHERE p.id = ?", "i", pass_id);
	if (q == NULL)
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW) {
		batch_id = sqlite3_column_int64(q, 0);
		seq = sqlite3_column_int64(q, 1);
		batch_ext = store_col_text(q, 2);
		account = store_col_text(q, 3);
	}
	store_release(q);
	if (batch_ext == NULL || account == NULL)
		goto out;
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
	if (store_int(st, &ncert, 0, store_prep(st, "SELECT count(*) FROM"
	    " certificate WHERE pass_id = ? AND state IN ('issued',"
	    " 'superseded')", "i",
	    pass_id)) == -1)
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
	if (report_mail_certs(st, c, ca, "c.pass_id = ?", 1, pass_id, 0, &nstuck) ==
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
	if (store_begin(st) == -1)
		goto out;
	if (store_done(st, store_prep(st, "UPDATE pass SET state = 'written',"
	    " archive = ? WHERE id = ?", "ti", archive, pass_id)) == -1 ||
	    store_event(st, "result_written", batch_id, 0, 0, NULL, NULL, NULL,
	    name) == -1 || store_commit(st) == -1) {
		store_rollback(st);
		goto out;
	}
	log_info("%s/%s written%s%s", account, name, archive ? " with " : "",
	    archive ? archive : "");
	rc = 0;
out:
	if (outfd != -1)
		close(outfd);
	free(batch_ext);
	free(account);
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
	if (report_mail_certs(st, c, ca, "c.stuck IS NOT NULL", 0, 0, 0, &nstuck) ==
	    -1)
		rc = -1;
	/* Open a pass for each changed batch with nothing left to sign
	 * or to evaluate: an order still new (a crash between intake and
	 * evaluation, or a big batch the daemon's slices are still going
	 * through) must not show in a result.  Left to do: an order new or
	 * approved, or a recipient new or approved in a waiting order (an
	 * order issued, rejected or cancelled has none); both through the
	 * batch's partial indexes, never its finished orders. */
	for (;;) {
		if (store_int(st, &id, 0, store_prep(st, "SELECT b.id FROM"
		    " batch b WHERE b.dirty = 1 AND NOT EXISTS (SELECT 1 FROM"
		    " orders o INDEXED BY orders_unfinished WHERE"
		    " o.batch_id = b.id AND o.state IN ('new', 'approved'))"
		    " AND NOT EXISTS (SELECT 1 FROM orders o INDEXED BY"
		    " orders_waiting JOIN recipient r ON r.order_id = o.id"
		    " WHERE o.batch_id = b.id AND o.state IN ('waiting_org',"
		    " 'waiting_dcv', 'waiting_csr', 'waiting_funds') AND"
		    " r.state IN ('new', 'approved'))"
		    " ORDER BY b.id LIMIT 1", NULL)) == -1)
			return -1;
		if (id == 0)
			break;
		if (store_begin(st) == -1)
			return -1;
		if (store_done(st, store_prep(st, "INSERT INTO pass (batch_id,"
		    " seq, state, created) SELECT id, next_seq, 'open', ?"
		    " FROM batch WHERE id = ?", "ii", (long long)clock_now(),
		    id)) == -1 ||
		    /* From the batch's recipients: certificate_pass would
		     * read every certificate not yet in a pass, another
		     * batch's whole backlog among them. */
		    store_done(st, store_prep(st, "UPDATE certificate"
		    " INDEXED BY certificate_recipient SET"
		    " pass_id = ? WHERE pass_id IS NULL AND state IN ('issued',"
		    " 'superseded')"
		    " AND recipient_id IN (SELECT r.id FROM recipient r JOIN"
		    " orders o ON o.id = r.order_id WHERE o.batch_id = ?)",
		    "ii", store_last_id(st), id)) == -1 ||
		    store_done(st, store_prep(st, "UPDATE batch SET next_seq ="
		    " next_seq + 1, dirty = 0 WHERE id = ?", "i", id)) == -1 ||
		    store_commit(st) == -1) {
			store_rollback(st);
			return -1;
		}
		crash_point("after_pass_open");
	}
	/* Write every open pass, including those a crash interrupted; one
	 * that fails does not hold up the others. */
	for (id = 0;;) {
		if (store_int(st, &id, 0, store_prep(st, "SELECT id FROM pass"
		    " WHERE state = 'open' AND id > ? ORDER BY id LIMIT 1", "i",
		    id)) == -1)
			return -1;
		if (id == 0)
			break;
		if (write_pass(st, c, ca, id) == -1)
			rc = -1;
	}
	/* Work left undone: certspool status lists it, --once exits 75. */
	if (store_int(st, &n, 0, store_prep(st, "SELECT count(*) FROM"
	    " certificate WHERE stuck IS NOT NULL AND mailed = 0", NULL)) ==
	    -1)
		return -1;
	if (n > 0) {
		log_warn("%lld certificate message%s not published; see "
		    "certspool status", n, n == 1 ? "" : "s");
		rc = -1;
	}
	return rc;
}
