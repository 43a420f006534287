/*
 * keysandbox.c: what the signer process (keysign.c) may still do once
 * its key is loaded, on Linux: no new privileges, not dumpable, no core
 * files, no file growth, no more descriptors than it holds, and a
 * seccomp filter (libseccomp) that allows only the system calls signing
 * needs: reading and writing its channels, threads waiting on each
 * other, memory, the clock, random numbers and exiting.  With a PKCS#11
 * key the module may also open files read-only, look at, lock and close
 * them (SoftHSM2 reads its token files on each operation).  Any other
 * call fails with EPERM, so the operation that made it fails and is
 * answered as an error rather than killing the process.
 *
 * A build with AddressSanitizer (make SANITIZE=address, the tests'
 * second pass) keeps every restriction but also allows what the
 * sanitizer's runtime calls (alternate signal stacks, reading
 * /proc/self/maps read-only, resource limits), leaves descriptors to
 * spare, and turns LeakSanitizer's exit check off in the restricted
 * process (it would need ptrace).
 *
 * Failure policy: any step that cannot be applied is an error; the
 * signer then refuses to start (it never runs unrestricted).
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>

#include "extern.h"
#include "keyproc.h"

#define KS_P11_FILES	64	/* descriptors a token module may open */

#if defined(__SANITIZE_ADDRESS__)
#define KS_SPARE_FILES	64
static const int asan_allowed[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(close), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(lseek), SCMP_SYS(pread64),
};
static int	 sandboxed;

int	 __lsan_is_turned_off(void);

/* LeakSanitizer's hook: no leak check in the restricted process. */
int
__lsan_is_turned_off(void)
{
	return sandboxed;
}
#else
#define KS_SPARE_FILES	0
#endif

static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(futex), SCMP_SYS(mmap), SCMP_SYS(munmap),
	SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(getrandom), SCMP_SYS(sched_yield),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(restart_syscall), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
};

/* What SoftHSM2 (and file-backed modules like it) use, read-only, and
 * what a module that talks to its HSM over a socket needs. */
static const int p11_allowed[] = {
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(statx), SCMP_SYS(lseek), SCMP_SYS(pread64),
	SCMP_SYS(flock), SCMP_SYS(fcntl), SCMP_SYS(getdents64),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(sysinfo), SCMP_SYS(fsync),
	/* a module that reaches its HSM over a socket, when it reconnects */
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(shutdown),
};

/* The highest descriptor open now. */
static int
max_fd(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 fd, max = 2;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 1024;
	while ((e = readdir(d)) != NULL)
		if ((fd = atoi(e->d_name)) > max && fd != dirfd(d))
			max = fd;
	closedir(d);
	return max;
}

static int
limits(int pkcs11, char *err, size_t errlen)
{
	struct rlimit	 zero = { 0, 0 }, nf;

	nf.rlim_cur = nf.rlim_max = (rlim_t)max_fd() + 1 +
	    (pkcs11 ? KS_P11_FILES : 0) + KS_SPARE_FILES;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    setrlimit(RLIMIT_CORE, &zero) == -1 ||
	    setrlimit(RLIMIT_FSIZE, &zero) == -1 ||
	    setrlimit(RLIMIT_NOFILE, &nf) == -1) {
		snprintf(err, errlen, "restricting the signer process: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
rules(scmp_filter_ctx ctx, int pkcs11)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i],
		    0)) < 0)
			return r;
#if defined(__SANITIZE_ADDRESS__)
	for (i = 0; i < sizeof(asan_allowed) / sizeof(asan_allowed[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, asan_allowed[i],
		    0)) < 0)
			return r;
	sandboxed = 1;
#endif
	if (!pkcs11)
#if defined(__SANITIZE_ADDRESS__)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat),
		    1, SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY));
#else
		return 0;
#endif
	for (i = 0; i < sizeof(p11_allowed) / sizeof(p11_allowed[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p11_allowed[i],
		    0)) < 0)
			return r;
	/* open and openat for reading only: O_ACCMODE bits O_RDONLY. */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY));
}

int
ks_sandbox(int pkcs11, char *err, size_t errlen)
{
	scmp_filter_ctx	 ctx;
	int		 r;

	if (limits(pkcs11, err, errlen) == -1)
		return -1;
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* Every thread (they wait for us at a barrier) gets the filter. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = rules(ctx, pkcs11)) < 0 || (r = seccomp_load(ctx)) < 0) {
		snprintf(err, errlen, "seccomp filter: %s", strerror(-r));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}
