/*
 * fuzz_conf.c: libFuzzer target for the configuration reader, conf_load()
 * (conf.c).  Each input is written to one temporary file, in a private
 * directory made at start-up and removed at exit, and loaded from there.
 * Besides the sanitizers, the target checks the contract (extern.h): a
 * config, or NULL with one line in err.
 *
 * Failure policy: a setup failure aborts before fuzzing; a broken
 * contract aborts (a crash for libFuzzer).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 dir[PATH_MAX];
static char	 path[PATH_MAX];

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_conf: contract broken: %s\n", what);
	abort();
}

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
	if (dir[0] != '\0')
		rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp;

	(void)argc;
	(void)argv;
	log_init("stderr", 0);		/* logx drops every level above 0 */
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_conf.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_conf: mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/certspool.conf", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		 err[512];
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || fs_write_all(fd, data, size) == -1 ||
	    close(fd) == -1) {
		perror("fuzz_conf: write");
		abort();
	}
	err[0] = '\0';
	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			broken("NULL without one line in err");
	} else {
		if (c->spool_dir == NULL || c->spool_dir[0] != '/' ||
		    c->database == NULL || c->database[0] != '/' ||
		    c->ca_dir == NULL || c->ca_dir[0] != '/')
			broken("a path left relative");
		if (c->workers < 1)
			broken("no workers");
	}
	conf_free(c);
	return 0;
}
