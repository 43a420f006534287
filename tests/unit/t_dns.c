/*
 * t_dns.c: unit tests of the DNS wire format (dns.c) and the CAA
 * decision (stage_caa.c), linked from the real sources: queries, answers
 * with compression, hostile answers (pointer loops, forward pointers,
 * truncation, a foreign id or question), CNAME chains, TXT and CAA
 * rdata, resolver addresses, and RFC 9495 / RFC 8659 verdicts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "ca.h"
#include "dns.h"
#include "t.h"

/* A growing message for hand-made answers. */
struct msg {
	unsigned char	 b[2048];
	size_t		 n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put8(struct msg *m, unsigned v)
{
	m->b[m->n++] = (unsigned char)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, (v >> 8) & 0xff);
	put8(m, v & 0xff);
}

/* name in wire form, no compression */
static void
putname(struct msg *m, const char *name)
{
	const char	*p = name, *dot;
	size_t		 n;

	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		put8(m, (unsigned)n);
		put(m, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}

/* header + question; the question name starts at offset 12 */
static void
start(struct msg *m, uint16_t id, unsigned flags2, unsigned rcode,
    unsigned ancount, const char *qname, uint16_t qtype)
{
	m->n = 0;
	put16(m, id);
	put8(m, 0x80 | flags2);		/* QR, opcode 0 */
	put8(m, 0x80 | rcode);		/* RA */
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	putname(m, qname);
	put16(m, qtype);
	put16(m, 1);
}

/* a resource record whose owner is a pointer to offset ptr */
static void
rr_ptr(struct msg *m, unsigned ptr, uint16_t type, const void *rd, size_t n)
{
	put16(m, 0xc000 | ptr);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	put16(m, (unsigned)n);
	put(m, rd, n);
}

static void
test_query(void)
{
	unsigned char	 b[600];
	int		 n;

	n = dns_build_query(b, sizeof(b), 0x1234, "_certspool-challenge.acme.test",
	    DNS_T_TXT);
	T_CHECK(n == 12 + 32 + 4, "query length %d", n);
	T_CHECK(b[0] == 0x12 && b[1] == 0x34, "id");
	T_CHECK(b[2] == 0x01 && b[3] == 0, "RD only");
	T_CHECK(b[12] == 20 && memcmp(b + 13, "_certspool-challenge", 20) == 0,
	    "first label");
	T_CHECK(b[n - 3] == DNS_T_TXT && b[n - 1] == 1, "type and class");
	T_CHECK(dns_build_query(b, sizeof(b), 1, "acme.test.", DNS_T_A) ==
	    12 + 11 + 4, "one trailing dot allowed");
	T_CHECK(dns_build_query(b, sizeof(b), 1, "a..test", DNS_T_A) == -1,
	    "empty label refused");
	T_CHECK(dns_build_query(b, sizeof(b), 1, "", DNS_T_A) == -1,
	    "root refused");
	T_CHECK(dns_build_query(b, sizeof(b), 1, "a b.test", DNS_T_A) == -1,
	    "space refused");
	T_CHECK(dns_build_query(b, sizeof(b), 1,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
	    DNS_T_A) == -1, "64-byte label refused");
	T_CHECK(dns_build_query(b, 40, 1, "acme.test", DNS_T_A) == -1,
	    "small buffer refused");
}

static void
test_answer(void)
{
	struct msg		 m;
	struct dns_answer	 a;
	const struct dns_rr	*rr[4];
	unsigned char		 rd[64];
	char			 txt[128], tag[32], val[128];
	int			 tc, flags;

	/* TXT with two strings, owner compressed to the question */
	start(&m, 7, 0, 0, 1, "_c.acme.test", DNS_T_TXT);
	memcpy(rd, "\x03" "abc" "\x04" "defg", 9);
	rr_ptr(&m, 12, DNS_T_TXT, rd, 9);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 7, "_C.Acme.Test", DNS_T_TXT, &a,
	    &tc) == 0, "TXT answer parses");
	T_CHECK(a.status == DNS_OK && a.nrr == 1 && !tc, "one record");
	T_STREQ(a.rr[0].name, "_c.acme.test");
	T_CHECK(dns_txt_join(&a.rr[0], txt, sizeof(txt)) == 0, "join");
	T_STREQ(txt, "abcdefg");
	T_CHECK(dns_txt_join(&a.rr[0], txt, 5) == -1, "join too long");
	dns_answer_free(&a);

	/* not ours: id, QR, question */
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 8, "_c.acme.test", DNS_T_TXT, &a,
	    &tc) == 1, "other id ignored");
	T_CHECK(dns_parse_response(m.b, m.n, 7, "_d.acme.test", DNS_T_TXT, &a,
	    &tc) == 1, "other name ignored");
	T_CHECK(dns_parse_response(m.b, m.n, 7, "_c.acme.test", DNS_T_CAA, &a,
	    &tc) == 1, "other type ignored");
	m.b[2] &= 0x7f;
	T_CHECK(dns_parse_response(m.b, m.n, 7, "_c.acme.test", DNS_T_TXT, &a,
	    &tc) == 1, "a query is not an answer");
	T_CHECK(dns_parse_response(m.b, 11, 7, "_c.acme.test", DNS_T_TXT, &a,
	    &tc) == 1, "short message ignored");

	/* truncated answer section */
	start(&m, 7, 0, 0, 1, "_c.acme.test", DNS_T_TXT);
	rr_ptr(&m, 12, DNS_T_TXT, "\x03" "abc", 4);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n - 2, 7, "_c.acme.test", DNS_T_TXT,
	    &a, &tc) == -1 && a.status == DNS_ERROR, "cut rdata refused");
	dns_answer_free(&a);

	/* TC set */
	start(&m, 9, 0x02, 0, 0, "acme.test", DNS_T_CAA);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 9, "acme.test", DNS_T_CAA, &a,
	    &tc) == 0 && tc == 1, "TC reported");

	/* rcodes */
	start(&m, 9, 0, 3, 0, "acme.test", DNS_T_CAA);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 9, "acme.test", DNS_T_CAA, &a,
	    &tc) == 0 && a.status == DNS_NXDOMAIN, "NXDOMAIN");
	dns_answer_free(&a);
	start(&m, 9, 0, 2, 0, "acme.test", DNS_T_CAA);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 9, "acme.test", DNS_T_CAA, &a,
	    &tc) == 0 && a.status == DNS_SERVFAIL, "SERVFAIL");
	start(&m, 9, 0, 5, 0, "acme.test", DNS_T_CAA);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 9, "acme.test", DNS_T_CAA, &a,
	    &tc) == 0 && a.status == DNS_REFUSED, "REFUSED");

	/* a pointer to itself (loop) and a forward pointer */
	start(&m, 9, 0, 0, 1, "acme.test", DNS_T_A);
	put16(&m, 0xc000 | (unsigned)m.n);
	put16(&m, DNS_T_A);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 9, "acme.test", DNS_T_A, &a,
	    &tc) == -1, "pointer loop refused");
	dns_answer_free(&a);
	start(&m, 9, 0, 0, 1, "acme.test", DNS_T_A);
	put16(&m, 0xc000 | (unsigned)(m.n + 4));
	put16(&m, DNS_T_A);
	put8(&m, 0);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 9, "acme.test", DNS_T_A, &a,
	    &tc) == -1, "forward pointer refused");
	dns_answer_free(&a);

	/* CNAME chain: www -> web.acme.test (compressed) -> A */
	start(&m, 3, 0, 0, 2, "www.acme.test", DNS_T_A);
	{
		size_t	 at;

		rd[0] = 3;
		memcpy(rd + 1, "web", 3);
		rd[4] = 0xc0;
		rd[5] = 16;	/* "acme.test" inside the question */
		at = m.n + 12;	/* where the CNAME's rdata starts */
		rr_ptr(&m, 12, DNS_T_CNAME, rd, 6);
		rr_ptr(&m, (unsigned)at, DNS_T_A, "\x7f\x00\x00\x01", 4);
	}
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 3, "www.acme.test", DNS_T_A, &a,
	    &tc) == 0 && a.nrr == 2, "CNAME chain parses");
	T_STREQ(a.rr[0].target, "web.acme.test");
	T_STREQ(a.rr[1].name, "web.acme.test");
	T_CHECK(dns_answer_find(&a, "www.acme.test", DNS_T_A, rr, 4) == 1 &&
	    rr[0]->rdlen == 4 && rr[0]->rdata[0] == 127, "A found via CNAME");
	T_CHECK(dns_answer_find(&a, "www.acme.test", DNS_T_CNAME, rr, 4) == 1,
	    "CNAME itself found");
	T_CHECK(dns_answer_find(&a, "other.test", DNS_T_A, rr, 4) == 0,
	    "no record for another name");
	dns_answer_free(&a);

	/* odd bytes in owner names never equal a host name */
	start(&m, 4, 0, 0, 1, "acme.test", DNS_T_TXT);
	put8(&m, 3);
	put(&m, "a.b", 3);
	put16(&m, 0xc000 | 12);
	put16(&m, DNS_T_TXT);
	put16(&m, 1);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 2);
	put(&m, "\x01x", 2);
	memset(&a, 0, sizeof(a));
	T_CHECK(dns_parse_response(m.b, m.n, 4, "acme.test", DNS_T_TXT, &a,
	    &tc) == 0 && a.nrr == 1, "label with a dot parses");
	T_STREQ(a.rr[0].name, "a?b.acme.test");
	T_CHECK(dns_answer_find(&a, "a.b.acme.test", DNS_T_TXT, rr, 4) == 0,
	    "\"a.b\" label is not a.b");
	dns_answer_free(&a);

	/* CAA rdata */
	{
		struct dns_rr	 r;

		memset(&r, 0, sizeof(r));
		r.type = DNS_T_CAA;
		r.rdata = (unsigned char *)"\x80\x09issuemailca.example";
		r.rdlen = 21;
		T_CHECK(dns_caa_parse(&r, &flags, tag, sizeof(tag), val,
		    sizeof(val)) == 0 && flags == 128, "CAA parses");
		T_STREQ(tag, "issuemail");
		T_STREQ(val, "ca.example");
		r.rdata = (unsigned char *)"\x00\x0aissuemail";
		r.rdlen = 11;
		T_CHECK(dns_caa_parse(&r, &flags, tag, sizeof(tag), val,
		    sizeof(val)) == -1, "tag longer than rdata refused");
		r.rdata = (unsigned char *)"\x00\x02i-x";
		r.rdlen = 5;
		T_CHECK(dns_caa_parse(&r, &flags, tag, sizeof(tag), val,
		    sizeof(val)) == -1, "non-alphanumeric tag refused");
	}
}

