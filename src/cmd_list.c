/*
 * cmd_list.c: the operator's views (SPEC section 5): what exists and
 * where each validation stands.
 *
 *   account list [--json]
 *   org list [ACCOUNT] [--json]
 *   domain list [ORG|ACCOUNT] [--json]
 *   validations --expiring DAYS
 *
 * An organization validation counts for 825 days, a domain's DCV for
 * 398 (S/MIME BR 4.2.1), both measured with clock_now() as the stages
 * measure them.  --json prints one JSON document (RFC 8259) in ASCII:
 * every other character escaped, ids and amounts as numbers, times as
 * ISO 8601 strings in UTC.
 * Failure policy: these commands only read; a bad argument or a store
 * error is one line on stderr and exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "store_account.h"
#include "cmd.h"
#include "dcv.h"
#include "store_list.h"

/*
 * "--json" and at most maxpos positional arguments (*pos NULL when
 * none).  -1 after printing usage on anything else.
 */
static int
list_args(int argc, char **argv, int maxpos, const char **pos, int *json,
    const char *usage)
{
	int	 i, k = 0;

	*json = 0;
	*pos = NULL;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = 1;
		else if (argv[i][0] == '-' || k == maxpos) {
			cli_err("usage: certspool %s", usage);
			return -1;
		} else
			pos[k++] = argv[i];
	}
	return 0;
}

/* s as a JSON string in ASCII; NULL as null. */
static void
json_str(const char *s)
{
	struct buf	 b = { 0 };

	buf_json(&b, s);
	fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
}

/* A time as a JSON string, or null when absent. */
static void
json_time(int present, long long t)
{
	char	 buf[32];

	if (!present) {
		fputs("null", stdout);
		return;
	}
	time_fmt((time_t)t, buf, sizeof(buf));
	json_str(buf);
}

/* What a list's row functions share. */
struct lister {
	struct cmd_env	*env;
	int		 json;
	int		 n;		/* rows printed */
	long long	 now;
};

/*
 * A validation's JSON fields: its state, validated_at and valid_until
 * (reuse later), then the method under key.
 */
static void
json_validation(const struct validated *v, const char *state,
    long long reuse, const char *key)
{
	fputs(", \"state\": ", stdout);
	json_str(state);
	fputs(", \"validated_at\": ", stdout);
	json_time(v->present, v->at);
	fputs(", \"valid_until\": ", stdout);
	json_time(v->present, v->at + reuse);
	printf(", \"%s\": ", key);
	json_str(v->method);
}

/* After the rows of a list (rc: the walk's): close the JSON document.
 * The command's exit status. */
static int
list_end(int rc, int json, const char *cmd)
{
	if (rc == -1)
		return cli_err("%s: database error", cmd);
	if (json)
		fputs("\n]}\n", stdout);
	return 0;
}

/* A text column for a table: control characters shown as '?'. */
static const char *
text(const char *s, char *buf, size_t len)
{
	const unsigned char	*t = (const unsigned char *)s;
	size_t			 i;

	if (t == NULL)
		return "-";
	for (i = 0; t[i] != '\0' && i + 1 < len; i++)
		buf[i] = t[i] < 0x20 || t[i] == 0x7f ? '?' : (char)t[i];
	buf[i] = '\0';
	return buf;
}

/*
 * Where a validation stands: "valid" (validated less than reuse ago),
 * else "pending" (a request or DCV is open), else "expired" (there was
 * one) or "not_validated".
 */
static const char *
vstate(const struct validated *v, int open, long long reuse, long long now)
{
	if (v->present && now - v->at < reuse)
		return "valid";
	if (open)
		return "pending";
	return v->present ? "expired" : "not_validated";
}

/* The VALIDATION column of a table. */
static void
vtext(const char *state, long long until, const char *open_what,
    long long open_until, char *buf, size_t len)
{
	char	 t1[32], t2[32];

	time_fmt((time_t)until, t1, sizeof(t1));
	time_fmt((time_t)open_until, t2, sizeof(t2));
	if (strcmp(state, "valid") == 0)
		snprintf(buf, len, "valid until %s", t1);
	else if (strcmp(state, "pending") == 0)
		snprintf(buf, len, "pending (%s open until %s)", open_what,
		    t2);
	else if (strcmp(state, "expired") == 0)
		snprintf(buf, len, "expired %s", t1);
	else
		snprintf(buf, len, "not validated");
}

