/*
 * stage_caa.c: CAA before issuance (S/MIME BR 4.2.2.1, RFC 9495 over
 * RFC 8659), per recipient, when caa_check is on.  The relevant RRset is
 * the CAA RRset of the mailbox domain or, if it has none, of the nearest
 * parent that has one (tree climbing, RFC 8659 3; the root is never
 * asked).  Issuance is allowed if that RRset has no issuemail property
 * (RFC 9495 does not fall back to issue), or an issuemail naming one of
 * caa_identities; an empty issuemail value forbids every CA; a critical
 * property with an unknown tag forbids (RFC 8659 4.1).
 * Failure policy: a forbidding RRset rejects the recipient
 * (caa_forbidden).  A lookup that fails (SERVFAIL, timeout, refused,
 * malformed) is not a permission: the recipient waits in waiting_dcv and
 * the lookup is repeated in the next pass.  Answers are remembered 30 s
 * so that one pass asks once per domain.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "stage.h"
#include "dns.h"

#define CAA_MEMO	64
#define CAA_MEMO_MS	30000
#define CAA_MAX_RR	32

enum caa_outcome { CAA_OUT_ALLOW, CAA_OUT_FORBID, CAA_OUT_FAIL };

static struct caa_memo {
	char			 domain[DNS_NAME_MAX + 1];
	long long		 at;		/* CLOCK_MONOTONIC ms */
	enum caa_outcome	 out;
	char			 msg[400];
} memo[CAA_MEMO];

static void msgf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf for messages that may be cut short. */
static void
msgf(char *out, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
}

/* Property tags of RFC 8659, RFC 9495 and the registry this CA knows. */
static int
is_known_tag(const char *tag)
{
	static const char *const known[] = { "issue", "issuewild", "iodef",
	    "issuemail", "issuevmc", "contactemail", "contactphone" };
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(tag, known[i]) == 0)
			return 1;
	return 0;
}

/* Is name (n bytes) one of the comma-separated identities? */
static int
is_identity(const char *name, size_t n, const char *identities)
{
	const char	*p, *end;
	size_t		 len;

	while (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || identities == NULL)
		return 0;
	for (p = identities; *p != '\0'; p = *end ? end + 1 : end) {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
		    p[len - 1] == '.'))
			len--;
		if (len == n && strncasecmp(p, name, n) == 0)
			return 1;
	}
	return 0;
}

enum caa_verdict
caa_decide(const struct dns_rr *const *rrs, size_t nrr,
    const char *identities, char *why, size_t whylen)
{
	char		 tag[64], value[300], list[300] = "";
	const char	*v;
	size_t		 i, n, used = 0;
	int		 flags, issuemail = 0, allowed = 0, critical = 0, k;

	for (i = 0; i < nrr; i++) {
		if (dns_caa_parse(rrs[i], &flags, tag, sizeof(tag), value,
		    sizeof(value)) == -1) {
			/* Unparseable: counts only if marked critical. */
			if (rrs[i]->rdlen > 0 && (rrs[i]->rdata[0] & 0x80))
				critical = 1;
			continue;
		}
		k = snprintf(list + used, sizeof(list) - used, "%s%d %s \"%s\"",
		    used ? ", " : "", flags, tag, value);
		if (k > 0 && (size_t)k < sizeof(list) - used)
			used += (size_t)k;
		if ((flags & 0x80) && !is_known_tag(tag))
			critical = 1;
		if (strcmp(tag, "issuemail") != 0)
			continue;
		issuemail = 1;
		/* issuer-domain-name [";" parameters], RFC 8659 4.2 */
		v = value + strspn(value, " \t");
		n = strcspn(v, "; \t");
		if (is_identity(v, n, identities))
			allowed = 1;
	}
	if (critical) {
		snprintf(why, whylen, "CAA records %s: a critical property "
		    "this CA does not understand forbids issuance (RFC 8659 "
		    "4.1)", list);
		return CAA_FORBID;
	}
	if (!issuemail) {
		snprintf(why, whylen, "CAA records %s: no issuemail property "
		    "(RFC 9495 does not apply issue to S/MIME)", list);
		return CAA_ALLOW;
	}
	if (allowed) {
		snprintf(why, whylen, "CAA records %s: issuemail names this CA",
		    list);
		return CAA_ALLOW;
	}
	snprintf(why, whylen, "CAA records %s: no issuemail property names "
	    "this CA (%s)", list, identities ? identities : "");
	return CAA_FORBID;
}

