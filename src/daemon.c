/*
 * daemon.c: the daemon loop.  One instance per spool (an flock'd lock
 * file); on start it finishes what a crash left (files in work/,
 * write-ahead signing records, unwritten passes), then runs passes:
 * intake -> evaluate -> sign -> publish.  It wakes on inotify events in
 * the inbound directories and at least every poll_seconds.  SIGTERM and
 * SIGINT finish the current step and exit; SIGHUP re-reads the config
 * on a thread of its own, so that a broken config is reported at once,
 * even during a long pass, and a good one is put in force between two
 * passes.  Under systemd (Type=notify, notify.c) it sends READY=1 after
 * the recovery, STATUS= with the queue after each pass, WATCHDOG=1 from
 * the loop (and from long phases through the progress lines),
 * RELOADING=1 and READY=1 around a reload, STOPPING=1 on SIGTERM.
 * Failure policy: a failed pass is logged and retried on the next
 * wake-up; inputs stay where they are until a pass handles them.  A log
 * target that cannot be opened stops the start; on SIGHUP a broken
 * config (log target included) is logged and the old one kept.
 */
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "crl.h"
#include "revoke.h"
#include "signer.h"
#include "spool.h"
#include "report.h"
#include "billing.h"
#include "pipeline.h"
#include "store_order.h"
#include "daemon.h"
#include "fairq.h"
#include "purge.h"
#include "doctor.h"
#include "metrics.h"
#include "cluster.h"

static volatile sig_atomic_t	 got_term;
/* Self-pipe: a signal or a config ready to apply wakes the loop's poll. */
static int			 wake[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int	 save = errno;

	(void)sig;
	got_term = 1;
	if (wake[1] != -1)
		(void)write(wake[1], "t", 1);
	errno = save;
}

/*
 * SIGHUP is blocked in every thread but this one, which takes it with
 * sigwait(), loads and checks the config and its log target, logs a
 * broken one at once, and leaves a good one in pending for the loop.
 */
static struct {
	pthread_t	 th;
	int		 running;
	int		 stop;		/* atomic */
	const char	*path;
	pthread_mutex_t	 mu;
	struct conf	*pending;
} hup = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void *
hup_main(void *arg)
{
	struct conf	*nc;
	sigset_t	 set;
	char		 err[512], err2[512];
	int		 sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (__atomic_load_n(&hup.stop, __ATOMIC_RELAXED))
			return NULL;
		if ((nc = conf_load(hup.path, err, sizeof(err))) == NULL) {
			log_err("SIGHUP: keeping the old config: %s", err);
			continue;
		}
		if (log_check(nc->log, conf_log_socket(nc), err2,
		    sizeof(err2)) == -1) {
			log_err("SIGHUP: keeping the old config: %s: %s",
			    nc->path, err2);
			conf_free(nc);
			continue;
		}
		pthread_mutex_lock(&hup.mu);
		conf_free(hup.pending);
		hup.pending = nc;
		pthread_mutex_unlock(&hup.mu);
		(void)write(wake[1], "h", 1);
	}
}

/* Put a config SIGHUP read in force (between passes). */
static void
hup_apply(struct conf **cp)
{
	struct conf	*nc;
	char		 err[512];

	pthread_mutex_lock(&hup.mu);
	nc = hup.pending;
	hup.pending = NULL;
	pthread_mutex_unlock(&hup.mu);
	if (nc == NULL)
		return;
	notify_reloading();
	if (log_open(nc->log, nc->log_level, conf_log_socket(nc), err,
	    sizeof(err)) == -1) {
		log_err("SIGHUP: keeping the old config: %s: %s", nc->path,
		    err);
		conf_free(nc);
		notify_ready();
		return;
	}
	conf_free(*cp);
	*cp = nc;
	log_info("config re-read from %s", nc->path);
	/* The demo-only settings of the new config, one warning each. */
	demo_settings_log(nc, 0);
	notify_ready();
}

/* STATUS= for the service manager: the open orders after a pass. */
static void
queue_status(struct store *st, int undone)
{
	long long	 n[5] = { 0 }, open = 0;
	size_t		 i;

	if (!notify_enabled())
		return;
	if (orders_open_by_state(st, n) == -1)
		return;
	for (i = 0; i < 5; i++)
		open += n[i];
	notify_status("%lld orders open, %lld waiting (org %lld, dcv %lld, "
	    "csr %lld, funds %lld); last pass %s", open, open - n[0], n[1],
	    n[2], n[3], n[4], undone ? "incomplete, retrying" : "complete");
}