static int
account_row(void *arg, const struct account_row *r)
{
	struct lister	*l = arg;
	char		 b1[320], b2[64];
	long long	 bal;

	if (r == NULL) {
		if (l->json)
			fputs("{\"accounts\": [", stdout);
		else
			printf("%-4s %-24s %20s %9s %13s\n", "ID", "ACCOUNT",
			    "BALANCE", "CONTRACTS", "ORGANIZATIONS");
		return 0;
	}
	bal = r->balance;
	if (!l->json) {
		snprintf(b2, sizeof(b2), "%s%lld.%02lld %s",
		    bal < 0 ? "-" : "", llabs(bal) / 100,
		    llabs(bal) % 100, l->env->conf->currency);
		printf("%-4lld %-24s %20s %9d %13d\n", r->id,
		    text(r->name, b1, sizeof(b1)), b2, r->contracts,
		    r->organizations);
		return 0;
	}
	printf("%s\n {\"id\": %lld, \"name\": ", l->n++ ? "," : "", r->id);
	json_str(r->name);
	printf(", \"balance_cents\": %lld, \"currency\": ", bal);
	json_str(l->env->conf->currency);
	printf(", \"contracts\": %d, \"organizations\": %d, "
	    "\"created\": ", r->contracts, r->organizations);
	json_time(1, r->created);
	putchar('}');
	return 0;
}

int
cmd_account_list(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "account list [--json]";
	struct lister	 l = { env, 0, 0, 0 };
	const char	*pos[1];

	if (list_args(argc, argv, 0, pos, &l.json, usage) == -1)
		return 1;
	return list_end(account_list(env->st, account_row, &l), l.json,
	    "account list");
}

static int
org_row(void *arg, const struct org_list_row *r)
{
	struct lister	*l = arg;
	const char	*state;
	char		 b1[320], b2[320], b3[320], b4[320], v[128];

	if (r == NULL) {
		if (l->json) {
			fputs("{\"as_of\": ", stdout);
			json_time(1, l->now);
			fputs(", \"organizations\": [", stdout);
		} else
			printf("%-4s %-16s %-24s %-7s %-22s %s\n", "ID",
			    "ACCOUNT", "ORGANIZATION", "COUNTRY", "ORG-ID",
			    "VALIDATION");
		return 0;
	}
	state = vstate(&r->v, r->request != 0, ORG_REUSE, l->now);
	if (!l->json) {
		snprintf(b4, sizeof(b4), "request %lld", r->request);
		vtext(state, r->v.at + ORG_REUSE, b4, r->request_expires, v,
		    sizeof(v));
		printf("%-4lld %-16s %-24s %-7s %-22s %s\n", r->id,
		    text(r->account, b1, sizeof(b1)),
		    text(r->name, b2, sizeof(b2)),
		    text(r->country, b3, sizeof(b3)),
		    text(r->org_identifier, b4, sizeof(b4)), v);
		return 0;
	}
	printf("%s\n {\"id\": %lld, \"account\": ", l->n++ ? "," : "", r->id);
	json_str(r->account);
	fputs(", \"name\": ", stdout);
	json_str(r->name);
	fputs(", \"country\": ", stdout);
	json_str(r->country);
	fputs(", \"org_identifier\": ", stdout);
	json_str(r->org_identifier);
	json_validation(&r->v, state, ORG_REUSE, "validation_method");
	fputs(", \"request\": ", stdout);
	if (r->request == 0)
		fputs("null", stdout);
	else {
		printf("{\"id\": %lld, \"open_until\": ", r->request);
		json_time(1, r->request_expires);
		putchar('}');
	}
	putchar('}');
	return 0;
}

int
cmd_org_list(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "org list [ACCOUNT] [--json]";
	struct lister	 l = { env, 0, 0, clock_now() };
	const char	*pos[1];
	long long	 aid = 0;

	if (list_args(argc, argv, 1, pos, &l.json, usage) == -1)
		return 1;
	if (pos[0] != NULL &&
	    (aid = account_lookup(env->st, pos[0])) <= 0)
		return cli_err(aid == 0 ? "org list: no account \"%s\"" :
		    "org list: database error (account \"%s\")", pos[0]);
	return list_end(org_list(env->st, l.now, aid, org_row, &l), l.json,
	    "org list");
}

/* domain list's ORG|ACCOUNT: a number names an organization if one has
 * that id, anything else an account.  0 or -1 after a message. */
