/*
 * t_core.c: unit tests of the configuration, file-system discipline,
 * store, clock, product table and log lines, linked from the real
 * sources.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "extern.h"
#include "store_schema.h"
#include "batch.h"
#include "ca.h"
#include "store.h"
#include "t.h"

static char	 dir[] = "/tmp/certspool-core.XXXXXX";

static void
put(const char *name, const char *text)
{
	char	 p[512];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

static void
test_conf(void)
{
	struct conf	*c;
	char		 err[512], p[512], *text;

	snprintf(p, sizeof(p), "%s/a.conf", dir);
	text = conf_default_text(dir);
	put("a.conf", text);
	free(text);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c != NULL, "default config loads: %s", err);
	if (c != NULL) {
		char	 want[600];

		snprintf(want, sizeof(want), "%s/spool", dir);
		T_STREQ(c->spool_dir, want);
		T_CHECK(c->settle_seconds == 2, "settle default %d",
		    c->settle_seconds);
		T_CHECK(c->ready == READY_SETTLE, "ready default");
		T_CHECK(c->caa_check == 0, "caa_check default off");
		T_STREQ(c->archive_format, "tar.gz");
		T_CHECK(c->workers >= 1, "workers resolved");
		conf_free(c);
	}
	put("b.conf", "# comment\nspool_dir = /x/y\n\nbogus = 1\n");
	snprintf(p, sizeof(p), "%s/b.conf", dir);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c == NULL && strstr(err, ":4: unknown key \"bogus\"") != NULL,
	    "unknown key refused with line: %s", err);
	conf_free(c);
	put("c.conf", "poll_seconds = 1\npoll_seconds = 2\n");
	snprintf(p, sizeof(p), "%s/c.conf", dir);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c == NULL && strstr(err, "twice") != NULL, "duplicate: %s",
	    err);
	conf_free(c);
	put("d.conf", "crl_url = https://x/crl\n");
	snprintf(p, sizeof(p), "%s/d.conf", dir);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c == NULL && strstr(err, "http://") != NULL,
	    "https CRL URL refused: %s", err);
	conf_free(c);
	put("e.conf", "settle_seconds = -1\n");
	snprintf(p, sizeof(p), "%s/e.conf", dir);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c == NULL, "negative settle refused");
	conf_free(c);
	put("f.conf", "ready = marker\narchive_format = zip\nworkers = 3\n"
	    "sendmail_command = \"/usr/sbin/sendmail -t -i\"\n");
	snprintf(p, sizeof(p), "%s/f.conf", dir);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c != NULL, "f.conf loads: %s", err);
	if (c != NULL) {
		T_CHECK(c->ready == READY_MARKER, "marker");
		T_STREQ(c->archive_format, "zip");
		T_CHECK(c->workers == 3, "workers 3");
		T_STREQ(c->sendmail_command, "/usr/sbin/sendmail -t -i");
		conf_free(c);
	}
}

static void
test_fs(void)
{
	struct stat	 sb;
	char		 err[256], p[512], q[512];
	int		 dfd, fd;

	T_CHECK(valid_name("HR-2026.xml"), "plain name");
	T_CHECK(!valid_name(".hidden"), "dot name");
	T_CHECK(!valid_name(".."), "dotdot");
	T_CHECK(!valid_name("a/b"), "slash");
	T_CHECK(!valid_name("a\nb"), "newline");
	T_CHECK(!valid_name(""), "empty");
	T_CHECK(!valid_name("caf\xc3\xa9"), "non-ASCII");

	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	T_CHECK(fs_write_atomic(dfd, "out.txt", "hello", 5, 0644) == 0,
	    "atomic write");
	snprintf(p, sizeof(p), "%s/out.txt", dir);
	T_CHECK(stat(p, &sb) == 0 && sb.st_size == 5 &&
	    (sb.st_mode & 0777) == 0644, "published whole with its mode");
	fd = fs_open_untrusted(dfd, "out.txt", 100, &sb, err, sizeof(err));
	T_CHECK(fd >= 0, "regular file opens: %s", err);
	if (fd >= 0)
		close(fd);
	fd = fs_open_untrusted(dfd, "out.txt", 4, &sb, err, sizeof(err));
	T_CHECK(fd == -1 && strstr(err, "max_batch_bytes"), "size limit: %s",
	    err);
	snprintf(q, sizeof(q), "%s/link.txt", dir);
	symlink(p, q);
	fd = fs_open_untrusted(dfd, "link.txt", 100, &sb, err, sizeof(err));
	T_CHECK(fd == -1 && strstr(err, "symbolic link"), "symlink: %s", err);
	snprintf(q, sizeof(q), "%s/hard.txt", dir);
	link(p, q);
	fd = fs_open_untrusted(dfd, "hard.txt", 100, &sb, err, sizeof(err));
	T_CHECK(fd == -1 && strstr(err, "hard links"), "hard link: %s", err);
	snprintf(q, sizeof(q), "%s/fifo", dir);
	mkfifo(q, 0600);
	fd = fs_open_untrusted(dfd, "fifo", 100, &sb, err, sizeof(err));
	T_CHECK(fd == -1 && strstr(err, "regular"), "fifo: %s", err);
	snprintf(q, sizeof(q), "%s/sub.xml", dir);
	mkdir(q, 0700);
	fd = fs_open_untrusted(dfd, "sub.xml", 100, &sb, err, sizeof(err));
	T_CHECK(fd == -1, "directory refused: %s", err);
	{
		struct fs_tmp	 t;

		T_CHECK(fs_tmp_open(&t, dfd, "never.txt", 0644) == 0, "tmp");
		fs_write_all(t.fd, "x", 1);
		fs_tmp_abort(&t);
		snprintf(q, sizeof(q), "%s/never.txt", dir);
		T_CHECK(access(q, F_OK) == -1, "aborted file never appears");
	}
	close(dfd);
}

static void
test_store(void)
{
	struct store	*st;
	char		 err[256], p[512];
	long long	 v;

	snprintf(p, sizeof(p), "%s/t.db", dir);
	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "store opens: %s", err);
	if (st == NULL)
		return;
	T_CHECK(store_int(st, &v, -1, store_prep(st, "PRAGMA user_version",
	    NULL)) == 0 && v == STORE_SCHEMA_VERSION, "schema version %lld", v);
	T_CHECK(store_int(st, &v, -1, store_prep(st, "PRAGMA foreign_keys",
	    NULL)) == 0 && v == 1, "foreign keys on");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "PRAGMA synchronous",
	    NULL)) == 0 && v == 2, "synchronous FULL (%lld)", v);
	T_CHECK(store_event(st, "test", 0, 0, 0, "a", "b", "r", "d") == 0,
	    "event appended");
	T_CHECK(store_exec(st, "UPDATE event SET kind = 'x'") == -1,
	    "event update refused");
	T_CHECK(store_exec(st, "DELETE FROM event") == -1,
	    "event delete refused");
	T_CHECK(store_exec(st, "INSERT INTO orders (batch_id, ext_id, product,"
	    " sig_hash, vkind, agreement, state, updated) VALUES"
	    " (999, 'x', 'p', 'sha256', 1, 1, 'new', 0)") == -1,
	    "foreign key enforced");
	store_close(st);
	/* Re-open: the migration is idempotent. */
	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "store re-opens: %s", err);
	/* A version-2 database without the later indexes gets them. */
	T_CHECK(st != NULL && store_exec(st, "DROP INDEX certificate_recipient;"
	    " DROP INDEX certificate_signing; DROP INDEX ledger_card;"
	    " DROP TRIGGER org_request_code_erase;"
	    " ALTER TABLE org_request DROP COLUMN code;"
	    " DROP INDEX certificate_stuck;"
	    " ALTER TABLE certificate DROP COLUMN stuck;"
	    " ALTER TABLE certificate DROP COLUMN stuck_detail;"
	    " ALTER TABLE certificate DROP COLUMN stuck_since;"
	    " DROP TABLE node; DROP INDEX account_lease;"
	    " ALTER TABLE account DROP COLUMN lease_node;"
	    " DROP TABLE issuer;"
	    " DROP INDEX certificate_revoked;"
	    " ALTER TABLE certificate DROP COLUMN issuer_id;"
	    " ALTER TABLE certificate DROP COLUMN crl_shard;"
	    " ALTER TABLE certificate DROP COLUMN revoked_at;"
	    " ALTER TABLE certificate DROP COLUMN revoke_reason;"
	    " ALTER TABLE certificate DROP COLUMN invalidity_at;"
	    " DROP TABLE crl_shard_state;"
	    " DROP TABLE revoke_hit; DROP TABLE revoke_request;"
	    " DROP TABLE revocation_doc; DROP INDEX recipient_email_lower;"
	    " DROP TABLE portal_token; DROP INDEX certificate_p12_kept;"
	    " ALTER TABLE certificate DROP COLUMN p12_purged_at;"
	    " DROP TRIGGER orders_account; DROP TRIGGER recipient_account;"
	    " DROP INDEX orders_open; DROP INDEX recipient_approved;"
	    " DROP INDEX orders_unfinished; DROP INDEX orders_waiting;"
	    " ALTER TABLE orders DROP COLUMN account_id;"
	    " ALTER TABLE recipient DROP COLUMN account_id;"
	    " INSERT INTO account (id, name, created) VALUES (7, 'old', 0);"
	    " INSERT INTO batch (id, account_id, ext_id, sha256, file_name,"
	    "  received) VALUES (70, 7, 'B', 'h', 'f', 0);"
	    " INSERT INTO orders (id, batch_id, ext_id, product, sig_hash,"
	    "  vkind, agreement, state, updated) VALUES"
	    "  (700, 70, 'O', 'p', 'sha256', 1, 1, 'new', 0);"
	    " INSERT INTO recipient (order_id, idx, cn_type, email, state)"
	    "  VALUES (700, 0, 0, 'a@b.example', 'approved');"
	    " PRAGMA user_version = 2") == 0, "back to version 2");
	store_close(st);
	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "version 2 opens: %s", err);
	if (st == NULL)
		return;
	T_CHECK(store_int(st, &v, -1, store_prep(st, "PRAGMA user_version",
	    NULL)) == 0 && v == STORE_SCHEMA_VERSION, "migrated to version %lld",
	    v);
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " orders o JOIN recipient r ON r.order_id = o.id WHERE"
	    " o.account_id = 7 AND r.account_id = 7", NULL)) == 0 && v == 1,
	    "version 8: account of old orders and recipients filled in");
	T_CHECK(store_exec(st, "INSERT INTO orders (id, batch_id, ext_id,"
	    " product, sig_hash, vkind, agreement, state, updated) VALUES"
	    " (701, 70, 'O2', 'p', 'sha256', 1, 1, 'new', 0);"
	    " INSERT INTO recipient (order_id, idx, cn_type, email, state)"
	    " VALUES (701, 0, 0, 'c@b.example', 'new')") == 0 &&
	    store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " orders o JOIN recipient r ON r.order_id = o.id WHERE"
	    " o.id = 701 AND o.account_id = 7 AND r.account_id = 7", NULL)) ==
	    0 && v == 1, "version 8: a row inserted without its account gets it");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " sqlite_master WHERE name IN ('portal_token',"
	    " 'certificate_p12_kept')", NULL)) == 0 && v == 2,
	    "version 6: portal_token and certificate_p12_kept");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " pragma_table_info('certificate') WHERE name = 'p12_purged_at'",
	    NULL)) == 0 && v == 1, "version 6: certificate.p12_purged_at");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " pragma_table_info('certificate') WHERE name IN ('crl_shard',"
	    " 'revoked_at', 'revoke_reason', 'invalidity_at')",
	    NULL)) == 0 && v == 4, "version 5: certificate revocation columns");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " sqlite_master WHERE type = 'table' AND name IN"
	    " ('revocation_doc', 'revoke_request', 'revoke_hit')", NULL)) ==
	    0 && v == 3, "version 5: revocation document tables");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " pragma_table_info('org_request') WHERE name = 'code'",
	    NULL)) == 0 && v == 1, "version 4: org_request.code");
	T_CHECK(store_int(st, &v, -1, store_prep(st, "SELECT count(*) FROM"
	    " sqlite_master WHERE type = 'index' AND name IN"
	    " ('certificate_recipient', 'certificate_signing',"
	    " 'ledger_card')", NULL)) == 0 && v == 3,
	    "version 3 indexes: %lld of 3", v);
	store_close(st);
}

