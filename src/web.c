/*
 * web.c: certspool web, the recipient portal's server.  It binds
 * web_listen itself (a busy port is a clear error), runs GNU
 * libmicrohttpd with one thread per connection (HTTPS with GnuTLS when
 * web_tls_cert/web_tls_key are set) and caps connections in total and
 * per address.  Every connection has a clock: it starts at accept and
 * again after each answered request; a watchdog thread shuts down the
 * socket of any connection whose request has taken web_timeout_seconds,
 * so a client that trickles its headers or body is cut off as surely as
 * an idle one.  The per-address rate limit of the token pages lives here
 * too: a fixed table (bounded memory, the oldest entry evicted) and one
 * log line per address and minute for its refusals.  The requests
 * themselves are web_serve.c's.
 * Failure policy: what stops the start (no port, unreadable TLS files,
 * libmicrohttpd refusing the options) is one line on stderr and exit
 * status 1; once serving, a failing request is answered (503) and
 * logged, and the server goes on until SIGTERM or SIGINT (exit 0).
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "extern.h"
#include "demo_settings.h"
#include "web_page.h"
#include "web_srv.h"

#define WATCH_MS	200		/* the watchdog's period */
#define RATE_SLOTS	4096		/* addresses remembered */
#define RATE_WINDOW_MS	60000LL
#define TLS_FILE_MAX	(1024 * 1024)
#define CONN_MEMORY	(64 * 1024)	/* per connection: headers, buffers */
/* GnuTLS priorities: TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* A connection: its socket and the start of its current request. */
struct wconn {
	int		 fd;
	long long	 start;		/* mono_ms() */
	int		 cut;
	char		 peer[64];	/* numeric address, for the log */
	struct wconn	*prev, *next;
};

static pthread_mutex_t	 conn_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wconn	*conns;
static long long	 deadline_ms;

struct rate {
	char		 key[64];	/* "" = free */
	long long	 win;		/* start of the current minute */
	int		 count;		/* requests in it */
	int		 unlogged;	/* refusals not yet logged */
	long long	 logged;	/* last log line, 0 = never */
};

static pthread_mutex_t	 rate_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rate	*rates;
/* Connections refused by the caps (under rate_mu), logged as rates. */
static struct rate	 capped;

/* MHD_OPTION_NOTIFY_CONNECTION: track each connection's socket. */
static void
conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct wconn	*w;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			return;
		w = xcalloc(1, sizeof(*w));
		w->fd = ci->connect_fd;
		w->start = mono_ms();
		snprintf(w->peer, sizeof(w->peer), "unknown");
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL)
			getnameinfo(ci->client_addr,
			    ci->client_addr->sa_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in), w->peer,
			    sizeof(w->peer), NULL, 0, NI_NUMERICHOST);
		pthread_mutex_lock(&conn_mu);
		w->next = conns;
		if (conns != NULL)
			conns->prev = w;
		conns = w;
		pthread_mutex_unlock(&conn_mu);
		*socket_ctx = w;
		return;
	}
	/* Closed: called before libmicrohttpd closes the socket, so the
	 * watchdog (under conn_mu) never shuts down a reused descriptor. */
	if ((w = *socket_ctx) == NULL)
		return;
	pthread_mutex_lock(&conn_mu);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		conns = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&conn_mu);
	free(w);
	*socket_ctx = NULL;
}

static struct wconn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

long long
web_conn_start(struct MHD_Connection *c)
{
	struct wconn	*w = conn_of(c);
	long long	 t;

	if (w == NULL)
		return mono_ms();
	pthread_mutex_lock(&conn_mu);
	t = w->start;
	pthread_mutex_unlock(&conn_mu);
	return t;
}

void
web_conn_restart(struct MHD_Connection *c)
{
	struct wconn	*w = conn_of(c);

	if (w == NULL)
		return;
	pthread_mutex_lock(&conn_mu);
	w->start = mono_ms();
	pthread_mutex_unlock(&conn_mu);
}

/* Log the refusals of r not yet logged; rate_mu held. */
static void
rate_log(struct rate *r, long long now)
{
	if (r->unlogged == 0)
		return;
	if (r == &capped)
		log_warn("web: connection caps: refused %d connections",
		    r->unlogged);
	else
		log_warn("web: rate limit: %s refused %d requests", r->key,
		    r->unlogged);
	r->unlogged = 0;
	r->logged = now;
}

