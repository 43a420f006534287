/*
 * web_serve.c: one request of the recipient portal, as libmicrohttpd
 * hands it over (web_answer) and reports it done (web_completed).
 * In order: the body limit (413 and the connection closed, nothing
 * buffered beyond web_max_body_bytes; a body without Content-Length,
 * i.e. chunked, is refused with 411 before it is read), the routes (/, /assets/NAME,
 * /crl/NAME, /issuing.cer, the token pages /KIND/TOKEN[/SUB]), the rate
 * limit of the token pages, the anti-CSRF check of a POST (the field
 * "csrf" must equal the certspool_csrf cookie, and an Origin header other
 * than "null" must be web_base_url's), then the page itself with the database held for
 * it (a page without a SUB gets sub "").  Every answer carries the
 * security headers and, when the request had no valid cookie, a new one.
 * Static files are opened without following symbolic links and only by
 * [A-Za-z0-9._-] names.  One log line per request.
 * Failure policy: a page's database failure is rolled back and answered
 * 503; a file that cannot be served is a 404; nothing here stops the
 * server.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "extern.h"
#include "portal.h"
#include "web_page.h"
#include "web_srv.h"

#ifndef WEB_ASSET_DIR
#define WEB_ASSET_DIR	"web/assets"
#endif

#define CSRF_COOKIE	"certspool_csrf"
#define CSRF_BYTES	16		/* 128 bits, 32 hex digits */
#define STATIC_MAX	(64LL * 1024 * 1024)
#define POLL_MS		250
#define TOKEN_MAX	128

static const char csp[] = "default-src 'none'; script-src 'self'; "
    "style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

typedef int (*page_fn)(struct portal *, const struct web_req *,
    const char *, const char *, struct web_resp *);

static const struct {
	const char	*prefix;
	page_fn		 fn;
} pages[] = {
	{ "/confirm/", portal_confirm },
	{ "/keygen/", portal_keygen },
	{ "/pickup/", portal_pickup },
	{ "/cert/", portal_cert },
};
#define NPAGES	(sizeof(pages) / sizeof(pages[0]))

static const struct ftype {
	const char	*ext, *ctype;
} asset_types[] = {
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".png", "image/png" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ NULL, NULL },
}, pki_types[] = {
	{ ".crl", "application/pkix-crl" },
	{ ".cer", "application/pkix-cert" },
	{ NULL, NULL },
};

/* One request. */
struct rq {
	long long	 start;		/* mono_ms() when it reached us */
	long long	 t0;		/* the connection clock's start */
	char		 method[8];
	char		 logpath[160];
	char		 peer[INET6_ADDRSTRLEN];
	char		 ratekey[64];
	char		 csrf[2 * CSRF_BYTES + 1];
	int		 had_cookie;
	struct buf	 body;
	size_t		 seen;		/* body bytes received */
	int		 status;	/* 0 until answered */
	/* Headers of the answer besides the usual ones. */
	const char	*allow;
	int		 retry_after;
	int		 close;
};

static int
is_method(const struct rq *rq, const char *m)
{
	return strcmp(rq->method, m) == 0;
}

/* The request path for the log: a token cut to its first 6 characters,
 * printable ASCII only. */
static void
log_path(const char *url, char *out, size_t len)
{
	char		 tmp[256];
	const char	*rest;
	size_t		 i, n, plen;

	snprintf(tmp, sizeof(tmp), "%s", url);
	for (i = 0; i < NPAGES; i++) {
		plen = strlen(pages[i].prefix);
		if (strncmp(url, pages[i].prefix, plen) != 0)
			continue;
		rest = url + plen;
		n = strcspn(rest, "/");
		snprintf(tmp, sizeof(tmp), "%s%.*s%s", pages[i].prefix,
		    (int)(n < 6 ? n : 6), rest, rest + n);
		break;
	}
	log_safe(tmp, 150, out, len);
}

