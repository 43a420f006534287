/*
 * billing.h: prices, the account ledger, the card processor client and
 * the renewal scheduler (SPEC 3.7 payment; 2.1 validity and autoRenew).
 *
 *   ledger.c    prices, card-number screening, the append-only ledger,
 *               balances and contracts (every movement of money),
 *               refunds, card capture/release after issuance (settle)
 *   card.c      the external card processor: JSON in, JSON out
 *   stage_payment.c  order-level payment terms and the per-recipient
 *               charge at approval
 *   renew.c     reissues within paid coverage, renewals, notices
 */
#ifndef CERTSPOOL_BILLING_H
#define CERTSPOOL_BILLING_H

#include <time.h>

#include "extern.h"

/* Ledger kinds (ledger.kind).  Amounts are signed from the account's
 * side: cents for deposit/debit/refund and the card kinds, units for
 * unit_debit/unit_credit. */
#define L_DEPOSIT	"deposit"
#define L_DEBIT		"debit"
#define L_REFUND	"refund"
#define L_UNIT_DEBIT	"unit_debit"
#define L_UNIT_CREDIT	"unit_credit"
#define L_CARD_AUTH	"card_authorize"
#define L_CARD_CAPTURE	"card_capture"
#define L_CARD_RELEASE	"card_release"

/* The most years of coverage the price table lists; a longer coverage
 * (days beyond 3 x 366) adds the one-year price per further year. */
#define PRICE_YEARS	3

struct ledger_row {
	long long	 account_id;
	const char	*kind;
	long long	 amount;
	long long	 contract_id;	/* 0: none */
	long long	 batch_id, order_id, rcpt_id;	/* 0: none */
	int		 round;
	const char	*ref;
	const char	*detail;
};

/* ---- ledger.c ---- */

/* "N,N,N": cents for 1, 2 and 3 years; 0 and out[], or -1. */
int	 price_parse(const char *s, long long out[PRICE_YEARS]);
/* Price in cents of one certificate of product for years of coverage;
 * -1 for an unknown product. */
long long price_of(const struct conf *, const char *product, int years);
/* Years of coverage a span of seconds counts as (a started year of 366
 * days counts whole; at least 1). */
int	 coverage_years(time_t span);
/* 1 if s looks like a payment card number: a run of 13 to 19 digits,
 * spaces and dashes allowed between them, that passes the Luhn check. */
int	 is_card_number(const char *s);
/* Append one ledger row (the caller's transaction). */
int	 ledger_add(struct store *, const struct ledger_row *);
/* Credit an account's balance with a deposit (the caller's tx). */
int	 ledger_deposit(struct store *, long long account_id, long long cents,
	    const char *detail);
/* Add units to a contract (the caller's tx). */
int	 ledger_units(struct store *, long long account_id,
	    long long contract_id, long long units, const char *ref,
	    const char *detail);
/*
 * Give back what was charged to the balance or a contract for this
 * recipient's round, once (the caller's transaction): after the signer
 * refused the certificate.  Card authorizations are released by
 * billing_settle().
 */
int	 ledger_refund(struct store *, long long rcpt_id, int round,
	    const char *why);

/* The charge at approval (stage_payment.c), in the caller's transaction.
 * base: the row's account, batch, order, recipient, round and detail;
 * the function sets its kind and amount. */
/* 1 if the recipient was charged for this round (debit, unit debit or
 * card authorization), 0 if not, -1 on error. */
int	 ledger_charged(struct store *, long long rcpt_id, int round);
/* Debit amount cents from the account's balance, with its row: 1 done,
 * 0 the balance does not cover it (nothing written; *have is the
 * balance), -1 on error. */
int	 ledger_debit_balance(struct store *, const struct ledger_row *base,
	    long long amount, long long *have);
/* Take units from contract base->contract_id (reference base->ref),
 * with its row. */
int	 ledger_contract_use(struct store *, const struct ledger_row *base,
	    long long units);
