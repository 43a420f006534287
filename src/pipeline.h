/*
 * pipeline.h: the driver of the validation stages (pipeline.c) and the
 * daemon's other passes.  The stage contract (struct order, struct
 * eval, the stages) is in stage.h.
 */
#ifndef CERTSPOOL_PIPELINE_H
#define CERTSPOOL_PIPELINE_H

#include "extern.h"
#include "stage.h"

/* pipeline.c */
struct order	*order_load(struct store *, long long id);
/* Recompute an order's state from its recipients (same transaction). */
int		 order_resettle(struct store *, long long id);
/*
 * Evaluate every order that is new or waiting, the accounts in turn,
 * until done or the slice is over (fairq.h; NULL: no limit); 0 or -1
 * (environment).
 */
struct slice;
int		 pipeline_evaluate(struct store *, const struct conf *,
		    const struct ca *, struct slice *);
/* signer.c: sign the approved recipients, each account an equal share
 * of each chunk, until none is left or the slice is over; 0 or -1. */
int		 signer_run(struct store *, const struct conf *,
		    const struct ca *, struct slice *);
/* Recover write-ahead rows left by a crash (before signer_run). */
int		 signer_recover(struct store *, const struct conf *,
		    const struct ca *);
/* report.c: write outbound results for every batch that changed. */
/*
 * report_mail.c: the messages of the certificates with ids lo..hi (at most
 * 256), ahead of their batch's pass: read them (this thread), write and
 * publish them (report_mail_write: no database, any thread), then mark
 * them mailed (this thread; frees the work, written or not).
 */
struct mail_work;
struct mail_work *report_mail_load(struct store *, const struct conf *,
		    const struct ca *, long long lo, long long hi);
int		 report_mail_write(struct mail_work *);
int		 report_mail_finish(struct store *, struct mail_work *);
int		 report_publish(struct store *, const struct conf *,
		    const struct ca *);
/* report.c: <error> report for a refused input. */
int		 report_error(int dirfd, const char *name, const char *file,
		    const struct problems *);
/* intake.c: take every ready inbound file; 0 or -1 (environment). */
/* intake.c: note that account/name was renamed into inbound/ (it is then
 * complete and taken without waiting to settle). */
void		 spool_moved_in(const char *account, const char *name);
/* Milliseconds until a file seen settling in the last intake is due
 * (settle_seconds after its mtime), 0 if due now, -1 if none. */
long		 spool_wait_ms(void);
int		 spool_intake(struct store *, const struct conf *,
		    const struct schema *);
/* intake.c: log why each file the last intake left in inbound/ stays
 * there (daemon --once). */
void		 spool_log_left(void);
/* intake.c: how many entries of inbound/ name no account (-1 if it
 * cannot be read); their names, escaped, appended to list. */
int		 spool_unknown_dirs(struct store *, const struct conf *,
		    struct buf *list);
/* spool.c: process work/<account>/<name>, claimed by intake.c; orig is
 * the name it was uploaded under when that name was refused.  0 when it
 * reached archive/ or rejected/, -1 when kept in work/ for a retry. */
int		 spool_take(struct store *, const struct conf *,
		    const struct schema *, const char *account,
		    long long account_id, const char *name, const char *orig);
int		 spool_recover(struct store *, const struct conf *,
		    const struct schema *);
/* spool.c: store one parsed order and its recipients (state new), in the
 * caller's transaction; on failure *line is the offending line. */
int		 order_store(struct store *, long long batch_id,
		    const struct order_in *, int *line);
/* pipeline.c: run the stages over e->o (e->dry_run: no side effects). */
int		 pipeline_eval(struct eval *);
/* spool.c: create the per-account spool directories. */
int		 spool_account_dirs(const struct conf *, const char *account);
/* spool.c: open SPOOL/sub/account as a directory (no symlink); -1 after
 * logging why not. */
int		 spool_open_dir(const struct conf *, const char *sub,
		    const char *account);

/* crash.c: die here if CERTSPOOL_CRASH_AT names this point (tests). */
void		 crash_point(const char *name);

#endif
