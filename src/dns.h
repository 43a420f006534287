/*
 * dns.h: a small DNS client (dns.c) for domain control
 * validation and CAA: one question to the configured recursive resolver
 * (dns_resolver = host:port, or "system": the first nameserver of
 * /etc/resolv.conf) over UDP, again over TCP when the answer is
 * truncated, within dns_timeout_seconds.  The CAA decision of RFC 8659 /
 * RFC 9495 (stage_caa.c) is declared here too, for its unit tests.
 */
#ifndef CERTSPOOL_DNS_H
#define CERTSPOOL_DNS_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_TXT	16
#define DNS_T_CAA	257

#define DNS_NAME_MAX	253	/* presentation form, no trailing dot */
#define DNS_MSG_MAX	65535

enum dns_status {
	DNS_OK = 0,		/* NOERROR, answers possibly empty (NODATA) */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_SERVFAIL,		/* the resolver could not answer */
	DNS_REFUSED,		/* REFUSED or another error rcode */
	DNS_TIMEOUT,		/* no answer within the time limit */
	DNS_ERROR,		/* network error or malformed answer */
};

/* One resource record of the answer section. */
struct dns_rr {
	char		 name[DNS_NAME_MAX + 1];	/* owner, lower case */
	uint16_t	 type;
	unsigned char	*rdata;
	size_t		 rdlen;
	char		 target[DNS_NAME_MAX + 1];	/* CNAME: lower case */
};

struct dns_answer {
	enum dns_status	 status;
	int		 rcode;
	struct dns_rr	*rr;
	size_t		 nrr;
	char		 err[160];	/* why, for anything but DNS_OK */
};

struct dns_resolver {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 timeout_ms;	/* per question, total */
	char			 desc[64];	/* "127.0.0.1:53" */
};

/*
 * spec: "system", "A.B.C.D", "A.B.C.D:PORT", "[V6]" or "[V6]:PORT";
 * numeric addresses only (a resolver is not looked up by name).
 * -1 with a sentence in err.
 */
int	 dns_resolver_init(struct dns_resolver *, const char *spec,
	    int timeout_seconds, char *err, size_t errlen);
/*
 * Ask one question (class IN, recursion desired).  Returns 0 with
 * ans->status DNS_OK or DNS_NXDOMAIN; -1 with another status and a
 * sentence in ans->err.  Free ans with dns_answer_free() either way.
 */
int	 dns_query(const struct dns_resolver *, const char *name,
	    uint16_t type, struct dns_answer *ans);
void	 dns_answer_free(struct dns_answer *);
const char *dns_status_str(enum dns_status);

/*
 * The records of type in the answer for qname, following CNAMEs inside
 * the answer (at most 8).  Fills up to max pointers; returns the count.
 */
size_t	 dns_answer_find(const struct dns_answer *, const char *qname,
	    uint16_t type, const struct dns_rr **out, size_t max);

/* The wire format, for dns.c and its unit tests. */
/* A query for name/type with id into buf; its length, or -1. */
int	 dns_build_query(unsigned char *buf, size_t len, uint16_t id,
	    const char *name, uint16_t type);
/*
 * Check a response against the question (id, QR, the same single
 * question) and copy its answer section into ans.  0, or -1 with
 * ans->status DNS_ERROR and a sentence (malformed, compression loop...).
 * A truncated answer (TC) sets *tc.
 */
int	 dns_parse_response(const unsigned char *msg, size_t len, uint16_t id,
	    const char *qname, uint16_t qtype, struct dns_answer *ans,
	    int *tc);

/* TXT: the character-strings of one record joined, bytes outside
 * printable ASCII as '?'; -1 if malformed or longer than outlen - 1. */
int	 dns_txt_join(const struct dns_rr *, char *out, size_t outlen);
/* CAA (RFC 8659 4.1): flags, tag and value; -1 if malformed.  The value
 * keeps printable ASCII, others become '?'. */
int	 dns_caa_parse(const struct dns_rr *, int *flags, char *tag,
	    size_t taglen, char *value, size_t valuelen);

/* ---- stage_caa.c ---- */

enum caa_verdict { CAA_ALLOW = 0, CAA_FORBID };
/*
 * RFC 9495 over a relevant CAA RRset (nrr records of rrs): allowed when
 * it has no issuemail property, or an issuemail whose issuer domain name
 * is one of identities (comma separated, case-insensitive, parameters
 * after ';' ignored); an empty issuemail value authorizes no one; a
 * critical property with an unknown tag forbids (RFC 8659 4.1).  why
 * gets the records as text and the verdict's reason.
 */
enum caa_verdict caa_decide(const struct dns_rr *const *rrs, size_t nrr,
	    const char *identities, char *why, size_t whylen);

#endif