static void
hup_start(const char *confpath)
{
	int	 e;

	hup.path = confpath;
	if ((e = pthread_create(&hup.th, NULL, hup_main, NULL)) != 0)
		log_err("SIGHUP: cannot start the reload thread: %s; SIGHUP "
		    "will be ignored", strerror(e));
	else
		hup.running = 1;
}

static void
hup_stop(void)
{
	if (hup.running) {
		__atomic_store_n(&hup.stop, 1, __ATOMIC_RELAXED);
		pthread_kill(hup.th, SIGHUP);
		pthread_join(hup.th, NULL);
		hup.running = 0;
	}
	conf_free(hup.pending);
	hup.pending = NULL;
}

/*
 * Temporaries a crash left behind in the directories only certspool
 * writes (spool/mail, outbound/ACCOUNT, rejected/ACCOUNT); never in
 * inbound/, where dot-files are uploads in progress.  A minute old at
 * least, so a message being written by a CLI command is left alone.
 */
static void
sweep_temporaries(const struct conf *c)
{
	static const char *const tops[] = { "outbound", "rejected" };
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 i;
	int		 n;

	snprintf(path, sizeof(path), "%s/mail", c->spool_dir);
	n = fs_sweep_tmp(path, 60);
	/* crl_dir is served as it is: no half-written CRL stays there. */
	n += fs_sweep_tmp(c->crl_dir, 60);
	for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->spool_dir, tops[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", c->spool_dir,
			    tops[i], de->d_name);
			n += fs_sweep_tmp(path, 60);
		}
		closedir(d);
	}
	if (n > 0)
		log_info("removed %d temporary files left by an earlier "
		    "run", n);
}

/* Which account's inbound directory each inotify watch is. */
static struct watch {
	int	 wd;
	char	*account;
}		*watches;
static size_t	 nwatches;

/* The inotify watch of an account's inbound directory. */
struct watching {
	int			 ifd;
	const struct conf	*conf;
};

static int
watch_account(void *arg, const char *acct)
{
	struct watching	*w = arg;
	char		 path[4096];
	size_t		 i;
	int		 wd;

	snprintf(path, sizeof(path), "%s/inbound/%s", w->conf->spool_dir,
	    acct);
	if ((wd = inotify_add_watch(w->ifd, path, IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE | IN_ATTRIB)) == -1)
		return 0;
	for (i = 0; i < nwatches; i++)
		if (watches[i].wd == wd)
			return 0;	/* watched already */
	watches = reallocarray(watches, nwatches + 1, sizeof(*watches));
	if (watches == NULL)
		abort();
	watches[nwatches].wd = wd;
	watches[nwatches].account = xstrdup(acct);
	nwatches++;
	return 0;
}

/* Add an inotify watch on every account's inbound directory. */
static void
watch_inbound(int ifd, struct store *st, const struct conf *c)
{
	struct watching	 w = { ifd, c };
	char		 path[4096];

	snprintf(path, sizeof(path), "%s/inbound", c->spool_dir);
	(void)inotify_add_watch(ifd, path, IN_CREATE | IN_MOVED_TO);
	/* The portal touches portal/wake after a confirmation or a CSR
	 * (portal_wake): the next pass starts at once. */
	snprintf(path, sizeof(path), "%s/portal", c->spool_dir);
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		log_warn("%s: %s; the portal's requests wait for the next "
		    "scan", path, strerror(errno));
	(void)inotify_add_watch(ifd, path, IN_CLOSE_WRITE | IN_CREATE |
	    IN_ATTRIB);
	(void)account_each_name(st, watch_account, &w);
}

/*
 * Read the pending inotify events.  A file renamed into an account's
 * inbound directory is complete (the writer renames when it is done,
 * SPEC 2): it is noted so that intake takes it at once instead of
 * waiting settle_seconds.  Any event wakes a pass: IN_CLOSE_WRITE is how
 * a file left because it was open for writing is taken once closed.
 */
