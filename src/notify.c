/*
 * notify.c: the service manager's notifications (sd_notify(3) through
 * libsystemd): READY=1 when the daemon has finished its recovery (the
 * portal: when it listens), STATUS= with the queue after each pass,
 * WATCHDOG=1 from the loop and from long phases, RELOADING=1 around a
 * config reload, STOPPING=1 on SIGTERM.  Without NOTIFY_SOCKET (not
 * started by systemd with Type=notify) every call is a no-op, and
 * notify_watchdog() is cheap enough to be called for every item of a
 * pass: it sends at most once per half of the watchdog interval.
 * Failure policy: a notification that cannot be sent is dropped (the
 * service manager then sees a missing READY or watchdog ping and acts);
 * nothing here fails the caller.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "extern.h"

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static int		 enabled;	/* NOTIFY_SOCKET is set */
static long long	 half_ms;	/* half the watchdog interval, or 0 */
static long long	 last_ms;	/* atomic: the last WATCHDOG=1 */

static void
notify_setup(void)
{
	uint64_t	 usec = 0;
	const char	*s = getenv("NOTIFY_SOCKET");

	enabled = s != NULL && *s != '\0';
	/* WATCHDOG_PID, when set, must be ours (sd_watchdog_enabled). */
	if (enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		half_ms = (long long)(usec / 2000);
		if (half_ms == 0)
			half_ms = 1;
	}
}

static int
on(void)
{
	pthread_once(&once, notify_setup);
	return enabled;
}

static void
send_state(const char *state)
{
	if (on())
		(void)sd_notify(0, state);
}

int
notify_enabled(void)
{
	return on();
}

void
notify_ready(void)
{
	send_state("READY=1");
}

void
notify_reloading(void)
{
	send_state("RELOADING=1");
}

void
notify_stopping(void)
{
	send_state("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	if (!on())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)sd_notifyf(0, "STATUS=%s", msg);
}

void
notify_watchdog(void)
{
	long long	 now, last;

	if (!on() || half_ms == 0)
		return;
	now = mono_ms();
	last = __atomic_load_n(&last_ms, __ATOMIC_RELAXED);
	if (last != 0 && now - last < half_ms)
		return;
	/* One thread of several sends it. */
	if (!__atomic_compare_exchange_n(&last_ms, &last, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	(void)sd_notify(0, "WATCHDOG=1");
}

long
notify_watchdog_ms(void)
{
	if (!on() || half_ms == 0)
		return -1;
	return (long)half_ms;
}