static void
test_clock(void)
{
	time_t	 t, now = time(NULL);
	char	 buf[32];

	setenv("CERTSPOOL_NOW", "2030-01-02T03:04:05Z", 1);
	t = clock_now();
	time_fmt(t, buf, sizeof(buf));
	T_STREQ(buf, "2030-01-02T03:04:05Z");
	setenv("CERTSPOOL_NOW", "+86400", 1);
	T_CHECK(clock_now() - now >= 86400 && clock_now() - now < 86460,
	    "offset clock");
	unsetenv("CERTSPOOL_NOW");
	T_CHECK(clock_now() - now < 60, "real clock");
	T_CHECK(time_parse("2027-12-31", &t) == 0, "date parses");
	time_fmt(t, buf, sizeof(buf));
	T_STREQ(buf, "2027-12-31T00:00:00Z");
	T_CHECK(time_parse("2027-12-31T10:00:00", &t) == -1, "no Z refused");
}

static void
test_products(void)
{
	const struct product	*p;
	char			 oid[64];

	p = product_find("secure_email_business");
	T_CHECK(p != NULL && p->vtype == VT_SPONSOR && p->gen == GEN_STRICT,
	    "business is sponsor strict");
	product_policy_oid(p, oid, sizeof(oid));
	T_STREQ(oid, "2.23.140.1.5.3.3");
	p = product_find("premium");
	T_CHECK(p != NULL && p->client_auth && p->gen == GEN_MULTIPURPOSE,
	    "premium multipurpose with client auth");
	p = product_find("digital_signature_plus");
	T_CHECK(p != NULL && p->sign_only, "signing only");
	p = product_find("client1_smime");
	T_CHECK(p != NULL && p->vtype == VT_MAILBOX, "client1 mailbox");
	T_CHECK(product_find("legacy_thing") == NULL, "unknown product");
}

