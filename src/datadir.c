/*
 * datadir.c: where the read-only data (the XML Schema, the portal's
 * browser assets) is.  The build tree's binary has the source tree's
 * directories compiled in, the installed one (make install) the
 * installed $(datadir)/certspool/...; an installation whose compiled
 * path does not exist (copied elsewhere, or still under DESTDIR) finds
 * its data at ../share/certspool/ beside its own sbin/ or bin/.
 * Failure policy: none here; a missing directory is reported by the
 * caller that opens a file in it (the schema, an asset).
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

static int
is_dir(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *
data_path(const char *compiled, const char *sub)
{
	static _Thread_local char	 path[PATH_MAX];
	char				 exe[PATH_MAX], *slash;
	ssize_t				 n;

	if (is_dir(compiled))
		return compiled;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return compiled;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return compiled;
	*slash = '\0';
	n = snprintf(path, sizeof(path), "%s/../share/certspool/%s", exe, sub);
	if (n < 0 || (size_t)n >= sizeof(path) || !is_dir(path))
		return compiled;
	return path;
}