/* The client's address (numeric; IPv4 for a v4-mapped one) and the key
 * of its rate limit (IPv6: the /64, which one client usually holds). */
static void
peer_of(struct MHD_Connection *c, struct rq *rq)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	struct sockaddr_in6 s6;
	socklen_t	 len;
	char		 host[INET6_ADDRSTRLEN];

	snprintf(rq->peer, sizeof(rq->peer), "unknown");
	snprintf(rq->ratekey, sizeof(rq->ratekey), "unknown");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) != 0)
		return;
	if (strncmp(host, "::ffff:", 7) == 0 && strchr(host, '.') != NULL)
		memmove(host, host + 7, strlen(host + 7) + 1);
	snprintf(rq->peer, sizeof(rq->peer), "%s", host);
	snprintf(rq->ratekey, sizeof(rq->ratekey), "%s", host);
	if (sa->sa_family != AF_INET6 || strchr(host, '.') != NULL)
		return;
	memcpy(&s6, sa, sizeof(s6));
	memset(&s6.sin6_addr.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &s6.sin6_addr, host, sizeof(host)) != NULL)
		snprintf(rq->ratekey, sizeof(rq->ratekey), "%s/64", host);
}

/* The client's anti-CSRF cookie if it is one of ours, else a new one. */
static void
csrf_of(struct MHD_Connection *c, struct rq *rq)
{
	unsigned char	 r[CSRF_BYTES];
	const char	*v;
	size_t		 i;

	v = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, CSRF_COOKIE);
	if (v != NULL && strlen(v) == 2 * CSRF_BYTES) {
		for (i = 0; v[i] != '\0'; i++)
			if (!((v[i] >= '0' && v[i] <= '9') ||
			    (v[i] >= 'a' && v[i] <= 'f')))
				break;
		if (v[i] == '\0') {
			memcpy(rq->csrf, v, sizeof(rq->csrf));
			rq->had_cookie = 1;
			return;
		}
	}
	rnd_bytes(r, sizeof(r));
	hex_encode(r, sizeof(r), rq->csrf);
}

/* Add the headers every answer carries, queue it and count it. */
static enum MHD_Result
queue(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    struct MHD_Response *r, int status, int cache)
{
	char		 v[160];
	enum MHD_Result	 ret;

	if (r == NULL) {
		log_err("web: cannot make a response");
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy",
	    "same-origin");
	MHD_add_response_header(r, "Cache-Control", cache ? "max-age=300" :
	    "no-store");
	if (srv->tls)
		MHD_add_response_header(r, "Strict-Transport-Security",
		    "max-age=31536000");
	if (!rq->had_cookie) {
		snprintf(v, sizeof(v), "%s=%s; Path=/; HttpOnly; "
		    "SameSite=Strict%s", CSRF_COOKIE, rq->csrf,
		    srv->secure ? "; Secure" : "");
		MHD_add_response_header(r, "Set-Cookie", v);
	}
	if (rq->allow != NULL)
		MHD_add_response_header(r, "Allow", rq->allow);
	if (rq->retry_after > 0) {
		snprintf(v, sizeof(v), "%d", rq->retry_after);
		MHD_add_response_header(r, "Retry-After", v);
	}
	if (rq->close)
		MHD_add_response_header(r, "Connection", "close");
	ret = MHD_queue_response(c, (unsigned int)status, r);
	MHD_destroy_response(r);
	rq->status = status;
	return ret;
}

/* Queue what a page (or web_error) filled in; its body is handed over. */
static enum MHD_Result
queue_resp(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    struct web_resp *wr)
{
	struct MHD_Response *r;
	char		 v[160];

	if (wr->body != NULL)
		r = MHD_create_response_from_buffer(wr->len, wr->body,
		    MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(wr->body);
		wr->body = NULL;
		return queue(srv, c, rq, NULL, 500, 0);
	}
	wr->body = NULL;
	if (wr->ctype != NULL)
		MHD_add_response_header(r, "Content-Type", wr->ctype);
	if (wr->filename[0] != '\0' && valid_name(wr->filename)) {
		snprintf(v, sizeof(v), "attachment; filename=\"%s\"",
		    wr->filename);
		MHD_add_response_header(r, "Content-Disposition", v);
	}
	return queue(srv, c, rq, r, wr->status, wr->cache);
}

