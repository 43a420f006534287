/*
 * dns.c: a small DNS client for DCV and CAA lookups (RFC 1035).  One
 * question per call to the configured recursive resolver over a
 * connected UDP socket (so only the resolver's address is heard), with a
 * random id, retransmitted within the time limit; a truncated answer is
 * asked again over TCP.  Answers are accepted only if they carry our id
 * and our question; names are decompressed with pointers that must
 * point backwards, so a hostile answer cannot loop.
 * Time limits are measured with CLOCK_MONOTONIC (elapsed time, not the
 * validation clock of clock_now(), which tests may freeze).
 * Failure policy: every failure (timeout, refused, SERVFAIL, malformed
 * answer) is returned as a status with a sentence; the callers decide
 * (DCV: not validated yet; CAA: retry in the next pass).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "dns.h"

#define DNS_HDR		12
#define DNS_MAX_RR	256
#define DNS_MAX_CHAIN	8
#define RESOLV_CONF	"/etc/resolv.conf"
#define DOWN_MS		30000

/*
 * The last resolver that let a question time out: for DOWN_MS it is not
 * asked again, so a dead resolver costs one time limit per pass, not one
 * per domain (the pipeline asks inside its transaction).
 */
static struct {
	char		 desc[64];
	long long	 at;
} down;

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "NOERROR";
	case DNS_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_SERVFAIL:
		return "SERVFAIL";
	case DNS_REFUSED:
		return "REFUSED";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_ERROR:
		break;
	}
	return "error";
}

/* ---- the resolver's address ---- */

static int
set_addr(struct dns_resolver *r, const char *host, int port)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&r->ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&r->ss;

	memset(&r->ss, 0, sizeof(r->ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		r->sslen = sizeof(*s4);
		snprintf(r->desc, sizeof(r->desc), "%s:%d", host, port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		r->sslen = sizeof(*s6);
		snprintf(r->desc, sizeof(r->desc), "[%s]:%d", host, port);
		return 0;
	}
	return -1;
}

/* The first usable "nameserver" line of resolv.conf. */
static int
system_resolver(struct dns_resolver *r, char *err, size_t errlen)
{
	FILE	*f;
	char	 line[512], *p, *e;

	if ((f = fopen(RESOLV_CONF, "re")) == NULL) {
		snprintf(err, errlen, "dns_resolver = system: %s: %s",
		    RESOLV_CONF, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "nameserver", 10) != 0 ||
		    (p[10] != ' ' && p[10] != '\t'))
			continue;
		p += 10;
		p += strspn(p, " \t");
		e = p + strcspn(p, " \t\r\n#;%");
		*e = '\0';
		if (set_addr(r, p, 53) == 0) {
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	snprintf(err, errlen, "dns_resolver = system: no usable nameserver "
	    "line in %s", RESOLV_CONF);
	return -1;
}

int
dns_resolver_init(struct dns_resolver *r, const char *spec,
    int timeout_seconds, char *err, size_t errlen)
{
	char		 host[80];
	const char	*colon, *end;
	char		*pend;
	long		 port = 53;
	size_t		 n;

	memset(r, 0, sizeof(*r));
	r->timeout_ms = (timeout_seconds > 0 ? timeout_seconds : 5) * 1000;
	if (spec == NULL || strcmp(spec, "system") == 0 || *spec == '\0')
		return system_resolver(r, err, errlen);
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL)
			goto bad;
		n = (size_t)(end - spec - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto bad;
		spec++;
	} else {
		colon = strrchr(spec, ':');
		n = colon ? (size_t)(colon - spec) : strlen(spec);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, spec, n);
	host[n] = '\0';
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &pend, 10);
		if (errno != 0 || colon[1] == '\0' || *pend != '\0' ||
		    port < 1 || port > 65535)
			goto bad;
	}
	if (set_addr(r, host, (int)port) == 0)
		return 0;
bad:
	snprintf(err, errlen, "dns_resolver \"%s\" is not system, ADDRESS, "
	    "ADDRESS:PORT or [IPV6]:PORT (numeric addresses only)", spec);
	return -1;
}

/* ---- wire format ---- */

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static int
is_name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

int
dns_build_query(unsigned char *buf, size_t len, uint16_t id,
    const char *name, uint16_t type)
{
	size_t		 pos = DNS_HDR, n;
	const char	*p = name, *dot;

	if (len < DNS_HDR + 5 + 255)
		return -1;
	memset(buf, 0, DNS_HDR);
	put16(buf, id);
	buf[2] = 0x01;			/* RD */
	put16(buf + 4, 1);		/* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || pos + 1 + n > DNS_HDR + 254)
			return -1;
		buf[pos++] = (unsigned char)n;
		for (; n > 0; n--, p++) {
			if (!is_name_char((unsigned char)*p))
				return -1;
			buf[pos++] = (unsigned char)*p;
		}
		if (*p == '.' && *++p == '\0')
			break;		/* one trailing dot */
	}
	if (pos == DNS_HDR)
		return -1;		/* the root is never asked */
	buf[pos++] = 0;
	put16(buf + pos, type);
	put16(buf + pos + 2, 1);	/* IN */
	return (int)(pos + 4);
}

