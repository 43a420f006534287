/*
 * sysfilter.c: run a command under the system call allow-list a systemd
 * unit's SystemCallFilter= would give it, as systemd applies it: no new
 * privileges, then a seccomp filter (libseccomp) that kills the process
 * on any call not in the list.  The list is a file of names, one a line
 * (t91 expands @system-service with systemd-analyze syscall-filter);
 * names this libseccomp does not know are skipped, as systemd does.
 * usage: sysfilter LIST CMD [ARG...]; exit 111 if the filter cannot be
 * set up, else CMD's exec.
 */
#include <sys/prctl.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

int
main(int argc, char *argv[])
{
	scmp_filter_ctx	 ctx;
	FILE		*f;
	char		 line[128];
	int		 nr;

	if (argc < 3) {
		fprintf(stderr, "usage: sysfilter LIST CMD [ARG...]\n");
		return 111;
	}
	if ((f = fopen(argv[1], "r")) == NULL ||
	    (ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		perror(argv[1]);
		return 111;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#' || line[0] == '@')
			continue;
		if ((nr = seccomp_syscall_resolve_name(line)) == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
			fprintf(stderr, "sysfilter: %s: cannot allow\n", line);
			return 111;
		}
	}
	fclose(f);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    seccomp_load(ctx) < 0) {
		perror("sysfilter: seccomp");
		return 111;
	}
	seccomp_release(ctx);
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 111;
}
