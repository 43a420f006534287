/*
 * log.c: levelled log lines to stderr, syslog or the journal.  A line
 * on stderr is
 *   2026-12-04T17:03:12.345Z certspool: error: MESSAGE account=acme ...
 * (RFC 3339 UTC time from clock_now(), level, message, then the context
 * keys this thread set: account, file, batch, order, recipient).  Syslog
 * gets "<PRI>certspool[PID]: LEVEL: MESSAGE CONTEXT" over its socket
 * (/dev/log by default) and adds the time itself.  The journal gets one
 * datagram in its native protocol (KEY=value lines) on journal_socket:
 * MESSAGE= (the message and its context, as syslog shows them),
 * PRIORITY=, SYSLOG_IDENTIFIER=certspool, and each context key as a
 * field of its own (ACCOUNT=, FILE=, BATCH=, ORDER=, RECIPIENT=).  No
 * input byte can start a line (or a journal field) of its own or forge
 * one: control bytes, invalid UTF-8, C1 controls and U+2028/U+2029 are
 * written as \xNN, and a context value with a space, '"', '\', '=' or
 * such a byte is quoted.
 * Long phases report progress (log_progress_*) whenever nothing was
 * logged for 5 s (CLOCK_MONOTONIC), so a busy pass is never silent.
 * Failure policy: a log target that cannot be opened is an error for
 * the caller (the daemon does not start, a reload keeps the old
 * config); once open, logging never fails the caller, and a line the
 * syslog or journal socket refuses (after one reconnection) goes to
 * stderr.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "extern.h"

#define LINE_MAX_	4096
#define CTX_LEN		256

static const char *const level_names[] = { "", "", "", "error", "warning",
    "", "info", "debug" };
static const char *const ctx_names[LOGK_MAX] = { "account", "file",
    "batch", "order", "recipient" };
static const char *const ctx_fields[LOGK_MAX] = { "ACCOUNT", "FILE",
    "BATCH", "ORDER", "RECIPIENT" };

enum target { T_STDERR, T_SYSLOG, T_JOURNAL };

static pthread_mutex_t	 log_mu = PTHREAD_MUTEX_INITIALIZER;
static int		 log_max = LOGL_INFO;	/* atomic */
static enum target	 log_target;
static int		 log_sock = -1;		/* the syslog or journal socket */
static int		 log_stream;		/* the socket is SOCK_STREAM */
static char		 log_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static long long	 log_last_ms;		/* atomic: last line written */
static unsigned long long log_counts[8];	/* atomic: by level */

static _Thread_local char	 ctx[LOGK_MAX][CTX_LEN];
static _Thread_local int	 in_log;

/* A bounded line buffer; what does not fit is dropped. */
struct line {
	char	 p[LINE_MAX_];
	size_t	 n;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->p) - 1 - l->n)
		n = sizeof(l->p) - 1 - l->n;
	memcpy(l->p + l->n, s, n);
	l->n += n;
	l->p[l->n] = '\0';
}

static void
puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void
put_hex(struct line *l, unsigned char c)
{
	char	 x[5];

	snprintf(x, sizeof(x), "\\x%02x", c);
	put(l, x, 4);
}

/* Length of the valid UTF-8 sequence at s that may be written as it is
 * (no C1 control, no line or paragraph separator), or 0. */
static size_t
utf8_ok(const unsigned char *s)
{
	size_t	 n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;			/* overlong, surrogate, > U+10FFFF */
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return 0;			/* C1 controls */
	if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
		return 0;			/* U+2028, U+2029 */
	return n;
}

/* Append s; in a quoted value '"' and '\' are escaped too. */
static void
put_esc(struct line *l, const char *str, int quoted)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n;

	while (*s != '\0') {
		if (*s < 0x20 || *s == 0x7f) {
			put_hex(l, *s++);
		} else if (*s >= 0x80) {
			if ((n = utf8_ok(s)) == 0)
				put_hex(l, *s++);
			else {
				put(l, (const char *)s, n);
				s += n;
			}
		} else if (quoted && (*s == '"' || *s == '\\')) {
			put(l, "\\", 1);
			put(l, (const char *)s++, 1);
		} else
			put(l, (const char *)s++, 1);
	}
}

