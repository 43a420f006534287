/*
 * batch.h: the inbound documents of SPEC 2 as the streaming parser (batch.c,
 * batch_doc.c) hands them over: a batch's head and orders, a submitted
 * CSR, a revocation; the problems of a refused document.
 */
#ifndef CERTSPOOL_BATCH_H
#define CERTSPOOL_BATCH_H

#include "extern.h"
/* ---- batch parsing (batch.c) ---- */

enum cn_type { CN_NONE = 0, CN_NAME, CN_EMAIL, CN_ORGANIZATION };
enum validity_kind { VALID_NONE = 0, VALID_YEARS, VALID_DAYS, VALID_NOTAFTER };
enum doc_kind { DOC_BATCH = 1, DOC_CSRSUB = 2, DOC_REVOCATION = 3 };

struct problem {
	int	 line;
	char	*text;
};
struct problems {
	struct problem	*v;
	size_t		 n;
	size_t		 dropped;	/* not kept beyond PROBLEMS_MAX */
};
#define PROBLEMS_MAX	100
void	 problems_add(struct problems *, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 problems_free(struct problems *);

struct recipient_in {
	int		 line;
	enum cn_type	 cn_type;
	char		*cn;
	char		*given_name;
	char		*surname;
	char		*pseudonym;
	char		*email;
	char		*csr;		/* text as given, or NULL */
	int		 csr_later;
	char		*keygen;	/* algorithm, or NULL */
	/* lines of the elements order_check.c checks (0 if absent) */
	int		 email_line, cn_line, given_line, surname_line;
	int		 pseudonym_line;
};

struct order_in {
	int		 line;
	char		*id;
	char		*product;
	char		*organization;	/* NULL if absent */
	char		*sig_hash;	/* NULL if absent */
	enum validity_kind vkind;
	char		*vvalue;	/* "1", "365", "2027-12-31" */
	int		 auto_renew;	/* -1: unlimited */
	char		*att_officer;	/* order-level attestation or NULL */
	char		*att_title;
	struct recipient_in *rcpt;
	size_t		 nrcpt;
	char		*additional_emails;
	char		*pay_method;	/* NULL if absent */
	char		*pay_ref;
	int		 agreement;	/* 1 accepted="true", 0 otherwise */
	int		 org_line, add_line;	/* lines of <organization>,
						 * <additionalEmails> */
};

struct batch_head {
	enum doc_kind	 kind;
	char		*id;		/* batch, revocation: id; else NULL */
	char		*account;	/* NULL if absent */
	char		*created;
	char		*att_officer;	/* batch-level attestation or NULL */
	char		*att_title;
};

struct csr_in {
	int	 line;
	char	*order;
	char	*email;
	char	*csr;
};

/* One <revoke> of a revocation (SPEC 7.1): exactly one selector set
 * (email, order with batch, or serial); reason one revoke_reason_code()
 * knows; at NULL if absent. */
struct revoke_in {
	int	 line;
	char	*email;
	char	*order;
	char	*batch;
	char	*serial;
	char	*reason;
	char	*at;
};

/*
 * Callbacks; a non-zero return stops the parse (it then fails with the
 * problem the callback added).  on_head is called once, after the root's
 * attributes and any batch-level attestation, before the first order or
 * csr.  The structures passed are freed by the parser after the call.
 */
struct batch_cb {
	void	*arg;
	int	(*on_head)(void *arg, const struct batch_head *);
	int	(*on_order)(void *arg, const struct order_in *);
	int	(*on_csr)(void *arg, const struct csr_in *);
	int	(*on_revoke)(void *arg, const struct revoke_in *);
};

/*
 * Load the XML Schema once (schemas/batch-1.xsd); NULL on failure.  The
 * returned object is shared read-only by all parses.
 */
struct schema	*schema_load(const char *xsd_path, char *err, size_t errlen);
void		 schema_free(struct schema *);
/*
 * Stream-parse and validate fd as a batch, csrSubmission or revocation.
 * Returns 0 if the whole document is valid and every callback returned 0;
 * -1 otherwise, with at least one problem (line numbers where known).
 * Refuses DOCTYPE, entities, XInclude, network; memory does not grow with
 * the number of orders.
 */
int		 batch_parse(const struct schema *, int fd, const char *name,
		    const struct batch_cb *, struct problems *);
/* Where the XSD is: $CERTSPOOL_SCHEMA_DIR, else the compiled-in path
 * (data_path(): else the installation's share/certspool/schemas). */
const char	*schema_path(void);

#endif
