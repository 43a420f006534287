/*
 * doctor.c: certspool doctor, a read-only check of a deployment before
 * (or while) the daemon runs: the config loads; the spool tree, the
 * database and the CA key file have the owners and modes they need; the
 * file systems of the spool and the database have room; the CA chain
 * verifies to its root now; the signer process starts with the CA key
 * and its signature verifies with ca.pem's public key; the mail command
 * exists; the resolver answers; and the demo-only settings in force
 * (demo_settings.c).  One line per check, "ok|warning|problem NAME:
 * detail", or one JSON document.
 * Failure policy: every failure is a line of the report, never an early
 * exit, except a config that does not load (nothing else can be
 * checked).  Nothing is created or changed: an SQLite database is only
 * stat(2)ed, a PostgreSQL one only connected to and its schema version
 * read, and the test signature is discarded.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


#include "extern.h"
#include "batch.h"
#include "cmd.h"
#include "dns.h"
#include "doctor.h"
#include "doctor_local.h"
#include "issuer.h"

#define DNS_T_SOA	6

/* Free space: a problem under DISK_MIN_BYTES or DISK_PROBLEM_PCT percent
 * of the file system (blocks or inodes), a warning under DISK_WARN_PCT. */
#define DISK_MIN_BYTES		(1024ULL * 1024 * 1024)
#define DISK_PROBLEM_PCT	5
#define DISK_WARN_PCT		10
static const char *const status_names[] = { "ok", "warning", "problem" };

void
doctor_add(struct report *r, const char *name, enum status st,
    const char *fmt, ...)
{
	struct check	*c;
	va_list		 ap;

	r->v = reallocarray(r->v, r->n + 1, sizeof(*r->v));
	if (r->v == NULL)
		abort();
	c = &r->v[r->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/* Findings of one check: the worst status and the first few sentences. */
struct findings {
	enum status	 worst;
	int		 n;
	struct buf	 text;
};

static void
note(struct findings *f, enum status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct findings *f, enum status st, const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;

	if (st > f->worst) {
		/* the worst comes first: start the text again */
		buf_free(&f->text);
		f->n = 0;
		f->worst = st;
	} else if (st < f->worst)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (f->n < 3)
		buf_addf(&f->text, "%s%s", f->n ? "; " : "", line);
	else if (f->n == 3)
		buf_addf(&f->text, "; ...");
	f->n++;
}

static void
add_findings(struct report *r, const char *name, struct findings *f,
    const char *okmsg)
{
	if (f->worst == ST_OK)
		doctor_add(r, name, ST_OK, "%s", okmsg);
	else
		doctor_add(r, name, f->worst, "%.*s", (int)f->text.len,
		    f->text.p != NULL ? (char *)f->text.p : "");
	buf_free(&f->text);
}

/* ---- permissions ---- */

/* One spool directory: exists, ours to write, not writable by others
 * (group-writable only under inbound/, where SFTP users upload). */
static void
check_dir(struct findings *f, const char *path, int group_ok)
{
	struct stat	 sb;

	if (lstat(path, &sb) == -1) {
		note(f, ST_PROBLEM, "%s: %s", path, strerror(errno));
		return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		note(f, ST_PROBLEM, "%s: not a directory", path);
		return;
	}
	if (access(path, W_OK | X_OK) == -1)
		note(f, ST_PROBLEM, "%s: not writable by uid %d: %s", path,
		    (int)geteuid(), strerror(errno));
	if (sb.st_mode & S_IWOTH)
		note(f, ST_PROBLEM, "%s: mode %04o: writable by everyone",
		    path, (unsigned)(sb.st_mode & 07777));
	else if ((sb.st_mode & S_IWGRP) && !group_ok)
		note(f, ST_PROBLEM, "%s: mode %04o: group-writable (only "
		    "inbound/ needs that)", path,
		    (unsigned)(sb.st_mode & 07777));
}

static void
check_spool(struct report *r, const struct conf *c)
{
	static const char *const tree[] = { "inbound", "work", "archive",
	    "rejected", "outbound", "mail" };
	struct findings	 f = { 0 };
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX], sub[PATH_MAX];
	size_t		 i;
	int		 inbound;

	check_dir(&f, c->spool_dir, 0);
	for (i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		inbound = strcmp(tree[i], "inbound") == 0;
		snprintf(path, sizeof(path), "%s/%s", c->spool_dir, tree[i]);
		check_dir(&f, path, inbound);
		if ((d = opendir(path)) == NULL)
			continue;
		/* the accounts' directories */
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || de->d_type != DT_DIR)
				continue;
			if (snprintf(sub, sizeof(sub), "%s/%s", path,
			    de->d_name) < (int)sizeof(sub))
				check_dir(&f, sub, inbound);
		}
		closedir(d);
	}
	if (access(c->crl_dir, F_OK) == 0)
		check_dir(&f, c->crl_dir, 0);
	snprintf(path, sizeof(path), "%s: the tree is there, writable, and "
	    "writable by no one else", c->spool_dir);
	add_findings(r, "spool", &f, path);
}

