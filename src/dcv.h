/*
 * dcv.h: organization, domain and mailbox validation shared by the
 * validation stages (stage_org.c, stage_dcv.c) and the operator commands
 * (cmd_validate.c): secret codes and tokens (checked by their SHA-256;
 * only an open organization request's code is also kept, schema 4), and
 * the start of an Email DCV.  The reuse periods, and the store side of
 * each validation, are in store_dcv.h and store_org.h.
 */
#ifndef CERTSPOOL_DCV_H
#define CERTSPOOL_DCV_H

#include "extern.h"
/* The reuse windows (S/MIME BR 4.2.1), the DCV lifetimes and the
 * dcv_info of a token; the organization requests' ORG_MAX_TRIES. */
#include "store_dcv.h"
#include "store_org.h"

/* Where a started Email DCV is reported; batch/order only for events. */
struct dcv_start {
	long long	 batch_id;	/* in: 0 when not started by an order */
	long long	 order_id;	/* in */
	long long	 id;		/* out: the dcv row */
	time_t		 expires;	/* out */
};

/*
 * Start an Email DCV (S/MIME BR 3.2.2.1) for the domain row domain_id:
 * a dcv row with a random token (stored hashed, valid DCV_EMAIL_TTL) and
 * one message to each constructed address, named dcv-<id>-<local part>.
 * Runs inside the caller's transaction.  -1 on a store error; -1 too if a
 * message could not be written, after marking the row 'failed' (so a
 * later attempt starts afresh).
 */
int	 dcv_start_email(struct store *, const struct conf *,
	    long long domain_id, struct dcv_start *);

/*
 * DNS TXT, DNS CNAME and HTTP DCV (S/MIME BR 3.2.2.1 via TLS BR
 * 3.2.2.4.7 and 3.2.2.4.18), dcv_net.c.  Each dcv row holds a random
 * value of DCV_TOKEN_CHARS (160 bits), stored as its SHA-256 only; value
 * holds the CNAME label or the HTTP file name, which the CA must know to
 * look.  Open DCV_NET_TTL; checked by certspool domain check and by the
 * daemon while an order needs the domain.
 *   dns-txt:   _certspool-challenge.DOMAIN  TXT  "VALUE"
 *   dns-cname: <value in lower case>.DOMAIN CNAME dcv_cname_target
 *   http:      http://DOMAIN/.well-known/pki-validation/<file> holding VALUE
 */
#define DCV_TXT_LABEL		"_certspool-challenge"
#define DCV_HTTP_DIR		"/.well-known/pki-validation/"

/* Is m one of dns-txt, dns-cname, http? */
int	 is_net_method(const char *m);
/* "DNS TXT", "DNS CNAME", "HTTP" for a method. */
const char *net_method_name(const char *m);

/* What the domain holder publishes, from dcv_start_net(). */
struct dcv_publish {
	char	 token[DCV_TOKEN_CHARS + 1];	/* the random value */
	char	 name[300];	/* record owner, or the URL */
	char	 rtype[8];	/* "TXT", "CNAME", "URL" */
	char	 data[300];	/* record data, or the file's content */
};

/*
 * Open a DNS TXT, DNS CNAME or HTTP DCV for the domain row domain_id in
 * the caller's transaction (row, event).  -1 on a store error or a bad
 * dcv_cname_target (with a log line).
 */
int	 dcv_start_net(struct store *, const struct conf *, long long domain_id,
	    const char *method, struct dcv_start *, struct dcv_publish *);
/*
 * Look for the DCV's value over the network (no store access).  1 if it
 * is there, 0 if not, with a sentence in msg either way.
 */
int	 dcv_net_probe(const struct conf *, long long id, const char *method,
	    const char *domain, const char *token_hash, const char *value,
	    char *msg, size_t msglen);
/* Mark DCV id used and its domain validated by its method, with an
 * event; caller's transaction.  0 or -1. */
int	 dcv_net_complete(struct store *, long long id, long long domain_id,
	    const char *method, long long batch, long long order,
	    const char *detail);
/*
 * For the pipeline: expire the domain row's lapsed DNS/HTTP DCVs, probe
 * the open ones (answers are remembered 30 s so one pass asks once) and
 * complete the first that matches.  *ok is 1 when the domain became
 * validated; note gets why not ("" when none is open).  Nothing is
 * written with dry_run.  0 or -1 (store).
 */
int	 dcv_net_check(struct store *, const struct conf *, long long domain_id,
	    long long batch, long long order, int dry_run, int *ok, char *note,
	    size_t notelen);

/*
 * A lower-case host name of LDH labels (internationalized labels as
 * A-labels): at most 253 bytes, labels of 1-63, at least two labels, no
 * reserved ??-- label other than xn--, a top-level label not all digits.
 */
int	 valid_domain(const char *);
/* Is domain (lower case) in conf->public_email_domains? */
int	 is_public_domain(const struct conf *, const char *domain);

/*
 * Confirming an Email DCV or a mailbox control by its token (confirm.c),
 * for the portal and certspool domain confirm.
 */
enum { DCV_CONFIRMED = 0, DCV_UNKNOWN, DCV_NOT_TOKEN, DCV_USED, DCV_VOID,
	DCV_EXPIRED };
/* The DCV a token names: 1 found, 0 unknown or malformed, -1 error. */
int	 dcv_lookup(struct store *, const char *token, struct dcv_info *);
/* Confirm in a transaction of its own, recording "confirmed by BY":
 * DCV_CONFIRMED, another DCV_* with a sentence in msg, or -1 (store). */
int	 dcv_confirm_token(struct store *, const char *token, const char *by,
	    struct dcv_info *, char *msg, size_t msglen);

#endif
