/*
 * cmd_check.c: certspool check FILE [--account NAME], a dry run of a
 * batch (or csrSubmission) file.  The file is opened like an inbound one
 * (no symbolic link, a regular file of one link, at most max_batch_bytes),
 * parsed by the real parser with the XML Schema and stored as the spool
 * would store it, inside one transaction that is always rolled back.
 * Every order then runs through the stages as pipeline.c evaluate() runs
 * them, with e.dry_run set (no validation request, no DCV, no mail; DNS
 * and CAA are looked up), and the state it would reach is printed:
 *
 *   order ID STATE[ REASON][: MESSAGE]
 *     recipient EMAIL STATE[ REASON][: MESSAGE]
 *
 * "issued" means the order passed every stage and would be signed in
 * the same pass.  Nothing is charged, signed, stored, written or mailed.
 * Failure policy: a file the spool would refuse is listed with its
 * problems and exit 1; a store error rolls back and says so.  The
 * recipients' states move through rcpt_move() (store_state.h) as the
 * daemon's do; a move the state machine refuses is reported and not
 * made (exit 1).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "extern.h"
#include "store_account.h"
#include "batch.h"
#include "ca.h"
#include "spool.h"
#include "cmd.h"
#include "pipeline.h"
#include "store_check.h"
#include "store_order.h"
#include "store_list.h"
#include "store_state.h"

#define CHECK_GROUP	256

struct dry {
	struct store		*st;
	const struct conf	*conf;
	struct problems		*pr;
	const char		*want;		/* --account, or NULL */
	char			 account[64];
	long long		 account_id;
	long long		 batch_id;
	enum doc_kind		 kind;
	char			 sha[65];
	const char		*name;
	int			 norders;
	long long		*csr_orders;	/* orders a csrSubmission feeds */
	size_t			 ncsr;
	int			 dberr;
};

static int
db_problem(struct dry *d, int line)
{
	problems_add(d->pr, line, "database error");
	d->dberr = 1;
	return -1;
}

/* ---- the spool's storing, inside the rolled-back transaction ---- */

static int
on_head(void *arg, const struct batch_head *h)
{
	struct dry	*d = arg;
	const char	*acct = d->want ? d->want : h->account;
	int		 n;

	d->kind = h->kind;
	if (d->want != NULL && h->account != NULL &&
	    strcmp(d->want, h->account) != 0) {
		problems_add(d->pr, 0, "document names account \"%s\" but "
		    "--account says \"%s\"", h->account, d->want);
		return -1;
	}
	if (acct == NULL) {
		problems_add(d->pr, 0, "the document names no account; give "
		    "--account NAME");
		return -1;
	}
	strlcpy_(d->account, acct, sizeof(d->account));
	if ((d->account_id = account_lookup(d->st, acct)) == -1)
		return db_problem(d, 0);
	if (d->account_id == 0) {
		problems_add(d->pr, 0, "no account \"%s\"", acct);
		return -1;
	}
	if ((n = check_file_seen(d->st, d->account_id, d->sha)) == -1)
		return db_problem(d, 0);
	if (n > 0) {
		problems_add(d->pr, 0, "the same file (SHA-256 %s) was already "
		    "received; not processed twice", d->sha);
		return -1;
	}
	if (h->kind != DOC_BATCH)
		return 0;
	if ((n = check_batch_seen(d->st, d->account_id, h->id)) == -1)
		return db_problem(d, 0);
	if (n > 0) {
		problems_add(d->pr, 0, "batch id \"%s\" was already submitted; "
		    "not processed twice", h->id);
		return -1;
	}
	if ((d->batch_id = check_batch_store(d->st, d->account_id, h,
	    d->sha, d->name)) == -1)
		return db_problem(d, 0);
	return 0;
}

