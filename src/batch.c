/*
 * batch.c: the streaming parser for inbound documents (SPEC 2), <batch>
 * and <csrSubmission> in urn:certspool:batch:1.
 *
 * The document is read with libxml2's xmlTextReader and validated against
 * schemas/batch-1.xsd while it streams.  One order (or one submitted csr)
 * is built at a time, handed to the caller and freed, so memory does not
 * grow with the number of orders.
 *
 * Failure policy: bad input is reported, never repaired.  Every parser
 * and validation error becomes a problem with its line number and makes
 * batch_parse() return -1.  A DOCTYPE, an entity reference, an XInclude
 * element or any attempt to load an external resource stops the parse at
 * once.  After other errors reading goes on, to report more problems (at
 * most PROBLEMS_MAX are kept), but no callback is called any more.
 *
 * Documents are UTF-8.  Bytes reach libxml2 only through the byte guard
 * (xmlguard.c), which refuses "<!" markup other than comments and CDATA
 * sections (so a DOCTYPE is never parsed at all), NUL bytes, bytes that
 * cannot occur in UTF-8 and long runs without markup.  The input encoding
 * is forced to UTF-8, so the guard sees the bytes exactly as the parser.
 *
 * Line numbers: the parser's line where the error was found; a value that
 * breaks a facet is found where its element ends.
 *
 * Contract with the caller: validation is streaming, so an error may be
 * found after on_order has been called for earlier orders.  batch_parse()
 * then still returns -1; the caller stores the orders of one document in
 * one transaction and rolls it back.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xinclude.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>

#include "extern.h"
#include "xmlguard.h"

#ifndef SCHEMA_DIR
#define SCHEMA_DIR	"schemas"
#endif
#define SCHEMA_FILE	"batch-1.xsd"
#define BATCH_NS	"urn:certspool:batch:1"

/*
 * Never NOENT, DTDLOAD, DTDATTR, DTDVALID, HUGE or XINCLUDE.  Not NOCDATA
 * either: with a schema attached, libxml2 2.9 then drops CDATA content
 * from the reader's nodes (the validator still sees it).
 */
#define READER_OPTS	(XML_PARSE_NONET | XML_PARSE_BIG_LINES | \
			 XML_PARSE_IGNORE_ENC)

/* Longest text kept for one element (the schema's limit is smaller). */
#define TEXT_MAX	(256 * 1024)
/* Longest problem text kept, in bytes. */
#define PROBLEM_TEXT_MAX 480

struct schema {
	xmlSchemaPtr	 xsd;
};

/* The state of one parse. */
struct parse {
	struct xmlguard		 g;
	xmlTextReaderPtr	 r;		/* NULL while loading a schema */
	const struct batch_cb	*cb;
	struct problems		*pr;
	int			 bad;		/* problem seen: no callbacks */
	int			 stop;		/* stop reading */
	int			 root;		/* root element seen */
	struct batch_head	 head;
	int			 head_sent;
	struct order_in		*ord;
	size_t			 rcap;		/* allocated ord->rcpt */
	struct recipient_in	*rc;		/* open recipient */
	int			 in_validity;
	struct csr_in		*csr;
	struct revoke_in	*rev;		/* open <revoke> */
	char			**leaf;		/* text element being read */
	int			 leaf_depth;
	int			 leaf_raw;	/* keep text as given */
	struct buf		 text;
	char			*renew;		/* autoRenew text */
	char			 gen[PROBLEM_TEXT_MAX];	/* generic error */
	size_t			 genlen;
};

static pthread_once_t			 init_once = PTHREAD_ONCE_INIT;
static xmlExternalEntityLoader		 default_loader;
/* The parse running in this thread, for the entity loader. */
static _Thread_local struct parse	*cur_parse;