static void
test_resolver(void)
{
	struct dns_resolver	 r;
	char			 err[256];

	T_CHECK(dns_resolver_init(&r, "127.0.0.1:5353", 3, err,
	    sizeof(err)) == 0, "v4:port");
	T_STREQ(r.desc, "127.0.0.1:5353");
	T_CHECK(r.timeout_ms == 3000, "timeout");
	T_CHECK(dns_resolver_init(&r, "192.0.2.1", 3, err, sizeof(err)) == 0,
	    "v4 without port");
	T_STREQ(r.desc, "192.0.2.1:53");
	T_CHECK(dns_resolver_init(&r, "[::1]:5353", 3, err, sizeof(err)) == 0,
	    "[v6]:port");
	T_STREQ(r.desc, "[::1]:5353");
	T_CHECK(dns_resolver_init(&r, "resolver.example:53", 3, err,
	    sizeof(err)) == -1, "names refused");
	T_CHECK(dns_resolver_init(&r, "127.0.0.1:0", 3, err, sizeof(err)) == -1,
	    "port 0 refused");
	T_CHECK(dns_resolver_init(&r, "127.0.0.1:70000", 3, err,
	    sizeof(err)) == -1, "port too big refused");
	T_CHECK(dns_resolver_init(&r, "[::1", 3, err, sizeof(err)) == -1,
	    "unclosed bracket refused");
}