static int
on_order(void *arg, const struct order_in *o)
{
	struct dry	*d = arg;
	int		 line;

	if (order_store(d->st, d->batch_id, o, &line) == -1) {
		if (!check_failed_on_constraint(d->st))
			return db_problem(d, line);
		problems_add(d->pr, o->line, "order id \"%s\" appears more than "
		    "once in the batch", o->id);
		return -1;
	}
	d->norders++;
	return 0;
}

static int
on_csr(void *arg, const struct csr_in *c)
{
	struct dry	*d = arg;
	long long	 rid, oid, *nv;

	if (check_csr_waiting(d->st, d->account_id, c->order, c->email, &rid,
	    &oid) == -1)
		return db_problem(d, c->line);
	if (rid == 0) {
		problems_add(d->pr, c->line, "no recipient %s in order \"%s\" "
		    "of this account is waiting for a CSR", c->email, c->order);
		return 0;
	}
	if (check_csr_take(d->st, rid, oid, c->csr) == -1)
		return db_problem(d, c->line);
	nv = xcalloc(d->ncsr + 1, sizeof(*nv));
	if (d->ncsr > 0)
		memcpy(nv, d->csr_orders, d->ncsr * sizeof(*nv));
	free(d->csr_orders);
	d->csr_orders = nv;
	d->csr_orders[d->ncsr++] = oid;
	return 0;
}

static const char *
shown(const char *state)
{
	return strcmp(state, S_APPROVED) == 0 ? S_ISSUED : state;
}

static void
print_line(const char *indent, const char *what, const char *id,
    const char *state, const char *reason, const char *msg)
{
	printf("%s%s %s %s%s%s%s%s\n", indent, what, id, shown(state),
	    reason && *reason ? " " : "", reason ? reason : "",
	    msg && *msg ? ": " : "", msg ? msg : "");
}

/* Print where the evaluated order would stand (pipeline.c's rules). */
static void
print_order(const struct eval *e)
{
	static const char *waits[] = { S_WAIT_ORG, S_WAIT_DCV, S_WAIT_CSR,
	    S_WAIT_FUNDS };
	const struct order	*o = e->o;
	const char		*state = NULL, *reason = "", *msg = "";
	char			 buf[160];
	size_t			 i, w;
	int			 ok = 0, rej = 0;

	if (strcmp(e->state, S_REJECTED) == 0) {
		state = S_REJECTED;
		reason = e->reason;
		msg = e->message;
	}
	for (w = 0; state == NULL && w < sizeof(waits) / sizeof(waits[0]);
	    w++)
		for (i = 0; i < o->nr; i++)
			if (strcmp(o->r[i].new_state, waits[w]) == 0) {
				state = waits[w];
				msg = e->message[0] ? e->message :
				    o->r[i].message;
				break;
			}
	if (state == NULL) {
		for (i = 0; i < o->nr; i++) {
			if (strcmp(o->r[i].new_state, S_APPROVED) == 0 ||
			    strcmp(o->r[i].new_state, S_ISSUED) == 0)
				ok++;
			else
				rej++;
		}
		if (rej == 0)
			state = S_ISSUED;
		else if (ok == 0 && o->nr == 1) {
			state = S_REJECTED;
			reason = o->r[0].reason;
			msg = o->r[0].message;
		} else {
			state = S_REJECTED;
			reason = "recipients_rejected";
			if (ok == 0)
				snprintf(buf, sizeof(buf), "every recipient "
				    "would be refused; see each recipient");
			else
				snprintf(buf, sizeof(buf), "%d of %zu "
				    "recipients would be refused; the others "
				    "issued", rej, o->nr);
			msg = buf;
		}
	}
	print_line("", "order", o->ext_id, state, reason, msg);
	for (i = 0; i < o->nr; i++)
		print_line("  ", "recipient", o->r[i].email, o->r[i].new_state,
		    o->r[i].reason, strcmp(o->r[i].new_state, state) == 0 &&
		    strcmp(o->r[i].message, msg) == 0 ? "" : o->r[i].message);
}