static enum MHD_Result
refuse(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    int status, const char *title, const char *sentence)
{
	struct web_resp	 wr;

	memset(&wr, 0, sizeof(wr));
	web_error(&wr, status, title, sentence);
	return queue_resp(srv, c, rq, &wr);
}

static enum MHD_Result
not_found(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq)
{
	return refuse(srv, c, rq, MHD_HTTP_NOT_FOUND, "Not found",
	    "There is nothing at this address.  Links in our messages work "
	    "only as they were sent.");
}

static enum MHD_Result
bad_method(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    const char *allow)
{
	rq->allow = allow;
	return refuse(srv, c, rq, MHD_HTTP_METHOD_NOT_ALLOWED,
	    "Method not allowed", "This address does not answer that "
	    "method.");
}

static enum MHD_Result
too_big(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq)
{
	rq->close = 1;
	return refuse(srv, c, rq, 413,
	    "Request too large", "The request is larger than this portal "
	    "accepts.");
}

/* GET /assets/NAME, /crl/NAME, /issuing.cer: the file dir/name when
 * its name is safe and its extension one of types. */
static enum MHD_Result
serve_file(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    const char *dir, const char *name, const struct ftype *types)
{
	struct MHD_Response *r;
	const struct ftype *t;
	struct stat	 st;
	char		 path[4096], err[256];
	size_t		 n = strlen(name);
	int		 fd;

	if (!is_method(rq, "GET") && !is_method(rq, "HEAD"))
		return bad_method(srv, c, rq, "GET, HEAD");
	if (!valid_name(name))
		return not_found(srv, c, rq);
	for (t = types; t->ext != NULL; t++)
		if (n > strlen(t->ext) &&
		    strcmp(name + n - strlen(t->ext), t->ext) == 0)
			break;
	if (t->ext == NULL)
		return not_found(srv, c, rq);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return not_found(srv, c, rq);
	if ((fd = fs_open_untrusted(AT_FDCWD, path, STATIC_MAX, &st, err,
	    sizeof(err))) == -1) {
		log_debug("web: %s: %s", path, err);
		return not_found(srv, c, rq);
	}
	/* The response owns fd from here on. */
	if ((r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd)) ==
	    NULL) {
		close(fd);
		return queue(srv, c, rq, NULL, 500, 0);
	}
	MHD_add_response_header(r, "Content-Type", t->ctype);
	return queue(srv, c, rq, r, MHD_HTTP_OK, 1);
}

static enum MHD_Result
serve_index(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq)
{
	struct web_resp	 wr;

	if (!is_method(rq, "GET") && !is_method(rq, "HEAD"))
		return bad_method(srv, c, rq, "GET, HEAD");
	memset(&wr, 0, sizeof(wr));
	web_page(&wr, MHD_HTTP_OK, "Certificate portal",
	    "<h1>Certificate portal</h1>\n"
	    "<p>Here recipients of S/MIME certificates confirm a mailbox or "
	    "a domain, create their key and certificate in their browser, "
	    "pick up a certificate made for them, and download copies of "
	    "their certificate.</p>\n"
	    "<p>Each of these pages is reached only through the personal "
	    "link in a message you received; there is nothing to browse "
	    "here.</p>\n"
	    "<p>The issuing CA's certificate: <a href=\"/issuing.cer\">"
	    "issuing.cer</a>.</p>\n");
	return queue_resp(srv, c, rq, &wr);
}

