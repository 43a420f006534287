/*
 * cmd_validate.c: the operator's validation commands (SPEC section 5):
 * organizations and their S/MIME organization validation by a phone
 * verification code (S/MIME BR 3.2.3), domains and their Email, DNS TXT,
 * DNS CNAME or HTTP DCV (S/MIME BR 3.2.2.1; the network methods are
 * looked up by dcv_net.c), confirmation of DCV and mailbox tokens (S/MIME BR
 * 3.2.2.2).  The list of validations about to lapse is in cmd_list.c.
 * DCV tokens are printed or mailed once and stored only as SHA-256; the
 * phone code of an open organization request is kept in clear until the
 * request is used, replaced or expires (schema 4), so that org request
 * shows the same code again.  The rows are written by store_org.c
 * (organizations, requests) and store_dcv.c (domains, DCVs).
 * Failure policy: every change runs in one transaction with its event
 * rows; bad input or a refused secret is one line on stderr and exit 1;
 * a store error rolls back and says so.  Waiting orders move on in the
 * daemon's next pass, which re-evaluates every waiting order.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "extern.h"
#include "store_account.h"
#include "cmd.h"
#include "pipeline.h"
#include "dcv.h"
#include "store_org.h"

#define NAME_MAX_CHARS	64	/* X.520 ub-organization-name */
#define ORGID_MAX	64

struct opt {
	const char	*name;		/* "--country" */
	const char	*val;		/* out */
};

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

/*
 * Split argv into "--name VALUE" / "--name=VALUE" options and exactly
 * npos positional arguments.  -1 after printing usage on anything else.
 */
static int
args(int argc, char **argv, struct opt *o, size_t no, const char **pos,
    int npos, const char *usage)
{
	size_t	 j, n;
	int	 i, k = 0;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (k == npos)
				goto bad;
			pos[k++] = argv[i];
			continue;
		}
		for (j = 0; j < no; j++) {
			n = strlen(o[j].name);
			if (strncmp(argv[i], o[j].name, n) != 0)
				continue;
			if (argv[i][n] == '=') {
				o[j].val = argv[i] + n + 1;
				break;
			}
			if (argv[i][n] == '\0' && i + 1 < argc) {
				o[j].val = argv[++i];
				break;
			}
		}
		if (j == no)
			goto bad;
	}
	if (k == npos)
		return 0;
bad:
	cli_err("usage: certspool %s", usage);
	return -1;
}

/* A decimal number in [min, max], digits only. */
static int
parse_num(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

long long
cli_org_id(struct cmd_env *env, const char *arg)
{
	long long	 id;
	int		 n;

	if (parse_num(arg, 1, LLONG_MAX, &id) == -1) {
		cli_err("\"%s\" is not an organization id (the number org add "
		    "printed)", arg);
		return 0;
	}
	if ((n = org_exists(env->st, id)) == -1) {
		cli_err("database error");
		return 0;
	}
	if (n == 0) {
		cli_err("organization %lld does not exist", id);
		return 0;
	}
	return id;
}

/* The operator, for validated_by and events. */
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

/* An organizationName: UTF-8, no control characters, 1-64 characters,
 * no leading or trailing space. */
static int
valid_org_name(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 chars = 0, n, i;

	if (*p == '\0' || *p == ' ' || s[strlen(s) - 1] == ' ')
		return 0;
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80)
			n = 1;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 4;
		else
			return 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		/* No overlong three-byte form, no surrogates. */
		if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] >= 0xa0)))
			return 0;
		if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] >= 0x90)))
			return 0;
		p += n;
		chars++;
	}
	return chars <= NAME_MAX_CHARS;
}

/* ISO 3166-1 alpha-2 shape, not a user-assigned code (AA, QM-QZ,
 * XA-XZ, ZZ). */
static int
valid_country(const char *s)
{
	if (strlen(s) != 2 || !isupper((unsigned char)s[0]) ||
	    !isupper((unsigned char)s[1]))
		return 0;
	if (strcmp(s, "AA") == 0 || strcmp(s, "ZZ") == 0 || s[0] == 'X' ||
	    (s[0] == 'Q' && s[1] >= 'M'))
		return 0;
	return 1;
}

/* ISO 17442: 20 upper-case alphanumerics whose value mod 97 is 1. */
static int
valid_lei(const char *s)
{
	unsigned int	 r = 0;
	size_t		 i;
	int		 v;

	if (strlen(s) != 20)
		return 0;
	for (i = 0; i < 20; i++) {
		if (isdigit((unsigned char)s[i]))
			r = (r * 10 + (unsigned int)(s[i] - '0')) % 97;
		else if (isupper((unsigned char)s[i])) {
			v = s[i] - 'A' + 10;
			r = (r * 100 + (unsigned int)v) % 97;
		} else
			return 0;
	}
	return r == 1;
}

