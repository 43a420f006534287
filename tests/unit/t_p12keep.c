/*
 * t_p12keep: the PKCS#12 retention purge (p12keep.c) over a real store:
 * a backlog of several chunks purged in one call, the boundary of
 * p12_retention_days, the password erased with it, one event per purge
 * with reason retention, a PKCS#12 purged before left as it was, and a
 * second run that finds nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "store.h"
#include "t.h"

#define DAY	86400LL
#define OLD	1201	/* more than two chunks of 500 */

static long long
count(struct store *st, const char *sql)
{
	long long	 v = -1;

	if (store_int(st, &v, -1, store_prep(st, sql, NULL)) == -1)
		return -1;
	return v;
}

/* n certificates of recipient rid made at created; p12 kept or not. */
static void
fill(struct store *st, long long rid, int n, long long created, int kept,
    int tag)
{
	char	 serial[41];
	int	 i;

	store_begin(st);
	for (i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "%02X%038d", tag, i);
		if (store_done(st, store_prep(st, "INSERT INTO certificate"
		    " (recipient_id, round, serial, state, tbs, not_before,"
		    " not_after, spki_sha256, created, p12, p12_password,"
		    " p12_purged_at) VALUES (?, ?, ?, 'issued', x'00', 0, 0,"
		    " 'x', ?, CASE WHEN ? THEN x'3082' END, CASE WHEN ? THEN"
		    " 'pw' END, CASE WHEN ? THEN NULL ELSE 5 END)", "iitiiii",
		    rid, (long long)(tag * 10000 + i), serial, created,
		    (long long)kept, (long long)kept, (long long)kept)) == -1)
			T_CHECK(0, "insert certificate %d", i);
	}
	store_commit(st);
}

int
main(void)
{
	struct conf	 c;
	struct store	*st;
	static char	 env1[64], env2[64];	/* putenv keeps them */
	char		 dir[64], p[128], err[256];
	long long	 now = time(NULL);

	log_init("stderr", LOGL_WARN);
	snprintf(dir, sizeof(dir), "/tmp/t_p12keep.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(env1, sizeof(env1), "CERTSPOOL_NOW=%lld", now);
	putenv(env1);
	snprintf(p, sizeof(p), "%s/db", dir);
	if ((st = store_open(p, err, sizeof(err))) == NULL) {
		T_CHECK(0, "store_open: %s", err);
		return t_done("t_p12keep");
	}
	T_CHECK(store_exec(st, "INSERT INTO account (id, name, created)"
	    " VALUES (1, 'acme', 0);"
	    "INSERT INTO batch (id, account_id, ext_id, sha256, file_name,"
	    " received) VALUES (1, 1, 'B', 'x', 'b.xml', 0);"
	    "INSERT INTO orders (id, batch_id, ext_id, product, sig_hash,"
	    " vkind, agreement, state, updated) VALUES (1, 1, 'O', 'p',"
	    " 'sha256', 1, 1, 'issued', 0);"
	    "INSERT INTO recipient (id, order_id, idx, cn_type, email, state)"
	    " VALUES (1, 1, 0, 1, 'a@x.example', 'issued'),"
	    " (2, 1, 1, 1, 'b@x.example', 'issued')") == 0, "fixtures");

	memset(&c, 0, sizeof(c));
	c.p12_retention_days = 30;
	fill(st, 1, OLD, now - 31 * DAY, 1, 0x11);	/* due */
	fill(st, 2, 1, now - 30 * DAY, 1, 0x12);	/* due: exactly 30 days */
	fill(st, 2, 3, now - 30 * DAY + 1, 1, 0x13);	/* one second short */
	fill(st, 2, 2, now - 90 * DAY, 0, 0x14);	/* purged before */

	T_CHECK(p12keep_run(st, &c) == 0, "first run");
	T_CHECK(count(st, "SELECT count(*) FROM certificate WHERE p12 IS NOT"
	    " NULL") == 3, "only the three younger ones kept");
	T_CHECK(count(st, "SELECT count(*) FROM certificate WHERE"
	    " p12_password IS NOT NULL") == 3, "passwords purged with them");
	T_CHECK(count(st, "SELECT count(*) FROM certificate WHERE p12 IS NULL"
	    " AND p12_purged_at = (SELECT max(at) FROM event)") == OLD + 1,
	    "purge time recorded");
	T_CHECK(count(st, "SELECT count(*) FROM certificate WHERE"
	    " p12_purged_at = 5") == 2, "earlier purges left as they were");
	T_CHECK(count(st, "SELECT count(*) FROM event WHERE kind ="
	    " 'p12_purged' AND reason = 'retention' AND batch_id = 1 AND"
	    " order_id = 1") == OLD + 1, "one event per purge");
	T_CHECK(count(st, "SELECT count(*) FROM event WHERE kind ="
	    " 'p12_purged' AND recipient_id = 2") == 1,
	    "events name the recipient");
	T_CHECK(count(st, "SELECT count(*) FROM event WHERE detail LIKE"
	    " 'certificate 11' || printf('%038d', 7) || ':%'") == 1,
	    "the detail names the serial");

	T_CHECK(p12keep_run(st, &c) == 0, "second run");
	T_CHECK(count(st, "SELECT count(*) FROM event WHERE kind ="
	    " 'p12_purged'") == OLD + 1, "nothing more to purge");

	/* A day later the three are due too. */
	snprintf(env2, sizeof(env2), "CERTSPOOL_NOW=%lld", now + DAY);
	putenv(env2);
	T_CHECK(p12keep_run(st, &c) == 0, "a day later");
	T_CHECK(count(st, "SELECT count(*) FROM certificate WHERE p12 IS NOT"
	    " NULL") == 0, "all purged");

	store_close(st);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	if (system(p) != 0)
		T_CHECK(0, "cleanup");
	return t_done("t_p12keep");
}
