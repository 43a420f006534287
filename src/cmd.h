/*
 * cmd.h: the CLI commands (SPEC section 5).  main.c parses the global
 * options, loads the config and opens the store, then calls one of these
 * with the arguments after the command words.  A command returns the
 * process exit status; on failure it has printed one line on stderr
 * with cli_err().
 */
#ifndef CERTSPOOL_CMD_H
#define CERTSPOOL_CMD_H

#include "extern.h"

struct cmd_env {
	struct conf	*conf;
	struct store	*st;
	const char	*confpath;
	struct keyproc	*kp;		/* the signer, for commands that sign */
};

/* cmd_init.c: init [DIR] with its options (hsm.module NULL: a file
 * key; database NULL: certspool.db in DIR). */
struct init_hsm {
	const char	*module, *token, *pin_file;
};
struct init_opts {
	const char	*ca_key;	/* p384 or rsa4096 */
	const char	*database;	/* postgresql:// URI, or NULL */
	struct init_hsm	 hsm;
};
int	 cmd_init(int argc, char **argv, const struct init_opts *);

/* cmd_db.c: db migrate|check|copy (what), before any store is open. */
int	 cmd_db(const char *confpath, const char *what, int argc, char **argv);

/* Print "certspool: <message>" on stderr; returns 1 (the exit status). */
/* Organization by numeric id, checked to exist; 0 and message if not. */
long long cli_org_id(struct cmd_env *, const char *arg);

/* cmd_validate.c */
int	 cmd_org_add(struct cmd_env *, int argc, char **argv);
int	 cmd_org_request(struct cmd_env *, int argc, char **argv);
int	 cmd_org_verify(struct cmd_env *, int argc, char **argv);
int	 cmd_domain_add(struct cmd_env *, int argc, char **argv);
int	 cmd_domain_dcv(struct cmd_env *, int argc, char **argv);
int	 cmd_domain_confirm(struct cmd_env *, int argc, char **argv);
/* cmd_domain.c (and cmd_domain_confirm) */
int	 cmd_domain_check(struct cmd_env *, int argc, char **argv);
/* cmd_list.c: the operator's views */
int	 cmd_account_list(struct cmd_env *, int argc, char **argv);
int	 cmd_org_list(struct cmd_env *, int argc, char **argv);
int	 cmd_domain_list(struct cmd_env *, int argc, char **argv);
int	 cmd_validations(struct cmd_env *, int argc, char **argv);
/* cmd_rollover.c */
int	 cmd_ca_rollover(struct cmd_env *, int argc, char **argv);
/* cmd_check.c */
int	 cmd_check(struct cmd_env *, int argc, char **argv);
/* cmd_billing.c */
int	 cmd_account_add(struct cmd_env *, int argc, char **argv);
int	 cmd_account_deposit(struct cmd_env *, int argc, char **argv);
int	 cmd_account_contract(struct cmd_env *, int argc, char **argv);
int	 cmd_account_show(struct cmd_env *, int argc, char **argv);
int	 cmd_order_cancel(struct cmd_env *, int argc, char **argv);
int	 cmd_renew(struct cmd_env *, int argc, char **argv);
/* cmd_crl.c */
int	 cmd_crl(struct cmd_env *, int argc, char **argv);
/* cmd_web.c: the recipient portal (web.c) */
int	 cmd_web(struct cmd_env *, int argc, char **argv);
/* cmd_purge.c */
int	 cmd_purge(struct cmd_env *, int argc, char **argv);
/* cmd_revoke.c */
int	 cmd_revoke(struct cmd_env *, int argc, char **argv);
int	 cmd_key_block(struct cmd_env *, int argc, char **argv);
/* Revocation lines of certspool status: pending requests (arg NULL) or
 * the revoked certificates of batch or order arg; 0 or -1. */
int	 revoke_status(struct cmd_env *, const char *arg);

#endif