static void	 parse_problem(struct parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 on_generic_error(void *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

void
problems_add(struct problems *pr, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	 text[1024];
	size_t	 i, len;

	if (pr->n >= PROBLEMS_MAX) {
		pr->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	/* One line of printable text, cut on a UTF-8 boundary. */
	len = strlen(text);
	if (len > PROBLEM_TEXT_MAX) {
		len = PROBLEM_TEXT_MAX - 3;
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		memcpy(text + len, "...", 4);
		len += 3;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = ' ';
	while (len > 0 && text[len - 1] == ' ')
		text[--len] = '\0';

	if (pr->v == NULL)
		pr->v = xcalloc(PROBLEMS_MAX, sizeof(*pr->v));
	pr->v[pr->n].line = line < 0 ? 0 : line;
	pr->v[pr->n].text = xstrdup(text);
	pr->n++;
}

void
problems_free(struct problems *pr)
{
	size_t	 i;

	if (pr == NULL)
		return;
	for (i = 0; i < pr->n; i++)
		free(pr->v[i].text);
	free(pr->v);
	pr->v = NULL;
	pr->n = pr->dropped = 0;
}

/* Refuses every external resource while a batch is being parsed. */
static xmlParserInputPtr
guard_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	struct parse	*p = cur_parse;

	if (p == NULL)
		return default_loader(url, id, ctxt);
	parse_problem(p, 0, "SPEC 2: external resource not allowed: %s",
	    url != NULL ? url : id != NULL ? id : "(unnamed)");
	p->stop = 1;
	return NULL;
}

static void
parser_init(void)
{
	xmlInitParser();
	default_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(guard_loader);
}

/* The line of the reader's current node, else the parser's line. */
static int
parse_line(struct parse *p)
{
	xmlNodePtr	 n;
	long		 line = 0;

	if (p->r == NULL)
		return 0;
	if ((n = xmlTextReaderCurrentNode(p->r)) != NULL)
		line = xmlGetLineNo(n);
	if (line <= 0 || line >= 65535)
		line = xmlTextReaderGetParserLineNumber(p->r);
	if (line < 0)
		line = 0;
	return line > INT_MAX ? INT_MAX : (int)line;
}

static void
parse_problem(struct parse *p, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	 text[1024];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line == 0)
		line = parse_line(p);
	problems_add(p->pr, line, "%s", text);
	p->bad = 1;
	if (p->pr->dropped > 0)
		p->stop = 1;
}

/* Structured errors of the parser and the validator. */
static void
on_xml_error(void *arg, xmlErrorPtr e)
{
	struct parse	*p = arg;
	const char	*what, *msg;
	int		 line;

	if (p == NULL || e == NULL || p->g.refused)
		return;
	if (e->level == XML_ERR_WARNING) {
		msg = e->message != NULL ? e->message : "";
		log_debug("xml warning: line %d: %.*s", e->line,
		    (int)strcspn(msg, "\n"), msg);
		return;
	}
	what = e->domain == XML_FROM_SCHEMASV ? "batch-1.xsd" : "xml";
	msg = e->message != NULL ? e->message : "error";
	line = e->line;
	if (line <= 0 && p->r != NULL)
		line = xmlTextReaderGetParserLineNumber(p->r);
	parse_problem(p, line > 0 ? line : -1, "%s: %s", what, msg);
	if (e->level == XML_ERR_FATAL)
		p->stop = 1;
}

static void
generic_flush(struct parse *p)
{
	if (p->genlen == 0)
		return;
	p->gen[p->genlen] = '\0';
	parse_problem(p, 0, "xml: %s", p->gen);
	p->genlen = 0;
}

/* Unstructured libxml2 messages: collected line by line as problems. */
static void
on_generic_error(void *arg, const char *fmt, ...)
{
	struct parse	*p = arg;
	va_list		 ap;
	char		 text[PROBLEM_TEXT_MAX];
	size_t		 i;

	if (p == NULL || p->g.refused)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] == '\n') {
			generic_flush(p);
			continue;
		}
		if (p->genlen < sizeof(p->gen) - 1)
			p->gen[p->genlen++] = text[i];
	}
}

/* The parser's only input: read(2) on the caller's fd, through the guard. */
static int
guard_read(void *arg, char *buf, int len)
{
	struct parse	*p = arg;
	ssize_t		 n;

	if (p->g.refused || len <= 0)
		return -1;
	if ((n = xmlguard_read(&p->g, buf, (size_t)len)) == -1) {
		if (p->g.err != 0)
			parse_problem(p, 0, "read: %s", strerror(p->g.err));
		else
			parse_problem(p, p->g.line, "SPEC 2: %s", p->g.why);
		p->stop = 1;
		return -1;
	}
	return (int)n;
}

