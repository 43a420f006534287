/*
 * card.c: the card processor client.  certspool never sees a card
 * number: an order carries a processor's token, and this module asks
 * the processor configured as card_processor_command to authorize,
 * capture or release an amount.  The command is run with /bin/sh -c;
 * it reads one JSON object on stdin and writes one on stdout:
 *
 *   in:  {"op": "authorize", "reference": "...", "token": "tok_...",
 *         "amount": 4900, "currency": "USD", "account": "acme",
 *         "order": "EMP-1001", "description": "..."}
 *        {"op": "capture" | "release", "reference": "...",
 *         "authorization": "auth_...", "amount": 4900, ...}
 *   out: {"ok": true, "id": "auth_..."}
 *        {"ok": false, "error": "card_declined", "message": "..."}
 *
 * The reference is the idempotency key: the same reference must give
 * the same answer, so a retry after a crash never authorizes or
 * captures twice.
 * Failure policy: "ok": false is the processor's refusal (final); a
 * command that cannot run, times out (CARD_TIMEOUT), exits non-zero or
 * answers unreadable JSON is CARD_UNAVAILABLE, retried later.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "billing.h"

#define CARD_TIMEOUT	30		/* seconds */
#define CARD_MAXOUT	65536

static void
json_str(struct buf *b, const char *key, const char *v)
{
	const unsigned char	*p;

	if (v == NULL)
		return;
	buf_addf(b, "%s\"%s\": \"", b->len > 1 ? ", " : "", key);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p < 0x20)
			buf_addf(b, "\\u%04x", *p);
		else
			buf_add(b, p, 1);
	}
	buf_add(b, "\"", 1);
}

/*
 * The value of a top-level key of a flat JSON object: strings (with
 * the usual escapes; \u to '?' outside ASCII), true/false, numbers.
 * 0 and the text in out, or -1 if absent or the object is malformed.
 */
static int
json_get(const char *js, const char *key, char *out, size_t outlen)
{
	const char	*p = js;
	char		 k[64], v[512];
	size_t		 n;
	int		 i;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != '{')
		return -1;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == ',')
			p++;
		if (*p == '}' || *p == '\0')
			return -1;
		for (i = 0; i < 2; i++) {
			char	*dst = i == 0 ? k : v;
			size_t	 cap = i == 0 ? sizeof(k) : sizeof(v);

			n = 0;
			if (*p == '"') {
				for (p++; *p != '"'; p++) {
					char	 ch = *p;

					if (*p == '\0')
						return -1;
					if (*p == '\\') {
						p++;
						ch = *p == 'n' ? '\n' : *p == 't' ?
						    '\t' : *p == 'u' ? '?' : *p;
						if (*p == 'u') {
							if (strlen(p) < 5)
								return -1;
							p += 4;
						}
						if (*p == '\0')
							return -1;
					}
					if (n + 1 < cap)
						dst[n++] = ch;
				}
				p++;
			} else if (i == 1) {
				while (*p != '\0' && *p != ',' && *p != '}' &&
				    *p != ' ' && *p != '\n' && *p != '\r' &&
				    *p != '\t') {
					if (*p == '{' || *p == '[')
						return -1;	/* flat only */
					if (n + 1 < cap)
						dst[n++] = *p;
					p++;
				}
			} else
				return -1;
			dst[n] = '\0';
			if (i == 0) {
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p++ != ':')
					return -1;
				while (*p == ' ' || *p == '\t' || *p == '\n')
					p++;
			}
		}
		if (strcmp(k, key) == 0) {
			strlcpy_(out, v, outlen);
			return 0;
		}
	}
}

