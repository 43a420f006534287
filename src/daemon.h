/* daemon.h: the daemon loop (daemon.c). */
#ifndef CERTSPOOL_DAEMON_H
#define CERTSPOOL_DAEMON_H

struct slice;
/* One pass; sl (fairq.h) limits its evaluation and signing, or NULL. */
int	 daemon_pass(struct store *, const struct conf *,
	    const struct schema *, const struct ca *, struct slice *);
/* Runs until SIGTERM (or one pass with once); returns the exit status.
 * *conf may be replaced on SIGHUP. */
int	 daemon_run(struct conf **, struct store *, const char *confpath,
	    int once, struct keyproc *);

#endif