/*
 * Read the (possibly compressed) name at *off into out in lower case
 * presentation form; bytes that are not name characters become '?'.
 * *off moves past the name as stored.  -1 if malformed.
 */
static int
read_name(const unsigned char *msg, size_t len, size_t *off, char *out,
    size_t outlen)
{
	size_t	 pos = *off, o = 0, wire = 0, i, n;
	int	 jumped = 0;

	for (;;) {
		if (pos >= len)
			return -1;
		n = msg[pos];
		if ((n & 0xc0) == 0xc0) {
			size_t	 to;

			if (pos + 1 >= len)
				return -1;
			to = (size_t)((n & 0x3f) << 8 | msg[pos + 1]);
			/* Backwards only: no loops. */
			if (to >= pos)
				return -1;
			if (!jumped)
				*off = pos + 2;
			jumped = 1;
			pos = to;
			continue;
		}
		if ((n & 0xc0) != 0)
			return -1;
		pos++;
		if (n == 0)
			break;
		wire += n + 1;
		if (wire > 255 || pos + n > len)
			return -1;
		if (o != 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		if (o + n >= outlen)
			return -1;
		for (i = 0; i < n; i++) {
			int c = msg[pos + i];

			out[o++] = is_name_char(c) ? (char)tolower(c) : '?';
		}
		pos += n;
	}
	if (!jumped)
		*off = pos;
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* Case-insensitive equality of names, ignoring one trailing dot. */
static int
name_eq(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void answer_err(struct dns_answer *, enum dns_status, const char *,
    ...) __attribute__((format(printf, 3, 4)));

static void
answer_err(struct dns_answer *ans, enum dns_status s, const char *fmt, ...)
{
	va_list	 ap;

	ans->status = s;
	va_start(ap, fmt);
	vsnprintf(ans->err, sizeof(ans->err), fmt, ap);
	va_end(ap);
}

int
dns_parse_response(const unsigned char *msg, size_t len, uint16_t id,
    const char *qname, uint16_t qtype, struct dns_answer *ans, int *tc)
{
	char		 name[DNS_NAME_MAX + 2];
	size_t		 off = DNS_HDR, i, an;
	uint16_t	 type, class, rdlen;

	*tc = 0;
	if (len < DNS_HDR || get16(msg) != id || (msg[2] & 0x80) == 0)
		return 1;
	if (get16(msg + 4) != 1)
		return 1;
	if (read_name(msg, len, &off, name, sizeof(name)) == -1 ||
	    off + 4 > len)
		return 1;
	if (!name_eq(name, qname) || get16(msg + off) != qtype ||
	    get16(msg + off + 2) != 1)
		return 1;
	off += 4;
	if ((msg[2] & 0x78) != 0) {
		answer_err(ans, DNS_ERROR, "%s", "answer with another opcode");
		return -1;
	}
	if (msg[2] & 0x02) {
		*tc = 1;
		return 0;
	}
	ans->rcode = msg[3] & 0x0f;
	switch (ans->rcode) {
	case 0:
		ans->status = DNS_OK;
		break;
	case 2:
		answer_err(ans, DNS_SERVFAIL, "%s", "SERVFAIL");
		return 0;
	case 3:
		ans->status = DNS_NXDOMAIN;
		break;
	default:
		ans->status = DNS_REFUSED;
		snprintf(ans->err, sizeof(ans->err), "%s (rcode %d)",
		    ans->rcode == 5 ? "REFUSED" : "error", ans->rcode);
		return 0;
	}
	an = get16(msg + 6);
	if (an > DNS_MAX_RR)
		an = DNS_MAX_RR;
	ans->rr = xcalloc(an ? an : 1, sizeof(*ans->rr));
	for (i = 0; i < an; i++) {
		struct dns_rr	*rr = &ans->rr[ans->nrr];

		if (read_name(msg, len, &off, rr->name, sizeof(rr->name)) == -1
		    || off + 10 > len)
			goto bad;
		type = get16(msg + off);
		class = get16(msg + off + 2);
		rdlen = get16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			goto bad;
		if (class != 1) {
			off += rdlen;
			continue;
		}
		rr->type = type;
		rr->rdlen = rdlen;
		rr->rdata = xcalloc(1, rdlen ? rdlen : 1);
		memcpy(rr->rdata, msg + off, rdlen);
		ans->nrr++;
		if (type == DNS_T_CNAME) {
			size_t	 t = off;

			if (read_name(msg, off + rdlen, &t, rr->target,
			    sizeof(rr->target)) == -1 || t != off + rdlen)
				goto bad;
		}
		off += rdlen;
	}
	return 0;
bad:
	answer_err(ans, DNS_ERROR, "%s", "malformed answer section");
	return -1;
}

void
dns_answer_free(struct dns_answer *ans)
{
	size_t	 i;

	if (ans == NULL)
		return;
	for (i = 0; i < ans->nrr; i++)
		free(ans->rr[i].rdata);
	free(ans->rr);
	ans->rr = NULL;
	ans->nrr = 0;
}

size_t
dns_answer_find(const struct dns_answer *ans, const char *qname,
    uint16_t type, const struct dns_rr **out, size_t max)
{
	char	 cur[DNS_NAME_MAX + 2];
	size_t	 i, n, hop;
	int	 moved;

	strlcpy_(cur, qname, sizeof(cur));
	for (hop = 0; hop <= DNS_MAX_CHAIN; hop++) {
		n = 0;
		for (i = 0; i < ans->nrr; i++)
			if (ans->rr[i].type == type &&
			    name_eq(ans->rr[i].name, cur) && n < max)
				out[n++] = &ans->rr[i];
		if (n > 0 || type == DNS_T_CNAME)
			return n;
		moved = 0;
		for (i = 0; i < ans->nrr && !moved; i++)
			if (ans->rr[i].type == DNS_T_CNAME &&
			    name_eq(ans->rr[i].name, cur)) {
				strlcpy_(cur, ans->rr[i].target, sizeof(cur));
				moved = 1;
			}
		if (!moved)
			return 0;
	}
	return 0;
}

int
dns_txt_join(const struct dns_rr *rr, char *out, size_t outlen)
{
	size_t	 pos = 0, o = 0, n, i;

	if (rr->type != DNS_T_TXT || outlen == 0)
		return -1;
	while (pos < rr->rdlen) {
		n = rr->rdata[pos++];
		if (pos + n > rr->rdlen || o + n >= outlen)
			return -1;
		for (i = 0; i < n; i++) {
			int c = rr->rdata[pos + i];

			out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		pos += n;
	}
	out[o] = '\0';
	return 0;
}

int
dns_caa_parse(const struct dns_rr *rr, int *flags, char *tag, size_t taglen,
    char *value, size_t valuelen)
{
	size_t	 tl, vl, i;

	if (rr->type != DNS_T_CAA || rr->rdlen < 2)
		return -1;
	*flags = rr->rdata[0];
	tl = rr->rdata[1];
	if (tl == 0 || 2 + tl > rr->rdlen || tl >= taglen)
		return -1;
	for (i = 0; i < tl; i++) {
		if (!isalnum(rr->rdata[2 + i]))
			return -1;
		tag[i] = (char)tolower(rr->rdata[2 + i]);
	}
	tag[tl] = '\0';
	vl = rr->rdlen - 2 - tl;
	if (vl >= valuelen)
		return -1;
	for (i = 0; i < vl; i++) {
		int c = rr->rdata[2 + tl + i];

		value[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	value[vl] = '\0';
	return 0;
}

/* ---- transport ---- */

static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	 p;
	long long	 left;
	int		 rc;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		rc = poll(&p, 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		return rc;
	}
}

/* Over TCP (RFC 7766) after a truncated UDP answer. */
static int
query_tcp(const struct dns_resolver *r, const unsigned char *q, size_t qlen,
    long long deadline, unsigned char *buf, size_t *blen, char *err,
    size_t errlen)
{
	unsigned char	 out[2 + 512];
	size_t		 got = 0, want = 2, sent = 0;
	ssize_t		 n;
	int		 fd, rc = -1, e = 0;
	socklen_t	 el = sizeof(e);

	if (qlen > 512)
		return -1;
	put16(out, (uint16_t)qlen);
	memcpy(out + 2, q, qlen);
	if ((fd = socket(r->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&r->ss, r->sslen) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "TCP connect: %s", strerror(errno));
		goto out;
	}
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		snprintf(err, errlen, "timeout");
		rc = -2;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1 || e != 0) {
		snprintf(err, errlen, "TCP connect: %s", strerror(e ? e : errno));
		goto out;
	}
	while (sent < qlen + 2) {
		if ((n = send(fd, out + sent, qlen + 2 - sent,
		    MSG_NOSIGNAL)) == -1) {
			if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) > 0)
				continue;
			snprintf(err, errlen, "TCP send: %s", strerror(errno));
			goto out;
		}
		sent += (size_t)n;
	}
	while (got < want) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			snprintf(err, errlen, "timeout");
			rc = -2;
			goto out;
		}
		if ((n = recv(fd, buf + got, want - got, 0)) <= 0) {
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			snprintf(err, errlen, "TCP answer cut short");
			goto out;
		}
		got += (size_t)n;
		if (got == 2 && want == 2) {
			want = 2 + get16(buf);
			if (want == 2) {
				snprintf(err, errlen, "empty TCP answer");
				goto out;
			}
		}
	}
	memmove(buf, buf + 2, want - 2);
	*blen = want - 2;
	rc = 0;
out:
	close(fd);
	return rc;
}

