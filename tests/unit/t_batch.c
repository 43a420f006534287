/*
 * t_batch: the streaming batch parser (batch.c) and its schema
 * (schemas/batch-1.xsd) over the SPEC examples, the corpus in
 * tests/data/xml/ and documents generated here (many orders, deep
 * nesting, a huge text node).
 *
 * Runs from the repository root.  The SPEC examples are read from
 * $CERTSPOOL_SPEC_EXAMPLES, else ../shared/spec/examples; their copies in
 * tests/data/xml/valid/ are always tested.  T_VERBOSE=1 prints problems.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "t.h"

#define CORPUS		"tests/data/xml"
#define MAXKEEP		8

/* Sanitizers: slower, and AddressSanitizer keeps freed memory. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SAN	1
#endif
#endif
#ifndef UNDER_SAN
#define UNDER_SAN	0
#endif

/* What the callbacks saw. */
struct got {
	int			 nhead;
	int			 head_before_first;	/* on_head came first */
	struct batch_head	 head;
	size_t			 norder;
	struct order_in		 ord[MAXKEEP];
	size_t			 ncsr;
	struct csr_in		 csr[MAXKEEP];
	int			 leaked;	/* expanded entity text seen */
	int			 refuse_at;	/* on_order returns 1 at this */
	struct problems		*pr;
};

static struct schema	*xsd;
static int		 verbose;

