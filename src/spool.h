/*
 * spool.h: the inbound spool (SPEC 1): intake.c finds ready files and
 * claims them into work/, spool.c takes one claimed file through the
 * parser into the store (in one transaction) and on to archive/ or
 * rejected/.
 */
#ifndef CERTSPOOL_SPOOL_H
#define CERTSPOOL_SPOOL_H

#include "extern.h"
#include "batch.h"

/* ---- intake.c ---- */

/* Take every ready inbound file; 0 or -1 (environment). */
int		 spool_intake(struct store *, const struct conf *,
		    const struct schema *);
/* Note that account/name was renamed into inbound/ (it is then complete
 * and taken without waiting to settle). */
void		 spool_moved_in(const char *account, const char *name);
/* Milliseconds until a file seen settling in the last intake is due
 * (settle_seconds after its mtime), 0 if due now, -1 if none. */
long		 spool_wait_ms(void);
/* Log why each file the last intake left in inbound/ stays there
 * (daemon --once). */
void		 spool_log_left(void);
/* How many entries of inbound/ name no account (-1 if it cannot be
 * read); their names, escaped, appended to list. */
int		 spool_unknown_dirs(struct store *, const struct conf *,
		    struct buf *list);

/* ---- spool.c ---- */

/* Process work/<account>/<name>, claimed by intake.c; orig is the name it
 * was uploaded under when that name was refused.  0 when it reached
 * archive/ or rejected/, -1 when kept in work/ for a retry. */
int		 spool_take(struct store *, const struct conf *,
		    const struct schema *, const char *account,
		    long long account_id, const char *name, const char *orig);
/* Take again what a crash left in work/ (at start). */
int		 spool_recover(struct store *, const struct conf *,
		    const struct schema *);
/* Store one parsed order and its recipients (state new), in the caller's
 * transaction; on failure *line is the offending line. */
int		 order_store(struct store *, long long batch_id,
		    const struct order_in *, int *line);
/* Create the per-account spool directories. */
int		 spool_account_dirs(const struct conf *, const char *account);
/* Open SPOOL/sub/account as a directory (no symlink); -1 after logging
 * why not. */
int		 spool_open_dir(const struct conf *, const char *sub,
		    const char *account);

#endif
