/*
 * openwriters.c: which processes hold a file open for writing (Linux).
 * One walk of /proc answers for a whole set of files: every descriptor
 * of every process, /proc/PID/fd/N, is stat(2)ed (the link leads to the
 * open file itself, whatever its name now), and a descriptor of one of
 * the files asked about has its access mode read from
 * /proc/PID/fdinfo/N ("flags:", octal): O_WRONLY or O_RDWR is a writer.
 * Reading another process's descriptors needs the ptrace read check:
 * the same user, or CAP_SYS_PTRACE (root has it); a process this one may
 * not inspect is counted, and the caller told the answer is incomplete.
 * Failure policy: nothing here fails the caller; what cannot be seen is
 * reported as unknown, never as "no writer".
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

static int
ow_cmp(const void *a, const void *b)
{
	const struct ow_file	*x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

struct ow_file *
ow_find(struct ow_file *f, size_t n, dev_t dev, ino_t ino)
{
	struct ow_file	 key;

	memset(&key, 0, sizeof(key));
	key.dev = dev;
	key.ino = ino;
	return bsearch(&key, f, n, sizeof(*f), ow_cmp);
}

/* Read a small /proc file relative to procfd into buf; -1 if unreadable. */
static ssize_t
read_small(int procfd, const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(procfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The access mode of descriptor fd of pid: 1 written through, 0 not,
 * -1 unknown (gone or unreadable). */
static int
fd_writes(int procfd, const char *pid, const char *fd)
{
	char		 path[600], buf[512], *p;
	unsigned long	 flags;

	snprintf(path, sizeof(path), "%s/fdinfo/%s", pid, fd);
	if (read_small(procfd, path, buf, sizeof(buf)) == -1)
		return -1;
	if ((p = strstr(buf, "flags:")) == NULL)
		return -1;
	flags = strtoul(p + 6, NULL, 8);
	return (flags & O_ACCMODE) != O_RDONLY;
}

/* Our own effective capabilities include CAP_SYS_PTRACE (bit 19). */
static int
can_trace_all(int procfd)
{
	char			 buf[4096], *p;
	unsigned long long	 cap;

	if (read_small(procfd, "self/status", buf, sizeof(buf)) == -1 ||
	    (p = strstr(buf, "\nCapEff:")) == NULL)
		return 0;
	cap = strtoull(p + 8, NULL, 16);
	return (cap >> 19) & 1;
}

/* /proc is mounted with hidepid: processes we may not inspect are not
 * even listed. */
static int
proc_hides_pids(int procfd)
{
	char	 buf[16384], *line, *next;

	if (read_small(procfd, "self/mountinfo", buf, sizeof(buf)) == -1)
		return 1;
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - proc proc OPTS" */
		if (strstr(line, " /proc ") == NULL ||
		    strstr(line, " - proc ") == NULL)
			continue;
		if (strstr(line, "hidepid=") != NULL &&
		    strstr(line, "hidepid=0") == NULL &&
		    strstr(line, "hidepid=off") == NULL)
			return 1;
	}
	return 0;
}

/* Look at the descriptors of one process. */
static void
scan_pid(int procfd, const char *pid, struct ow_file *f, size_t n,
    size_t *unseen)
{
	char		 path[600];
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	struct ow_file	*hit;
	int		 dfd;

	snprintf(path, sizeof(path), "%s/fd", pid);
	if ((dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT && errno != ESRCH) {
			log_debug("/proc/%s/fd: %s", pid, strerror(errno));
			(*unseen)++;
		}
		return;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		(*unseen)++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (fstatat(dfd, de->d_name, &sb, 0) == -1) {
			if (errno == EACCES || errno == EPERM) {
				log_debug("/proc/%s/fd/%s: %s", pid, de->d_name,
				    strerror(errno));
				(*unseen)++;
				break;
			}
			continue;	/* closed meanwhile, or a dead link */
		}
		if (!S_ISREG(sb.st_mode) ||
		    (hit = ow_find(f, n, sb.st_dev, sb.st_ino)) == NULL ||
		    hit->pid != 0)
			continue;
		if (fd_writes(procfd, pid, de->d_name) != 1)
			continue;
		hit->pid = (pid_t)strtol(pid, NULL, 10);
		snprintf(path, sizeof(path), "%s/comm", pid);
		if (read_small(procfd, path, hit->comm, sizeof(hit->comm)) > 0)
			hit->comm[strcspn(hit->comm, "\n")] = '\0';
		else
			strlcpy_(hit->comm, "?", sizeof(hit->comm));
	}
	closedir(d);
}

int
ow_scan(struct ow_file *f, size_t n, size_t *unseen)
{
	DIR		*d;
	struct dirent	*de;
	char		 self[32];
	size_t		 i;
	int		 procfd;

	*unseen = 0;
	for (i = 0; i < n; i++) {
		f[i].pid = 0;
		f[i].comm[0] = '\0';
	}
	qsort(f, n, sizeof(*f), ow_cmp);
	if ((procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	if ((d = fdopendir(procfd)) == NULL) {
		close(procfd);
		return -1;
	}
	if (!can_trace_all(procfd) && proc_hides_pids(procfd))
		(*unseen)++;
	snprintf(self, sizeof(self), "%ld", (long)getpid());
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    strcmp(de->d_name, self) == 0)
			continue;
		scan_pid(procfd, de->d_name, f, n, unseen);
	}
	closedir(d);
	return 0;
}