/* The directory part of path into buf. */
static void
dir_of(const char *path, char *buf, size_t len)
{
	const char	*s = strrchr(path, '/');

	if (s == NULL)
		snprintf(buf, len, ".");
	else if (s == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(s - path), path);
}

/* A URI as it may be shown: a password in it replaced by "***". */
static void
uri_shown(const char *uri, char *buf, size_t len)
{
	const char	*u, *at, *colon;

	snprintf(buf, len, "%s", uri);
	if ((u = strstr(uri, "://")) == NULL)
		return;
	u += 3;
	at = strchr(u, '@');
	colon = strchr(u, ':');
	if (at == NULL || colon == NULL || colon > at ||
	    strcspn(u, "/?") < (size_t)(at - u))
		return;
	snprintf(buf, len, "%.*s***%s", (int)(colon + 1 - uri), uri, at);
}

/*
 * A database on a server (PostgreSQL): it answers, and its schema is
 * this program's (an older one is migrated by certspool db migrate or
 * the daemon's start; a newer one is a newer program's).  Its files,
 * modes and disk are the server's business.
 */
static void
check_database_server(struct report *r, const struct conf *c)
{
	char	 shown[1024], err[512];
	int	 v, cur;

	uri_shown(c->database, shown, sizeof(shown));
	if (store_probe(c->database, &v, &cur, err, sizeof(err)) == -1)
		doctor_add(r, "database", ST_PROBLEM, "%s: %s", shown, err);
	else if (v == 0)
		doctor_add(r, "database", ST_PROBLEM, "%s: connects, but has "
		    "no certspool schema (certspool init --database creates "
		    "it)", shown);
	else if (v < cur)
		doctor_add(r, "database", ST_PROBLEM, "%s: schema version %d, "
		    "this program's is %d (certspool db migrate)", shown, v,
		    cur);
	else if (v > cur)
		doctor_add(r, "database", ST_PROBLEM, "%s: schema version %d "
		    "is newer than this program's %d", shown, v, cur);
	else
		doctor_add(r, "database", ST_OK, "%s: connects, schema "
		    "version %d", shown, v);
}

