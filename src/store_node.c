/*
 * store_node.c: node rows, account leases and the duty node
 * (store_node.h).  Used only when several daemons share a PostgreSQL
 * database: node_share claims with FOR UPDATE SKIP LOCKED, which SQLite
 * does not have (one daemon per SQLite database, flock'd spool).
 */
#include <stdio.h>
#include <stdlib.h>

#include "extern.h"
#include "store.h"
#include "store_node.h"

/*
 * Leases are judged by the database server's clock, the one clock every
 * node shares (clock_now() of each host may differ by the hosts' skew).
 */
#define DB_NOW	"CAST(extract(epoch FROM clock_timestamp()) AS BIGINT)"

long long
node_register(struct store *st, const char *name, long long lease)
{
	long long	 id;

	if (store_begin(st) == -1)
		return -1;
	if (store_done(st, store_prep(st, "INSERT INTO node (name, started,"
	    " expires) VALUES (?, " DB_NOW ", " DB_NOW " + ?)", "ti", name,
	    lease)) ==
	    -1 || (id = store_last_id(st)) <= 0 ||
	    store_event(st, "node_started", 0, 0, 0, NULL, NULL, NULL,
	    name) == -1) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st) == -1 ? -1 : id;
}

int
node_renew(struct store *st, long long id, long long lease)
{
	if (store_done(st, store_prep(st, "UPDATE node SET expires = "
	    DB_NOW " + ? WHERE id = ? AND expires >= " DB_NOW, "ii", lease,
	    id)) == -1)
		return -1;
	return db_changes(st) == 1;
}

int
node_fence(struct store *st)
{
	return node_renew(st, st->node, st->lease_seconds);
}

static int
count(struct store *st, long long *n, const char *sql, long long a)
{
	return store_int(st, n, 0, store_prep(st, sql, a ? "i" : NULL, a));
}

int
node_share(struct store *st, long long id, long long *was, long long *held)
{
	long long	 live, total, want;

	if (count(st, &live, "SELECT count(*) FROM node WHERE expires >= "
	    DB_NOW, 0) == -1 ||
	    count(st, &total, "SELECT count(*) FROM account", 0) == -1 ||
	    count(st, held, "SELECT count(*) FROM account"
	    " WHERE lease_node = ?", id) == -1)
		return -1;
	*was = *held;
	if (live < 1)
		live = 1;
	want = (total + live - 1) / live;
	if (*held > want) {
		if (store_done(st, store_prep(st, "UPDATE account"
		    " SET lease_node = NULL WHERE id IN (SELECT id FROM account"
		    " WHERE lease_node = ? ORDER BY id DESC LIMIT ?)", "ii",
		    id, *held - want)) == -1)
			return -1;
		*held = want;
	} else if (*held < want) {
		/*
		 * A node whose lease ran out is ended first (expires = minus
		 * the time it was ended), by an UPDATE that waits for the row
		 * lock of a commit of that node in flight (its fence,
		 * node_renew, holds it until its COMMIT) and then reads the
		 * row as that commit left it: a
		 * commit that renewed the lease in time keeps the node alive;
		 * once ended, no commit of it passes its fence (expires >=
		 * now fails for ever).  Only then are its accounts taken, and
		 * only those of ended nodes (expires < 0), never on a
		 * snapshot that merely saw the lease run out: a node is never
		 * committing work of an account another node took.
		 */
		if (store_done(st, store_prep(st, "UPDATE node"
		    " SET expires = -" DB_NOW " WHERE expires >= 0"
		    " AND expires < " DB_NOW, NULL)) == -1)
			return -1;
		if (store_done(st, store_prep(st, "UPDATE account"
		    " SET lease_node = ? WHERE id IN (SELECT a.id FROM account a"
		    " LEFT JOIN node n ON n.id = a.lease_node"
		    " WHERE a.lease_node IS NULL OR n.id IS NULL"
		    " OR n.expires < 0 ORDER BY a.id LIMIT ?"
		    " FOR UPDATE OF a SKIP LOCKED)", "ii", id,
		    want - *held)) == -1)
			return -1;
		*held += db_changes(st);
	}
	return 0;
}

int
node_on_duty(struct store *st, long long id)
{
	long long	 first;

	if (count(st, &first, "SELECT min(id) FROM node WHERE expires >= "
	    DB_NOW, 0) == -1)
		return -1;
	return first == id;
}

/*
 * Not fenced: the lease this transaction ends would fail the commit's
 * renewal, and giving up only what the node still holds
 * (lease_node = id) is harmless even after its lease ran out.
 */
int
node_leave(struct store *st, long long id)
{
	long long	 self = st->node;
	int		 rc = -1;

	/* Not fenced: this commit ends the lease the fence would renew (and
	 * a node that lost its lease gives back nothing: the accounts'
	 * lease_node is checked). */
	st->node = 0;
	if (store_begin(st) == -1)
		goto out;
	if (store_done(st, store_prep(st, "UPDATE account SET lease_node ="
	    " NULL WHERE lease_node = ? AND EXISTS (SELECT 1 FROM node"
	    " WHERE id = ? AND expires >= " DB_NOW ")", "ii", id, id)) == -1 ||
	    store_done(st, store_prep(st, "UPDATE node SET expires = -"
	    DB_NOW " WHERE id = ?", "i", id)) == -1) {
		store_rollback(st);
		goto out;
	}
	rc = store_commit(st);
out:
	st->node = self;
	return rc;
}

int
node_list(struct store *st, int (*fn)(void *, const struct node_row *),
    void *arg)
{
	struct dbstmt	*q;
	struct node_row	 n;
	int		 r, stop = 0, first = 1;

	if (st->drv != &db_pg)
		return 0;
	q = store_prep(st, "SELECT n.id, n.name, n.started, n.expires - "
	    DB_NOW ", (SELECT count(*) FROM account a WHERE a.lease_node ="
	    " n.id) FROM node n WHERE n.expires >= " DB_NOW " ORDER BY n.id",
	    NULL);
	if (q == NULL)
		return -1;
	while (!stop && (r = db_step(q)) == DB_ROW) {
		n.id = db_int64(q, 0);
		n.name = (const char *)db_text(q, 1);
		n.started = db_int64(q, 2);
		n.left = db_int64(q, 3);
		n.accounts = db_int64(q, 4);
		n.on_duty = first;
		first = 0;
		stop = fn(arg, &n) == -1;
	}
	store_release(q);
	return !stop && r == DB_DONE ? 0 : -1;
}

int
node_forget(struct store *st, long long age)
{
	/* abs(): an ended node's expires is minus the time it ended. */
	return store_done(st, store_prep(st, "DELETE FROM node"
	    " WHERE abs(expires) < " DB_NOW " - ? AND id NOT IN"
	    " (SELECT lease_node FROM account WHERE lease_node IS NOT NULL)",
	    "i", age));
}