static char *
sdup(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static int
leaky(const char *s)
{
	return s != NULL && (strstr(s, "root:") != NULL ||
	    strstr(s, "lollol") != NULL);
}

static int
cb_head(void *arg, const struct batch_head *h)
{
	struct got	*g = arg;

	g->nhead++;
	if (g->norder == 0 && g->ncsr == 0)
		g->head_before_first = 1;
	g->head.kind = h->kind;
	g->head.id = sdup(h->id);
	g->head.account = sdup(h->account);
	g->head.created = sdup(h->created);
	g->head.att_officer = sdup(h->att_officer);
	g->head.att_title = sdup(h->att_title);
	return 0;
}

static int
cb_order(void *arg, const struct order_in *o)
{
	struct got	*g = arg;
	struct order_in	*c;
	size_t		 i;

	if (leaky(o->organization) || leaky(o->id))
		g->leaked = 1;
	if (g->refuse_at != 0 && (size_t)g->refuse_at == g->norder + 1) {
		g->norder++;
		return 1;
	}
	if (g->norder++ >= MAXKEEP)
		return 0;
	c = &g->ord[g->norder - 1];
	*c = *o;
	c->id = sdup(o->id);
	c->product = sdup(o->product);
	c->organization = sdup(o->organization);
	c->sig_hash = sdup(o->sig_hash);
	c->vvalue = sdup(o->vvalue);
	c->att_officer = sdup(o->att_officer);
	c->att_title = sdup(o->att_title);
	c->additional_emails = sdup(o->additional_emails);
	c->pay_method = sdup(o->pay_method);
	c->pay_ref = sdup(o->pay_ref);
	c->rcpt = xcalloc(o->nrcpt, sizeof(*c->rcpt));
	for (i = 0; i < o->nrcpt; i++) {
		c->rcpt[i] = o->rcpt[i];
		c->rcpt[i].cn = sdup(o->rcpt[i].cn);
		c->rcpt[i].given_name = sdup(o->rcpt[i].given_name);
		c->rcpt[i].surname = sdup(o->rcpt[i].surname);
		c->rcpt[i].pseudonym = sdup(o->rcpt[i].pseudonym);
		c->rcpt[i].email = sdup(o->rcpt[i].email);
		c->rcpt[i].csr = sdup(o->rcpt[i].csr);
		c->rcpt[i].keygen = sdup(o->rcpt[i].keygen);
		if (leaky(c->rcpt[i].cn) || leaky(c->rcpt[i].email))
			g->leaked = 1;
	}
	return 0;
}

static int
cb_csr(void *arg, const struct csr_in *c)
{
	struct got	*g = arg;

	if (g->ncsr++ >= MAXKEEP)
		return 0;
	g->csr[g->ncsr - 1].line = c->line;
	g->csr[g->ncsr - 1].order = sdup(c->order);
	g->csr[g->ncsr - 1].email = sdup(c->email);
	g->csr[g->ncsr - 1].csr = sdup(c->csr);
	return 0;
}

static void
got_free(struct got *g)
{
	size_t	 i, j;

	free(g->head.id);
	free(g->head.account);
	free(g->head.created);
	free(g->head.att_officer);
	free(g->head.att_title);
	for (i = 0; i < g->norder && i < MAXKEEP; i++) {
		struct order_in *o = &g->ord[i];

		if (o->rcpt == NULL && o->id == NULL)
			continue;
		for (j = 0; j < o->nrcpt; j++) {
			free(o->rcpt[j].cn);
			free(o->rcpt[j].given_name);
			free(o->rcpt[j].surname);
			free(o->rcpt[j].pseudonym);
			free(o->rcpt[j].email);
			free(o->rcpt[j].csr);
			free(o->rcpt[j].keygen);
		}
		free(o->rcpt);
		free(o->id);
		free(o->product);
		free(o->organization);
		free(o->sig_hash);
		free(o->vvalue);
		free(o->att_officer);
		free(o->att_title);
		free(o->additional_emails);
		free(o->pay_method);
		free(o->pay_ref);
	}
	for (i = 0; i < g->ncsr && i < MAXKEEP; i++) {
		free(g->csr[i].order);
		free(g->csr[i].email);
		free(g->csr[i].csr);
	}
	memset(g, 0, sizeof(*g));
}

static double
now_sec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
maxrss_kb(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Parse path into g (cleared first) and pr; returns batch_parse's result
 * or -2 if the file cannot be opened. */
static int
parse_path(const char *path, struct got *g, struct problems *pr,
    double *secs)
{
	struct batch_cb	 cb;
	double		 t0;
	size_t		 i;
	int		 fd, rc, refuse = g->refuse_at;

	memset(g, 0, sizeof(*g));
	g->refuse_at = refuse;
	g->pr = pr;
	memset(pr, 0, sizeof(*pr));
	cb.arg = g;
	cb.on_head = cb_head;
	cb.on_order = cb_order;
	cb.on_csr = cb_csr;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -2;
	}
	t0 = now_sec();
	rc = batch_parse(xsd, fd, path, &cb, pr);
	if (secs != NULL)
		*secs = now_sec() - t0;
	close(fd);
	if (verbose) {
		fprintf(stderr, "%s: rc %d, %zu orders, %zu problems "
		    "(+%zu dropped)\n", path, rc, g->norder, pr->n,
		    pr->dropped);
		for (i = 0; i < pr->n; i++)
			fprintf(stderr, "  line %d: %s\n", pr->v[i].line,
			    pr->v[i].text);
	}
	return rc;
}

static int
starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
ends(const char *s, const char *suffix)
{
	size_t	 a, b;

	if (s == NULL)
		return 0;
	a = strlen(s);
	b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void
check_batch_example(const char *path)
{
	struct got g = { 0 };
	struct problems		 pr;
	struct order_in		*o;
	struct recipient_in	*r;
	int			 rc;

	rc = parse_path(path, &g, &pr, NULL);
	T_CHECK(rc == 0, "%s: rc %d", path, rc);
	T_CHECK(pr.n == 0, "%s: %zu problems", path, pr.n);

	T_CHECK(g.nhead == 1, "on_head %d times", g.nhead);
	T_CHECK(g.head_before_first, "on_head before the first order");
	T_CHECK(g.head.kind == DOC_BATCH, "kind %d", g.head.kind);
	T_STREQ(g.head.id, "HR-2026-11-24-0001");
	T_STREQ(g.head.account, "acme");
	T_STREQ(g.head.created, "2026-11-24T22:00:00Z");
	T_STREQ(g.head.att_officer, "Pat Lee");
	T_STREQ(g.head.att_title, "HR Director");
	T_CHECK(g.norder == 3, "%zu orders", g.norder);
	if (g.norder != 3)
		goto out;

	o = &g.ord[0];
	T_STREQ(o->id, "EMP-1001");
	T_CHECK(o->line == 4, "order line %d", o->line);
	T_STREQ(o->product, "secure_email_business");
	T_STREQ(o->organization, "Acme Corp");
	T_STREQ(o->sig_hash, "sha256");
	T_CHECK(o->vkind == VALID_YEARS, "vkind %d", o->vkind);
	T_STREQ(o->vvalue, "1");
	T_CHECK(o->auto_renew == 0, "autoRenew %d", o->auto_renew);
	T_CHECK(o->att_officer == NULL && o->att_title == NULL,
	    "no order-level attestation");
	T_CHECK(o->nrcpt == 3, "%zu recipients", o->nrcpt);
	if (o->nrcpt == 3) {
		r = &o->rcpt[0];
		T_CHECK(r->line == 10, "recipient line %d", r->line);
		T_CHECK(r->cn_type == CN_NAME, "cn type %d", r->cn_type);
		T_STREQ(r->cn, "Jane Doe");
		T_STREQ(r->given_name, "Jane");
		T_STREQ(r->surname, "Doe");
		T_CHECK(r->pseudonym == NULL, "no pseudonym");
		T_STREQ(r->email, "jane.doe@acme.example");
		T_CHECK(starts(r->csr,
		    "-----BEGIN NEW CERTIFICATE REQUEST-----\nMIHZMIGAAgEA"),
		    "csr begins as given");
		T_CHECK(ends(r->csr,
		    "k3kvlS++7SUeMCbthJNfGDCDAyZ2xQm+4f4WVA==\n"
		    "-----END NEW CERTIFICATE REQUEST-----\n"),
		    "csr kept as given, final newline included");
		T_CHECK(!r->csr_later && r->keygen == NULL, "csr only");

		r = &o->rcpt[1];
		T_CHECK(r->line == 24, "recipient line %d", r->line);
		T_CHECK(r->cn_type == CN_EMAIL, "cn type %d", r->cn_type);
		T_STREQ(r->cn, "ops@acme.example");
		T_STREQ(r->given_name, "Ops");
		T_CHECK(r->surname == NULL, "no surname");
		T_STREQ(r->email, "ops@acme.example");
		T_CHECK(r->csr_later == 1, "csrLater");
		T_CHECK(r->csr == NULL && r->keygen == NULL, "csrLater only");

		r = &o->rcpt[2];
		T_CHECK(r->cn_type == CN_NAME, "cn type %d", r->cn_type);
		T_STREQ(r->cn, "Raj Patel");
		T_STREQ(r->given_name, "Raj");
		T_STREQ(r->surname, "Patel");
		T_STREQ(r->email, "raj.patel@acme.example");
		T_STREQ(r->keygen, "ecc-p256");
		T_CHECK(r->csr == NULL && !r->csr_later, "keygen only");
	}
	T_STREQ(o->additional_emails, "hr@acme.example, it@acme.example");
	T_STREQ(o->pay_method, "contract");
	T_STREQ(o->pay_ref, "C-2026-01");
	T_CHECK(o->agreement == 1, "agreement %d", o->agreement);

	o = &g.ord[1];
	T_STREQ(o->id, "EMP-1002");
	T_CHECK(o->line == 41, "order line %d", o->line);
	T_STREQ(o->product, "secure_email_organization");
	T_STREQ(o->organization, "Acme Corp");
	T_STREQ(o->sig_hash, "sha384");
	T_CHECK(o->vkind == VALID_DAYS, "vkind %d", o->vkind);
	T_STREQ(o->vvalue, "365");
	T_CHECK(o->auto_renew == 0, "autoRenew %d", o->auto_renew);
	T_CHECK(o->nrcpt == 1, "%zu recipients", o->nrcpt);
	if (o->nrcpt == 1) {
		r = &o->rcpt[0];
		T_CHECK(r->line == 47, "recipient line %d", r->line);
		T_CHECK(r->cn_type == CN_EMAIL, "cn type %d", r->cn_type);
		T_STREQ(r->cn, "billing@acme.example");
		T_STREQ(r->email, "billing@acme.example");
		T_CHECK(starts(r->csr,
		    "-----BEGIN NEW CERTIFICATE REQUEST-----\nMIICYzCCAUsC"),
		    "csr begins as given");
	}
	T_CHECK(o->additional_emails == NULL, "no additional emails");
	T_STREQ(o->pay_method, "balance");
	T_CHECK(o->pay_ref == NULL, "no payment ref");
	T_CHECK(o->agreement == 1, "agreement %d", o->agreement);

	o = &g.ord[2];
	T_STREQ(o->id, "EMP-1003");
	T_CHECK(o->line == 70, "order line %d", o->line);
	T_STREQ(o->product, "secure_email_individual");
	T_CHECK(o->organization == NULL, "no organization");
	T_STREQ(o->sig_hash, "sha256");
	T_CHECK(o->vkind == VALID_NOTAFTER, "vkind %d", o->vkind);
	T_STREQ(o->vvalue, "2027-12-31");
	T_CHECK(o->auto_renew == -1, "autoRenew unlimited: %d",
	    o->auto_renew);
	T_CHECK(o->nrcpt == 1, "%zu recipients", o->nrcpt);
	if (o->nrcpt == 1) {
		r = &o->rcpt[0];
		T_CHECK(r->cn_type == CN_EMAIL, "cn type %d", r->cn_type);
		T_STREQ(r->cn, "pat.contractor@gmail.com");
		T_STREQ(r->email, "pat.contractor@gmail.com");
		T_CHECK(starts(r->csr,
		    "-----BEGIN NEW CERTIFICATE REQUEST-----\nMIIBFjCBnQIB"),
		    "csr begins as given");
	}
	T_STREQ(o->pay_method, "card");
	T_STREQ(o->pay_ref, "tok_1Nv8Qx2eZvKYlo2C");
	T_CHECK(o->agreement == 1, "agreement %d", o->agreement);
 out:
	got_free(&g);
	problems_free(&pr);
}

static void
check_csr_example(const char *path)
{
	struct got g = { 0 };
	struct problems	 pr;
	int		 rc;

	rc = parse_path(path, &g, &pr, NULL);
	T_CHECK(rc == 0, "%s: rc %d", path, rc);
	T_CHECK(pr.n == 0, "%s: %zu problems", path, pr.n);
	T_CHECK(g.nhead == 1 && g.head_before_first, "on_head once, first");
	T_CHECK(g.head.kind == DOC_CSRSUB, "kind %d", g.head.kind);
	T_CHECK(g.head.id == NULL, "csrSubmission has no id");
	T_STREQ(g.head.account, "acme");
	T_CHECK(g.head.created == NULL && g.head.att_officer == NULL,
	    "no created, no attestation");
	T_CHECK(g.norder == 0, "no orders");
	T_CHECK(g.ncsr == 1, "%zu csrs", g.ncsr);
	if (g.ncsr == 1) {
		T_CHECK(g.csr[0].line == 3, "csr line %d", g.csr[0].line);
		T_STREQ(g.csr[0].order, "EMP-1001");
		T_STREQ(g.csr[0].email, "ops@acme.example");
		T_CHECK(starts(g.csr[0].csr,
		    "-----BEGIN NEW CERTIFICATE REQUEST-----\nMIHaMIGA"),
		    "csr begins as given");
		T_CHECK(ends(g.csr[0].csr,
		    "-----END NEW CERTIFICATE REQUEST-----"),
		    "csr ends as given");
	}
	got_free(&g);
	problems_free(&pr);
}

static void
check_multi_order(void)
{
	const char		*path = CORPUS "/valid/multi-order.xml";
	struct got g = { 0 };
	struct problems		 pr;
	struct order_in		*o;
	struct recipient_in	*r;
	int			 rc;

	rc = parse_path(path, &g, &pr, NULL);
	T_CHECK(rc == 0, "%s: rc %d", path, rc);
	T_CHECK(pr.n == 0, "%s: %zu problems", path, pr.n);
	T_STREQ(g.head.id, "NIGHTLY.2026-11-25_01");
	T_STREQ(g.head.account, "acme-hr");
	T_CHECK(g.head.created == NULL, "no created");
	T_CHECK(g.head.att_officer == NULL, "no batch-level attestation");
	T_CHECK(g.nhead == 1 && g.head_before_first, "on_head once, first");
	T_CHECK(g.norder == 3, "%zu orders", g.norder);
	if (g.norder != 3)
		goto out;

	o = &g.ord[0];
	T_STREQ(o->id, "M-1");
	T_STREQ(o->product, "premium");
	T_STREQ(o->sig_hash, "sha512");
	T_CHECK(o->vkind == VALID_DAYS, "vkind %d", o->vkind);
	T_STREQ(o->vvalue, "730");
	T_CHECK(o->auto_renew == 3, "autoRenew %d", o->auto_renew);
	T_STREQ(o->att_officer, "Kim Ode");
	T_STREQ(o->att_title, "Security Officer");
	T_CHECK(o->nrcpt == 2, "%zu recipients", o->nrcpt);
	if (o->nrcpt == 2) {
		r = &o->rcpt[0];
		T_CHECK(r->line == 14, "recipient line %d", r->line);
		T_STREQ(r->cn, "Ana María López");	/* collapsed */
		T_STREQ(r->given_name, "Ana María");
		T_STREQ(r->surname, "López");
		T_STREQ(r->email, "ana.lópez@acme.example");
		T_STREQ(r->keygen, "rsa-3072");
		r = &o->rcpt[1];
		T_CHECK(r->cn_type == CN_ORGANIZATION, "cn type %d",
		    r->cn_type);
		T_STREQ(r->cn, "Acme Corp");
		T_CHECK(r->csr_later == 1, "csrLater");
	}
	T_CHECK(o->pay_method == NULL && o->pay_ref == NULL, "no payment");
	T_CHECK(o->agreement == 1, "accepted=\"1\": %d", o->agreement);

	o = &g.ord[1];
	T_STREQ(o->id, "M-2");
	T_STREQ(o->product, "digital_signature_plus");	/* collapsed */
	T_CHECK(o->organization == NULL && o->sig_hash == NULL,
	    "no organization, no signatureHash");
	T_CHECK(o->vkind == VALID_NOTAFTER, "vkind %d", o->vkind);
	T_STREQ(o->vvalue, "2027-06-30");
	T_CHECK(o->auto_renew == 0, "autoRenew absent: %d", o->auto_renew);
	T_CHECK(o->att_officer == NULL, "no order-level attestation");
	if (o->nrcpt == 1) {
		r = &o->rcpt[0];
		T_STREQ(r->pseudonym, "Agent K");
		T_CHECK(r->given_name == NULL && r->surname == NULL,
		    "pseudonym only");
		T_CHECK(starts(r->csr, "-----BEGIN CERTIFICATE REQUEST-----\n"
		    "<!ENTITY in CDATA is text>\n") &&
		    ends(r->csr, "-----END CERTIFICATE REQUEST-----"),
		    "CDATA csr kept as given: %s", r->csr ? r->csr : "(null)");
	} else
		T_CHECK(0, "%zu recipients", o->nrcpt);
	T_CHECK(o->agreement == 0, "accepted=\"false\": %d", o->agreement);

	o = &g.ord[2];
	T_STREQ(o->id, "M-3");
	T_STREQ(o->product, "client1_smime");
	T_CHECK(o->vkind == VALID_YEARS, "vkind %d", o->vkind);
	T_STREQ(o->vvalue, "3");
	T_CHECK(o->auto_renew == -1, "autoRenew %d", o->auto_renew);
	T_CHECK(o->nrcpt == 1 && o->rcpt[0].keygen != NULL &&
	    strcmp(o->rcpt[0].keygen, "ecc-p384") == 0, "keygen ecc-p384");
	T_STREQ(o->pay_method, "card");
	T_CHECK(o->pay_ref == NULL, "no card token");
	T_CHECK(o->agreement == 0, "agreement absent: %d", o->agreement);
 out:
	got_free(&g);
	problems_free(&pr);
}

static void
check_other_account(void)
{
	const char	*path = CORPUS "/valid-other-account/another_account.xml";
	struct got g = { 0 };
	struct problems	 pr;
	int		 rc;

	/* Schema-valid; refusing another account is the caller's rule. */
	rc = parse_path(path, &g, &pr, NULL);
	T_CHECK(rc == 0, "%s: rc %d", path, rc);
	T_STREQ(g.head.account, "other");
	T_CHECK(g.norder == 1, "%zu orders", g.norder);
	got_free(&g);
	problems_free(&pr);
}

/* A hostile document: refused, with a located problem, quickly. */
static void
check_hostile_path(const char *path, int need_line)
{
	struct got g = { 0 };
	struct problems	 pr;
	double		 secs = 0;
	size_t		 i;
	int		 rc, located = 0;

	rc = parse_path(path, &g, &pr, &secs);
	T_CHECK(rc == -1, "%s: rc %d", path, rc);
	T_CHECK(pr.n >= 1, "%s: no problem", path);
	for (i = 0; i < pr.n; i++) {
		if (pr.v[i].line > 0)
			located = 1;
		T_CHECK(pr.v[i].text != NULL && pr.v[i].text[0] != '\0',
		    "%s: empty problem text", path);
	}
	if (need_line)
		T_CHECK(located, "%s: no problem with a line number", path);
	T_CHECK(!g.leaked, "%s: expanded entity text reached on_order",
	    path);
	T_CHECK(secs < (UNDER_SAN ? 30.0 : 5.0), "%s: took %.1f s", path,
	    secs);
	got_free(&g);
	problems_free(&pr);
}

static void
check_hostile(const char *file, int need_line)
{
	char	 path[512];

	snprintf(path, sizeof(path), "%s/hostile/%s", CORPUS, file);
	check_hostile_path(path, need_line);
}

/* Entity documents must not reach on_order at all. */
static void
check_no_orders(const char *file)
{
	char		 path[512];
	struct got g = { 0 };
	struct problems	 pr;
	size_t		 i;
	int		 said = 0;

	snprintf(path, sizeof(path), "%s/hostile/%s", CORPUS, file);
	(void)parse_path(path, &g, &pr, NULL);
	T_CHECK(g.norder == 0, "%s: on_order called %zu times", path,
	    g.norder);
	for (i = 0; i < pr.n; i++)
		if (strstr(pr.v[i].text, "DOCTYPE not allowed") != NULL)
			said = 1;
	T_CHECK(said, "%s: no \"DOCTYPE not allowed\" problem", path);
	got_free(&g);
	problems_free(&pr);
}

static int
has_problem(const struct problems *pr, const char *needle)
{
	size_t	 i;

	for (i = 0; i < pr->n; i++)
		if (strstr(pr->v[i].text, needle) != NULL)
			return 1;
	return 0;
}

static void
check_hostile_messages(void)
{
	struct got g = { 0 };
	struct problems	 pr;

	(void)parse_path(CORPUS "/hostile/xinclude.xml", &g, &pr, NULL);
	T_CHECK(has_problem(&pr, "XInclude not allowed"), "xinclude named");
	T_CHECK(g.norder == 0, "xinclude: %zu orders", g.norder);
	got_free(&g);
	problems_free(&pr);

	(void)parse_path(CORPUS "/hostile/id_traversal.xml", &g, &pr, NULL);
	T_CHECK(has_problem(&pr, "../x"), "traversal id named");
	T_CHECK(pr.n > 0 && pr.v[0].line == 3, "traversal on line %d",
	    pr.n > 0 ? pr.v[0].line : -1);
	T_CHECK(g.norder == 0, "traversal: %zu orders", g.norder);
	got_free(&g);
	problems_free(&pr);

	(void)parse_path(CORPUS "/hostile/id_slash.xml", &g, &pr, NULL);
	T_CHECK(pr.n > 0 && pr.v[0].line == 2, "slash id on line %d",
	    pr.n > 0 ? pr.v[0].line : -1);
	T_CHECK(g.nhead == 0 && g.norder == 0, "slash: no callbacks");
	got_free(&g);
	problems_free(&pr);
}

/* Write a generated document to a temporary file; path filled. */
static FILE *
tmp_doc(char *path, size_t len, const char *tag)
{
	const char	*dir;
	int		 fd;
	FILE		*f;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(path, len, "%s/t_batch.%s.XXXXXX", dir, tag);
	if ((fd = mkstemp(path)) == -1)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL)
		close(fd);
	return f;
}

static void
put_order(FILE *f, unsigned long i, const char *extra)
{
	fprintf(f, "  <order id=\"ORD-%08lu\">\n"
	    "    <product>secure_email_business</product>\n"
	    "    <organization>Acme Corp</organization>\n"
	    "    <validity><days>%lu</days></validity>\n"
	    "    <recipient>\n"
	    "      <commonName type=\"name\">Person %lu</commonName>\n"
	    "      <givenName>Person</givenName>\n"
	    "      <surname>Number %lu</surname>\n"
	    "      <email>person.%lu@acme.example</email>\n"
	    "      <csr>-----BEGIN CERTIFICATE REQUEST-----\n"
	    "MIHaMIGAAgEAMB4xHDAaBgNVBAMME2lnbm9yZWRAZXhhbXBsZS5jb20wWTATBgcq\n"
	    "-----END CERTIFICATE REQUEST-----</csr>\n"
	    "    </recipient>\n%s"
	    "    <agreement accepted=\"true\"/>\n"
	    "  </order>\n", i, 1 + i % 365, i, i, i, extra);
}

static void
check_streaming(void)
{
	char		 path[512];
	struct got g = { 0 };
	struct problems	 pr;
	FILE		*f;
	unsigned long	 i;
	long		 before, after;
	int		 rc;

	if ((f = tmp_doc(path, sizeof(path), "many")) == NULL) {
		T_CHECK(0, "temporary file: %s", strerror(errno));
		return;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<batch xmlns=\"urn:certspool:batch:1\" id=\"MANY\">\n");
	for (i = 0; i < 20000; i++)
		put_order(f, i, "");
	fprintf(f, "</batch>\n");
	T_CHECK(fclose(f) == 0, "write %s", path);

	before = maxrss_kb();
	rc = parse_path(path, &g, &pr, NULL);
	after = maxrss_kb();
	T_CHECK(rc == 0, "%s: rc %d", path, rc);
	T_CHECK(g.norder == 20000, "%zu on_order calls", g.norder);
	T_CHECK(g.norder < 1 || (g.ord[0].id != NULL &&
	    strcmp(g.ord[0].id, "ORD-00000000") == 0), "first order id");
	if (verbose || UNDER_SAN)
		printf("t_batch: peak RSS growth %ld kB for 20000 orders%s\n",
		    after - before, UNDER_SAN ?
		    " (not checked under a sanitizer)" : "");
	if (!UNDER_SAN)
		T_CHECK(after - before < 20 * 1024, "peak RSS grew %ld kB "
		    "for 20000 orders", after - before);
	got_free(&g);
	problems_free(&pr);
	unlink(path);
}

/*
 * Streaming validation: an error after valid orders.  Those orders were
 * already handed over; the parse still fails (the caller rolls back).
 */
static void
check_late_error(void)
{
	char		 path[512];
	struct got g = { 0 };
	struct problems	 pr;
	FILE		*f;
	int		 i, rc;

	if ((f = tmp_doc(path, sizeof(path), "late")) == NULL) {
		T_CHECK(0, "temporary file: %s", strerror(errno));
		return;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<batch xmlns=\"urn:certspool:batch:1\" id=\"LATE\">\n");
	put_order(f, 1, "");
	put_order(f, 2, "");
	fprintf(f, "  <!--");
	for (i = 0; i < 1024; i++)
		fprintf(f, " padding");
	fprintf(f, " -->\n");
	put_order(f, 3, "    <unexpected/>\n");
	fprintf(f, "</batch>\n");
	T_CHECK(fclose(f) == 0, "write %s", path);

	rc = parse_path(path, &g, &pr, NULL);
	T_CHECK(rc == -1, "late error: rc %d", rc);
	T_CHECK(g.norder == 2, "late error: %zu orders handed over first",
	    g.norder);
	T_CHECK(pr.n >= 1 && pr.v[0].line == 47, "late error on line %d",
	    pr.n > 0 ? pr.v[0].line : -1);
	got_free(&g);
	problems_free(&pr);
	unlink(path);
}

/* A caller refusing an order stops the parse with a problem. */
static void
check_refusal(void)
{
	struct got g = { 0 };
	struct problems	 pr;
	int		 rc;

	memset(&g, 0, sizeof(g));
	g.refuse_at = 2;
	rc = parse_path(CORPUS "/valid/batch-example.xml", &g, &pr, NULL);
	T_CHECK(rc == -1, "refusal: rc %d", rc);
	T_CHECK(g.norder == 2, "refusal: stopped after %zu orders",
	    g.norder);
	T_CHECK(pr.n == 1 && has_problem(&pr, "refused"),
	    "refusal: one problem");
	got_free(&g);
	problems_free(&pr);
}

/* The CSR text limit: 65536 characters pass, one more does not. */
static void
check_csr_size(size_t len, int want)
{
	char		 path[512];
	struct got g = { 0 };
	struct problems	 pr;
	FILE		*f;
	size_t		 i;
	int		 rc;

	if ((f = tmp_doc(path, sizeof(path), "csr")) == NULL) {
		T_CHECK(0, "temporary file: %s", strerror(errno));
		return;
	}
	fprintf(f, "<?xml version=\"1.0\"?>\n"
	    "<csrSubmission xmlns=\"urn:certspool:batch:1\">\n"
	    "  <csr order=\"O-1\" email=\"a@acme.example\">");
	for (i = 0; i < len; i++)
		fputc(i % 65 == 64 ? '\n' : 'A', f);
	fprintf(f, "</csr>\n</csrSubmission>\n");
	T_CHECK(fclose(f) == 0, "write %s", path);
	rc = parse_path(path, &g, &pr, NULL);
	T_CHECK(rc == want, "csr of %zu characters: rc %d", len, rc);
	if (want == 0)
		T_CHECK(g.ncsr == 1 && g.csr[0].csr != NULL &&
		    strlen(g.csr[0].csr) == len, "csr of %zu kept whole", len);
	else
		/* a value is judged where its element ends */
		T_CHECK(g.ncsr == 0 && pr.n > 0 && pr.v[0].line > 3 &&
		    strstr(pr.v[0].text, "maxLength") != NULL,
		    "csr of %zu refused after line 3", len);
	got_free(&g);
	problems_free(&pr);
	unlink(path);
}

static void
check_big(void)
{
	char		 path[1024], dir[512], cmd[1200];
	FILE		*f;
	long		 before;
	unsigned long	 i;

	/* 100,000 nested elements. */
	if ((f = tmp_doc(path, sizeof(path), "deep")) == NULL) {
		T_CHECK(0, "temporary file: %s", strerror(errno));
		return;
	}
	fprintf(f, "<?xml version=\"1.0\"?>\n"
	    "<batch xmlns=\"urn:certspool:batch:1\" id=\"DEEP\">\n"
	    "  <order id=\"O-1\">\n");
	for (i = 0; i < 100000; i++)
		fputs("<d>", f);
	for (i = 0; i < 100000; i++)
		fputs("</d>", f);
	fprintf(f, "\n  </order>\n</batch>\n");
	T_CHECK(fclose(f) == 0, "write %s", path);
	check_hostile_path(path, 1);
	unlink(path);

	/* A 12 MiB text node. */
	if ((f = tmp_doc(path, sizeof(path), "text")) == NULL) {
		T_CHECK(0, "temporary file: %s", strerror(errno));
		return;
	}
	fprintf(f, "<?xml version=\"1.0\"?>\n"
	    "<batch xmlns=\"urn:certspool:batch:1\" id=\"TEXT\">\n"
	    "  <order id=\"O-1\">\n"
	    "    <product>premium</product>\n"
	    "    <organization>");
	for (i = 0; i < 12 * 1024; i++)
		fprintf(f, "%01023lu\n", i);
	fprintf(f, "</organization>\n  </order>\n</batch>\n");
	T_CHECK(fclose(f) == 0, "write %s", path);
	before = maxrss_kb();
	check_hostile_path(path, 1);
	if (!UNDER_SAN)
		T_CHECK(maxrss_kb() - before < 16 * 1024, "12 MiB text: "
		    "peak RSS grew %ld kB", maxrss_kb() - before);
	unlink(path);

	/* The same attacks as written by gen-big.sh for the e2e tests. */
	snprintf(dir, sizeof(dir), "%s/t_batch.big.%ld",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp",
	    (long)getpid());
	snprintf(cmd, sizeof(cmd), "sh %s/gen-big.sh %s", CORPUS, dir);
	T_CHECK(system(cmd) == 0, "%s", cmd);
	snprintf(path, sizeof(path), "%s/deep_nesting.xml", dir);
	check_hostile_path(path, 1);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big_text.xml", dir);
	check_hostile_path(path, 1);
	unlink(path);
	rmdir(dir);
}

static void
check_problems(void)
{
	struct problems	 pr = { 0 };
	char		 big[2000];
	int		 i;

	for (i = 0; i < PROBLEMS_MAX + 50; i++)
		problems_add(&pr, i + 1, "problem %d", i);
	T_CHECK(pr.n == PROBLEMS_MAX, "kept %zu", pr.n);
	T_CHECK(pr.dropped == 50, "dropped %zu", pr.dropped);
	T_CHECK(pr.v[99].line == 100, "line %d", pr.v[99].line);
	T_STREQ(pr.v[99].text, "problem 99");
	problems_free(&pr);
	T_CHECK(pr.n == 0 && pr.v == NULL && pr.dropped == 0, "freed");
	problems_free(NULL);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\n';
	big[5] = '\x1b';
	problems_add(&pr, -4, "%s", big);
	T_CHECK(pr.n == 1 && strlen(pr.v[0].text) <= 512, "long text cut");
	T_CHECK(strchr(pr.v[0].text, '\n') == NULL &&
	    strchr(pr.v[0].text, '\x1b') == NULL, "control characters gone");
	T_CHECK(pr.v[0].line == 0, "negative line clamped");
	problems_free(&pr);
}

static void
check_schema_api(void)
{
	struct schema	*s;
	struct problems	 pr = { 0 };
	struct batch_cb	 cb = { 0 };
	char		 err[256];
	const char	*p;
	int		 fd;

	setenv("CERTSPOOL_SCHEMA_DIR", "/nonexistent/dir", 1);
	p = schema_path();
	T_STREQ(p, "/nonexistent/dir/batch-1.xsd");
	err[0] = '\0';
	s = schema_load(p, err, sizeof(err));
	T_CHECK(s == NULL, "missing schema loaded");
	T_CHECK(err[0] != '\0', "no error text");
	if (verbose)
		fprintf(stderr, "missing schema: %s\n", err);
	unsetenv("CERTSPOOL_SCHEMA_DIR");
	p = schema_path();
	T_CHECK(ends(p, "/batch-1.xsd"), "default path %s", p);

	/* A document that is not a schema. */
	s = schema_load(CORPUS "/valid/batch-example.xml", err, sizeof(err));
	T_CHECK(s == NULL, "a batch loaded as schema");
	if (verbose)
		fprintf(stderr, "not a schema: %s\n", err);
	schema_free(NULL);

	if ((fd = open(CORPUS "/valid/batch-example.xml", O_RDONLY)) != -1) {
		T_CHECK(batch_parse(NULL, fd, "x", &cb, &pr) == -1 &&
		    pr.n == 1, "no schema: refused");
		close(fd);
	}
	problems_free(&pr);

	/* Callbacks may be absent. */
	if ((fd = open(CORPUS "/valid/batch-example.xml", O_RDONLY)) != -1) {
		T_CHECK(batch_parse(xsd, fd, "x", &cb, &pr) == 0 && pr.n == 0,
		    "no callbacks: accepted");
		close(fd);
	}
	problems_free(&pr);
}

/* Parses share the schema and may run in several threads at once. */
static void *
thread_main(void *arg)
{
	struct got g = { 0 };
	struct problems	 pr;
	long		 bad = 0;
	int		 i;

	for (i = 0; i < 40; i++) {
		if (parse_path(i % 2 ? CORPUS "/valid/multi-order.xml" :
		    CORPUS "/hostile/xxe.xml", &g, &pr, NULL) != (i % 2 ? 0 : -1))
			bad++;
		else if (i % 2 && g.norder != 3)
			bad++;
		got_free(&g);
		problems_free(&pr);
	}
	return (void *)bad;
}

static void
check_threads(void)
{
	pthread_t	 t[4];
	void		*ret;
	int		 i, started = 0, v = verbose;

	verbose = 0;
	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, thread_main, NULL) == 0)
			started++;
	T_CHECK(started == 4, "%d threads started", started);
	for (i = 0; i < started; i++) {
		pthread_join(t[i], &ret);
		T_CHECK(ret == NULL, "thread %d: %ld wrong results", i,
		    (long)ret);
	}
	verbose = v;
}

