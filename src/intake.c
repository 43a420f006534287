/*
 * intake.c: which inbound files are taken, and when (SPEC 1: "a file is
 * taken only when it is complete").  A pass reads every account's
 * inbound/<account>/ and collects the files that look complete: with
 * ready = marker those whose NAME.done exists; with ready = settle those
 * unchanged for settle_seconds, or renamed in (the daemon's inotify
 * watch saw it).  Then, in one walk of /proc for all of them
 * (openwriters.c), those some process still holds open for writing are
 * left, however long they have been unchanged.  The others are claimed by
 * rename(2) into work/<account>/ and handed to spool.c.
 * Nothing is left in silence: each file left is noted with its reason
 * (daemon --once logs the notes), an inbound entry that is no account is
 * warned about once per run, and a refused name reaches the log and the
 * error report escaped while the file system sees a generated one.
 * Failure policy: a file that cannot be claimed stays in inbound/ and is
 * tried again in the next pass (KEEP); when /proc cannot show every
 * process, files are judged by settle_seconds alone, said once in the log.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "spool.h"
#include "pipeline.h"
#include "store_order.h"

/* A file of inbound/ that looked complete in this pass. */
struct cand {
	char		*account;
	long long	 account_id;
	char		*name;
	struct stat	 sb;
	int		 held;		/* open for writing: left */
};

static struct cand	*cands;
static size_t		 ncands;

/* Files left in inbound/ by the last intake, "account/name: why". */
static char		**notes;
static size_t		  nnotes;

/* Inbound entries that are no account, warned about in this run. */
static char		**warned;
static size_t		  nwarned;

/* The fallback to settle_seconds was logged in this run. */
static int		  said_fallback;

/* When the next settling file becomes ready (CLOCK_REALTIME ns), 0 none. */
static long long	  next_ready_ns;

/* Files the running daemon saw renamed into inbound/ since the last intake
 * (daemon.c reads the inotify events); "account/name" each. */
static char		**moved;
static size_t		  nmoved;

static void
strv_clear(char **v, size_t *n)
{
	while (*n > 0)
		free(v[--*n]);
}

static void
strv_add(char ***v, size_t *n, const char *s)
{
	if ((*v = reallocarray(*v, *n + 1, sizeof(**v))) == NULL)
		abort();
	(*v)[(*n)++] = xstrdup(s);
}