struct schema *
schema_load(const char *xsd_path, char *err, size_t errlen)
{
	struct schema		*s = NULL;
	struct parse		 p;
	struct problems		 pr = { 0 };
	xmlSchemaParserCtxtPtr	 pc = NULL;
	xmlSchemaPtr		 xsd = NULL;
	xmlGenericErrorFunc	 old_gen;
	xmlStructuredErrorFunc	 old_st;
	void			*old_genctx, *old_stctx;

	pthread_once(&init_once, parser_init);
	if (xsd_path == NULL) {
		snprintf(err, errlen, "schema: no path");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.pr = &pr;

	old_gen = xmlGenericError;
	old_genctx = xmlGenericErrorContext;
	old_st = xmlStructuredError;
	old_stctx = xmlStructuredErrorContext;
	xmlSetGenericErrorFunc(&p, on_generic_error);
	xmlSetStructuredErrorFunc(&p, on_xml_error);

	if ((pc = xmlSchemaNewParserCtxt(xsd_path)) == NULL) {
		snprintf(err, errlen, "%s: cannot create schema parser",
		    xsd_path);
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pc, on_xml_error, &p);
	xsd = xmlSchemaParse(pc);
	generic_flush(&p);
	if (xsd == NULL || pr.n > 0) {
		if (pr.n > 0 && pr.v[0].line > 0)
			snprintf(err, errlen, "%s: line %d: %s", xsd_path,
			    pr.v[0].line, pr.v[0].text);
		else
			snprintf(err, errlen, "%s: %s", xsd_path, pr.n > 0 ?
			    pr.v[0].text : "cannot load schema");
		goto out;
	}
	s = xcalloc(1, sizeof(*s));
	s->xsd = xsd;
	xsd = NULL;
 out:
	xmlSchemaFree(xsd);
	xmlSchemaFreeParserCtxt(pc);
	xmlSetGenericErrorFunc(old_genctx, old_gen);
	xmlSetStructuredErrorFunc(old_stctx, old_st);
	problems_free(&pr);
	return s;
}

void
schema_free(struct schema *s)
{
	if (s == NULL)
		return;
	xmlSchemaFree(s->xsd);
	free(s);
}

const char *
schema_path(void)
{
	static _Thread_local char	 path[PATH_MAX];
	const char			*dir;
	int				 n;

	if ((dir = getenv("CERTSPOOL_SCHEMA_DIR")) == NULL || *dir == '\0')
		dir = data_path(SCHEMA_DIR, "schemas");
	n = snprintf(path, sizeof(path), "%s/%s", dir, SCHEMA_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return path;
}

static void
recipient_clear(struct recipient_in *r)
{
	free(r->cn);
	free(r->given_name);
	free(r->surname);
	free(r->pseudonym);
	free(r->email);
	free(r->csr);
	free(r->keygen);
}

static void
order_free(struct order_in *o)
{
	size_t	 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->nrcpt; i++)
		recipient_clear(&o->rcpt[i]);
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
	free(o);
}

static void
csr_free(struct csr_in *c)
{
	if (c == NULL)
		return;
	free(c->order);
	free(c->email);
	free(c->csr);
	free(c);
}

static void
revoke_free(struct revoke_in *v)
{
	if (v == NULL)
		return;
	free(v->email);
	free(v->order);
	free(v->batch);
	free(v->serial);
	free(v->reason);
	free(v->at);
	free(v);
}

static void
head_clear(struct batch_head *h)
{
	free(h->id);
	free(h->account);
	free(h->created);
	free(h->att_officer);
	free(h->att_title);
	memset(h, 0, sizeof(*h));
}

/* xs:token whitespace: collapse runs to one space, trim both ends. */
static void
collapse(char *s)
{
	char	*r, *w = s;
	int	 space = 0;

	for (r = s; *r != '\0'; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r') {
			space = 1;
			continue;
		}
		if (space && w != s)
			*w++ = ' ';
		space = 0;
		*w++ = *r;
	}
	*w = '\0';
}