int
web_rate_take(struct web_srv *srv, const char *key)
{
	struct rate	*r = NULL, *old = NULL;
	long long	 now = mono_ms();
	int		 i, wait = 0;

	pthread_mutex_lock(&rate_mu);
	for (i = 0; i < RATE_SLOTS; i++) {
		if (strcmp(rates[i].key, key) == 0) {
			r = &rates[i];
			break;
		}
		if (old == NULL || rates[i].key[0] == '\0' ||
		    (old->key[0] != '\0' && rates[i].win < old->win))
			old = &rates[i];
	}
	if (r == NULL) {
		/* A free slot, else the one whose minute began first. */
		r = old;
		if (r->key[0] != '\0')
			rate_log(r, now);
		memset(r, 0, sizeof(*r));
		snprintf(r->key, sizeof(r->key), "%s", key);
		r->win = now;
	}
	if (now - r->win >= RATE_WINDOW_MS) {
		r->win = now;
		r->count = 0;
	}
	if (r->count < srv->conf->web_rate_limit)
		r->count++;
	else {
		r->unlogged++;
		wait = (int)((r->win + RATE_WINDOW_MS - now + 999) / 1000);
		if (wait < 1)
			wait = 1;
		if (r->logged == 0 || now - r->logged >= RATE_WINDOW_MS)
			rate_log(r, now);
	}
	pthread_mutex_unlock(&rate_mu);
	return wait;
}

/* The watchdog: cut requests past the deadline; log refusals that
 * waited a minute for their line. */
static void *
watchdog(void *arg)
{
	struct web_srv	*srv = arg;
	struct timespec	 ts = { 0, WATCH_MS * 1000000L };
	struct wconn	*w;
	long long	 now;
	int		 i;

	while (!atomic_load(&srv->stopping)) {
		nanosleep(&ts, NULL);
		now = mono_ms();
		pthread_mutex_lock(&conn_mu);
		for (w = conns; w != NULL; w = w->next) {
			if (w->cut || now - w->start < deadline_ms)
				continue;
			shutdown(w->fd, SHUT_RDWR);
			w->cut = 1;
			log_info("web: connection from %s cut: request time "
			    "limit of %d s", w->peer,
			    srv->conf->web_timeout_seconds);
		}
		pthread_mutex_unlock(&conn_mu);
		pthread_mutex_lock(&rate_mu);
		for (i = 0; i < RATE_SLOTS; i++)
			if (rates[i].unlogged > 0 &&
			    now - rates[i].logged >= RATE_WINDOW_MS)
				rate_log(&rates[i], now);
		if (capped.unlogged > 0 && now - capped.logged >= RATE_WINDOW_MS)
			rate_log(&capped, now);
		pthread_mutex_unlock(&rate_mu);
	}
	return NULL;
}

/* libmicrohttpd's own complaints go to our log: refusals by the
 * connection caps counted and logged at most once a minute, the rest
 * (TLS handshakes of scanners, broken requests) for debugging. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char		 line[512];
	size_t		 n;
	long long	 now;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (strstr(line, "connection limit") == NULL) {
		log_debug("web: libmicrohttpd: %s", line);
		return;
	}
	now = mono_ms();
	pthread_mutex_lock(&rate_mu);
	capped.unlogged++;
	if (capped.logged == 0 || now - capped.logged >= RATE_WINDOW_MS)
		rate_log(&capped, now);
	pthread_mutex_unlock(&rate_mu);
}

/*
 * Bind and listen on web_listen (host:port, [v6]:port): the socket, or
 * -1 with err.  *v6 tells whether it is an IPv6 socket.
 */
