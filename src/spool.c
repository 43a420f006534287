/*
 * spool.c: one claimed input, after Postfix pickup.  intake.c decides
 * when a client's file is complete and claims it by rename(2) into
 * work/<account>/; here it is opened without following links and checked
 * with fstat, hashed, and parsed in one database transaction.  It then ends in
 * archive/<account>/ or, beside <name>.error.xml, in rejected/<account>/.
 * Failure policy: bad input is REMOVE (rejected with a report); a broken
 * environment (database busy, disk full) is KEEP: the transaction rolls
 * back, the file stays in work/ and is retried by spool_recover.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "revoke.h"
#include "spool.h"
#include "report.h"
#include "billing.h"
#include "order_check.h"
#include "pipeline.h"
#include "store_order.h"

struct ingest {
	struct store		*st;
	const struct conf	*conf;
	struct problems		*pr;
	long long		 account_id;
	const char		*account;
	long long		 input_id;
	long long		 batch_id;
	long long		 doc_id;	/* revocation document */
	enum doc_kind		 kind;
	char			 sha[65];
	const char		*name;
	int			 norders;
	int			 ncsr;
	struct log_progress	 lp;
};

static const char *subdirs[] = { "inbound", "archive", "rejected", "outbound",
    "work" };

/*
 * An installed spool (tmpfiles.d) has inbound/ and outbound/ set-group-ID
 * with the SFTP group: an account's inbound/NAME then inherits that
 * group and gets group write (2770: the group's SFTP users drop files),
 * outbound/NAME group read (2750).  Elsewhere the account's dirs stay
 * 0750.
 */
static void
account_dir_share(const struct conf *c, const char *sub, const char *path)
{
	struct stat	 sb;
	char		 top[4096];

	snprintf(top, sizeof(top), "%s/%s", c->spool_dir, sub);
	if (stat(top, &sb) == -1 || !(sb.st_mode & S_ISGID))
		return;
	if (strcmp(sub, "inbound") == 0)
		(void)chmod(path, 02770);
	else if (strcmp(sub, "outbound") == 0)
		(void)chmod(path, 02750);
}

int
spool_account_dirs(const struct conf *c, const char *account)
{
	char	 path[4096];
	size_t	 i;

	if (!valid_name(account))
		return -1;
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", c->spool_dir,
		    subdirs[i], account);
		if (fs_mkdirs(path, 0750) == -1) {
			log_err("%s: %s", path, strerror(errno));
			return -1;
		}
		account_dir_share(c, subdirs[i], path);
	}
	snprintf(path, sizeof(path), "%s/mail", c->spool_dir);
	return fs_mkdirs(path, 0750);
}

int
spool_open_dir(const struct conf *c, const char *sub, const char *account)
{
	char	 path[4096];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s/%s", c->spool_dir, sub, account);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		log_err("%s: %s", path, strerror(errno));
	return fd;
}

/* ---- parse callbacks: store the document inside the transaction ---- */

static int	 db_failed(struct ingest *, int, const char *);

static int
on_head(void *arg, const struct batch_head *h)
{
	struct ingest	*in = arg;
	struct input_seen seen;
	int		 other;

	in->kind = h->kind;
	if (h->account != NULL && strcmp(h->account, in->account) != 0) {
		problems_add(in->pr, 0, "document names account \"%s\" but "
		    "was delivered by account \"%s\"", h->account, in->account);
		return -1;
	}
	if (h->kind == DOC_REVOCATION) {
		switch (revdoc_head(in->st, in->account_id, h, in->sha,
		    in->name, in->pr, &in->doc_id)) {
		case 0:
			return 0;
		case 1:
			return -1;
		default:
			return db_failed(in, 0, "");
		}
	}
	if (h->kind != DOC_BATCH)
		return 0;
	log_ctx_put(LOGK_BATCH, h->id);
	if ((other = batch_submitted(in->st, in->account_id, h->id,
	    &seen)) == -1)
		return -1;
	if (other) {
		char	 when[32];

		time_fmt((time_t)seen.received, when, sizeof(when));
		problems_add(in->pr, 0, "batch id \"%s\" was already "
		    "submitted in file \"%s\" received %s; not processed "
		    "twice", h->id, seen.work_name ? seen.work_name : "?",
		    when);
		input_seen_free(&seen);
		return -1;
	}
	if ((in->batch_id = batch_store(in->st, in->account_id, h->id,
	    in->sha, in->name, h->created, h->att_officer,
	    h->att_title)) == -1) {
		problems_add(in->pr, 0, "cannot store batch");
		return -1;
	}
	return batch_received(in->st, in->batch_id, in->name);
}

