/*
 * main.c: the certspool command line (SPEC section 5).  Global option
 * --config FILE (default ./certspool.conf) may stand anywhere; every
 * command answers --help; errors are one line on stderr and exit 1.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "extern.h"
#include "cmd.h"
#include "daemon.h"
#include "pipeline.h"
#include "store.h"

static int
has_help(int argc, char **argv)
{
	int	 i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* The value of "--name VALUE" in argv, removing both; NULL if absent. */
static const char *
take_opt(int *argc, char **argv, const char *name)
{
	int		 i;
	const char	*v;

	for (i = 0; i + 1 < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		v = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) *
		    sizeof(char *));
		*argc -= 2;
		return v;
	}
	return NULL;
}

static int
take_flag(int *argc, char **argv, const char *name)
{
	int	 i;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i - 1) *
		    sizeof(char *));
		(*argc)--;
		return 1;
	}
	return 0;
}

/* ---- init ---- */

static int
cmd_init(int argc, char **argv, const char *ca_key)
{
	const char	*dir = argc > 0 ? argv[0] : ".";
	char		 path[PATH_MAX], err[512], *text;
	struct conf	*c = NULL;
	struct store	*st = NULL;
	static const char *tree[] = { "inbound", "work", "archive",
	    "rejected", "outbound", "mail" };
	size_t		 i;
	int		 rc = 1;

	if (argc > 1)
		return cli_err("init: too many arguments");
	if (fs_mkdirs(dir, 0750) == -1)
		return cli_err("init: %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/certspool.conf", dir);
	if (access(path, F_OK) == 0)
		return cli_err("init: %s exists; not overwritten", path);
	text = conf_default_text(dir);
	if (fs_write_atomic_path(dir, "certspool.conf", text, strlen(text),
	    0640) == -1) {
		free(text);
		return cli_err("init: cannot write %s", path);
	}
	free(text);
	if ((c = conf_load(path, err, sizeof(err))) == NULL)
		return cli_err("init: %s", err);
	for (i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->spool_dir, tree[i]);
		if (fs_mkdirs(path, 0750) == -1) {
			cli_err("init: %s: %s", path, strerror(errno));
			goto out;
		}
	}
	if ((st = store_open(c->database, err, sizeof(err))) == NULL) {
		cli_err("init: %s", err);
		goto out;
	}
	if (fs_mkdirs(c->ca_dir, 0700) == -1) {
		cli_err("init: %s: %s", c->ca_dir, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/ca.key", c->ca_dir);
	if (access(path, F_OK) != 0 &&
	    ca_init_demo(c->ca_dir, ca_key, err, sizeof(err)) == -1) {
		cli_err("init: demo CA: %s", err);
		goto out;
	}
	printf("initialized %s: config %s, spool %s, database %s, CA %s\n",
	    dir, c->path, c->spool_dir, c->database, c->ca_dir);
	rc = 0;
out:
	store_close(st);
	conf_free(c);
	return rc;
}

/* ---- accounts: cmd_billing.c ---- */

/* ---- status ---- */

/* Certificates whose message could not be published (report.c), of
 * every batch or of the batch or order named by id; how many. */
static int
status_stuck(struct cmd_env *env, const char *id)
{
	sqlite3_stmt	*q;
	char		 since[32];
	int		 n = 0;

	q = store_prep(env->st, "SELECT a.name, b.ext_id, o.ext_id, r.email,"
	    " c.stuck, c.stuck_since, COALESCE(c.stuck_detail, '')"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id JOIN batch b ON"
	    " b.id = o.batch_id JOIN account a ON a.id = b.account_id"
	    " WHERE c.stuck IS NOT NULL AND c.mailed = 0 AND (?1 IS NULL OR"
	    " b.ext_id = ?1 OR o.ext_id = ?1) ORDER BY c.id", "t", id);
	if (q == NULL)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		time_fmt((time_t)sqlite3_column_int64(q, 5), since,
		    sizeof(since));
		printf("stuck %s %s %s %s %s since %s: %s\n",
		    sqlite3_column_text(q, 0), sqlite3_column_text(q, 1),
		    sqlite3_column_text(q, 2), sqlite3_column_text(q, 3),
		    sqlite3_column_text(q, 4), since,
		    sqlite3_column_text(q, 6));
		n++;
	}
	store_release(q);
	return n;
}

