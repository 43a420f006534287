/*
 * purge.h: retention of the spool's files (purge.c): delivered mail,
 * archived inputs and outbound files past their *_retention_days.
 */
#ifndef CERTSPOOL_PURGE_H
#define CERTSPOOL_PURGE_H

#include <stdio.h>

#include "extern.h"

/* What one purge removed (a dry run: would remove) and what was due by
 * age but kept. */
struct purge_counts {
	size_t	 mail;		/* delivered messages */
	size_t	 archive;	/* archived inputs */
	size_t	 card;		/* archived inputs that held a card number */
	size_t	 outbound;	/* results and certificate archives */
	size_t	 kept_mail;	/* not yet taken by the sendmail command */
	size_t	 kept_open;	/* inputs whose orders are not all final */
	size_t	 kept_unknown;	/* archive files no input row knows */
	size_t	 failed;	/* could not be removed */
};

/*
 * Remove every file due under the retention keys (0: kept for ever);
 * never follows a symbolic link, never removes anything but a regular
 * file.  dry_run: remove nothing, print each file due on out as
 * "KIND<TAB>PATH<TAB>AGE-DAYS" (PATH below spool_dir).  Otherwise one
 * event "purge" with the counts, meta purge_last set, one log line.
 * n (may be NULL) gets the counts.  0, or -1 if something due could
 * not be examined or removed (logged).
 */
int	 purge_run(struct store *, const struct conf *, int dry_run,
	    FILE *out, struct purge_counts *n);
/* The daemon's step: purge_run() when some retention is set and the
 * last purge (meta purge_last) is 24 hours old or more.  0 or -1. */
int	 purge_daily(struct store *, const struct conf *);

#endif
