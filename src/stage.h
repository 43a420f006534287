/*
 * stage.h: the stage contract.  The order as the validation stages see
 * it, what a stage answers, and the helpers every stage shares
 * (stage.c).  Each stage lives in its own file (stage_*.c) and either
 * passes, rejects (reason code + sentence) or makes the order wait; the
 * driver (pipeline.c) calls the stages, the stages never call it nor
 * each other.
 */
#ifndef CERTSPOOL_STAGE_H
#define CERTSPOOL_STAGE_H

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "store_state.h"

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

/* ---- stage.c: what the stages share ---- */

/* The outcome of an order-level stage: rejected with reason, or waiting
 * in state. */
void	 eval_reject(struct eval *, const char *reason, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 eval_wait(struct eval *, const char *state, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The outcome of a per-recipient stage. */
void	 rcpt_set(struct rcpt *, const char *state, const char *reason,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Domain part of an address (after the last '@'), or NULL. */
const char *email_domain(const char *email);
/* The move of r from its state to the one the stages gave it (new_state,
 * reason, message), for rcpt_move(). */
void	 rcpt_outcome(const struct order *, const struct rcpt *,
	    struct state_move *);
/* Free an order loaded for evaluation and its recipients. */
void	 order_free(struct order *);
/*
 * The order's price from the config's table (SPEC 3.7): o->pay_years and
 * o->pay_unit, recorded with the order unless dry run.  Called by
 * stage_agreement, so that every order shows its price.  0 or -1.
 */
int	 billing_quote(struct eval *);
/* 1 (and the order rejected) if intake screened out a card number as
 * its payment reference; 0 if not; -1 on a database error. */
int	 billing_screened(struct eval *);

#endif
