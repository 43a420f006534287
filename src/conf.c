/*
 * conf.c: certspool.conf, "key = value" lines, '#' comments.
 * Every key has a default; an unknown key, a bad value or a duplicate is
 * an error naming the file and line, so a typo never silently changes how
 * a CA issues.  Relative paths are taken from the config file's directory.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "extern.h"
#include "ca.h"
#include "billing.h"

enum ktype { K_STR, K_PATH, K_INT, K_BOOL, K_READY, K_LEVEL, K_FORMAT,
    K_URL, K_P12, K_PRICE };

struct key {
	const char	*name;
	enum ktype	 type;
	size_t		 off;
	const char	*def;
	long long	 min, max;
	const char	*help;
};

#define O(f)	offsetof(struct conf, f)

static const struct key keys[] = {
	{ "spool_dir", K_PATH, O(spool_dir), "spool", 0, 0,
	  "Root of the spool: inbound/, work/, archive/, rejected/,\n"
	  "# outbound/, mail/ (SPEC section 1)." },
	{ "database", K_PATH, O(database), "certspool.db", 0, 0,
	  "The database holding all state: an SQLite file, or a\n"
	  "# PostgreSQL database named by a libpq URI (postgresql://...)." },
	{ "ca_dir", K_PATH, O(ca_dir), "ca", 0, 0,
	  "Issuing CA: ca.pem, ca.key (mode 0600), chain.pem." },
	{ "ca_key", K_STR, O(ca_key), "", 0, 0,
	  "The issuing CA's private key, opened only by the signer process:\n"
	  "# a PEM file (mode 0600), or a PKCS#11 URI (RFC 7512) such as\n"
	  "# pkcs11:token=ca;object=issuing; empty: ca_dir/ca.key." },
	{ "pkcs11_module", K_STR, O(pkcs11_module), "", 0, 0,
	  "The PKCS#11 module of a pkcs11: ca_key, e.g.\n"
	  "# /usr/lib/softhsm/libsofthsm2.so." },
	{ "pkcs11_pin_file", K_STR, O(pkcs11_pin_file), "", 0, 0,
	  "File holding the token's user PIN (mode 0600); empty: the\n"
	  "# environment variable CERTSPOOL_PKCS11_PIN." },
	{ "ready", K_READY, O(ready), "settle", 0, 0,
	  "When an inbound file is complete: settle (size and mtime\n"
	  "# unchanged for settle_seconds) or marker (a NAME.xml.done file)." },
	{ "settle_seconds", K_INT, O(settle_seconds), "2", 0, 3600,
	  "Seconds a file must be unchanged with ready = settle." },
	{ "poll_seconds", K_INT, O(poll_seconds), "5", 1, 3600,
	  "The daemon scans the spool this often (and on inotify events)." },
	{ "lease_seconds", K_INT, O(lease_seconds), "30", 3, 3600,
	  "With several daemons on one PostgreSQL database: a daemon\n"
	  "# silent this long (dead, paused or cut off) loses its accounts\n"
	  "# to the others and can no longer commit." },
	{ "max_batch_bytes", K_INT, O(max_batch_bytes), "67108864", 1024,
	  4294967296LL,
	  "Inbound files larger than this are rejected unread." },
	{ "workers", K_INT, O(workers), "0", 0, 256,
	  "Signing threads; 0 means one per core." },
	{ "archive_format", K_FORMAT, O(archive_format), "tar.gz", 0, 0,
	  "Certificate bundles: tar.gz or zip." },
	{ "crl_url", K_URL, O(crl_url), "http://crl.certspool.invalid/issuing.crl",
	  0, 0, "CRL distribution point put in certificates (http:// only).\n"
	  "# With crl_shards > 1 it holds {shard}, replaced by the shard's\n"
	  "# number, e.g. http://crl.example.com/issuing-{shard}.crl; the\n"
	  "# CRL file is named as the URL's last path segment (SPEC 7.3)." },
	{ "crl_shards", K_INT, O(crl_shards), "1", 1, 1024,
	  "Partitioned CRLs: each certificate is given one of this many\n"
	  "# shards when it is signed, for good (SPEC 7.3)." },
	{ "crl_dir", K_STR, O(crl_dir), "", 0, 0,
	  "Where CRLs and issuing.cer are published (serve it over HTTP);\n"
	  "# empty: the spool's crl/ directory." },
	{ "crl_refresh_hours", K_INT, O(crl_refresh_hours), "24", 1, 168,
	  "Every CRL is re-signed at least this often, revocations or not." },
	{ "crl_validity_hours", K_INT, O(crl_validity_hours), "168", 25, 240,
	  "nextUpdate - thisUpdate of a CRL (S/MIME BR 4.9.7: at most 10\n"
	  "# days); more than crl_refresh_hours, so a CRL never goes stale." },
	{ "aia_ca_issuers_url", K_URL, O(aia_ca_issuers_url),
	  "http://aia.certspool.invalid/issuing.cer", 0, 0,
	  "Authority Information Access caIssuers URL (http:// only)." },
	{ "ocsp_url", K_URL, O(ocsp_url), "", 0, 0,
	  "Authority Information Access OCSP URL (http://), empty for none." },
	{ "log", K_STR, O(log), "stderr", 0, 0,
	  "Where the daemon logs: stderr, syslog or journal (systemd's\n"
	  "# journal, with the context as fields ACCOUNT=, BATCH=, ...;\n"
	  "# the choice under systemd)." },
	{ "log_level", K_LEVEL, O(log_level), "info", 0, 0,
	  "error, warning, info or debug." },
	{ "syslog_socket", K_PATH, O(syslog_socket), "/dev/log", 0, 0,
	  "The syslog socket with log = syslog.  The daemon does not start\n"
	  "# (and SIGHUP keeps the old config) if it cannot connect to it." },
	{ "journal_socket", K_PATH, O(journal_socket),
	  "/run/systemd/journal/socket", 0, 0,
	  "The journal's native socket with log = journal.  The daemon does\n"
	  "# not start (and SIGHUP keeps the old config) if it cannot connect\n"
	  "# to it." },
	{ "caa_check", K_BOOL, O(caa_check), "off", 0, 0,
	  "Honour CAA issuemail records (RFC 9495, S/MIME BR 4.2.2.1).\n"
	  "# The offline demo turns it off; a production CA turns it on." },
	{ "caa_identities", K_STR, O(caa_identities), "certspool.invalid", 0, 0,
	  "Issuer domain names of this CA in CAA issuemail records,\n"
	  "# comma separated." },
	{ "dns_resolver", K_STR, O(dns_resolver), "system", 0, 0,
	  "DNS resolver for DCV and CAA: host:port (e.g. 127.0.0.1:53)\n"
	  "# or system (/etc/resolv.conf)." },
	{ "dns_timeout_seconds", K_INT, O(dns_timeout_seconds), "5", 1, 60,
	  "Time limit of one DNS question (DCV and CAA lookups), retries\n"
	  "# included." },
	{ "http_dcv_port", K_INT, O(http_dcv_port), "80", 1, 65535,
	  "Port of HTTP domain validation fetches (http://DOMAIN/.well-known/\n"
	  "# pki-validation/...).  80 for production; another port only in\n"
	  "# test labs." },
	{ "dcv_cname_target", K_STR, O(dcv_cname_target),
	  "dcv.certspool.invalid", 0, 0,
	  "A name this CA controls: DNS CNAME domain validation asks for\n"
	  "# RANDOM.DOMAIN CNAME to point here." },
	{ "public_email_domains", K_STR, O(public_email_domains),
	  "gmail.com,googlemail.com,outlook.com,hotmail.com,live.com,msn.com,"
	  "yahoo.com,ymail.com,aol.com,icloud.com,me.com,mac.com,gmx.com,"
	  "gmx.de,gmx.net,web.de,mail.com,proton.me,protonmail.com,"
	  "yandex.com,yandex.ru,mail.ru,qq.com,163.com,126.com,zoho.com",
	  0, 0,
	  "Public email provider domains (comma separated): refused for\n"
	  "# organization-bound products (SPEC 3.4)." },
	{ "mail_from", K_STR, O(mail_from), "certspool@localhost", 0, 0,
	  "From address of notification messages." },
	{ "sendmail_command", K_STR, O(sendmail_command), "", 0, 0,
	  "If set, each message in spool/mail is also piped to this\n"
	  "# command, e.g. \"/usr/sbin/sendmail -t -i\"." },
	{ "p12_profile", K_P12, O(p12_profile), "aes", 0, 0,
	  "PKCS#12 encryption for server-generated keys: aes (AES-256-CBC,\n"
	  "# PBKDF2, SHA-256 MAC) or legacy (3DES, SHA-1 MAC) for old clients." },
	{ "p12_iterations", K_INT, O(p12_iterations), "600000", 2048, 10000000,
	  "PBKDF2 iterations for PKCS#12 files." },
	{ "p12_in_archive", K_BOOL, O(p12_in_archive), "on", 0, 0,
	  "Put a server-generated key's PKCS#12 (bundle.p12) in the\n"
	  "# account's archive as well as offering it at the portal's pickup\n"
	  "# link (off: only the recipient's pickup link delivers it)." },
	{ "p12_retention_days", K_INT, O(p12_retention_days), "30", 1, 3650,
	  "Days the encrypted PKCS#12 of a server-generated key is kept for\n"
	  "# its pickup; purged at the recipient's confirmed pickup or then." },
	{ "mail_retention_days", K_INT, O(mail_retention_days), "30", 0, 36500,
	  "Days a delivered message stays in spool/mail (certspool purge,\n"
	  "# and the daemon once a day); a message the sendmail command has\n"
	  "# not yet taken is kept.  0: kept for ever." },
	{ "archive_retention_days", K_INT, O(archive_retention_days), "3650", 0,
	  36500,
	  "Days an accepted input stays in spool/archive/ACCOUNT; one whose\n"
	  "# orders are not all final is kept.  0: kept for ever." },
	{ "card_archive_retention_days", K_INT,
	  O(card_archive_retention_days), "7", 0, 36500,
	  "Days an archived input that held a payment card number stays\n"
	  "# (the shorter of this and archive_retention_days).  0: this key\n"
	  "# removes nothing." },
	{ "outbound_retention_days", K_INT, O(outbound_retention_days), "90", 0,
	  36500,
	  "Days results and certificate archives stay in\n"
	  "# spool/outbound/ACCOUNT.  0: kept for ever." },
	{ "web_listen", K_STR, O(web_listen), "127.0.0.1:8480", 0, 0,
	  "Address:port the recipient portal (certspool web) listens on;\n"
	  "# [v6addr]:port for IPv6." },
	{ "web_base_url", K_STR, O(web_base_url), "", 0, 0,
	  "The portal's public URL (http:// or https://, host and port\n"
	  "# only: the pages live at the root), put in every link mailed;\n"
	  "# empty: http://web_listen (https:// with web_tls_cert)." },
	{ "web_tls_cert", K_STR, O(web_tls_cert), "", 0, 0,
	  "PEM certificate chain for HTTPS served by the portal itself;\n"
	  "# empty: plain HTTP (behind a TLS reverse proxy)." },
	{ "web_tls_key", K_STR, O(web_tls_key), "", 0, 0,
	  "PEM private key of web_tls_cert." },
	{ "web_max_connections", K_INT, O(web_max_connections), "64", 1, 10000,
	  "Connections the portal serves at once; more are refused." },
	{ "web_timeout_seconds", K_INT, O(web_timeout_seconds), "20", 1, 600,
	  "A request (headers and body) must arrive within this time." },
	{ "web_max_body_bytes", K_INT, O(web_max_body_bytes), "32768", 1024,
	  1048576, "Largest request body (a form or a CSR) the portal reads." },
	{ "web_rate_limit", K_INT, O(web_rate_limit), "30", 1, 1000000,
	  "Requests per minute one client address may make to the\n"
	  "# portal's token pages; more are refused (429) and logged." },
	{ "agreement_version", K_STR, O(agreement_version), "2026-01", 0, 0,
	  "Version of the subscriber agreement an order accepts with\n"
	  "# <agreement accepted=\"true\"/>; recorded with the order." },
	{ "currency", K_STR, O(currency), "USD", 0, 0,
	  "Currency of the prices, balances and card amounts (ISO 4217)." },
	{ "price_secure_email_individual", K_PRICE, O(price_individual),
	  "2500,4500,6500", 0, 0,
	  "Price of one certificate, in cents, for 1, 2 and 3 years of\n"
	  "# coverage (SPEC 3.7); a contract pays one unit per\n"
	  "# certificate-year instead.  One key per product." },
	{ "price_secure_email_business", K_PRICE, O(price_business),
	  "4900,8900,12900", 0, 0, "secure_email_business, 1-3 years." },
	{ "price_secure_email_organization", K_PRICE, O(price_organization),
	  "3900,6900,9900", 0, 0, "secure_email_organization, 1-3 years." },
	{ "price_premium", K_PRICE, O(price_premium), "9900,17900,25900", 0, 0,
	  "premium, 1-3 years." },
	{ "price_email_security_plus", K_PRICE, O(price_esp),
	  "6900,12900,18900", 0, 0, "email_security_plus, 1-3 years." },
	{ "price_digital_signature_plus", K_PRICE, O(price_dsp),
	  "6900,12900,18900", 0, 0, "digital_signature_plus, 1-3 years." },
	{ "price_client1_smime", K_PRICE, O(price_client1), "2500,4500,6500",
	  0, 0, "client1_smime, 1-3 years." },
	{ "card_processor_command", K_STR, O(card_processor_command), "", 0, 0,
	  "Card payments: a command run with /bin/sh -c that reads one JSON\n"
	  "# request on stdin and writes one JSON answer on stdout (README,\n"
	  "# Billing).  Empty: card orders wait in waiting_funds.  The demo\n"
	  "# processor is scripts/demo-card-processor LEDGER-FILE." },
	{ "renew_before_days", K_INT, O(renew_before_days), "30", 1, 365,
	  "Reissue (within paid coverage) or renew (autoRenew) this many\n"
	  "# days before a certificate expires." },
	{ "renewal_notice_days", K_INT, O(renewal_notice_days), "14", 0, 365,
	  "A \"renewal due\" notice goes out this many days before an\n"
	  "# automatic renewal, so that leavers can be cancelled." },
	{ "metrics_file", K_STR, O(metrics_file), "", 0, 0,
	  "Prometheus metrics (text format) written atomically after the\n"
	  "# daemon's passes, e.g. for node_exporter's textfile collector:\n"
	  "# /var/lib/prometheus/node-exporter/certspool.prom; empty: none." },
	{ "metrics_interval_seconds", K_INT, O(metrics_interval_seconds), "15",
	  0, 3600,
	  "metrics_file is rewritten at most this often (0: after every\n"
	  "# pass); daemon --once writes it at its end." },
};

static int
set_value(struct conf *c, const struct key *k, const char *v, char *err,
    size_t errlen)
{
	void		*field = (char *)c + k->off;
	long long	 n;
	char		*end;

	switch (k->type) {
	case K_STR:
		break;
	case K_PATH:
		if (*v == '\0') {
			snprintf(err, errlen, "%s: empty path", k->name);
			return -1;
		}
		break;
	case K_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || *v == '\0' || *end != '\0' ||
		    n < k->min || n > k->max) {
			snprintf(err, errlen, "%s: \"%s\" is not a number "
			    "from %lld to %lld", k->name, v, k->min, k->max);
			return -1;
		}
		if (k->off == O(max_batch_bytes))
			c->max_batch_bytes = n;
		else
			*(int *)field = (int)n;
		return 0;
	case K_BOOL:
		if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
			*(int *)field = 1;
		else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
			*(int *)field = 0;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not on or off",
			    k->name, v);
			return -1;
		}
		return 0;
	case K_READY:
		if (strcmp(v, "settle") == 0)
			c->ready = READY_SETTLE;
		else if (strcmp(v, "marker") == 0)
			c->ready = READY_MARKER;
		else {
			snprintf(err, errlen, "ready: \"%s\" is not settle or "
			    "marker", v);
			return -1;
		}
		return 0;
	case K_LEVEL:
		if ((c->log_level = log_level_parse(v)) == -1) {
			snprintf(err, errlen, "log_level: \"%s\" is not error, "
			    "warning, info or debug", v);
			return -1;
		}
		return 0;
	case K_FORMAT:
		if (strcmp(v, "tar.gz") != 0 && strcmp(v, "zip") != 0) {
			snprintf(err, errlen, "archive_format: \"%s\" is not "
			    "tar.gz or zip", v);
			return -1;
		}
		break;
	case K_URL:
		if (*v != '\0' && (strncmp(v, "http://", 7) != 0 ||
		    strlen(v) < 8 || strpbrk(v, " \t\"<>") != NULL)) {
			snprintf(err, errlen, "%s: \"%s\" is not an http:// URL "
			    "(S/MIME BR 7.1.2.3: HTTP only)", k->name, v);
			return -1;
		}
		break;
	case K_PRICE: {
		long long	 p[PRICE_YEARS];

		if (price_parse(v, p) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not three prices "
			    "in cents (1, 2 and 3 years), e.g. 4900,8900,12900",
			    k->name, v);
			return -1;
		}
		break;
	}
	case K_P12:
		if (strcmp(v, "aes") != 0 && strcmp(v, "legacy") != 0) {
			snprintf(err, errlen, "p12_profile: \"%s\" is not aes "
			    "or legacy", v);
			return -1;
		}
		break;
	}
	if (k->type == K_STR && k->off == O(log) && strcmp(v, "stderr") != 0 &&
	    strcmp(v, "syslog") != 0 && strcmp(v, "journal") != 0) {
		snprintf(err, errlen, "log: \"%s\" is not stderr, syslog or "
		    "journal", v);
		return -1;
	}
	free(*(char **)field);
	*(char **)field = xstrdup(v);
	return 0;
}

/* Make a relative path absolute against the config file's directory. */
static void
resolve_path(struct conf *c, char **p)
{
	char	*abs;

	if ((*p)[0] == '/')
		return;
	abs = xcalloc(1, strlen(c->base_dir) + strlen(*p) + 2);
	sprintf(abs, "%s/%s", c->base_dir, *p);
	free(*p);
	*p = abs;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* crl_url and crl_shards agree: {shard} exactly once when there are
 * several shards, never when there is one; the last path segment (the
 * CRL's file name) is a safe name once {shard} is replaced. */
static int
conf_check_crl(const struct conf *c, char *err, size_t errlen)
{
	const char	*u = c->crl_url, *p, *seg;
	char		 name[160];
	size_t		 n;

	p = strstr(u, "{shard}");
	if (c->crl_shards > 1 && (p == NULL || strstr(p + 1, "{shard}"))) {
		snprintf(err, errlen, "%s: crl_shards = %d needs {shard} once "
		    "in crl_url", c->path, c->crl_shards);
		return -1;
	}
	if (c->crl_shards == 1 && p != NULL) {
		snprintf(err, errlen, "%s: crl_url has {shard} but crl_shards "
		    "is 1", c->path);
		return -1;
	}
	if (p != NULL && strchr(p, '/') != NULL) {
		snprintf(err, errlen, "%s: crl_url: {shard} must be in the "
		    "last path segment", c->path);
		return -1;
	}
	seg = strrchr(u + 7, '/');
	if (seg == NULL || seg[1] == '\0') {
		snprintf(err, errlen, "%s: crl_url \"%s\" names no file", c->path,
		    u);
		return -1;
	}
	seg++;
	n = p != NULL ? (size_t)(p - seg) : strlen(seg);
	snprintf(name, sizeof(name), "%.*s0%s", (int)n, seg,
	    p != NULL ? p + 7 : "");
	if (!valid_name(name) || strcmp(name, "issuing.cer") == 0) {
		snprintf(err, errlen, "%s: crl_url's file name \"%s\" is not a "
		    "safe file name ([A-Za-z0-9._-])", c->path, seg);
		return -1;
	}
	if (c->crl_validity_hours <= c->crl_refresh_hours) {
		snprintf(err, errlen, "%s: crl_validity_hours (%d) must exceed "
		    "crl_refresh_hours (%d)", c->path, c->crl_validity_hours,
		    c->crl_refresh_hours);
		return -1;
	}
	return 0;
}

/*
 * The portal's keys: web_listen is host:port ([v6]:port), web_base_url
 * an http(s) URL of a host and port without a path (the pages, forms and
 * assets use paths from the root; derived from web_listen when empty),
 * the TLS certificate and key given together.
 */
static int
conf_check_web(struct conf *c, char *err, size_t errlen)
{
	const char	*port, *u = c->web_base_url;
	size_t		 n;
	char		*end;
	long		 p;

	port = strrchr(c->web_listen, ':');
	if (port == NULL || port == c->web_listen ||
	    (p = strtol(port + 1, &end, 10)) < 1 || p > 65535 || *end != '\0') {
		snprintf(err, errlen, "%s: web_listen \"%s\" is not host:port",
		    c->path, c->web_listen);
		return -1;
	}
	if ((*c->web_tls_cert == '\0') != (*c->web_tls_key == '\0')) {
		snprintf(err, errlen, "%s: web_tls_cert and web_tls_key go "
		    "together", c->path);
		return -1;
	}
	if (*u == '\0') {
		free(c->web_base_url);
		n = strlen(c->web_listen) + 9;
		c->web_base_url = xcalloc(1, n);
		snprintf(c->web_base_url, n, "%s://%s", *c->web_tls_cert ?
		    "https" : "http", c->web_listen);
		return 0;
	}
	if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
	    strpbrk(u, " \t\"<>'\\?#") != NULL ||
	    strchr(strstr(u, "://") + 3, '/') != NULL ||
	    strstr(u, "://")[3] == '\0') {
		snprintf(err, errlen, "%s: web_base_url \"%s\" is not an http:// "
		    "or https:// URL of a host[:port] without a path (the "
		    "portal's pages are at the root)", c->path, u);
		return -1;
	}
	return 0;
}

/* ca_key: a file (relative to the config) or a pkcs11: URI, which
 * needs pkcs11_module. */
static int
conf_check_key(struct conf *c, char *err, size_t errlen)
{
	if (strncasecmp(c->ca_key, "pkcs11:", 7) == 0) {
		if (*c->pkcs11_module == '\0') {
			snprintf(err, errlen, "%s: ca_key is a PKCS#11 URI "
			    "but pkcs11_module is not set", c->path);
			return -1;
		}
	} else if (*c->ca_key != '\0')
		resolve_path(c, &c->ca_key);
	if (*c->pkcs11_module != '\0')
		resolve_path(c, &c->pkcs11_module);
	if (*c->pkcs11_pin_file != '\0')
		resolve_path(c, &c->pkcs11_pin_file);
	return 0;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf	*c;
	FILE		*f = NULL;
	char		 line[4096], e2[512], cwd[PATH_MAX], *slash;
	unsigned char	 seen[sizeof(keys) / sizeof(keys[0])] = { 0 };
	size_t		 i;
	int		 lineno = 0;

	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (set_value(c, &keys[i], keys[i].def, e2, sizeof(e2)) == -1)
			abort();
	if ((slash = strrchr(c->path, '/')) != NULL) {
		c->base_dir = xstrdup(c->path);
		c->base_dir[slash - c->path] = '\0';
		if (c->base_dir[0] == '\0') {
			free(c->base_dir);
			c->base_dir = xstrdup("/");
		}
	} else
		c->base_dir = xstrdup(".");
	if (c->base_dir[0] != '/') {
		char	*abs;

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "%s: getcwd: %s", path,
			    strerror(errno));
			goto bad;
		}
		abs = xcalloc(1, strlen(cwd) + strlen(c->base_dir) + 2);
		if (strcmp(c->base_dir, ".") == 0)
			sprintf(abs, "%s", cwd);
		else
			sprintf(abs, "%s/%s", cwd, c->base_dir);
		free(c->base_dir);
		c->base_dir = abs;
	}

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char	*s, *eq, *k, *v;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
			    lineno);
			goto bad;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    path, lineno);
			goto bad;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (v[0] == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(keys[i].name, k) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			snprintf(err, errlen, "%s:%d: unknown key \"%.64s\"",
			    path, lineno, k);
			goto bad;
		}
		if (seen[i]++) {
			snprintf(err, errlen, "%s:%d: %s given twice", path,
			    lineno, k);
			goto bad;
		}
		if (set_value(c, &keys[i], v, e2, sizeof(e2)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, e2);
			goto bad;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto bad;
	}
	fclose(f);
	resolve_path(c, &c->spool_dir);
	if (!store_is_uri(c->database))
		resolve_path(c, &c->database);
	resolve_path(c, &c->ca_dir);
	if (conf_check_key(c, err, errlen) == -1)
		goto bad2;
	resolve_path(c, &c->syslog_socket);
	resolve_path(c, &c->journal_socket);
	if (*c->web_tls_cert != '\0')
		resolve_path(c, &c->web_tls_cert);
	if (*c->web_tls_key != '\0')
		resolve_path(c, &c->web_tls_key);
	if (conf_check_web(c, err, errlen) == -1)
		goto bad2;
	if (*c->crl_dir == '\0') {
		free(c->crl_dir);
		c->crl_dir = xcalloc(1, strlen(c->spool_dir) + 5);
		sprintf(c->crl_dir, "%s/crl", c->spool_dir);
	} else
		resolve_path(c, &c->crl_dir);
	if (conf_check_crl(c, err, errlen) == -1)
		goto bad2;
	if (*c->metrics_file != '\0')
		resolve_path(c, &c->metrics_file);
	if (c->workers == 0) {
		long	 n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n > 0 ? (int)n : 1;
	}
	return c;
