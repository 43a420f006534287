/*
 * t_journal.c: unit tests of log = journal (log.c: one datagram of the
 * journal's native protocol per line, the context as fields, nothing an
 * input holds can start a field) and of notify.c (no-ops without
 * NOTIFY_SOCKET; READY=1, STATUS=, STOPPING=1 and a rate-limited
 * WATCHDOG=1 on a socket of our own), linked from the real sources.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "t.h"

static char	 dir[] = "/tmp/certspool-journal.XXXXXX";

static int
bind_dgram(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The value of field key in a datagram of KEY=value lines; how many
 * times it occurs in *count; 0 if a line is not KEY=value. */
static int
field(const char *dg, const char *key, char *val, size_t len, int *count)
{
	const char	*l = dg, *nl, *eq;
	size_t		 k = strlen(key);

	*count = 0;
	val[0] = '\0';
	for (; *l != '\0'; l = nl + 1) {
		if ((nl = strchr(l, '\n')) == NULL ||
		    (eq = memchr(l, '=', (size_t)(nl - l))) == NULL ||
		    eq == l || strspn(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
		    != (size_t)(eq - l))
			return 0;
		if ((size_t)(eq - l) == k && strncmp(l, key, k) == 0) {
			(*count)++;
			snprintf(val, len, "%.*s", (int)(nl - eq - 1), eq + 1);
		}
	}
	return 1;
}

static void
test_journal(void)
{
	char	 p[512], got[16384], v[4096], err[512];
	ssize_t	 n;
	int	 fd, c, wellformed;

	snprintf(p, sizeof(p), "%s/no-such.sock", dir);
	T_CHECK(log_open("journal", LOGL_INFO, p, err, sizeof(err)) == -1,
	    "missing journal socket refused");
	T_CHECK(strstr(err, "log = journal: cannot connect to the journal "
	    "socket") != NULL && strstr(err, p) != NULL, "error: %s", err);
	T_CHECK(log_check("journal", p, err, sizeof(err)) == -1, "log_check");

	snprintf(p, sizeof(p), "%s/journal.sock", dir);
	T_CHECK((fd = bind_dgram(p)) != -1, "bind");
	T_CHECK(log_check("journal", p, err, sizeof(err)) == 0, "log_check ok");
	T_CHECK(log_open("journal", LOGL_INFO, p, err, sizeof(err)) == 0,
	    "journal opens: %s", err);
	log_ctx_set("acme", "HR-1", "EMP-1001", "jane@acme.example");
	log_ctx_put(LOGK_FILE, "a b\"c\nMESSAGE=forged");
	log_warn("name \"%s\"", "x\nPRIORITY=0\n\xff caf\xc3\xa9");
	log_ctx_clear();
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[n > 0 ? n : 0] = '\0';
	wellformed = field(got, "MESSAGE", v, sizeof(v), &c);
	T_CHECK(wellformed, "every line KEY=value: %s", got);
	T_CHECK(c == 1, "MESSAGE once: %d", c);
	T_STREQ(v, "name \"x\\x0aPRIORITY=0\\x0a\\xff caf\xc3\xa9\" "
	    "account=acme file=\"a b\\\"c\\x0aMESSAGE=forged\" batch=HR-1 "
	    "order=EMP-1001 recipient=jane@acme.example");
	field(got, "PRIORITY", v, sizeof(v), &c);
	T_CHECK(c == 1 && strcmp(v, "4") == 0, "PRIORITY=4 once: %s", v);
	field(got, "SYSLOG_IDENTIFIER", v, sizeof(v), &c);
	T_STREQ(v, "certspool");
	field(got, "ACCOUNT", v, sizeof(v), &c);
	T_STREQ(v, "acme");
	field(got, "FILE", v, sizeof(v), &c);
	T_STREQ(v, "a b\"c\\x0aMESSAGE=forged");
	field(got, "BATCH", v, sizeof(v), &c);
	T_STREQ(v, "HR-1");
	field(got, "ORDER", v, sizeof(v), &c);
	T_STREQ(v, "EMP-1001");
	field(got, "RECIPIENT", v, sizeof(v), &c);
	T_STREQ(v, "jane@acme.example");

	/* A line without context has no context fields. */
	log_info("plain");
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[n > 0 ? n : 0] = '\0';
	field(got, "ACCOUNT", v, sizeof(v), &c);
	T_CHECK(c == 0, "no ACCOUNT=: %s", got);
	field(got, "PRIORITY", v, sizeof(v), &c);
	T_STREQ(v, "6");

	/* The journal gone: the line goes to stderr, not nowhere. */
	close(fd);
	unlink(p);
	snprintf(p, sizeof(p), "%s/stderr.txt", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	c = dup(2);
	dup2(fd, 2);
	log_err("disk %s", "full");
	dup2(c, 2);
	close(c);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = '\0';
	close(fd);
	T_CHECK(strstr(got, "certspool: error: disk full\n") != NULL,
	    "journal gone: stderr: %s", got);
	log_open("stderr", LOGL_ERR, NULL, err, sizeof(err));
}

/* Without NOTIFY_SOCKET everything is a no-op (in a child: notify.c
 * reads its environment once per process). */
static void
test_notify_off(void)
{
	pid_t	 pid;
	int	 st = -1;

	if ((pid = fork()) == 0) {
		unsetenv("NOTIFY_SOCKET");
		setenv("WATCHDOG_USEC", "200000", 1);
		notify_ready();
		notify_watchdog();
		_exit(notify_enabled() == 0 && notify_watchdog_ms() == -1 ?
		    0 : 1);
	}
	waitpid(pid, &st, 0);
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "no-op without "
	    "NOTIFY_SOCKET");
}

/* notify.c reads its environment once: first without NOTIFY_SOCKET
 * would make it a no-op for good, so this test sets it first. */
static void
test_notify(void)
{
	char	 p[512], got[1024], all[8192];
	ssize_t	 n;
	int	 fd, watchdogs = 0;
	long	 ms;

	snprintf(p, sizeof(p), "%s/notify.sock", dir);
	T_CHECK((fd = bind_dgram(p)) != -1, "bind");
	setenv("NOTIFY_SOCKET", p, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	unsetenv("WATCHDOG_PID");
	T_CHECK(notify_enabled(), "enabled with NOTIFY_SOCKET");
	ms = notify_watchdog_ms();
	T_CHECK(ms == 100, "half the watchdog interval: %ld", ms);
	notify_ready();
	notify_status("%d orders open", 3);
	notify_watchdog();
	notify_watchdog();		/* too soon: not sent */
	notify_watchdog();
	usleep(120 * 1000);
	notify_watchdog();		/* half the interval later: sent */
	notify_stopping();
	all[0] = '\0';
	while ((n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT)) > 0) {
		got[n] = '\0';
		strncat(all, got, sizeof(all) - strlen(all) - 2);
		strcat(all, "|");
		if (strcmp(got, "WATCHDOG=1") == 0)
			watchdogs++;
	}
	T_STREQ(all, "READY=1|STATUS=3 orders open|WATCHDOG=1|WATCHDOG=1|"
	    "STOPPING=1|");
	T_CHECK(watchdogs == 2, "two pings, not four: %d", watchdogs);
	close(fd);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_journal();
	test_notify_off();
	test_notify();
	/* files of the test directory */
	{
		char	 p[512];

		snprintf(p, sizeof(p), "%s/stderr.txt", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/notify.sock", dir);
		unlink(p);
		rmdir(dir);
	}
	return t_done("t_journal");
}