/* Run cmd with in on stdin; its stdout (at most CARD_MAXOUT) in out. */
static int
run_cmd(const char *cmd, const struct buf *in, struct buf *out)
{
	char *const	 argv[] = { "sh", "-c", (char *)cmd, NULL };
	int		 ip[2] = { -1, -1 }, op[2] = { -1, -1 }, status = 0;
	long long	 deadline = mono_ms() + CARD_TIMEOUT * 1000LL;
	size_t		 off = 0;
	struct sigaction ign, old;
	pid_t		 pid, r;
	int		 rc = -1, killed = 0;

	/* A processor that quits early is an error, not our death. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &ign, &old);
	if (pipe2(ip, O_CLOEXEC) == -1 || pipe2(op, O_CLOEXEC) == -1) {
		log_err("card processor: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		log_err("card processor: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		child_reset();
		if (dup2(ip[0], STDIN_FILENO) == -1 ||
		    dup2(op[1], STDOUT_FILENO) == -1)
			_exit(127);
		execv("/bin/sh", argv);
		_exit(127);
	}
	(void)setpgid(pid, pid);
	close(ip[0]);
	close(op[1]);
	ip[0] = op[1] = -1;
	(void)fcntl(ip[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(op[0], F_SETFL, O_NONBLOCK);
	while (op[0] != -1) {
		struct pollfd	 pfd[2];
		nfds_t		 np = 0;
		long long	 left = deadline - mono_ms();
		unsigned char	 chunk[4096];
		ssize_t		 n;

		if (left <= 0) {
			killed = 1;
			break;
		}
		pfd[np].fd = op[0];
		pfd[np++].events = POLLIN;
		if (ip[1] != -1) {
			pfd[np].fd = ip[1];
			pfd[np++].events = POLLOUT;
		}
		if (poll(pfd, np, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ip[1] != -1 && pfd[1].revents != 0) {
			n = write(ip[1], in->p + off, in->len - off);
			if (n > 0)
				off += (size_t)n;
			if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
			    off == in->len) {
				close(ip[1]);
				ip[1] = -1;
			}
		}
		if (pfd[0].revents != 0) {
			n = read(op[0], chunk, sizeof(chunk));
			if (n > 0 && out->len + (size_t)n <= CARD_MAXOUT)
				buf_add(out, chunk, (size_t)n);
			else if (n == 0 || (n == -1 && errno != EAGAIN &&
			    errno != EINTR)) {
				close(op[0]);
				op[0] = -1;
			}
		}
	}
	if (killed || op[0] != -1) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	}
	while ((r = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		continue;
	if (killed) {
		log_err("card processor: timed out after %d s, killed",
		    CARD_TIMEOUT);
		goto out;
	}
	if (r == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_err("card processor: exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	buf_add(out, "", 1);
	rc = 0;
out:
	if (ip[0] != -1)
		close(ip[0]);
	if (ip[1] != -1)
		close(ip[1]);
	if (op[0] != -1)
		close(op[0]);
	if (op[1] != -1)
		close(op[1]);
	(void)sigaction(SIGPIPE, &old, NULL);
	return rc;
}

enum card_rc
card_call(const struct conf *c, const struct card_req *q,
    struct card_resp *resp)
{
	struct buf	 in = { 0 }, out = { 0 };
	char		 ok[16];
	enum card_rc	 rc = CARD_UNAVAILABLE;

	memset(resp, 0, sizeof(*resp));
	if (c->card_processor_command == NULL ||
	    c->card_processor_command[0] == '\0') {
		strlcpy_(resp->message, "no card processor is configured "
		    "(card_processor_command)", sizeof(resp->message));
		return CARD_UNAVAILABLE;
	}
	buf_add(&in, "{", 1);
	json_str(&in, "op", q->op);
	json_str(&in, "reference", q->reference);
	json_str(&in, "token", q->token);
	json_str(&in, "authorization", q->authorization);
	buf_addf(&in, ", \"amount\": %lld", q->amount);
	json_str(&in, "currency", q->currency);
	json_str(&in, "account", q->account);
	json_str(&in, "order", q->order);
	json_str(&in, "description", q->description);
	buf_add(&in, "}\n", 2);
	if (run_cmd(c->card_processor_command, &in, &out) == -1) {
		strlcpy_(resp->message, "the card processor did not answer",
		    sizeof(resp->message));
		goto out;
	}
	if (json_get((const char *)out.p, "ok", ok, sizeof(ok)) == -1) {
		log_err("card processor: %s %s: unreadable answer", q->op,
		    q->reference);
		strlcpy_(resp->message, "unreadable answer from the card "
		    "processor", sizeof(resp->message));
		goto out;
	}
	(void)json_get((const char *)out.p, "message", resp->message,
	    sizeof(resp->message));
	if (strcmp(ok, "true") == 0) {
		if (json_get((const char *)out.p, "id", resp->id,
		    sizeof(resp->id)) == -1 || resp->id[0] == '\0') {
			strlcpy_(resp->message, "the card processor answered "
			    "without an id", sizeof(resp->message));
			goto out;
		}
		rc = CARD_OK;
	} else {
		if (json_get((const char *)out.p, "error", resp->error,
		    sizeof(resp->error)) == -1)
			strlcpy_(resp->error, "card_refused",
			    sizeof(resp->error));
		rc = CARD_REFUSED;
	}
out:
	buf_free(&in);
	buf_free(&out);
	return rc;
}