/* A copy of attribute name of the current element (collapsed), or NULL. */
static char *
attr(struct parse *p, const char *name)
{
	xmlChar	*v;
	char	*s;

	if ((v = xmlTextReaderGetAttribute(p->r, BAD_CAST name)) == NULL)
		return NULL;
	s = xstrdup((const char *)v);
	xmlFree(v);
	collapse(s);
	return s;
}

/* Start collecting the text of the current element into *dst. */
static void
leaf_begin(struct parse *p, char **dst, int depth, int raw)
{
	p->leaf = dst;
	p->leaf_depth = depth;
	p->leaf_raw = raw;
	p->text.len = 0;
	if (p->text.p != NULL)
		p->text.p[0] = '\0';
}

static void
leaf_text(struct parse *p)
{
	const xmlChar	*v;
	size_t		 len;

	if (p->leaf == NULL)
		return;
	if ((v = xmlTextReaderConstValue(p->r)) == NULL)
		return;
	len = strlen((const char *)v);
	if (p->text.len + len > TEXT_MAX) {
		parse_problem(p, 0, "SPEC 2: element text longer than %d bytes",
		    TEXT_MAX);
		p->leaf = NULL;
		return;
	}
	buf_add(&p->text, v, len);
}

static void
leaf_end(struct parse *p)
{
	char	*s;

	s = xstrdup(p->text.p != NULL ? (char *)p->text.p : "");
	if (!p->leaf_raw)
		collapse(s);
	free(*p->leaf);
	*p->leaf = s;
	if (p->leaf == &p->renew && p->ord != NULL) {
		if (strcmp(s, "unlimited") == 0)
			p->ord->auto_renew = -1;
		else
			p->ord->auto_renew = (int)strtol(s, NULL, 10);
	}
	p->leaf = NULL;
}

/* A callback refused: make sure there is a problem saying so. */
static void
refused(struct parse *p, size_t before, const char *what)
{
	p->stop = 1;
	p->bad = 1;
	if (p->pr->n + p->pr->dropped == before)
		parse_problem(p, 0, "SPEC 2: %s refused by the caller", what);
}

/* Hand the document head to the caller, once, before any order or csr. */
static void
send_head(struct parse *p)
{
	size_t	 before;

	if (p->head_sent || p->bad)
		return;
	p->head_sent = 1;
	before = p->pr->n + p->pr->dropped;
	if (p->cb->on_head != NULL && p->cb->on_head(p->cb->arg, &p->head) != 0)
		refused(p, before, "document head");
}

static void
start_root(struct parse *p, const char *name)
{
	if (strcmp(name, "batch") == 0) {
		p->head.kind = DOC_BATCH;
		p->head.id = attr(p, "id");
	} else if (strcmp(name, "csrSubmission") == 0)
		p->head.kind = DOC_CSRSUB;
	else if (strcmp(name, "revocation") == 0) {
		p->head.kind = DOC_REVOCATION;
		p->head.id = attr(p, "id");
	} else {
		parse_problem(p, 0, "SPEC 2: root element <%s> is not "
		    "<batch>, <csrSubmission> or <revocation>", name);
		return;
	}
	p->head.account = attr(p, "account");
	if (p->head.kind != DOC_CSRSUB)
		p->head.created = attr(p, "created");
}

