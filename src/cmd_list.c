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
#include "cmd.h"
#include "store.h"
#include "dcv.h"

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

/*
 * A validation's JSON fields: its state, validated_at (column 5) and
 * valid_until (reuse later), then the method (column 6) under key.
 */
static void
json_validation(sqlite3_stmt *q, const char *state, long long reuse,
    const char *key)
{
	int		 present = sqlite3_column_type(q, 5) != SQLITE_NULL;
	long long	 at = sqlite3_column_int64(q, 5);

	fputs(", \"state\": ", stdout);
	json_str(state);
	fputs(", \"validated_at\": ", stdout);
	json_time(present, at);
	fputs(", \"valid_until\": ", stdout);
	json_time(present, at + reuse);
	printf(", \"%s\": ", key);
	json_str((const char *)sqlite3_column_text(q, 6));
}

/* After the rows of a list: release q, close the JSON document.  The
 * command's exit status. */
static int
list_end(sqlite3_stmt *q, int json, const char *cmd)
{
	if (store_release(q) != SQLITE_OK)
		return cli_err("%s: database error", cmd);
	if (json)
		fputs("\n]}\n", stdout);
	return 0;
}

/* A text column for a table: control characters shown as '?'. */
static const char *
text(sqlite3_stmt *q, int col, char *buf, size_t len)
{
	const unsigned char	*t = sqlite3_column_text(q, col);
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
vstate(sqlite3_stmt *q, int at_col, int open_col, long long reuse,
    long long now)
{
	int	 validated = sqlite3_column_type(q, at_col) != SQLITE_NULL;

	if (validated && now - sqlite3_column_int64(q, at_col) < reuse)
		return "valid";
	if (sqlite3_column_type(q, open_col) != SQLITE_NULL)
		return "pending";
	return validated ? "expired" : "not_validated";
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

int
cmd_account_list(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "account list [--json]";
	sqlite3_stmt	*q;
	const char	*pos[1];
	char		 b1[320], b2[64];
	long long	 bal;
	int		 json, n = 0;

	if (list_args(argc, argv, 0, pos, &json, usage) == -1)
		return 1;
	if ((q = store_prep(env->st, "SELECT a.id, a.name, a.balance,"
	    " (SELECT count(*) FROM contract c WHERE c.account_id = a.id),"
	    " (SELECT count(*) FROM organization o WHERE o.account_id = a.id),"
	    " a.created FROM account a ORDER BY a.name", NULL)) == NULL)
		return cli_err("account list: database error");
	if (json)
		fputs("{\"accounts\": [", stdout);
	else
		printf("%-4s %-24s %20s %9s %13s\n", "ID", "ACCOUNT",
		    "BALANCE", "CONTRACTS", "ORGANIZATIONS");
	while (sqlite3_step(q) == SQLITE_ROW) {
		bal = sqlite3_column_int64(q, 2);
		if (!json) {
			snprintf(b2, sizeof(b2), "%s%lld.%02lld %s",
			    bal < 0 ? "-" : "", llabs(bal) / 100,
			    llabs(bal) % 100, env->conf->currency);
			printf("%-4lld %-24s %20s %9d %13d\n",
			    (long long)sqlite3_column_int64(q, 0),
			    text(q, 1, b1, sizeof(b1)), b2,
			    sqlite3_column_int(q, 3), sqlite3_column_int(q, 4));
			continue;
		}
		printf("%s\n {\"id\": %lld, \"name\": ", n++ ? "," : "",
		    (long long)sqlite3_column_int64(q, 0));
		json_str((const char *)sqlite3_column_text(q, 1));
		printf(", \"balance_cents\": %lld, \"currency\": ", bal);
		json_str(env->conf->currency);
		printf(", \"contracts\": %d, \"organizations\": %d, "
		    "\"created\": ", sqlite3_column_int(q, 3),
		    sqlite3_column_int(q, 4));
		json_time(1, sqlite3_column_int64(q, 5));
		putchar('}');
	}
	return list_end(q, json, "account list");
}

int
cmd_org_list(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "org list [ACCOUNT] [--json]";
	sqlite3_stmt	*q;
	const char	*pos[1], *state;
	char		 b1[320], b2[320], b3[320], b4[320], v[128];
	long long	 aid = 0, now = clock_now(), at;
	int		 json, n = 0;

	if (list_args(argc, argv, 1, pos, &json, usage) == -1)
		return 1;
	if (pos[0] != NULL &&
	    (aid = store_account_id(env->st, pos[0])) <= 0)
		return cli_err(aid == 0 ? "org list: no account \"%s\"" :
		    "org list: database error (account \"%s\")", pos[0]);
	if ((q = store_prep(env->st, "SELECT o.id, a.name, o.name, o.country,"
	    " o.org_identifier, o.validated_at, o.validation_method,"
	    " (SELECT r.id FROM org_request r WHERE r.org_id = o.id AND"
	    "  r.state = 'open' AND r.expires > ?1 ORDER BY r.id DESC LIMIT 1),"
	    " (SELECT r.expires FROM org_request r WHERE r.org_id = o.id AND"
	    "  r.state = 'open' AND r.expires > ?1 ORDER BY r.id DESC LIMIT 1)"
	    " FROM organization o JOIN account a ON a.id = o.account_id"
	    " WHERE ?2 = 0 OR a.id = ?2 ORDER BY a.name, o.id", "ii", now,
	    aid)) == NULL)
		return cli_err("org list: database error");
	if (json) {
		fputs("{\"as_of\": ", stdout);
		json_time(1, now);
		fputs(", \"organizations\": [", stdout);
	} else
		printf("%-4s %-16s %-24s %-7s %-22s %s\n", "ID", "ACCOUNT",
		    "ORGANIZATION", "COUNTRY", "ORG-ID", "VALIDATION");
	while (sqlite3_step(q) == SQLITE_ROW) {
		state = vstate(q, 5, 7, ORG_REUSE, now);
		at = sqlite3_column_int64(q, 5);
		if (!json) {
			snprintf(b4, sizeof(b4), "request %lld",
			    (long long)sqlite3_column_int64(q, 7));
			vtext(state, at + ORG_REUSE, b4,
			    sqlite3_column_int64(q, 8), v, sizeof(v));
			printf("%-4lld %-16s %-24s %-7s %-22s %s\n",
			    (long long)sqlite3_column_int64(q, 0),
			    text(q, 1, b1, sizeof(b1)),
			    text(q, 2, b2, sizeof(b2)),
			    text(q, 3, b3, sizeof(b3)),
			    text(q, 4, b4, sizeof(b4)), v);
			continue;
		}
		printf("%s\n {\"id\": %lld, \"account\": ", n++ ? "," : "",
		    (long long)sqlite3_column_int64(q, 0));
		json_str((const char *)sqlite3_column_text(q, 1));
		fputs(", \"name\": ", stdout);
		json_str((const char *)sqlite3_column_text(q, 2));
		fputs(", \"country\": ", stdout);
		json_str((const char *)sqlite3_column_text(q, 3));
		fputs(", \"org_identifier\": ", stdout);
		json_str((const char *)sqlite3_column_text(q, 4));
		json_validation(q, state, ORG_REUSE, "validation_method");
		fputs(", \"request\": ", stdout);
		if (sqlite3_column_type(q, 7) == SQLITE_NULL)
			fputs("null", stdout);
		else {
			printf("{\"id\": %lld, \"open_until\": ",
			    (long long)sqlite3_column_int64(q, 7));
			json_time(1, sqlite3_column_int64(q, 8));
			putchar('}');
		}
		putchar('}');
	}
	return list_end(q, json, "org list");
}

/* domain list's ORG|ACCOUNT: a number names an organization if one has
 * that id, anything else an account.  0 or -1 after a message. */
static int
domain_scope(struct cmd_env *env, const char *arg, long long *org,
    long long *acct)
{
	char		*end;
	long long	 n = 0;

	*org = *acct = 0;
	if (arg == NULL)
		return 0;
	if (arg[0] >= '0' && arg[0] <= '9') {
		errno = 0;
		*org = strtoll(arg, &end, 10);
		if (errno != 0 || *end != '\0')
			*org = 0;
		else if (store_int(env->st, &n, 0, store_prep(env->st,
		    "SELECT count(*) FROM organization WHERE id = ?", "i",
		    *org)) == -1) {
			cli_err("domain list: database error");
			return -1;
		}
		if (n != 0)
			return 0;
		*org = 0;
	}
	if ((*acct = store_account_id(env->st, arg)) == -1) {
		cli_err("domain list: database error");
		return -1;
	}
	if (*acct == 0) {
		cli_err("domain list: no organization or account \"%s\"", arg);
		return -1;
	}
	return 0;
}

int
cmd_domain_list(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "domain list [ORG|ACCOUNT] [--json]";
	sqlite3_stmt	*q;
	const char	*pos[1], *state;
	char		 b1[320], b2[320], b3[320], b4[320], v[128];
	long long	 org, acct, now = clock_now(), at;
	int		 json, n = 0;

	if (list_args(argc, argv, 1, pos, &json, usage) == -1)
		return 1;
	if (domain_scope(env, pos[0], &org, &acct) == -1)
		return 1;
	if ((q = store_prep(env->st, "SELECT d.id, d.name, o.id, o.name,"
	    " a.name, d.validated_at, d.method,"
	    " (SELECT v.method FROM dcv v WHERE v.domain_id = d.id AND"
	    "  v.state = 'open' AND v.expires > ?1 ORDER BY v.id DESC LIMIT 1),"
	    " (SELECT v.expires FROM dcv v WHERE v.domain_id = d.id AND"
	    "  v.state = 'open' AND v.expires > ?1 ORDER BY v.id DESC LIMIT 1)"
	    " FROM domain d JOIN organization o ON o.id = d.org_id"
	    " JOIN account a ON a.id = o.account_id"
	    " WHERE (?2 = 0 OR o.id = ?2) AND (?3 = 0 OR a.id = ?3)"
	    " ORDER BY a.name, o.id, d.name", "iii", now, org, acct)) == NULL)
		return cli_err("domain list: database error");
	if (json) {
		fputs("{\"as_of\": ", stdout);
		json_time(1, now);
		fputs(", \"domains\": [", stdout);
	} else
		printf("%-4s %-32s %-4s %-24s %-16s %s\n", "ID", "DOMAIN", "ORG",
		    "ORGANIZATION", "ACCOUNT", "VALIDATION");
	while (sqlite3_step(q) == SQLITE_ROW) {
		state = vstate(q, 5, 7, DOMAIN_REUSE, now);
		at = sqlite3_column_int64(q, 5);
		if (!json) {
			snprintf(b4, sizeof(b4), "%s DCV",
			    text(q, 7, b1, sizeof(b1)));
			vtext(state, at + DOMAIN_REUSE, b4,
			    sqlite3_column_int64(q, 8), v, sizeof(v));
			printf("%-4lld %-32s %-4lld %-24s %-16s %s\n",
			    (long long)sqlite3_column_int64(q, 0),
			    text(q, 1, b1, sizeof(b1)),
			    (long long)sqlite3_column_int64(q, 2),
			    text(q, 3, b2, sizeof(b2)),
			    text(q, 4, b3, sizeof(b3)), v);
			continue;
		}
		printf("%s\n {\"id\": %lld, \"name\": ", n++ ? "," : "",
		    (long long)sqlite3_column_int64(q, 0));
		json_str((const char *)sqlite3_column_text(q, 1));
		printf(", \"org_id\": %lld, \"organization\": ",
		    (long long)sqlite3_column_int64(q, 2));
		json_str((const char *)sqlite3_column_text(q, 3));
		fputs(", \"account\": ", stdout);
		json_str((const char *)sqlite3_column_text(q, 4));
		json_validation(q, state, DOMAIN_REUSE, "method");
		fputs(", \"dcv\": ", stdout);
		if (sqlite3_column_type(q, 7) == SQLITE_NULL)
			fputs("null", stdout);
		else {
			fputs("{\"method\": ", stdout);
			json_str((const char *)sqlite3_column_text(q, 7));
			fputs(", \"open_until\": ", stdout);
			json_time(1, sqlite3_column_int64(q, 8));
			putchar('}');
		}
		putchar('}');
	}
	return list_end(q, json, "domain list");
}

int
cmd_validations(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "validations --expiring DAYS";
	sqlite3_stmt	*q;
	const char	*d = NULL;
	char		 va[32], lapse[32], *end;
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
	q = store_prep(env->st, "SELECT kind, account, org, domain, at, lapse"
	    " FROM ("
	    " SELECT 'organization' AS kind, a.name AS account, o.name AS org,"
	    "  '-' AS domain, o.validated_at AS at, o.validated_at + ? AS lapse"
	    "  FROM organization o JOIN account a ON a.id = o.account_id"
	    "  WHERE o.validated_at IS NOT NULL"
	    " UNION ALL"
	    " SELECT 'domain', a.name, o.name, d.name, d.validated_at,"
	    "  d.validated_at + ?"
	    "  FROM domain d JOIN organization o ON o.id = d.org_id"
	    "  JOIN account a ON a.id = o.account_id"
	    "  WHERE d.validated_at IS NOT NULL)"
	    " WHERE lapse > ? AND lapse <= ?"
	    " ORDER BY lapse, kind, account, org, domain", "iiii", ORG_REUSE,
	    DOMAIN_REUSE, now, now + days * DAY);
	if (q == NULL)
		return cli_err("validations: database error");
	while (sqlite3_step(q) == SQLITE_ROW) {
		time_fmt((time_t)sqlite3_column_int64(q, 4), va, sizeof(va));
		time_fmt((time_t)sqlite3_column_int64(q, 5), lapse,
		    sizeof(lapse));
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", sqlite3_column_text(q, 0),
		    sqlite3_column_text(q, 1), sqlite3_column_text(q, 2),
		    sqlite3_column_text(q, 3), va, lapse);
	}
	if (store_release(q) != SQLITE_OK)
		return cli_err("validations: database error");
	return 0;
}
