/*
 * cmd_purge.c: certspool purge [--dry-run]: remove what the retention
 * keys no longer keep (purge.c), as the daemon does once a day; with
 * --dry-run print each file that would go and remove nothing.
 * Failure policy: a file that cannot be removed is kept and reported;
 * the exit status is then 1.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "purge.h"

int
cmd_purge(struct cmd_env *env, int argc, char **argv)
{
	int	 dry_run = 0, rc;

	if (argc == 1 && strcmp(argv[0], "--dry-run") == 0)
		dry_run = 1;
	else if (argc != 0)
		return cli_err("usage: certspool purge [--dry-run]");
	rc = purge_run(env->st, env->conf, dry_run, stdout, NULL);
	fflush(stdout);
	if (rc == -1)
		return cli_err("purge: not everything due was removed; see "
		    "the log");
	return 0;
}
