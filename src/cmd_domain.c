/*
 * cmd_domain.c: confirming and checking domain control (S/MIME BR
 * 3.2.2.1) and mailbox control (3.2.2.2).
 *
 * certspool domain confirm TOKEN: the recipient of an Email DCV or
 * mailbox message gives back its token (compared as SHA-256, in constant
 * time; single use; 30 days or 24 hours).
 *
 * certspool domain check DOMAIN [--org ORG]: look up the open DNS TXT,
 * DNS CNAME and HTTP DCVs of DOMAIN now (dcv_net.c) and mark the domain
 * validated on a match.  The network is asked outside any transaction;
 * only the outcome is written (the validation, or a dcv_check_failed
 * event for the audit trail).
 *
 * Failure policy: a refused token or a DCV without a match is one line
 * on stderr and exit 1 (a DNS/HTTP DCV stays open until it expires); a
 * store error rolls back and says so.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "extern.h"
#include "cmd.h"
#include "pipeline.h"
#include "dcv.h"

#define CHECK_MAX_DCV	16

static int
wants_help(int argc, char **argv, const char *usage)
{
	int	 i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			printf("usage: certspool %s\n", usage);
			return 1;
		}
	return 0;
}

/* The operator, for events (as cmd_validate.c records it). */
static void
operator_name(char *out, size_t len)
{
	const char	*u = getenv("USER");

	if (u != NULL && *u != '\0')
		snprintf(out, len, "operator uid %u (%.32s)",
		    (unsigned int)getuid(), u);
	else
		snprintf(out, len, "operator uid %u", (unsigned int)getuid());
}

/* "--name VALUE" / "--name=VALUE" options and npos positionals. */
static int
parse_args(int argc, char **argv, const char *optname, const char **optval,
    const char **pos, int npos, const char *usage)
{
	size_t	 n = optname ? strlen(optname) : 0;
	int	 i, k = 0;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (k == npos)
				goto bad;
			pos[k++] = argv[i];
		} else if (optname != NULL && strncmp(argv[i], optname, n) == 0
		    && argv[i][n] == '=')
			*optval = argv[i] + n + 1;
		else if (optname != NULL && strcmp(argv[i], optname) == 0 &&
		    i + 1 < argc)
			*optval = argv[++i];
		else
			goto bad;
	}
	if (k == npos)
		return 0;
bad:
	cli_err("usage: certspool %s", usage);
	return -1;
}

/* ---- domain check ---- */

struct open_dcv {
	long long	 id, domain_id, org_id, expires;
	char		*method, *hash, *value, *org;
};

struct open_dcv_list {
	struct open_dcv	 v[CHECK_MAX_DCV];
	size_t		 n;
};

static void
open_dcv_free(struct open_dcv *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].method);
		free(v[i].hash);
		free(v[i].value);
		free(v[i].org);
	}
}

/* Keep a copy of an open DCV, up to CHECK_MAX_DCV; 1 once full. */
static int
open_dcv_add(void *arg, const struct dcv_row *r)
{
	struct open_dcv_list	*l = arg;
	struct open_dcv		*v = &l->v[l->n++];

	v->id = r->id;
	v->domain_id = r->domain_id;
	v->org_id = r->org_id;
	v->expires = r->expires;
	v->method = r->method ? xstrdup(r->method) : NULL;
	v->hash = r->token_hash ? xstrdup(r->token_hash) : NULL;
	v->value = r->value ? xstrdup(r->value) : NULL;
	v->org = r->org ? xstrdup(r->org) : NULL;
	return l->n == CHECK_MAX_DCV;
}

/* Record a failed look-up (audit); errors here are only logged. */
static void
check_failed_event(struct store *st, const char *msg)
{
	if (store_begin(st) == -1)
		return;
	if (dcv_check_failed(st, msg) == -1 || store_commit(st) == -1)
		store_rollback(st);
}