/* An order intake refused, as stored (reason and message). */
static int
print_refused(struct store *st, const struct order *o)
{
	char		*reason, *message;
	size_t		 i;

	if (check_refusal(st, o->id, &reason, &message) == -1)
		return -1;
	print_line("", "order", o->ext_id, S_REJECTED, reason, message);
	free(reason);
	free(message);
	for (i = 0; i < o->nr; i++)
		print_line("  ", "recipient", o->r[i].email, o->r[i].state,
		    NULL, NULL);
	return 0;
}

/*
 * Keep recipient r's outcome in the transaction.  A move the state
 * machine refuses is a bug of the stages, which the daemon would hit
 * too: it is reported, counted in *refused, and not forced.  0 or -1.
 */
static int
keep_outcome(struct store *st, const struct order *o, const struct rcpt *r,
    int *refused)
{
	struct state_move	 m;
	int			 rc;

	rcpt_outcome(o, r, &m);
	if ((rc = check_rcpt_keep(st, &m, r->spki)) == 1) {
		cli_err("check: order %s, recipient %s: the state machine "
		    "(SPEC 4) refuses the move %s -> %s; not made", o->ext_id,
		    r->email, m.from, m.to);
		(*refused)++;
	}
	return rc == -1 ? -1 : 0;
}

/* Evaluate one order dry and print it; its recipients' outcome is kept
 * in the transaction so later orders see their keys.  0 or -1. */
static int
check_order(struct store *st, const struct conf *c, const struct ca *ca,
    long long id, int *refused)
{
	struct eval	 e;
	size_t		 i;
	int		 rc = -1;

	memset(&e, 0, sizeof(e));
	e.st = st;
	e.conf = c;
	e.ca = ca;
	e.dry_run = 1;
	if ((e.o = order_load(st, id)) == NULL)
		return -1;
	if (strcmp(e.o->state, S_REJECTED) == 0) {
		/* Refused at intake (order_check.c): no stage runs. */
		rc = print_refused(st, e.o);
		goto out;
	}
	if (pipeline_eval(&e) == -1)
		goto out;
	print_order(&e);
	for (i = 0; i < e.o->nr; i++)
		if (keep_outcome(st, e.o, &e.o->r[i], refused) == -1)
			goto out;
	rc = 0;
out:
	order_free(e.o);
	return rc;
}

static int
check_batch_orders(struct store *st, const struct conf *c,
    const struct ca *ca, long long batch_id, int *refused)
{
	long long	 ids[CHECK_GROUP], last = 0;
	int		 n, i;

	for (;;) {
		if ((n = check_order_ids(st, batch_id, last, ids,
		    CHECK_GROUP)) == -1)
			return -1;
		if (n == 0)
			return 0;
		last = ids[n - 1];
		for (i = 0; i < n; i++)
			if (check_order(st, c, ca, ids[i], refused) == -1)
				return -1;
	}
}

