/*
 * pipeline.h: the order as the validation stages see it, and the stage
 * contract.  Each stage lives in its own file (stage_*.c) and either
 * passes, rejects (reason code + sentence) or makes the order wait.
 */
#ifndef CERTSPOOL_PIPELINE_H
#define CERTSPOOL_PIPELINE_H

#include "extern.h"

/* Order and recipient states (SPEC section 4) plus the internal ones. */
#define S_NEW		"new"		/* parsed, not yet evaluated */
#define S_APPROVED	"approved"	/* passed every stage, to be signed */
#define S_ISSUED	"issued"
#define S_WAIT_ORG	"waiting_org"
#define S_WAIT_DCV	"waiting_dcv"
#define S_WAIT_CSR	"waiting_csr"
#define S_WAIT_FUNDS	"waiting_funds"
#define S_REJECTED	"rejected"
#define S_CANCELLED	"cancelled"

struct rcpt {
	long long	 id;
	int		 idx;
	enum cn_type	 cn_type;
	char		*cn, *given_name, *surname, *pseudonym, *email;
	char		*csr;
	int		 csr_later;
	char		*keygen;
	char		*spki;		/* hex SHA-256 of the CSR key */
	char		 state[24];
	/* the CSR checked ahead, in parallel (csr_precheck) */
	int		 pre;		/* PRE_NONE, PRE_OK, ... */
	char		 pre_spki[65];
	char		 pre_reason[48];
	char		 pre_message[512];
	/* set by stages */
	char		 new_state[24];
	char		 reason[48];
	char		 message[512];
};

enum { PRE_NONE, PRE_OK, PRE_REFUSED, PRE_INTERNAL };

struct order {
	long long	 id, batch_id, account_id, org_id;
	char		*ext_id, *product, *organization, *sig_hash;
	enum validity_kind vkind;
	char		*vvalue;
	int		 auto_renew;
	char		*att_officer, *att_title;	/* effective */
	char		*add_emails, *pay_method, *pay_ref;
	int		 agreement;
	char		 state[24];
	struct rcpt	*r;
	size_t		 nr;
	/* derived by stages */
	const struct product *prod;
	char		*org_name, *org_country, *org_identifier;
	time_t		 not_before, not_after;
	/* payment (stage_payment.c) */
	char		 pay_kind[12];	/* contract, balance or card */
	long long	 pay_contract;	/* contract id, for contract */
	long long	 pay_unit;	/* cents per certificate */
	int		 pay_years;	/* years of coverage priced */
};

/* STAGE_ERROR: the environment failed (database, disk); the group is
 * rolled back and evaluated again in the next pass. */
enum stage_rc { STAGE_PASS = 0, STAGE_REJECT, STAGE_WAIT, STAGE_ERROR };

struct eval {
	struct store		*st;
	const struct conf	*conf;
	const struct ca		*ca;
	struct order		*o;
	int			 dry_run;	/* certspool check: no side effects */
	/* outcome of an order-level stage */
	char			 state[24];
	char			 reason[48];
	char			 message[512];
};

/* Order-level stages, in SPEC 3 order. */
enum stage_rc	 stage_agreement(struct eval *);
enum stage_rc	 stage_terms(struct eval *);
enum stage_rc	 stage_org(struct eval *);
enum stage_rc	 stage_dcv(struct eval *);
enum stage_rc	 stage_attest(struct eval *);
/* Per-recipient stage: sets r->new_state/reason/message. */
enum stage_rc	 stage_csr(struct eval *, struct rcpt *);
/* The CSR part of stage_csr that needs no database: verify the CSR and
 * check its key into r->pre*; thread-safe, run ahead on a worker pool. */
void		 csr_precheck(struct rcpt *r);
/* Per-recipient CAA check before stage_csr (stage_caa.c); sets the
 * recipient's state itself when it does not pass. */
enum stage_rc	 stage_caa(struct eval *, struct rcpt *);
/* SPEC 3.7, order level, last of the order stages (stage_payment.c):
 * how the order pays (contract, balance, card) when a charge is due. */
enum stage_rc	 stage_payment_terms(struct eval *);
/* SPEC 3.7, per recipient after stage_csr: the charge at approval
 * (none for a reissue within paid coverage); sets the recipient's
 * state itself when it does not pass. */
enum stage_rc	 stage_payment(struct eval *, struct rcpt *);
/* The order's price from the config's table (stage_payment.c); called
 * by stage_agreement, so that every order shows its price. */
int		 billing_quote(struct eval *);
/* 1 (and the order rejected) if intake screened out a card number as
 * its payment reference; 0 if not; -1 on a database error. */
int		 billing_screened(struct eval *);

void	 eval_reject(struct eval *, const char *reason, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 eval_wait(struct eval *, const char *state, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 rcpt_set(struct rcpt *, const char *state, const char *reason,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Domain part of an address (after the last '@'), or NULL. */
const char *email_domain(const char *email);

/* pipeline.c */
struct order	*order_load(struct store *, long long id);
void		 order_free(struct order *);
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