static void
start_order_child(struct parse *p, const char *name, int depth)
{
	struct order_in		*o = p->ord;
	struct recipient_in	*r;
	char			*acc;

	if (strcmp(name, "product") == 0)
		leaf_begin(p, &o->product, depth, 0);
	else if (strcmp(name, "organization") == 0) {
		leaf_begin(p, &o->organization, depth, 0);
		o->org_line = parse_line(p);
	} else if (strcmp(name, "signatureHash") == 0)
		leaf_begin(p, &o->sig_hash, depth, 0);
	else if (strcmp(name, "validity") == 0)
		p->in_validity = 1;
	else if (strcmp(name, "autoRenew") == 0)
		leaf_begin(p, &p->renew, depth, 0);
	else if (strcmp(name, "attestation") == 0) {
		free(o->att_officer);
		free(o->att_title);
		o->att_officer = attr(p, "officer");
		o->att_title = attr(p, "title");
	} else if (strcmp(name, "recipient") == 0) {
		if (o->nrcpt == p->rcap) {
			r = reallocarray(o->rcpt, p->rcap ? p->rcap * 2 : 4,
			    sizeof(*r));
			if (r == NULL) {
				log_err("out of memory");
				abort();
			}
			o->rcpt = r;
			p->rcap = p->rcap ? p->rcap * 2 : 4;
		}
		p->rc = &o->rcpt[o->nrcpt++];
		memset(p->rc, 0, sizeof(*p->rc));
		p->rc->line = parse_line(p);
	} else if (strcmp(name, "additionalEmails") == 0) {
		leaf_begin(p, &o->additional_emails, depth, 0);
		o->add_line = parse_line(p);
	} else if (strcmp(name, "payment") == 0) {
		free(o->pay_method);
		free(o->pay_ref);
		o->pay_method = attr(p, "method");
		o->pay_ref = attr(p, "ref");
	} else if (strcmp(name, "agreement") == 0) {
		acc = attr(p, "accepted");
		o->agreement = acc != NULL &&
		    (strcmp(acc, "true") == 0 || strcmp(acc, "1") == 0);
		free(acc);
	}
}

static void
start_validity_child(struct parse *p, const char *name, int depth)
{
	struct order_in	*o = p->ord;

	if (strcmp(name, "years") == 0)
		o->vkind = VALID_YEARS;
	else if (strcmp(name, "days") == 0)
		o->vkind = VALID_DAYS;
	else if (strcmp(name, "notAfter") == 0)
		o->vkind = VALID_NOTAFTER;
	else
		return;
	leaf_begin(p, &o->vvalue, depth, 0);
}

static void
start_recipient_child(struct parse *p, const char *name, int depth)
{
	struct recipient_in	*r = p->rc;
	char			*type;

	if (strcmp(name, "commonName") == 0) {
		type = attr(p, "type");
		if (type == NULL)
			r->cn_type = CN_NONE;
		else if (strcmp(type, "name") == 0)
			r->cn_type = CN_NAME;
		else if (strcmp(type, "email") == 0)
			r->cn_type = CN_EMAIL;
		else if (strcmp(type, "organization") == 0)
			r->cn_type = CN_ORGANIZATION;
		free(type);
		leaf_begin(p, &r->cn, depth, 0);
		r->cn_line = parse_line(p);
	} else if (strcmp(name, "givenName") == 0) {
		leaf_begin(p, &r->given_name, depth, 0);
		r->given_line = parse_line(p);
	} else if (strcmp(name, "surname") == 0) {
		leaf_begin(p, &r->surname, depth, 0);
		r->surname_line = parse_line(p);
	} else if (strcmp(name, "pseudonym") == 0) {
		leaf_begin(p, &r->pseudonym, depth, 0);
		r->pseudonym_line = parse_line(p);
	} else if (strcmp(name, "email") == 0) {
		leaf_begin(p, &r->email, depth, 0);
		r->email_line = parse_line(p);
	} else if (strcmp(name, "csr") == 0)
		leaf_begin(p, &r->csr, depth, 1);
	else if (strcmp(name, "csrLater") == 0)
		r->csr_later = 1;
	else if (strcmp(name, "keygen") == 0) {
		free(r->keygen);
		r->keygen = attr(p, "algorithm");
	}
}

/* A <revoke>: its attributes; exactly one selector (SPEC 7.1). */
static void
start_revoke(struct parse *p)
{
	struct revoke_in	*v;
	int			 nsel;

	revoke_free(p->rev);
	v = p->rev = xcalloc(1, sizeof(*v));
	v->line = parse_line(p);
	v->email = attr(p, "email");
	v->order = attr(p, "order");
	v->batch = attr(p, "batch");
	v->serial = attr(p, "serial");
	v->reason = attr(p, "reason");
	v->at = attr(p, "at");
	nsel = (v->email != NULL) + (v->order != NULL || v->batch != NULL) +
	    (v->serial != NULL);
	if (nsel != 1 || (v->order == NULL) != (v->batch == NULL))
		parse_problem(p, v->line, "SPEC 7.1: <revoke> selects by "
		    "exactly one of email, order with batch, or serial");
	else if (revoke_reason_code(v->reason) == -1)
		parse_problem(p, v->line, "SPEC 7.1: revocation reason \"%s\" "
		    "is not one S/MIME BR 7.2.2 allows",
		    v->reason ? v->reason : "");
}