/*
 * The organizationIdentifier of S/MIME BR 7.1.4.2.2 (d): scheme (NTR,
 * VAT, PSD, LEI, GOV, INT), country (XG for the global LEI and INT),
 * for NTR optionally "+" and a 2-character subdivision, "-", reference.
 * The country must be the organization's, except for XG.
 */
static int
valid_org_identifier(const char *id, const char *cc, char *err, size_t len)
{
	static const char *const schemes[] = { "NTR", "VAT", "PSD", "LEI",
	    "GOV", "INT" };
	const char	*p, *ref;
	char		 scheme[4], country[3];
	size_t		 i;
	int		 global;

	if (strlen(id) > ORGID_MAX || strlen(id) < 7) {
		snprintf(err, len, "length must be 7 to %d", ORGID_MAX);
		return 0;
	}
	memcpy(scheme, id, 3);
	scheme[3] = '\0';
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(scheme, schemes[i]) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0])) {
		snprintf(err, len, "registration scheme \"%s\" is not one of "
		    "NTR, VAT, PSD, LEI, GOV, INT", scheme);
		return 0;
	}
	memcpy(country, id + 3, 2);
	country[2] = '\0';
	if (!isupper((unsigned char)country[0]) ||
	    !isupper((unsigned char)country[1])) {
		snprintf(err, len, "\"%s\" is not a 2-letter country code",
		    country);
		return 0;
	}
	global = strcmp(scheme, "LEI") == 0 || strcmp(scheme, "INT") == 0;
	if (global && strcmp(country, "XG") != 0) {
		snprintf(err, len, "scheme %s is global and takes country XG",
		    scheme);
		return 0;
	}
	if (!global && strcmp(country, cc) != 0) {
		snprintf(err, len, "country %s differs from --country %s",
		    country, cc);
		return 0;
	}
	p = id + 5;
	if (*p == '+') {
		if (strcmp(scheme, "NTR") != 0) {
			snprintf(err, len, "only NTR takes a \"+\" state or "
			    "province");
			return 0;
		}
		if (!isupper((unsigned char)p[1]) && !isdigit((unsigned char)p[1]))
			goto badsub;
		if (!isupper((unsigned char)p[2]) && !isdigit((unsigned char)p[2]))
			goto badsub;
		p += 3;
	}
	if (*p != '-') {
		snprintf(err, len, "a \"-\" must follow the %s",
		    p == id + 5 ? "country" : "state or province");
		return 0;
	}
	ref = p + 1;
	if (!isalnum((unsigned char)ref[0])) {
		snprintf(err, len, "registration reference missing");
		return 0;
	}
	for (p = ref; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-./", *p) == NULL) {
			snprintf(err, len, "character '%c' in the registration "
			    "reference", isprint((unsigned char)*p) ? *p : '?');
			return 0;
		}
	if (strcmp(scheme, "LEI") == 0 && !valid_lei(ref)) {
		snprintf(err, len, "\"%s\" is not an LEI (ISO 17442: 20 "
		    "characters, check digits)", ref);
		return 0;
	}
	return 1;
badsub:
	snprintf(err, len, "the state or province after \"+\" must be 2 "
	    "characters (ISO 3166-2)");
	return 0;
}

