/*
 * purge.c: retention.  The spool keeps three kinds of files for a time
 * and then lets them go (certspool purge, and the daemon once a day):
 *   mail      spool/mail/NAME.eml older than mail_retention_days, once
 *             delivered: with a sendmail_command, when its record in
 *             mail/.sent/ says the command took this very message (a
 *             message waiting for a retry is kept; the record goes with
 *             it, after it); without one the spool file is the hand-over.
 *   archive   spool/archive/ACCOUNT/FILE, an accepted input, older than
 *             archive_retention_days, or than card_archive_retention_days
 *             (if shorter) when an order of its batch gave a card number
 *             (orders.card_flag).  The input row is found by the file's
 *             SHA-256; a file no row knows is kept, and so is an input the
 *             database still works on: a batch with an order or recipient
 *             not final (issued, rejected, cancelled), a revocation with a
 *             request pending or its result owed.
 *   outbound  spool/outbound/ACCOUNT/FILE older than
 *             outbound_retention_days: outputs written from the database
 *             alone, never read back.
 * Age is now (clock_now) minus the file's mtime.  Directories are opened
 * O_NOFOLLOW and files removed with unlinkat() on them: a symbolic link
 * is neither followed nor removed, only regular files are; a name
 * starting with '.' (a temporary) is left alone.
 * Failure policy: a file that cannot be examined or removed is logged
 * and kept (the next purge tries again); the others go on.  A database
 * error stops the purge; nothing is removed that was not checked.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "purge.h"
#include "store_purge.h"

#define DAY		86400LL
#define MAIL_MAX	(64 * 1024 * 1024)	/* a message read to check */

struct purge {
	struct store		*st;
	const struct conf	*c;
	int			 dry_run;
	FILE			*out;
	time_t			 now;
	struct purge_counts	 n;
	int			 removed;	/* in the current directory */
};