/* caa_decide over records given as "flags tag value" */
static enum caa_verdict
decide(const char *ids, int n, ...)
{
	struct dns_rr		 rr[8];
	const struct dns_rr	*p[8];
	unsigned char		 data[8][128];
	char			 why[400];
	va_list			 ap;
	int			 i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		int		 flags = va_arg(ap, int);
		const char	*tag = va_arg(ap, const char *);
		const char	*val = va_arg(ap, const char *);

		memset(&rr[i], 0, sizeof(rr[i]));
		data[i][0] = (unsigned char)flags;
		data[i][1] = (unsigned char)strlen(tag);
		memcpy(data[i] + 2, tag, strlen(tag));
		memcpy(data[i] + 2 + strlen(tag), val, strlen(val));
		rr[i].type = DNS_T_CAA;
		rr[i].rdata = data[i];
		rr[i].rdlen = 2 + strlen(tag) + strlen(val);
		p[i] = &rr[i];
	}
	va_end(ap);
	return caa_decide(p, (size_t)n, ids, why, sizeof(why));
}

static void
test_caa(void)
{
	const char	*ids = "certspool.invalid, backup-ca.example";

	T_CHECK(decide(ids, 1, 0, "issuemail", "certspool.invalid") ==
	    CAA_ALLOW, "names this CA");
	T_CHECK(decide(ids, 1, 0, "issuemail", "Backup-CA.Example.") ==
	    CAA_ALLOW, "second identity, case and trailing dot");
	T_CHECK(decide(ids, 1, 0, "issuemail", " certspool.invalid ; a=b") ==
	    CAA_ALLOW, "parameters ignored");
	T_CHECK(decide(ids, 1, 0, "issuemail", "other-ca.example") ==
	    CAA_FORBID, "another CA");
	T_CHECK(decide(ids, 1, 0, "issuemail", "") == CAA_FORBID,
	    "empty value forbids");
	T_CHECK(decide(ids, 1, 0, "issuemail", ";") == CAA_FORBID,
	    "empty issuer with ; forbids");
	T_CHECK(decide(ids, 1, 0, "issuemail", "certspool.invalidx") ==
	    CAA_FORBID, "no prefix match");
	T_CHECK(decide(ids, 2, 0, "issuemail", "other-ca.example", 0,
	    "issuemail", "certspool.invalid") == CAA_ALLOW, "one of two");
	T_CHECK(decide(ids, 1, 0, "issue", "other-ca.example") == CAA_ALLOW,
	    "issue alone does not apply (RFC 9495)");
	T_CHECK(decide(ids, 2, 0, "issue", "certspool.invalid", 0,
	    "issuemail", "other-ca.example") == CAA_FORBID,
	    "issue naming us does not help");
	T_CHECK(decide(ids, 2, 128, "futuretag", "x", 0, "issuemail",
	    "certspool.invalid") == CAA_FORBID, "critical unknown tag");
	T_CHECK(decide(ids, 2, 128, "iodef", "mailto:x@acme.test", 0,
	    "issuemail", "certspool.invalid") == CAA_ALLOW,
	    "critical known tag is fine");
	T_CHECK(decide(ids, 1, 0, "futuretag", "x") == CAA_ALLOW,
	    "non-critical unknown tag ignored");
	T_CHECK(decide(ids, 1, 0, "IssueMail", "certspool.invalid") ==
	    CAA_ALLOW, "tags are case-insensitive");
	T_CHECK(decide(NULL, 1, 0, "issuemail", "certspool.invalid") ==
	    CAA_FORBID, "no identities: nothing matches");
}

int
main(void)
{
	test_query();
	test_answer();
	test_resolver();
	test_caa();
	return t_done("t_dns");
}