/* ---- revocation documents (SPEC 7.1) ---- */

struct rgot {
	int		 nhead, kind;
	char		*id;
	size_t		 n;
	struct revoke_in v[MAXKEEP];
};

static int
cb_rhead(void *arg, const struct batch_head *h)
{
	struct rgot	*g = arg;

	g->nhead++;
	g->kind = h->kind;
	g->id = sdup(h->id);
	return 0;
}

static int
cb_revoke(void *arg, const struct revoke_in *v)
{
	struct rgot	*g = arg;
	struct revoke_in *c;

	if (g->n >= MAXKEEP)
		return 0;
	c = &g->v[g->n++];
	c->line = v->line;
	c->email = sdup(v->email);
	c->order = sdup(v->order);
	c->batch = sdup(v->batch);
	c->serial = sdup(v->serial);
	c->reason = sdup(v->reason);
	c->at = sdup(v->at);
	return 0;
}

static void
rgot_free(struct rgot *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++) {
		free(g->v[i].email);
		free(g->v[i].order);
		free(g->v[i].batch);
		free(g->v[i].serial);
		free(g->v[i].reason);
		free(g->v[i].at);
	}
	free(g->id);
	memset(g, 0, sizeof(*g));
}

/* Parse a revocation whose <revoke> lines are body (line 3 onwards). */
static int
parse_revocation(const char *body, struct rgot *g, struct problems *pr)
{
	struct batch_cb	 cb;
	char		 path[512];
	FILE		*f;
	int		 fd, rc;

	memset(g, 0, sizeof(*g));
	memset(pr, 0, sizeof(*pr));
	if ((f = tmp_doc(path, sizeof(path), "rev")) == NULL)
		return -2;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<revocation xmlns=\"urn:certspool:batch:1\" id=\"HR-LEAVERS-1\" "
	    "account=\"acme\" created=\"2026-12-04T22:00:00Z\">\n%s"
	    "</revocation>\n", body);
	fclose(f);
	memset(&cb, 0, sizeof(cb));
	cb.arg = g;
	cb.on_head = cb_rhead;
	cb.on_revoke = cb_revoke;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		unlink(path);
		return -2;
	}
	rc = batch_parse(xsd, fd, path, &cb, pr);
	close(fd);
	unlink(path);
	return rc;
}