int
cmd_domain_check(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "domain check DOMAIN [--org ORG]";
	struct open_dcv_list l;
	struct open_dcv	*v = l.v;
	const char	*pos[1], *orgarg = NULL;
	char		 dom[256], msg[400], detail[1024], when[32];
	long long	 org = 0, now = clock_now(), n;
	size_t		 nv, i, j;
	int		 validated = 0, rc = 1;

	if (wants_help(argc, argv, usage))
		return 0;
	if (parse_args(argc, argv, "--org", &orgarg, pos, 1, usage) == -1)
		return 1;
	for (j = 0; pos[0][j] != '\0' && j + 1 < sizeof(dom); j++)
		dom[j] = (char)tolower((unsigned char)pos[0][j]);
	dom[j] = '\0';
	if (pos[0][j] != '\0' || !valid_domain(dom))
		return cli_err("domain check: \"%s\" is not a domain name",
		    pos[0]);
	if (orgarg != NULL && (org = cli_org_id(env, orgarg)) == 0)
		return 1;

	/* Lapsed ones first, so that they are reported as such. */
	if (store_begin(env->st) == -1)
		return cli_err("domain check: database busy");
	if (dcv_expire_due_named(env->st, dom, org, now) == -1 ||
	    store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("domain check: database error");
	}
	l.n = 0;
	if (dcv_net_each_named(env->st, dom, org, open_dcv_add, &l) == -1) {
		open_dcv_free(v, l.n);
		return cli_err("domain check: database error");
	}
	nv = l.n;
	if (nv == 0) {
		if ((n = domain_count(env->st, dom, org)) == -1)
			return cli_err("domain check: database error");
		if (n == 0)
			return cli_err("domain check: no organization%s has "
			    "domain %s; certspool domain add ORG %s adds it",
			    org ? " given" : "", dom, dom);
		return cli_err("domain check: no open DNS or HTTP DCV for %s; "
		    "certspool domain dcv %s --method dns-txt|dns-cname|http "
		    "opens one (valid 30 days)", dom, dom);
	}

	/* The newest first; the first match validates, the rest stay open. */
	for (i = 0; i < nv && !validated; i++) {
		if (!dcv_net_probe(env->conf, v[i].id, v[i].method, dom,
		    v[i].hash, v[i].value, msg, sizeof(msg))) {
			time_fmt((time_t)v[i].expires, when, sizeof(when));
			fprintf(stderr, "certspool: domain check: %s not "
			    "validated: %s; the DCV stays open until %s\n", dom,
			    msg, when);
			check_failed_event(env->st, msg);
			continue;
		}
		snprintf(detail, sizeof(detail), "dcv %lld: domain %s of "
		    "organization %lld \"%s\" by %s (S/MIME BR 3.2.2.1): %s",
		    v[i].id, dom, v[i].org_id, v[i].org,
		    net_method_name(v[i].method), msg);
		if (store_begin(env->st) == -1)
			goto fail;
		/* Still open?  (Another check may have used it.) */
		if ((n = dcv_is_open(env->st, v[i].id)) == -1)
			goto fail;
		if (n == 1 && dcv_net_complete(env->st, v[i].id,
		    v[i].domain_id, v[i].method, 0, 0, detail) == -1)
			goto fail;
		if (store_commit(env->st) == -1)
			goto fail;
		time_fmt((time_t)dcv_reuse_until(REUSE_DOMAIN, now), when,
		    sizeof(when));
		printf("domain %s of organization %lld \"%s\" validated by %s "
		    "(S/MIME BR 3.2.2.1); reusable until %s\n", dom,
		    v[i].org_id, v[i].org, net_method_name(v[i].method), when);
		validated = 1;
	}
	rc = validated ? 0 : 1;
	goto out;
fail:
	store_rollback(env->st);
	rc = cli_err("domain check: database error");
out:
	open_dcv_free(v, nv);
	return rc;
}

int
cmd_domain_confirm(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "domain confirm TOKEN";
	struct dcv_info	 d;
	const char	*pos[1];
	char		 by[96], msg[512], when[32];
	int		 rc;

	if (wants_help(argc, argv, usage))
		return 0;
	if (parse_args(argc, argv, NULL, NULL, pos, 1, usage) == -1)
		return 1;
	operator_name(by, sizeof(by));
	rc = dcv_confirm_token(env->st, pos[0], by, &d, msg, sizeof(msg));
	if (rc == -1) {
		dcv_info_free(&d);
		return cli_err("domain confirm: database error");
	}
	if (rc != DCV_CONFIRMED) {
		dcv_info_free(&d);
		return cli_err("domain confirm: %s", msg);
	}
	time_fmt((time_t)dcv_reuse_until(d.is_mailbox ? REUSE_MAILBOX :
	    REUSE_DOMAIN, clock_now()), when, sizeof(when));
	if (d.is_mailbox)
		printf("mailbox %s validated (S/MIME BR 3.2.2.2); reusable "
		    "until %s\n", d.mailbox, when);
	else
		printf("domain %s of organization %lld \"%s\" validated by "
		    "Email DCV (S/MIME BR 3.2.2.1); reusable until %s\n",
		    d.domain, d.org_id, d.org ? d.org : "", when);
	dcv_info_free(&d);
	return 0;
}
