/*
 * web_page.h: what the portal's pages (portal_*.c) see of a request and
 * how they answer (web_page.c: layout, escaping, forms), below the HTTP
 * layer (web.c and web_serve.c, on GNU libmicrohttpd).  web.c owns the
 * sockets, the limits (connections, request size and time), the
 * per-address rate limit on token pages, the anti-CSRF check of every
 * POST, the security headers, static files (assets, CRLs) and the one
 * database connection, which it hands to one page at a time.
 */
#ifndef CERTSPOOL_WEB_PAGE_H
#define CERTSPOOL_WEB_PAGE_H

#include <stddef.h>

struct web_req {
	const char	*method;	/* "GET" or "POST" (others: 405) */
	const char	*path;		/* the URL path, as sent */
	const char	*peer;		/* client address, text */
	/* The anti-CSRF value to put in every form as field "csrf" (and in
	 * data-csrf for scripts).  A POST reaches a page only if its field
	 * "csrf" matched the client's cookie. */
	const char	*csrf;
	const char	*body;		/* POST body (NUL-terminated), or "" */
	size_t		 bodylen;
	int		 last;		/* long poll: the last call */
};

struct web_resp {
	int		 status;	/* HTTP status; 0 = not answered yet */
	const char	*ctype;		/* Content-Type */
	char		*body;		/* malloc'd; web.c frees it */
	size_t		 len;
	char		 filename[96];	/* non-empty: sent as an attachment */
	int		 cache;		/* 0: Cache-Control: no-store */
	/* Long poll: set by a page that has nothing new yet; web.c calls it
	 * again about every 250 ms (without the database held in between)
	 * and with req->last = 1 once web_timeout_seconds have passed. */
	int		 retry;
};

/* A decoded application/x-www-form-urlencoded field of the POST body
 * (malloc'd), or NULL. */
char	*web_field(const struct web_req *, const char *name);
/* HTML-escape s (& < > " ') into a malloc'd string. */
char	*web_esc(const char *s);
/* Answer with a whole page: the portal's layout around body_html
 * (already escaped), title escaped here. */
void	 web_page(struct web_resp *, int status, const char *title,
	    const char *body_html);
/* Answer with a body of the given type (copied). */
void	 web_data(struct web_resp *, int status, const char *ctype,
	    const void *data, size_t len);
/* A short page for a refusal (unknown or used link, ...), escaped. */
void	 web_error(struct web_resp *, int status, const char *title,
	    const char *sentence);


#endif