int
cmd_org_add(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "org add ACCOUNT NAME --country CC "
	    "--org-id ID";
	struct opt	 o[] = { { "--country", NULL }, { "--org-id", NULL } };
	const char	*pos[2];
	char		 err[160];
	long long	 aid, n, id;

	if (wants_help(argc, argv, usage))
		return 0;
	if (args(argc, argv, o, 2, pos, 2, usage) == -1)
		return 1;
	if (o[0].val == NULL || o[1].val == NULL)
		return cli_err("usage: certspool %s", usage);
	if ((aid = account_lookup(env->st, pos[0])) == -1)
		return cli_err("org add: database error");
	if (aid == 0)
		return cli_err("org add: no account \"%s\"", pos[0]);
	if (!valid_org_name(pos[1]))
		return cli_err("org add: \"%s\" is not an organization name "
		    "(UTF-8, 1-%d characters, no control characters)", pos[1],
		    NAME_MAX_CHARS);
	if (!valid_country(o[0].val))
		return cli_err("org add: --country \"%s\" is not an ISO 3166-1 "
		    "country code (two upper-case letters)", o[0].val);
	if (!valid_org_identifier(o[1].val, o[0].val, err, sizeof(err)))
		return cli_err("org add: --org-id \"%s\": S/MIME BR 7.1.4.2.2 "
		    "(d): %s", o[1].val, err);

	if (store_begin(env->st) == -1)
		return cli_err("org add: database busy");
	if ((n = org_id_by_name(env->st, aid, pos[1])) == -1)
		goto fail;
	if (n != 0) {
		store_rollback(env->st);
		return cli_err("org add: account \"%s\" already has "
		    "organization \"%s\" (id %lld)", pos[0], pos[1], n);
	}
	if ((id = org_add(env->st, aid, pos[0], pos[1], o[0].val,
	    o[1].val)) == -1 || store_commit(env->st) == -1)
		goto fail;
	printf("organization %lld \"%s\" added to account %s\n", id, pos[1],
	    pos[0]);
	return 0;
fail:
	store_rollback(env->st);
	return cli_err("org add: database error");
}

/* Mark every open request past its expiry 'expired' (which erases its
 * code, schema 4), not only this organization's.  0 or -1. */
static int
expire_stale_requests(struct store *st)
{
	long long	 org;

	for (;;) {
		if ((org = org_request_stale(st, clock_now())) == -1)
			return -1;
		if (org == 0)
			return 0;
		if (org_request_expire(st, org, 0, 0) == -1)
			return -1;
	}
}

/*
 * org request ORG [--new]: show the code of the open request; open one
 * if none is open; a new code only with --new, or for a request a pass
 * opened whose code was never shown (nobody holds it).
 */
int
cmd_org_request(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "org request ORG [--new]";
	struct org_req	 r = { 0 };
	const char	*pos[1], *what;
	char		 raw[ORG_CODE_CHARS + 1], code[ORG_CODE_CHARS + 2];
	char		 hash[65], detail[256], until[32];
	char		*shown, *name;
	long long	 org, rid, expires, now = clock_now();
	int		 i, j, renew = 0, rc = 1;

	if (wants_help(argc, argv, usage))
		return 0;
	for (i = j = 0; i < argc; i++)
		if (strcmp(argv[i], "--new") == 0)
			renew = 1;
		else
			argv[j++] = argv[i];
	if (args(j, argv, NULL, 0, pos, 1, usage) == -1)
		return 1;
	if ((org = cli_org_id(env, pos[0])) == 0)
		return 1;
	if (store_begin(env->st) == -1)
		return cli_err("org request: database busy");
	if (expire_stale_requests(env->st) == -1)
		goto fail;
	if (org_request_open(env->st, org, &r) != 1)
		goto fail;
	rid = r.id;
	shown = r.code;
	expires = r.expires;
	name = r.org;

	if (rid == 0) {
		/* None open (none yet, used, expired or locked): a new one. */
		if ((rid = org_request_insert(env->st, org, code,
		    sizeof(code))) == -1)
			goto fail;
		expires = now + ORG_REQUEST_TTL;
		if (org_request_opened(env->st, org, rid, code) == -1)
			goto fail;
		what = "opened";
	} else if (shown != NULL && !renew) {
		/* The code the validation agent may already hold. */
		snprintf(code, sizeof(code), "%s", shown);
		what = "is open (the same code as before)";
	} else {
		token_new(raw, ORG_CODE_CHARS);
		token_hash(raw, hash);
		snprintf(code, sizeof(code), "%.5s-%s", raw, raw + 5);
		expires = now + ORG_REQUEST_TTL;
		snprintf(detail, sizeof(detail), "organization %lld request "
		    "%lld: %s, tries reset", org, rid, shown != NULL ?
		    "new code (--new), the previous one void" :
		    "its first code shown");
		if (org_request_reissue(env->st, rid, hash, code, expires,
		    detail) == -1)
			goto fail;
		what = shown != NULL ? "has a new code (the previous one no "
		    "longer works)" : "is open";
	}
	if (store_commit(env->st) == -1)
		goto fail;
	time_fmt((time_t)expires, until, sizeof(until));
	printf("organization %lld \"%s\": request %lld %s, open until %s; "
	    "verification code %s\n", org, name, rid, what, until, code);
	rc = 0;
	goto out;
fail:
	store_rollback(env->st);
	rc = cli_err("org request: database error");
out:
	org_req_free(&r);
	return rc;
}

