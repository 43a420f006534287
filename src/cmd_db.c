/*
 * cmd_db.c: certspool db migrate | check | copy --to URI: the database
 * itself, on either engine (db.h).
 *  - migrate: store_open migrates every database it opens (the daemon
 *    and every command do, in one transaction); db migrate does only
 *    that and says from which version to which.
 *  - check: the integrity checks of store_dbcheck.c, one line each; a
 *    database at another schema version is not checked (nor migrated).
 *  - copy: the configured SQLite database into an empty PostgreSQL one
 *    (store_copy.c).  It refuses while a daemon holds the spool lock,
 *    and holds that lock itself until it is done, so that nothing the
 *    daemon would write after the copy is lost when the config is
 *    switched; the source is read in one read transaction, so a CLI
 *    command or the portal writing meanwhile cannot make the copy
 *    inconsistent (what they write after it is not in the copy).
 * Failure policy: an error is one line on stderr and exit status 1; the
 * copy leaves nothing in the target when it fails.
 */
#include <sys/file.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "cmd.h"
#include "store_copy.h"
#include "store_dbcheck.h"
#include "store_schema.h"

/* The daemon's spool lock (daemon.c): -1 if a daemon holds it. */
static int
lock_spool(const struct conf *c, char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof(path), "%s/.certspool.lock", c->spool_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		snprintf(err, errlen, "%.400s: cannot open the spool lock",
		    path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "a daemon is running on %.400s: stop it "
		    "first", c->spool_dir);
		close(fd);
		return -1;
	}
	return fd;
}

static int
db_migrate(struct conf *c)
{
	struct store	*st;
	const char	*engine;
	char		 err[512];
	int		 from, to = 0;

	if (store_db_version(c->database, &from, &engine, err,
	    sizeof(err)) == -1)
		return cli_err("db migrate: %s", err);
	if (from > STORE_SCHEMA_VERSION)
		return cli_err("db migrate: %s: schema version %d is newer "
		    "than this program's %d", engine, from,
		    STORE_SCHEMA_VERSION);
	if ((st = store_open(c->database, err, sizeof(err))) == NULL)
		return cli_err("db migrate: %s", err);
	store_close(st);
	if (store_db_version(c->database, &to, &engine, err,
	    sizeof(err)) == -1)
		return cli_err("db migrate: %s", err);
	if (to != STORE_SCHEMA_VERSION)
		return cli_err("db migrate: %s: schema version %d after the "
		    "migration", engine, to);
	if (from == to)
		printf("%s: schema version %d: already current\n", engine,
		    to);
	else if (from == 0)
		printf("%s: schema version 0 (empty) -> %d: created\n",
		    engine, to);
	else
		printf("%s: schema version %d -> %d: migrated\n", engine, from,
		    to);
	return 0;
}

static int
check_line(void *arg, const char *name, long long bad, const char *detail)
{
	int	*n = arg;

	n[0]++;
	if (bad == 0)
		printf("ok %s\n", name);
	else {
		n[1]++;
		printf("problem %s: %lld %s: %s\n", name, bad,
		    bad == 1 ? "row" : "rows", detail);
	}
	return 0;
}

static int
db_check(struct conf *c)
{
	struct store	*st;
	const char	*engine;
	char		 err[512];
	int		 v, r, n[2] = { 0, 0 };

	if (store_db_version(c->database, &v, &engine, err,
	    sizeof(err)) == -1)
		return cli_err("db check: %s", err);
	if (v != STORE_SCHEMA_VERSION) {
		printf("problem schema: %s schema version %d, this program's "
		    "%d: run certspool db migrate\n", engine, v,
		    STORE_SCHEMA_VERSION);
		return 1;
	}
	printf("ok schema: %s schema version %d\n", engine, v);
	if ((st = store_open(c->database, err, sizeof(err))) == NULL)
		return cli_err("db check: %s", err);
	r = store_dbcheck(st, check_line, n);
	store_close(st);
	fflush(stdout);
	if (r == -1)
		return cli_err("db check: database error (see the log)");
	printf("%d checks, %d %s\n", n[0] + 1, n[1],
	    n[1] == 1 ? "problem" : "problems");
	return n[1] == 0 ? 0 : 1;
}

static int
db_copy(struct conf *c, const char *uri)
{
	struct copy_report	*rep = NULL;
	struct store		*src = NULL, *dst = NULL;
	char			 err[512], from[PATH_MAX];
	long long		 total = 0;
	int			 i, fd = -1, rc = 1;

	if (store_is_uri(c->database))
		return cli_err("db copy: the configured database is already "
		    "PostgreSQL; db copy reads an SQLite one");
	if (!store_is_uri(uri))
		return cli_err("db copy: --to needs a postgresql:// URI");
	if (access(c->database, R_OK) == -1)
		return cli_err("db copy: %s: no database to copy",
		    c->database);
	if (realpath(c->database, from) == NULL)
		snprintf(from, sizeof(from), "%s", c->database);
	if ((fd = lock_spool(c, err, sizeof(err))) == -1)
		return cli_err("db copy: %s", err);
	if ((src = store_open(c->database, err, sizeof(err))) == NULL) {
		cli_err("db copy: %s", err);
		goto out;
	}
	if ((dst = store_open_empty(uri, err, sizeof(err))) == NULL) {
		cli_err("db copy: %s", err);
		goto out;
	}
	rep = xcalloc(1, sizeof(*rep));
	if (store_copy(src, dst, from, rep, err, sizeof(err)) == -1) {
		cli_err("db copy: %s; nothing was copied", err);
		goto out;
	}
	printf("%-16s %10s  %s\n", "TABLE", "ROWS", "DIGEST");
	for (i = 0; i < rep->n; i++) {
		printf("%-16s %10lld  %.16s\n", rep->t[i].name,
		    rep->t[i].dst_rows, rep->t[i].dst_digest);
		total += rep->t[i].dst_rows;
	}
	printf("%-16s %10lld\n", "total", total);
	printf("copied %s to PostgreSQL: every table's rows and digest "
	    "match; now set database = URI in %s\n", from, c->path);
	rc = 0;
out:
	store_close(dst);
	store_close(src);
	free(rep);
	if (fd != -1)
		close(fd);
	return rc;
}

int
cmd_db(const char *confpath, const char *what, int argc, char **argv)
{
	struct conf	*c;
	const char	*to = NULL;
	char		 err[512];
	int		 rc;

	if (strcmp(what, "copy") == 0 && argc == 2 &&
	    strcmp(argv[0], "--to") == 0) {
		to = argv[1];
		argc = 0;
	}
	if (argc != 0 || (strcmp(what, "copy") == 0 && to == NULL))
		return cli_err("usage: certspool db %s", strcmp(what,
		    "copy") == 0 ? "copy --to postgresql://..." : what);
	if ((c = conf_load(confpath, err, sizeof(err))) == NULL)
		return cli_err("%s", err);
	if (strcmp(what, "migrate") == 0)
		rc = db_migrate(c);
	else if (strcmp(what, "check") == 0)
		rc = db_check(c);
	else
		rc = db_copy(c, to);
	conf_free(c);
	return rc;
}
