/*
 * cmd_init.c: certspool init DIR: the config with every key, the spool
 * tree, the database (an SQLite file in DIR, or the PostgreSQL database
 * of --database URI, migrated to the current schema) and the demo CAs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "ca.h"
#include "ca_ceremony.h"
#include "cmd.h"

/*
 * The database line of the config text: database = target (a URI given
 * to init --database).  The text is malloc'd; returns the new one.
 */
static char *
with_database(char *text, const char *target)
{
	const char	*key = "\ndatabase = ";
	char		*at, *eol, *out;
	size_t		 len;

	if ((at = strstr(text, key)) == NULL)
		return text;
	at += strlen(key);
	eol = strchr(at, '\n');
	len = (size_t)(at - text) + strlen(target) + strlen(eol ? eol : "") + 1;
	out = xcalloc(1, len);
	snprintf(out, len, "%.*s%s%s", (int)(at - text), text, target,
	    eol ? eol : "");
	free(text);
	return out;
}

int
cmd_init(int argc, char **argv, const struct init_opts *o)
{
	const struct init_hsm	*hsm = &o->hsm;
	const char		*ca_key = o->ca_key;
	const char	*dir = argc > 0 ? argv[0] : ".";
	char		 path[PATH_MAX], capem[PATH_MAX], err[512], *text;
	char		 uri[1024];
	struct conf	*c = NULL;
	struct store	*st = NULL;
	static const char *tree[] = { "inbound", "work", "archive",
	    "rejected", "outbound", "mail" };
	size_t		 i;
	int		 rc = 1;

	if (argc > 1)
		return cli_err("init: too many arguments");
	if (ca_keyalg(ca_key, err, sizeof(err)) == -1)
		return cli_err("init: %s", err);
	if (fs_mkdirs(dir, 0750) == -1)
		return cli_err("init: %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/certspool.conf", dir);
	if (access(path, F_OK) == 0)
		return cli_err("init: %s exists; not overwritten", path);
	/* The token key first: a wrong PIN or token writes nothing. */
	if (hsm->module != NULL) {
		snprintf(capem, sizeof(capem), "%s/ca/ca.pem", dir);
		if (access(capem, F_OK) == 0)
			return cli_err("init: %s exists; not overwritten",
			    capem);
		if (ceremony_generate(hsm->module, hsm->token, hsm->pin_file,
		    ca_key, uri, sizeof(uri), err, sizeof(err)) == -1)
			return cli_err("init: --hsm: %s", err);
		printf("issuing CA key generated in the token: %s\n", uri);
	}
	text = conf_default_text(dir);
	if (o->database != NULL)
		text = with_database(text, o->database);
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
	/* Orders, tokens and keys: not for other users (certspool doctor). */
	if (!store_is_uri(c->database) && chmod(c->database, 0640) == -1) {
		cli_err("init: %s: %s", c->database, strerror(errno));
		goto out;
	}
	if (fs_mkdirs(c->ca_dir, 0700) == -1) {
		cli_err("init: %s: %s", c->ca_dir, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/ca.key", c->ca_dir);
	if (hsm->module != NULL) {
		if (ceremony_demo_ca(c->ca_dir, c->path, hsm->module, uri,
		    hsm->pin_file, err, sizeof(err)) == -1) {
			cli_err("init: demo CA: %s", err);
			goto out;
		}
	} else if (access(path, F_OK) != 0 &&
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
