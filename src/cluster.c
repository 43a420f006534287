/*
 * cluster.c: several daemons on one PostgreSQL database (cluster.h).
 * Each daemon is a node with a lease in the database (store_node.c),
 * renewed by a heartbeat thread over a connection of its own and by
 * every commit of the daemon (store_commit: fencing).  The accounts are
 * shared among the live nodes; a node takes the inputs, evaluates,
 * signs and writes the results of the accounts it holds, and the live
 * node with the smallest id also does the installation-wide steps.  A
 * node that was dead, paused or cut off for lease_seconds has lost its
 * accounts to the others and cannot commit: it registers anew as a new
 * node and takes a fresh share.
 * Failure policy: a heartbeat that cannot reach the database only logs;
 * the lease then runs out and the node's next commit is refused.
 */
#include <sys/utsname.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "cluster.h"
#include "store_node.h"

static struct cluster {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 thr;
	int		 running, stop;
	struct store	*hb;		/* the heartbeat's connection */
	long long	 node;		/* under mu */
	int		 lease;
	char		 name[300];
} cl = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

int
cluster_shared(const struct conf *c)
{
	return store_is_uri(c->database);
}

static void *
heartbeat(void *arg)
{
	struct timespec	 ts;
	long long	 node;
	int		 r;

	(void)arg;
	pthread_mutex_lock(&cl.mu);
	while (!cl.stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += cl.lease / 3 > 0 ? cl.lease / 3 : 1;
		pthread_cond_timedwait(&cl.cv, &cl.mu, &ts);
		if (cl.stop)
			break;
		node = cl.node;
		pthread_mutex_unlock(&cl.mu);
		if ((r = node_renew(cl.hb, node, cl.lease)) == 0)
			log_warn("node %lld: lease expired before the "
			    "heartbeat; the next commit registers anew", node);
		else if (r == -1)
			log_warn("node %lld: heartbeat failed", node);
		pthread_mutex_lock(&cl.mu);
	}
	pthread_mutex_unlock(&cl.mu);
	return NULL;
}

static int
join(struct store *st)
{
	long long	 id;

	st->node = 0;
	if ((id = node_register(st, cl.name, cl.lease)) == -1)
		return -1;
	st->node = id;
	st->lease_seconds = cl.lease;
	st->lost = 0;
	pthread_mutex_lock(&cl.mu);
	cl.node = id;
	pthread_mutex_unlock(&cl.mu);
	log_info("node %lld (%s): joined, lease %d s", id, cl.name, cl.lease);
	return 0;
}

int
cluster_start(struct store *st, const struct conf *c)
{
	struct utsname	 u;
	char		 err[512];

	if (!cluster_shared(c))
		return 0;
	cl.lease = c->lease_seconds;
	if (uname(&u) == -1)
		snprintf(u.nodename, sizeof(u.nodename), "?");
	snprintf(cl.name, sizeof(cl.name), "%s:%ld", u.nodename,
	    (long)getpid());
	if ((cl.hb = store_open(c->database, err, sizeof(err))) == NULL) {
		log_err("heartbeat: %s", err);
		return -1;
	}
	if (join(st) == -1)
		return -1;
	cl.stop = 0;
	if (pthread_create(&cl.thr, NULL, heartbeat, NULL) != 0) {
		log_err("heartbeat: cannot start its thread");
		return -1;
	}
	cl.running = 1;
	return 0;
}

int
cluster_pass(struct store *st, const struct conf *c)
{
	long long	 held, was;
	int		 duty;

	if (!cluster_shared(c))
		return 1;
	if (st->lost || node_renew(st, st->node, cl.lease) == 0) {
		log_warn("node %lld: lease lost (another node may have taken "
		    "its accounts); joining again", st->node);
		if (join(st) == -1)
			return -1;
	}
	if (node_share(st, st->node, &was, &held) == -1 ||
	    (duty = node_on_duty(st, st->node)) == -1)
		return -1;
	if (held != was)
		log_info("node %lld: holds %lld account%s%s", st->node, held,
		    held == 1 ? "" : "s", duty ? ", on duty" : "");
	/* Old nodes' rows, a day after they ended. */
	if (duty)
		(void)node_forget(st, 86400);
	return duty;
}

void
cluster_stop(struct store *st)
{
	if (!cl.running)
		return;
	pthread_mutex_lock(&cl.mu);
	cl.stop = 1;
	pthread_cond_signal(&cl.cv);
	pthread_mutex_unlock(&cl.mu);
	pthread_join(cl.thr, NULL);
	cl.running = 0;
	if (st->node != 0 && node_leave(st, st->node) == 0)
		log_info("node %lld: left; its accounts are free", st->node);
	st->node = 0;
	store_close(cl.hb);
	cl.hb = NULL;
}
