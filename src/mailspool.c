/*
 * mailspool.c: messages into the mail spool and to the sendmail command.
 * A message (mail_render, mail.c) is written atomically as
 * mail/<name>.eml (a retry replaces it): that file is the record and an
 * operator's MTA may pick it up.  Messages go out in batches with one
 * group commit: mail_batch_add() writes each under its temporary name
 * .<name>.eml.<hex>.tmp without fsync; mail_batch_commit() makes them
 * all durable with one syncfs(2) of the spool's file system (an fsync per
 * file for a batch of one or where the kernel has no syncfs), renames
 * each to its final name and fsyncs the directory once.  So a message
 * under its final name is complete and on disk; a crash before the
 * commit leaves only dot-temporaries, which nothing takes.  A message
 * that cannot be rendered, written or renamed is left out and the others
 * go on; the caller learns each message's outcome.  To keep memory
 * bounded, a batch that grows to BATCH_GROUP messages commits that group
 * from within mail_batch_add() and goes on.  mail_send() is a batch of
 * one.
 * After the commit, when sendmail_command is set, each message (LF line
 * ends, as local mail programs expect) is also piped to "/bin/sh -c
 * <command>"; the command comes from the trusted configuration and
 * message data only ever travels on its standard input; the address of
 * mail_from is in its environment as CERTSPOOL_SENDER (for -f).
 *
 * Failure policy: a command that fails, exits non-zero or does not
 * finish within SENDMAIL_TIMEOUT seconds is logged; the .eml stays in
 * the spool and mail_flush() hands it over again later.  A message that
 * cannot be written is reported to the caller (its own fault: the errno;
 * the environment's: -1) and nothing partial is published.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "extern.h"

#define MAIL_MODE		0640
#define MAIL_DIR_MODE		0750
#define SENDMAIL_TIMEOUT	120	/* seconds for the whole hand-over */
#define BATCH_GROUP		4096	/* messages per group commit */

