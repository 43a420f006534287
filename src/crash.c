/*
 * crash.c: named crash points for the crash-torture tests.  When the
 * environment variable CERTSPOOL_CRASH_AT names a point (or "name:N" for
 * its N-th passage), the process kills itself with SIGKILL there, as a
 * power cut would.  Unset, a crash point costs one getenv.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"

void
crash_point(const char *name)
{
	static int	 count;
	const char	*e = getenv("CERTSPOOL_CRASH_AT");
	size_t		 n;
	int		 at = 1;

	if (e == NULL)
		return;
	n = strlen(name);
	if (strncmp(e, name, n) != 0 || (e[n] != '\0' && e[n] != ':'))
		return;
	if (e[n] == ':')
		at = atoi(e + n + 1);
	if (++count >= at)
		kill(getpid(), SIGKILL);
}