static void
note(const char *account, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Note why account/name stays in inbound/ after this pass. */
static void
note(const char *account, const char *name, const char *fmt, ...)
{
	char	 esc[1024], why[512], line[1600];
	va_list	 ap;

	name_escape(name, esc, sizeof(esc));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s/%s: %s", account, esc, why);
	strv_add(&notes, &nnotes, line);
}

void
spool_log_left(void)
{
	size_t	 i;

	for (i = 0; i < nnotes; i++)
		log_info("left in inbound: %s", notes[i]);
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t	 a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Names being written under a temporary name: never taken. */
static int
is_temporary(const char *name)
{
	return name[0] == '.' || has_suffix(name, ".part") ||
	    has_suffix(name, ".tmp");
}

/* Markers and detached signatures: never taken as inputs. */
static int
is_companion(const char *name)
{
	return has_suffix(name, ".done") || has_suffix(name, ".p7s");
}

void
spool_moved_in(const char *account, const char *name)
{
	char	 key[PATH_MAX];

	if (nmoved >= 4096 || (size_t)snprintf(key, sizeof(key), "%s/%s",
	    account, name) >= sizeof(key))
		return;
	strv_add(&moved, &nmoved, key);
}

static int
was_moved_in(const char *account, const char *name)
{
	size_t	 i, alen = strlen(account);

	for (i = 0; i < nmoved; i++)
		if (strncmp(moved[i], account, alen) == 0 &&
		    moved[i][alen] == '/' && strcmp(moved[i] + alen + 1,
		    name) == 0)
			return 1;
	return 0;
}

static long long
now_ns(void)
{
	struct timespec	 now;

	/* File times come from the kernel's clock, so compare with it. */
	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void
wake_at(long long due)
{
	if (next_ready_ns == 0 || due < next_ready_ns)
		next_ready_ns = due;
}

/* Complete as far as its marker or its times tell (the writers are asked
 * later); a file not ready is noted. */
static int
is_ready(const struct conf *c, int ind, const char *account,
    const char *name, const struct stat *sb)
{
	char		 marker[300];
	struct stat	 mb;
	long long	 due, now;

	if (c->ready == READY_MARKER) {
		snprintf(marker, sizeof(marker), "%s.done", name);
		if (fstatat(ind, marker, &mb, AT_SYMLINK_NOFOLLOW) == 0)
			return 1;
		note(account, name, "waiting for its marker (NAME.done)");
		return 0;
	}
	if (c->settle_seconds == 0 || was_moved_in(account, name))
		return 1;
	due = (long long)sb->st_mtim.tv_sec * 1000000000LL +
	    sb->st_mtim.tv_nsec + (long long)c->settle_seconds * 1000000000LL;
	if ((now = now_ns()) >= due)
		return 1;
	wake_at(due);
	note(account, name, "still settling: changed %.1f s ago, taken when "
	    "unchanged for %d s", (double)(now - due) / 1e9 +
	    c->settle_seconds, c->settle_seconds);
	return 0;
}

long
spool_wait_ms(void)
{
	long long	 left;

	if (next_ready_ns == 0)
		return -1;
	left = next_ready_ns - now_ns();
	if (left <= 0)
		return 0;
	return (long)(left / 1000000 + 1);
}

/* Collect the entries of inbound/<account>/ that look complete. */
static int
collect_account(const struct conf *c, const char *account,
    long long account_id)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	struct cand	*k;
	int		 ind;

	snprintf(path, sizeof(path), "%s/inbound/%s", c->spool_dir, account);
	if ((ind = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(ind)) == NULL) {
		close(ind);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || is_companion(de->d_name))
			continue;
		if (is_temporary(de->d_name)) {
			note(account, de->d_name, "a temporary name (starts "
			    "with '.', ends .part or .tmp): taken once renamed");
			continue;
		}
		if (fstatat(ind, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		/* Anything but a regular file is claimed and refused. */
		if (S_ISREG(sb.st_mode) && !is_ready(c, ind, account,
		    de->d_name, &sb))
			continue;
		if ((cands = reallocarray(cands, ncands + 1,
		    sizeof(*cands))) == NULL)
			abort();
		k = &cands[ncands++];
		k->account = xstrdup(account);
		k->account_id = account_id;
		k->name = xstrdup(de->d_name);
		k->sb = sb;
		k->held = 0;
	}
	closedir(d);
	return 0;
}

/* One walk of /proc for every regular candidate: mark those held open
 * for writing. */
static void
check_writers(void)
{
	struct ow_file	*f;
	size_t		 i, n = 0, unseen = 0;
	char		 comm[80];
	int		 r;

	f = xcalloc(ncands ? ncands : 1, sizeof(*f));
	for (i = 0; i < ncands; i++) {
		if (!S_ISREG(cands[i].sb.st_mode))
			continue;
		f[n].dev = cands[i].sb.st_dev;
		f[n].ino = cands[i].sb.st_ino;
		f[n].idx = i;
		n++;
	}
	if (n == 0)
		goto out;
	r = ow_scan(f, n, &unseen);
	if ((r == -1 || unseen > 0) && !said_fallback) {
		if (r == -1)
			log_warn("/proc cannot be read: whether a process "
			    "still writes an inbound file is judged by "
			    "settle_seconds alone");
		else
			log_warn("the open files of %zu processes cannot be "
			    "inspected (another user's, or more privileged: "
			    "root or CAP_SYS_PTRACE sees most; log_level = "
			    "debug names them): a file one of them still "
			    "writes is judged by settle_seconds alone", unseen);
		said_fallback = 1;
	}
	for (i = 0; r == 0 && i < n; i++) {
		struct cand	*k = &cands[f[i].idx];

		if (f[i].pid == 0)
			continue;
		k->held = 1;
		name_escape(f[i].comm, comm, sizeof(comm));
		note(k->account, k->name, "open for writing by pid %ld (%s)",
		    (long)f[i].pid, comm);
	}
out:
	free(f);
}

/* Claim one inbound entry into work/; the work name is written to out,
 * and *refused set when the name could not be kept. */
static int
claim(const struct conf *c, int ind, int wd, const char *account,
    const char *name, char *out, size_t outlen, int *refused)
{
	unsigned char	 r[8];
	char		 hex[17], marker[300], esc[1024];

	*refused = !(valid_name(name) && has_suffix(name, ".xml"));
	if (!*refused)
		strlcpy_(out, name, outlen);
	else {
		/* Never reuse an untrusted name: generate one. */
		rnd_bytes(r, sizeof(r));
		hex_encode(r, sizeof(r), hex);
		snprintf(out, outlen, "badname-%s", hex);
	}
	if (renameat2(ind, name, wd, out, RENAME_NOREPLACE) == -1) {
		if (errno != EEXIST)
			log_warn("claim: %s", strerror(errno));
		return -1;
	}
	if (fs_fsync_dir(wd) == -1 || fs_fsync_dir(ind) == -1)
		return -1;
	crash_point("after_claim");
	if (*refused) {
		name_escape(name, esc, sizeof(esc));
		log_warn("%s/%s: the name is not [A-Za-z0-9._-] ending in "
		    ".xml; claimed as %s and refused unread", account, esc,
		    out);
	}
	if (c->ready == READY_MARKER) {
		snprintf(marker, sizeof(marker), "%s.done", name);
		(void)unlinkat(ind, marker, 0);
	}
	return 0;
}

/* Unchanged since it was collected (the writers were asked about it). */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mode == b->st_mode &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Claim and process every candidate not held open. */
static int
take_all(struct store *st, const struct conf *c, const struct schema *sch)
{
	struct stat	 sb;
	const char	*cur = NULL;
	char		 wname[256];
	size_t		 i;
	int		 ind = -1, wd = -1, rc = 0, refused;

	for (i = 0; i < ncands; i++) {
		struct cand	*k = &cands[i];

		if (k->held)
			continue;
		if (cur == NULL || strcmp(cur, k->account) != 0) {
			if (ind != -1)
				close(ind);
			if (wd != -1)
				close(wd);
			cur = k->account;
			ind = spool_open_dir(c, "inbound", cur);
			wd = spool_open_dir(c, "work", cur);
		}
		if (ind == -1 || wd == -1) {
			rc = -1;
			continue;
		}
		if (fstatat(ind, k->name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (!same_file(&sb, &k->sb)) {
			note(k->account, k->name, "changed during the pass; "
			    "looked at again in the next one");
			wake_at(now_ns());
			continue;
		}
		if (claim(c, ind, wd, k->account, k->name, wname,
		    sizeof(wname), &refused) == -1)
			continue;
		if (spool_take(st, c, sch, k->account, k->account_id, wname,
		    refused ? k->name : NULL) == -1)
			rc = -1;
	}
	if (ind != -1)
		close(ind);
	if (wd != -1)
		close(wd);
	return rc;
}

static void
cands_clear(void)
{
	while (ncands > 0) {
		ncands--;
		free(cands[ncands].account);
		free(cands[ncands].name);
	}
}

/*
 * The entries of inbound/ that name no account: their count; names
 * (escaped, comma separated) appended to list if not NULL; with warn,
 * each logged once per run.
 */
static int
unknown_entries(struct store *st, const struct conf *c, int warn,
    struct buf *list)
{
	char		 path[PATH_MAX], esc[1024];
	DIR		*d;
	struct dirent	*de;
	size_t		 i;
	int		 n = 0, known;

	snprintf(path, sizeof(path), "%s/inbound", c->spool_dir);
	if ((d = opendir(path)) == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((known = account_name_known(st, de->d_name)) == -1) {
			n = -1;
			break;
		}
		if (known)
			continue;
		n++;
		name_escape(de->d_name, esc, sizeof(esc));
		if (list != NULL)
			buf_addf(list, "%s%s", list->len > 0 ? ", " : "", esc);
		if (!warn)
			continue;
		for (i = 0; i < nwarned; i++)
			if (strcmp(warned[i], de->d_name) == 0)
				break;
		if (i < nwarned)
			continue;
		strv_add(&warned, &nwarned, de->d_name);
		log_warn("inbound/%s: no account of that name; nothing in it "
		    "is read (certspool account add creates an account)", esc);
	}
	closedir(d);
	return n;
}

int
spool_unknown_dirs(struct store *st, const struct conf *c, struct buf *list)
{
	return unknown_entries(st, c, 0, list);
}

/* The candidates of every account; one that failed sets *rc to -1. */
struct collect {
	const struct conf	*conf;
	int			 rc;
};

static int
collect_one(void *arg, long long account_id, const char *name)
{
	struct collect	*k = arg;

	if (collect_account(k->conf, name, account_id) == -1)
		k->rc = -1;
	return 0;
}

int
spool_intake(struct store *st, const struct conf *c, const struct schema *sch)
{
	struct collect	 k = { c, 0 };
	int		 rc = 0;

	next_ready_ns = 0;
	strv_clear(notes, &nnotes);
	if (unknown_entries(st, c, 1, NULL) == -1)
		rc = -1;
	if (account_each(st, collect_one, &k) == -1)
		return -1;
	if (k.rc == -1)
		rc = -1;
	/* Only files about to be claimed make the walk of /proc. */
	check_writers();
	if (take_all(st, c, sch) == -1)
		rc = -1;
	cands_clear();
	strv_clear(moved, &nmoved);
	return rc;
}
