/*
 * log.c: levelled logging to stderr or syslog.
 * Failure policy: logging never fails the caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <openssl/err.h>

#include "extern.h"

static int	 log_syslog;
static int	 log_max = LOGL_INFO;

void
log_init(const char *where, int level)
{
	log_max = level;
	if (where != NULL && strcmp(where, "syslog") == 0) {
		openlog("certspool", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
	} else
		log_syslog = 0;
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

static void
vlog(int level, const char *fmt, va_list ap)
{
	static const char *names[] = { "", "", "", "error", "warning", "",
	    "info", "debug" };
	char	 msg[2048];

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog)
		syslog(level, "%s", msg);
	else
		fprintf(stderr, "certspool: %s: %s\n", names[level & 7], msg);
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