static void
start_element(struct parse *p, int depth)
{
	const char	*name, *ns;

	name = (const char *)xmlTextReaderConstLocalName(p->r);
	ns = (const char *)xmlTextReaderConstNamespaceUri(p->r);
	if (name == NULL)
		return;
	if (ns != NULL && (xmlStrEqual(BAD_CAST ns, XINCLUDE_NS) ||
	    xmlStrEqual(BAD_CAST ns, XINCLUDE_OLD_NS))) {
		parse_problem(p, 0, "SPEC 2: XInclude not allowed");
		p->stop = 1;
		return;
	}
	if (depth == 0)
		p->root = 1;
	if (ns == NULL || strcmp(ns, BATCH_NS) != 0) {
		if (!p->bad)
			parse_problem(p, 0, "SPEC 2: element <%s> not in "
			    "namespace " BATCH_NS, name);
		return;
	}
	if (p->bad)
		return;

	if (depth == 0) {
		start_root(p, name);
		return;
	}
	if (depth == 1 && p->head.kind == DOC_BATCH) {
		if (strcmp(name, "attestation") == 0) {
			free(p->head.att_officer);
			free(p->head.att_title);
			p->head.att_officer = attr(p, "officer");
			p->head.att_title = attr(p, "title");
		} else if (strcmp(name, "order") == 0) {
			send_head(p);
			order_free(p->ord);
			p->ord = xcalloc(1, sizeof(*p->ord));
			p->rcap = 0;
			p->rc = NULL;
			p->in_validity = 0;
			p->ord->line = parse_line(p);
			p->ord->id = attr(p, "id");
		}
		return;
	}
	if (depth == 1 && p->head.kind == DOC_CSRSUB) {
		if (strcmp(name, "csr") == 0) {
			send_head(p);
			csr_free(p->csr);
			p->csr = xcalloc(1, sizeof(*p->csr));
			p->csr->line = parse_line(p);
			p->csr->order = attr(p, "order");
			p->csr->email = attr(p, "email");
			leaf_begin(p, &p->csr->csr, depth, 1);
		}
		return;
	}
	if (depth == 1 && p->head.kind == DOC_REVOCATION) {
		if (strcmp(name, "revoke") == 0) {
			send_head(p);
			start_revoke(p);
		}
		return;
	}
	if (p->ord == NULL)
		return;
	if (depth == 2)
		start_order_child(p, name, depth);
	else if (depth == 3 && p->rc != NULL)
		start_recipient_child(p, name, depth);
	else if (depth == 3 && p->in_validity)
		start_validity_child(p, name, depth);
}

static void
end_element(struct parse *p, int depth)
{
	size_t	 before;
	int	 rc;

	if (p->bad) {
		p->leaf = NULL;
		return;
	}
	if (p->leaf != NULL && depth == p->leaf_depth)
		leaf_end(p);

	if (depth == 0) {
		send_head(p);
		return;
	}
	if (depth == 2 && p->ord != NULL) {
		p->rc = NULL;
		p->in_validity = 0;
		return;
	}
	if (depth != 1)
		return;
	before = p->pr->n + p->pr->dropped;
	if (p->ord != NULL) {
		rc = 0;
		if (p->cb->on_order != NULL)
			rc = p->cb->on_order(p->cb->arg, p->ord);
		order_free(p->ord);
		p->ord = NULL;
		p->rc = NULL;
		if (rc != 0)
			refused(p, before, "order");
	} else if (p->csr != NULL) {
		rc = 0;
		if (p->cb->on_csr != NULL)
			rc = p->cb->on_csr(p->cb->arg, p->csr);
		csr_free(p->csr);
		p->csr = NULL;
		if (rc != 0)
			refused(p, before, "csr");
	} else if (p->rev != NULL) {
		rc = 0;
		if (p->cb->on_revoke != NULL)
			rc = p->cb->on_revoke(p->cb->arg, p->rev);
		revoke_free(p->rev);
		p->rev = NULL;
		if (rc != 0)
			refused(p, before, "revoke");
	}
}

