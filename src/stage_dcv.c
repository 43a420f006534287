/*
 * stage_dcv.c: the email domain control stage (SPEC 3.4) and the Email
 * DCV it starts.
 *
 * Organization- and sponsor-validated products: each recipient's email
 * domain needs a domain validation of the order's organization less than
 * 398 days old (S/MIME BR 3.2.2.1, 4.2.1).  Public email provider domains
 * are refused unless the organization prevalidated them.  Otherwise an
 * Email DCV is started: a random token (160 bits, only its SHA-256
 * stored, valid 30 days) mailed to the five constructed addresses of the
 * domain.  Mailbox-validated products: each mailbox needs a mailbox
 * validation less than 30 days old (S/MIME BR 3.2.2.2, 4.2.1), else a
 * token valid 24 hours is mailed to the mailbox itself.  Either way the
 * order waits in waiting_dcv until the token is confirmed: the message
 * links the portal's confirmation page (WEB_BASE_URL/confirm/TOKEN,
 * portal_confirm.c), and certspool domain confirm TOKEN stays for
 * support (both in confirm.c).  A
 * domain's open DNS TXT, DNS CNAME or HTTP DCVs (dcv_net.c) are looked up
 * each time the stage needs the domain, so a published record validates
 * it in the next pass; while one is open no Email DCV is started.
 *
 * Whether a validation may be reused, which requests are open and the
 * rows themselves are store_dcv.c's.
 *
 * Messages are written inside the pipeline's transaction and named after
 * the dcv row (dcv-<id>-<local part>).  Rows are never deleted, so a
 * committed row's id is never handed out again and its messages are
 * never overwritten; after a rollback SQLite hands the same id to the
 * retried row, whose messages then replace the void ones.  A void
 * message that escapes anyway (piped to sendmail before the rollback)
 * carries a token no row has, which certspool domain confirm refuses.
 *
 * Failure policy: a bad or public domain rejects the order; a store
 * error or a message that cannot be written makes the order wait (it is
 * evaluated again next pass) and is logged.  A dry run writes nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "stage.h"
#include "dcv.h"
#include "portal_token.h"

/* The constructed addresses of S/MIME BR 3.2.2.1 via TLS BR 3.2.2.4.4. */
static const char *const constructed[] = {
	"admin", "administrator", "webmaster", "hostmaster", "postmaster",
};
#define NCONSTRUCTED	(sizeof(constructed) / sizeof(constructed[0]))

/* Distinct names an order needs validated, and which still lack it. */
struct want {
	char	**name;
	int	 *ok;
	size_t	  n;
	char	  note[320];	/* why a DNS/HTTP DCV did not match yet */
};

int
is_public_domain(const struct conf *c, const char *domain)
{
	const char	*p, *end;
	size_t		 len = strlen(domain), n;

	if (c->public_email_domains == NULL)
		return 0;
	for (p = c->public_email_domains; *p != '\0'; p = end) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == len && n > 0 && strncasecmp(p, domain, n) == 0)
			return 1;
	}
	return 0;
}

int
valid_domain(const char *s)
{
	size_t	 len = strlen(s), i, label = 0, start = 0, dots = 0;
	int	 alldigit = 1;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			/* Reserved LDH labels: only xn-- (RFC 5890 2.3.1). */
			if (label >= 4 && s[start + 2] == '-' &&
			    s[start + 3] == '-' && strncmp(s + start, "xn", 2))
				return 0;
			if (c == '.')
				dots++;
			label = 0;
			start = i + 1;
			if (c == '\0')
				break;
			alldigit = 1;
			continue;
		}
		if (c > 0x7f || !(islower(c) || isdigit(c) || c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (!isdigit(c))
			alldigit = 0;
		label++;
	}
	/* A top-level label of digits only would be an address. */
	return dots > 0 && !alldigit;
}

static void
want_add(struct want *w, const char *name)
{
	size_t	 i;
	char	**nv;
	int	 *okv;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->name[i], name) == 0)
			return;
	nv = xcalloc(w->n + 1, sizeof(*nv));
	okv = xcalloc(w->n + 1, sizeof(*okv));
	if (w->n > 0) {
		memcpy(nv, w->name, w->n * sizeof(*nv));
		memcpy(okv, w->ok, w->n * sizeof(*okv));
	}
	free(w->name);
	free(w->ok);
	w->name = nv;
	w->ok = okv;
	w->name[w->n++] = xstrdup(name);
}

static void
want_free(struct want *w)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		free(w->name[i]);
	free(w->name);
	free(w->ok);
	memset(w, 0, sizeof(*w));
}