static int
domain_scope(struct cmd_env *env, const char *arg, long long *org,
    long long *acct)
{
	char		*end;
	int		 n = 0;

	*org = *acct = 0;
	if (arg == NULL)
		return 0;
	if (arg[0] >= '0' && arg[0] <= '9') {
		errno = 0;
		*org = strtoll(arg, &end, 10);
		if (errno != 0 || *end != '\0')
			*org = 0;
		else if ((n = org_exists(env->st, *org)) == -1) {
			cli_err("domain list: database error");
			return -1;
		}
		if (n != 0)
			return 0;
		*org = 0;
	}
	if ((*acct = account_lookup(env->st, arg)) == -1) {
		cli_err("domain list: database error");
		return -1;
	}
	if (*acct == 0) {
		cli_err("domain list: no organization or account \"%s\"", arg);
		return -1;
	}
	return 0;
}

static int
domain_row(void *arg, const struct domain_row *r)
{
	struct lister	*l = arg;
	const char	*state;
	char		 b1[320], b2[320], b3[320], v[128];
	char		 what[sizeof(b1) + sizeof(" DCV")];

	if (r == NULL) {
		if (l->json) {
			fputs("{\"as_of\": ", stdout);
			json_time(1, l->now);
			fputs(", \"domains\": [", stdout);
		} else
			printf("%-4s %-32s %-4s %-24s %-16s %s\n", "ID",
			    "DOMAIN", "ORG", "ORGANIZATION", "ACCOUNT",
			    "VALIDATION");
		return 0;
	}
	state = vstate(&r->v, r->dcv_method != NULL, DOMAIN_REUSE, l->now);
	if (!l->json) {
		snprintf(what, sizeof(what), "%s DCV",
		    text(r->dcv_method, b1, sizeof(b1)));
		vtext(state, r->v.at + DOMAIN_REUSE, what, r->dcv_expires, v,
		    sizeof(v));
		printf("%-4lld %-32s %-4lld %-24s %-16s %s\n", r->id,
		    text(r->name, b1, sizeof(b1)), r->org_id,
		    text(r->org_name, b2, sizeof(b2)),
		    text(r->account, b3, sizeof(b3)), v);
		return 0;
	}
	printf("%s\n {\"id\": %lld, \"name\": ", l->n++ ? "," : "", r->id);
	json_str(r->name);
	printf(", \"org_id\": %lld, \"organization\": ", r->org_id);
	json_str(r->org_name);
	fputs(", \"account\": ", stdout);
	json_str(r->account);
	json_validation(&r->v, state, DOMAIN_REUSE, "method");
	fputs(", \"dcv\": ", stdout);
	if (r->dcv_method == NULL)
		fputs("null", stdout);
	else {
		fputs("{\"method\": ", stdout);
		json_str(r->dcv_method);
		fputs(", \"open_until\": ", stdout);
		json_time(1, r->dcv_expires);
		putchar('}');
	}
	putchar('}');
	return 0;
}

int
cmd_domain_list(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "domain list [ORG|ACCOUNT] [--json]";
	struct lister	 l = { env, 0, 0, clock_now() };
	const char	*pos[1];
	long long	 org, acct;

	if (list_args(argc, argv, 1, pos, &l.json, usage) == -1)
		return 1;
	if (domain_scope(env, pos[0], &org, &acct) == -1)
		return 1;
	return list_end(domain_list(env->st, l.now, org, acct, domain_row,
	    &l), l.json, "domain list");
}

static int
lapse_row(void *arg, const struct lapse_row *r)
{
	char	 va[32], lapse[32];

	if (r == NULL)
		return 0;
	time_fmt((time_t)r->at, va, sizeof(va));
	time_fmt((time_t)r->lapse, lapse, sizeof(lapse));
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", r->kind, r->account, r->org,
	    r->domain, va, lapse);
	return 0;
}

int
cmd_validations(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "validations --expiring DAYS";
	const char	*d = NULL;
	char		*end;
	long long	 days, now = clock_now();

	if (argc == 2 && strcmp(argv[0], "--expiring") == 0)
		d = argv[1];
	else if (argc == 1 && strncmp(argv[0], "--expiring=", 11) == 0)
		d = argv[0] + 11;
	if (d == NULL)
		return cli_err("usage: certspool %s", usage);
	errno = 0;
	days = strtoll(d, &end, 10);
	if (d[0] < '0' || d[0] > '9' || errno != 0 || *end != '\0' ||
	    days > 36500)
		return cli_err("validations: --expiring \"%s\" is not a number "
		    "of days (0-36500)", d);

	/* Lapse: validated_at + reuse period (S/MIME BR 4.2.1). */
	if (validations_lapsing(env->st, ORG_REUSE, DOMAIN_REUSE, now,
	    now + days * DAY, lapse_row, NULL) == -1)
		return cli_err("validations: database error");
	return 0;
}