static void
check_database(struct report *r, const struct conf *c)
{
	struct findings	 f = { 0 };
	struct stat	 sb;
	char		 dir[PATH_MAX], ok[PATH_MAX + 64];

	if (store_is_uri(c->database)) {
		check_database_server(r, c);
		return;
	}
	memset(&sb, 0, sizeof(sb));
	dir_of(c->database, dir, sizeof(dir));
	if (lstat(c->database, &sb) == -1)
		note(&f, ST_PROBLEM, "%s: %s (certspool init creates it)",
		    c->database, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		note(&f, ST_PROBLEM, "%s: not a regular file", c->database);
	else {
		if (access(c->database, R_OK | W_OK) == -1)
			note(&f, ST_PROBLEM, "%s: not readable and writable "
			    "by uid %d: %s", c->database, (int)geteuid(),
			    strerror(errno));
		if (sb.st_mode & (S_IROTH | S_IWOTH))
			note(&f, ST_PROBLEM, "%s: mode %04o: readable by "
			    "everyone (it holds orders, tokens and "
			    "encrypted keys); chmod o-rwx", c->database,
			    (unsigned)(sb.st_mode & 07777));
		else if (sb.st_mode & S_IWGRP)
			note(&f, ST_PROBLEM, "%s: mode %04o: group-writable",
			    c->database, (unsigned)(sb.st_mode & 07777));
	}
	/* SQLite writes its journal beside the database. */
	if (access(dir, W_OK | X_OK) == -1)
		note(&f, ST_PROBLEM, "%s: the database's directory is not "
		    "writable: %s", dir, strerror(errno));
	snprintf(ok, sizeof(ok), "%s: mode %04o, uid %d", c->database,
	    (unsigned)(sb.st_mode & 07777), (int)sb.st_uid);
	add_findings(r, "database", &f, ok);
}

/*
 * Who must own the secrets: the user running doctor, who should be the
 * daemon's; when that is root, the owner of the database (the daemon's
 * user, who made it).
 */
static uid_t
key_owner(const struct conf *c, const char **who)
{
	struct stat	 sb;

	*who = "the user running certspool doctor";
	if (geteuid() == 0 && stat(c->database, &sb) == 0) {
		*who = "the database's owner";
		return sb.st_uid;
	}
	return geteuid();
}

/* A secret file (the CA key, the PIN file): owner's, mode 0600 or 0400. */
static void
check_secret(struct findings *f, const struct conf *c, const char *path,
    const char *what)
{
	struct stat	 sb;
	const char	*who;
	uid_t		 uid = key_owner(c, &who);

	if (lstat(path, &sb) == -1) {
		note(f, ST_PROBLEM, "%s %s: %s", what, path, strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode))
		note(f, ST_PROBLEM, "%s %s: not a regular file", what, path);
	else if (sb.st_mode & 077)
		note(f, ST_PROBLEM, "%s %s: mode %04o: must be 0600", what,
		    path, (unsigned)(sb.st_mode & 07777));
	if (sb.st_uid != uid)
		note(f, ST_PROBLEM, "%s %s: owned by uid %d, not by uid %d (%s)",
		    what, path, (int)sb.st_uid, (int)uid, who);
}

static void
check_key_file(struct report *r, const struct conf *c)
{
	struct findings	 f = { 0 };
	struct stat	 sb;
	const char	*who;
	char		 path[PATH_MAX], ok[PATH_MAX + 64];

	if (lstat(c->ca_dir, &sb) == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH)))
		note(&f, ST_PROBLEM, "%s: mode %04o: others may replace the CA "
		    "files", c->ca_dir, (unsigned)(sb.st_mode & 07777));
	if (strncasecmp(c->ca_key, "pkcs11:", 7) == 0) {
		if (*c->pkcs11_pin_file != '\0')
			check_secret(&f, c, c->pkcs11_pin_file, "PIN file");
		add_findings(r, "ca_key_file", &f,
		    "the CA key is in a PKCS#11 token (ca_key = pkcs11:...)");
		return;
	}
	if (issuer_keyfile(c, path, sizeof(path)) == -1) {
		note(&f, ST_PROBLEM, "the key's path is too long");
		add_findings(r, "ca_key_file", &f, "");
		return;
	}
	check_secret(&f, c, path, "CA key");
	snprintf(ok, sizeof(ok), "%s: mode 0600 or stricter, owned by uid %d",
	    path, (int)key_owner(c, &who));
	add_findings(r, "ca_key_file", &f, ok);
}

/* ---- free disk ---- */