/* Run fn with stderr sent to a file; its text in out. */
static void
capture(void (*fn)(void), char *out, size_t len)
{
	char	 p[512];
	int	 fd, save;
	ssize_t	 n;

	snprintf(p, sizeof(p), "%s/stderr.txt", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	save = dup(2);
	dup2(fd, 2);
	fn();
	dup2(save, 2);
	close(save);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

static int
matches(const char *re, const char *s)
{
	regex_t	 r;
	int	 ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE) != 0)
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void
log_plain(void)
{
	log_ctx_clear();
	log_err("disk %s", "full");
}

static void
log_hostile(void)
{
	log_ctx_set("acme", "HR-1", "EMP-1001", "jane@acme.example");
	log_ctx_put(LOGK_FILE, "a b\"c\n2026-01-01T00:00:00.000Z x");
	log_warn("name \"%s\"", "x\r\nforged: error: y\033[31m\xff"
	    "\xc2\x85\xe2\x80\xa8 caf\xc3\xa9");
	log_ctx_clear();
}

static void
log_debug_dropped(void)
{
	log_debug("not shown");
}

static struct log_progress	 pg;

static void
progress_quiet(void)
{
	log_info("a line just now");
	log_progress_begin(&pg, "signing", "certificates", 2000);
	log_progress_tick(&pg, 10);	/* a line was logged < 5 s ago */
	log_progress_end(&pg, 10, 0);	/* fewer than LOG_PROGRESS_MANY */
	log_progress_begin(&pg, "evaluation", "orders", 0);
	log_progress_end(&pg, 5000, 1);	/* quiet, no progress line */
}

static void
progress_due(void)
{
	log_progress_begin(&pg, "signing", "certificates", 2000);
	pg.interval_ms = 0;		/* as if 5 s had passed in silence */
	log_progress_tick(&pg, 500);
	log_progress_end(&pg, 2000, 1);
	log_progress_begin(&pg, "intake", "orders", 0);
	pg.interval_ms = 0;
	log_progress_tick(&pg, 7);
	log_progress_begin(&pg, "publishing", "certificates", 1500);
	log_progress_end(&pg, 1500, 0);
}

static void
test_log(void)
{
	char			 out[8192], err[256], p[512], got[1024];
	struct sockaddr_un	 sun;
	int			 rfd;
	ssize_t			 n;
	const char		*ts = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z certspool: ";

	T_CHECK(log_open("stderr", LOGL_INFO, NULL, err, sizeof(err)) == 0,
	    "stderr opens");
	capture(log_plain, out, sizeof(out));
	snprintf(p, sizeof(p), "%serror: disk full\n$", ts);
	T_CHECK(matches(p, out), "plain line: %s", out);

	capture(log_hostile, out, sizeof(out));
	T_CHECK(strchr(out, '\n') == out + strlen(out) - 1,
	    "one line whatever the input: %s", out);
	T_CHECK(strchr(out, '\r') == NULL && strchr(out, '\033') == NULL,
	    "no raw CR or ESC: %s", out);
	T_CHECK(strstr(out, "x\\x0d\\x0aforged: error: y\\x1b[31m\\xff"
	    "\\xc2\\x85\\xe2\\x80\\xa8 caf\xc3\xa9\"") != NULL,
	    "controls, bad UTF-8, C1, U+2028 escaped, UTF-8 kept: %s", out);
	T_CHECK(strstr(out, "\" account=acme file=\"a b\\\"c\\x0a"
	    "2026-01-01T00:00:00.000Z x\" batch=HR-1 order=EMP-1001 "
	    "recipient=jane@acme.example\n") != NULL,
	    "context appended, odd value quoted: %s", out);
	snprintf(p, sizeof(p), "%swarning: ", ts);
	T_CHECK(matches(p, out), "warning line: %s", out);

	capture(log_debug_dropped, out, sizeof(out));
	T_STREQ(out, "");

	setenv("CERTSPOOL_NOW", "2030-01-02T03:04:05Z", 1);
	capture(log_plain, out, sizeof(out));
	unsetenv("CERTSPOOL_NOW");
	T_CHECK(matches("^2030-01-02T03:04:05\\.[0-9]{3}Z ", out),
	    "time from clock_now(): %s", out);

	capture(progress_quiet, out, sizeof(out));
	T_CHECK(strstr(out, "signing") == NULL &&
	    strstr(out, "evaluation") == NULL, "no progress line: %s", out);
	capture(progress_due, out, sizeof(out));
	T_CHECK(matches("Z certspool: info: signing: 500/2000 certificates "
	    "\\(25%\\), [0-9]+/s, [0-9.]+ s so far$", out), "tick: %s", out);
	T_CHECK(matches("Z certspool: info: signing: 2000/2000 certificates "
	    "done in [0-9.]+ s, [0-9]+/s$", out), "end after ticks: %s", out);
	T_CHECK(matches("Z certspool: info: intake: 7 orders, [0-9]+/s, "
	    "[0-9.]+ s so far$", out), "tick, total unknown: %s", out);
	T_CHECK(matches("Z certspool: info: publishing: 1500/1500 "
	    "certificates done in ", out), "end of a large phase: %s", out);

	/* syslog: a missing socket is an error, the target stays stderr */
	snprintf(p, sizeof(p), "%s/no-such-log", dir);
	T_CHECK(log_open("syslog", LOGL_INFO, p, err, sizeof(err)) == -1,
	    "missing syslog socket refused");
	T_CHECK(strstr(err, p) != NULL && strstr(err, "No such file") != NULL,
	    "error names the socket: %s", err);
	T_CHECK(log_check("syslog", p, err, sizeof(err)) == -1, "log_check");
	capture(log_plain, out, sizeof(out));
	T_CHECK(matches("Z certspool: error: disk full", out),
	    "still on stderr: %s", out);

	/* syslog over a socket of our own */
	snprintf(p, sizeof(p), "%s/log.sock", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(p) < sizeof(sun.sun_path))
		memcpy(sun.sun_path, p, strlen(p));
	rfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	T_CHECK(bind(rfd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "bind");
	T_CHECK(log_open("syslog", LOGL_INFO, p, err, sizeof(err)) == 0,
	    "syslog opens: %s", err);
	capture(log_hostile, out, sizeof(out));
	T_STREQ(out, "");
	n = recv(rfd, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[n > 0 ? n : 0] = '\0';
	snprintf(p, sizeof(p), "^<28>certspool\\[%ld\\]: warning: name ",
	    (long)getpid());
	T_CHECK(matches(p, got), "syslog message: %s", got);
	T_CHECK(strstr(got, " recipient=jane@acme.example") != NULL &&
	    strchr(got, '\n') == NULL, "syslog context, one line: %s", got);
	/* syslog gone: the line goes to stderr, not nowhere */
	close(rfd);
	snprintf(p, sizeof(p), "%s/log.sock", dir);
	unlink(p);
	capture(log_plain, out, sizeof(out));
	T_CHECK(matches("Z certspool: error: disk full", out),
	    "syslog gone: stderr: %s", out);
	log_open("stderr", LOGL_ERR, NULL, err, sizeof(err));
}

/* The URL rule of a rollover's issuer N (issuer.c, README: Issuing CA
 * rollover). */
static void
test_issuer_url(void)
{
	char	 b[128];

	T_CHECK(issuer_url("http://c.example/issuing.crl", 1, b, sizeof(b)) ==
	    0 && strcmp(b, "http://c.example/issuing.crl") == 0, "n 1: %s", b);
	T_CHECK(issuer_url("http://c.example/issuing.crl", 2, b, sizeof(b)) ==
	    0 && strcmp(b, "http://c.example/issuing-2.crl") == 0, "n 2: %s",
	    b);
	T_CHECK(issuer_url("http://c.example/crl/issuing-{shard}.crl", 12, b,
	    sizeof(b)) == 0 && strcmp(b,
	    "http://c.example/crl/issuing-{shard}-12.crl") == 0, "shard: %s", b);
	T_CHECK(issuer_url("http://c.v1.example/crl", 3, b, sizeof(b)) == 0 &&
	    strcmp(b, "http://c.v1.example/crl-3") == 0, "no extension: %s",
	    b);
	T_CHECK(issuer_url("http://c.example/issuing.crl", 2, b, 20) == -1,
	    "too long");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	log_init("stderr", LOGL_ERR);
	test_conf();
	test_fs();
	test_store();
	test_clock();
	test_products();
	test_log();
	test_issuer_url();
	{
		char	 cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return t_done("t_core");
}
