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
#include "batch.h"
#include "xmlguard.h"
#include "batch_local.h"

#ifndef SCHEMA_DIR
#define SCHEMA_DIR	"schemas"
#endif
#define SCHEMA_FILE	"batch-1.xsd"

/*
 * Never NOENT, DTDLOAD, DTDATTR, DTDVALID, HUGE or XINCLUDE.  Not NOCDATA
 * either: with a schema attached, libxml2 2.9 then drops CDATA content
 * from the reader's nodes (the validator still sees it).
 */
#define READER_OPTS	(XML_PARSE_NONET | XML_PARSE_BIG_LINES | \
			 XML_PARSE_IGNORE_ENC)

static pthread_once_t			 init_once = PTHREAD_ONCE_INIT;
static xmlExternalEntityLoader		 default_loader;
/* The parse running in this thread, for the entity loader. */
static _Thread_local struct parse	*cur_parse;

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
int
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

void
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
		parse_visit(&p);
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
	parse_free(&p);
	free(p.renew);
	buf_free(&p.text);
	return rc;
}
