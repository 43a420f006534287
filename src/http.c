/*
 * http.c: a minimal HTTP/1.1 client for the practical-demonstration DCV
 * method (S/MIME BR 3.2.2.1 via TLS BR 3.2.2.4.18): resolve the domain's
 * A records with the configured resolver, connect to http_dcv_port, GET
 * with a Host header and "Connection: close", read at most
 * HTTP_MAX_HEAD + HTTP_MAX_BODY bytes within HTTP_TIMEOUT_MS in all
 * (CLOCK_MONOTONIC), follow at most two redirects and only to the same
 * host and port.  Content-Length, chunked and read-to-close bodies.
 * Failure policy: any failure is a sentence for the operator; nothing
 * is retried here (the DCV stays open and is checked again later).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "dns.h"
#include "http.h"

#define HTTP_MAX_ADDRS	4
#define HTTP_RAW_MAX	(HTTP_MAX_HEAD + HTTP_MAX_BODY + 8192)

static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	 p;
	long long	 left;
	int		 rc;

	for (;;) {
		if ((left = deadline - mono_ms()) <= 0)
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

/* Connect to one of host's A records; the socket or -1. */
static int
http_connect(const struct dns_resolver *r, const char *host, int port,
    long long deadline, char *err, size_t errlen)
{
	struct dns_answer	 ans;
	const struct dns_rr	*a[HTTP_MAX_ADDRS];
	struct sockaddr_in	 sin;
	char			 ip[INET_ADDRSTRLEN];
	size_t			 n, i;
	int			 fd = -1, e;
	socklen_t		 el;

	if (dns_query(r, host, DNS_T_A, &ans) == -1) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, ans.err);
		goto out;
	}
	if (ans.status == DNS_NXDOMAIN) {
		snprintf(err, errlen, "%s does not exist (NXDOMAIN)", host);
		goto out;
	}
	n = dns_answer_find(&ans, host, DNS_T_A, a, HTTP_MAX_ADDRS);
	if (n == 0) {
		snprintf(err, errlen, "%s has no A record", host);
		goto out;
	}
	snprintf(err, errlen, "%s: no address answered", host);
	for (i = 0; i < n; i++) {
		if (a[i]->rdlen != 4)
			continue;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		memcpy(&sin.sin_addr, a[i]->rdata, 4);
		inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			goto out;
		if (errno == EINPROGRESS) {
			if (wait_fd(fd, POLLOUT, deadline) <= 0) {
				snprintf(err, errlen, "connect to %s:%d: timeout",
				    ip, port);
				close(fd);
				fd = -1;
				goto out;
			}
			e = 0;
			el = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 &&
			    e == 0)
				goto out;
			errno = e;
		}
		snprintf(err, errlen, "connect to %s:%d: %s", ip, port,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	dns_answer_free(&ans);
	return fd;
}

/* A header's value (trimmed) into out, or -1 if absent. */
static int
header(const char *head, const char *name, char *out, size_t outlen)
{
	const char	*p = head, *v, *e;
	size_t		 n = strlen(name);

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		v = p + n + 1;
		v += strspn(v, " \t");
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - v) >= outlen)
			return -1;
		for (n = 0; v + n < e; n++)
			out[n] = v[n] >= 0x20 && v[n] < 0x7f ? v[n] : '?';
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* Decode a chunked body of len bytes at p into body; -1 if malformed. */
static int
unchunk(const unsigned char *p, size_t len, struct buf *body)
{
	size_t		 pos = 0, n;
	char		*end, line[32];
	size_t		 l;

	for (;;) {
		l = 0;
		while (pos < len && p[pos] != '\n' && l + 1 < sizeof(line))
			line[l++] = (char)p[pos++];
		if (pos >= len || p[pos] != '\n')
			return -1;
		pos++;
		line[l] = '\0';
		if (!isxdigit((unsigned char)line[0]))
			return -1;
		n = strtoul(line, &end, 16);
		if (*end != '\r' && *end != ';' && *end != '\0')
			return -1;
		if (n == 0)
			return 0;
		if (n > HTTP_MAX_BODY || pos + n + 2 > len ||
		    body->len + n > HTTP_MAX_BODY)
			return -1;
		buf_add(body, p + pos, n);
		pos += n;
		if (p[pos] == '\r')
			pos++;
		if (pos >= len || p[pos] != '\n')
			return -1;
		pos++;
	}
}