/* A context value bare if it is plain printable ASCII, else quoted. */
static void
put_value(struct line *l, const char *v)
{
	const unsigned char	*s;

	for (s = (const unsigned char *)v; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\' ||
		    *s == '=')
			break;
	if (*s == '\0' && *v != '\0') {
		puts_(l, v);
		return;
	}
	put(l, "\"", 1);
	put_esc(l, v, 1);
	put(l, "\"", 1);
}

/*
 * "YYYY-MM-DDTHH:MM:SS.mmmZ ": the seconds from clock_now(), the
 * milliseconds from the real clock read just before.  If clock_now()
 * is a second ahead of that reading, the second turned in between: .000.
 * Inside a log call made by clock_now() itself (a bad CERTSPOOL_NOW),
 * the real clock alone.
 */
static void
time_stamp(char *buf, size_t len)
{
	struct timespec	 ts;
	struct tm	 tm;
	time_t		 t;
	long		 ms;
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = ts.tv_nsec / 1000000;
	if (in_log > 1)
		t = ts.tv_sec;
	else if ((t = clock_now()) == ts.tv_sec + 1)
		ms = 0;
	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ ", (unsigned)ms % 1000);
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Connect to the syslog socket at path: datagram, else stream; the
 * journal's (journal != 0): datagram only. */
static int
sock_connect(const char *path, int journal, int *stream, char *err,
    size_t errlen)
{
	struct sockaddr_un	 sun;
	int			 fd, i;
	static const int	 types[] = { SOCK_DGRAM, SOCK_STREAM };
	const char		*what = journal ? "journal" : "syslog";

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || *path == '\0' ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "log = %s: socket path \"%s\" is "
		    "empty or too long", what, path ? path : "");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	for (i = 0; i < (journal ? 1 : 2); i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) == -1)
			break;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			*stream = types[i] == SOCK_STREAM;
			return fd;
		}
		close(fd);
		if (errno != EPROTOTYPE)
			break;
	}
	snprintf(err, errlen, "log = %s: cannot connect to the %s socket %s: "
	    "%s", what, what, path, strerror(errno));
	return -1;
}

static enum target
target_of(const char *where)
{
	if (where != NULL && strcmp(where, "syslog") == 0)
		return T_SYSLOG;
	if (where != NULL && strcmp(where, "journal") == 0)
		return T_JOURNAL;
	return T_STDERR;
}

int
log_open(const char *where, int level, const char *sock, char *err,
    size_t errlen)
{
	enum target	 t = target_of(where);
	int		 fd = -1, stream = 0, old;

	if (t != T_STDERR && (fd = sock_connect(sock, t == T_JOURNAL,
	    &stream, err, errlen)) == -1)
		return -1;
	pthread_mutex_lock(&log_mu);
	old = log_sock;
	log_sock = fd;
	log_target = t;
	log_stream = stream;
	if (fd != -1)
		snprintf(log_path, sizeof(log_path), "%s", sock);
	__atomic_store_n(&log_max, level, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_mu);
	if (old != -1)
		close(old);
	return 0;
}

void
log_init(const char *where, int level)
{
	char	 err[256];

	if (log_open(where, level, target_of(where) == T_JOURNAL ?
	    "/run/systemd/journal/socket" : "/dev/log", err,
	    sizeof(err)) == -1) {
		__atomic_store_n(&log_max, level, __ATOMIC_RELAXED);
		log_err("%s", err);
	}
}

