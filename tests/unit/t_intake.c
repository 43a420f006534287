/*
 * t_intake: name_escape (fsutil.c) and the /proc walk that finds
 * processes holding a file open for writing (openwriters.c).  Child
 * processes hold a temporary file open for writing, for reading, or not
 * at all; the walk must name the writer's pid and only it.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "extern.h"
#include "t.h"

static void
t_escape(void)
{
	char	 out[64], small[12];

	name_escape("plain-Name_1.xml", out, sizeof(out));
	T_STREQ(out, "plain-Name_1.xml");
	name_escape("caf\xe9 x.xml", out, sizeof(out));
	T_STREQ(out, "caf\\xe9 x.xml");
	name_escape("a\\b\nc\033d\x7f", out, sizeof(out));
	T_STREQ(out, "a\\x5cb\\x0ac\\x1bd\\x7f");
	name_escape("", out, sizeof(out));
	T_STREQ(out, "");
	/* Too long: whole escapes only, then "..." within the buffer. */
	name_escape("abcdefghijklmnop", small, sizeof(small));
	T_STREQ(small, "abcdefgh...");	/* 11 bytes and the NUL */
	name_escape("abc\xff\xff\xff", small, sizeof(small));
	T_STREQ(small, "abc\\xff...");
	/* Exactly fitting: no "...". */
	name_escape("\xff\xff", small, 9);
	T_STREQ(small, "\\xff\\xff");
}

/* A child that opens path with flags and waits; its pid. */
static pid_t
holder(const char *path, int flags, int ready[2])
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) != 0)
		return pid;
	close(ready[0]);
	if ((fd = open(path, flags)) == -1)
		_exit(1);
	(void)write(ready[1], "x", 1);
	pause();
	_exit(0);
}

static pid_t
start(const char *path, int flags)
{
	int	 p[2];
	char	 c;
	pid_t	 pid;

	if (pipe(p) == -1)
		abort();
	pid = holder(path, flags, p);
	close(p[1]);
	T_CHECK(read(p[0], &c, 1) == 1, "holder %ld opened %s", (long)pid,
	    path);
	close(p[0]);
	return pid;
}

static void
stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void
t_writers(void)
{
	char		 dir[] = "/tmp/t_intake.XXXXXX", a[64], b[64], c[64];
	struct ow_file	 f[3];
	struct stat	 sa, sb, sc;
	struct ow_file	*hit;
	size_t		 unseen;
	pid_t		 w, r, rw;
	int		 fd;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(a, sizeof(a), "%s/written.xml", dir);
	snprintf(b, sizeof(b), "%s/read.xml", dir);
	snprintf(c, sizeof(c), "%s/idle.xml", dir);
	fd = open(a, O_WRONLY | O_CREAT, 0600);
	close(fd);
	fd = open(b, O_WRONLY | O_CREAT, 0600);
	close(fd);
	fd = open(c, O_WRONLY | O_CREAT, 0600);
	close(fd);
	stat(a, &sa);
	stat(b, &sb);
	stat(c, &sc);

	w = start(a, O_WRONLY | O_APPEND);
	r = start(b, O_RDONLY);
	memset(f, 0, sizeof(f));
	f[0].dev = sa.st_dev; f[0].ino = sa.st_ino; f[0].idx = 0;
	f[1].dev = sb.st_dev; f[1].ino = sb.st_ino; f[1].idx = 1;
	f[2].dev = sc.st_dev; f[2].ino = sc.st_ino; f[2].idx = 2;
	T_CHECK(ow_scan(f, 3, &unseen) == 0, "scan");
	hit = ow_find(f, 3, sa.st_dev, sa.st_ino);
	T_CHECK(hit != NULL && hit->idx == 0 && hit->pid == w,
	    "writer found: pid %ld, want %ld", hit ? (long)hit->pid : -1L,
	    (long)w);
	T_CHECK(hit != NULL && hit->comm[0] != '\0', "writer's name read");
	hit = ow_find(f, 3, sb.st_dev, sb.st_ino);
	T_CHECK(hit != NULL && hit->idx == 1 && hit->pid == 0,
	    "a reader is no writer (pid %ld)", hit ? (long)hit->pid : -1L);
	hit = ow_find(f, 3, sc.st_dev, sc.st_ino);
	T_CHECK(hit != NULL && hit->pid == 0, "a file nobody holds");
	stop(r);

	/* O_RDWR counts as writing; after the writer exits, nobody. */
	rw = start(b, O_RDWR);
	stop(w);
	T_CHECK(ow_scan(f, 3, &unseen) == 0, "scan again");
	hit = ow_find(f, 3, sb.st_dev, sb.st_ino);
	T_CHECK(hit != NULL && hit->pid == rw, "O_RDWR is a writer");
	hit = ow_find(f, 3, sa.st_dev, sa.st_ino);
	T_CHECK(hit != NULL && hit->pid == 0, "closed by exit: no writer");
	stop(rw);

	/* Our own descriptors are not looked at (the daemon writes no
	 * inbound file). */
	fd = open(c, O_WRONLY);
	T_CHECK(ow_scan(f, 3, &unseen) == 0, "scan self");
	hit = ow_find(f, 3, sc.st_dev, sc.st_ino);
	T_CHECK(hit != NULL && hit->pid == 0, "self skipped");
	close(fd);
	unlink(a);
	unlink(b);
	unlink(c);
	rmdir(dir);
}

int
main(void)
{
	t_escape();
	t_writers();
	return t_done("t_intake");
}