/* Does raw already hold a whole answer?  (A server may keep the
 * connection open despite "Connection: close".) */
static int
is_complete(const unsigned char *p, size_t len)
{
	const unsigned char	*sep;
	struct buf		 tmp = { 0 };
	char			*head, val[64], *end;
	size_t			 hlen;
	unsigned long long	 n;
	int			 rc = 0;

	if ((sep = memmem(p, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	hlen = (size_t)(sep - p) + 4;
	head = xcalloc(1, hlen + 1);
	memcpy(head, p, hlen);
	if (header(head, "Transfer-Encoding", val, sizeof(val)) == 0 &&
	    strcasecmp(val, "chunked") == 0)
		rc = unchunk(p + hlen, len - hlen, &tmp) == 0;
	else if (header(head, "Content-Length", val, sizeof(val)) == 0 &&
	    isdigit((unsigned char)val[0])) {
		errno = 0;
		n = strtoull(val, &end, 10);
		rc = errno == 0 && *end == '\0' && n <= len - hlen;
	}
	free(head);
	buf_free(&tmp);
	return rc;
}

/*
 * One request.  *status and location (a redirect's Location, or "")
 * are set; a 200 body goes to body.  0, or -1 with err.
 */
static int
fetch_once(const struct dns_resolver *r, const char *host, int port,
    const char *path, long long deadline, int *status, char *location,
    size_t loclen, struct buf *body, char *err, size_t errlen)
{
	struct buf	 req = { 0 }, raw = { 0 };
	unsigned char	 chunk[8192];
	char		*head = NULL, *sep, val[64];
	size_t		 sent = 0, hlen, blen;
	ssize_t		 n;
	long long	 clen = -1;
	int		 fd, rc = -1, chunked = 0;

	if ((fd = http_connect(r, host, port, deadline, err, errlen)) == -1)
		return -1;
	if (port == 80)
		buf_addf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host);
	else
		buf_addf(&req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", path, host,
		    port);
	buf_addf(&req, "User-Agent: certspool-dcv/%s\r\nAccept: */*\r\n"
	    "Connection: close\r\n\r\n", CERTSPOOL_VERSION);
	while (sent < req.len) {
		if ((n = send(fd, req.p + sent, req.len - sent,
		    MSG_NOSIGNAL)) == -1) {
			if ((errno == EAGAIN || errno == EINTR) &&
			    wait_fd(fd, POLLOUT, deadline) > 0)
				continue;
			snprintf(err, errlen, "http://%s%s: send: %s", host,
			    path, errno == EAGAIN ? "timeout" : strerror(errno));
			goto out;
		}
		sent += (size_t)n;
	}
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			snprintf(err, errlen, "http://%s%s: no complete answer "
			    "within %d s", host, path, HTTP_TIMEOUT_MS / 1000);
			goto out;
		}
		if ((n = recv(fd, chunk, sizeof(chunk), 0)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(err, errlen, "http://%s%s: %s", host, path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (raw.len + (size_t)n > HTTP_RAW_MAX) {
			snprintf(err, errlen, "http://%s%s: answer larger than "
			    "%d KiB", host, path, HTTP_MAX_BODY / 1024);
			goto out;
		}
		buf_add(&raw, chunk, (size_t)n);
		if (is_complete(raw.p, raw.len))
			break;
	}
	buf_add(&raw, "", 1);
	raw.len--;
	if ((sep = strstr((char *)raw.p, "\r\n\r\n")) == NULL ||
	    (size_t)(sep - (char *)raw.p) > HTTP_MAX_HEAD) {
		snprintf(err, errlen, "http://%s%s: no HTTP answer", host, path);
		goto out;
	}
	hlen = (size_t)(sep - (char *)raw.p) + 4;
	head = xcalloc(1, hlen + 1);
	memcpy(head, raw.p, hlen);
	if (strncmp(head, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)head[7])
	    || head[8] != ' ' || !isdigit((unsigned char)head[9]) ||
	    !isdigit((unsigned char)head[10]) ||
	    !isdigit((unsigned char)head[11])) {
		snprintf(err, errlen, "http://%s%s: not an HTTP/1.x status "
		    "line", host, path);
		goto out;
	}
	*status = atoi(head + 9);
	location[0] = '\0';
	if (*status >= 300 && *status < 400 &&
	    header(head, "Location", location, loclen) == -1)
		location[0] = '\0';
	if (*status != 200) {
		rc = 0;
		goto out;
	}
	if (header(head, "Transfer-Encoding", val, sizeof(val)) == 0)
		chunked = strcasecmp(val, "chunked") == 0;
	if (header(head, "Content-Length", val, sizeof(val)) == 0) {
		char	*end;

		errno = 0;
		clen = strtoll(val, &end, 10);
		if (errno != 0 || *end != '\0' || val[0] == '-' || clen < 0)
			clen = -2;
	}
	blen = raw.len - hlen;
	if (chunked) {
		if (unchunk(raw.p + hlen, blen, body) == -1) {
			snprintf(err, errlen, "http://%s%s: malformed chunked "
			    "body or larger than %d KiB", host, path,
			    HTTP_MAX_BODY / 1024);
			goto out;
		}
	} else {
		if (clen == -2 || (clen >= 0 && (size_t)clen > blen)) {
			snprintf(err, errlen, "http://%s%s: body shorter than "
			    "its Content-Length", host, path);
			goto out;
		}
		if (clen >= 0)
			blen = (size_t)clen;
		if (blen > HTTP_MAX_BODY) {
			snprintf(err, errlen, "http://%s%s: body larger than "
			    "%d KiB", host, path, HTTP_MAX_BODY / 1024);
			goto out;
		}
		buf_add(body, raw.p + hlen, blen);
	}
	buf_add(body, "", 1);
	body->len--;
	rc = 0;
out:
	close(fd);
	free(head);
	buf_free(&req);
	buf_free(&raw);
	return rc;
}

/*
 * Where a redirect may go: a path on the same host, or http://host[:port]
 * with the same host and port.  The new path into out; -1 if refused.
 */
static int
same_origin(const char *loc, const char *host, int port, char *out,
    size_t outlen)
{
	const char	*a, *slash, *colon;
	size_t		 hl;
	long		 p = 80;
	char		*end;

	if (loc[0] == '/' && loc[1] != '/')
		return strlcpy_(out, loc, outlen) < outlen ? 0 : -1;
	if (strncasecmp(loc, "http://", 7) != 0)
		return -1;
	a = loc + 7;
	slash = a + strcspn(a, "/?#");
	colon = memchr(a, ':', (size_t)(slash - a));
	hl = (size_t)((colon ? colon : slash) - a);
	if (hl != strlen(host) || strncasecmp(a, host, hl) != 0)
		return -1;
	if (colon != NULL) {
		p = strtol(colon + 1, &end, 10);
		if (end != slash)
			return -1;
	}
	if (p != port)
		return -1;
	if (*slash != '/')
		return strlcpy_(out, "/", outlen) < outlen ? 0 : -1;
	return strlcpy_(out, slash, outlen) < outlen ? 0 : -1;
}

int
http_get(const struct dns_resolver *r, const char *host, int port,
    const char *path, struct buf *body, char *err, size_t errlen)
{
	char		 cur[1024], loc[1024];
	long long	 deadline = mono_ms() + HTTP_TIMEOUT_MS;
	int		 hop, status;

	if (strlcpy_(cur, path, sizeof(cur)) >= sizeof(cur)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	for (hop = 0;; hop++) {
		if (fetch_once(r, host, port, cur, deadline, &status, loc,
		    sizeof(loc), body, err, errlen) == -1)
			return -1;
		if (status == 200)
			return 0;
		if (status != 301 && status != 302 && status != 303 &&
		    status != 307 && status != 308) {
			snprintf(err, errlen, "http://%s%s: HTTP status %d",
			    host, cur, status);
			return -1;
		}
		if (hop == HTTP_MAX_REDIRECTS) {
			snprintf(err, errlen, "http://%s%s: more than %d "
			    "redirects", host, path, HTTP_MAX_REDIRECTS);
			return -1;
		}
		if (loc[0] == '\0' || same_origin(loc, host, port, cur,
		    sizeof(cur)) == -1) {
			snprintf(err, errlen, "http://%s%s: redirect to \"%.200s\""
			    " refused: only the same host and port are "
			    "followed", host, cur, loc);
			return -1;
		}
	}
}
