/*
 * cmd_crl.c: certspool crl [--now] (SPEC 7.2): publish the CRLs now, as
 * the daemon's pass does (crl_publish.c), and print what was written.
 * Failure policy: a shard that cannot be published is reported and
 * stays due; the exit status is then 1.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ca.h"
#include "crl.h"

int
cmd_crl(struct cmd_env *env, int argc, char **argv)
{
	struct ca	*ca;
	char		 err[512];
	int		 force = 0, rc;

	if (argc == 1 && strcmp(argv[0], "--now") == 0)
		force = 1;
	else if (argc != 0)
		return cli_err("usage: certspool crl [--now]");
	if ((ca = issuer_load(env->st, env->conf, env->kp, err,
	    sizeof(err))) == NULL)
		return cli_err("crl: %s", err);
	rc = crl_publish_out(env->st, env->conf, ca, force, stdout);
	fflush(stdout);
	ca_free(ca);
	if (rc == -1)
		return cli_err("crl: not every CRL was published; see the log");
	return 0;
}
