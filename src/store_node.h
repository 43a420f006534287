/*
 * store_node.h: the daemons sharing one database (store_node.c), for
 * cluster.c and the commit's fencing in store.c.  A daemon registers a
 * node row with a lease (expires); each account is held by at most one
 * live node (account.lease_node), which alone takes its inputs, signs
 * its certificates and writes its results.  A node whose lease expired
 * has lost its accounts: its commits are refused (node_fence) and it
 * registers anew.  Leases are in seconds of the database server's
 * clock, which all nodes share.  node.expires is the end of the lease,
 * or minus the time the node was ended (its lease ran out and another
 * node took its accounts, or it left): an ended node never renews.
 */
#ifndef CERTSPOOL_STORE_NODE_H
#define CERTSPOOL_STORE_NODE_H

struct store;

/* A new node row leased for lease seconds; its id, or -1.  Own
 * transaction. */
long long	 node_register(struct store *, const char *name,
		    long long lease);
/* Extend node id's lease to lease seconds from now if it has not
 * expired: 1, 0 if it had (lost), -1 on error.  A statement of its own
 * (autocommit), or part of the caller's transaction (node_fence). */
int		 node_renew(struct store *, long long id, long long lease);
/* Share the accounts among the live nodes: node id keeps or takes
 * ceil(accounts / live nodes) of them, free ones first (held by no live
 * node; claimed with FOR UPDATE SKIP LOCKED), and gives back what it
 * holds above that.  *was, *held: how many it held before and holds
 * now.  0 or -1. */
int		 node_share(struct store *, long long id, long long *was,
		    long long *held);
/* The node doing the installation-wide steps (CRLs, revocations,
 * renewals, settlement, retention): the live node with the smallest id.
 * 1 if that is id, 0 if not, -1 on error. */
int		 node_on_duty(struct store *, long long id);
/* A clean stop: the node's accounts are freed and its lease ended, so
 * another node takes them at once.  0 or -1. */
int		 node_leave(struct store *, long long id);
/* Node rows expired more than age seconds ago, and holding no
 * account: deleted.  0 or -1. */
int		 node_forget(struct store *, long long age);

/* A live node as status and the metrics show it; name valid during the
 * callback only. */
struct node_row {
	long long	 id;
	const char	*name;		/* host:pid */
	long long	 started;	/* Unix time, the server's clock */
	long long	 left;		/* seconds of lease left */
	long long	 accounts;	/* held */
	int		 on_duty;	/* the smallest live id */
};
/* The live nodes (lease not run out) by id, to fn; none on SQLite (one
 * daemon, no lease).  Reads only, one statement.  0, or -1 on a
 * database error or when fn returned -1. */
int		 node_list(struct store *,
		    int (*fn)(void *, const struct node_row *), void *);

#endif
