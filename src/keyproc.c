/*
 * keyproc.c: the daemon's side of the signer process (keyproc.h): start
 * it (fork, exec of our own executable), hand each request to a free
 * channel, restart a signer that died.
 *
 * The parent never opens the key.  The signer gets a fresh address space
 * from exec, its settings on the command line and its channels as fds
 * 3, 4, ...; between fork and exec the child only moves descriptors.
 *
 * Failure policy: a signer that does not come up is a broken environment
 * (keyproc_start returns NULL with its reason; the daemon does not
 * start).  A channel that fails (the signer died or answered nonsense)
 * kills that signer; the next request starts a new one (logged) and is
 * sent again once, so a crash of the signer loses no signature.  A
 * refusal or an unavailable token is returned to the caller, who keeps
 * the work for the next pass.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "keyproc.h"

#define KP_EXE		"/proc/self/exe"
#define KP_MAXCHAN	257
#define KP_NARGS	9	/* without the issuers, 3 arguments each */

struct keyproc {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pid_t		 pid;
	int		 nchan;
	int		*fd;		/* our ends, one per channel */
	char		*busy;
	int		 nbusy;
	int		 dead;		/* kill and start again */
	unsigned int	 gen;		/* signer generation */
	/* Signers are forked by one long-lived thread: the signer's
	 * PR_SET_PDEATHSIG follows the thread that forked it. */
	pthread_t	 spawner;
	pthread_cond_t	 scv;
	int		 have_spawner, want, stop, src;
	char		 serr[KP_MSG_MAX + 64];
	char		**argv;		/* NULL-terminated */
};

/* Where the request's bytes come from: a buffer, or fd. */
struct kp_src {
	const unsigned char	*p;
	int			 fd;
	unsigned long long	 len;
};

