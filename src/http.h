/*
 * http.h: the HTTP fetch of the practical-demonstration DCV method
 * (http.c), done as a CA does it: over the network, no proxy.
 */
#ifndef CERTSPOOL_HTTP_H
#define CERTSPOOL_HTTP_H

#include "extern.h"
#include "dns.h"

#define HTTP_MAX_BODY		(64 * 1024)
#define HTTP_MAX_HEAD		(16 * 1024)
#define HTTP_TIMEOUT_MS		10000
#define HTTP_MAX_REDIRECTS	2

/*
 * GET http://host:port/path: host resolved to its A records through the
 * resolver, HTTP/1.1 with a Host header, a redirect followed only to the
 * same host and port and at most HTTP_MAX_REDIRECTS times, a body of at
 * most HTTP_MAX_BODY, all within HTTP_TIMEOUT_MS.  0 with the body of
 * the final 200 answer appended to body (NUL-terminated); -1 with a
 * sentence in err.
 */
int	 http_get(const struct dns_resolver *, const char *host, int port,
	    const char *path, struct buf *body, char *err, size_t errlen);

#endif
