/*
 * batch_local.h: the state of one parse of an inbound document, shared by
 * the reader and its error handling (batch.c) and the builder of orders,
 * csrs and revocations from the document's elements (batch_doc.c).
 */
#ifndef CERTSPOOL_BATCH_LOCAL_H
#define CERTSPOOL_BATCH_LOCAL_H

#define BATCH_NS	"urn:certspool:batch:1"

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

/* batch.c */
int	 parse_line(struct parse *);
void	 parse_problem(struct parse *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* batch_doc.c: one node of the document; free what a parse holds. */
void	 parse_visit(struct parse *);
void	 parse_free(struct parse *);

#endif
