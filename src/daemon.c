/*
 * daemon.c: the daemon loop.  One instance per spool (an flock'd lock
 * file); on start it finishes what a crash left (files in work/,
 * write-ahead signing records, unwritten passes), then runs passes:
 * intake -> evaluate -> sign -> publish.  It wakes on inotify events in
 * the inbound directories and at least every poll_seconds.  SIGTERM and
 * SIGINT finish the current step and exit; SIGHUP re-reads the config.
 * Failure policy: a failed pass is logged and retried on the next
 * wake-up; inputs stay where they are until a pass handles them.
 */
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "extern.h"
#include "billing.h"
#include "pipeline.h"
#include "store.h"
#include "daemon.h"

static volatile sig_atomic_t	 got_term, got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
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

/* Add an inotify watch on every account's inbound directory. */
static void
watch_inbound(int ifd, struct store *st, const struct conf *c)
{
	sqlite3_stmt	*q;
	char		 path[4096];
	int		 wd;

	snprintf(path, sizeof(path), "%s/inbound", c->spool_dir);
	(void)inotify_add_watch(ifd, path, IN_CREATE | IN_MOVED_TO);
	if ((q = store_prep(st, "SELECT name FROM account", NULL)) == NULL)
		return;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *acct = (const char *)sqlite3_column_text(q, 0);

		snprintf(path, sizeof(path), "%s/inbound/%s", c->spool_dir,
		    acct);
		if ((wd = inotify_add_watch(ifd, path, IN_CLOSE_WRITE |
		    IN_MOVED_TO | IN_CREATE | IN_ATTRIB)) == -1)
			continue;
		watches = reallocarray(watches, nwatches + 1,
		    sizeof(*watches));
		if (watches == NULL)
			abort();
		watches[nwatches].wd = wd;
		watches[nwatches].account = xstrdup(acct);
		nwatches++;
	}
	store_release(q);
}

/*
 * Read the pending inotify events.  A file renamed into an account's
 * inbound directory is complete (the writer renames when it is done,
 * SPEC 2): it is noted so that intake takes it at once instead of
 * waiting settle_seconds.
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

/* One pass over everything; 0 or -1 if some step must be retried. */
int
daemon_pass(struct store *st, const struct conf *c, const struct schema *sch,
    const struct ca *ca)
{
	int	 rc = 0;

	/* Inputs kept in work/ by an earlier failure are retried first. */
	if (spool_recover(st, c, sch) == -1)
		rc = -1;
	if (spool_intake(st, c, sch) == -1)
		rc = -1;
	if (got_term)
		return rc;
	/* Reissues within coverage, renewals, notices (renew.c). */
	if (renew_run(st, c, NULL, NULL, NULL) == -1)
		rc = -1;
	if (pipeline_evaluate(st, c, ca) == -1)
		rc = -1;
	if (got_term)
		return rc;
	if (signer_run(st, c, ca) == -1)
		rc = -1;
	/* Card captures of what was issued, releases of what was not. */
	if (billing_settle(st, c, 0) == -1)
		rc = -1;
	if (report_publish(st, c, ca) == -1)
		rc = -1;
	/* Messages a failed sendmail command left behind. */
	if (mail_flush(c) == -1)
		rc = -1;
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
    int once)
{
	struct conf		*c = *cp;
	struct schema		*sch = NULL;
	struct ca		*ca = NULL;
	struct sigaction	 sa;
	char			 err[512];
	int			 lockfd = -1, ifd = -1, rc = 1, undone = 0;

	log_init(c->log, c->log_level);
	if ((lockfd = lock_spool(c)) == -1)
		goto out;
	if ((ca = ca_load(c->ca_dir, err, sizeof(err))) == NULL) {
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
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

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
	}
	for (;;) {
		struct pollfd	 pfd;
		long		 timeout, due;

		/* undone: the last pass left work for a reason other than
		 * waiting (an item that cannot be published, a full disk, a
		 * database error); --once then exits EX_TEMPFAIL. */
		if ((undone = daemon_pass(st, c, sch, ca) == -1))
			log_warn("pass incomplete; %s", once ? "exiting with "
			    "status 75 (EX_TEMPFAIL)" : "retrying");
		if (once || got_term)
			break;
		pfd.fd = ifd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Wake when a settling file is due, or at the poll interval. */
		timeout = c->poll_seconds * 1000L;
		if ((due = spool_wait_ms()) >= 0 && due < timeout)
			timeout = due;
		if (poll(&pfd, ifd == -1 ? 0 : 1, (int)timeout) > 0)
			read_events(ifd);
		if (got_term)
			break;
		if (got_hup) {
			struct conf	*nc;

			got_hup = 0;
			if ((nc = conf_load(confpath, err, sizeof(err))) ==
			    NULL)
				log_err("SIGHUP: keeping the old config: %s",
				    err);
			else {
				conf_free(c);
				*cp = c = nc;
				log_init(c->log, c->log_level);
				log_info("config re-read");
			}
		}
		if (ifd != -1)
			watch_inbound(ifd, st, c);
	}
	rc = once && undone ? EX_TEMPFAIL : 0;
	if (!once)
		log_info("daemon stopped");
out:
	if (ifd != -1)
		close(ifd);
	if (lockfd != -1)
		close(lockfd);
	schema_free(sch);
	ca_free(ca);
	return rc;
}