/* After a failed statement: bad input (constraint) or a broken store. */
static int
db_failed(struct ingest *in, int line, const char *what)
{
	if (input_conflict(in->st)) {
		problems_add(in->pr, line, "%s", what);
		return -1;
	}
	problems_add(in->pr, line, "database error; the file is kept and "
	    "retried");
	in->pr->dropped = (size_t)-1;	/* marks an environment failure */
	return -1;
}

int
order_store(struct store *st, long long batch_id, const struct order_in *o,
    int *line)
{
	struct order_refusal	 ref;
	struct order_row	 w;
	long long	 oid;
	size_t		 i;
	/* A card number as payment reference is never stored (nor logged):
	 * the order keeps a flag and stage_terms rejects it. */
	int		 pan = is_card_number(o->pay_ref);
	/* What cannot be issued and delivered is refused here (order_check.c):
	 * the order is stored rejected and no stage ever sees it. */
	int		 refused = order_check(o, &ref);
	const char	*state = refused ? S_REJECTED : S_NEW;
	char		*org = name_nfc(o->organization);
	int		 rc = 0;

	*line = o->line;
	memset(&w, 0, sizeof(w));
	w.in = o;
	w.organization = org;
	w.pay_ref = pan ? NULL : o->pay_ref;
	w.card_flag = pan;
	w.state = state;
	w.reason = ref.reason;
	w.message = ref.message;
	oid = order_insert(st, batch_id, &w);
	if (oid == -1) {
		free(org);
		return -1;
	}
	for (i = 0; i < o->nrcpt; i++) {
		const struct recipient_in *r = &o->rcpt[i];
		/* Subject names are stored, and so certified, in NFC
		 * (the organization too: a commonName must equal it). */
		char	*cn = name_nfc(r->cn), *gn = name_nfc(r->given_name);
		char	*sn = name_nfc(r->surname);
		char	*ps = name_nfc(r->pseudonym);
		struct rcpt_names n = { cn, gn, sn, ps };

		*line = r->line;
		rc = rcpt_insert(st, oid, (long long)i, r, &n, &w);
		free(cn);
		free(gn);
		free(sn);
		free(ps);
		if (rc == -1)
			break;
	}
	free(org);
	if (rc == -1)
		return -1;
	if (refused) {
		*line = ref.line;
		log_info("batch %lld: order \"%s\" refused at intake: %s: %s",
		    batch_id, o->id, ref.reason, ref.message);
		if (order_refused_at_intake(st, batch_id, oid, ref.reason,
		    ref.message) == -1)
			return -1;
	}
	return 0;
}

static int
on_order(void *arg, const struct order_in *o)
{
	struct ingest	*in = arg;
	char		 what[160];
	int		 line;

	snprintf(what, sizeof(what), "order id \"%s\" appears more than once "
	    "in the batch", o->id);
	if (order_store(in->st, in->batch_id, o, &line) == -1)
		return db_failed(in, line, what);
	in->norders++;
	log_progress_tick(&in->lp, (size_t)in->norders);
	return 0;
}

/* A CSR for a csrLater recipient of this account, still waiting. */
static int
on_csr(void *arg, const struct csr_in *c)
{
	struct ingest	*in = arg;
	long long	 rid, bid, oid;
	int		 got;

	if ((got = csr_waiting_rcpt(in->st, in->account_id, c->order,
	    c->email, &rid, &bid, &oid)) == -1)
		return db_failed(in, c->line, "");
	if (got == 0) {
		problems_add(in->pr, c->line, "no recipient %s in order \"%s\" "
		    "of this account is waiting for a CSR", c->email, c->order);
		return 0;	/* keep collecting problems */
	}
	if (recipient_take_csr(in->st, rid, oid, bid, c->csr, in->name) == -1)
		return db_failed(in, c->line, "");
	in->ncsr++;
	return 0;
}

/* A <revoke> of a revocation document (revdoc.c). */
static int
on_revoke(void *arg, const struct revoke_in *v)
{
	struct ingest	*in = arg;

	switch (revdoc_revoke(in->st, in->account_id, in->doc_id, v, in->pr)) {
	case 0:
		in->norders++;
		return 0;
	case 1:
		return -1;
	default:
		return db_failed(in, v->line, "");
	}
}