int
cmd_org_verify(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "org verify ORG CODE";
	struct org_req	 r = { 0 };
	const char	*pos[2];
	char		*stored, *state, *name;
	char		 canon[TOKEN_MAX + 1], hash[65], when[32], by[96];
	char		 detail[512];
	long long	 org, rid, expires, tries, now = clock_now();
	int		 match, rc = 1;

	if (wants_help(argc, argv, usage))
		return 0;
	if (args(argc, argv, NULL, 0, pos, 2, usage) == -1)
		return 1;
	if ((org = cli_org_id(env, pos[0])) == 0)
		return 1;
	if (store_begin(env->st) == -1)
		return cli_err("org verify: database busy");
	if (org_request_latest(env->st, org, &r) == -1)
		goto fail;
	rid = r.id;
	stored = r.code_hash;
	expires = r.expires;
	tries = r.tries;
	state = r.state;
	name = r.org;

	if (rid == 0) {
		cli_err("org verify: organization %lld has no validation "
		    "request; certspool org request %lld opens one", org, org);
		goto refuse;
	}
	if (strcmp(state, "locked") == 0) {
		cli_err("org verify: request locked after %d wrong codes; "
		    "certspool org request %lld opens a new one",
		    ORG_MAX_TRIES, org);
		goto refuse;
	}
	if (strcmp(state, "used") == 0) {
		cli_err("org verify: the code of request %lld was already used "
		    "(codes are single-use); certspool org request %lld opens "
		    "a new one", rid, org);
		goto refuse;
	}
	if (strcmp(state, "open") != 0 || expires <= now) {
		time_fmt((time_t)expires, when, sizeof(when));
		if (strcmp(state, "open") == 0 &&
		    org_request_expire(env->st, org, 0, 0) == -1)
			goto fail;
		if (store_commit(env->st) == -1)
			goto fail;
		rc = cli_err("org verify: request %lld expired at %s (valid "
		    "30 days); certspool org request %lld opens a new one",
		    rid, when, org);
		goto out;
	}

	/* Compare hashes, not codes, and in constant time. */
	if (token_norm(pos[1], canon, sizeof(canon)) == -1)
		canon[0] = '\0';
	token_hash(canon, hash);
	match = strlen(stored) == 64 && canon[0] != '\0' &&
	    CRYPTO_memcmp(hash, stored, 64) == 0;
	if (!match) {
		if ((tries = org_request_wrong_code(env->st, org, rid,
		    tries)) == -1 || store_commit(env->st) == -1)
			goto fail;
		if (tries >= ORG_MAX_TRIES)
			rc = cli_err("org verify: verification code does not "
			    "match; request locked after %d wrong codes; "
			    "certspool org request %lld opens a new one",
			    ORG_MAX_TRIES, org);
		else
			rc = cli_err("org verify: verification code does not "
			    "match (%lld %s left)", ORG_MAX_TRIES - tries,
			    ORG_MAX_TRIES - tries == 1 ? "try" : "tries");
		goto out;
	}

	operator_name(by, sizeof(by));
	snprintf(detail, sizeof(detail), "organization %lld \"%s\" request "
	    "%lld: phone verification code (S/MIME BR 3.2.3), %s", org, name,
	    rid, by);
	if (org_validate(env->st, org, rid, by, now, detail) == -1 ||
	    store_commit(env->st) == -1)
		goto fail;
	time_fmt((time_t)dcv_reuse_until(REUSE_ORG, now), when, sizeof(when));
	printf("organization %lld \"%s\" validated (S/MIME BR 3.2.3); "
	    "reusable until %s\n", org, name, when);
	rc = 0;
	goto out;
refuse:
	store_rollback(env->st);
	goto out;
fail:
	store_rollback(env->st);
	rc = cli_err("org verify: database error");
out:
	org_req_free(&r);
	return rc;
}

/* ASCII lower-case copy into out; -1 if it does not fit. */
static int
lower_copy(const char *in, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; in[i] != '\0'; i++) {
		if (i + 1 >= len)
			return -1;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[i] = '\0';
	return 0;
}