static void
read_events(int ifd)
{
	char			 buf[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t			 n;
	size_t			 i, off;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(*ev) <= (size_t)n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (off + sizeof(*ev) + ev->len > (size_t)n)
				break;
			if (!(ev->mask & IN_MOVED_TO) || ev->len == 0 ||
			    (ev->mask & IN_ISDIR))
				continue;
			for (i = 0; i < nwatches; i++)
				if (watches[i].wd == ev->wd)
					spool_moved_in(watches[i].account,
					    ev->name);
		}
	}
}

/*
 * Several daemons: a commit of this node was refused because its lease
 * had run out (store_commit's fence).  Its accounts are another node's
 * now, or soon: the pass stops before the next step writes anything
 * (results, archives, mail, CRLs), and the next pass joins anew.
 */
#define LOST(st)	((st)->lost != 0)

/*
 * One pass over everything; 0 or -1 if some step must be retried.  The
 * evaluation and the signing each stop once their share of the slice is
 * used (sl->cut: the next pass goes on at once; NULL: no limit).
 */
int
daemon_pass(struct store *st, const struct conf *c, const struct schema *sch,
    const struct ca *ca, struct slice *sl)
{
	int	 rc = 0, duty;

	/* Several daemons: this node's share of the accounts, and whether
	 * it does the installation-wide steps (cluster.c); one daemon does
	 * everything. */
	if ((duty = cluster_pass(st, c)) == -1) {
		log_warn("cannot take a share of the accounts; retrying");
		return -1;
	}
	/* Inputs kept in work/ by an earlier failure are retried first. */
	if (spool_recover(st, c, sch) == -1)
		rc = -1;
	if (LOST(st))
		return -1;
	if (spool_intake(st, c, sch) == -1)
		rc = -1;
	if (got_term || LOST(st))
		return got_term ? rc : -1;
	/* Reissues within coverage, renewals, notices (renew.c). */
	if (duty && renew_run(st, c, NULL, NULL, NULL) == -1)
		rc = -1;
	if (sl != NULL)
		slice_phase(sl);
	if (pipeline_evaluate(st, c, ca, sl) == -1)
		rc = -1;
	if (got_term || LOST(st))
		return got_term ? rc : -1;
	/* Write-ahead records a failed signature left behind (the CA key
	 * was unavailable): signed again before new work. */
	if (sl != NULL)
		slice_phase(sl);
	if (signer_recover(st, c, ca) == -1 ||
	    signer_run(st, c, ca, sl) == -1)
		rc = -1;
	if (LOST(st))
		return -1;
	/* Card captures of what was issued, releases of what was not. */
	if (duty && billing_settle(st, c, 0) == -1)
		rc = -1;
	if (LOST(st))
		return -1;
	if (report_publish(st, c, ca) == -1)
		rc = -1;
	if (!duty || LOST(st))
		return LOST(st) ? -1 : rc;
	/* The installation-wide steps, on the node on duty. */
	/* Messages a failed sendmail command left behind. */
	if (mail_flush(c) == -1)
		rc = -1;
	/* PKCS#12 kept past p12_retention_days, after this pass's archives. */
	if (p12keep_run(st, c) == -1)
		rc = -1;
	/* Pending revocations now due (revdoc.c). */
	if (revoke_due(st, c) == -1)
		rc = -1;
	/* CRLs of shards with new revocations, or due for re-signing: after
	 * the revocations are committed, before anything else is written
	 * about them, so relying parties learn first (SPEC 7.3). */
	if (crl_publish(st, c, ca, 0) == -1)
		rc = -1;
	/* "Certificate revoked" messages, then revocation results owed. */
	if (revresult_flush(st, c) == -1)
		rc = -1;
	/* Retention, once a day (purge.c): a warning, never a stop. */
	if (purge_daily(st, c) == -1)
		log_warn("purge: incomplete; see above");
	return rc;
}

static int
lock_spool(const struct conf *c)
{
	char	 path[4096];
	int	 fd;

	snprintf(path, sizeof(path), "%s/.certspool.lock", c->spool_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_err("%s: another certspool daemon is running on this "
		    "spool", c->spool_dir);
		close(fd);
		return -1;
	}
	return fd;
}