/* Write to a channel; a dead peer is an error, never SIGPIPE. */
static int
send_full(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 r;

	while (len > 0) {
		if ((r = send(fd, p, len, MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void
put_hdr(unsigned char h[KP_HDR], int code, unsigned long long len)
{
	memset(h, 0, KP_HDR);
	h[0] = (unsigned char)code;		/* kind or status */
	h[1] = (unsigned char)(code >> 16);	/* issuer (KP_KIND) */
	h[2] = (unsigned char)(code >> 8);
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}

static unsigned long
get_len(const unsigned char h[KP_HDR])
{
	return (unsigned long)h[4] << 24 | (unsigned long)h[5] << 16 |
	    (unsigned long)h[6] << 8 | h[7];
}

/*
 * Read one answer: KP_OK with *body, a status with the message in err,
 * or -1 (the channel failed) with err set.
 */
/*
 * Read one answer (header and body, usually in one read): KP_OK with
 * *body, a status with the message in err, or -1 (the channel failed)
 * with err set.
 */
static int
read_answer(int fd, unsigned char **body, size_t *blen, char *err,
    size_t errlen)
{
	unsigned char	 b[KP_HDR + KP_MSG_MAX];
	size_t		 have = 0, want = KP_HDR;
	unsigned long	 n = 0;
	ssize_t		 r;
	char		 msg[KP_MSG_MAX + 1];

	*body = NULL;
	*blen = 0;
	while (have < want) {
		if ((r = read(fd, b + have, sizeof(b) - have)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "the signer process closed its "
			    "channel");
			return -1;
		}
		have += (size_t)r;
		if (have >= KP_HDR && want == KP_HDR) {
			n = get_len(b);
			if ((b[0] != KP_OK && b[0] != KP_REFUSED &&
			    b[0] != KP_UNAVAILABLE) || n > KP_MSG_MAX) {
				snprintf(err, errlen, "the signer process "
				    "answered an unknown status or length");
				return -1;
			}
			want = KP_HDR + n;
		}
	}
	if (have != want) {
		snprintf(err, errlen, "the signer process answered more than "
		    "it was asked");
		return -1;
	}
	if (b[0] != KP_OK) {
		snprintf(err, errlen, "%s", log_safe((char *)b + KP_HDR, n,
		    msg, sizeof(msg)));
		return b[0];
	}
	*body = xcalloc(1, n + 1);
	memcpy(*body, b + KP_HDR, n);
	*blen = n;
	return KP_OK;
}

static int	 reap(struct keyproc *);

/* Build the signer's command line once (nothing is allocated after fork):
 * the fixed arguments, then id, directory and key of each issuer. */
static void
make_argv(struct keyproc *kp, const struct conf *c,
    const struct kp_issuer *iss, int niss)
{
	char	 n[16], pp[16];
	int	 i;

	snprintf(n, sizeof(n), "%d", kp->nchan);
	snprintf(pp, sizeof(pp), "%ld", (long)getpid());
	kp->argv = xcalloc(KP_NARGS + 1 + 3 * (size_t)niss, sizeof(char *));
	kp->argv[0] = xstrdup("certspool");
	kp->argv[1] = xstrdup(KEYPROC_ARG);
	kp->argv[2] = xstrdup(c->ca_dir);
	kp->argv[3] = xstrdup(c->ca_key);
	kp->argv[4] = xstrdup(c->pkcs11_module);
	kp->argv[5] = xstrdup(c->pkcs11_pin_file);
	kp->argv[6] = xstrdup(n);
	kp->argv[7] = xstrdup(pp);
	for (i = 0; i < niss; i++) {
		snprintf(n, sizeof(n), "%d", iss[i].id);
		kp->argv[8 + 3 * i] = xstrdup(n);
		kp->argv[9 + 3 * i] = xstrdup(iss[i].dir);
		kp->argv[10 + 3 * i] = xstrdup(iss[i].key);
	}
}

/* In the child between fork and exec: channels to 3.., then exec. */
static void
child_exec(struct keyproc *kp, const int *cfd)
{
	sigset_t	 none;
	int		 i, null, tmp[KP_MAXCHAN];

	/* The spawner blocks every signal; the signer takes them. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 0; i < kp->nchan; i++)
		if ((tmp[i] = fcntl(cfd[i], F_DUPFD_CLOEXEC, 3 + kp->nchan)) ==
		    -1)
			_exit(127);
	for (i = 0; i < kp->nchan; i++)
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(127);
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* The running program itself, even if replaced on disk since. */
	execv(KP_EXE, kp->argv);
	_exit(127);
}

/* Fork and exec a signer; wait for its first answer.  Lock held. */
static int
spawn(struct keyproc *kp, char *err, size_t errlen)
{
	int		 cfd[KP_MAXCHAN], sv[2], i, rc = -1, st;
	unsigned char	*b;
	size_t		 blen;

	for (i = 0; i < kp->nchan; i++)
		kp->fd[i] = cfd[i] = -1;
	for (i = 0; i < kp->nchan; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ==
		    -1) {
			snprintf(err, errlen, "socketpair: %s",
			    strerror(errno));
			goto out;
		}
		kp->fd[i] = sv[0];
		cfd[i] = sv[1];
	}
	if ((kp->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (kp->pid == 0)
		child_exec(kp, cfd);
	for (i = 0; i < kp->nchan; i++) {
		close(cfd[i]);
		cfd[i] = -1;
	}
	if ((st = read_answer(kp->fd[0], &b, &blen, err, errlen)) != KP_OK)
		goto out;
	free(b);
	kp->gen++;
	kp->dead = 0;
	rc = 0;
 out:
	for (i = 0; i < kp->nchan; i++)
		if (cfd[i] != -1)
			close(cfd[i]);
	if (rc == -1)
		reap(kp);
	return rc;
}

/* Kill (if it still runs) and reap the signer, close our ends; its
 * wait status, or -1. */
static int
reap(struct keyproc *kp)
{
	int	 i, status = -1;

	for (i = 0; i < kp->nchan; i++)
		if (kp->fd[i] != -1) {
			close(kp->fd[i]);
			kp->fd[i] = -1;
		}
	if (kp->pid <= 0)
		return -1;
	kill(kp->pid, SIGKILL);
	while (waitpid(kp->pid, &status, 0) == -1 && errno == EINTR)
		continue;
	kp->pid = -1;
	return status;
}

/* The spawner thread: start a signer whenever one is wanted. */
static void *
spawner(void *arg)
{
	struct keyproc	*kp = arg;
	long		 old;
	int		 st;

	pthread_mutex_lock(&kp->mu);
	for (;;) {
		while (!kp->want && !kp->stop)
			pthread_cond_wait(&kp->scv, &kp->mu);
		if (kp->stop)
			break;
		if ((old = kp->pid) > 0) {
			st = reap(kp);
			log_warn("signer process %ld ended (%s %d); starting a "
			    "new one", old, st != -1 && WIFSIGNALED(st) ?
			    "signal" : "status", st == -1 ? -1 :
			    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
		if ((kp->src = spawn(kp, kp->serr, sizeof(kp->serr))) == 0 &&
		    kp->gen > 1)
			log_info("signer process %ld started", (long)kp->pid);
		kp->want = 0;
		pthread_cond_broadcast(&kp->cv);
	}
	pthread_mutex_unlock(&kp->mu);
	return NULL;
}

/* Have the spawner start a signer and wait for it.  Lock held. */
static int
respawn(struct keyproc *kp, char *err, size_t errlen)
{
	kp->want = 1;
	pthread_cond_signal(&kp->scv);
	while (kp->want)
		pthread_cond_wait(&kp->cv, &kp->mu);
	if (kp->src == -1)
		snprintf(err, errlen, "%s", kp->serr);
	return kp->src;
}

struct keyproc *
keyproc_start(const struct conf *c, char *err, size_t errlen)
{
	return keyproc_start_issuers(c, NULL, 0, err, errlen);
}

struct keyproc *
keyproc_start_issuers(const struct conf *c, const struct kp_issuer *iss,
    int niss, char *err, size_t errlen)
{
	struct keyproc	*kp;
	sigset_t	 all, old;
	int		 rc;

	if (niss < 0 || niss > KP_MAXISSUERS) {
		snprintf(err, errlen, "%d retired issuers; the signer holds at "
		    "most %d", niss, KP_MAXISSUERS);
		return NULL;
	}
	kp = xcalloc(1, sizeof(*kp));
	kp->nchan = (c->workers > 0 ? c->workers : 1) + 1;
	if (kp->nchan > KP_MAXCHAN)
		kp->nchan = KP_MAXCHAN;
	kp->fd = xcalloc((size_t)kp->nchan, sizeof(*kp->fd));
	kp->busy = xcalloc((size_t)kp->nchan, 1);
	kp->pid = -1;
	pthread_mutex_init(&kp->mu, NULL);
	pthread_cond_init(&kp->cv, NULL);
	pthread_cond_init(&kp->scv, NULL);
	make_argv(kp, c, iss, niss);
	/* No signal for the spawner thread (the daemon's SIGHUP thread). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&kp->spawner, NULL, spawner, kp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a thread");
		keyproc_stop(kp);
		return NULL;
	}
	kp->have_spawner = 1;
	pthread_mutex_lock(&kp->mu);
	rc = respawn(kp, err, errlen);
	pthread_mutex_unlock(&kp->mu);
	if (rc == -1) {
		keyproc_stop(kp);
		return NULL;
	}
	return kp;
}

void
keyproc_stop(struct keyproc *kp)
{
	int	 i, status;

	if (kp == NULL)
		return;
	/* EOF on its channels: the signer exits by itself. */
	for (i = 0; i < kp->nchan; i++)
		if (kp->fd[i] != -1) {
			close(kp->fd[i]);
			kp->fd[i] = -1;
		}
	if (kp->pid > 0)
		while (waitpid(kp->pid, &status, 0) == -1 && errno == EINTR)
			continue;
	if (kp->have_spawner) {
		pthread_mutex_lock(&kp->mu);
		kp->stop = 1;
		pthread_cond_signal(&kp->scv);
		pthread_mutex_unlock(&kp->mu);
		pthread_join(kp->spawner, NULL);
	}
	for (i = 0; kp->argv != NULL && kp->argv[i] != NULL; i++)
		free(kp->argv[i]);
	free(kp->argv);
	pthread_mutex_destroy(&kp->mu);
	pthread_cond_destroy(&kp->cv);
	pthread_cond_destroy(&kp->scv);
	free(kp->fd);
	free(kp->busy);
	free(kp);
}

int
keyproc_pid(const struct keyproc *kp)
{
	return kp == NULL ? -1 : (int)kp->pid;
}

/* Take a free channel, starting a new signer first if the last died. */
static int
chan_get(struct keyproc *kp, unsigned int *gen, char *err, size_t errlen)
{
	int	 i;

	pthread_mutex_lock(&kp->mu);
	for (;;) {
		if (kp->dead && kp->nbusy == 0 &&
		    respawn(kp, err, errlen) == -1) {
			pthread_mutex_unlock(&kp->mu);
			return -1;
		}
		if (!kp->dead)
			for (i = 0; i < kp->nchan; i++)
				if (!kp->busy[i])
					goto found;
		pthread_cond_wait(&kp->cv, &kp->mu);
	}
 found:
	kp->busy[i] = 1;
	kp->nbusy++;
	*gen = kp->gen;
	pthread_mutex_unlock(&kp->mu);
	return i;
}

/* Give a channel back; failed: the signer is broken, kill it. */
static void
chan_put(struct keyproc *kp, int i, unsigned int gen, int failed)
{
	pthread_mutex_lock(&kp->mu);
	kp->busy[i] = 0;
	kp->nbusy--;
	if (failed && gen == kp->gen && !kp->dead) {
		kp->dead = 1;
		if (kp->pid > 0)
			kill(kp->pid, SIGKILL);
	}
	pthread_cond_broadcast(&kp->cv);
	pthread_mutex_unlock(&kp->mu);
}

/* Send the request's bytes from src. */
static int
send_src(int fd, const struct kp_src *src)
{
	unsigned char		 buf[65536];
	unsigned long long	 left = src->len, off = 0;
	ssize_t			 r;

	if (src->p != NULL)
		return send_full(fd, src->p, (size_t)src->len);
	while (left > 0) {
		r = pread(src->fd, buf, left < sizeof(buf) ? (size_t)left :
		    sizeof(buf), (off_t)off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -2;
		if (send_full(fd, buf, (size_t)r) == -1)
			return -1;
		left -= (unsigned long long)r;
		off += (unsigned long long)r;
	}
	return 0;
}

/* Header and TBS; from a buffer in one sendmsg when it takes it all. */
static int
send_req(int fd, unsigned char h[KP_HDR], const struct kp_src *src)
{
	struct iovec	 iov[2];
	struct msghdr	 m;
	ssize_t		 r;

	if (src->p == NULL)
		return send_full(fd, h, KP_HDR) == -1 ? -1 : send_src(fd, src);
	iov[0].iov_base = h;
	iov[0].iov_len = KP_HDR;
	iov[1].iov_base = (void *)src->p;
	iov[1].iov_len = (size_t)src->len;
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	while ((r = sendmsg(fd, &m, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		continue;
	if (r == -1)
		return -1;
	if ((size_t)r < KP_HDR)
		return send_full(fd, h + r, KP_HDR - (size_t)r) == -1 ? -1 :
		    send_full(fd, src->p, (size_t)src->len);
	return send_full(fd, src->p + (r - KP_HDR), (size_t)src->len -
	    (size_t)(r - KP_HDR));
}

/* One request on one channel; -1: the channel failed. */
static int
request(struct keyproc *kp, int kind, const struct kp_src *src,
    unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	unsigned char	 h[KP_HDR];
	unsigned int	 gen;
	int		 i, st, r;

	if ((i = chan_get(kp, &gen, err, errlen)) == -1)
		return -1;
	put_hdr(h, kind, src->len);
	if ((r = send_req(kp->fd[i], h, src)) == -1) {
		snprintf(err, errlen, "the signer process closed its channel");
		st = -1;
	} else if (r == -2) {
		/* Our own file failed mid-request: the channel is out of
		 * step, so this signer goes; the caller sees the error. */
		snprintf(err, errlen, "reading the TBS to sign: %s",
		    errno ? strerror(errno) : "short read");
		chan_put(kp, i, gen, 1);
		return -2;
	} else
		st = read_answer(kp->fd[i], sig, siglen, err, errlen);
	chan_put(kp, i, gen, st == -1);
	return st;
}

static int
sign_src(struct keyproc *kp, int kind, const struct kp_src *src,
    unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	unsigned long	 max = (kind & 0xff) == KP_CRL ? KP_CRL_MAX :
			    KP_CERT_MAX;
	int		 st, try;

	*sig = NULL;
	*siglen = 0;
	if (kp == NULL) {
		snprintf(err, errlen, "no signer process");
		return -1;
	}
	if (src->len == 0 || src->len > max) {
		snprintf(err, errlen, "a TBS of %llu bytes; the signer takes "
		    "1 to %lu", src->len, max);
		return KP_REFUSED;
	}
	for (try = 0; try < 2; try++) {
		st = request(kp, kind, src, sig, siglen, err, errlen);
		if (st != -1)
			break;
		log_warn("signer: %s", err);
	}
	return st == -2 ? -1 : st;
}

int
keyproc_sign(struct keyproc *kp, int kind, const unsigned char *tbs,
    size_t len, unsigned char **sig, size_t *siglen, char *err,
    size_t errlen)
{
	struct kp_src	 src = { tbs, -1, len };

	return sign_src(kp, kind, &src, sig, siglen, err, errlen);
}

int
keyproc_sign_fd(struct keyproc *kp, int kind, int fd,
    unsigned long long len, unsigned char **sig, size_t *siglen, char *err,
    size_t errlen)
{
	struct kp_src	 src = { NULL, fd, len };

	return sign_src(kp, kind, &src, sig, siglen, err, errlen);
}

void
keyproc_dispatch(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], KEYPROC_ARG) == 0)
		exit(keyproc_main(argc - 2, argv + 2));
}