/* A POST may reach a page: same origin if it says, and the form's
 * csrf field equal to the cookie.  "Origin: null" says nothing: under
 * our Referrer-Policy: no-referrer a browser sends it with every form
 * POST, so such a request rests on the csrf field and the SameSite=Strict
 * cookie (which no other site's page can send or read).  NULL, or why
 * not. */
static const char *
post_refusal(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    const struct web_req *req)
{
	const char	*o;
	char		*f;
	int		 ok;

	o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (o != NULL && strcmp(o, "null") != 0 &&
	    strcasecmp(o, srv->origin) != 0)
		return "Origin is not web_base_url's";
	if (!rq->had_cookie)
		return "no anti-CSRF cookie";
	if ((f = web_field(req, "csrf")) == NULL)
		return "no csrf field";
	ok = strlen(f) == strlen(rq->csrf) &&
	    CRYPTO_memcmp(f, rq->csrf, strlen(f)) == 0;
	free(f);
	return ok ? NULL : "csrf field does not match the cookie";
}

/* A token (base32/base64url characters) of reasonable length. */
static int
valid_token(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* Call the page with the database held; long poll while it asks for a
 * retry.  0 with wr filled in, -1 when it failed (rolled back). */
static int
call_page(struct web_srv *srv, struct rq *rq, page_fn fn,
    struct web_req *req, const char *token, const char *sub,
    struct web_resp *wr)
{
	struct portal	 p = { srv->st, srv->conf };
	struct timespec	 ts = { 0, POLL_MS * 1000000L };
	long long	 lastms;
	int		 rc;

	lastms = (srv->conf->web_timeout_seconds - 1) * 1000LL;
	for (;;) {
		memset(wr, 0, sizeof(*wr));
		pthread_mutex_lock(&srv->db_mu);
		rc = fn(&p, req, token, sub, wr);
		if (portal_tx_left_open(srv->st)) {
			if (rc == 0)
				log_err("web: %s left a transaction open",
				    rq->logpath);
			rc = -1;
		}
		pthread_mutex_unlock(&srv->db_mu);
		if (rc == -1 || !wr->retry || req->last)
			break;
		free(wr->body);
		wr->body = NULL;
		nanosleep(&ts, NULL);
		if (atomic_load(&srv->stopping) ||
		    mono_ms() - rq->t0 >= lastms)
			req->last = 1;
	}
	if (rc == -1) {
		free(wr->body);
		wr->body = NULL;
	}
	return rc;
}

/* /KIND/TOKEN[/SUB] */
static enum MHD_Result
serve_page(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    page_fn fn, const char *url, const char *rest)
{
	struct web_req	 req;
	struct web_resp	 wr;
	const char	*why, *slash;
	char		 token[TOKEN_MAX + 1];
	size_t		 n;
	int		 wait;

	if ((wait = web_rate_take(srv, rq->ratekey)) > 0) {
		rq->retry_after = wait;
		return refuse(srv, c, rq, MHD_HTTP_TOO_MANY_REQUESTS,
		    "Too many requests", "Too many requests came from your "
		    "address; wait a minute and try again.");
	}
	if (!is_method(rq, "GET") && !is_method(rq, "POST"))
		return bad_method(srv, c, rq, "GET, POST");
	slash = strchr(rest, '/');
	n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (!valid_token(rest, n) || (slash != NULL && !valid_name(slash + 1)))
		return not_found(srv, c, rq);
	memcpy(token, rest, n);
	token[n] = '\0';

	buf_add(&rq->body, "", 0);	/* allocated, NUL-terminated */
	memset(&req, 0, sizeof(req));
	req.method = rq->method;
	req.path = url;
	req.peer = rq->peer;
	req.csrf = rq->csrf;
	req.body = (const char *)rq->body.p;
	req.bodylen = rq->body.len;
	if (is_method(rq, "POST") &&
	    (why = post_refusal(srv, c, rq, &req)) != NULL) {
		log_warn("web: refused POST %s from %s: %s", rq->logpath,
		    rq->peer, why);
		return refuse(srv, c, rq, MHD_HTTP_FORBIDDEN, "Refused",
		    "This form could not be accepted: it is out of date or "
		    "did not come from this site.  Open the link from your "
		    "message again and retry.");
	}
	if (call_page(srv, rq, fn, &req, token, slash != NULL ? slash + 1 :
	    "", &wr) == -1)
		return refuse(srv, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "Try again later", "The portal cannot answer right now; "
		    "please try again in a few minutes.");
	if (wr.status < 100 || wr.status > 599) {
		log_err("web: %s: the page gave no answer", rq->logpath);
		free(wr.body);
		return queue(srv, c, rq, NULL, 500, 0);
	}
	return queue_resp(srv, c, rq, &wr);
}

static enum MHD_Result
route(struct web_srv *srv, struct MHD_Connection *c, struct rq *rq,
    const char *url)
{
	size_t	 i, n;

	if (strcmp(url, "/") == 0)
		return serve_index(srv, c, rq);
	if (strncmp(url, "/assets/", 8) == 0)
		return serve_file(srv, c, rq, data_path(WEB_ASSET_DIR, "web"),
		    url + 8, asset_types);
	if (strcmp(url, "/issuing.cer") == 0)
		return serve_file(srv, c, rq, srv->conf->crl_dir,
		    "issuing.cer", pki_types);
	if (strncmp(url, "/crl/", 5) == 0)
		return serve_file(srv, c, rq, srv->conf->crl_dir, url + 5,
		    pki_types);
	for (i = 0; i < NPAGES; i++) {
		n = strlen(pages[i].prefix);
		if (strncmp(url, pages[i].prefix, n) == 0)
			return serve_page(srv, c, rq, pages[i].fn, url,
			    url + n);
	}
	if (!is_method(rq, "GET") && !is_method(rq, "HEAD") &&
	    !is_method(rq, "POST"))
		return bad_method(srv, c, rq, "GET, HEAD, POST");
	return not_found(srv, c, rq);
}

enum MHD_Result
web_answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct web_srv	*srv = cls;
	struct rq	*rq = *con_cls;
	const char	*cl;
	char		*end;
	unsigned long long len;
	size_t		 max = (size_t)srv->conf->web_max_body_bytes;

	if (rq == NULL) {
		/* The headers are in: a new request. */
		rq = xcalloc(1, sizeof(*rq));
		*con_cls = rq;
		rq->start = mono_ms();
		rq->t0 = web_conn_start(c);
		snprintf(rq->method, sizeof(rq->method), "%s",
		    strlen(method) < sizeof(rq->method) ? method : "OTHER");
		log_path(url, rq->logpath, sizeof(rq->logpath));
		peer_of(c, rq);
		csrf_of(c, rq);
		/* A body's size must be known before it is read. */
		if (MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL) {
			rq->close = 1;
			return refuse(srv, c, rq, 411, "Length required",
			    "A request body must state its length.");
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && ((len = strtoull(cl, &end, 10)) > max ||
		    *end != '\0'))
			return too_big(srv, c, rq);
		return MHD_YES;
	}
	if (rq->status != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (*upload_size > max - rq->seen) {
			*upload_size = 0;
			return too_big(srv, c, rq);
		}
		rq->seen += *upload_size;
		if (is_method(rq, "POST"))
			buf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return route(srv, c, rq, url);
}

void
web_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct rq	*rq = *con_cls;

	if (rq == NULL)
		return;
	if (rq->status != 0)
		log_info("web: %s %s %d %s %lld ms%s", rq->method, rq->logpath,
		    rq->status, rq->peer, mono_ms() - rq->start,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		    " (not all sent)");
	else
		log_info("web: %s %s - %s %lld ms (closed before an answer)",
		    rq->method, rq->logpath, rq->peer, mono_ms() - rq->start);
	web_conn_restart(c);
	buf_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}