/* The first problem's line, or -1. */
static int
first_line(const struct problems *pr)
{
	return pr->n > 0 ? pr->v[0].line : -1;
}

static void
check_revocation(void)
{
	struct rgot	 g;
	struct problems	 pr;
	int		 rc;

	rc = parse_revocation(
	    "  <revoke email=\"jane.doe@acme.example\" "
	    "reason=\"affiliationChanged\" at=\"2026-12-31T17:00:00Z\"/>\n"
	    "  <revoke order=\"EMP-1001\" batch=\"HR-2026-11-24-0001\" "
	    "reason=\"cessationOfOperation\"/>\n"
	    "  <revoke serial=\"5F0CE1\" reason=\"keyCompromise\"/>\n",
	    &g, &pr);
	T_CHECK(rc == 0 && pr.n == 0, "revocation: rc %d, %zu problems", rc,
	    pr.n);
	T_CHECK(g.nhead == 1 && g.kind == DOC_REVOCATION, "head %d kind %d",
	    g.nhead, g.kind);
	T_STREQ(g.id, "HR-LEAVERS-1");
	T_CHECK(g.n == 3, "%zu revokes", g.n);
	if (g.n == 3) {
		T_CHECK(g.v[0].line == 3, "line %d", g.v[0].line);
		T_STREQ(g.v[0].email, "jane.doe@acme.example");
		T_STREQ(g.v[0].at, "2026-12-31T17:00:00Z");
		T_STREQ(g.v[0].reason, "affiliationChanged");
		T_CHECK(g.v[1].line == 4, "line %d", g.v[1].line);
		T_STREQ(g.v[1].order, "EMP-1001");
		T_STREQ(g.v[1].batch, "HR-2026-11-24-0001");
		T_CHECK(g.v[1].email == NULL && g.v[1].serial == NULL &&
		    g.v[1].at == NULL, "order selector only");
		T_STREQ(g.v[2].serial, "5F0CE1");
		T_STREQ(g.v[2].reason, "keyCompromise");
	}
	rgot_free(&g);
	problems_free(&pr);

	/* A reason S/MIME BR 7.2.2 does not allow: refused at its line. */
	rc = parse_revocation(
	    "  <revoke email=\"a@acme.example\" reason=\"unspecified\"/>\n"
	    "  <revoke email=\"b@acme.example\" reason=\"certificateHold\"/>\n",
	    &g, &pr);
	T_CHECK(rc == -1, "certificateHold: rc %d", rc);
	T_CHECK(first_line(&pr) == 4, "certificateHold: line %d",
	    first_line(&pr));
	rgot_free(&g);
	problems_free(&pr);

	/* Selectors: exactly one of email, order + batch, serial. */
	rc = parse_revocation(
	    "  <revoke email=\"a@acme.example\" serial=\"01\" "
	    "reason=\"unspecified\"/>\n", &g, &pr);
	T_CHECK(rc == -1 && first_line(&pr) == 3, "two selectors: rc %d "
	    "line %d", rc, first_line(&pr));
	T_CHECK(g.n == 0, "two selectors reached the callback");
	rgot_free(&g);
	problems_free(&pr);
	rc = parse_revocation("  <revoke order=\"O1\" reason=\"unspecified\"/>\n",
	    &g, &pr);
	T_CHECK(rc == -1 && first_line(&pr) == 3, "order without batch: rc %d "
	    "line %d", rc, first_line(&pr));
	rgot_free(&g);
	problems_free(&pr);
	rc = parse_revocation("  <revoke reason=\"unspecified\"/>\n", &g, &pr);
	T_CHECK(rc == -1, "no selector: rc %d", rc);
	rgot_free(&g);
	problems_free(&pr);
	rc = parse_revocation("  <revoke serial=\"XYZ\" reason=\"unspecified\"/>\n",
	    &g, &pr);
	T_CHECK(rc == -1 && first_line(&pr) == 3, "serial not hex: rc %d "
	    "line %d", rc, first_line(&pr));
	rgot_free(&g);
	problems_free(&pr);
	rc = parse_revocation("  <revoke serial=\"01\" reason=\"unspecified\" "
	    "at=\"2026-12-31\"/>\n", &g, &pr);
	T_CHECK(rc == -1, "at without a time: rc %d", rc);
	rgot_free(&g);
	problems_free(&pr);
	rc = parse_revocation("", &g, &pr);
	T_CHECK(rc == -1, "no revoke: rc %d", rc);
	rgot_free(&g);
	problems_free(&pr);
}