static void
check_disk(struct report *r, const char *name, const char *path)
{
	struct statvfs	 sv;
	unsigned long long free_b, total_b;
	double		 pct, ipct = 100;
	enum status	 st = ST_OK;

	if (statvfs(path, &sv) == -1) {
		doctor_add(r, name, ST_PROBLEM, "%s: statvfs: %s", path,
		    strerror(errno));
		return;
	}
	free_b = (unsigned long long)sv.f_bavail * sv.f_frsize;
	total_b = (unsigned long long)sv.f_blocks * sv.f_frsize;
	pct = total_b ? 100.0 * (double)free_b / (double)total_b : 0;
	if (sv.f_files > 0)
		ipct = 100.0 * (double)sv.f_favail / (double)sv.f_files;
	if (free_b < DISK_MIN_BYTES || pct < DISK_PROBLEM_PCT ||
	    ipct < DISK_PROBLEM_PCT)
		st = ST_PROBLEM;
	else if (pct < DISK_WARN_PCT || ipct < DISK_WARN_PCT)
		st = ST_WARNING;
	doctor_add(r, name, st, "%s: %.2f GiB free of %.2f GiB (%.1f%%), %.1f%% of "
	    "inodes free%s", path, (double)free_b / (1 << 30),
	    (double)total_b / (1 << 30), pct, ipct, st == ST_OK ? "" :
	    st == ST_PROBLEM ? "; needs at least 1 GiB and 5% free" :
	    "; under 10% free");
}

/* ---- the mail command ---- */

/* The program of a /bin/sh -c command: its first word after any
 * "exec" and VAR=value words; into buf, "" if none. */
static void
first_program(const char *cmd, char *buf, size_t len)
{
	const char	*p = cmd, *e;

	buf[0] = '\0';
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return;
		e = p + strcspn(p, " \t");
		snprintf(buf, len, "%.*s", (int)(e - p), p);
		if (strcmp(buf, "exec") != 0 && (strchr(buf, '=') == NULL ||
		    strchr(buf, '/') != NULL))
			return;
		p = e;
	}
}

