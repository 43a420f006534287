/*
 * batch_doc.c: builds the documents of SPEC 2 from the reader's nodes, one
 * element at a time (batch.c drives the reader): the head, each <order>
 * with its recipients, each <csr>, each <revoke>, handed to the caller's
 * callbacks as soon as they are complete and freed after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xinclude.h>
#include <libxml/xmlreader.h>

#include "extern.h"
#include "batch.h"
#include "xmlguard.h"
#include "batch_local.h"

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
void
parse_visit(struct parse *p)
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

void
parse_free(struct parse *p)
{
	order_free(p->ord);
	csr_free(p->csr);
	revoke_free(p->rev);
	head_clear(&p->head);
}
