/*
 * dcv_net.c: DNS TXT, DNS CNAME and HTTP domain control validation
 * (S/MIME BR 3.2.2.1, which admits the TLS BR 3.2.2.4 methods for
 * domain prevalidation): opening a DCV with a random value, looking for
 * it over the network through the configured resolver (dns.c, http.c),
 * and marking the domain validated on a match.
 *
 * The random value is 160 bits (DCV_TOKEN_CHARS Crockford base32) and
 * only its SHA-256 is stored: a TXT record or an HTTP body matches when
 * one of its alphanumeric words hashes to it.  The CNAME method puts the
 * value in the owner name (DigiCert style), so its label is stored.
 *
 * The dcv and domain rows are written by store_dcv.c.
 *
 * Failure policy: a lookup that fails or finds no match leaves the DCV
 * open until it expires (DCV_NET_TTL) and says why; only store errors
 * are errors.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "extern.h"
#include "dcv.h"
#include "dns.h"
#include "http.h"

#define PROBE_CACHE	32
#define PROBE_TTL_MS	30000

/* Recent probe answers of the pipeline, by dcv id. */
static struct probe_memo {
	long long	 id;
	long long	 at;		/* CLOCK_MONOTONIC ms */
	int		 match;
	char		 msg[320];
} memo[PROBE_CACHE];

int
is_net_method(const char *m)
{
	return m != NULL && (strcmp(m, "dns-txt") == 0 ||
	    strcmp(m, "dns-cname") == 0 || strcmp(m, "http") == 0);
}

const char *
net_method_name(const char *m)
{
	if (strcmp(m, "dns-txt") == 0)
		return "DNS TXT";
	if (strcmp(m, "dns-cname") == 0)
		return "DNS CNAME";
	if (strcmp(m, "http") == 0)
		return "HTTP";
	return m;
}