/* The relevant RRset for domain, climbing to its parents; a verdict. */
static enum caa_outcome
caa_lookup(const struct conf *c, const char *domain, char *msg, size_t len)
{
	struct dns_resolver	 r;
	struct dns_answer	 ans;
	const struct dns_rr	*rr[CAA_MAX_RR];
	const char		*x = domain;
	char			 why[400], err[256];
	size_t			 n;

	if (dns_resolver_init(&r, c->dns_resolver, c->dns_timeout_seconds,
	    err, sizeof(err)) == -1) {
		msgf(msg, len, "CAA lookup for %s impossible: %s", domain,
		    err);
		return CAA_OUT_FAIL;
	}
	for (;;) {
		if (dns_query(&r, x, DNS_T_CAA, &ans) == -1) {
			msgf(msg, len, "CAA lookup of %s through %s failed: "
			    "%s", x, r.desc, ans.err);
			dns_answer_free(&ans);
			return CAA_OUT_FAIL;
		}
		n = ans.status == DNS_OK ? dns_answer_find(&ans, x, DNS_T_CAA,
		    rr, CAA_MAX_RR) : 0;
		if (n > 0) {
			enum caa_verdict v = caa_decide(rr, n,
			    c->caa_identities, why, sizeof(why));

			dns_answer_free(&ans);
			msgf(msg, len, "relevant RRset at %s: %s", x, why);
			return v == CAA_ALLOW ? CAA_OUT_ALLOW : CAA_OUT_FORBID;
		}
		dns_answer_free(&ans);
		if ((x = strchr(x, '.')) == NULL || *++x == '\0')
			break;
	}
	msgf(msg, len, "no CAA records at %s or its parents", domain);
	return CAA_OUT_ALLOW;
}

static enum caa_outcome
caa_memo_lookup(const struct conf *c, const char *domain, char *msg,
    size_t len)
{
	struct caa_memo	*m, *old = &memo[0];
	long long	 now = mono_ms();
	size_t		 i;

	for (i = 0; i < CAA_MEMO; i++) {
		m = &memo[i];
		if (m->at != 0 && now - m->at < CAA_MEMO_MS &&
		    strcmp(m->domain, domain) == 0) {
			strlcpy_(msg, m->msg, len);
			return m->out;
		}
		if (m->at < old->at)
			old = m;
	}
	strlcpy_(old->domain, domain, sizeof(old->domain));
	old->out = caa_lookup(c, domain, old->msg, sizeof(old->msg));
	old->at = mono_ms();
	strlcpy_(msg, old->msg, len);
	return old->out;
}

enum stage_rc
stage_caa(struct eval *e, struct rcpt *r)
{
	const char		*at;
	char			 domain[DNS_NAME_MAX + 1], msg[400];
	size_t			 i;
	enum caa_outcome	 out;

	if (!e->conf->caa_check)
		return STAGE_PASS;
	if ((at = email_domain(r->email)) == NULL ||
	    strlen(at) >= sizeof(domain)) {
		rcpt_set(r, S_REJECTED, "email_domain_invalid", "\"%s\" is not "
		    "an email address", r->email ? r->email : "");
		return STAGE_REJECT;
	}
	for (i = 0; at[i] != '\0'; i++)
		domain[i] = (char)tolower((unsigned char)at[i]);
	domain[i] = '\0';
	out = caa_memo_lookup(e->conf, domain, msg, sizeof(msg));
	switch (out) {
	case CAA_OUT_ALLOW:
		return STAGE_PASS;
	case CAA_OUT_FORBID:
		rcpt_set(r, S_REJECTED, "caa_forbidden", "CAA of %s forbids "
		    "this CA to issue for %s (RFC 9495, S/MIME BR 4.2.2.1): %s",
		    domain, r->email, msg);
		return STAGE_REJECT;
	case CAA_OUT_FAIL:
		break;
	}
	rcpt_set(r, S_WAIT_DCV, NULL, "%s; no certificate without a CAA "
	    "answer (S/MIME BR 4.2.2.1): the recipient waits and the lookup is "
	    "repeated in the next pass", msg);
	snprintf(e->message, sizeof(e->message), "%s", r->message);
	return STAGE_WAIT;
}