int
log_check(const char *where, const char *sock, char *err, size_t errlen)
{
	enum target	 t = target_of(where);
	int		 fd, stream;

	if (t == T_STDERR)
		return 0;
	if ((fd = sock_connect(sock, t == T_JOURNAL, &stream, err,
	    errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}

int
log_level_parse(const char *s)
{
	if (strcasecmp(s, "error") == 0)
		return LOGL_ERR;
	if (strcasecmp(s, "warning") == 0)
		return LOGL_WARN;
	if (strcasecmp(s, "info") == 0)
		return LOGL_INFO;
	if (strcasecmp(s, "debug") == 0)
		return LOGL_DEBUG;
	return -1;
}

/* Send n bytes of p to the syslog or journal socket, reconnecting
 * once.  Called with log_mu held. */
static int
sock_send(const char *p, size_t n)
{
	char	 err[256];
	size_t	 len;
	int	 try;

	for (try = 0; try < 2; try++) {
		if (log_sock == -1 && (log_sock = sock_connect(log_path,
		    log_target == T_JOURNAL, &log_stream, err,
		    sizeof(err))) == -1)
			return -1;
		len = n + (log_stream ? 1 : 0);		/* stream: NUL ends */
		if (send(log_sock, p, len, MSG_NOSIGNAL) == (ssize_t)len)
			return 0;
		close(log_sock);
		log_sock = -1;
	}
	return -1;
}

/* Send "<PRI>certspool[PID]: " and body to syslog.  With log_mu held. */
static int
syslog_send(int level, const struct line *body)
{
	struct line	 l;

	snprintf(l.p, sizeof(l.p), "<%d>certspool[%ld]: ",
	    (3 << 3) | (level & 7), (long)getpid());	/* facility daemon */
	l.n = strlen(l.p);
	put(&l, body->p, body->n);
	return sock_send(l.p, l.n);
}

/* A journal datagram: KEY=value lines (the values are escaped as on a
 * line, so none holds a newline and the binary form is never needed). */
struct jline {
	char	 p[LINE_MAX_ * 3];
	size_t	 n;
};

static void
jfield(struct jline *j, const char *key, const char *v, size_t n)
{
	size_t	 k = strlen(key);

	if (j->n + k + n + 2 > sizeof(j->p))
		return;				/* cannot happen: bounded */
	memcpy(j->p + j->n, key, k);
	j->p[j->n + k] = '=';
	memcpy(j->p + j->n + k + 1, v, n);
	j->n += k + n + 1;
	j->p[j->n++] = '\n';
}

/* MESSAGE= is the body from msgoff on (message and context); each
 * context key is a field too.  With log_mu held. */
static int
journal_send(int level, const struct line *body, size_t msgoff)
{
	struct jline	 j;
	struct line	 v;
	char		 pri[2] = { (char)('0' + (level & 7)), '\0' };
	size_t		 i;

	j.n = 0;
	jfield(&j, "MESSAGE", body->p + msgoff, body->n - msgoff);
	jfield(&j, "PRIORITY", pri, 1);
	jfield(&j, "SYSLOG_FACILITY", "3", 1);
	jfield(&j, "SYSLOG_IDENTIFIER", "certspool", 9);
	for (i = 0; i < LOGK_MAX; i++) {
		if (ctx[i][0] == '\0')
			continue;
		v.n = 0;
		v.p[0] = '\0';
		put_esc(&v, ctx[i], 0);
		jfield(&j, ctx_fields[i], v.p, v.n);
	}
	return sock_send(j.p, j.n);
}

static void
vlog(int level, const char *fmt, va_list ap)
{
	struct line	 body, l;
	char		 msg[2048], stamp[40];
	size_t		 i, msgoff;
	int		 sent = -1;

	__atomic_add_fetch(&log_counts[level & 7], 1, __ATOMIC_RELAXED);
	if (level > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
		return;
	in_log++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	time_stamp(stamp, sizeof(stamp));
	body.n = 0;
	body.p[0] = '\0';
	puts_(&body, level_names[level & 7]);
	puts_(&body, ": ");
	msgoff = body.n;
	put_esc(&body, msg, 0);
	for (i = 0; i < LOGK_MAX; i++) {
		if (ctx[i][0] == '\0')
			continue;
		puts_(&body, " ");
		puts_(&body, ctx_names[i]);
		puts_(&body, "=");
		put_value(&body, ctx[i]);
	}
	pthread_mutex_lock(&log_mu);
	if (log_target == T_SYSLOG)
		sent = syslog_send(level, &body);
	else if (log_target == T_JOURNAL)
		sent = journal_send(level, &body, msgoff);
	/* A line syslog or the journal refuses goes to stderr, never
	 * nowhere. */
	if (sent == -1) {
		l.n = 0;
		l.p[0] = '\0';
		puts_(&l, stamp);
		puts_(&l, "certspool: ");
		put(&l, body.p, body.n);
		if (l.n == sizeof(l.p) - 1)
			l.n--;		/* cut short: room for the newline */
		l.p[l.n++] = '\n';
		(void)write_all(STDERR_FILENO, l.p, l.n);
	}
	__atomic_store_n(&log_last_ms, mono_ms(), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_mu);
	in_log--;
}

unsigned long long
log_count(int level)
{
	return __atomic_load_n(&log_counts[level & 7], __ATOMIC_RELAXED);
}

void
logx(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void
ssl_errstr(char *buf, size_t len)
{
	unsigned long	 e;
	size_t		 off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char	 one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? "; " : "", one);
	}
}

void
log_ssl(int level, const char *fmt, ...)
{
	va_list	 ap;
	char	 err[1024];

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
	ssl_errstr(err, sizeof(err));
	if (err[0] != '\0')
		logx(level, "libcrypto: %s", err);
}

/* ---- context ---- */

/* At most n bytes of s for a log line: printable ASCII, else '?'. */
const char *
log_safe(const char *s, size_t n, char *out, size_t len)
{
	size_t	 i;

	if (s == NULL)
		s = "";
	for (i = 0; i < n && s[i] != '\0' && i + 1 < len; i++)
		out[i] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	return out;
}

void
log_ctx_put(enum log_key k, const char *value)
{
	if ((unsigned)k >= LOGK_MAX)
		return;
	snprintf(ctx[k], sizeof(ctx[k]), "%s", value ? value : "");
}

void
log_ctx_set(const char *account, const char *batch, const char *order,
    const char *recipient)
{
	log_ctx_put(LOGK_ACCOUNT, account);
	log_ctx_put(LOGK_FILE, NULL);
	log_ctx_put(LOGK_BATCH, batch);
	log_ctx_put(LOGK_ORDER, order);
	log_ctx_put(LOGK_RECIPIENT, recipient);
}

void
log_ctx_clear(void)
{
	size_t	 i;

	for (i = 0; i < LOGK_MAX; i++)
		ctx[i][0] = '\0';
}

/* ---- progress ---- */

void
log_progress_begin(struct log_progress *p, const char *phase,
    const char *unit, size_t total)
{
	memset(p, 0, sizeof(*p));
	p->phase = phase;
	p->unit = unit;
	p->total = total;
	p->start_ms = mono_ms();
	p->interval_ms = LOG_PROGRESS_MS;
}

static void
progress_line(struct log_progress *p, size_t done, int end)
{
	long long	 ms = mono_ms() - p->start_ms;
	double		 s = ms > 0 ? ms / 1000.0 : 0.001;
	char		 count[64];

	if (p->total > 0)
		snprintf(count, sizeof(count), "%zu/%zu", done, p->total);
	else
		snprintf(count, sizeof(count), "%zu", done);
	if (end)
		log_info("%s: %s %s done in %.1f s, %.0f/s", p->phase, count,
		    p->unit, s, done / s);
	else if (p->total > 0)
		log_info("%s: %s %s (%zu%%), %.0f/s, %.1f s so far", p->phase,
		    count, p->unit, done * 100 / p->total, done / s, s);
	else
		log_info("%s: %s %s, %.0f/s, %.1f s so far", p->phase, count,
		    p->unit, done / s, s);
}

void
log_progress_tick(struct log_progress *p, size_t done)
{
	long long	 last = __atomic_load_n(&log_last_ms, __ATOMIC_RELAXED);
	long long	 now = mono_ms();

	notify_watchdog();		/* a long phase is not a hang */
	if (last == 0)
		last = p->start_ms;	/* nothing logged yet */
	if (now - last < p->interval_ms)
		return;
	if (LOGL_INFO > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
		return;
	progress_line(p, done, 0);
	p->lines++;
}

void
log_progress_end(struct log_progress *p, size_t done, int quiet)
{
	if (p->lines == 0 && (quiet || done < LOG_PROGRESS_MANY))
		return;
	progress_line(p, done, 1);
}