int
dcv_start_net(struct store *st, const struct conf *c, long long domain_id,
    const char *method, struct dcv_start *ds, struct dcv_publish *pub)
{
	struct dcv_new	 n;
	char		*domain = NULL;
	char		 hash[65], value[80] = "", exp[32], detail[512], *p;
	long long	 now = clock_now(), account = 0;
	int		 rc = -1, found;

	memset(pub, 0, sizeof(*pub));
	if (strcmp(method, "dns-cname") == 0 &&
	    !valid_domain(c->dcv_cname_target)) {
		log_err("dcv_cname_target \"%s\" is not a lower-case host name",
		    c->dcv_cname_target);
		return -1;
	}
	if ((found = dcv_domain(st, domain_id, &domain, NULL,
	    &account)) != 1) {
		if (found == 0)
			log_err("dcv: domain %lld does not exist", domain_id);
		goto out;
	}

	token_new(pub->token, DCV_TOKEN_CHARS);
	token_hash(pub->token, hash);
	if (strcmp(method, "dns-txt") == 0) {
		snprintf(pub->name, sizeof(pub->name), "%s.%s.", DCV_TXT_LABEL,
		    domain);
		strlcpy_(pub->rtype, "TXT", sizeof(pub->rtype));
		snprintf(pub->data, sizeof(pub->data), "\"%s\"", pub->token);
	} else if (strcmp(method, "dns-cname") == 0) {
		strlcpy_(value, pub->token, sizeof(value));
		for (p = value; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		snprintf(pub->name, sizeof(pub->name), "%s.%s.", value, domain);
		strlcpy_(pub->rtype, "CNAME", sizeof(pub->rtype));
		snprintf(pub->data, sizeof(pub->data), "%s.",
		    c->dcv_cname_target);
	} else {
		char	 r[DCV_TOKEN_CHARS + 1];

		token_new(r, 16);
		for (p = r; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		snprintf(value, sizeof(value), "certspool-%s.txt", r);
		if (c->http_dcv_port == 80)
			snprintf(pub->name, sizeof(pub->name), "http://%s%s%s",
			    domain, DCV_HTTP_DIR, value);
		else
			snprintf(pub->name, sizeof(pub->name),
			    "http://%s:%d%s%s", domain, c->http_dcv_port,
			    DCV_HTTP_DIR, value);
		strlcpy_(pub->rtype, "URL", sizeof(pub->rtype));
		strlcpy_(pub->data, pub->token, sizeof(pub->data));
	}
	memset(&n, 0, sizeof(n));
	n.method = method;
	n.domain_id = domain_id;
	n.account_id = account;
	n.token_hash = hash;
	n.value = value;
	if (dcv_request_new(st, &n, now) == -1)
		goto out;
	ds->expires = (time_t)n.expires;
	ds->id = n.id;
	time_fmt(ds->expires, exp, sizeof(exp));
	snprintf(detail, sizeof(detail), "%s dcv %lld for %s (S/MIME BR "
	    "3.2.2.1): %s %s; expires %s", net_method_name(method), ds->id,
	    domain, pub->rtype, pub->name, exp);
	if (dcv_started(st, ds->batch_id, ds->order_id, detail) == -1)
		goto out;
	rc = 0;
out:
	free(domain);
	return rc;
}

/* Does some alphanumeric word of text hash to want? */
static int
has_value(const char *text, size_t len, const char *want)
{
	char		 word[TOKEN_MAX + 1], canon[TOKEN_MAX + 1], hash[65];
	size_t		 i = 0, n;

	while (i < len) {
		while (i < len && !isalnum((unsigned char)text[i]))
			i++;
		for (n = 0; i < len && isalnum((unsigned char)text[i]); i++)
			if (n < sizeof(word) - 1)
				word[n++] = text[i];
			else
				n = sizeof(word);	/* too long */
		if (n != DCV_TOKEN_CHARS)
			continue;
		word[n] = '\0';
		if (token_norm(word, canon, sizeof(canon)) == -1 ||
		    strlen(canon) != DCV_TOKEN_CHARS)
			continue;
		token_hash(canon, hash);
		if (strlen(want) == 64 &&
		    CRYPTO_memcmp(hash, want, 64) == 0)
			return 1;
	}
	return 0;
}

static int
probe_dns(const struct dns_resolver *r, const struct conf *c, long long id,
    const char *method, const char *domain, const char *token_hash,
    const char *value, char *msg, size_t msglen)
{
	struct dns_answer	 ans;
	const struct dns_rr	*rr[16];
	char			 name[300], txt[1024];
	size_t			 n, i;
	int			 txtm = strcmp(method, "dns-txt") == 0, match = 0;
	uint16_t		 type = txtm ? DNS_T_TXT : DNS_T_CNAME;

	if (txtm)
		snprintf(name, sizeof(name), "%s.%s", DCV_TXT_LABEL, domain);
	else
		snprintf(name, sizeof(name), "%s.%s", value ? value : "",
		    domain);
	if (dns_query(r, name, type, &ans) == -1) {
		snprintf(msg, msglen, "%s dcv %lld: lookup of %s %s through "
		    "%s failed: %s", net_method_name(method), id,
		    txtm ? "TXT" : "CNAME", name, r->desc, ans.err);
		dns_answer_free(&ans);
		return 0;
	}
	n = ans.status == DNS_OK ? dns_answer_find(&ans, name, type, rr,
	    sizeof(rr) / sizeof(rr[0])) : 0;
	for (i = 0; i < n && !match; i++) {
		if (txtm)
			match = dns_txt_join(rr[i], txt, sizeof(txt)) == 0 &&
			    has_value(txt, strlen(txt), token_hash);
		else
			match = strcasecmp(rr[i]->target,
			    c->dcv_cname_target) == 0;
	}
	if (match)
		snprintf(msg, msglen, "%s dcv %lld: %s %s found through %s",
		    net_method_name(method), id, txtm ? "TXT" : "CNAME", name,
		    r->desc);
	else if (n == 0)
		snprintf(msg, msglen, "%s dcv %lld: no %s record at %s (%s)",
		    net_method_name(method), id, txtm ? "TXT" : "CNAME", name,
		    ans.status == DNS_NXDOMAIN ? "NXDOMAIN" : "no data");
	else if (txtm)
		snprintf(msg, msglen, "DNS TXT dcv %lld: %zu TXT record%s at %s, "
		    "none with the value of this DCV", id, n, n == 1 ? "" : "s",
		    name);
	else
		snprintf(msg, msglen, "DNS CNAME dcv %lld: %s is a CNAME for "
		    "%.100s, not %s", id, name, rr[0]->target,
		    c->dcv_cname_target);
	dns_answer_free(&ans);
	return match;
}

int
dcv_net_probe(const struct conf *c, long long id, const char *method,
    const char *domain, const char *token_hash, const char *value,
    char *msg, size_t msglen)
{
	struct dns_resolver	 r;
	struct buf		 body = { 0 };
	char			 err[320], path[200];
	int			 match = 0;

	if (dns_resolver_init(&r, c->dns_resolver, c->dns_timeout_seconds,
	    err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "%s dcv %lld: %s", net_method_name(method),
		    id, err);
		return 0;
	}
	if (strcmp(method, "http") != 0)
		return probe_dns(&r, c, id, method, domain, token_hash, value,
		    msg, msglen);
	snprintf(path, sizeof(path), "%s%s", DCV_HTTP_DIR, value ? value : "");
	if (http_get(&r, domain, c->http_dcv_port, path, &body, err,
	    sizeof(err)) == -1)
		snprintf(msg, msglen, "HTTP dcv %lld: %s", id, err);
	else if ((match = has_value((const char *)body.p, body.len,
	    token_hash)))
		snprintf(msg, msglen, "HTTP dcv %lld: the value was served at "
		    "http://%s:%d%s", id, domain, c->http_dcv_port, path);
	else
		snprintf(msg, msglen, "HTTP dcv %lld: http://%s:%d%s does not "
		    "hold the value of this DCV", id, domain, c->http_dcv_port,
		    path);
	buf_free(&body);
	return match;
}

int
dcv_net_complete(struct store *st, long long id, long long domain_id,
    const char *method, long long batch, long long order, const char *detail)
{
	struct dcv_use	 u;

	memset(&u, 0, sizeof(u));
	u.id = id;
	u.method = method;
	u.domain_id = domain_id;
	u.at = clock_now();
	u.batch = batch;
	u.order = order;
	u.detail = detail;
	return dcv_confirm(st, &u) == -1 ? -1 : 0;
}

/* The pipeline's probe, remembered PROBE_TTL_MS. */
static int
probe_memo(const struct conf *c, long long id, const char *method,
    const char *domain, const char *token_hash, const char *value,
    char *msg, size_t msglen)
{
	struct probe_memo	*m, *old = &memo[0];
	long long		 now = mono_ms();
	size_t			 i;

	for (i = 0; i < PROBE_CACHE; i++) {
		m = &memo[i];
		if (m->id == id && now - m->at < PROBE_TTL_MS) {
			strlcpy_(msg, m->msg, msglen);
			return m->match;
		}
		if (m->at < old->at)
			old = m;
	}
	old->id = id;
	old->match = dcv_net_probe(c, id, method, domain, token_hash, value,
	    old->msg, sizeof(old->msg));
	old->at = mono_ms();
	strlcpy_(msg, old->msg, msglen);
	return old->match;
}

/* What dcv_net_check's look-ups share. */
struct net_check {
	struct store		*st;
	const struct conf	*c;
	long long		 domain_id, batch, order;
	int			 dry_run;
	int			*ok;
	char			*note;
	size_t			 notelen;
};

/* One open DCV: probe it; complete it on a match.  1 stop, 0 next. */
static int
net_check_one(void *arg, const struct dcv_row *r)
{
	struct net_check	*k = arg;
	char			 msg[320], detail[512];

	if (!probe_memo(k->c, r->id, r->method, r->domain, r->token_hash,
	    r->value, msg, sizeof(msg))) {
		if (k->note[0] == '\0')
			strlcpy_(k->note, msg, k->notelen);
		log_info("domain %s: %s", r->domain, msg);
		return 0;
	}
	*k->ok = 1;
	k->note[0] = '\0';
	snprintf(detail, sizeof(detail), "dcv %lld: domain %s by %s "
	    "(S/MIME BR 3.2.2.1), checked by the daemon: %s", r->id, r->domain,
	    net_method_name(r->method), msg);
	log_info("%s", detail);
	if (!k->dry_run && dcv_net_complete(k->st, r->id, k->domain_id,
	    r->method, k->batch, k->order, detail) == -1)
		return -1;
	return 1;
}

int
dcv_net_check(struct store *st, const struct conf *c, long long domain_id,
    long long batch, long long order, int dry_run, int *ok, char *note,
    size_t notelen)
{
	struct net_check	 k;
	long long		 now = clock_now();

	*ok = 0;
	note[0] = '\0';
	if (!dry_run && dcv_expire_due_net(st, domain_id, now) == -1)
		return -1;
	k.st = st;
	k.c = c;
	k.domain_id = domain_id;
	k.batch = batch;
	k.order = order;
	k.dry_run = dry_run;
	k.ok = ok;
	k.note = note;
	k.notelen = notelen;
	return dcv_net_each(st, domain_id, now, net_check_one, &k);
}