/* In the child: stdin from rfd, default SIGPIPE, own process group. */
static void __attribute__((noreturn))
child_exec(int rfd, char *const argv[], char *const envp[])
{
	child_reset();
	if (rfd == STDIN_FILENO) {
		if (fcntl(rfd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(rfd, STDIN_FILENO) == -1)
		_exit(127);
	execve("/bin/sh", argv, envp);
	_exit(127);
}

/*
 * The environment of the sendmail command: ours, with CERTSPOOL_SENDER
 * set to the address of mail_from (checked as every address is), so
 * that the command can give it as the envelope sender: sendmail -t -i
 * -f "$CERTSPOOL_SENDER".  Built before fork; free with free().
 */
static char **
sender_env(const char *from, char **var)
{
	extern char	**environ;
	const char	 *addr, *lt;
	char		**envp;
	size_t		  n, i, o, alen;

	*var = NULL;
	if (from != NULL && (lt = strchr(from, '<')) != NULL) {
		addr = lt + 1;
		alen = strlen(addr);
		alen = alen > 0 && addr[alen - 1] == '>' ? alen - 1 : 0;
	} else {
		addr = from;
		alen = from != NULL ? strlen(from) : 0;
	}
	if (addr != NULL && mail_valid_addr(addr, alen)) {
		*var = xcalloc(1, sizeof("CERTSPOOL_SENDER=") + alen);
		memcpy(*var, "CERTSPOOL_SENDER=", sizeof("CERTSPOOL_SENDER=") -
		    1);
		memcpy(*var + sizeof("CERTSPOOL_SENDER=") - 1, addr, alen);
	}
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		continue;
	envp = xcalloc(n + 2, sizeof(*envp));
	for (i = 0, o = 0; i < n; i++)
		if (strncmp(environ[i], "CERTSPOOL_SENDER=", 17) != 0)
			envp[o++] = environ[i];
	if (*var != NULL)
		envp[o++] = *var;
	envp[o] = NULL;
	return envp;
}

/* Write all of p to the non-blocking fd before the deadline. */
static int
feed(int fd, const unsigned char *p, size_t len, long long deadline)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	long long	 left;

	while (len > 0) {
		if ((left = deadline - mono_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait for pid until the deadline, then kill its process group. */
static int
reap(pid_t pid, long long deadline, int *status)
{
	struct timespec	 ts;
	long		 step = 1;
	pid_t		 r;

	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (mono_ms() >= deadline)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000;
		(void)nanosleep(&ts, NULL);
		if (step < 50)
			step *= 2;
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while ((r = waitpid(pid, status, 0)) == -1 && errno == EINTR)
		continue;
	errno = ETIMEDOUT;
	return -1;
}

/*
 * Pipe msg to "/bin/sh -c cmd" and wait for it: 0 only if all of msg
 * was taken and the command exited 0.  SIGPIPE is held off for this
 * thread while writing, so a command that quits early is an error, not
 * the death of the daemon.
 */
static int
pipe_to(const char *cmd, const char *from, const unsigned char *msg,
    size_t len, const char *name)
{
	char *const	 argv[] = { "sh", "-c", (char *)cmd, NULL };
	char		**envp, *var;
	sigset_t	 pipeset, oldset, pending;
	struct timespec	 zero = { 0, 0 };
	long long	 deadline;
	int		 fds[2] = { -1, -1 }, status = 0, rc = -1;
	int		 blocked = 0, was_pending = 0, fed, saved;
	pid_t		 pid = -1;

	deadline = mono_ms() + SENDMAIL_TIMEOUT * 1000LL;
	envp = sender_env(from, &var);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_err("mail: %s: pipe: %s", name, strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		log_err("mail: %s: fork: %s", name, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(fds[0], argv, envp);
	(void)setpgid(pid, pid);
	close(fds[0]);
	fds[0] = -1;

	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipeset, &oldset) == 0) {
		blocked = 1;
		was_pending = sigpending(&pending) == 0 &&
		    sigismember(&pending, SIGPIPE) == 1;
	}
	fed = fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0 &&
	    feed(fds[1], msg, len, deadline) == 0;
	saved = errno;
	close(fds[1]);
	fds[1] = -1;
	if (blocked) {
		if (!fed && saved == EPIPE && !was_pending)
			(void)sigtimedwait(&pipeset, NULL, &zero);
		(void)pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	}
	if (!fed)
		log_err("mail: %s: writing to sendmail command: %s", name,
		    strerror(saved));

	if (reap(pid, deadline, &status) == -1) {
		log_err("mail: %s: sendmail command: %s", name,
		    errno == ETIMEDOUT ? "timed out, killed" : strerror(errno));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		log_err("mail: %s: sendmail command exited with status %d",
		    name, WEXITSTATUS(status));
		goto out;
	}
	if (WIFSIGNALED(status)) {
		log_err("mail: %s: sendmail command killed by signal %d",
		    name, WTERMSIG(status));
		goto out;
	}
	if (!fed)
		goto out;
	rc = 0;
out:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	free(envp);
	free(var);
	return rc;
}

/* A message's identity: SHA-256 of its bytes without the Date line, so
 * the same message rendered at another time has the same key. */
static void
msg_key(const unsigned char *p, size_t len, char out[65])
{
	struct buf	 b = { 0 };
	size_t		 i = 0, j;
	int		 skipped = 0;

	while (i < len) {
		for (j = i; j < len && p[j] != '\n'; j++)
			continue;
		if (j < len)
			j++;
		if (!skipped && j - i >= 5 && memcmp(p + i, "Date:", 5) == 0)
			skipped = 1;
		else
			buf_add(&b, p + i, j - i);
		i = j;
	}
	sha256_hex(b.p ? (const void *)b.p : "", b.len, out);
	buf_free(&b);
}

/* 1 if dir/.sent/<file> records that this very message was handed over. */
static int
was_sent(const char *dir, const char *file, const char *key)
{
	char		 path[PATH_MAX];
	unsigned char	*old = NULL;
	size_t		 oldlen;
	int		 same;

	snprintf(path, sizeof(path), "%s/.sent/%s", dir, file);
	if (fs_read_file(path, 128, &old, &oldlen) == -1)
		return 0;
	same = oldlen >= 64 && memcmp(old, key, 64) == 0;
	free(old);
	return same;
}

/*
 * Hand one message of the spool to the sendmail command, once: a marker
 * in <spool>/mail/.sent/ records what was handed over.  A failure is
 * logged and left for mail_flush() to retry in a later pass.
 */
static int
pipe_one(const struct conf *conf, const char *dir, const char *file,
    const unsigned char *p, size_t len)
{
	struct buf	 lf = { 0 };
	char		 key[65], sent[PATH_MAX];
	size_t		 i, j;
	int		 rc = -1;

	msg_key(p, len, key);
	if (was_sent(dir, file, key))
		return 0;
	/* Local mail programs take LF line ends; CR only occurs in CRLF. */
	for (i = 0; i < len; i = j + 1) {
		for (j = i; j < len && p[j] != '\r'; j++)
			continue;
		buf_add(&lf, p + i, j - i);
	}
	if (pipe_to(conf->sendmail_command, conf->mail_from, lf.p, lf.len,
	    file) == -1) {
		log_warn("mail: %s: the sendmail command failed; the message "
		    "stays in the spool and is handed over again later", file);
		goto out;
	}
	snprintf(sent, sizeof(sent), "%s/.sent", dir);
	if (fs_mkdirs(sent, MAIL_DIR_MODE) == -1 ||
	    fs_write_atomic_path(sent, file, key, 64, MAIL_MODE) == -1)
		log_warn("mail: %s: handed over, but the record of it was not "
		    "written; it may be handed over twice", file);
	log_debug("mail: %s: handed to sendmail command", file);
	rc = 0;
out:
	buf_free(&lf);
	return rc;
}

/* One message of a batch: written as tmp, published as file. */
struct mail_entry {
	char	*file;		/* <name>.eml */
	char	*tmp;		/* .<file>.<hex>.tmp; NULL once renamed */
	int	*state;		/* the caller's outcome, or NULL */
};

/* Tell the caller what became of one message (mail_batch_add). */
static void
set_state(int *state, int v)
{
	if (state != NULL)
		*state = v;
}

struct mail_batch {
	const struct conf	*conf;
	char			 dir[PATH_MAX];
	int			 dirfd;
	int			 piping;
	struct mail_entry	*v;	/* written, not yet published */
	size_t			 n, cap;
};

static void
mail_batch_free(struct mail_batch *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++) {
		free(b->v[i].file);
		free(b->v[i].tmp);
	}
	free(b->v);
	if (b->dirfd != -1)
		close(b->dirfd);
	free(b);
}

struct mail_batch *
mail_batch_begin(const struct conf *conf)
{
	struct mail_batch	*b;

	b = xcalloc(1, sizeof(*b));
	b->conf = conf;
	b->dirfd = -1;
	b->piping = conf->sendmail_command != NULL &&
	    conf->sendmail_command[0] != '\0';
	if ((size_t)snprintf(b->dir, sizeof(b->dir), "%s/mail",
	    conf->spool_dir) >= sizeof(b->dir)) {
		log_err("mail: %s/mail: path too long", conf->spool_dir);
		goto bad;
	}
	if (fs_mkdirs(b->dir, MAIL_DIR_MODE) == -1) {
		log_err("mail: %s: %s", b->dir, strerror(errno));
		goto bad;
	}
	/* Opened before any message is written: fs_syncfs reports the
	 * write-back errors of the file system since this open. */
	if ((b->dirfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_err("mail: %s: %s", b->dir, strerror(errno));
		goto bad;
	}
	return b;
bad:
	mail_batch_free(b);
	return NULL;
}

/* The data of every temporary of b on disk: one syncfs for many files,
 * an fsync for one (or each, where the kernel has no syncfs). */
static int
batch_sync(struct mail_batch *b)
{
	size_t	 i;

	if (b->n > 1) {
		if (fs_syncfs(b->dirfd) == 0)
			return 0;
		if (errno != ENOSYS)
			return -1;
	}
	for (i = 0; i < b->n; i++)
		if (fs_fsync_at(b->dirfd, b->v[i].tmp) == -1)
			return -1;
	return 0;
}

/* Hand a published message to the sendmail command (pipe_one). */
static void
batch_pipe(struct mail_batch *b, const char *file)
{
	unsigned char	*p = NULL;
	size_t		 len;
	int		 fd;

	if ((fd = openat(b->dirfd, file, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fs_read_fd(fd, 64 * 1024 * 1024, &p,
	    &len) == -1) {
		log_warn("mail: %s/%s: cannot read back for the sendmail "
		    "command: %s; it is handed over later", b->dir, file,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	(void)pipe_one(b->conf, b->dir, file, p, len);
	OPENSSL_cleanse(p, len);
	free(p);
}

/*
 * The group commit of what b holds: every temporary made durable, then
 * renamed to its final name, then the directory fsynced once; then each
 * message piped to the sendmail command.  A message that cannot be
 * renamed (its name taken by a directory, say) is left out and the
 * others go on; a failed sync or directory fsync publishes none.  On
 * failure the temporaries not renamed are unlinked.  b is empty
 * afterwards either way; -1 unless every message was published.
 */
static int
batch_publish(struct mail_batch *b)
{
	size_t	 i, j;
	int	 rc = -1, bad = 0, e, *done;

	if (b->n == 0)
		return 0;
	done = xcalloc(b->n, sizeof(*done));
	if (batch_sync(b) == -1) {
		log_err("mail: %s: messages not made durable; none published",
		    b->dir);
		goto out;
	}
	for (i = 0; i < b->n; i++) {
		if (renameat(b->dirfd, b->v[i].tmp, b->dirfd,
		    b->v[i].file) == -1) {
			e = errno;
			log_err("mail: %s/%s: rename: %s", b->dir,
			    b->v[i].file, strerror(e));
			set_state(b->v[i].state, e == ENOSPC || e == EDQUOT ?
			    -1 : e);
			bad = 1;
			continue;
		}
		done[i] = 1;
	}
	if (fs_fsync_dir(b->dirfd) == -1) {
		log_err("mail: %s: fsync: %s", b->dir, strerror(errno));
		memset(done, 0, b->n * sizeof(*done));
		goto out;
	}
	for (i = 0; i < b->n; i++)
		if (done[i])
			set_state(b->v[i].state, 0);
	/* The records are written: delivery problems are retried later. */
	if (b->piping)
		for (j = 0; j < b->n; j++)
			if (done[j])
				batch_pipe(b, b->v[j].file);
	rc = bad ? -1 : 0;
out:
	for (j = 0; j < b->n; j++) {
		if (!done[j]) {
			(void)unlinkat(b->dirfd, b->v[j].tmp, 0);
			if (rc == -1 && !bad)
				set_state(b->v[j].state, -1);
		}
		free(b->v[j].file);
		free(b->v[j].tmp);
	}
	free(done);
	b->n = 0;
	return rc;
}

int
mail_batch_add(struct mail_batch *b, const char *name,
    const struct mail_msg *m, int *state)
{
	struct fs_tmp	 t;
	struct buf	 msg = { 0 };
	char		 file[160], safe[160], key[65];
	int		 rc = -1, e;

	if (!valid_name(name)) {
		log_err("mail: refusing message name \"%s\"",
		    log_safe(name, SIZE_MAX, safe, sizeof(safe)));
		goto out;
	}
	if ((size_t)snprintf(file, sizeof(file), "%s.eml", name) >=
	    sizeof(file) || !valid_name(file)) {
		log_err("mail: %s: name too long", name);
		goto out;
	}
	set_state(state, -1);
	if (mail_render(m, clock_now(), &msg) == -1) {
		log_err("mail: %s: message not written", name);
		set_state(state, EINVAL);
		goto out;
	}
	/* Already handed over as it is: keep the record as delivered. */
	msg_key(msg.p, msg.len, key);
	if (b->piping && was_sent(b->dir, file, key)) {
		set_state(state, 0);
		rc = 0;
		goto out;
	}
	if (fs_tmp_open(&t, b->dirfd, file, MAIL_MODE) == -1) {
		e = errno;
		log_err("mail: %s/%s: not written: %s", b->dir, file,
		    strerror(e));
		set_state(state, e == ENOSPC || e == EDQUOT ? -1 : e);
		goto out;
	}
	if (fs_write_all(t.fd, msg.p, msg.len) == -1 ||
	    fs_tmp_close(&t) == -1) {
		e = errno;
		log_err("mail: %s/%s: not written: %s", b->dir, t.tmpname,
		    strerror(e));
		set_state(state, e == ENOSPC || e == EDQUOT ? -1 : e);
		fs_tmp_abort(&t);
		goto out;
	}
	if (b->n == b->cap) {
		struct mail_entry	*v;
		size_t			 cap = b->cap == 0 ? 16 : b->cap * 2;

		if ((v = reallocarray(b->v, cap, sizeof(*v))) == NULL) {
			log_err("out of memory");
			abort();
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n].file = xstrdup(file);
	b->v[b->n].tmp = xstrdup(t.tmpname);
	b->v[b->n].state = state;
	b->n++;
	/* Bounded memory: a large batch is committed in groups. */
	rc = b->n < BATCH_GROUP ? 0 : batch_publish(b);
out:
	if (msg.p != NULL)
		OPENSSL_cleanse(msg.p, msg.len);
	buf_free(&msg);
	return rc;
}

int
mail_batch_commit(struct mail_batch *b)
{
	int	 rc;

	rc = batch_publish(b);
	mail_batch_free(b);
	return rc;
}

void
mail_batch_abort(struct mail_batch *b)
{
	size_t	 i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		(void)unlinkat(b->dirfd, b->v[i].tmp, 0);
	mail_batch_free(b);
}

int
mail_send(const struct conf *conf, const char *name,
    const struct mail_msg *m)
{
	struct mail_batch	*b;

	if ((b = mail_batch_begin(conf)) == NULL)
		return -1;
	if (mail_batch_add(b, name, m, NULL) == -1) {
		mail_batch_abort(b);
		return -1;
	}
	return mail_batch_commit(b);
}

int
mail_flush(const struct conf *conf)
{
	DIR		*d;
	struct dirent	*de;
	char		 dir[PATH_MAX], path[PATH_MAX];
	int		 rc = 0;

	if (conf->sendmail_command == NULL ||
	    conf->sendmail_command[0] == '\0')
		return 0;
	snprintf(dir, sizeof(dir), "%s/mail", conf->spool_dir);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		unsigned char	*p;
		size_t		 len, n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n < 5 ||
		    strcmp(de->d_name + n - 4, ".eml") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		if (fs_read_file(path, 64 * 1024 * 1024, &p, &len) == -1)
			continue;
		if (pipe_one(conf, dir, de->d_name, p, len) == -1)
			rc = -1;
		free(p);
	}
	closedir(d);
	return rc;
}

int
mail_handed_over(const char *dir, const char *file, const unsigned char *p,
    size_t len)
{
	char	 key[65];

	msg_key(p, len, key);
	return was_sent(dir, file, key);
}