int
dns_query(const struct dns_resolver *r, const char *name, uint16_t type,
    struct dns_answer *ans)
{
	unsigned char	 q[512], *buf = NULL;
	char		 err[128];
	uint16_t	 id;
	size_t		 blen;
	long long	 deadline, next, step, now;
	ssize_t		 n;
	int		 fd = -1, qlen, tc = 0, prc, trc;

	memset(ans, 0, sizeof(*ans));
	if (down.at != 0 && mono_ms() - down.at < DOWN_MS &&
	    strcmp(down.desc, r->desc) == 0) {
		answer_err(ans, DNS_TIMEOUT, "resolver %s did not answer within "
		    "%d s a moment ago; it is asked again after %d s", r->desc,
		    r->timeout_ms / 1000, DOWN_MS / 1000);
		return -1;
	}
	rnd_bytes(&id, sizeof(id));
	if ((qlen = dns_build_query(q, sizeof(q), id, name, type)) == -1) {
		answer_err(ans, DNS_ERROR, "\"%s\" cannot be asked (not a "
		    "host name)", name);
		return -1;
	}
	buf = xcalloc(1, DNS_MSG_MAX + 2);
	if ((fd = socket(r->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1 ||
	    connect(fd, (const struct sockaddr *)&r->ss, r->sslen) == -1) {
		snprintf(err, sizeof(err), "resolver %s: %s", r->desc,
		    strerror(errno));
		answer_err(ans, DNS_ERROR, "%s", err);
		goto fail;
	}
	deadline = mono_ms() + r->timeout_ms;
	step = r->timeout_ms / 3 > 500 ? r->timeout_ms / 3 : 500;
	next = 0;
	for (;;) {
		now = mono_ms();
		if (now >= deadline) {
			snprintf(err, sizeof(err), "no answer from resolver %s "
			    "within %d s", r->desc, r->timeout_ms / 1000);
			answer_err(ans, DNS_TIMEOUT, "%s", err);
			strlcpy_(down.desc, r->desc, sizeof(down.desc));
			down.at = mono_ms();
			goto fail;
		}
		if (now >= next) {
			if (send(fd, q, (size_t)qlen, 0) == -1 &&
			    errno != EAGAIN) {
				snprintf(err, sizeof(err), "resolver %s: %s",
				    r->desc, strerror(errno));
				answer_err(ans, DNS_ERROR, "%s", err);
				goto fail;
			}
			next = now + step;
		}
		if (wait_fd(fd, POLLIN, next < deadline ? next : deadline) <= 0)
			continue;
		if ((n = recv(fd, buf, DNS_MSG_MAX, 0)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(err, sizeof(err), "resolver %s: %s%s", r->desc,
			    strerror(errno), errno == ECONNREFUSED ?
			    " (nothing answers there)" : "");
			answer_err(ans, DNS_ERROR, "%s", err);
			goto fail;
		}
		prc = dns_parse_response(buf, (size_t)n, id, name, type, ans,
		    &tc);
		if (prc == 1)
			continue;	/* not the answer to our question */
		if (prc == -1)
			goto fail;
		break;
	}
	if (tc) {
		dns_answer_free(ans);
		memset(ans, 0, sizeof(*ans));
		trc = query_tcp(r, q, (size_t)qlen, deadline, buf, &blen, err,
		    sizeof(err));
		if (trc != 0) {
			answer_err(ans, trc == -2 ? DNS_TIMEOUT : DNS_ERROR,
			    "resolver %s over TCP: ", r->desc);
			strlcpy_(ans->err + strlen(ans->err), err,
			    sizeof(ans->err) - strlen(ans->err));
			goto fail;
		}
		prc = dns_parse_response(buf, blen, id, name, type, ans, &tc);
		if (prc == 1 || tc) {
			answer_err(ans, DNS_ERROR, "resolver %s: TCP answer does "
			    "not match the question", r->desc);
			goto fail;
		}
		if (prc == -1)
			goto fail;
	}
	close(fd);
	free(buf);
	if (strcmp(down.desc, r->desc) == 0)
		down.at = 0;
	return ans->status == DNS_OK || ans->status == DNS_NXDOMAIN ? 0 : -1;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}
