/*
 * t_core.c: unit tests of the configuration, file-system discipline,
 * store, clock and product table, linked from the real sources.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "extern.h"
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
	    NULL)) == 0 && v == 4, "schema version %lld", v);
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
	    " DROP INDEX certificate_stuck;"
	    " ALTER TABLE certificate DROP COLUMN stuck;"
	    " ALTER TABLE certificate DROP COLUMN stuck_detail;"
	    " ALTER TABLE certificate DROP COLUMN stuck_since;"
	    " PRAGMA user_version = 2") == 0, "back to version 2");
	store_close(st);
	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "version 2 opens: %s", err);
	if (st == NULL)
		return;
	T_CHECK(store_int(st, &v, -1, store_prep(st, "PRAGMA user_version",
	    NULL)) == 0 && v == 4, "migrated to version %lld", v);
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
	{
		char	 cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return t_done("t_core");
}