bad:
	if (f != NULL)
		fclose(f);
bad2:
	conf_free(c);
	return NULL;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		enum ktype t = keys[i].type;

		if (t == K_STR || t == K_PATH || t == K_FORMAT ||
		    t == K_URL || t == K_P12 || t == K_PRICE)
			free(*(char **)((char *)c + keys[i].off));
	}
	free(c->path);
	free(c->base_dir);
	free(c);
}

const char *
conf_log_socket(const struct conf *c)
{
	return strcmp(c->log, "journal") == 0 ? c->journal_socket :
	    c->syslog_socket;
}

char *
conf_default_text(const char *dir)
{
	struct buf	 b = { 0 };
	size_t		 i;

	(void)dir;
	buf_addf(&b, "# certspool.conf: key = value; '#' starts a comment.\n"
	    "# Every key is listed with its default.  Unknown keys are an "
	    "error.\n# Relative paths are relative to this file's directory.\n");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char	*v = keys[i].def;

		buf_addf(&b, "\n# %s\n", keys[i].help);
		if (keys[i].type == K_STR && (strchr(v, ' ') != NULL ||
		    *v == '\0'))
			buf_addf(&b, "%s = \"%s\"\n", keys[i].name, v);
		else
			buf_addf(&b, "%s = %s\n", keys[i].name, v);
	}
	return (char *)b.p;
}
