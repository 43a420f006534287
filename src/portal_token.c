/*
 * portal_token.c: the links the portal answers (keygen, pickup, cert).
 * A token is 32 Crockford base-32 characters (160 bits) from rnd_bytes;
 * only its SHA-256 is stored (portal_token.token_hash), so a copy of the
 * database gives nobody a working link.  Tokens are looked up by kind:
 * a pickup token is not a cert token.  portal_wake() tells a running
 * daemon that a page changed something it should act on now.
 * Failure policy: database errors are returned; the wake-up is best
 * effort (the daemon's poll_seconds scan finds the work anyway).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "dcv.h"
#include "portal_token.h"

long long
portal_token_new(struct store *st, const char *kind, long long recipient_id,
    long long certificate_id, long long ttl, char *token)
{
	char		 hash[65];
	long long	 now = clock_now();

	token_new(token, PORTAL_TOKEN_CHARS);
	token_hash(token, hash);
	return portal_token_add(st, kind, hash, recipient_id, certificate_id,
	    now, now + ttl);
}

int
portal_token_find(struct store *st, const char *kind, const char *token,
    struct portal_tok *t)
{
	char		 canon[TOKEN_MAX + 1], hash[65];

	memset(t, 0, sizeof(*t));
	if (token_norm(token, canon, sizeof(canon)) == -1 ||
	    strlen(canon) != PORTAL_TOKEN_CHARS)
		return 0;
	token_hash(canon, hash);
	return portal_token_by_hash(st, kind, hash, t);
}

void
portal_link(const struct conf *c, const char *kind, const char *token,
    char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s/%s", c->web_base_url, kind, token);
}

void
portal_wake(const struct conf *c)
{
	char	 dir[PATH_MAX], path[PATH_MAX + 8];
	int	 fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/portal", c->spool_dir) >=
	    sizeof(dir))
		return;
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		return;
	snprintf(path, sizeof(path), "%s/wake", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd != -1)
		close(fd);	/* IN_CLOSE_WRITE wakes the daemon */
}
