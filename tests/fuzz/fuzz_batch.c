/*
 * fuzz_batch.c: libFuzzer target for the batch parser (batch.c and the
 * byte guard, xmlguard.c) with the real schema, schemas/batch-1.xsd.
 *
 * Each input is written to an in-memory file and read back through
 * batch_parse(), as the spool intake does with an inbound file; both
 * <batch> and <csrSubmission> documents are reached.  Besides the
 * sanitizers, the target checks the parser's contract (extern.h): one
 * head, sent before any order or csr, orders only in a batch, csrs only
 * in a csrSubmission, -1 always with a problem, 0 never with one.  A
 * broken contract aborts, which libFuzzer reports as a crash.
 *
 * Failure policy: a setup failure (schema, memfd) aborts before fuzzing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct schema	*schema;
static int		 memfd = -1;

struct seen {
	enum doc_kind	 kind;
	size_t		 heads, orders, csrs;
	size_t		 sum;		/* touches every string handed over */
};

static void
touch(struct seen *s, const char *str)
{
	if (str != NULL)
		s->sum += strlen(str);
}

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_batch: contract broken: %s\n", what);
	abort();
}

static int
on_head(void *arg, const struct batch_head *h)
{
	struct seen	*s = arg;

	if (s->heads++ > 0)
		broken("on_head called twice");
	if (h->kind != DOC_BATCH && h->kind != DOC_CSRSUB)
		broken("head of no known kind");
	s->kind = h->kind;
	touch(s, h->id);
	touch(s, h->account);
	touch(s, h->created);
	touch(s, h->att_officer);
	touch(s, h->att_title);
	/* The intake refuses other accounts: exercise the refusal path. */
	return h->account != NULL && strcmp(h->account, "other") == 0;
}

static int
on_order(void *arg, const struct order_in *o)
{
	struct seen	*s = arg;
	size_t		 i;

	if (s->heads != 1 || s->kind != DOC_BATCH)
		broken("order outside a batch, or before the head");
	s->orders++;
	touch(s, o->id);
	touch(s, o->product);
	touch(s, o->organization);
	touch(s, o->sig_hash);
	touch(s, o->vvalue);
	touch(s, o->att_officer);
	touch(s, o->att_title);
	touch(s, o->additional_emails);
	touch(s, o->pay_method);
	touch(s, o->pay_ref);
	for (i = 0; i < o->nrcpt; i++) {
		touch(s, o->rcpt[i].cn);
		touch(s, o->rcpt[i].given_name);
		touch(s, o->rcpt[i].surname);
		touch(s, o->rcpt[i].pseudonym);
		touch(s, o->rcpt[i].email);
		touch(s, o->rcpt[i].csr);
		touch(s, o->rcpt[i].keygen);
	}
	return 0;
}

static int
on_csr(void *arg, const struct csr_in *c)
{
	struct seen	*s = arg;

	if (s->heads != 1 || s->kind != DOC_CSRSUB)
		broken("csr outside a csrSubmission, or before the head");
	s->csrs++;
	touch(s, c->order);
	touch(s, c->email);
	touch(s, c->csr);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[512];

	(void)argc;
	(void)argv;
	log_init("stderr", 0);		/* logx drops every level above 0 */
	if ((schema = schema_load(schema_path(), err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_batch: %s\n", err);
		abort();
	}
	if ((memfd = memfd_create("fuzz_batch", MFD_CLOEXEC)) == -1) {
		perror("fuzz_batch: memfd_create");
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch_cb	 cb = { 0 };
	struct problems	 pr = { 0 };
	struct seen	 s = { 0 };
	size_t		 i;
	int		 rc;

	if (ftruncate(memfd, 0) == -1 ||
	    (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size) ||
	    lseek(memfd, 0, SEEK_SET) != 0) {
		perror("fuzz_batch: memfd");
		abort();
	}
	cb.arg = &s;
	cb.on_head = on_head;
	cb.on_order = on_order;
	cb.on_csr = on_csr;
	rc = batch_parse(schema, memfd, "fuzz.xml", &cb, &pr);

	if (rc != 0 && rc != -1)
		broken("batch_parse returned neither 0 nor -1");
	if (rc == -1 && pr.n + pr.dropped == 0)
		broken("-1 without a problem");
	if (rc == 0 && (pr.n != 0 || s.heads != 1))
		broken("0 with a problem, or without a head");
	if (pr.n > PROBLEMS_MAX)
		broken("more than PROBLEMS_MAX problems kept");
	for (i = 0; i < pr.n; i++) {
		if (pr.v[i].line < 0 || pr.v[i].text == NULL)
			broken("problem with a negative line or no text");
		if (strpbrk(pr.v[i].text, "\t\n\r") != NULL)
			broken("problem text of more than one line");
		touch(&s, pr.v[i].text);
	}
	problems_free(&pr);
	return 0;
}