int
cmd_domain_add(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "domain add ORG DOMAIN";
	const char	*pos[2];
	char		 dom[256], *name = NULL;
	long long	 org, n, id;

	if (wants_help(argc, argv, usage))
		return 0;
	if (args(argc, argv, NULL, 0, pos, 2, usage) == -1)
		return 1;
	if ((org = cli_org_id(env, pos[0])) == 0)
		return 1;
	if (lower_copy(pos[1], dom, sizeof(dom)) == -1 || !valid_domain(dom))
		return cli_err("domain add: \"%s\" is not a domain name of LDH "
		    "labels (A-labels for internationalized names, at most 253 "
		    "characters, labels of at most 63, at least one dot)",
		    pos[1]);
	if (store_begin(env->st) == -1)
		return cli_err("domain add: database busy");
	if ((n = domain_find(env->st, org, dom)) == -1)
		goto fail;
	if (n != 0) {
		store_rollback(env->st);
		return cli_err("domain add: organization %lld already has "
		    "domain %s (id %lld)", org, dom, n);
	}
	if ((id = domain_add(env->st, org, dom, 0, 0, NULL)) == -1 ||
	    org_name(env->st, org, &name) != 1 || store_commit(env->st) == -1)
		goto fail;
	printf("domain %lld %s added to organization %lld \"%s\"\n", id, dom,
	    org, name);
	free(name);
	return 0;
fail:
	free(name);
	store_rollback(env->st);
	return cli_err("domain add: database error");
}

/* domain dcv --method dns-txt|dns-cname|http: open it, say what to
 * publish. */
static int
domain_dcv_net(struct cmd_env *env, long long did, const char *dom,
    const char *m)
{
	struct dcv_start	 ds;
	struct dcv_publish	 pub;
	char			 exp[32];

	memset(&ds, 0, sizeof(ds));
	if (store_begin(env->st) == -1)
		return cli_err("domain dcv: database busy");
	if (dcv_start_net(env->st, env->conf, did, m, &ds, &pub) == -1 ||
	    store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("domain dcv: could not start the %s DCV "
		    "(database error, or dcv_cname_target is not a host name)",
		    net_method_name(m));
	}
	time_fmt(ds.expires, exp, sizeof(exp));
	printf("%lld %s\n", ds.id, exp);
	if (strcmp(m, "http") == 0)
		printf("serve this file (HTTP on port %d, no redirect to another "
		    "host), its body holding the value:\n%s\n%s\n",
		    env->conf->http_dcv_port, pub.name, pub.data);
	else
		printf("publish this DNS record:\n%s IN %s %s\n", pub.name,
		    pub.rtype, pub.data);
	printf("then: certspool domain check %s (the daemon also looks while "
	    "an order waits for it); open until %s\n", dom, exp);
	return 0;
}

int
cmd_domain_dcv(struct cmd_env *env, int argc, char **argv)
{
	static const char usage[] = "domain dcv DOMAIN [--org ORG] "
	    "[--method email|dns-txt|dns-cname|http]";
	struct opt	 o[] = { { "--org", NULL }, { "--method", NULL } };
	struct dcv_start ds;
	const char	*pos[1], *m;
	char		 dom[256], exp[32];
	long long	 org = 0, did = 0, n = 0;

	if (wants_help(argc, argv, usage))
		return 0;
	if (args(argc, argv, o, 2, pos, 1, usage) == -1)
		return 1;
	m = o[1].val == NULL ? "email" : o[1].val;
	if (strcmp(m, "email") != 0 && !is_net_method(m))
		return cli_err("domain dcv: unknown method \"%s\" (email, "
		    "dns-txt, dns-cname, http)", m);
	if (lower_copy(pos[0], dom, sizeof(dom)) == -1 || !valid_domain(dom))
		return cli_err("domain dcv: \"%s\" is not a domain name",
		    pos[0]);
	if (o[0].val != NULL && (org = cli_org_id(env, o[0].val)) == 0)
		return 1;

	if (domain_by_name(env->st, dom, org, &n, &did) == -1)
		return cli_err("domain dcv: database error");
	if (n == 0 && org != 0)
		return cli_err("domain dcv: organization %lld has no domain %s; "
		    "certspool domain add %lld %s adds it", org, dom, org, dom);
	if (n == 0)
		return cli_err("domain dcv: no organization has domain %s; "
		    "certspool domain add ORG %s adds it", dom, dom);
	if (n > 1)
		return cli_err("domain dcv: %lld organizations have domain %s; "
		    "name one with --org ORG", n, dom);

	memset(&ds, 0, sizeof(ds));
	if (is_net_method(m))
		return domain_dcv_net(env, did, dom, m);
	if (store_begin(env->st) == -1)
		return cli_err("domain dcv: database busy");
	if (dcv_start_email(env->st, env->conf, did, &ds) == -1 ||
	    store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("domain dcv: could not start the Email DCV "
		    "(database or mail spool error)");
	}
	time_fmt(ds.expires, exp, sizeof(exp));
	printf("%lld %s\n", ds.id, exp);
	return 0;
}