static int
cmd_status(struct cmd_env *env, int argc, char **argv)
{
	sqlite3_stmt	*q;
	int		 n = 0;

	if (argc > 1)
		return cli_err("usage: certspool status [BATCH-ID|ORDER-ID]");
	if (argc == 0) {
		q = store_prep(env->st, "SELECT a.name, b.ext_id, o.state,"
		    " count(*) FROM orders o JOIN batch b ON b.id = o.batch_id"
		    " JOIN account a ON a.id = b.account_id"
		    " GROUP BY b.id, o.state ORDER BY b.id, o.state", NULL);
		if (q == NULL)
			return cli_err("status: database error");
		printf("%-16s %-32s %-14s %s\n", "ACCOUNT", "BATCH", "STATE",
		    "ORDERS");
		while (sqlite3_step(q) == SQLITE_ROW)
			printf("%-16s %-32s %-14s %d\n",
			    sqlite3_column_text(q, 0), sqlite3_column_text(q, 1),
			    sqlite3_column_text(q, 2), sqlite3_column_int(q, 3));
		store_release(q);
		if (status_stuck(env, NULL) == -1)
			return cli_err("status: database error");
		return 0;
	}
	q = store_prep(env->st, "SELECT a.name, b.ext_id, o.ext_id, o.state,"
	    " COALESCE(o.reason, ''), r.email, r.state, COALESCE(r.reason, ''),"
	    " COALESCE(c.serial, '') FROM orders o"
	    " JOIN batch b ON b.id = o.batch_id"
	    " JOIN account a ON a.id = b.account_id"
	    " JOIN recipient r ON r.order_id = o.id"
	    " LEFT JOIN certificate c ON c.recipient_id = r.id AND"
	    " c.state = 'issued'"
	    " WHERE b.ext_id = ?1 OR o.ext_id = ?1 ORDER BY o.id, r.idx", "t",
	    argv[0]);
	if (q == NULL)
		return cli_err("status: database error");
	while (sqlite3_step(q) == SQLITE_ROW) {
		printf("%s %s %s %s %s %s %s %s %s\n", sqlite3_column_text(q, 0),
		    sqlite3_column_text(q, 1), sqlite3_column_text(q, 2),
		    sqlite3_column_text(q, 3), sqlite3_column_text(q, 4),
		    sqlite3_column_text(q, 5), sqlite3_column_text(q, 6),
		    sqlite3_column_text(q, 7), sqlite3_column_text(q, 8));
		n++;
	}
	store_release(q);
	if (n == 0)
		return cli_err("status: no batch or order \"%s\"", argv[0]);
	if (status_stuck(env, argv[0]) == -1)
		return cli_err("status: database error");
	return 0;
}

/* ---- CA ---- */

static int
cmd_ca_import(struct cmd_env *env, int argc, char **argv)
{
	char	 err[512];

	if (argc != 3)
		return cli_err("usage: certspool ca import CERT KEY CHAIN");
	if (ca_import(env->conf->ca_dir, argv[0], argv[1], argv[2], err,
	    sizeof(err)) == -1)
		return cli_err("ca import: %s", err);
	printf("issuing CA imported into %s\n", env->conf->ca_dir);
	return 0;
}

/* ---- dispatch ---- */

struct command {
	const char	*w1, *w2;
	int		(*fn)(struct cmd_env *, int, char **);
	const char	*usage;
};