/* The file that runs as prog: itself with a '/', else found in PATH. */
static int
find_program(const char *prog, char *out, size_t len)
{
	const char	*path = getenv("PATH"), *p, *e;

	if (strchr(prog, '/') != NULL) {
		snprintf(out, len, "%s", prog);
		return access(out, X_OK);
	}
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ":");
		snprintf(out, len, "%.*s/%s", (int)(e - p), p, prog);
		if (e > p && access(out, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return -1;
}

static void
check_mta(struct report *r, const struct conf *c)
{
	struct stat	 sb;
	char		 prog[PATH_MAX], file[PATH_MAX];

	if (*c->sendmail_command == '\0')
		return;		/* a demo setting: reported with those */
	first_program(c->sendmail_command, prog, sizeof(prog));
	if (prog[0] == '\0')
		doctor_add(r, "mta", ST_PROBLEM, "sendmail_command names no program");
	else if (find_program(prog, file, sizeof(file)) == -1)
		doctor_add(r, "mta", ST_PROBLEM, "sendmail_command: %s: %s", prog,
		    strerror(errno));
	else if (stat(file, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    !(sb.st_mode & 0111))
		doctor_add(r, "mta", ST_PROBLEM, "sendmail_command: %s is not an "
		    "executable file", file);
	else
		doctor_add(r, "mta", ST_OK, "sendmail_command runs %s", file);
}

/* ---- the resolver ---- */

static void
check_resolver(struct report *r, const struct conf *c)
{
	struct dns_resolver	 res;
	struct dns_answer	 ans;
	const char		*item;
	char			 name[DNS_NAME_MAX + 1], err[256];
	size_t			 n;
	long long		 t0;

	list_item(c->caa_identities, &item, &n);
	if (n == 0 || n > DNS_NAME_MAX)
		snprintf(name, sizeof(name), "invalid");
	else
		snprintf(name, sizeof(name), "%.*s", (int)n, item);
	if (dns_resolver_init(&res, c->dns_resolver, c->dns_timeout_seconds,
	    err, sizeof(err)) == -1) {
		doctor_add(r, "resolver", ST_PROBLEM, "dns_resolver = %s: %s",
		    c->dns_resolver, err);
		return;
	}
	memset(&ans, 0, sizeof(ans));
	t0 = mono_ms();
	if (dns_query(&res, name, DNS_T_SOA, &ans) == 0)
		doctor_add(r, "resolver", ST_OK, "%s (dns_resolver = %s) answered "
		    "SOA %s in %lld ms: %s", res.desc, c->dns_resolver, name,
		    mono_ms() - t0, dns_status_str(ans.status));
	else if (ans.status == DNS_TIMEOUT)
		doctor_add(r, "resolver", ST_PROBLEM, "%s (dns_resolver = %s): no "
		    "answer to SOA %s within %d s (dns_timeout_seconds)",
		    res.desc, c->dns_resolver, name, c->dns_timeout_seconds);
	else
		doctor_add(r, "resolver", ST_PROBLEM, "%s (dns_resolver = %s): SOA %s "
		    "failed: %s: %s", res.desc, c->dns_resolver, name,
		    dns_status_str(ans.status), ans.err);
	dns_answer_free(&ans);
}

/* ---- the report ---- */

static void
check_demo(struct report *r, const struct conf *c)
{
	struct demo_setting	 v[DEMO_SETTINGS_MAX];
	size_t			 i, n;

	n = demo_settings(c, v);
	for (i = 0; i < n; i++) {
		/* with a sendmail_command the mta check has its line */
		if (!v[i].in_force && strcmp(v[i].name, "mta") == 0)
			continue;
		doctor_add(r, v[i].name, v[i].in_force ? ST_WARNING : ST_OK, "%s",
		    v[i].text);
	}
}

static void
print_report(const struct report *r, int json, int problems, int warnings)
{
	struct buf	 b = { 0 };
	size_t		 i;

	if (!json) {
		for (i = 0; i < r->n; i++)
			printf("%s %s: %s\n", status_names[r->v[i].status],
			    r->v[i].name, r->v[i].detail);
		fflush(stdout);
		return;
	}
	buf_addf(&b, "{\"checks\": [");
	for (i = 0; i < r->n; i++) {
		buf_addf(&b, "%s\n  {\"name\": ", i ? "," : "");
		buf_json(&b, r->v[i].name);
		buf_addf(&b, ", \"status\": \"%s\", \"detail\": ",
		    status_names[r->v[i].status]);
		buf_json(&b, r->v[i].detail);
		buf_addf(&b, "}");
	}
	buf_addf(&b, "],\n \"problems\": %d, \"warnings\": %d}\n", problems,
	    warnings);
	fwrite(b.p, 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
}

int
cmd_doctor(const char *confpath, int argc, char **argv)
{
	struct report	 r = { 0 };
	struct conf	*c;
	X509		*cert = NULL;
	char		 err[512], dir[PATH_MAX];
	int		 i, json = 0, strict = 0, problems = 0, warnings = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--strict") == 0)
			strict = 1;
		else
			return cli_err("usage: certspool doctor [--json] "
			    "[--strict]");
	}
	/* The signer's own complaints are in the report: log errors only. */
	log_init("stderr", LOGL_ERR);
	if ((c = conf_load(confpath, err, sizeof(err))) == NULL)
		doctor_add(&r, "config", ST_PROBLEM, "%s", err);
	else if (log_check(c->log, c->syslog_socket, err, sizeof(err)) == -1)
		doctor_add(&r, "config", ST_PROBLEM, "%s: %s", c->path, err);
	else
		doctor_add(&r, "config", ST_OK, "%s loads", c->path);
	if (c != NULL) {
		check_spool(&r, c);
		check_database(&r, c);
		check_key_file(&r, c);
		check_disk(&r, "disk_spool", c->spool_dir);
		if (!store_is_uri(c->database)) {
			dir_of(c->database, dir, sizeof(dir));
			check_disk(&r, "disk_database", dir);
		}
		doctor_check_chain(&r, c, &cert);
		doctor_check_key(&r, c, cert);
		check_mta(&r, c);
		check_resolver(&r, c);
		check_demo(&r, c);
	}
	for (i = 0; i < (int)r.n; i++) {
		problems += r.v[i].status == ST_PROBLEM;
		warnings += r.v[i].status == ST_WARNING;
	}
	print_report(&r, json, problems, warnings);
	X509_free(cert);
	conf_free(c);
	free(r.v);
	return problems > 0 || (strict && warnings > 0) ? 1 : 0;
}