int
daemon_run(struct conf **cp, struct store *st, const char *confpath,
    int once, struct keyproc *kp)
{
	struct conf		*c = *cp;
	struct schema		*sch = NULL;
	struct ca		*ca = NULL;
	struct sigaction	 sa;
	sigset_t		 hupset;
	char			 err[512];
	int			 lockfd = -1, ifd = -1, rc = 1, undone = 0;
	int			 hurry = 0;	/* new input: short slices */
	long long		 status_ms = 0;	/* the last STATUS= */

	/* A log target that cannot be opened is an error, not silence. */
	if (log_open(c->log, c->log_level, conf_log_socket(c), err,
	    sizeof(err)) == -1) {
		log_err("%s: %s; not starting", c->path, err);
		return 1;
	}
	/* Before any thread exists: only the reload thread takes SIGHUP. */
	sigemptyset(&hupset);
	sigaddset(&hupset, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hupset, NULL);
	if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_err("pipe: %s", strerror(errno));
		goto out;
	}
	/* One daemon per spool, unless several share a PostgreSQL database
	 * (cluster.c): each is then a node with its lease. */
	if (!cluster_shared(c) && (lockfd = lock_spool(c)) == -1)
		goto out;
	if (cluster_start(st, c) == -1)
		goto out;
	/* The current issuing CA and the retired ones (issuer.c). */
	if ((ca = issuer_load(st, c, kp, err, sizeof(err))) == NULL) {
		log_err("issuing CA: %s", err);
		goto out;
	}
	if ((sch = schema_load(schema_path(), err, sizeof(err))) == NULL) {
		log_err("schema: %s", err);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!once)
		hup_start(confpath);

	metrics_start(st);
	/* Finish what a crash left behind, oldest step first. */
	sweep_temporaries(c);
	if (signer_recover(st, c, ca) == -1 ||
	    report_publish(st, c, ca) == -1)
		log_warn("recovery incomplete; retrying in the next pass");

	if (!once) {
		ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ifd != -1)
			watch_inbound(ifd, st, c);
		log_info("daemon started on %s", c->spool_dir);
		notify_ready();
	}
	demo_settings_log(c, 0);
	for (;;) {
		struct pollfd	 pfd[2];
		long		 timeout, due;
		char		 drain[64];
		long long	 t0 = mono_ms();
		struct slice	 sl;

		/* undone: the last pass left work for a reason other than
		 * waiting (an item that cannot be published, a full disk, a
		 * database error); --once then exits EX_TEMPFAIL. */
		notify_watchdog();
		slice_begin(&sl, wake[0], ifd, hurry);
		if ((undone = daemon_pass(st, c, sch, ca, once ? NULL : &sl) ==
		    -1))
			log_warn("pass incomplete; %s", once ? "exiting with "
			    "status 75 (EX_TEMPFAIL)" : "retrying");
		metrics_pass(st, c, mono_ms() - t0, undone, once || got_term);
		if (once)
			spool_log_left();	/* what stays, and why */
		if (once || got_term)
			break;
		/* Between the slices of a long batch, every 2 s at most:
		 * the counts read the open orders' index. */
		if (!sl.cut || mono_ms() - status_ms >= 2000) {
			queue_status(st, undone);
			status_ms = mono_ms();
		}
		notify_watchdog();
		pfd[0].fd = wake[0];
		pfd[1].fd = ifd;
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		/* Wake when a settling file is due, or at the poll interval. */
		timeout = c->poll_seconds * 1000L;
		if (sl.cut)
			timeout = 0;	/* work left: the next slice */
		hurry = sl.cut && sl.woken;
		if ((due = spool_wait_ms()) >= 0 && due < timeout)
			timeout = due;
		if ((due = notify_watchdog_ms()) >= 0 && due < timeout)
			timeout = due;
		if (poll(pfd, ifd == -1 ? 1 : 2, (int)timeout) > 0) {
			while (read(wake[0], drain, sizeof(drain)) > 0)
				continue;
			if (pfd[1].revents & POLLIN)
				read_events(ifd);
		}
		if (got_term)
			break;
		hup_apply(cp);
		c = *cp;
		if (ifd != -1)
			watch_inbound(ifd, st, c);
	}
	rc = once && undone ? EX_TEMPFAIL : 0;
	if (!once) {
		notify_stopping();
		log_info("daemon stopped");
	}
out:
	hup_stop();
	cluster_stop(st);
	if (ifd != -1)
		close(ifd);
	if (lockfd != -1)
		close(lockfd);
	if (wake[0] != -1) {
		close(wake[0]);
		close(wake[1]);
		wake[0] = wake[1] = -1;
	}
	schema_free(sch);
	ca_free(ca);
	return rc;
}
