/*
 * cluster.h: a daemon among several sharing one PostgreSQL database and
 * one spool (cluster.c).  With SQLite there is one daemon (the spool's
 * flock) and every call here is a no-op that reports "on duty".
 */
#ifndef CERTSPOOL_CLUSTER_H
#define CERTSPOOL_CLUSTER_H

struct conf;
struct store;

/* Several daemons may share this configuration's database. */
int	 cluster_shared(const struct conf *);
/* Register this daemon as a node (st->node) and start the heartbeat
 * that renews its lease every lease_seconds / 3.  0 or -1. */
int	 cluster_start(struct store *, const struct conf *);
/* Before each pass: register anew if the lease was lost, then take this
 * node's share of the accounts.  1 if this node is on duty (it runs the
 * installation-wide steps this pass), 0 if not, -1 on error. */
int	 cluster_pass(struct store *, const struct conf *);
/* Stop the heartbeat and hand the accounts back (a clean stop). */
void	 cluster_stop(struct store *);

#endif
