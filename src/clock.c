/*
 * clock.c: the one clock and the one source of randomness.
 * Every time-based rule reads clock_now(); tests move it with the
 * CERTSPOOL_NOW environment variable (absolute time or +/- offset).
 * Randomness comes from the OpenSSL CSPRNG only; failure aborts, as
 * issuing with bad randomness would be worse than stopping.
 * mono_ms() is the monotonic clock for time limits, never for a date.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "extern.h"

time_t
clock_now(void)
{
	const char	*e = getenv("CERTSPOOL_NOW");
	time_t		 now = time(NULL), t;
	char		*end;
	long long	 v;

	if (e == NULL || *e == '\0')
		return now;
	if (*e == '+' || *e == '-') {
		errno = 0;
		v = strtoll(e, &end, 10);
		if (errno == 0 && *end == '\0')
			return now + (time_t)v;
	} else if (time_parse(e, &t) == 0) {
		return t;
	} else {
		errno = 0;
		v = strtoll(e, &end, 10);
		if (errno == 0 && *end == '\0')
			return (time_t)v;
	}
	log_err("CERTSPOOL_NOW: cannot parse \"%s\"", e);
	abort();
}

void
rnd_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		log_ssl(LOGL_ERR, "RAND_bytes");
		abort();
	}
}

long long
mono_ms(void)
{
	struct timespec	 ts;

	/* An elapsed-time budget, not a date: the one clock is not used. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
time_fmt(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
time_parse(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*end == 'T') {
		if ((end = strptime(end + 1, "%H:%M:%S", &tm)) == NULL)
			return -1;
		if (*end != 'Z')
			return -1;
		end++;
	}
	if (*end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}