/* ---- one file ---- */

/* Move work/<acct>/<name> to <sub>/<acct>/ without replacing anything;
 * the final name is written to out. */
static int
finish_move(const struct conf *c, const char *account, const char *name,
    const char *sub, long long input_id, char *out, size_t outlen)
{
	int	 wd = -1, td = -1, rc = -1;
	char	 alt[200];
	size_t	 n;

	if ((wd = spool_open_dir(c, "work", account)) == -1 ||
	    (td = spool_open_dir(c, sub, account)) == -1)
		goto out;
	strlcpy_(out, name, outlen);
	if (renameat2(wd, name, td, out, RENAME_NOREPLACE) == -1) {
		if (errno != EEXIST)
			goto bad;
		n = strlen(name);
		if (n > 4 && strcmp(name + n - 4, ".xml") == 0)
			snprintf(alt, sizeof(alt), "%.*s.%lld.xml", (int)(n - 4),
			    name, input_id);
		else
			snprintf(alt, sizeof(alt), "%s.%lld", name, input_id);
		strlcpy_(out, alt, outlen);
		if (renameat2(wd, name, td, out, RENAME_NOREPLACE) == -1)
			goto bad;
	}
	if (fs_fsync_dir(td) == -1 || fs_fsync_dir(wd) == -1)
		goto out;
	rc = 0;
	goto out;
bad:
	log_err("%s/%s: move to %s: %s", account, name, sub, strerror(errno));
out:
	if (wd != -1)
		close(wd);
	if (td != -1)
		close(td);
	return rc;
}

/*
 * A name in dirfd free for NAME and NAME.error.xml; written to out.  A
 * NAME.error.xml standing alone -- no NAME beside it, and not itself a
 * refused input (which has its own report) -- is what a refusal left
 * when a crash came between its report and the move: it is replaced.
 */