int
cmd_check(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "check FILE [--account NAME]";
	struct problems	 pr = { 0 };
	struct dry	 d;
	struct batch_cb	 cb;
	struct schema	*sch = NULL;
	struct ca	*ca = NULL;
	struct stat	 sb;
	const char	*file = NULL, *base;
	char		 err[512];
	size_t		 i;
	int		 fd = -1, rc = 1, k, refused = 0;

	memset(&d, 0, sizeof(d));
	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--help") == 0) {
			printf("usage: certspool %s\n", usage);
			return 0;
		}
		if (strcmp(argv[k], "--account") == 0 && k + 1 < argc)
			d.want = argv[++k];
		else if (strncmp(argv[k], "--account=", 10) == 0)
			d.want = argv[k] + 10;
		else if (argv[k][0] == '-' || file != NULL)
			return cli_err("usage: certspool %s", usage);
		else
			file = argv[k];
	}
	if (file == NULL)
		return cli_err("usage: certspool %s", usage);
	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;

	fd = fs_open_untrusted(AT_FDCWD, file, (off_t)env->conf->max_batch_bytes,
	    &sb, err, sizeof(err));
	if (fd == -1)
		return cli_err("check: %s: %s", file, err);
	if (sb.st_size == 0) {
		rc = cli_err("check: %s: empty file", file);
		goto out;
	}
	if (fs_sha256(fd, d.sha) == -1) {
		rc = cli_err("check: %s: read error", file);
		goto out;
	}
	if ((sch = schema_load(schema_path(), err, sizeof(err))) == NULL) {
		rc = cli_err("check: schema: %s", err);
		goto out;
	}
	if ((ca = ca_load(env->conf->ca_dir, err, sizeof(err))) == NULL)
		fprintf(stderr, "certspool: check: issuing CA not loaded (%s); "
		    "signature hashes are not checked against its key\n", err);

	d.st = env->st;
	d.conf = env->conf;
	d.pr = &pr;
	d.name = base;
	memset(&cb, 0, sizeof(cb));
	cb.arg = &d;
	cb.on_head = on_head;
	cb.on_order = on_order;
	cb.on_csr = on_csr;
	if (store_begin(env->st) == -1) {
		rc = cli_err("check: database busy");
		goto out;
	}
	if ((batch_parse(sch, fd, base, &cb, &pr) != 0 || pr.n > 0) &&
	    pr.n == 0)
		problems_add(&pr, 0, "%s: refused", base);
	if (pr.n == 0 && d.kind == DOC_BATCH && d.norders == 0)
		problems_add(&pr, 0, "batch has no orders");
	if (d.dberr) {
		rc = cli_err("check: database error");
		goto out;
	}
	if (pr.n > 0) {
		printf("check %s: the spool would reject this file (%zu "
		    "problem%s):\n", file, pr.n, pr.n == 1 ? "" : "s");
		for (i = 0; i < pr.n; i++)
			printf("  line %d: %s\n", pr.v[i].line, pr.v[i].text);
		rc = cli_err("check: %s would be rejected", file);
		goto out;
	}
	if (d.kind == DOC_REVOCATION) {
		printf("check %s: revocation document of account %s: valid; "
		    "what it selects is decided when the daemon takes it\n",
		    file, d.account);
		rc = 0;
		goto out;
	}
	if (d.kind == DOC_BATCH)
		printf("check %s: batch of account %s, %d order%s; dry run: "
		    "nothing is stored, charged, signed or mailed\n", file,
		    d.account, d.norders, d.norders == 1 ? "" : "s");
	else
		printf("check %s: csrSubmission of account %s, %zu CSR%s; dry "
		    "run: nothing is stored, charged, signed or mailed\n", file,
		    d.account, d.ncsr, d.ncsr == 1 ? "" : "s");
	if (d.kind == DOC_BATCH) {
		if (check_batch_orders(env->st, env->conf, ca, d.batch_id,
		    &refused) == -1)
			goto dberr;
	} else
		for (i = 0; i < d.ncsr; i++) {
			/* Once per order, however many CSRs it got. */
			size_t j;

			for (j = 0; j < i && d.csr_orders[j] != d.csr_orders[i];
			    j++)
				;
			if (j == i && check_order(env->st, env->conf, ca,
			    d.csr_orders[i], &refused) == -1)
				goto dberr;
		}
	rc = 0;
	if (refused > 0)
		rc = cli_err("check: the state machine refused %d recipient "
		    "move%s (see above)", refused, refused == 1 ? "" : "s");
	goto out;
dberr:
	rc = cli_err("check: database error; nothing was changed");
out:
	store_rollback(env->st);
	if (fd != -1)
		close(fd);
	schema_free(sch);
	ca_free(ca);
	problems_free(&pr);
	free(d.csr_orders);
	return rc;
}
