/*
 * cmd_web.c: certspool web, the recipient portal: the command's
 * arguments here, the server in web.c.
 */
#include "extern.h"
#include "cmd.h"
#include "web_srv.h"

int
cmd_web(struct cmd_env *env, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return cli_err("usage: certspool web");
	return web_run(env->conf, env->st);
}