/* The smaller of two retention periods, 0 (for ever) counting as none. */
static int
min_days(int a, int b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* 1 if a file of mtime sb is days old or more (days 0: never). */
static int
is_due(const struct purge *p, const struct stat *sb, int days)
{
	return days > 0 && (long long)p->now - (long long)sb->st_mtime >=
	    days * DAY;
}

/* Open directory name of dirfd without following a link; -1 and errno. */
static int
open_dir(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

/*
 * List (dry run) or remove dirfd/name, the regular file sb that was
 * examined as path: it must still be that file.  0 or -1 (logged).
 */
static int
drop(struct purge *p, int dirfd, const char *name, const struct stat *sb,
    const char *kind, const char *path)
{
	struct stat	 cur;
	long long	 age = ((long long)p->now - (long long)sb->st_mtime) / DAY;

	if (p->dry_run) {
		if (p->out != NULL)
			fprintf(p->out, "%s\t%s\t%lld\n", kind, path, age);
		return 0;
	}
	if (fstatat(dirfd, name, &cur, AT_SYMLINK_NOFOLLOW) == -1 ||
	    cur.st_dev != sb->st_dev || cur.st_ino != sb->st_ino ||
	    !S_ISREG(cur.st_mode)) {
		log_warn("purge: %s: changed while examined; kept", path);
		p->n.failed++;
		return -1;
	}
	if (unlinkat(dirfd, name, 0) == -1) {
		log_warn("purge: %s: %s; kept", path, strerror(errno));
		p->n.failed++;
		return -1;
	}
	p->removed = 1;
	log_debug("purge: %s %s removed (%lld days old)", kind, path, age);
	return 0;
}

/* After a directory's removals: make them durable. */
static void
dir_done(struct purge *p, int dirfd, const char *path)
{
	if (p->removed && fs_fsync_dir(dirfd) == -1)
		log_warn("purge: %s: fsync: %s", path, strerror(errno));
	p->removed = 0;
}

/* An entry of a spool directory that purge may look at: not a dot
 * name, a regular file (lstat); 1 and *sb, else 0. */
static int
candidate(int dirfd, const char *name, struct stat *sb)
{
	if (name[0] == '.')
		return 0;
	if (fstatat(dirfd, name, sb, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return S_ISREG(sb->st_mode);
}

/* ---- mail ---- */

/* 1 if message dir/name was taken by the sendmail command as it is,
 * 0 if not, -1 if it cannot be read. */
static int
mail_delivered(int dirfd, const char *dir, const char *name,
    const struct stat *sb)
{
	struct stat	 st;
	unsigned char	*msg = NULL;
	size_t		 len;
	char		 err[128];
	int		 fd, rc = -1;

	if ((fd = fs_open_untrusted(dirfd, name, MAIL_MAX, &st, err,
	    sizeof(err))) == -1)
		return -1;
	if (st.st_ino == sb->st_ino && fs_read_fd(fd, MAIL_MAX, &msg,
	    &len) == 0)
		rc = mail_handed_over(dir, name, msg, len);
	free(msg);
	close(fd);
	return rc;
}

/* Records in mail/.sent/ whose message is gone, past the retention: a
 * purge interrupted between the two unlinks leaves one. */
static void
mail_orphans(struct purge *p, int mailfd, int days)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 fd;

	if (p->dry_run || (fd = open_dir(mailfd, ".sent")) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (candidate(dirfd(d), de->d_name, &sb) &&
		    is_due(p, &sb, days) && faccessat(mailfd, de->d_name,
		    F_OK, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static int
purge_mail(struct purge *p, int top)
{
	const struct conf *c = p->c;
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		 dir[PATH_MAX], path[600];
	int		 fd, sentfd, piping, r, rc = 0;
	size_t		 len;

	if (c->mail_retention_days == 0)
		return 0;
	piping = c->sendmail_command != NULL && c->sendmail_command[0];
	snprintf(dir, sizeof(dir), "%s/mail", c->spool_dir);
	if ((fd = open_dir(top, "mail")) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("purge: %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	sentfd = open_dir(fd, ".sent");
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0 ||
		    !candidate(fd, de->d_name, &sb) ||
		    !is_due(p, &sb, c->mail_retention_days))
			continue;
		snprintf(path, sizeof(path), "mail/%s", de->d_name);
		if (piping && (r = mail_delivered(fd, dir, de->d_name,
		    &sb)) != 1) {
			if (r == -1) {
				log_warn("purge: %s: cannot be read; kept",
				    path);
				p->n.failed++;
				rc = -1;
			} else
				p->n.kept_mail++;
			continue;
		}
		if (drop(p, fd, de->d_name, &sb, "mail", path) == -1) {
			rc = -1;
			continue;
		}
		p->n.mail++;
		/* The record after the message: never a message without
		 * its record, which would be handed over again. */
		if (!p->dry_run && sentfd != -1 &&
		    unlinkat(sentfd, de->d_name, 0) == -1 && errno != ENOENT)
			log_warn("purge: mail/.sent/%s: %s", de->d_name,
			    strerror(errno));
	}
	dir_done(p, fd, dir);
	mail_orphans(p, fd, c->mail_retention_days);
	if (sentfd != -1) {
		if (!p->dry_run && fs_fsync_dir(sentfd) == -1)
			log_warn("purge: %s/.sent: fsync: %s", dir,
			    strerror(errno));
		close(sentfd);
	}
	closedir(d);
	return rc;
}

/* ---- archived inputs ---- */

/* One file of archive/ACCOUNT, at least min days old.  0, or -1 (a
 * file not examined, or a database error: *dberr). */
static int
archive_one(struct purge *p, int dirfd, const char *account,
    long long account_id, const char *name, const struct stat *sb,
    int *dberr)
{
	const struct conf *c = p->c;
	struct archived_input in;
	struct stat	 st;
	char		 path[600], err[128], sha[65];
	int		 fd, days, rc;

	snprintf(path, sizeof(path), "archive/%s/%s", account, name);
	if ((fd = fs_open_untrusted(dirfd, name, LLONG_MAX, &st, err,
	    sizeof(err))) == -1 || st.st_ino != sb->st_ino) {
		log_warn("purge: %s: %s; kept", path, fd == -1 ? err :
		    "replaced while examined");
		if (fd != -1)
			close(fd);
		p->n.failed++;
		return -1;
	}
	rc = fs_sha256(fd, sha);
	close(fd);
	if (rc == -1) {
		log_warn("purge: %s: read: %s; kept", path, strerror(errno));
		p->n.failed++;
		return -1;
	}
	if (archived_input_find(p->st, account_id, sha, &in) == -1) {
		*dberr = 1;
		return -1;
	}
	if (in.id == 0) {
		log_debug("purge: %s: no accepted input has its bytes; kept",
		    path);
		p->n.kept_unknown++;
		return 0;
	}
	days = in.card ? min_days(c->card_archive_retention_days,
	    c->archive_retention_days) : c->archive_retention_days;
	if (!is_due(p, sb, days))
		return 0;
	if (in.open) {
		p->n.kept_open++;
		return 0;
	}
	if (drop(p, dirfd, name, sb, in.card ? "card_archive" : "archive",
	    path) == -1)
		return -1;
	if (in.card)
		p->n.card++;
	else
		p->n.archive++;
	return 0;
}

/* Each account's subdirectory of top/sub (archive or outbound), opened
 * without following links, given to fn.  0 or -1. */
static int
each_account_dir(struct purge *p, int top, const char *sub,
    int (*fn)(struct purge *, int, const char *, long long))
{
	struct purge_accounts a;
	size_t		 i;
	int		 subfd, fd, rc = 0;

	if ((subfd = open_dir(top, sub)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("purge: %s: %s", sub, strerror(errno));
		return -1;
	}
	if (purge_accounts_load(p->st, &a) == -1) {
		close(subfd);
		return -1;
	}
	for (i = 0; i < a.n && rc == 0; i++) {
		if (a.name[i] == NULL || !valid_name(a.name[i]))
			continue;
		if ((fd = open_dir(subfd, a.name[i])) == -1) {
			if (errno != ENOENT) {
				log_warn("purge: %s/%s: %s", sub, a.name[i],
				    strerror(errno));
				p->n.failed++;
			}
			continue;
		}
		rc = fn(p, fd, a.name[i], a.id[i]);
		close(fd);
	}
	purge_accounts_free(&a);
	close(subfd);
	return rc;
}

/* archive/ACCOUNT: -1 only on a database error (files that could not
 * be removed are counted as failed). */
static int
archive_dir(struct purge *p, int fd, const char *account, long long id)
{
	const struct conf *c = p->c;
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		 dir[PATH_MAX];
	int		 min, dberr = 0;

	min = min_days(c->card_archive_retention_days,
	    c->archive_retention_days);
	if ((fd = dup(fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while (!dberr && (de = readdir(d)) != NULL)
		if (candidate(fd, de->d_name, &sb) && is_due(p, &sb, min))
			(void)archive_one(p, fd, account, id, de->d_name, &sb,
			    &dberr);
	snprintf(dir, sizeof(dir), "%s/archive/%s", c->spool_dir, account);
	dir_done(p, fd, dir);
	closedir(d);
	return dberr ? -1 : 0;
}

/* outbound/ACCOUNT: by age alone. */
static int
outbound_dir(struct purge *p, int fd, const char *account, long long id)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		 dir[PATH_MAX], path[600];

	(void)id;
	if ((fd = dup(fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!candidate(fd, de->d_name, &sb) ||
		    !is_due(p, &sb, p->c->outbound_retention_days))
			continue;
		snprintf(path, sizeof(path), "outbound/%s/%s", account,
		    de->d_name);
		if (drop(p, fd, de->d_name, &sb, "outbound", path) == 0)
			p->n.outbound++;
	}
	snprintf(dir, sizeof(dir), "%s/outbound/%s", p->c->spool_dir, account);
	dir_done(p, fd, dir);
	closedir(d);
	return 0;
}

/* The event and meta purge_last of a purge, in one transaction. */
static int
purge_record(struct purge *p)
{
	char	 detail[256];

	snprintf(detail, sizeof(detail), "mail=%zu archive=%zu "
	    "card_archive=%zu outbound=%zu kept_undelivered=%zu kept_open=%zu "
	    "failed=%zu", p->n.mail, p->n.archive, p->n.card, p->n.outbound,
	    p->n.kept_mail, p->n.kept_open, p->n.failed);
	return purge_mark_run(p->st, (long long)p->now, detail);
}

int
purge_run(struct store *st, const struct conf *c, int dry_run, FILE *out,
    struct purge_counts *n)
{
	struct purge	 p;
	int		 top, rc = 0;

	memset(&p, 0, sizeof(p));
	p.st = st;
	p.c = c;
	p.dry_run = dry_run;
	p.out = out;
	p.now = clock_now();
	if ((top = open(c->spool_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_err("purge: %s: %s", c->spool_dir, strerror(errno));
		return -1;
	}
	if (purge_mail(&p, top) == -1)
		rc = -1;
	if ((c->archive_retention_days || c->card_archive_retention_days) &&
	    each_account_dir(&p, top, "archive", archive_dir) == -1) {
		log_err("purge: archive: stopped; nothing more removed");
		close(top);
		return -1;
	}
	if (c->outbound_retention_days &&
	    each_account_dir(&p, top, "outbound", outbound_dir) == -1)
		rc = -1;
	close(top);
	if (p.n.failed > 0)
		rc = -1;
	if (n != NULL)
		*n = p.n;
	if (dry_run)
		return rc;
	if (purge_record(&p) == -1) {
		log_err("purge: the event was not recorded");
		return -1;
	}
	log_info("purge: removed %zu delivered message%s, %zu archived "
	    "input%s, %zu archived input%s with a card number, %zu outbound "
	    "file%s; kept %zu undelivered message%s, %zu input%s with orders "
	    "not final%s", p.n.mail, p.n.mail == 1 ? "" : "s", p.n.archive,
	    p.n.archive == 1 ? "" : "s", p.n.card, p.n.card == 1 ? "" : "s",
	    p.n.outbound, p.n.outbound == 1 ? "" : "s", p.n.kept_mail,
	    p.n.kept_mail == 1 ? "" : "s", p.n.kept_open, p.n.kept_open == 1 ?
	    "" : "s", p.n.failed ? " (some files could not be removed)" : "");
	return rc;
}

int
purge_daily(struct store *st, const struct conf *c)
{
	long long	 last = 0;

	if (c->mail_retention_days == 0 && c->archive_retention_days == 0 &&
	    c->card_archive_retention_days == 0 &&
	    c->outbound_retention_days == 0)
		return 0;
	if (purge_last(st, &last) == -1)
		return -1;
	if (last != 0 && (long long)clock_now() - last < DAY)
		return 0;
	return purge_run(st, c, 0, NULL, NULL);
}