/* One node of the document. */
static void
visit(struct parse *p)
{
	int	 type, depth;

	type = xmlTextReaderNodeType(p->r);
	depth = xmlTextReaderDepth(p->r);
	switch (type) {
	case XML_READER_TYPE_DOCUMENT_TYPE:
		parse_problem(p, 0, "SPEC 2: DOCTYPE not allowed");
		p->stop = 1;
		break;
	case XML_READER_TYPE_ENTITY_REFERENCE:
	case XML_READER_TYPE_ENTITY:
	case XML_READER_TYPE_END_ENTITY:
	case XML_READER_TYPE_NOTATION:
		parse_problem(p, 0, "SPEC 2: entity reference not allowed");
		p->stop = 1;
		break;
	case XML_READER_TYPE_ELEMENT:
		start_element(p, depth);
		if (!p->stop && xmlTextReaderIsEmptyElement(p->r) == 1)
			end_element(p, depth);
		break;
	case XML_READER_TYPE_END_ELEMENT:
		end_element(p, depth);
		break;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		if (!p->bad)
			leaf_text(p);
		break;
	default:
		/* comments and processing instructions carry nothing */
		break;
	}
}

int
batch_parse(const struct schema *s, int fd, const char *name,
    const struct batch_cb *cb, struct problems *pr)
{
	static const struct batch_cb	 nocb;
	struct parse			 p;
	xmlGenericErrorFunc		 old_gen;
	xmlStructuredErrorFunc		 old_st;
	void				*old_genctx, *old_stctx;
	size_t				 before;
	int				 rc = -1, n = 0;

	pthread_once(&init_once, parser_init);
	memset(&p, 0, sizeof(p));
	p.cb = cb != NULL ? cb : &nocb;
	p.pr = pr;
	before = pr->n + pr->dropped;

	old_gen = xmlGenericError;
	old_genctx = xmlGenericErrorContext;
	old_st = xmlStructuredError;
	old_stctx = xmlStructuredErrorContext;
	xmlSetGenericErrorFunc(&p, on_generic_error);
	xmlSetStructuredErrorFunc(&p, on_xml_error);
	cur_parse = &p;

	if (s == NULL || s->xsd == NULL) {
		parse_problem(&p, 0, "SPEC 2: no schema loaded");
		goto out;
	}
	xmlguard_init(&p.g, fd);
	p.r = xmlReaderForIO(guard_read, NULL, &p, name, "UTF-8", READER_OPTS);
	if (p.r == NULL) {
		if (!p.bad)
			parse_problem(&p, 0, "xml: cannot read the document");
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(p.r, on_xml_error, &p);
	if (xmlTextReaderSetSchema(p.r, s->xsd) != 0) {
		parse_problem(&p, 0, "xml: cannot attach the schema");
		goto out;
	}

	while (!p.stop && (n = xmlTextReaderRead(p.r)) == 1)
		visit(&p);
	generic_flush(&p);

	if (n == -1 && !p.bad)
		parse_problem(&p, 0, "xml: document is not well-formed");
	if (!p.stop && n == 0) {
		if (!p.root)
			parse_problem(&p, 0, "xml: no root element");
		else if (xmlTextReaderIsValid(p.r) != 1 && !p.bad)
			parse_problem(&p, 0, "batch-1.xsd: document is not "
			    "valid");
	}
	if (!p.bad && pr->n + pr->dropped == before && n == 0 && !p.stop)
		rc = 0;
 out:
	generic_flush(&p);
	if (rc == -1 && pr->n + pr->dropped == before)
		problems_add(pr, 0, "SPEC 2: document refused");
	xmlFreeTextReader(p.r);
	cur_parse = NULL;
	xmlSetGenericErrorFunc(old_genctx, old_gen);
	xmlSetStructuredErrorFunc(old_stctx, old_st);
	order_free(p.ord);
	csr_free(p.csr);
	revoke_free(p.rev);
	head_clear(&p.head);
	free(p.renew);
	buf_free(&p.text);
	return rc;
}