/* Record the card processor's authorization auth of amount cents (the
 * processor was called by the stage, card.c). */
int	 ledger_card_authorized(struct store *, const struct ledger_row *base,
	    long long amount, const char *auth);

/* An account's money, in the caller's transaction (or none: reads). */
/* Its balance in cents (0 for no account). */
int	 ledger_balance(struct store *, long long account_id,
	    long long *cents);
/* How many ledger rows it has. */
int	 ledger_count(struct store *, long long account_id, long long *n);
/* One ledger row as the account's statement shows it; the strings
 * (NULL: none) are valid during the callback only. */
struct ledger_entry {
	long long	 id, at, amount;
	const char	*kind, *batch, *order, *email, *round, *ref;
};
/* Its newest limit rows, newest first, to fn; -1 on error or when fn
 * returns -1. */
int	 ledger_history(struct store *, long long account_id,
	    long long limit, int (*fn)(void *, const struct ledger_entry *),
	    void *arg);

/* Contracts (prepaid units), in the caller's transaction. */
/* The account's newest contract in force at now: *id (0: none) and
 * *ends (0: open-ended). */
int	 contract_in_force(struct store *, long long account_id, time_t now,
	    long long *id, long long *ends);
/* The account's contract named ref: *id (0: none) and *ends. */
int	 contract_by_ref(struct store *, long long account_id,
	    const char *ref, long long *id, long long *ends);
/* A contract's reference (malloc'd), units left and end (0: none); all
 * zero if there is no such contract. */
int	 contract_units(struct store *, long long contract_id, char **ref,
	    long long *units, long long *ends);
/* Create the account's contract ref or set its end (ends != 0), credit
 * units with their ledger row, and write the "contract" event. */
int	 contract_put(struct store *, long long account_id, const char *ref,
	    long long units, long long ends);
/* One contract as the account's statement shows it (valid during the
 * callback only). */
struct contract_row {
	const char	*ref;
	long long	 units;
	int		 has_end;
	long long	 ends;
};
/* The account's contracts, oldest first, to fn; -1 on error or when fn
 * returns -1. */
int	 contract_list(struct store *, long long account_id,
	    int (*fn)(void *, const struct contract_row *), void *arg);
/* The database's instance id (idempotency references); "" on error. */
const char *ledger_instance(struct store *);
/*
 * Card settlement, in transactions of its own: capture the authorization
 * of every issued certificate, release that of every refused or
 * cancelled recipient.  order_id != 0 limits it to one order.  Processor
 * failures are logged and retried in the next pass.
 */
int	 billing_settle(struct store *, const struct conf *,
	    long long order_id);

/* ---- card.c ---- */

struct card_req {
	const char	*op;		/* authorize, capture, release */
	const char	*reference;	/* idempotency key */
	const char	*token;		/* authorize only */
	const char	*authorization;	/* capture and release */
	long long	 amount;
	const char	*currency;
	const char	*account;
	const char	*order;
	const char	*description;
};

enum card_rc { CARD_OK = 0, CARD_REFUSED, CARD_UNAVAILABLE };

struct card_resp {
	char	 id[128];	/* authorization / capture / release id */
	char	 error[64];	/* refusal code */
	char	 message[256];
};

/* Run card_processor_command once; CARD_UNAVAILABLE when it is not
 * configured, fails, times out or answers something unreadable. */
enum card_rc card_call(const struct conf *, const struct card_req *,
	    struct card_resp *);

/* ---- renew.c ---- */

/*
 * The scheduler, once: reissue certificates whose paid coverage runs
 * longer than them (renew_before_days before they expire, no charge),
 * send "renewal due" notices, and start renewals of auto-renewing
 * orders at the end of their coverage.  Counts go to the optional
 * pointers.  0 or -1 (environment).
 */
int	 renew_run(struct store *, const struct conf *, int *nreissue,
	    int *nrenew, int *nnotice);

#endif