int
main(void)
{
	char		 err[512], path[1024];
	const char	*ex;

	verbose = getenv("T_VERBOSE") != NULL;
	log_init("stderr", verbose ? LOGL_DEBUG : LOGL_ERR);
	unsetenv("CERTSPOOL_SCHEMA_DIR");
	if ((xsd = schema_load(schema_path(), err, sizeof(err))) == NULL) {
		fprintf(stderr, "t_batch: %s\n", err);
		return 1;
	}

	/* First: peak RSS is only meaningful before the big documents. */
	check_streaming();
	check_problems();
	check_schema_api();

	if ((ex = getenv("CERTSPOOL_SPEC_EXAMPLES")) == NULL)
		ex = "../shared/spec/examples";
	snprintf(path, sizeof(path), "%s/batch-example.xml", ex);
	if (access(path, R_OK) == 0) {
		check_batch_example(path);
		snprintf(path, sizeof(path), "%s/csr-submission-example.xml",
		    ex);
		check_csr_example(path);
	} else
		printf("t_batch: %s not found, SPEC examples skipped\n", path);
	check_batch_example(CORPUS "/valid/batch-example.xml");
	check_csr_example(CORPUS "/valid/csr-submission-example.xml");
	check_multi_order();
	check_other_account();
	check_revocation();

	check_hostile("xxe.xml", 1);
	check_hostile("xxe_param.xml", 1);
	check_hostile("billion_lol.xml", 1);
	check_hostile("doctype_only.xml", 1);
	check_hostile("dtd_external.xml", 1);
	check_no_orders("xxe.xml");
	check_no_orders("xxe_param.xml");
	check_no_orders("billion_lol.xml");
	check_no_orders("doctype_only.xml");
	check_no_orders("dtd_external.xml");
	check_hostile("truncated.xml", 1);
	check_hostile("not_xml.xml", 0);
	check_hostile("empty.xml", 0);
	check_hostile("wrong_ns.xml", 1);
	check_hostile("bad_utf8.xml", 1);
	check_hostile("nul_byte.xml", 1);
	check_hostile("utf16.xml", 0);
	check_hostile("latin1.xml", 1);
	check_hostile("entity_no_dtd.xml", 1);
	check_hostile("xinclude.xml", 1);
	check_hostile("xsi_type.xml", 1);
	check_hostile("unknown_element.xml", 1);
	check_hostile("id_traversal.xml", 1);
	check_hostile("id_slash.xml", 1);
	check_hostile_messages();

	check_refusal();
	check_late_error();
	check_csr_size(65536, 0);
	check_csr_size(65537, -1);
	check_big();
	check_threads();

	schema_free(xsd);
	return t_done("t_batch");
}