static void
pick_free_name(int dirfd, const char *name, char *out, size_t outlen)
{
	unsigned char	 r[4];
	char		 hex[9], rep[300], rep2[320];
	size_t		 n = strlen(name);

	strlcpy_(out, name, outlen);
	for (;;) {
		snprintf(rep, sizeof(rep), "%s.error.xml", out);
		snprintf(rep2, sizeof(rep2), "%s.error.xml", rep);
		if (faccessat(dirfd, out, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
		    (faccessat(dirfd, rep, F_OK, AT_SYMLINK_NOFOLLOW) == -1 ||
		    faccessat(dirfd, rep2, F_OK, AT_SYMLINK_NOFOLLOW) == -1))
			return;
		rnd_bytes(r, sizeof(r));
		hex_encode(r, sizeof(r), hex);
		if (n > 4 && strcmp(name + n - 4, ".xml") == 0)
			snprintf(out, outlen, "%.*s.%s.xml", (int)(n - 4), name,
			    hex);
		else
			snprintf(out, outlen, "%s.%s", name, hex);
	}
}

/*
 * Refuse work/<acct>/<name> (uploaded as orig, when its name was
 * refused): the report is written first, then the input
 * moved beside it, so a refused input never stands without its report.
 * If either step fails the input stays in work/ and is refused again,
 * with the same problems, in a later pass.
 */
static int
reject_file(const struct conf *c, const char *account, const char *name,
    const char *orig, const struct problems *pr)
{
	char	 final[256], ename[300], esc[1024] = "";
	int	 wd = -1, td = -1, rc = -1;

	if (orig != NULL)
		name_escape(orig, esc, sizeof(esc));
	if ((wd = spool_open_dir(c, "work", account)) == -1 ||
	    (td = spool_open_dir(c, "rejected", account)) == -1)
		goto out;
	pick_free_name(td, name, final, sizeof(final));
	snprintf(ename, sizeof(ename), "%s.error.xml", final);
	/* A refused name is reported as it was uploaded (escaped). */
	if (report_error(td, ename, orig != NULL ? esc : final, pr) == -1) {
		log_err("%s/%s: cannot write the error report; the input is "
		    "kept in work/ and refused again later", account, name);
		goto out;
	}
	crash_point("after_error_report");
	if (renameat2(wd, name, td, final, RENAME_NOREPLACE) == -1) {
		log_err("%s/%s: move to rejected: %s", account, name,
		    strerror(errno));
		(void)unlinkat(td, ename, 0);
		goto out;
	}
	if (fs_fsync_dir(td) == -1 || fs_fsync_dir(wd) == -1)
		goto out;
	log_info("%s/%s: rejected (%zu problem%s)%s%s%s", account, final, pr->n,
	    pr->n == 1 ? "" : "s", orig != NULL ? "; uploaded as \"" : "",
	    esc, orig != NULL ? "\"" : "");
	rc = 0;
out:
	if (wd != -1)
		close(wd);
	if (td != -1)
		close(td);
	return rc;
}

/* Record the outcome of an input (in the caller's transaction): the
 * id of its last row, or -1. */
static long long
record_input(struct store *st, long long account_id, const char *sha,
    const char *name, const char *kind, const char *outcome,
    long long batch_id, const struct problems *pr)
{
	char	 detail[512] = "";

	if (pr != NULL && pr->n > 0)
		snprintf(detail, sizeof(detail), "line %d: %s", pr->v[0].line,
		    pr->v[0].text);
	return input_record(st, account_id, sha, name, kind, outcome,
	    batch_id, detail[0] ? detail : NULL);
}

/*
 * Process work/<account>/<name>; orig is the name a refused name was
 * uploaded under, raw (NULL if the name was kept, or is not known after a
 * restart).  Returns 0 when the file reached its final place, -1 when it
 * must be kept for a later retry.
 */
static int
process_file(struct store *st, const struct conf *c,
    const struct schema *sch, const char *account, long long account_id,
    const char *name, const char *orig, int recovering)
{
	struct problems	 pr = { 0 };
	struct ingest	 in;
	struct batch_cb	 cb;
	struct stat	 sb;
	char		 err[256], final[256];
	int		 wd = -1, fd = -1, rc = -1, ok;
	long long	 iid;

	memset(&in, 0, sizeof(in));
	in.st = st;
	in.conf = c;
	in.pr = &pr;
	in.account = account;
	in.account_id = account_id;
	in.name = name;
	strlcpy_(in.sha, "-", sizeof(in.sha));
	log_ctx_set(account, NULL, NULL, NULL);
	log_ctx_put(LOGK_FILE, name);
	log_progress_begin(&in.lp, "intake", "orders", 0);

	if ((wd = spool_open_dir(c, "work", account)) == -1)
		goto out;
	/* claim() keeps only valid names ending .xml: others were claimed
	 * as badname-<hex>, and are refused unread. */
	if (strlen(name) < 5 || strcmp(name + strlen(name) - 4, ".xml") != 0) {
		char	 shortn[300];

		if (orig != NULL) {
			name_escape(orig, shortn, sizeof(shortn));
			problems_add(&pr, 0, "the file name \"%s\" is not "
			    "[A-Za-z0-9._-] ending in .xml; claimed as %s and "
			    "refused unread", shortn, name);
		} else
			problems_add(&pr, 0, "the file name is not "
			    "[A-Za-z0-9._-] ending in .xml; claimed as %s and "
			    "refused unread (the name it was uploaded under is "
			    "not known after a restart)", name);
		goto refuse;
	}
	fd = fs_open_untrusted(wd, name, (off_t)c->max_batch_bytes, &sb, err,
	    sizeof(err));
	if (fd == -1) {
		problems_add(&pr, 0, "%s: %s", name, err);
		goto refuse;
	}
	if (sb.st_size == 0) {
		problems_add(&pr, 0, "%s: empty file", name);
		goto refuse;
	}
	if (fs_sha256(fd, in.sha) == -1) {
		log_err("%s/%s: read: %s", account, name, strerror(errno));
		goto out;
	}

	/* After a crash between commit and move: finish what was decided. */
	if (recovering) {
		struct input_seen	 prev;

		/* A refusal is decided again from the bytes. */
		if (input_last(st, account_id, in.sha, name, &prev) == 1 &&
		    prev.accepted) {
			rc = finish_move(c, account, name, "archive", prev.id,
			    final, sizeof(final));
			goto out;
		}
	}

	/* The same bytes again: point to the first. */
	{
		struct input_seen	 first;
		int			 dup;

		if ((dup = input_accepted_first(st, account_id, in.sha,
		    &first)) == -1)
			goto out;
		if (dup) {
			char	 when[32];

			time_fmt((time_t)first.received, when, sizeof(when));
			problems_add(&pr, 0, "same file (SHA-256 %s) as \"%s\" "
			    "received %s%s%s; not processed twice", in.sha,
			    first.work_name, when,
			    first.batch ? " as batch " : "",
			    first.batch ? first.batch : "");
			input_seen_free(&first);
			goto refuse;
		}
	}

	memset(&cb, 0, sizeof(cb));
	cb.arg = &in;
	cb.on_head = on_head;
	cb.on_order = on_order;
	cb.on_csr = on_csr;
	cb.on_revoke = on_revoke;
	if (store_begin(st) == -1)
		goto out;
	ok = batch_parse(sch, fd, name, &cb, &pr) == 0 && pr.n == 0;
	if (!ok) {
		store_rollback(st);
		if (pr.dropped == (size_t)-1)
			goto out;	/* environment: keep and retry */
		if (pr.n == 0)
			problems_add(&pr, 0, "%s: refused", name);
		goto refuse;
	}
	if (in.kind == DOC_BATCH && in.norders == 0) {
		store_rollback(st);
		problems_add(&pr, 0, "batch has no orders");
		goto refuse;
	}
	/* The audit copy is on disk before the database says accepted. */
	if (fsync(fd) == -1 || (iid = record_input(st, account_id, in.sha,
	    name, in.kind == DOC_BATCH ? "batch" : in.kind == DOC_REVOCATION ?
	    "revocation" : "csrSubmission", "accepted",
	    in.batch_id, NULL)) == -1 || store_commit(st) == -1) {
		store_rollback(st);
		goto out;
	}
	crash_point("after_parse_commit");
	log_progress_end(&in.lp, (size_t)in.norders, 1);
	if (in.kind == DOC_REVOCATION)
		log_info("%s/%s: accepted (%d revoke%s)", account, name,
		    in.norders, in.norders == 1 ? "" : "s");
	else
		log_info("%s/%s: accepted (%d order%s, %d csr%s)", account,
		    name, in.norders, in.norders == 1 ? "" : "s", in.ncsr,
		    in.ncsr == 1 ? "" : "s");
	rc = finish_move(c, account, name, "archive", iid, final,
	    sizeof(final));
	goto out;

refuse:
	if (fd != -1) {
		close(fd);
		fd = -1;
	}
	if ((rc = reject_file(c, account, name, orig, &pr)) == -1)
		goto out;
	crash_point("after_reject_move");
	/* The record of a refusal is informational: a crash before it
	 * loses only this row, never the input or its report. */
	if (store_begin(st) == -1)
		goto out;
	if (record_input(st, account_id, in.sha, name,
	    in.kind == DOC_CSRSUB ? "csrSubmission" : in.kind ==
	    DOC_REVOCATION ? "revocation" : "batch", "rejected", 0,
	    &pr) == -1 || store_commit(st) == -1)
		store_rollback(st);
out:
	if (fd != -1)
		close(fd);
	if (wd != -1)
		close(wd);
	problems_free(&pr);
	log_ctx_clear();
	return rc;
}

/* ---- hand-over from intake.c ---- */

int
spool_take(struct store *st, const struct conf *c, const struct schema *sch,
    const char *account, long long account_id, const char *name,
    const char *orig)
{
	return process_file(st, c, sch, account, account_id, name, orig, 0);
}

/* Recovery of every account (in name order): one failed, rc is -1. */
struct recovery {
	struct store		*st;
	const struct conf	*conf;
	const struct schema	*sch;
	int			 rc;
};

static int
recover_account(void *arg, long long account_id, const char *account)
{
	struct recovery	*rv = arg;
	struct store	*st = rv->st;
	const struct conf *c = rv->conf;
	DIR		*d;
	struct dirent	*de;
	int		 wd;

	if ((wd = spool_open_dir(c, "work", account)) == -1) {
		rv->rc = -1;
		return 0;
	}
	if ((d = fdopendir(wd)) == NULL) {
		close(wd);
		rv->rc = -1;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		log_info("%s/%s: recovering from work/", account, de->d_name);
		if (process_file(st, c, rv->sch, account, account_id,
		    de->d_name, NULL, 1) == -1)
			rv->rc = -1;
	}
	closedir(d);
	return 0;
}

int
spool_recover(struct store *st, const struct conf *c, const struct schema *sch)
{
	struct recovery	 rv = { st, c, sch, 0 };

	if (account_each(st, recover_account, &rv) == -1)
		return -1;
	return rv.rc;
}