/* "a.example, b.example" of the names not ok, at most len bytes. */
static void
want_list(const struct want *w, char *out, size_t len)
{
	size_t	 i, used = 0;
	int	 n;

	out[0] = '\0';
	for (i = 0; i < w->n; i++) {
		if (w->ok[i])
			continue;
		n = snprintf(out + used, len - used, "%s%s",
		    used ? ", " : "", w->name[i]);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* Mark a dcv row whose messages could not all be written as failed. */
static int
dcv_failed(struct store *st, long long id, long long batch, long long order,
    const char *what)
{
	char	 detail[320];
	int	 n;

	/* A detail cut short at a long address is still the detail. */
	n = snprintf(detail, sizeof(detail), "dcv %lld: message to %s not "
	    "written; a later attempt starts afresh", id, what);
	if (n < 0)
		detail[0] = '\0';
	return dcv_fail(st, id, batch, order, detail);
}

/* Write one confirmation message as dcv-<id>-<tag>.eml. */
static int
dcv_mail(const struct conf *c, long long id, const char *tag,
    const char *hash, const char *to, const char *subject, const char *body)
{
	struct mail_msg	 m;
	char		 name[96], seed[160];

	snprintf(name, sizeof(name), "dcv-%lld-%s", id, tag);
	/* Stable per message, distinct for a retried row's new token. */
	snprintf(seed, sizeof(seed), "%s-%.16s", name, hash);
	memset(&m, 0, sizeof(m));
	m.from = c->mail_from;
	m.to = to;
	m.subject = subject;
	m.body = body;
	m.message_id_seed = seed;
	return mail_send(c, name, &m);
}

int
dcv_start_email(struct store *st, const struct conf *c, long long domain_id,
    struct dcv_start *ds)
{
	struct dcv_new	 n;
	struct buf	 body = { 0 };
	char		*domain = NULL, *org = NULL;
	char		 tok[DCV_TOKEN_CHARS + 1], hash[65], exp[32];
	char		 to[320], subject[320], detail[512], link[512];
	long long	 now = clock_now(), account = 0, id;
	size_t		 i;
	int		 rc = -1, found;

	if ((found = dcv_domain(st, domain_id, &domain, &org, &account)) != 1) {
		if (found == 0)
			log_err("dcv: domain %lld does not exist", domain_id);
		goto out;
	}

	token_new(tok, DCV_TOKEN_CHARS);
	token_hash(tok, hash);
	memset(&n, 0, sizeof(n));
	n.method = "email";
	n.domain_id = domain_id;
	n.account_id = account;
	n.token_hash = hash;
	if (dcv_request_new(st, &n, now) == -1)
		goto out;
	ds->expires = (time_t)n.expires;
	ds->id = id = n.id;
	time_fmt(ds->expires, exp, sizeof(exp));
	portal_link(c, "confirm", tok, link, sizeof(link));

	snprintf(subject, sizeof(subject), "Confirm control of %s for S/MIME "
	    "certificates", domain);
	buf_addf(&body, "The organization \"%s\" asked for S/MIME "
	    "certificates for email addresses at %s.\n\n"
	    "This message goes to the administrative addresses of %s "
	    "(admin, administrator, webmaster, hostmaster and postmaster) "
	    "so that whoever controls the domain can confirm it (Email "
	    "domain control validation, S/MIME BR 3.2.2.1).\n\n"
	    "To confirm, open this link and press the button on the "
	    "page (opening it alone confirms nothing):\n\n"
	    "    %s\n\n"
	    "The link is valid until %s and works once.  If it cannot be "
	    "opened, the certificate authority's support can confirm with "
	    "this token:\n\n"
	    "    certspool domain confirm %s\n\n"
	    "If you did not expect this message, ignore it: without the "
	    "confirmation no certificate is issued for %s.\n", org, domain,
	    domain, link, exp, tok, domain);

	for (i = 0; i < NCONSTRUCTED; i++) {
		snprintf(to, sizeof(to), "%s@%s", constructed[i], domain);
		if (dcv_mail(c, id, constructed[i], hash, to, subject,
		    (const char *)body.p) == -1) {
			log_err("dcv %lld: %s: confirmation message not "
			    "written", id, to);
			(void)dcv_failed(st, id, ds->batch_id, ds->order_id,
			    to);
			goto out;
		}
	}
	snprintf(detail, sizeof(detail), "email dcv %lld for %s of "
	    "organization \"%s\" (S/MIME BR 3.2.2.1): token sent to admin@, "
	    "administrator@, webmaster@, hostmaster@, postmaster@; expires %s",
	    id, domain, org, exp);
	if (dcv_started(st, ds->batch_id, ds->order_id, detail) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&body);
	free(domain);
	free(org);
	return rc;
}

/* Mailbox control (S/MIME BR 3.2.2.2): a token to the mailbox itself. */
static int
dcv_start_mailbox(struct eval *e, const char *mailbox)
{
	struct order	*o = e->o;
	struct dcv_new	 n;
	struct buf	 body = { 0 };
	char		 tok[DCV_TOKEN_CHARS + 1], hash[65], exp[32];
	char		 detail[512], link[512];
	long long	 now = clock_now(), id;
	int		 rc = -1;

	token_new(tok, DCV_TOKEN_CHARS);
	token_hash(tok, hash);
	memset(&n, 0, sizeof(n));
	n.method = "mailbox";
	n.account_id = o->account_id;
	n.mailbox = mailbox;
	n.token_hash = hash;
	if (dcv_request_new(e->st, &n, now) == -1)
		goto out;
	id = n.id;
	time_fmt((time_t)n.expires, exp, sizeof(exp));
	portal_link(e->conf, "confirm", tok, link, sizeof(link));

	buf_addf(&body, "An S/MIME certificate was ordered for this "
	    "mailbox, %s.\n\n"
	    "To confirm that you control it (S/MIME BR 3.2.2.2), open "
	    "this link and press the button on the page (opening it alone "
	    "confirms nothing):\n\n"
	    "    %s\n\n"
	    "The link is valid until %s and works once.  If it cannot be "
	    "opened, the certificate authority's support can confirm with "
	    "this token:\n\n"
	    "    certspool domain confirm %s\n\n"
	    "If you did not expect this message, ignore it: without the "
	    "confirmation no certificate is issued for this mailbox.\n",
	    mailbox, link, exp, tok);
	if (dcv_mail(e->conf, id, "mailbox", hash, mailbox,
	    "Confirm your mailbox for an S/MIME certificate",
	    (const char *)body.p) == -1) {
		log_err("dcv %lld: %s: confirmation message not written", id,
		    mailbox);
		(void)dcv_failed(e->st, id, o->batch_id, o->id, mailbox);
		goto out;
	}
	snprintf(detail, sizeof(detail), "mailbox dcv %lld for %s (S/MIME "
	    "BR 3.2.2.2): token sent to the mailbox; expires %s", id,
	    mailbox, exp);
	if (dcv_started(e->st, o->batch_id, o->id, detail) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&body);
	return rc;
}

/* Mailbox-validated products: 0 with w->ok filled, or -1 (store). */
static int
check_mailboxes(struct eval *e, struct want *w)
{
	long long	 open, acct = e->o->account_id;
	size_t		 i;
	int		 v;

	for (i = 0; i < w->n; i++) {
		if ((v = dcv_mailbox_reusable(e->st, acct, w->name[i],
		    clock_now())) == -1)
			return -1;
		if ((w->ok[i] = v > 0) || e->dry_run)
			continue;
		if (dcv_expire_due_mailbox(e->st, acct, w->name[i],
		    clock_now()) == -1)
			return -1;
		if ((open = dcv_mailbox_pending(e->st, acct, w->name[i],
		    clock_now())) == -1)
			return -1;
		if (open == 0 && dcv_start_mailbox(e, w->name[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Is domain validated for the order's organization within 398 days?  If
 * not, its open DNS/HTTP DCVs are looked up now (dcv_net.c); a match
 * validates it.  Why they did not match goes to w->note.
 */
static int
domain_valid(struct eval *e, struct want *w, const char *domain, int *ok)
{
	long long	 did;
	char		 note[320];
	int		 v;

	if ((v = dcv_domain_reusable(e->st, e->o->org_id, domain,
	    clock_now())) == -1)
		return -1;
	if ((*ok = v > 0))
		return 0;
	if ((did = domain_find(e->st, e->o->org_id, domain)) == -1)
		return -1;
	if (did == 0)
		return 0;
	if (dcv_net_check(e->st, e->conf, did, e->o->batch_id, e->o->id,
	    e->dry_run, ok, note, sizeof(note)) == -1)
		return -1;
	if (!*ok && note[0] != '\0' && w->note[0] == '\0')
		strlcpy_(w->note, note, sizeof(w->note));
	return 0;
}

/* Make sure an Email DCV is under way for domain; 0 or -1. */
static int
domain_start(struct eval *e, const char *domain)
{
	struct dcv_start ds;
	long long	 did, open;

	if ((did = domain_find(e->st, e->o->org_id, domain)) == -1)
		return -1;
	if (did == 0 && (did = domain_add(e->st, e->o->org_id, domain,
	    e->o->batch_id, e->o->id, "from an order")) == -1)
		return -1;
	if (dcv_expire_due_email(e->st, did, clock_now()) == -1)
		return -1;
	/* An open DNS/HTTP DCV (the organization chose it) is enough too. */
	if ((open = dcv_domain_pending(e->st, did, clock_now())) == -1)
		return -1;
	if (open > 0)
		return 0;
	memset(&ds, 0, sizeof(ds));
	ds.batch_id = e->o->batch_id;
	ds.order_id = e->o->id;
	return dcv_start_email(e->st, e->conf, did, &ds);
}

/*
 * Organization- and sponsor-validated products.  Returns 0 with w->ok
 * filled, 1 when the order was rejected (public domain), -1 on error.
 */
static int
check_domains(struct eval *e, struct want *w)
{
	size_t	 i;

	for (i = 0; i < w->n; i++) {
		if (domain_valid(e, w, w->name[i], &w->ok[i]) == -1)
			return -1;
		if (!w->ok[i] && is_public_domain(e->conf, w->name[i])) {
			eval_reject(e, "public_email_domain", "%s is a public "
			    "email provider's domain; only "
			    "secure_email_individual may use it, or the "
			    "organization must prevalidate it (SPEC 3.4)",
			    w->name[i]);
			return 1;
		}
	}
	if (e->dry_run)
		return 0;
	for (i = 0; i < w->n; i++)
		if (!w->ok[i] && domain_start(e, w->name[i]) == -1)
			return -1;
	return 0;
}

enum stage_rc
stage_dcv(struct eval *e)
{
	struct order	*o = e->o;
	struct want	 w = { 0 };
	char		 mailbox[320], list[400];
	const char	*dom;
	size_t		 i, j, pending = 0;
	int		 mbx, rc;
	enum stage_rc	 src = STAGE_PASS;

	if (o->prod == NULL)
		abort();	/* stage_terms runs first */
	mbx = o->prod->vtype == VT_MAILBOX;
	if (!mbx && o->org_id == 0) {
		eval_reject(e, "organization_missing", "product %s needs an "
		    "organization for domain control validation", o->prod->name);
		return STAGE_REJECT;
	}

	for (i = 0; i < o->nr; i++) {
		struct rcpt *r = &o->r[i];

		if (strcmp(r->state, S_ISSUED) == 0 ||
		    strcmp(r->state, S_REJECTED) == 0 ||
		    strcmp(r->state, S_CANCELLED) == 0 ||
		    strcmp(r->state, S_APPROVED) == 0)
			continue;
		if ((dom = email_domain(r->email)) == NULL ||
		    (size_t)snprintf(mailbox, sizeof(mailbox), "%s",
		    r->email) >= sizeof(mailbox)) {
			eval_reject(e, "email_domain_invalid", "recipient %d: "
			    "\"%s\" is not an email address", r->idx + 1,
			    r->email ? r->email : "");
			src = STAGE_REJECT;
			goto done;
		}
		/* The domain is case-insensitive, the local part is not. */
		for (j = (size_t)(dom - r->email); mailbox[j] != '\0'; j++)
			mailbox[j] = (char)tolower((unsigned char)mailbox[j]);
		dom = mailbox + (dom - r->email);
		if (!valid_domain(dom)) {
			eval_reject(e, "email_domain_invalid", "recipient %s: "
			    "domain \"%s\" is not a host name of LDH labels "
			    "(internationalized domains as A-labels, xn--)",
			    r->email, dom);
			src = STAGE_REJECT;
			goto done;
		}
		want_add(&w, mbx ? mailbox : dom);
	}

	if (mbx)
		rc = check_mailboxes(e, &w);
	else
		rc = check_domains(e, &w);
	if (rc == -1)
		goto fail;
	if (rc == 1) {
		src = STAGE_REJECT;
		goto done;
	}

	for (i = 0; i < w.n; i++)
		if (!w.ok[i])
			pending++;
	if (pending == 0)
		goto done;
	want_list(&w, list, sizeof(list));
	if (mbx)
		eval_wait(e, S_WAIT_DCV, "mailbox control validation (S/MIME BR "
		    "3.2.2.2) pending for %s: a confirmation message with a "
		    "link valid 24 hours went to each mailbox; confirming "
		    "at the link (or certspool domain confirm TOKEN) "
		    "completes it", list);
	else if (w.note[0] != '\0')
		eval_wait(e, S_WAIT_DCV, "domain control validation (S/MIME BR "
		    "3.2.2.1) pending for %s: the open DNS/HTTP DCV is looked "
		    "up again each pass (%s)", list, w.note);
	else
		eval_wait(e, S_WAIT_DCV, "domain control validation (S/MIME BR "
		    "3.2.2.1) pending for %s: a confirmation message with a "
		    "token valid 30 days went to admin@, administrator@, "
		    "webmaster@, hostmaster@ and postmaster@ of %s; "
		    "confirming at the link (or certspool domain confirm "
		    "TOKEN) completes it", list,
		    pending > 1 ? "each domain" : "the domain");
	src = STAGE_WAIT;
	goto done;

fail:
	log_err("order %lld: domain control stage: store or mail error; "
	    "retried on the next pass", o->id);
	src = STAGE_ERROR;
done:
	want_free(&w);
	return src;
}