static int
listen_on(const char *spec, int *v6, char *err, size_t errlen)
{
	struct addrinfo	 hints, *ai = NULL;
	char		 host[256];
	const char	*port;
	size_t		 n;
	int		 fd = -1, on = 1, off = 0, e;

	port = strrchr(spec, ':');
	n = (size_t)(port - spec);
	if (n >= sizeof(host)) {
		snprintf(err, errlen, "web_listen \"%s\": host too long", spec);
		return -1;
	}
	if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']') {
		memcpy(host, spec + 1, n - 2);
		host[n - 2] = '\0';
	} else {
		memcpy(host, spec, n);
		host[n] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] ? host : NULL, port + 1, &hints, &ai))
	    != 0) {
		snprintf(err, errlen, "web_listen \"%s\": %s", spec,
		    gai_strerror(e));
		return -1;
	}
	*v6 = ai->ai_family == AF_INET6;
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::] serves IPv4 too. */
	if (*v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

/* The origin (scheme://host[:port]) of url into out. */
static void
origin_of(const char *url, char *out, size_t len)
{
	const char	*p = strstr(url, "://");
	size_t		 n;

	p = p != NULL ? p + 3 : url;
	n = strcspn(p, "/?#") + (size_t)(p - url);
	snprintf(out, len, "%.*s", (int)n, url);
}

/* sigwait(), pinging the service manager's watchdog if it has one. */
static int
web_sigwait(const sigset_t *set, int *sig)
{
	struct timespec	 ts;
	long		 ms;

	notify_watchdog();
	if ((ms = notify_watchdog_ms()) < 0)
		return sigwait(set, sig);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	if ((*sig = sigtimedwait(set, NULL, &ts)) == -1)
		return -1;
	return 0;
}

int
web_run(struct conf *c, struct store *st)
{
	struct web_srv	 srv;
	struct MHD_Daemon *d = NULL;
	pthread_t	 wd;
	sigset_t	 set;
	struct MHD_OptionItem opts[16];
	unsigned char	*cert = NULL, *key = NULL;
	size_t		 certlen = 0, keylen = 0, n;
	unsigned int	 flags, perip;
	char		 err[512];
	int		 fd = -1, v6 = 0, sig, rc = 1, watching = 0;

	if (log_open(c->log, c->log_level, conf_log_socket(c), err,
	    sizeof(err)) == -1)
		return cli_err("web: %s", err);
	memset(&srv, 0, sizeof(srv));
	srv.conf = c;
	srv.st = st;
	pthread_mutex_init(&srv.db_mu, NULL);
	atomic_init(&srv.stopping, 0);
	srv.tls = *c->web_tls_cert != '\0';
	srv.secure = strncmp(c->web_base_url, "https://", 8) == 0;
	origin_of(c->web_base_url, srv.origin, sizeof(srv.origin));
	deadline_ms = c->web_timeout_seconds * 1000LL;
	rates = xcalloc(RATE_SLOTS, sizeof(*rates));

	if (srv.tls && (fs_read_file(c->web_tls_cert, TLS_FILE_MAX, &cert,
	    &certlen) == -1 || fs_read_file(c->web_tls_key, TLS_FILE_MAX, &key,
	    &keylen) == -1)) {
		cli_err("web: cannot read %s or %s: %s", c->web_tls_cert,
		    c->web_tls_key, strerror(errno));
		goto out;
	}
	if ((fd = listen_on(c->web_listen, &v6, err, sizeof(err))) == -1) {
		cli_err("web: %s", err);
		goto out;
	}

	/* The server's threads inherit this mask: signals come to sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_DUAL_STACK;
	if (srv.tls)
		flags |= MHD_USE_TLS;
	perip = (unsigned int)c->web_max_connections / 4;
	if (perip < 4)
		perip = 4;
	n = 0;
	/* An integer goes in value, a single pointer in ptr_value, a
	 * callback and its argument in both. */
#define OPT(o, v, p) do { opts[n].option = (o); opts[n].value = (intptr_t)(v); \
	opts[n].ptr_value = (void *)(p); n++; } while (0)
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &srv);
	OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, c->web_max_connections, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, perip, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, c->web_timeout_seconds, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, web_completed, &srv);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, conn_notify, &srv);
	if (srv.tls) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, key);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	d = MHD_start_daemon(flags, 0, NULL, NULL, web_answer, &srv,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d == NULL) {
		cli_err("web: libmicrohttpd did not start on %s%s",
		    c->web_listen, srv.tls ? " (check the TLS certificate "
		    "and key)" : "");
		goto out;
	}
	fd = -1;	/* MHD_stop_daemon closes it */
	if (pthread_create(&wd, NULL, watchdog, &srv) != 0) {
		cli_err("web: cannot start the watchdog thread");
		goto out;
	}
	watching = 1;
	log_info("web: serving %s on %s%s (at most %d connections, %d per "
	    "address, %d s per request, %d body bytes, %d token requests a "
	    "minute per address)", c->web_base_url, c->web_listen,
	    srv.tls ? " with TLS" : "", c->web_max_connections, (int)perip,
	    c->web_timeout_seconds, c->web_max_body_bytes, c->web_rate_limit);
	demo_settings_log(c, 1);
	notify_ready();
	for (;;) {
		if (web_sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("web: SIGHUP ignored; restart to read the "
			    "config again");
			continue;
		}
		break;
	}
	notify_stopping();
	log_info("web: stopping (signal %d)", sig);
	rc = 0;
out:
	atomic_store(&srv.stopping, 1);
	if (d != NULL)
		MHD_stop_daemon(d);
	if (watching)
		pthread_join(wd, NULL);
	if (fd != -1)
		close(fd);
	if (key != NULL)
		explicit_bzero(key, keylen);
	free(key);
	free(cert);
	free(rates);
	rates = NULL;
	memset(&capped, 0, sizeof(capped));
	pthread_mutex_destroy(&srv.db_mu);
	return rc;
}