static const struct command commands[] = {
	{ "account", "add", cmd_account_add, "account add NAME [--contract REF "
	  "--units N [--ends DATE]] [--balance CENTS]" },
	{ "account", "deposit", cmd_account_deposit, "account deposit NAME "
	  "CENTS" },
	{ "account", "contract", cmd_account_contract, "account contract NAME "
	  "REF --units N [--ends DATE]" },
	{ "account", "show", cmd_account_show, "account show NAME "
	  "[--limit N]" },
	{ "order", "cancel", cmd_order_cancel, "order cancel BATCH-ID "
	  "ORDER-ID [--account NAME]" },
	{ "renew", NULL, cmd_renew, "renew --due" },
	{ "org", "add", cmd_org_add, "org add ACCOUNT NAME --country CC "
	  "--org-id ID" },
	{ "org", "request", cmd_org_request, "org request ORG" },
	{ "org", "verify", cmd_org_verify, "org verify ORG CODE" },
	{ "domain", "add", cmd_domain_add, "domain add ORG DOMAIN" },
	{ "domain", "dcv", cmd_domain_dcv, "domain dcv DOMAIN [--org ORG] "
	  "[--method email|dns-txt|dns-cname|http]" },
	{ "domain", "confirm", cmd_domain_confirm, "domain confirm TOKEN" },
	{ "domain", "check", cmd_domain_check, "domain check DOMAIN "
	  "[--org ORG]" },
	{ "check", NULL, cmd_check, "check FILE [--account NAME]" },
	{ "validations", NULL, cmd_validations, "validations --expiring DAYS" },
	{ "status", NULL, cmd_status, "status [BATCH-ID|ORDER-ID]" },
	{ "ca", "import", cmd_ca_import, "ca import CERT KEY CHAIN" },
};

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: certspool [--config FILE] COMMAND ...\n"
	    "  init [DIR] [--ca-key rsa3072|p384]\n"
	    "  daemon [--once]\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

int
main(int argc, char *argv[])
{
	struct cmd_env	 env;
	const char	*confpath, *cakey;
	char		 err[512];
	size_t		 i;
	int		 rc, once;

	argc--;
	argv++;
	confpath = take_opt(&argc, argv, "--config");
	if (confpath == NULL)
		confpath = "certspool.conf";
	if (argc == 0) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "--version") == 0) {
		printf("certspool %s\n", CERTSPOOL_VERSION);
		return 0;
	}
	if (strcmp(argv[0], "init") == 0) {
		if (has_help(argc, argv)) {
			printf("usage: certspool init [DIR] [--ca-key "
			    "rsa3072|p384]\n");
			return 0;
		}
		argc--;
		argv++;
		cakey = take_opt(&argc, argv, "--ca-key");
		return cmd_init(argc, argv, cakey ? cakey : "rsa3072");
	}

	memset(&env, 0, sizeof(env));
	env.confpath = confpath;
	if (strcmp(argv[0], "daemon") == 0) {
		if (has_help(argc, argv)) {
			printf("usage: certspool daemon [--once]\n");
			return 0;
		}
		argc--;
		argv++;
		once = take_flag(&argc, argv, "--once");
		if (argc != 0)
			return cli_err("usage: certspool daemon [--once]");
	} else
		once = -1;

	for (i = 0; once == -1 && i < sizeof(commands) / sizeof(commands[0]);
	    i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->w1) != 0 ||
		    (c->w2 && (argc < 2 || strcmp(argv[1], c->w2) != 0)))
			continue;
		if (has_help(argc, argv)) {
			printf("usage: certspool %s\n", c->usage);
			return 0;
		}
		break;
	}
	if (once == -1 && i == sizeof(commands) / sizeof(commands[0])) {
		cli_err("unknown command \"%s%s%s\"; see certspool --help",
		    argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return 1;
	}

	if ((env.conf = conf_load(confpath, err, sizeof(err))) == NULL)
		return cli_err("%s", err);
	if ((env.st = store_open(env.conf->database, err, sizeof(err))) ==
	    NULL) {
		conf_free(env.conf);
		return cli_err("%s", err);
	}
	if (once != -1)
		rc = daemon_run(&env.conf, env.st, confpath, once);
	else {
		int	 skip = commands[i].w2 ? 2 : 1;

		rc = commands[i].fn(&env, argc - skip, argv + skip);
	}
	store_close(env.st);
	conf_free(env.conf);
	return rc;
}
