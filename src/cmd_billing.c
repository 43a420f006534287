/*
 * cmd_billing.c: the billing commands (SPEC 5 and 3.7).
 *
 *   account add NAME [--contract REF --units N [--ends DATE]]
 *                    [--balance CENTS]
 *   account deposit NAME CENTS
 *   account contract NAME REF --units N [--ends DATE]
 *   account show NAME [--limit N]
 *   order cancel BATCH-ID ORDER-ID [--account NAME]
 *   renew --due
 *
 * Every balance and unit change is written with its ledger row in one
 * transaction (ledger.c).  Waiting orders are not touched here: the next
 * pass of the daemon evaluates them again, oldest first.
 * Failure policy: a command that fails rolls back and says why in one
 * line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "spool.h"
#include "billing.h"
#include "cmd.h"
#include "pipeline.h"
#include "store_account.h"

/* The value of "--name VALUE" in argv, removing both; NULL if absent. */
static const char *
opt(int *argc, char **argv, const char *name)
{
	const char	*v;
	int		 i;

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
num(const char *s, long long min, long long max, long long *out)
{
	char	*end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *s != '\0' && *end == '\0' && *out >= min &&
	    *out <= max ? 0 : -1;
}

/* --ends DATE: the end of that day (UTC); 0 if absent, -1 if bad. */
static int
ends_opt(const char *s, long long *out)
{
	time_t	 t;

	*out = 0;
	if (s == NULL)
		return 0;
	if (time_parse(s, &t) == -1)
		return -1;
	*out = strchr(s, 'T') != NULL ? (long long)t : (long long)t + 86399;
	return 0;
}

int
cmd_account_add(struct cmd_env *env, int argc, char **argv)
{
	const char	*contract, *units_s, *balance_s, *ends_s;
	long long	 units = 0, balance = 0, ends = 0, aid;

	contract = opt(&argc, argv, "--contract");
	units_s = opt(&argc, argv, "--units");
	ends_s = opt(&argc, argv, "--ends");
	balance_s = opt(&argc, argv, "--balance");
	if (argc != 1)
		return cli_err("usage: certspool account add NAME [--contract "
		    "REF --units N [--ends DATE]] [--balance CENTS]");
	if (!valid_name(argv[0]) || strlen(argv[0]) > 32)
		return cli_err("account add: \"%s\" is not a valid account "
		    "name ([A-Za-z0-9._-], up to 32)", argv[0]);
	if ((contract == NULL) != (units_s == NULL))
		return cli_err("account add: --contract and --units go "
		    "together");
	if (ends_s != NULL && contract == NULL)
		return cli_err("account add: --ends needs --contract");
	if (units_s && num(units_s, 0, 100000000, &units) == -1)
		return cli_err("account add: bad --units \"%s\"", units_s);
	if (ends_opt(ends_s, &ends) == -1)
		return cli_err("account add: bad --ends \"%s\" (YYYY-MM-DD)",
		    ends_s);
	if (balance_s && num(balance_s, 0, 1000000000000LL, &balance) == -1)
		return cli_err("account add: bad --balance \"%s\"", balance_s);
	if (contract != NULL && (contract[0] == '\0' || strlen(contract) > 128
	    || is_card_number(contract)))
		return cli_err("account add: bad contract reference");
	if (account_lookup(env->st, argv[0]) > 0)
		return cli_err("account add: account \"%s\" exists", argv[0]);
	if (spool_account_dirs(env->conf, argv[0]) == -1)
		return cli_err("account add: cannot create spool directories");
	if (store_begin(env->st) == -1)
		return cli_err("account add: database busy");
	if ((aid = account_insert(env->st, argv[0])) == -1)
		goto fail;
	if ((balance > 0 && ledger_deposit(env->st, aid, balance,
	    "opening balance") == -1) ||
	    (contract != NULL && contract_put(env->st, aid, contract, units,
	    ends) == -1))
		goto fail;
	if (store_event(env->st, "account_added", 0, 0, 0, NULL, NULL, NULL,
	    argv[0]) == -1 || store_commit(env->st) == -1)
		goto fail;
	printf("account %s added\n", argv[0]);
	return 0;
fail:
	store_rollback(env->st);
	return cli_err("account add: database error");
}

int
cmd_account_deposit(struct cmd_env *env, int argc, char **argv)
{
	long long	 cents, aid, bal;

	if (argc != 2)
		return cli_err("usage: certspool account deposit NAME CENTS");
	if ((aid = account_lookup(env->st, argv[0])) <= 0)
		return cli_err("account deposit: no account \"%s\"", argv[0]);
	if (num(argv[1], 1, 1000000000000LL, &cents) == -1)
		return cli_err("account deposit: \"%s\" is not a positive "
		    "amount in cents", argv[1]);
	if (store_begin(env->st) == -1)
		return cli_err("account deposit: database busy");
	if (ledger_deposit(env->st, aid, cents, "deposit") == -1 ||
	    store_event(env->st, "deposit", 0, 0, 0, NULL, NULL, NULL,
	    argv[1]) == -1 || ledger_balance(env->st, aid, &bal) == -1 ||
	    store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("account deposit: database error");
	}
	printf("account %s: deposited %lld cents; balance %lld cents\n",
	    argv[0], cents, bal);
	return 0;
}

int
cmd_account_contract(struct cmd_env *env, int argc, char **argv)
{
	const char	*units_s, *ends_s;
	long long	 aid, units = 0, ends;

	units_s = opt(&argc, argv, "--units");
	ends_s = opt(&argc, argv, "--ends");
	if (argc != 2 || (units_s == NULL && ends_s == NULL))
		return cli_err("usage: certspool account contract NAME REF "
		    "--units N [--ends DATE]");
	if ((aid = account_lookup(env->st, argv[0])) <= 0)
		return cli_err("account contract: no account \"%s\"", argv[0]);
	if (argv[1][0] == '\0' || strlen(argv[1]) > 128 ||
	    is_card_number(argv[1]))
		return cli_err("account contract: bad contract reference");
	if (units_s != NULL && num(units_s, 0, 100000000, &units) == -1)
		return cli_err("account contract: bad --units \"%s\"", units_s);
	if (ends_opt(ends_s, &ends) == -1)
		return cli_err("account contract: bad --ends \"%s\" "
		    "(YYYY-MM-DD)", ends_s);
	if (store_begin(env->st) == -1)
		return cli_err("account contract: database busy");
	if (contract_put(env->st, aid, argv[1], units, ends) == -1 ||
	    store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("account contract: database error");
	}
	printf("account %s: contract %s: %lld units added\n", argv[0],
	    argv[1], units);
	return 0;
}

static const char *
col(const char *t)
{
	return t != NULL ? t : "-";
}

static int
show_contract(void *arg, const struct contract_row *c)
{
	char	 at[32];

	printf("contract %s units %lld", col(c->ref), c->units);
	if (c->has_end) {
		time_fmt((time_t)c->ends, at, sizeof(at));
		printf(" %s %s", c->ends <= clock_now() ? "ended" : "ends", at);
	}
	printf("\n");
	return 0;
}

static int
show_entry(void *arg, const struct ledger_entry *l)
{
	char	 at[32];

	time_fmt((time_t)l->at, at, sizeof(at));
	printf("  %-6lld %-20s %-14s %10lld %-16s %-12s %-28s %-5s %s\n",
	    l->id, at, col(l->kind), l->amount, col(l->batch), col(l->order),
	    col(l->email), col(l->round), col(l->ref));
	return 0;
}

int
cmd_account_show(struct cmd_env *env, int argc, char **argv)
{
	const char	*limit_s;
	long long	 aid, limit = 20, bal, n;

	limit_s = opt(&argc, argv, "--limit");
	if (argc != 1)
		return cli_err("usage: certspool account show NAME [--limit N]");
	if (limit_s != NULL && num(limit_s, 1, 1000000, &limit) == -1)
		return cli_err("account show: bad --limit \"%s\"", limit_s);
	if ((aid = account_lookup(env->st, argv[0])) <= 0)
		return cli_err("account show: no account \"%s\"", argv[0]);
	if (ledger_balance(env->st, aid, &bal) == -1 ||
	    ledger_count(env->st, aid, &n) == -1)
		return cli_err("account show: database error");
	printf("account %s\nbalance %lld cents (%s %lld.%02lld)\n", argv[0],
	    bal, env->conf->currency, bal / 100, (bal < 0 ? -bal : bal) % 100);
	if (contract_list(env->st, aid, show_contract, NULL) == -1)
		return cli_err("account show: database error");
	printf("ledger (newest %lld of %lld)\n", limit < n ? limit : n, n);
	printf("  %-6s %-20s %-14s %10s %-16s %-12s %-28s %-5s %s\n", "ID",
	    "AT", "KIND", "AMOUNT", "BATCH", "ORDER", "RECIPIENT", "ROUND",
	    "REF");
	if (ledger_history(env->st, aid, limit, show_entry, NULL) == -1)
		return cli_err("account show: database error");
	return 0;
}

int
cmd_order_cancel(struct cmd_env *env, int argc, char **argv)
{
	const char		*acct;
	struct order_ref	 o;
	int			 n, busy;

	acct = opt(&argc, argv, "--account");
	if (argc != 2)
		return cli_err("usage: certspool order cancel BATCH-ID ORDER-ID "
		    "[--account NAME]");
	if ((n = order_find_ext(env->st, argv[0], argv[1], acct, &o)) == -1)
		return cli_err("order cancel: database error");
	if (n == 0)
		return cli_err("order cancel: no order \"%s\" in batch \"%s\"",
		    argv[1], argv[0]);
	if (n > 1) {
		free(o.state);
		return cli_err("order cancel: batch \"%s\" exists in several "
		    "accounts; add --account NAME", argv[0]);
	}
	if (strcmp(o.state, S_CANCELLED) == 0) {
		free(o.state);
		printf("order %s of batch %s was already cancelled\n", argv[1],
		    argv[0]);
		return 0;
	}
	free(o.state);
	if (store_begin(env->st) == -1)
		return cli_err("order cancel: database busy");
	if ((busy = order_signing(env->st, o.id)) == -1)
		goto fail;
	if (busy > 0) {
		store_rollback(env->st);
		return cli_err("order cancel: the order is being signed; try "
		    "again after the daemon's pass");
	}
	if (order_cancel(env->st, o.batch_id, o.id) == -1 ||
	    store_commit(env->st) == -1)
		goto fail;
	/* Card authorizations of what was not issued are released now. */
	if (billing_settle(env->st, env->conf, o.id) == -1)
		fprintf(stderr, "certspool: order cancel: a card release "
		    "failed; the daemon retries it\n");
	printf("order %s of batch %s cancelled\n", argv[1], argv[0]);
	return 0;
fail:
	store_rollback(env->st);
	return cli_err("order cancel: database error");
}

int
cmd_renew(struct cmd_env *env, int argc, char **argv)
{
	int	 r1 = 0, r2 = 0, r3 = 0;

	if (argc != 1 || strcmp(argv[0], "--due") != 0)
		return cli_err("usage: certspool renew --due");
	if (renew_run(env->st, env->conf, &r1, &r2, &r3) == -1)
		return cli_err("renew: incomplete; see the log; run it again");
	printf("reissues %d, renewals %d, renewal notices %d\n", r1, r2, r3);
	return 0;
}
